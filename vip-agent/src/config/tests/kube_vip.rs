//! kube-vip variables: conversions, one warning per ignored variable, the docs table.

use std::collections::BTreeSet;

use super::{env_map, run_args};
use crate::config::settings::{self as s, Setting};
use crate::config::*;

#[test]
fn unsupported_modes_give_one_clear_warning_each() {
    let env = env_map(&[
        ("vip_arp", "false"),
        ("bgp_enable", "true"),
        ("bgp_as", "65000"),
        ("bgp_peers", "10.0.0.1:65000::false"),
        ("cp_enable", "false"),
        ("svc_enable", "true"),
        ("svc_election", "false"),
        ("vip_subnet", "24"),
        ("vip_cidr", "32,128"),
        ("lb_enable", "false"),
        ("lb_fwdmethod", "masquerade"),
        ("vip_ddns", "true"),
        ("egress_podcidr", "10.244.0.0/16"),
        ("EGRESS_CLEAN", "true"),
        ("enable_node_labeling", "true"),
        ("dns_mode", "ipv6"),
        ("KUBERNETES_SERVICE_HOST", "10.96.0.1"),
        ("KUBERNETES_SERVICE_PORT", "443"),
    ]);
    let translation = translate_kube_vip_env(&env).unwrap();
    let warned: Vec<&str> = translation
        .warnings
        .iter()
        .map(|w| w.variable.as_str())
        .collect();
    let expected = [
        "EGRESS_CLEAN",
        "bgp_as",
        "bgp_enable",
        "bgp_peers",
        "cp_enable",
        "dns_mode",
        "egress_podcidr",
        "enable_node_labeling",
        "lb_enable",
        "lb_fwdmethod",
        "svc_enable",
        "vip_arp",
        "vip_ddns",
        "vip_subnet",
    ];
    assert_eq!(warned, expected);
    assert!(translation.values.is_empty(), "{:?}", translation.values);
    for warning in &translation.warnings {
        let line = warning.to_string();
        assert!(
            !line.contains('\n') && line.contains(&warning.variable),
            "{line}"
        );
    }
    let vip_arp = translation
        .warnings
        .iter()
        .find(|w| w.variable == "vip_arp")
        .unwrap();
    assert_eq!(
        vip_arp.to_string(),
        format!(
            "kube-vip variable vip_arp=\"false\" ignored: {}",
            vip_arp.reason
        )
    );
    assert!(vip_arp.reason.contains("only ARP/NDP"));
}

#[test]
fn supported_variables_convert_to_our_values() {
    let cases: &[(&str, &str, Setting, &str)] = &[
        ("vip_leaderelection", "false", s::ELECTION, "none"),
        ("vip_leaderelection", "T", s::ELECTION, "lease"),
        ("vip_leaseduration", "15", s::LEASE_DURATION, "15s"),
        ("vip_arpRate", "3000", s::GARP_INTERVAL, "3000ms"),
        ("vip_loglevel", "5", s::LOG_LEVEL, "debug"),
        ("vip_loglevel", "-4", s::LOG_LEVEL, "debug"),
        ("vip_loglevel", "6", s::LOG_LEVEL, "trace"),
        ("vip_loglevel", "4", s::LOG_LEVEL, "info"),
        ("vip_loglevel", "0", s::LOG_LEVEL, "info"),
        (
            "k8s_config_file",
            "/etc/kubernetes/admin.conf",
            s::KUBECONFIG,
            "/etc/kubernetes/admin.conf",
        ),
        (
            "backend_health_check_interval",
            "5",
            s::HEALTH_INTERVAL,
            "5s",
        ),
        (
            "control_plane_health_check_ca_path",
            "/ca.pem",
            s::HEALTH_CA_FILE,
            "/ca.pem",
        ),
        ("vip_address", "192.0.2.9", s::ADDRESS, "192.0.2.9"),
    ];
    for &(variable, value, setting, expected) in cases {
        let translation = translate_kube_vip_env(&env_map(&[(variable, value)])).unwrap();
        let alias = translation
            .value_for(setting)
            .unwrap_or_else(|| panic!("{variable} sets {setting}"));
        assert_eq!(alias.value, expected, "{variable}={value}");
        assert_eq!(translation.warnings, vec![]);
    }
}

#[test]
fn earlier_table_rows_win_between_kube_vip_variables() {
    let env = env_map(&[
        ("address", "192.0.2.1"),
        ("vip_address", "192.0.2.2"),
        ("port", "6443"),
        ("lb_port", "443"),
    ]);
    let translation = translate_kube_vip_env(&env).unwrap();
    assert_eq!(
        translation.value_for(s::ADDRESS).unwrap().value,
        "192.0.2.1"
    );
    assert_eq!(translation.value_for(s::PORT).unwrap().value, "443");
    assert_eq!(
        translation.value_for(s::BACKEND_PORT).unwrap().value,
        "6443"
    );
}

#[test]
fn invalid_supported_values_are_errors_and_empty_values_are_unset() {
    for (variable, value) in [
        ("vip_leaseduration", "5s"),
        ("vip_leaderelection", "yes"),
        ("vip_loglevel", "debug"),
        ("vip_arpRate", "-1"),
    ] {
        let error = translate_kube_vip_env(&env_map(&[(variable, value)])).unwrap_err();
        let KubeVipEnvError::InvalidValue {
            variable: named, ..
        } = &error;
        assert_eq!(*named, variable);
        assert!(error.to_string().contains(variable), "{error}");
    }
    let empty = env_map(&[
        ("vip_leaseduration", ""),
        ("bgp_enable", " "),
        ("vip_interface", ""),
    ]);
    assert_eq!(
        translate_kube_vip_env(&empty).unwrap(),
        KubeVipTranslation::default()
    );
}

#[test]
fn alias_values_are_validated_like_our_own() {
    let env = env_map(&[
        ("vip_interface", "eth0"),
        ("address", "192.0.2.10"),
        ("cp_enable", "true"),
        ("vip_leaseduration", "3"),
    ]);
    let error = run_args(&["run"], &env)
        .to_run_config_with(|| Ok("n".into()))
        .unwrap_err();
    assert!(matches!(
        error,
        ConfigError::LeaseDurationNotAboveRenewDeadline { .. }
    ));
    assert!(
        error.to_string().contains("kube-vip vip_leaseduration"),
        "{error}"
    );
}

#[test]
fn table_is_consistent_with_the_command() {
    let mut names = BTreeSet::new();
    let known_envs: BTreeSet<String> = command()
        .get_subcommands()
        .flat_map(|sub| sub.get_arguments())
        .filter_map(|arg| arg.get_env())
        .map(|env| env.to_string_lossy().into_owned())
        .collect();
    for entry in KUBE_VIP_ENV_TABLE {
        assert!(
            names.insert(entry.variable),
            "{} listed twice",
            entry.variable
        );
        assert!(
            !entry.variable.starts_with("VIP_"),
            "{} would clash with our names",
            entry.variable
        );
        let targets: Vec<Setting> = match entry.rule {
            Rule::Map { targets, .. } => targets.to_vec(),
            Rule::Expect {
                implies: Some(implied),
                ..
            } => vec![implied.target],
            _ => vec![],
        };
        for target in targets {
            assert!(
                known_envs.contains(target.env),
                "{} maps to unknown {}",
                entry.variable,
                target.env
            );
        }
    }
    assert!(matches!(
        entry_for("bgp_enable").unwrap().rule,
        Rule::Expect { .. }
    ));
    assert_eq!(entry_for("bgp_routerid").unwrap().variable, "bgp_*");
    assert!(entry_for("PATH").is_none());
}

#[test]
fn docs_table_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/kube-vip-env.md");
    let generated = kube_vip_env_table_markdown();
    // VIP_BLESS_DOCS=1 rewrites the file after an intended change of the table.
    if std::env::var_os("VIP_BLESS_DOCS").is_some() {
        std::fs::write(path, &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "{path} is stale; rerun this test with VIP_BLESS_DOCS=1"
    );
    assert!(generated.contains(
        "| `vip_leaseduration` | `--lease-duration` (`VIP_LEASE_DURATION`) | integer seconds |"
    ));
}
