//! Tests of the config module; shared helpers here.

mod help;
mod kube_vip;
mod manifests;
mod parse;
mod table;

use std::collections::BTreeMap;

use crate::config::*;

fn env_map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

fn parse(args: &[&str], env: &BTreeMap<String, String>) -> Result<ParsedCli, CliError> {
    let argv = std::iter::once("vip-agent").chain(args.iter().copied());
    Cli::parse_from_env_and_args(argv, env)
}

fn run_args(args: &[&str], env: &BTreeMap<String, String>) -> RunArgs {
    match parse(args, env).expect("command line parses").cli.command {
        CliCommand::Run(run) => run,
        other => panic!("expected run, got {other:?}"),
    }
}

fn run_config(args: &[&str], env: &BTreeMap<String, String>) -> Result<RunConfig, ConfigError> {
    run_args(args, env).to_run_config_with(|| Ok("Node-A\n".to_owned()))
}
