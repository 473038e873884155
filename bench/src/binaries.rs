//! The programs a lab runs, found in (and built into) this workspace's target directory.
use std::path::{Path, PathBuf};

use crate::LabError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    Debug,
    Release,
}

impl Profile {
    fn dir(self) -> &'static str {
        match self {
            Profile::Debug => "debug",
            Profile::Release => "release",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Binaries {
    pub agent: PathBuf,
    pub apiserver: PathBuf,
    /// The `vip-lab` binary: its `lease-server` subcommand runs the Lease test server.
    pub lab: PathBuf,
}

/// The workspace this crate was built in.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench/ sits in the workspace")
        .to_owned()
}

/// `$CARGO_TARGET_DIR`, else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// `cargo build [--release] -p vip-agent --bin vip-agent` in this workspace (a quick
/// no-op when it is up to date); returns the agent's path. `$VIP_AGENT_BIN` overrides.
pub fn build_agent(profile: Profile) -> Result<PathBuf, LabError> {
    if let Some(path) = std::env::var_os("VIP_AGENT_BIN") {
        return Ok(PathBuf::from(path));
    }
    cargo_build(profile, &["-p", "vip-agent", "--bin", "vip-agent"])?;
    Ok(target_dir().join(profile.dir()).join("vip-agent"))
}

/// Runs `cargo build` with `args` in the workspace, its output shown to the user.
pub fn cargo_build(profile: Profile, args: &[&str]) -> Result<(), LabError> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let root = workspace_root();
    let manifest = root.join("Cargo.toml");
    let manifest = manifest.to_string_lossy();
    let mut all = vec!["build", "--manifest-path", manifest.as_ref()];
    if profile == Profile::Release {
        all.push("--release");
    }
    all.extend_from_slice(args);
    let status = std::process::Command::new(&cargo)
        .args(&all)
        .status()
        .map_err(|source| LabError::Spawn {
            command: format!("{cargo} build"),
            source,
        })?;
    if !status.success() {
        return Err(LabError::Command {
            command: format!("{cargo} {}", all.join(" ")),
            stderr: format!("exited with {status}"),
        });
    }
    Ok(())
}

impl Binaries {
    /// For `vip-lab` itself: the agent built in `profile`, the stand-in next to this
    /// executable (built too if missing).
    pub fn beside_current_exe(profile: Profile) -> Result<Self, LabError> {
        let lab = std::env::current_exe().map_err(LabError::io("/proc/self/exe"))?;
        let apiserver = lab.with_file_name("vip-lab-apiserver");
        if !apiserver.exists() {
            cargo_build(profile, &["-p", "vip-lab", "--bin", "vip-lab-apiserver"])?;
        }
        Ok(Self {
            agent: build_agent(profile)?,
            apiserver,
            lab,
        })
    }

    pub fn check(&self) -> Result<(), LabError> {
        for path in [&self.agent, &self.apiserver, &self.lab] {
            if !path.is_file() {
                return Err(LabError::Other(format!(
                    "{} is missing; build it first",
                    path.display()
                )));
            }
        }
        Ok(())
    }
}
