//! Table of good and bad `run` inputs through parsing and validation.

use std::collections::BTreeMap;
use std::io;
use std::time::Duration;

use super::{env_map, run_args, run_config};
use crate::config::*;

const BASE: &str = "run --interface eth0 --address 192.0.2.10 --backends 192.0.2.1,192.0.2.2";

/// (label, arguments, expected error). Arguments extend `BASE` unless they start with
/// `run`; the error is the `ConfigError` variant and a fragment of its message.
type Row = (
    &'static str,
    &'static str,
    Option<(&'static str, &'static str)>,
);

#[rustfmt::skip]
const ROWS: &[Row] = &[
    ("minimal", "", None),
    ("dual-stack VIPs", "--address 2001:db8::10", None),
    ("comma VIP list", "run --interface eth0 --address 192.0.2.10,192.0.2.11 --discover-backends", None),
    ("several ports", "--port 6443,443 --port 8443", None),
    ("fractional lease timers", "--lease-duration 0.5 --renew-deadline 0.3 --retry-period 200ms", None),
    ("no election ignores lease timers", "--election none --lease-duration 1s --renew-deadline 5s", None),
    ("metrics off", "--metrics-addr off", None),
    ("metrics kube-vip style", "--metrics-addr :9100", None),
    ("metrics IPv6", "--metrics-addr [::1]:9100", None),
    ("hex seed", "--hash-seed 0xdeadbeef", None),
    ("largest maglev", "--maglev-size 131071", None),
    ("16 services", "--address 192.0.2.11,192.0.2.12,192.0.2.13 --port 1,2,3,4", None),
    ("15-byte interface", "run --interface abcdefghijklmno --address 192.0.2.10 --discover-backends", None),
    ("CA file", "--health-ca-file /etc/kubernetes/pki/ca.crt", None),
    ("bad address", "--address 192.0.2.300", Some(("InvalidAddress", "--address (VIP_ADDRESS"))),
    ("CIDR is not an address", "--address 192.0.2.11/32", Some(("InvalidAddress", "--address"))),
    ("duplicate VIP", "--address 192.0.2.10", Some(("DuplicateAddress", "--address"))),
    ("loopback VIP", "--address 127.0.0.1", Some(("UnusableAddress", "loopback"))),
    ("empty list entry", "--backends 192.0.2.3,,192.0.2.4", Some(("EmptyListEntry", "--backends (VIP_BACKENDS"))),
    ("port 0", "--port 0", Some(("InvalidPort", "--port (VIP_PORT"))),
    ("port too big", "--backend-port 65536", Some(("InvalidPort", "--backend-port"))),
    ("duplicate port", "--port 443,443", Some(("DuplicatePort", "port 443 is listed twice"))),
    ("lease equals renew", "--lease-duration 3s", Some(("LeaseDurationNotAboveRenewDeadline", "--lease-duration"))),
    ("renew equals retry", "--renew-deadline 1 --retry-period 1", Some(("RenewDeadlineNotAboveRetryPeriod", "--retry-period"))),
    ("renew within jitter", "--renew-deadline 1.2 --retry-period 1", Some(("RenewDeadlineNotAboveRetryPeriod", "1.2 ×"))),
    ("zero retry", "--retry-period 0", Some(("ZeroDuration", "--retry-period"))),
    ("bad duration", "--health-interval 5x", Some(("InvalidDuration", "--health-interval"))),
    ("garp too fast", "--garp-interval 50ms", Some(("DurationTooShort", "--garp-interval"))),
    ("non-prime maglev", "--maglev-size 65536", Some(("NotPrime", "--maglev-size"))),
    ("tiny maglev", "--maglev-size 13", Some(("OutOfRange", "--maglev-size"))),
    ("18 services", "--address 192.0.2.11,192.0.2.12 --port 1,2,3,4,5,6", Some(("TooManyServices", "= 18 services"))),
    ("interface with colon", "run --interface eth0:1 --address 192.0.2.10 --discover-backends", Some(("InvalidInterfaceName", "--interface"))),
    ("interface too long", "run --interface abcdefghijklmnop --address 192.0.2.10 --discover-backends", Some(("InvalidInterfaceName", "IFNAMSIZ"))),
    ("empty interface", "run --interface= --address 192.0.2.10 --discover-backends", Some(("InvalidInterfaceName", "empty"))),
    ("no interface", "run --address 192.0.2.10 --discover-backends", Some(("Missing", "--interface (VIP_INTERFACE"))),
    ("no VIP", "run --interface eth0 --discover-backends", Some(("Missing", "--address"))),
    ("no backends", "run --interface eth0 --address 192.0.2.10", Some(("NoBackendSource", "--discover-backends"))),
    ("both backend sources", "--discover-backends", Some(("Conflict", "exactly one source"))),
    ("backend is a VIP", "--backends 192.0.2.10", Some(("BackendIsVip", "--backends"))),
    ("unspecified backend", "--backends 0.0.0.0", Some(("UnusableAddress", "--backends"))),
    ("health timeout = interval", "--health-timeout 2s", Some(("HealthTimeoutNotBelowInterval", "--health-timeout"))),
    ("insecure with CA", "--health-insecure --health-ca-file /ca.pem", Some(("Conflict", "--health-insecure"))),
    ("relative health path", "--health-path readyz", Some(("InvalidHttpPath", "--health-path"))),
    ("zero rise", "--health-rise 0", Some(("OutOfRange", "--health-rise"))),
    ("bad lease name", "--lease-name Bad_Lock", Some(("InvalidKubernetesName", "--lease-name"))),
    ("bad namespace", "--lease-namespace a.b", Some(("InvalidKubernetesName", "--lease-namespace"))),
    ("bad node name", "--node-name=-node", Some(("InvalidKubernetesName", "--node-name"))),
    ("bad seed", "--hash-seed seed", Some(("InvalidNumber", "--hash-seed"))),
    ("bad metrics address", "--metrics-addr localhost", Some(("InvalidListenAddr", "--metrics-addr (VIP_METRICS_ADDR, kube-vip prometheus_server)"))),
    ("relative bpffs dir", "--bpffs-dir bpf", Some(("RelativePath", "--bpffs-dir"))),
    ("peer settings", "--peer-port 7000 --peer-interval 100ms --peer-dead-after 5 --peer-address 192.0.2.1", None),
    ("peer key file", "--peer-key-file /etc/vip/peer.key", None),
    ("insecure peers", "--peer-insecure", None),
    ("peer key file and insecure", "--peer-key-file /k --peer-insecure", Some(("Conflict", "--peer-insecure"))),
    ("peer interval too short", "--peer-interval 5ms", Some(("DurationTooShort", "--peer-interval"))),
    ("peer dead after 1", "--peer-dead-after 1", Some(("OutOfRange", "--peer-dead-after"))),
    ("peer port 0", "--peer-port 0", Some(("InvalidPort", "--peer-port (VIP_PEER_PORT"))),
    ("bad peer address", "--peer-address 10.0.0.300", Some(("InvalidAddress", "--peer-address"))),
];

fn arguments(row_args: &str) -> Vec<&str> {
    if row_args.starts_with("run") {
        row_args.split_whitespace().collect()
    } else {
        BASE.split_whitespace()
            .chain(row_args.split_whitespace())
            .collect()
    }
}

#[test]
fn good_and_bad_inputs() {
    assert!(ROWS.len() >= 25);
    for &(label, row_args, expected) in ROWS {
        let result = run_config(&arguments(row_args), &BTreeMap::new());
        match (expected, result) {
            (None, Ok(_)) => {}
            (None, Err(error)) => panic!("{label}: unexpected error: {error}"),
            (Some(_), Ok(config)) => panic!("{label}: accepted: {config:?}"),
            (Some((variant, fragment)), Err(error)) => {
                let message = error.to_string();
                let debug = format!("{error:?}");
                assert!(
                    debug.starts_with(&format!("{variant} ")),
                    "{label}: wrong error {debug}"
                );
                assert!(
                    message.contains(fragment),
                    "{label}: {message:?} lacks {fragment:?}"
                );
                // One line that names the setting by flag and variable.
                assert!(
                    message.contains("--") && message.contains("VIP_"),
                    "{label}: {message:?}"
                );
                assert!(!message.contains('\n'), "{label}: {message:?}");
            }
        }
    }
}

#[test]
fn default_node_name_comes_from_the_hostname_lowercased() {
    let args = run_args(&arguments(""), &BTreeMap::new());
    let config = args
        .to_run_config_with(|| Ok("CP-1.Example.COM\n".into()))
        .unwrap();
    assert_eq!(config.node_name, "cp-1.example.com");
    let error = args
        .to_run_config_with(|| Err(io::Error::new(io::ErrorKind::NotFound, "no hostname")))
        .unwrap_err();
    assert!(matches!(error, ConfigError::HostnameUnavailable { .. }));
    assert!(
        error
            .to_string()
            .contains("--node-name (VIP_NODE_NAME, kube-vip vip_nodename)"),
        "{error}"
    );
    let named = run_args(&arguments(""), &env_map(&[("VIP_NODE_NAME", "cp-9")]));
    assert_eq!(
        named
            .to_run_config_with(|| panic!("not needed"))
            .unwrap()
            .node_name,
        "cp-9"
    );
}

#[test]
fn primes_and_maglev_bounds() {
    let primes: Vec<u32> = (0..30).filter(|&n| values::is_prime(n)).collect();
    assert_eq!(primes, [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]);
    assert!(
        values::is_prime(65537)
            && values::is_prime(MAGLEV_SIZE_MAX)
            && values::is_prime(MAGLEV_SIZE_MIN)
    );
    assert!(!values::is_prime(65535) && !values::is_prime(u32::MAX));
}

#[test]
fn durations_accept_seconds_fractions_and_units() {
    let cases = [
        ("5", Ok(Duration::from_secs(5))),
        ("0.5", Ok(Duration::from_millis(500))),
        ("500ms", Ok(Duration::from_millis(500))),
        ("1.5s", Ok(Duration::from_millis(1500))),
        ("2m", Ok(Duration::from_secs(120))),
        (".25", Ok(Duration::from_millis(250))),
        ("0.000000001", Ok(Duration::from_nanos(1))),
        ("", Err(DurationSyntaxError::MissingNumber)),
        ("-1", Err(DurationSyntaxError::MissingNumber)),
        ("5h", Err(DurationSyntaxError::UnknownUnit)),
        ("1.2.3", Err(DurationSyntaxError::Malformed)),
        ("0.0000000001", Err(DurationSyntaxError::TooPrecise)),
        (
            "99999999999999999999999999m",
            Err(DurationSyntaxError::TooLarge),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(parse_duration(text), expected, "{text:?}");
    }
}
