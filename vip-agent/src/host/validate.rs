//! Checks done before anything on the host is changed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::HostError;

/// Longest interface name the kernel accepts (IFNAMSIZ - 1).
const MAX_INTERFACE_NAME_LEN: usize = 15;

/// Applies the kernel's `dev_valid_name` rules. This also keeps the name safe
/// to embed in `/proc/sys/...` paths (no `/`, no `..`).
pub(super) fn validate_interface_name(name: &str) -> Result<(), HostError> {
    let reason = if name.is_empty() {
        Some("empty")
    } else if name.len() > MAX_INTERFACE_NAME_LEN {
        Some("longer than 15 bytes")
    } else if name == "." || name == ".." {
        Some("reserved name")
    } else if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
    {
        Some("contains '/', ':', whitespace or a control character")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(HostError::InvalidInterfaceName {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// Rejects addresses that cannot be a unicast service address on `lo`.
pub(super) fn validate_vip(ip: IpAddr) -> Result<(), HostError> {
    let reason = match ip {
        IpAddr::V4(v4) => ipv4_rejection(v4),
        IpAddr::V6(v6) => ipv6_rejection(v6),
    };
    match reason {
        Some(reason) => Err(HostError::InvalidVip { ip, reason }),
        None => Ok(()),
    }
}

fn ipv4_rejection(ip: Ipv4Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        Some("unspecified address")
    } else if ip.is_loopback() {
        Some("loopback address")
    } else if ip.is_multicast() {
        Some("multicast address")
    } else if ip.is_broadcast() {
        Some("broadcast address")
    } else {
        None
    }
}

fn ipv6_rejection(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        Some("unspecified address")
    } else if ip.is_loopback() {
        Some("loopback address")
    } else if ip.is_multicast() {
        Some("multicast address")
    } else if ip.is_unicast_link_local() {
        // Link-local addresses are per link; one on `lo` is unreachable.
        Some("link-local address")
    } else if ip.to_ipv4_mapped().is_some() {
        Some("IPv4-mapped address, use the IPv4 form")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_follow_kernel_rules() {
        for valid in ["eth0", "enp0s31f6", "eth0.100", "a", "exactly15chars_"] {
            assert!(validate_interface_name(valid).is_ok(), "{valid}");
        }
        for invalid in [
            "",
            ".",
            "..",
            "../../etc",
            "eth0:1",
            "eth 0",
            "sixteen_chars_xx",
        ] {
            match validate_interface_name(invalid) {
                Err(HostError::InvalidInterfaceName { name, .. }) => assert_eq!(name, invalid),
                other => panic!("{invalid:?} accepted: {other:?}"),
            }
        }
    }

    #[test]
    fn service_addresses_are_accepted() {
        for ip in ["192.0.2.10", "10.0.0.1", "2001:db8::1", "fd00::5"] {
            assert!(validate_vip(ip.parse().unwrap()).is_ok(), "{ip}");
        }
    }

    #[test]
    fn non_unicast_addresses_are_rejected() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "ff02::1",
            "fe80::1",
            "::ffff:192.0.2.1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            match validate_vip(ip) {
                Err(HostError::InvalidVip { ip: rejected, .. }) => assert_eq!(rejected, ip),
                other => panic!("{ip} accepted: {other:?}"),
            }
        }
    }
}
