//! `vip-agent cleanup`: removes what an agent left behind on purpose
//! (--keep-forwarding-on-exit, for seamless restarts) or by crashing.
use std::path::Path;

use tracing::info;

use super::{host_record_path, AgentError};
use crate::host::{HostRecord, Netlink};

pub async fn run(bpffs_dir: &Path) -> Result<(), AgentError> {
    let record_path = host_record_path(bpffs_dir);
    match HostRecord::load(&record_path) {
        Some(record) => {
            record.undo(&Netlink::connect()?).await?;
            let _ = std::fs::remove_file(&record_path);
        }
        None => info!(path = %record_path.display(), "no host record: nothing to undo on the host"),
    }
    // Removing the pins detaches the XDP link and frees the maps (no process holds them).
    match std::fs::remove_dir_all(bpffs_dir) {
        Ok(()) => info!(dir = %bpffs_dir.display(), "pinned XDP link and maps removed"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => info!("no pinned data plane"),
        Err(e) => {
            return Err(AgentError::Bpffs(format!(
                "removing {}: {e}",
                bpffs_dir.display()
            )))
        }
    }
    Ok(())
}
