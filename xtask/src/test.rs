//! `cargo xtask test`: the one command that checks everything, here and in CI.
use anyhow::{bail, Result};

use crate::{setup, tools};

pub fn run() -> Result<()> {
    if !tools::is_root() {
        bail!("the tests load XDP programs and create network namespaces: run as root");
    }
    setup::run()?;
    let root = tools::workspace_root();
    tools::run(
        tools::cargo()
            .current_dir(&root)
            .args(["fmt", "--all", "--", "--check"]),
    )?;
    tools::run(tools::cargo().current_dir(&root).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    tools::run(
        tools::cargo()
            .current_dir(&root)
            .args(["test", "--workspace"]),
    )?;
    let manifests = root.join("scripts/check-manifests.sh");
    if manifests.exists() {
        tools::run(
            std::process::Command::new("bash")
                .arg(manifests)
                .current_dir(&root),
        )?;
    }
    Ok(())
}
