//! Validation errors of `vip-agent run`; each names the setting by flag, `VIP_*` variable
//! and kube-vip alias (through `Setting`'s Display) in one line.

use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::settings::Setting;
use super::values::{DurationSyntaxError, ListenAddrSyntaxError};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{setting} is required")]
    Missing { setting: Setting },
    #[error("no backends: set {static_list} or {discovery}")]
    NoBackendSource {
        static_list: Setting,
        discovery: Setting,
    },
    #[error("{first} and {second} cannot be used together: {reason}")]
    Conflict {
        first: Setting,
        second: Setting,
        reason: &'static str,
    },
    #[error("{setting}: empty entry in the list {value:?}")]
    EmptyListEntry { setting: Setting, value: String },
    #[error("{setting}: {value:?} is not an IP address")]
    InvalidAddress { setting: Setting, value: String },
    #[error("{setting}: {address} cannot be used: {reason}")]
    UnusableAddress {
        setting: Setting,
        address: IpAddr,
        reason: &'static str,
    },
    #[error("{setting}: {address} is listed twice")]
    DuplicateAddress { setting: Setting, address: IpAddr },
    #[error("{setting}: backend {address} is also a VIP")]
    BackendIsVip { setting: Setting, address: IpAddr },
    #[error("{setting}: {value:?} is not a port (1-65535)")]
    InvalidPort { setting: Setting, value: String },
    #[error("{setting}: port {port} is listed twice")]
    DuplicatePort { setting: Setting, port: u16 },
    #[error("{setting}: {value:?} is not a duration ({reason}); use e.g. 5, 0.5, 500ms, 5s or 1m")]
    InvalidDuration {
        setting: Setting,
        value: String,
        reason: DurationSyntaxError,
    },
    #[error("{setting} must be greater than zero")]
    ZeroDuration { setting: Setting },
    #[error("{setting} = {value:?} is shorter than the minimum {minimum:?}")]
    DurationTooShort {
        setting: Setting,
        value: Duration,
        minimum: Duration,
    },
    #[error("{lease} = {lease_duration:?} must be greater than {renew} = {renew_deadline:?} (client-go rule)")]
    LeaseDurationNotAboveRenewDeadline {
        lease: Setting,
        lease_duration: Duration,
        renew: Setting,
        renew_deadline: Duration,
    },
    #[error("{renew} = {renew_deadline:?} must be greater than 1.2 × {retry} = {retry_period:?} (client-go rule)")]
    RenewDeadlineNotAboveRetryPeriod {
        renew: Setting,
        renew_deadline: Duration,
        retry: Setting,
        retry_period: Duration,
    },
    #[error(
        "{timeout_setting} = {timeout:?} must be shorter than {interval_setting} = {interval:?}"
    )]
    HealthTimeoutNotBelowInterval {
        timeout_setting: Setting,
        timeout: Duration,
        interval_setting: Setting,
        interval: Duration,
    },
    #[error("{setting}: {value:?} is not {expected}")]
    InvalidNumber {
        setting: Setting,
        value: String,
        expected: &'static str,
    },
    #[error("{setting}: {value} is outside {min}..={max}")]
    OutOfRange {
        setting: Setting,
        value: u32,
        min: u32,
        max: u32,
    },
    #[error("{setting}: {value} is not prime")]
    NotPrime { setting: Setting, value: u32 },
    #[error("{vips} VIPs ({addresses}) × {ports} ports ({port_setting}) = {services} services; at most {max} are supported")]
    TooManyServices {
        addresses: Setting,
        port_setting: Setting,
        vips: usize,
        ports: usize,
        services: usize,
        max: usize,
    },
    #[error("{setting}: {count} backends; at most {max} are supported")]
    TooManyBackends {
        setting: Setting,
        count: usize,
        max: usize,
    },
    #[error("{setting}: {value:?} is not a valid interface name: {reason}")]
    InvalidInterfaceName {
        setting: Setting,
        value: String,
        reason: &'static str,
    },
    #[error("{setting}: {value:?} is not a valid Kubernetes name: {reason}")]
    InvalidKubernetesName {
        setting: Setting,
        value: String,
        reason: &'static str,
    },
    #[error("{setting}: {value:?} is not a listen address: {reason}")]
    InvalidListenAddr {
        setting: Setting,
        value: String,
        reason: ListenAddrSyntaxError,
    },
    #[error("{setting}: {value:?} is not a URL path: {reason}")]
    InvalidHttpPath {
        setting: Setting,
        value: String,
        reason: &'static str,
    },
    #[error("{setting}: {value:?} must be an absolute path")]
    RelativePath { setting: Setting, value: PathBuf },
    #[error("cannot read the hostname as default of {setting}: {source}")]
    HostnameUnavailable {
        setting: Setting,
        #[source]
        source: io::Error,
    },
}
