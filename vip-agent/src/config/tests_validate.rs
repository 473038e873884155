//! Table of good and bad `run` inputs through parsing and validation.

use std::collections::BTreeMap;
use std::io;

use super::tests::{env_map, run_args, run_config};
use super::*;

enum Expect {
    Valid,
    /// The error variant, and a fragment of its message (the setting it names).
    Invalid(fn(&ConfigError) -> bool, &'static str),
}
use Expect::{Invalid, Valid};

const BASE: &[&str] = &["run", "--interface", "eth0", "--address", "192.0.2.10", "--backends", "192.0.2.1,192.0.2.2"];

fn with(extra: &[&'static str]) -> Vec<&'static str> {
    [BASE, extra].concat()
}

fn rows() -> Vec<(&'static str, Vec<&'static str>, Expect)> {
    vec![
        ("minimal", with(&[]), Valid),
        ("dual-stack VIPs", with(&["--address", "2001:db8::10"]), Valid),
        ("comma VIP list", vec!["run", "--interface", "eth0", "--address", "192.0.2.10, 192.0.2.11", "--discover-backends"], Valid),
        ("several ports", with(&["--port", "6443,443", "--port", "8443"]), Valid),
        ("fractional lease timers", with(&["--lease-duration", "0.5", "--renew-deadline", "0.3", "--retry-period", "200ms"]), Valid),
        ("no election ignores lease timers", with(&["--election", "none", "--lease-duration", "1s", "--renew-deadline", "5s"]), Valid),
        ("metrics off", with(&["--metrics-addr", "off"]), Valid),
        ("metrics kube-vip style", with(&["--metrics-addr", ":9100"]), Valid),
        ("metrics IPv6", with(&["--metrics-addr", "[::1]:9100"]), Valid),
        ("hex seed", with(&["--hash-seed", "0xdeadbeef"]), Valid),
        ("largest maglev", with(&["--maglev-size", "131071"]), Valid),
        ("16 services", with(&["--address", "192.0.2.11,192.0.2.12,192.0.2.13", "--port", "1,2,3,4"]), Valid),
        ("15-byte interface", vec!["run", "--interface", "abcdefghijklmno", "--address", "192.0.2.10", "--discover-backends"], Valid),
        ("CA file", with(&["--health-ca-file", "/etc/kubernetes/pki/ca.crt"]), Valid),
        ("bad address", with(&["--address", "192.0.2.300"]), Invalid(|e| matches!(e, ConfigError::InvalidAddress { .. }), "--address (VIP_ADDRESS")),
        ("CIDR is not an address", with(&["--address", "192.0.2.11/32"]), Invalid(|e| matches!(e, ConfigError::InvalidAddress { .. }), "--address")),
        ("duplicate VIP", with(&["--address", "192.0.2.10"]), Invalid(|e| matches!(e, ConfigError::DuplicateAddress { .. }), "--address")),
        ("loopback VIP", with(&["--address", "127.0.0.1"]), Invalid(|e| matches!(e, ConfigError::UnusableAddress { .. }), "loopback")),
        ("empty list entry", with(&["--backends", "192.0.2.3,,192.0.2.4"]), Invalid(|e| matches!(e, ConfigError::EmptyListEntry { .. }), "--backends (VIP_BACKENDS")),
        ("port 0", with(&["--port", "0"]), Invalid(|e| matches!(e, ConfigError::InvalidPort { .. }), "--port (VIP_PORT")),
        ("port too big", with(&["--backend-port", "65536"]), Invalid(|e| matches!(e, ConfigError::InvalidPort { .. }), "--backend-port")),
        ("duplicate port", with(&["--port", "443,443"]), Invalid(|e| matches!(e, ConfigError::DuplicatePort { port: 443, .. }), "--port")),
        ("lease equals renew", with(&["--lease-duration", "3s"]), Invalid(|e| matches!(e, ConfigError::LeaseDurationNotAboveRenewDeadline { .. }), "--lease-duration")),
        ("renew equals retry", with(&["--renew-deadline", "1", "--retry-period", "1"]), Invalid(|e| matches!(e, ConfigError::RenewDeadlineNotAboveRetryPeriod { .. }), "--retry-period")),
        ("renew within jitter of retry", with(&["--renew-deadline", "1.2", "--retry-period", "1"]), Invalid(|e| matches!(e, ConfigError::RenewDeadlineNotAboveRetryPeriod { .. }), "1.2 ×")),
        ("zero retry", with(&["--retry-period", "0"]), Invalid(|e| matches!(e, ConfigError::ZeroDuration { .. }), "--retry-period")),
        ("bad duration", with(&["--health-interval", "5x"]), Invalid(|e| matches!(e, ConfigError::InvalidDuration { .. }), "--health-interval")),
        ("garp too fast", with(&["--garp-interval", "50ms"]), Invalid(|e| matches!(e, ConfigError::DurationTooShort { .. }), "--garp-interval")),
        ("non-prime maglev", with(&["--maglev-size", "65536"]), Invalid(|e| matches!(e, ConfigError::NotPrime { value: 65536, .. }), "--maglev-size")),
        ("tiny maglev", with(&["--maglev-size", "13"]), Invalid(|e| matches!(e, ConfigError::OutOfRange { .. }), "--maglev-size")),
        ("17+ services", with(&["--address", "192.0.2.11,192.0.2.12", "--port", "1,2,3,4,5,6"]), Invalid(|e| matches!(e, ConfigError::TooManyServices { services: 18, .. }), "--port")),
        ("interface with colon", vec!["run", "--interface", "eth0:1", "--address", "192.0.2.10", "--discover-backends"], Invalid(|e| matches!(e, ConfigError::InvalidInterfaceName { .. }), "--interface")),
        ("interface too long", vec!["run", "--interface", "abcdefghijklmnop", "--address", "192.0.2.10", "--discover-backends"], Invalid(|e| matches!(e, ConfigError::InvalidInterfaceName { .. }), "IFNAMSIZ")),
        ("empty interface", vec!["run", "--interface", "", "--address", "192.0.2.10", "--discover-backends"], Invalid(|e| matches!(e, ConfigError::InvalidInterfaceName { .. }), "empty")),
        ("no interface", vec!["run", "--address", "192.0.2.10", "--discover-backends"], Invalid(|e| matches!(e, ConfigError::Missing { .. }), "--interface (VIP_INTERFACE")),
        ("no VIP", vec!["run", "--interface", "eth0", "--discover-backends"], Invalid(|e| matches!(e, ConfigError::Missing { .. }), "--address")),
        ("no backends", vec!["run", "--interface", "eth0", "--address", "192.0.2.10"], Invalid(|e| matches!(e, ConfigError::NoBackendSource { .. }), "--discover-backends")),
        ("both backend sources", with(&["--discover-backends"]), Invalid(|e| matches!(e, ConfigError::Conflict { .. }), "exactly one source")),
        ("backend is a VIP", with(&["--backends", "192.0.2.10"]), Invalid(|e| matches!(e, ConfigError::BackendIsVip { .. }), "--backends")),
        ("unspecified backend", with(&["--backends", "0.0.0.0"]), Invalid(|e| matches!(e, ConfigError::UnusableAddress { .. }), "--backends")),
        ("health timeout not below interval", with(&["--health-timeout", "2s"]), Invalid(|e| matches!(e, ConfigError::HealthTimeoutNotBelowInterval { .. }), "--health-timeout")),
        ("insecure with CA", with(&["--health-insecure", "--health-ca-file", "/ca.pem"]), Invalid(|e| matches!(e, ConfigError::Conflict { .. }), "--health-insecure")),
        ("relative health path", with(&["--health-path", "readyz"]), Invalid(|e| matches!(e, ConfigError::InvalidHttpPath { .. }), "--health-path")),
        ("zero rise", with(&["--health-rise", "0"]), Invalid(|e| matches!(e, ConfigError::OutOfRange { .. }), "--health-rise")),
        ("bad lease name", with(&["--lease-name", "Bad_Lock"]), Invalid(|e| matches!(e, ConfigError::InvalidKubernetesName { .. }), "--lease-name")),
        ("bad namespace", with(&["--lease-namespace", "a.b"]), Invalid(|e| matches!(e, ConfigError::InvalidKubernetesName { .. }), "--lease-namespace")),
        ("bad node name", with(&["--node-name=-node"]), Invalid(|e| matches!(e, ConfigError::InvalidKubernetesName { .. }), "--node-name")),
        ("bad seed", with(&["--hash-seed", "seed"]), Invalid(|e| matches!(e, ConfigError::InvalidNumber { .. }), "--hash-seed")),
        ("bad metrics address", with(&["--metrics-addr", "localhost"]), Invalid(|e| matches!(e, ConfigError::InvalidListenAddr { .. }), "--metrics-addr (VIP_METRICS_ADDR, kube-vip prometheus_server)")),
        ("relative bpffs dir", with(&["--bpffs-dir", "bpf"]), Invalid(|e| matches!(e, ConfigError::RelativePath { .. }), "--bpffs-dir")),
    ]
}

#[test]
fn good_and_bad_inputs() {
    let rows = rows();
    assert!(rows.len() >= 25);
    let no_env = BTreeMap::new();
    for (label, args, expect) in rows {
        let result = run_config(&args, &no_env);
        match (expect, result) {
            (Valid, Ok(_)) => {}
            (Valid, Err(error)) => panic!("{label}: unexpected error: {error}"),
            (Invalid(_, _), Ok(config)) => panic!("{label}: accepted: {config:?}"),
            (Invalid(is_expected, fragment), Err(error)) => {
                let message = error.to_string();
                assert!(is_expected(&error), "{label}: wrong error: {message}");
                assert!(message.contains(fragment), "{label}: {message:?} lacks {fragment:?}");
                assert!(message.contains("VIP_") && !message.contains('\n'), "{label}: {message:?}");
            }
        }
    }
}

#[test]
fn default_node_name_comes_from_the_hostname_lowercased() {
    let args = run_args(BASE, &BTreeMap::new());
    let config = args.to_run_config_with(|| Ok("CP-1.Example.COM\n".into())).unwrap();
    assert_eq!(config.node_name, "cp-1.example.com");
    let error = args
        .to_run_config_with(|| Err(io::Error::new(io::ErrorKind::NotFound, "no hostname")))
        .unwrap_err();
    assert!(matches!(error, ConfigError::HostnameUnavailable { .. }));
    assert!(error.to_string().contains("--node-name (VIP_NODE_NAME, kube-vip vip_nodename)"), "{error}");
    let named = run_args(BASE, &env_map(&[("VIP_NODE_NAME", "cp-9")]));
    assert_eq!(named.to_run_config_with(|| panic!("not needed")).unwrap().node_name, "cp-9");
}

#[test]
fn primes_and_maglev_bounds() {
    let primes: Vec<u32> = (0..30).filter(|&n| values::is_prime(n)).collect();
    assert_eq!(primes, [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]);
    assert!(values::is_prime(65537) && values::is_prime(MAGLEV_SIZE_MAX) && values::is_prime(MAGLEV_SIZE_MIN));
    assert!(!values::is_prime(65535) && !values::is_prime(u32::MAX));
}
