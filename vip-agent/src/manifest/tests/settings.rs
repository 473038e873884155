//! Settings as variables, validation, errors and determinism.
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::*;
use crate::config::EXIT_USAGE;
use crate::manifest::env::{non_default_env, run_command, run_settings};
use crate::manifest::workload::SERVICE_ACCOUNT_CA;

#[test]
fn every_run_setting_is_mapped_once_by_its_config_name() {
    let declared: BTreeSet<String> = run_command()
        .get_arguments()
        .filter_map(|arg| arg.get_env().map(|env| env.to_string_lossy().into_owned()))
        .collect();
    let run = parse(&with_required("daemonset", &[])).run;
    let mapped: Vec<&str> = run_settings(&run)
        .unwrap()
        .iter()
        .map(|(setting, _)| setting.env)
        .collect();
    assert_eq!(
        mapped
            .iter()
            .map(|env| env.to_string())
            .collect::<BTreeSet<_>>(),
        declared
    );
    assert_eq!(mapped.len(), declared.len(), "a setting is listed twice");
}

#[test]
fn env_holds_only_what_differs_from_the_defaults() {
    let ds = &docs(&with_required("daemonset", &[]))[0];
    let env = env_of(ds);
    let names: Vec<&str> = env.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "VIP_ADDRESS",
            "VIP_BACKENDS",
            "VIP_HEALTH_CA_FILE",
            "VIP_INTERFACE",
            "VIP_KEEP_FORWARDING_ON_EXIT",
            "VIP_NODE_NAME",
            "VIP_PEER_KEY_FILE"
        ]
    );
    assert_eq!(env["VIP_KEEP_FORWARDING_ON_EXIT"], "true");
    assert_eq!(env["VIP_BACKENDS"], "192.0.2.11,192.0.2.12");
    assert_eq!(env["VIP_HEALTH_CA_FILE"], SERVICE_ACCOUNT_CA);
    let explicit_default = parse(&with_required(
        "daemonset",
        &["--port", "6443", "--election", "peers"],
    ));
    assert_eq!(
        non_default_env(&explicit_default.run).unwrap(),
        non_default_env(&parse(&with_required("daemonset", &[])).run).unwrap()
    );
}

/// The variables of a rendered DaemonSet give `run` the configuration the flags gave.
#[test]
fn env_round_trips_through_run() {
    let extra = [
        "--port",
        "6443,8443",
        "--backend-port",
        "16443",
        "--lease-name",
        "cp-lock",
        "--lease-duration",
        "15s",
        "--renew-deadline",
        "10s",
        "--retry-period",
        "2s",
        "--metrics-addr",
        "127.0.0.1:9100",
        "--xdp-mode",
        "skb",
        "--health-timeout",
        "500ms",
        "--health-rise",
        "3",
        "--maglev-size",
        "4099",
        "--hash-seed",
        "0x2a",
        "--bpffs-dir",
        "/run/vip-bpf",
        "--keep-forwarding-on-exit",
        "--garp-interval",
        "30s",
        "--log-format",
        "json",
        "--log-level",
        "debug",
    ];
    let args = parse(&with_required("daemonset", &extra));
    let ds = &documents(&args).unwrap().1[0];
    let mut env: BTreeMap<String, String> = env_of(ds)
        .into_iter()
        .filter_map(|(k, v)| Some((k, v.as_str()?.to_owned())))
        .collect();
    env.insert("VIP_NODE_NAME".into(), "cp-1".into());
    let CliCommand::Run(run) = Cli::parse_from_env_and_args(["vip-agent", "run"], &env)
        .unwrap()
        .cli
        .command
    else {
        panic!()
    };
    let mut expected = args.run.clone();
    expected.health.health_ca_file = Some(SERVICE_ACCOUNT_CA.into());
    expected.peers.peer_key_file = Some("/etc/kubernetes/pki/ca.key".into());
    let node = || Ok("cp-1".to_owned());
    assert_eq!(
        run.to_run_config_with(node).unwrap(),
        expected.to_run_config_with(node).unwrap()
    );
    let probe = &container(ds)["livenessProbe"]["httpGet"];
    assert_eq!(
        (&probe["host"], &probe["port"]),
        (&json!("127.0.0.1"), &json!(9100))
    );
    let paths: Vec<&Value> = ds["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["hostPath"]["path"])
        .collect();
    assert_eq!(
        paths,
        [
            "/sys/fs/bpf",
            "/run/vip-agent",
            "/run/vip-bpf",
            "/etc/kubernetes/pki/ca.key"
        ]
    );
}

#[test]
fn image_is_required_for_workloads_only() {
    for kind in ["daemonset", "pod"] {
        let mut args = parse(&with_required(kind, &[]));
        args.image = None;
        let error = render(&args).unwrap_err();
        assert!(
            matches!(error, ManifestError::MissingImage { .. }),
            "{error}"
        );
        assert_eq!(error.exit_code(), EXIT_USAGE);
        assert!(error.to_string().contains("--image (VIP_IMAGE)"), "{error}");
        args.image = Some("with space".into());
        assert!(matches!(
            render(&args),
            Err(ManifestError::InvalidImage { .. })
        ));
    }
    assert!(render(&parse(&["rbac"])).is_ok());
}

#[test]
fn invalid_run_settings_are_refused_like_run_refuses_them() {
    let no_backends = parse(&[
        "daemonset",
        "--image",
        IMAGE,
        "--interface",
        "eth0",
        "--address",
        "192.0.2.1",
    ]);
    assert!(matches!(
        render(&no_backends),
        Err(ManifestError::Config(ConfigError::NoBackendSource { .. }))
    ));
    let node = parse(&with_required("pod", &["--node-name", "cp-1"]));
    assert!(matches!(
        render(&node),
        Err(ManifestError::NodeNameFixed { .. })
    ));
    let bad_lease = parse(&["rbac", "--lease-duration", "1s"]);
    assert!(matches!(render(&bad_lease), Err(ManifestError::Config(_))));
}

#[test]
fn output_is_deterministic_and_its_header_regenerates_it() {
    let mut args = vec![
        "daemonset",
        "--image",
        IMAGE,
        "--interface",
        "eth0",
        "--address",
        "192.0.2.100",
        "--port",
        "8443",
        "--discover-backends",
    ];
    let first = render(&parse(&args)).unwrap();
    assert_eq!(first, render(&parse(&args)).unwrap());
    args.rotate_left(3); // the flags in another order
    assert_eq!(first, render(&parse(&args)).unwrap());
    let command = first
        .lines()
        .next()
        .unwrap()
        .strip_prefix("# Generated by: vip-agent manifest ")
        .unwrap();
    assert_eq!(
        render(&parse(&command.split(' ').collect::<Vec<_>>())).unwrap(),
        first
    );
}
