//! The pin directory must live on a bpffs; container runtimes and minimal hosts do not
//! always mount one at /sys/fs/bpf.
use std::path::Path;

use nix::mount::{mount, MsFlags};
use tracing::info;

use super::AgentError;

const DEFAULT_MOUNT: &str = "/sys/fs/bpf";

fn bpffs_mounts() -> Vec<String> {
    std::fs::read_to_string("/proc/self/mounts")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (_, target, fstype) = (fields.next(), fields.next()?, fields.next()?);
            (fstype == "bpf").then(|| target.to_owned())
        })
        .collect()
}

/// Whether `dir` can hold pins, without changing anything: it is below a bpffs mount,
/// or below /sys/fs/bpf where [`ensure_mounted`] mounts one. `Ok(true)`: already mounted.
pub fn check(dir: &Path) -> Result<bool, String> {
    if dir.exists() && !dir.is_dir() {
        return Err(format!("{} exists and is not a directory", dir.display()));
    }
    if bpffs_mounts().iter().any(|m| dir.starts_with(m)) {
        return Ok(true);
    }
    if !dir.starts_with(DEFAULT_MOUNT) {
        return Err(format!(
            "{} is not on a bpffs mount; mount one (mount -t bpf bpf {DEFAULT_MOUNT}) or use a directory below it",
            dir.display()
        ));
    }
    Ok(false)
}

/// Mounts bpffs at /sys/fs/bpf when `dir` is not below any bpffs mount.
pub fn ensure_mounted(dir: &Path) -> Result<(), AgentError> {
    if check(dir).map_err(AgentError::Bpffs)? {
        return Ok(());
    }
    mount(
        Some("bpf"),
        DEFAULT_MOUNT,
        Some("bpf"),
        MsFlags::empty(),
        None::<&str>,
    )
    .map_err(|e| AgentError::Bpffs(format!("mounting bpffs at {DEFAULT_MOUNT}: {e}")))?;
    info!("mounted bpffs at {DEFAULT_MOUNT}");
    Ok(())
}
