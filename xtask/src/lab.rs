//! `cargo xtask lab up|down|demo`: the local lab, run by the vip-lab binary.
use anyhow::{bail, Result};

use crate::{setup, tools};

pub fn run(action: &str) -> Result<()> {
    if !tools::is_root() {
        bail!("the lab creates network namespaces and loads XDP programs: run as root");
    }
    let root = tools::workspace_root();
    if action != "down" {
        setup::run()?;
    }
    // One build of both packages: built separately, their dependencies would be compiled
    // twice with different feature sets.
    tools::run(tools::cargo().current_dir(&root).args([
        "build",
        "--release",
        "-p",
        "vip-agent",
        "-p",
        "vip-lab",
    ]))?;
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), Into::into);
    let release = target.join("release");
    tools::run(
        std::process::Command::new(release.join("vip-lab"))
            .arg(action)
            .env("VIP_AGENT_BIN", release.join("vip-agent"))
            .current_dir(&root),
    )
}
