//! Command line and environment of vip-agent.
//!
//! Every flag has a `VIP_*` variable, and the variables of a kube-vip manifest are
//! accepted as aliases (see docs/kube-vip-env.md). Precedence: flag > `VIP_*` > kube-vip.
//! Parsing reads an explicit env map, never the process environment, so it is testable;
//! `RunArgs::to_run_config` then checks everything before the host is touched.

mod cli;
mod error;
mod field_checks;
mod kube_vip_env;
mod kube_vip_table;
mod run_config;
pub mod settings;
mod validate;
mod values;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fmt;

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{Arg, ArgMatches, Command, CommandFactory, FromArgMatches};

pub use cli::*;
pub use error::ConfigError;
pub use kube_vip_env::{
    aliases_of, kube_vip_env_table_markdown, parse_go_bool, translate_kube_vip_env, AliasValue,
    KubeVipEnvError, KubeVipEnvWarning, KubeVipTranslation,
};
pub use kube_vip_table::{
    entry_for, Accept, Convert, Implied, KubeVipEnvEntry, Rule, KUBE_VIP_ENV_TABLE,
};
pub use run_config::*;
pub use validate::{system_hostname, HOSTNAME_FILE};
pub use values::{parse_duration, DurationSyntaxError, ListenAddrSyntaxError};

/// Exit status for a bad command line or configuration (BSD `EX_USAGE`).
pub const EXIT_USAGE: i32 = 64;

/// Something in the environment that was ignored; logged once at startup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigWarning {
    KubeVip(KubeVipEnvWarning),
    /// A `VIP_*` variable no flag reads: probably a typo, or a Service named `vip`
    /// whose link variables Kubernetes injected.
    UnknownVipVariable {
        variable: String,
    },
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KubeVip(warning) => warning.fmt(f),
            Self::UnknownVipVariable { variable } => {
                write!(
                    f,
                    "environment variable {variable} is not a vip-agent setting; ignored"
                )
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCli {
    pub cli: Cli,
    pub warnings: Vec<ConfigWarning>,
}

impl ParsedCli {
    /// Logs each warning once; call after the tracing subscriber is installed.
    pub fn log_warnings(&self) {
        for warning in &self.warnings {
            tracing::warn!("{warning}");
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Also `--help` and `--version`, which clap reports as errors.
    #[error(transparent)]
    Usage(#[from] clap::Error),
    #[error(transparent)]
    KubeVipEnv(#[from] KubeVipEnvError),
}

impl CliError {
    /// 0 for `--help`/`--version`, `EXIT_USAGE` otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Usage(error) if !error.use_stderr() => 0,
            _ => EXIT_USAGE,
        }
    }

    /// Prints like clap does: help to stdout, errors to stderr.
    pub fn print(&self) -> std::io::Result<()> {
        match self {
            Self::Usage(error) => error.print(),
            Self::KubeVipEnv(error) => {
                eprintln!("error: {error}");
                Ok(())
            }
        }
    }
}

impl Cli {
    /// Parses `args` (with the program name first) against the variables in `env`.
    pub fn parse_from_env_and_args<I, T>(
        args: I,
        env: &BTreeMap<String, String>,
    ) -> Result<ParsedCli, CliError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let full = command();
        let env_by_id = env_names_by_arg_id(&full);
        // clap captures the process environment when an Arg gets its env name, so the
        // parsing commands drop those names and receive the values as defaults instead.
        let bare = map_args(full.clone(), &|arg: Arg| arg.env(None));

        let from_args_only = match bare.clone().try_get_matches_from(&args) {
            Ok(matches) => matches,
            // Render help from the full command, which lists the env names.
            Err(error) if is_help(error.kind()) => {
                return Err(full
                    .try_get_matches_from(&args)
                    .err()
                    .unwrap_or(error)
                    .into())
            }
            Err(error) => return Err(error.into()),
        };
        // `manifest` prints what its command line says; the shell's variables count
        // only with --from-env (a stray `port=8080` must not land in a manifest).
        let no_env = BTreeMap::new();
        let env = match from_args_only.subcommand() {
            Some(("manifest", sub)) if !sub.get_flag("from_env") => &no_env,
            _ => env,
        };
        let translation = translate_kube_vip_env(env)?;
        let mut on_command_line = BTreeSet::new();
        collect_command_line_envs(&from_args_only, &env_by_id, &mut on_command_line);

        let explicit_env = |name: &str| env.get(name).is_some_and(|value| !value.trim().is_empty());
        let is_set = |name: &str| on_command_line.contains(name) || explicit_env(name);
        let mut defaults: BTreeMap<&str, String> = BTreeMap::new();
        for name in env_by_id.values() {
            if on_command_line.contains(name.as_str()) {
                continue;
            }
            if explicit_env(name) {
                defaults.insert(name, env[name].clone());
            } else if let Some(alias) = translation
                .values
                .iter()
                .find(|alias| alias.setting.env == name)
            {
                if !alias.unless_set.iter().any(|setting| is_set(setting.env)) {
                    defaults.insert(name, alias.value.clone());
                }
            }
        }
        let with_env = map_args(bare, &|arg: Arg| {
            let value = env_by_id
                .get(arg.get_id().as_str())
                .and_then(|name| defaults.get(name.as_str()));
            match value {
                Some(value) => arg.default_value(value.clone()),
                None => arg,
            }
        });
        let matches = with_env.try_get_matches_from(&args)?;
        let cli = Cli::from_arg_matches(&matches)?;

        let known: BTreeSet<&str> = env_by_id.values().map(String::as_str).collect();
        let mut warnings: Vec<ConfigWarning> = translation
            .warnings
            .into_iter()
            .map(ConfigWarning::KubeVip)
            .collect();
        warnings.extend(
            env.keys()
                .filter(|name| name.starts_with("VIP_") && !known.contains(name.as_str()))
                .map(|name| ConfigWarning::UnknownVipVariable {
                    variable: name.clone(),
                }),
        );
        Ok(ParsedCli { cli, warnings })
    }

    /// Parses the process arguments and environment.
    pub fn parse_from_process() -> Result<ParsedCli, CliError> {
        Self::parse_from_env_and_args(std::env::args_os(), &process_env())
    }
}

/// The clap command with env names and, in each help line, the kube-vip aliases.
pub fn command() -> Command {
    let version = crate::build_info::BuildInfo::current().long_version();
    map_args(Cli::command().long_version(version), &|arg: Arg| {
        let Some(env_name) = arg.get_env().and_then(|name| name.to_str()) else {
            return arg;
        };
        let aliases = aliases_of(env_name);
        if aliases.is_empty() {
            return arg;
        }
        let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
        arg.help(format!("{help} [kube-vip: {}]", aliases.join(", ")))
    })
}

/// The process environment, without variables that are not UTF-8.
pub fn process_env() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
        .collect()
}

fn is_help(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    )
}

fn map_args(command: Command, change: &dyn Fn(Arg) -> Arg) -> Command {
    command
        .mut_args(change)
        .mut_subcommands(|sub| map_args(sub, change))
}

/// Arg id → env name over all subcommands; an id means the same setting everywhere.
fn env_names_by_arg_id(command: &Command) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for arg in command.get_arguments() {
        if let Some(env_name) = arg.get_env().and_then(|name| name.to_str()) {
            names.insert(arg.get_id().to_string(), env_name.to_owned());
        }
    }
    for sub in command.get_subcommands() {
        names.extend(env_names_by_arg_id(sub));
    }
    names
}

fn collect_command_line_envs(
    matches: &ArgMatches,
    env_by_id: &BTreeMap<String, String>,
    found: &mut BTreeSet<String>,
) {
    for id in matches.ids() {
        if let Some(env_name) = env_by_id.get(id.as_str()) {
            if matches.value_source(id.as_str()) == Some(ValueSource::CommandLine) {
                found.insert(env_name.clone());
            }
        }
    }
    if let Some((_, sub)) = matches.subcommand() {
        collect_command_line_envs(sub, env_by_id, found);
    }
}
