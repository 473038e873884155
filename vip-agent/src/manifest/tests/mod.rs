//! Tests of the manifest generator; shared helpers here.
mod compat;
mod rbac;
mod settings;
mod workload;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::*;
use crate::config::{Cli, CliCommand};

pub const IMAGE: &str = "registry.example/vip-agent:0.1.0";
pub const REQUIRED: &[&str] = &[
    "--interface",
    "eth0",
    "--address",
    "192.0.2.100",
    "--backends",
    "192.0.2.11,192.0.2.12",
];

pub fn parse(args: &[&str]) -> ManifestArgs {
    let argv = ["vip-agent", "manifest"].iter().chain(args);
    match Cli::parse_from_env_and_args(argv, &BTreeMap::new())
        .unwrap()
        .cli
        .command
    {
        CliCommand::Manifest(args) => args,
        other => panic!("not manifest: {other:?}"),
    }
}

pub fn with_required<'a>(kind: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![kind, "--image", IMAGE];
    args.extend(REQUIRED.iter().copied().chain(extra.iter().copied()));
    args
}

pub fn docs(args: &[&str]) -> Vec<Value> {
    documents(&parse(args)).unwrap().1
}

pub fn container(doc: &Value) -> &Value {
    let spec = doc
        .pointer("/spec/template/spec")
        .or(doc.get("spec"))
        .unwrap();
    &spec["containers"][0]
}

pub fn env_of(doc: &Value) -> BTreeMap<String, Value> {
    let env = container(doc)["env"].as_array().unwrap();
    env.iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e.get("value").or(e.get("valueFrom")).unwrap().clone(),
            )
        })
        .collect()
}

/// Every key anywhere in `value`.
pub fn keys(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            out.insert(k.clone());
            keys(v, out);
        }),
        Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}
