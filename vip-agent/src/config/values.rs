//! Syntax of individual values; `validate` attaches the setting to each failure.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Why a duration did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DurationSyntaxError {
    #[error("no number")]
    MissingNumber,
    #[error("malformed number")]
    Malformed,
    #[error("unknown unit (use ms, s or m)")]
    UnknownUnit,
    #[error("more than 9 decimals")]
    TooPrecise,
    #[error("too large")]
    TooLarge,
}

/// Seconds (`5`, `0.5`) or a number with a unit: `500ms`, `1.5s`, `1m`.
pub fn parse_duration(text: &str) -> Result<Duration, DurationSyntaxError> {
    let text = text.trim();
    let number_len = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(number_len);
    if number.is_empty() || number == "." {
        return Err(DurationSyntaxError::MissingNumber);
    }
    let nanos_per_unit: u128 = match unit {
        "" | "s" => 1_000_000_000,
        "ms" => 1_000_000,
        "m" => 60_000_000_000,
        _ => return Err(DurationSyntaxError::UnknownUnit),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if fraction.contains('.') {
        return Err(DurationSyntaxError::Malformed);
    }
    if fraction.len() > 9 {
        return Err(DurationSyntaxError::TooPrecise);
    }
    // Only digits remain, so parsing can fail only on overflow.
    let parse_digits = |digits: &str| match digits {
        "" => Ok(0),
        _ => digits
            .parse::<u128>()
            .map_err(|_| DurationSyntaxError::TooLarge),
    };
    let whole_nanos = parse_digits(whole)?
        .checked_mul(nanos_per_unit)
        .ok_or(DurationSyntaxError::TooLarge)?;
    let fraction_nanos =
        parse_digits(fraction)? * nanos_per_unit / 10u128.pow(fraction.len() as u32);
    let total = whole_nanos + fraction_nanos;
    let seconds =
        u64::try_from(total / 1_000_000_000).map_err(|_| DurationSyntaxError::TooLarge)?;
    Ok(Duration::new(seconds, (total % 1_000_000_000) as u32))
}

/// Splits a comma list; an empty entry is an error (`None`).
pub fn split_list(entries: &[String]) -> Option<Vec<&str>> {
    entries
        .iter()
        .flat_map(|entry| entry.split(','))
        .map(str::trim)
        .map(|item| (!item.is_empty()).then_some(item))
        .collect()
}

/// A TCP/UDP port other than 0.
pub fn parse_port(text: &str) -> Option<u16> {
    text.trim().parse::<u16>().ok().filter(|&port| port != 0)
}

/// Why an address cannot be a VIP or backend, if it cannot.
pub fn unusable_address_reason(address: IpAddr) -> Option<&'static str> {
    if address.is_unspecified() {
        Some("unspecified address")
    } else if address.is_loopback() {
        Some("loopback address")
    } else if address.is_multicast() {
        Some("multicast address")
    } else if address == IpAddr::V4(Ipv4Addr::BROADCAST) {
        Some("broadcast address")
    } else {
        None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("expected host:port, [ipv6]:port, :port or off")]
pub struct ListenAddrSyntaxError;

/// `host:port`, `[v6]:port`, `:port` (all IPv4 addresses, as kube-vip's `:2112`) or `off`.
pub fn parse_listen_addr(text: &str) -> Result<Option<SocketAddr>, ListenAddrSyntaxError> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    if let Some(port) = text.strip_prefix(':') {
        let port = port.parse::<u16>().map_err(|_| ListenAddrSyntaxError)?;
        return Ok(Some(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port,
        )));
    }
    text.parse::<SocketAddr>()
        .map(Some)
        .map_err(|_| ListenAddrSyntaxError)
}

/// Decimal or `0x` hexadecimal.
pub fn parse_u32(text: &str) -> Option<u32> {
    let text = text.trim();
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

pub fn is_prime(n: u32) -> bool {
    if n < 2 {
        return false;
    }
    let n = u64::from(n);
    (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
}

/// The kernel's `dev_valid_name`: 1–15 bytes, not `.`/`..`, no `/`, `:` or whitespace.
pub fn interface_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("empty")
    } else if name.len() > 15 {
        Some("longer than 15 bytes (IFNAMSIZ)")
    } else if name == "." || name == ".." {
        Some("reserved name")
    } else if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace())
    {
        Some("contains '/', ':' or whitespace")
    } else {
        None
    }
}

/// RFC 1123 label (namespaces): 1–63 of `a-z0-9-`, alphanumeric at both ends.
pub fn dns_label_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("empty");
    }
    if name.len() > 63 {
        return Some("longer than 63 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Some("only lowercase letters, digits and '-' are allowed");
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Some("must start and end with a letter or digit");
    }
    None
}

/// RFC 1123 subdomain (Lease and node names): dot-separated labels, at most 253 characters.
pub fn dns_subdomain_problem(name: &str) -> Option<&'static str> {
    if name.len() > 253 {
        return Some("longer than 253 characters");
    }
    name.split('.').find_map(dns_label_problem)
}

/// An absolute URL path made of visible ASCII characters.
pub fn http_path_problem(path: &str) -> Option<&'static str> {
    if !path.starts_with('/') {
        Some("must start with '/'")
    } else if !path.bytes().all(|b| b.is_ascii_graphic()) {
        Some("only visible ASCII characters are allowed")
    } else {
        None
    }
}
