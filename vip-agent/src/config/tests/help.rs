//! `--help` lists every flag with its env name and kube-vip aliases.

use std::collections::BTreeMap;

use super::parse;
use crate::config::settings::{self as s, Setting};
use crate::config::*;

/// Every flag of `run`, which `--help` must list with its env name.
const RUN_SETTINGS: &[Setting] = &[
    s::INTERFACE,
    s::ADDRESS,
    s::PORT,
    s::BACKENDS,
    s::DISCOVER_BACKENDS,
    s::BACKEND_PORT,
    s::ELECTION,
    s::PEER_PORT,
    s::PEER_INTERVAL,
    s::PEER_DEAD_AFTER,
    s::PEER_KEY_FILE,
    s::PEER_INSECURE,
    s::PEER_ADDRESS,
    s::LEASE_NAME,
    s::LEASE_NAMESPACE,
    s::LEASE_DURATION,
    s::RENEW_DEADLINE,
    s::RETRY_PERIOD,
    s::LEASE_TAKE_OVER_FOREIGN,
    s::KUBECONFIG,
    s::NODE_NAME,
    s::METRICS_ADDR,
    s::XDP_MODE,
    s::HEALTH_PATH,
    s::HEALTH_CA_FILE,
    s::HEALTH_INSECURE,
    s::HEALTH_TIMEOUT,
    s::HEALTH_INTERVAL,
    s::HEALTH_RISE,
    s::HEALTH_FALL,
    s::MAGLEV_SIZE,
    s::HASH_SEED,
    s::BPFFS_DIR,
    s::KEEP_FORWARDING_ON_EXIT,
    s::GARP_INTERVAL,
    s::LOG_FORMAT,
    s::LOG_LEVEL,
];

fn help_of(args: &[&str]) -> String {
    let error = parse(args, &BTreeMap::new()).unwrap_err();
    assert_eq!(error.exit_code(), 0, "help is not a failure");
    let CliError::Usage(error) = error else {
        panic!("help comes from clap")
    };
    error.render().to_string()
}

#[test]
fn run_help_lists_every_flag_with_env_name_and_kube_vip_alias() {
    let help = help_of(&["run", "--help"]);
    for setting in RUN_SETTINGS {
        assert!(
            help.contains(&format!("--{}", setting.long)),
            "--{} missing:\n{help}",
            setting.long
        );
        assert!(
            help.contains(&format!("[env: {}=", setting.env)),
            "{} missing:\n{help}",
            setting.env
        );
    }
    for hint in [
        "[kube-vip: vip_interface]",
        "[kube-vip: address, vip_address]",
        "[kube-vip: lb_port, port]",
        "[kube-vip: vip_leaseduration]",
        "[kube-vip: cp_enable]",
        "[kube-vip: prometheus_server]",
    ] {
        assert!(help.contains(hint), "{hint} missing:\n{help}");
    }
    // The command has no flag outside the list above (besides --help).
    let run = command().find_subcommand("run").unwrap().clone();
    let flags: Vec<&str> = run
        .get_arguments()
        .filter_map(Arg::get_long)
        .filter(|long| *long != "help")
        .collect();
    assert_eq!(flags.len(), RUN_SETTINGS.len(), "{flags:?}");
}

#[test]
fn renew_deadline_help_says_what_the_elector_does() {
    // Issue 10 item 4: the help used to promise a step-down at the deadline that never
    // came; now a round ends at it, refusals end leadership, outages do not.
    let help = help_of(&["run", "--help"]).replace(char::is_whitespace, " ");
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    for promise in [
        "Time limit of one Lease acquire/renew round",
        "refuses (4xx) steps down",
        "keeps the VIPs (fail-static)",
    ] {
        assert!(help.contains(promise), "{promise:?} missing:\n{help}");
    }
}

#[test]
fn status_and_manifest_help_show_env_names() {
    let status = help_of(&["status", "--help"]);
    assert!(
        status.contains("[env: VIP_FORMAT=") && status.contains("[env: VIP_BPFFS_DIR="),
        "{status}"
    );
    let manifest = help_of(&["manifest", "--help"]);
    assert!(
        manifest.contains("[env: VIP_IMAGE=") && manifest.contains("[env: VIP_NAMESPACE="),
        "{manifest}"
    );
    assert!(help_of(&["--version"]).contains("vip-agent"));
}

#[test]
fn setting_display_names_flag_env_and_aliases() {
    assert_eq!(
        s::INTERFACE.to_string(),
        "--interface (VIP_INTERFACE, kube-vip vip_interface)"
    );
    assert_eq!(s::HASH_SEED.to_string(), "--hash-seed (VIP_HASH_SEED)");
}
