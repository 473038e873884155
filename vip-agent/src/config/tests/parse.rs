//! Parsing: defaults, every VIP_* variable, precedence (flag > VIP_* > kube-vip), subcommands.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::{env_map, parse, run_args, run_config};
use crate::config::settings as s;
use crate::config::*;

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

const MINIMAL: &[&str] = &[
    "run",
    "--interface",
    "eth0",
    "--address",
    "192.0.2.10",
    "--backends",
    "192.0.2.1,192.0.2.2",
];

#[test]
fn minimal_command_line_gets_documented_defaults() {
    let config = run_config(MINIMAL, &BTreeMap::new()).unwrap();
    let expected = RunConfig {
        interface: "eth0".into(),
        vips: vec![ip("192.0.2.10")],
        service_ports: vec![6443],
        backend_port: 6443,
        backends: BackendSource::Static(vec![ip("192.0.2.1"), ip("192.0.2.2")]),
        election: Election::Peers(PeerConfig {
            port: 6464,
            interval: Duration::from_millis(50),
            dead_after_intervals: 3,
            key: crate::peers::KeySource::FirstOf(vec![
                "/etc/kubernetes/pki/ca.key".into(),
                "/var/lib/rancher/k3s/server/tls/server-ca.key".into(),
                "/var/lib/rancher/rke2/server/tls/server-ca.key".into(),
            ]),
            address: None,
            mirror: LeaseConfig {
                name: "vip-agent-lock".into(),
                namespace: "kube-system".into(),
                lease_duration: Duration::from_secs(5),
                renew_deadline: Duration::from_secs(3),
                retry_period: Duration::from_secs(1),
                take_over_foreign: false,
            },
        }),
        kubeconfig: None,
        node_name: "node-a".into(),
        metrics_addr: Some("0.0.0.0:2112".parse::<SocketAddr>().unwrap()),
        xdp_mode: XdpMode::Auto,
        health: HealthCheckConfig {
            path: "/readyz".into(),
            ca_file: None,
            insecure: false,
            timeout: Duration::from_secs(1),
            interval: Duration::from_secs(2),
            rise: 2,
            fall: 3,
        },
        maglev_size: 65537,
        hash_seed: 0,
        bpffs_dir: PathBuf::from("/sys/fs/bpf/vip-agent"),
        keep_forwarding_on_exit: false,
        garp_interval: Duration::from_secs(10),
        log_format: LogFormat::Text,
        log_level: LogLevel::Info,
    };
    assert_eq!(config, expected);
}

#[test]
fn every_setting_can_come_from_its_vip_variable() {
    let env = env_map(&[
        ("VIP_INTERFACE", "ens3"),
        ("VIP_ADDRESS", "192.0.2.10,2001:db8::10"),
        ("VIP_PORT", "6443,443"),
        ("VIP_DISCOVER_BACKENDS", "yes"),
        ("VIP_BACKEND_PORT", "16443"),
        ("VIP_ELECTION", "lease"),
        ("VIP_LEASE_NAME", "my-lock"),
        ("VIP_LEASE_NAMESPACE", "vip"),
        ("VIP_LEASE_DURATION", "0.5"),
        ("VIP_RENEW_DEADLINE", "300ms"),
        ("VIP_RETRY_PERIOD", "0.2s"),
        ("VIP_KUBECONFIG", "/etc/kubernetes/admin.conf"),
        ("VIP_NODE_NAME", "cp-1"),
        ("VIP_METRICS_ADDR", "off"),
        ("VIP_XDP_MODE", "skb"),
        ("VIP_HEALTH_PATH", "/livez"),
        ("VIP_HEALTH_INSECURE", "1"),
        ("VIP_HEALTH_TIMEOUT", "250ms"),
        ("VIP_HEALTH_INTERVAL", "1s"),
        ("VIP_HEALTH_RISE", "1"),
        ("VIP_HEALTH_FALL", "5"),
        ("VIP_MAGLEV_SIZE", "4099"),
        ("VIP_HASH_SEED", "0xC0FFEE"),
        ("VIP_BPFFS_DIR", "/sys/fs/bpf/other"),
        ("VIP_KEEP_FORWARDING_ON_EXIT", "true"),
        ("VIP_GARP_INTERVAL", "1m"),
        ("VIP_LOG_FORMAT", "json"),
        ("VIP_LOG_LEVEL", "debug"),
    ]);
    let parsed = parse(&["run"], &env).unwrap();
    assert_eq!(parsed.warnings, vec![]);
    let CliCommand::Run(args) = parsed.cli.command else {
        panic!("not run")
    };
    let config = args
        .to_run_config_with(|| panic!("node name is set"))
        .unwrap();
    assert_eq!(config.interface, "ens3");
    assert_eq!(config.vips, vec![ip("192.0.2.10"), ip("2001:db8::10")]);
    assert_eq!(config.service_ports, vec![6443, 443]);
    assert_eq!(config.services().count(), 4);
    assert_eq!(config.backends, BackendSource::DiscoverControlPlaneNodes);
    assert_eq!(config.backend_port, 16443);
    assert_eq!(
        config.election,
        Election::Lease(LeaseConfig {
            name: "my-lock".into(),
            namespace: "vip".into(),
            lease_duration: Duration::from_millis(500),
            renew_deadline: Duration::from_millis(300),
            retry_period: Duration::from_millis(200),
            take_over_foreign: false,
        })
    );
    assert_eq!(
        config.kubeconfig,
        Some(PathBuf::from("/etc/kubernetes/admin.conf"))
    );
    assert_eq!(config.node_name, "cp-1");
    assert_eq!(config.metrics_addr, None);
    assert_eq!(config.xdp_mode, XdpMode::Skb);
    assert_eq!(
        config.health,
        HealthCheckConfig {
            path: "/livez".into(),
            ca_file: None,
            insecure: true,
            timeout: Duration::from_millis(250),
            interval: Duration::from_secs(1),
            rise: 1,
            fall: 5,
        }
    );
    assert_eq!((config.maglev_size, config.hash_seed), (4099, 0xC0FFEE));
    assert_eq!(config.bpffs_dir, PathBuf::from("/sys/fs/bpf/other"));
    assert!(config.keep_forwarding_on_exit);
    assert_eq!(config.garp_interval, Duration::from_secs(60));
    assert_eq!(
        (config.log_format, config.log_level),
        (LogFormat::Json, LogLevel::Debug)
    );
}

#[test]
fn flag_beats_vip_variable_beats_kube_vip_variable() {
    let all = env_map(&[
        ("VIP_INTERFACE", "from-vip"),
        ("vip_interface", "from-kube-vip"),
    ]);
    let flag = run_args(&["run", "--interface", "from-flag"], &all);
    assert_eq!(flag.interface.as_deref(), Some("from-flag"));
    assert_eq!(
        run_args(&["run"], &all).interface.as_deref(),
        Some("from-vip")
    );
    let alias_only = env_map(&[("vip_interface", "from-kube-vip")]);
    assert_eq!(
        run_args(&["run"], &alias_only).interface.as_deref(),
        Some("from-kube-vip")
    );
    // An empty VIP_ variable counts as unset, as a manifest's `value: ""` means.
    let empty = env_map(&[("VIP_INTERFACE", ""), ("vip_interface", "from-kube-vip")]);
    assert_eq!(
        run_args(&["run"], &empty).interface.as_deref(),
        Some("from-kube-vip")
    );
}

#[test]
fn precedence_holds_for_lists_and_durations() {
    let env = env_map(&[
        ("VIP_ADDRESS", "192.0.2.20"),
        ("address", "192.0.2.30"),
        ("vip_leaseduration", "9"),
        ("VIP_RENEW_DEADLINE", "4s"),
        ("vip_renewdeadline", "2"),
    ]);
    let args = run_args(
        &[
            "run",
            "--address",
            "192.0.2.10",
            "--address",
            "192.0.2.11",
            "--lease-duration",
            "10s",
        ],
        &env,
    );
    assert_eq!(args.address, vec!["192.0.2.10", "192.0.2.11"]);
    assert_eq!(args.lease_duration, "10s");
    assert_eq!(args.renew_deadline, "4s");
    let args = run_args(&["run"], &env);
    assert_eq!(args.address, vec!["192.0.2.20"]);
    assert_eq!(args.lease_duration, "9s");
}

#[test]
fn cp_enable_implies_discovery_only_without_explicit_backends() {
    let kube_vip = env_map(&[("cp_enable", "true")]);
    assert!(run_args(&["run"], &kube_vip).discover_backends);
    let with_flag = run_args(&["run", "--backends", "192.0.2.1"], &kube_vip);
    assert!(!with_flag.discover_backends);
    let with_env = env_map(&[("cp_enable", "true"), ("VIP_BACKENDS", "192.0.2.1")]);
    assert!(!run_args(&["run"], &with_env).discover_backends);
    // Both given explicitly by the user is a conflict, reported by validation.
    let both = env_map(&[("VIP_DISCOVER_BACKENDS", "true")]);
    let error = run_config(&[MINIMAL, &[]].concat(), &both).unwrap_err();
    assert!(matches!(
        error,
        ConfigError::Conflict {
            first: s::BACKENDS,
            second: s::DISCOVER_BACKENDS,
            ..
        }
    ));
}

#[test]
fn unknown_vip_variables_warn_once_each() {
    let env = env_map(&[
        ("VIP_INTERFAC", "eth0"),
        ("VIP_SERVICE_HOST", "10.96.0.9"),
        ("PATH", "/bin"),
    ]);
    let parsed = parse(MINIMAL, &env).unwrap();
    let expected: Vec<ConfigWarning> = ["VIP_INTERFAC", "VIP_SERVICE_HOST"]
        .iter()
        .map(|name| ConfigWarning::UnknownVipVariable {
            variable: name.to_string(),
        })
        .collect();
    assert_eq!(parsed.warnings, expected);
}

#[test]
fn bad_enum_values_and_unknown_flags_are_usage_errors() {
    let bad_env = parse(MINIMAL, &env_map(&[("VIP_XDP_MODE", "fast")])).unwrap_err();
    assert_eq!(bad_env.exit_code(), EXIT_USAGE);
    assert!(bad_env.to_string().contains("fast"), "{bad_env}");
    let bad_flag = parse(&["run", "--no-such-flag"], &BTreeMap::new()).unwrap_err();
    assert_eq!(bad_flag.exit_code(), EXIT_USAGE);
    let bad_alias = parse(MINIMAL, &env_map(&[("vip_retryperiod", "1.5")])).unwrap_err();
    assert!(matches!(
        bad_alias,
        CliError::KubeVipEnv(KubeVipEnvError::InvalidValue {
            variable: "vip_retryperiod",
            ..
        })
    ));
    assert_eq!(bad_alias.exit_code(), EXIT_USAGE);
}

#[test]
fn status_and_manifest_parse_into_their_structs() {
    let env = env_map(&[("VIP_BPFFS_DIR", "/sys/fs/bpf/x")]);
    let status = parse(&["status", "--format", "json"], &env)
        .unwrap()
        .cli
        .command;
    let expected = StatusArgs {
        bpffs_dir: PathBuf::from("/sys/fs/bpf/x"),
        format: OutputFormat::Json,
        log: LogArgs {
            log_format: LogFormat::Text,
            log_level: LogLevel::Info,
        },
    };
    assert_eq!(status, CliCommand::Status(expected));

    let args = [
        "manifest",
        "daemonset",
        "--image",
        "registry.example/vip-agent:1",
        "--interface",
        "eth0",
        "--from-env",
    ];
    let manifest = parse(
        &args,
        &env_map(&[("address", "192.0.2.10"), ("VIP_NAMESPACE", "vip")]),
    )
    .unwrap();
    let CliCommand::Manifest(manifest) = manifest.cli.command else {
        panic!("not manifest")
    };
    assert_eq!(manifest.kind, ManifestKind::Daemonset);
    assert_eq!(
        manifest.image.as_deref(),
        Some("registry.example/vip-agent:1")
    );
    assert_eq!(manifest.namespace, "vip");
    assert_eq!(manifest.run.interface.as_deref(), Some("eth0"));
    assert_eq!(manifest.run.address, vec!["192.0.2.10"]);
    assert!(parse(&["manifest", "deployment"], &BTreeMap::new()).is_err());
}

#[test]
fn manifest_ignores_the_shells_variables_without_from_env() {
    let env = env_map(&[
        ("port", "8080"),
        ("VIP_NAMESPACE", "vip"),
        ("VIP_HEALTH_INSECURE", "true"),
    ]);
    let args = ["manifest", "pod", "--interface", "eth0"];
    let parsed = parse(&args, &env).unwrap();
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let CliCommand::Manifest(manifest) = parsed.cli.command else {
        panic!("not manifest")
    };
    assert_eq!(manifest.namespace, "kube-system");
    assert_eq!(manifest.run.port, vec!["6443"]);
    assert!(!manifest.run.health.health_insecure);

    let CliCommand::Manifest(manifest) = parse(&[&args[..], &["--from-env"]].concat(), &env)
        .unwrap()
        .cli
        .command
    else {
        panic!("not manifest")
    };
    assert_eq!(manifest.namespace, "vip");
    assert_eq!(manifest.run.port, vec!["8080"]);
    assert!(manifest.run.health.health_insecure);

    // `run` keeps reading its environment as before.
    let run = run_args(&["run"], &env);
    assert_eq!(run.port, vec!["8080"]);
}
