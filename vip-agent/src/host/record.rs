//! What a `HostSetup` changed, saved beside the pinned data plane. An agent that adopts a
//! running data plane after a crash inherits these changes, so its clean shutdown still
//! removes the VIPs and restores the sysctls its predecessor set.
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{
    setup::Change,
    sysctl::{read_sysctl, SysctlChange},
    HostError, HostSetup,
};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostRecord {
    /// VIPs added to `lo` (with their prefix length) by the agent.
    pub loopback_vips: Vec<(IpAddr, u8)>,
    /// Sysctls the agent set: path, value before, value set.
    pub sysctls: Vec<(PathBuf, i64, i64)>,
}

impl HostRecord {
    pub fn load(path: &Path) -> Option<Self> {
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }

    pub fn save(&self, path: &Path) -> Result<(), HostError> {
        let body = serde_json::to_vec_pretty(self).expect("a host record serializes");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| HostError::RecordWrite {
                path: path.to_owned(),
                source,
            })?;
        }
        std::fs::write(path, body).map_err(|source| HostError::RecordWrite {
            path: path.to_owned(),
            source,
        })
    }
}

impl HostRecord {
    /// Undoes the recorded changes that the host still shows (what `cleanup` of the agent
    /// that made them would have done).
    pub async fn undo(&self, netlink: &super::Netlink) -> Result<(), HostError> {
        let loopback = netlink.interface("lo").await?;
        for &(ip, prefix_len) in &self.loopback_vips {
            netlink
                .remove_address(loopback.index, ip, prefix_len)
                .await?;
            tracing::info!(%ip, "VIP removed from lo");
        }
        for (path, previous, wanted) in &self.sysctls {
            if read_sysctl(path).ok() == Some(*wanted) {
                super::sysctl::write_sysctl(path, *previous)?;
                tracing::info!(path = %path.display(), value = previous, "sysctl restored");
            }
        }
        Ok(())
    }
}

impl HostSetup {
    pub fn record(&self) -> HostRecord {
        let mut record = HostRecord::default();
        for change in &self.changes {
            match change {
                Change::LoopbackAddress { ip, prefix_len, .. } => {
                    record.loopback_vips.push((*ip, *prefix_len))
                }
                Change::Sysctl(s) => record.sysctls.push((s.path.clone(), s.previous, s.wanted)),
                Change::Multicast(_) => {}
            }
        }
        record
    }

    /// Takes over what `inherited` says a previous agent changed, where the host still
    /// shows it: VIPs still on `lo` that we serve, sysctls still at the value it set.
    pub async fn inherit(
        &mut self,
        inherited: &HostRecord,
        vips: &[IpAddr],
    ) -> Result<(), HostError> {
        let loopback = self.netlink.interface("lo").await?;
        let on_loopback = self.netlink.local_addresses(Some(loopback.index)).await?;
        let owned: Vec<IpAddr> = self.added_vips();
        for &(ip, prefix_len) in &inherited.loopback_vips {
            if vips.contains(&ip) && on_loopback.contains(&ip) && !owned.contains(&ip) {
                tracing::info!(%ip, "taking over the VIP on lo from the previous agent");
                self.changes.push(Change::LoopbackAddress {
                    ifindex: loopback.index,
                    ip,
                    prefix_len,
                });
            }
        }
        for (path, previous, wanted) in &inherited.sysctls {
            let mine = self
                .changes
                .iter()
                .any(|c| matches!(c, Change::Sysctl(s) if &s.path == path));
            if !mine && read_sysctl(path).ok() == Some(*wanted) {
                tracing::info!(path = %path.display(), previous, "taking over a sysctl from the previous agent");
                // Sysctls go first in `changes`, so they are restored last, as on a first run.
                self.changes.insert(
                    0,
                    Change::Sysctl(SysctlChange {
                        path: path.clone(),
                        previous: *previous,
                        wanted: *wanted,
                    }),
                );
            }
        }
        Ok(())
    }
}
