//! The `run` settings of a manifest as `VIP_*` variables: every setting whose value
//! differs from the default clap declares for it, named by `config::settings`.
use std::path::Path;

use clap::ValueEnum;

use super::ManifestError;
use crate::config::settings::{self as s, Setting};
use crate::config::{HealthArgs, LogArgs, PeerArgs, RunArgs};

/// Each setting of `run` with its value as `VIP_*` text (lists comma-joined; `None` when
/// unset), in the order of `RunArgs`. The destructuring has no `..`, so a new field
/// fails to compile here until it is mapped.
pub fn run_settings(run: &RunArgs) -> Result<Vec<(Setting, Option<String>)>, ManifestError> {
    let RunArgs {
        interface,
        address,
        port,
        backends,
        discover_backends,
        backend_port,
        election,
        peers,
        lease_name,
        lease_namespace,
        lease_duration,
        renew_deadline,
        retry_period,
        lease_take_over_foreign,
        kubeconfig,
        node_name,
        metrics_addr,
        xdp_mode,
        health,
        maglev_size,
        hash_seed,
        bpffs_dir,
        keep_forwarding_on_exit,
        garp_interval,
        log,
    } = run;
    let HealthArgs {
        health_path,
        health_ca_file,
        health_insecure,
        health_timeout,
        health_interval,
        health_rise,
        health_fall,
    } = health;
    let PeerArgs {
        peer_port,
        peer_interval,
        peer_dead_after,
        peer_key_file,
        peer_insecure,
        peer_address,
    } = peers;
    let LogArgs {
        log_format,
        log_level,
    } = log;
    let text = |value: &String| Some(value.clone());
    let list = |values: &Vec<String>| (!values.is_empty()).then(|| values.join(","));
    Ok(vec![
        (s::INTERFACE, interface.clone()),
        (s::ADDRESS, list(address)),
        (s::PORT, list(port)),
        (s::BACKENDS, list(backends)),
        (s::DISCOVER_BACKENDS, Some(discover_backends.to_string())),
        (s::BACKEND_PORT, text(backend_port)),
        (s::ELECTION, Some(value_name(election))),
        (s::PEER_PORT, text(peer_port)),
        (s::PEER_INTERVAL, text(peer_interval)),
        (s::PEER_DEAD_AFTER, text(peer_dead_after)),
        (
            s::PEER_KEY_FILE,
            optional_path(s::PEER_KEY_FILE, peer_key_file.as_deref())?,
        ),
        (s::PEER_INSECURE, Some(peer_insecure.to_string())),
        (s::PEER_ADDRESS, peer_address.clone()),
        (s::LEASE_NAME, text(lease_name)),
        (s::LEASE_NAMESPACE, text(lease_namespace)),
        (s::LEASE_DURATION, text(lease_duration)),
        (s::RENEW_DEADLINE, text(renew_deadline)),
        (s::RETRY_PERIOD, text(retry_period)),
        (
            s::LEASE_TAKE_OVER_FOREIGN,
            Some(lease_take_over_foreign.to_string()),
        ),
        (
            s::KUBECONFIG,
            optional_path(s::KUBECONFIG, kubeconfig.as_deref())?,
        ),
        (s::NODE_NAME, node_name.clone()),
        (s::METRICS_ADDR, text(metrics_addr)),
        (s::XDP_MODE, Some(value_name(xdp_mode))),
        (s::HEALTH_PATH, text(health_path)),
        (
            s::HEALTH_CA_FILE,
            optional_path(s::HEALTH_CA_FILE, health_ca_file.as_deref())?,
        ),
        (s::HEALTH_INSECURE, Some(health_insecure.to_string())),
        (s::HEALTH_TIMEOUT, text(health_timeout)),
        (s::HEALTH_INTERVAL, text(health_interval)),
        (s::HEALTH_RISE, text(health_rise)),
        (s::HEALTH_FALL, text(health_fall)),
        (s::MAGLEV_SIZE, text(maglev_size)),
        (s::HASH_SEED, text(hash_seed)),
        (s::BPFFS_DIR, Some(path_text(s::BPFFS_DIR, bpffs_dir)?)),
        (
            s::KEEP_FORWARDING_ON_EXIT,
            Some(keep_forwarding_on_exit.to_string()),
        ),
        (s::GARP_INTERVAL, text(garp_interval)),
        (s::LOG_FORMAT, Some(value_name(log_format))),
        (s::LOG_LEVEL, Some(value_name(log_level))),
    ])
}

/// The settings of `run` that differ from their clap defaults, as (`VIP_*`, value).
pub fn non_default_env(run: &RunArgs) -> Result<Vec<(Setting, String)>, ManifestError> {
    let run_command = run_command();
    Ok(run_settings(run)?
        .into_iter()
        .filter_map(|(setting, value)| {
            let value = value?;
            (Some(value.as_str()) != default_of(&run_command, setting).as_deref())
                .then_some((setting, value))
        })
        .collect())
}

/// The `run` subcommand as the CLI defines it, with env names.
pub fn run_command() -> clap::Command {
    let mut command = crate::config::command();
    // Building fills in the implicit defaults, such as "false" for switches.
    command.build();
    command
        .find_subcommand("run")
        .cloned()
        .expect("vip-agent has a run subcommand")
}

/// The default clap gives `setting` in `run`, comma-joined; `None` when it has none.
fn default_of(run: &clap::Command, setting: Setting) -> Option<String> {
    let arg = run
        .get_arguments()
        .find(|arg| arg.get_env().and_then(|env| env.to_str()) == Some(setting.env))?;
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|value| value.to_string_lossy().into_owned())
        .collect();
    (!defaults.is_empty()).then(|| defaults.join(","))
}

fn value_name<T: ValueEnum>(value: &T) -> String {
    value
        .to_possible_value()
        .map(|possible| possible.get_name().to_owned())
        .unwrap_or_default()
}

fn optional_path(setting: Setting, path: Option<&Path>) -> Result<Option<String>, ManifestError> {
    path.map(|path| path_text(setting, path)).transpose()
}

pub fn path_text(setting: Setting, path: &Path) -> Result<String, ManifestError> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| ManifestError::NonUtf8Path {
            setting,
            path: path.to_owned(),
        })
}
