//! Parsing of single settings into typed values, with errors that name the setting.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use super::error::ConfigError;
use super::settings::Setting;
use super::values;

/// Distinct, usable addresses from repeatable comma lists.
pub(super) fn addresses(setting: Setting, entries: &[String]) -> Result<Vec<IpAddr>, ConfigError> {
    let items = values::split_list(entries).ok_or_else(|| ConfigError::EmptyListEntry {
        setting,
        value: entries.join(","),
    })?;
    let mut seen = BTreeSet::new();
    let mut parsed = Vec::with_capacity(items.len());
    for item in items {
        let address: IpAddr = item.parse().map_err(|_| ConfigError::InvalidAddress {
            setting,
            value: item.to_owned(),
        })?;
        if let Some(reason) = values::unusable_address_reason(address) {
            return Err(ConfigError::UnusableAddress {
                setting,
                address,
                reason,
            });
        }
        if !seen.insert(address) {
            return Err(ConfigError::DuplicateAddress { setting, address });
        }
        parsed.push(address);
    }
    Ok(parsed)
}

pub(super) fn ports(setting: Setting, entries: &[String]) -> Result<Vec<u16>, ConfigError> {
    let items = values::split_list(entries).ok_or_else(|| ConfigError::EmptyListEntry {
        setting,
        value: entries.join(","),
    })?;
    if items.is_empty() {
        return Err(ConfigError::Missing { setting });
    }
    let mut parsed = Vec::with_capacity(items.len());
    for item in items {
        let port = port(setting, item)?;
        if parsed.contains(&port) {
            return Err(ConfigError::DuplicatePort { setting, port });
        }
        parsed.push(port);
    }
    Ok(parsed)
}

pub(super) fn port(setting: Setting, text: &str) -> Result<u16, ConfigError> {
    values::parse_port(text).ok_or_else(|| ConfigError::InvalidPort {
        setting,
        value: text.to_owned(),
    })
}

/// A duration greater than zero and at least `minimum`.
pub(super) fn duration(
    setting: Setting,
    text: &str,
    minimum: Duration,
) -> Result<Duration, ConfigError> {
    let value = values::parse_duration(text).map_err(|reason| ConfigError::InvalidDuration {
        setting,
        value: text.to_owned(),
        reason,
    })?;
    if value.is_zero() {
        return Err(ConfigError::ZeroDuration { setting });
    }
    if value < minimum {
        return Err(ConfigError::DurationTooShort {
            setting,
            value,
            minimum,
        });
    }
    Ok(value)
}

pub(super) fn number(setting: Setting, text: &str, min: u32, max: u32) -> Result<u32, ConfigError> {
    let value = values::parse_u32(text).ok_or_else(|| ConfigError::InvalidNumber {
        setting,
        value: text.to_owned(),
        expected: "a whole number (decimal or 0x-hex)",
    })?;
    if !(min..=max).contains(&value) {
        return Err(ConfigError::OutOfRange {
            setting,
            value,
            min,
            max,
        });
    }
    Ok(value)
}

pub(super) fn kubernetes_name(
    setting: Setting,
    name: &str,
    problem: fn(&str) -> Option<&'static str>,
) -> Result<(), ConfigError> {
    match problem(name) {
        Some(reason) => Err(ConfigError::InvalidKubernetesName {
            setting,
            value: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}
