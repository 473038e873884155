//! `cargo xtask lab up|down|demo`: the local lab, built and run by the vip-lab binary.
use anyhow::{bail, Result};

use crate::{setup, tools};

pub fn run(action: &str) -> Result<()> {
    if !tools::is_root() {
        bail!("the lab creates network namespaces and loads XDP programs: run as root");
    }
    if action != "down" {
        setup::run()?;
        tools::run(tools::cargo().current_dir(tools::workspace_root()).args([
            "build",
            "--release",
            "-p",
            "vip-agent",
        ]))?;
    }
    tools::run(tools::cargo().current_dir(tools::workspace_root()).args([
        "run",
        "--release",
        "-q",
        "-p",
        "vip-lab",
        "--bin",
        "vip-lab",
        "--",
        action,
    ]))
}
