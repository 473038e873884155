//! The static vip-agent: musl, the `dist` profile, build paths remapped so that the
//! binary does not depend on where the checkout or the cargo home is.
use std::{
    env, fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};

use super::Release;
use crate::{build_ebpf, setup::MUSL_TARGET, tools};

pub fn build(release: &Release, target_dir: &Path, out: &Path) -> Result<PathBuf> {
    build_ebpf::preflight()?;
    let cargo_home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .context("neither CARGO_HOME nor HOME is set")?;
    let remap = |from: &Path, to: &str| format!("--remap-path-prefix={}={to}", from.display());
    let rustflags = [
        remap(&release.root, "/build/vip"),
        remap(&cargo_home, "/cargo"),
    ]
    .join("\x1f");
    let mut cmd = tools::cargo();
    cmd.args(["build", "--locked", "--profile", "dist", "-p", "vip-agent"])
        .args(["--target", MUSL_TARGET, "--target-dir"])
        .arg(target_dir)
        .env("VIP_GIT_REVISION", &release.revision)
        .env("SOURCE_DATE_EPOCH", release.source_date_epoch.to_string())
        .env("CARGO_ENCODED_RUSTFLAGS", rustflags)
        .env_remove("RUSTFLAGS")
        .env_remove("AYA_BUILD_SKIP");
    tools::run(&mut cmd)?;
    let built = target_dir.join(MUSL_TARGET).join("dist").join("vip-agent");
    let name = format!("vip-agent-{}-x86_64-linux-musl", release.version);
    let artifact = out.join(name);
    fs::copy(&built, &artifact)
        .with_context(|| format!("copying {} to {}", built.display(), artifact.display()))?;
    Ok(artifact)
}
