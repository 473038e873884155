//! Applying the DSR host configuration and undoing exactly that.

use std::{
    io::ErrorKind,
    net::{IpAddr, Ipv6Addr},
};

use super::{
    multicast::{solicited_node_group, MulticastMembership},
    netlink::{InterfaceInfo, Netlink},
    sysctl::{ipv6_enabled, plan_arp_sysctls, read_sysctl, write_sysctl, SysctlChange},
    validate::validate_vip,
    HostError,
};

const LOOPBACK: &str = "lo";

/// What the host must look like for DSR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostConfig {
    /// Interface the VIPs are announced on (the one XDP is attached to).
    pub interface: String,
    pub vips: Vec<IpAddr>,
}

/// One change made to the host, with what is needed to undo it.
#[derive(Debug)]
pub(super) enum Change {
    Sysctl(SysctlChange),
    Multicast(MulticastMembership),
    LoopbackAddress {
        ifindex: u32,
        ip: IpAddr,
        prefix_len: u8,
    },
}

/// Everything `apply` will do, computed without changing anything.
struct Plan {
    interface: InterfaceInfo,
    loopback_index: u32,
    sysctls: Vec<SysctlChange>,
    groups: Vec<Ipv6Addr>,
    missing_vips: Vec<IpAddr>,
}

/// The applied host configuration; [`HostSetup::cleanup`] undoes it.
#[derive(Debug)]
pub struct HostSetup {
    pub(super) netlink: Netlink,
    interface: InterfaceInfo,
    pub(super) changes: Vec<Change>,
    /// VIPs this setup added to `lo` and then withdrew (see `withdraw_loopback_vips`).
    withdrawn: Vec<(u32, IpAddr, u8)>,
}

fn host_prefix_len(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

impl HostSetup {
    /// Validates `config` (interfaces exist, VIPs usable, IPv6 enabled where
    /// needed, sysctls readable) and only then applies it: ARP sysctls first
    /// (when there is an IPv4 VIP) so the kernel never answers ARP for a VIP,
    /// then multicast memberships, then VIPs on `lo`. Duplicate VIPs count
    /// once. If a step fails, the steps already done are undone before
    /// returning the error.
    pub async fn apply(config: &HostConfig) -> Result<Self, HostError> {
        Self::apply_with(Netlink::connect()?, config).await
    }

    /// [`HostSetup::apply`] over an existing connection, which the setup then
    /// keeps for cleanup (and lends out through [`HostSetup::netlink`]).
    pub async fn apply_with(netlink: Netlink, config: &HostConfig) -> Result<Self, HostError> {
        let plan = plan(&netlink, config).await?;
        let mut setup = HostSetup {
            netlink,
            interface: plan.interface.clone(),
            changes: Vec::new(),
            withdrawn: Vec::new(),
        };
        if let Err(error) = setup.execute(plan).await {
            if let Err(rollback_error) = setup.cleanup().await {
                tracing::error!(%rollback_error, "rolling back a failed host setup failed");
            }
            return Err(error);
        }
        Ok(setup)
    }

    async fn execute(&mut self, plan: Plan) -> Result<(), HostError> {
        for change in plan.sysctls {
            write_sysctl(&change.path, change.wanted)?;
            tracing::info!(path = %change.path.display(), previous = change.previous,
                value = change.wanted, "sysctl set");
            self.changes.push(Change::Sysctl(change));
        }
        for group in plan.groups {
            let membership = MulticastMembership::join(group, plan.interface.index)?;
            tracing::info!(%group, interface = %plan.interface.name, "joined multicast group");
            self.changes.push(Change::Multicast(membership));
        }
        for ip in plan.missing_vips {
            let prefix_len = host_prefix_len(ip);
            if self
                .netlink
                .add_address(plan.loopback_index, ip, prefix_len)
                .await?
            {
                tracing::info!(%ip, prefix_len, "VIP added to {LOOPBACK}");
                self.changes.push(Change::LoopbackAddress {
                    ifindex: plan.loopback_index,
                    ip,
                    prefix_len,
                });
            } else {
                tracing::info!(%ip, "VIP appeared on {LOOPBACK} meanwhile, leaving it alone");
            }
        }
        Ok(())
    }

    /// The announcing interface (index and MAC for the data plane).
    pub fn interface(&self) -> &InterfaceInfo {
        &self.interface
    }

    /// The connection this setup uses, e.g. for [`Netlink::resolve_mac`].
    pub fn netlink(&self) -> &Netlink {
        &self.netlink
    }

    /// VIPs this setup added to `lo` (those already there are not listed).
    pub fn added_vips(&self) -> Vec<IpAddr> {
        self.changes
            .iter()
            .filter_map(|change| match change {
                Change::LoopbackAddress { ip, .. } => Some(*ip),
                _ => None,
            })
            .collect()
    }

    /// Whether the VIPs this setup manages are on `lo` (not withdrawn).
    pub fn loopback_vips_present(&self) -> bool {
        self.withdrawn.is_empty()
    }

    /// Takes the VIPs this setup added off `lo`, so local clients of the VIP (kubelet on
    /// a node whose API server is not up yet) reach the cluster instead of this node.
    pub async fn withdraw_loopback_vips(&mut self) -> Result<(), HostError> {
        // Loopback addresses are the last changes made, so they go back at the end.
        let (loopback, others): (Vec<Change>, Vec<Change>) = std::mem::take(&mut self.changes)
            .into_iter()
            .partition(|c| matches!(c, Change::LoopbackAddress { .. }));
        self.changes = others;
        let mut remaining = loopback.into_iter();
        while let Some(change) = remaining.next() {
            let Change::LoopbackAddress {
                ifindex,
                ip,
                prefix_len,
            } = change
            else {
                continue;
            };
            if let Err(error) = self.netlink.remove_address(ifindex, ip, prefix_len).await {
                self.changes.push(Change::LoopbackAddress {
                    ifindex,
                    ip,
                    prefix_len,
                });
                self.changes.extend(remaining);
                return Err(error);
            }
            tracing::info!(%ip, "VIP withdrawn from {LOOPBACK}");
            self.withdrawn.push((ifindex, ip, prefix_len));
        }
        Ok(())
    }

    /// Puts withdrawn VIPs back on `lo`.
    pub async fn restore_loopback_vips(&mut self) -> Result<(), HostError> {
        while let Some((ifindex, ip, prefix_len)) = self.withdrawn.pop() {
            if let Err(error) = self.netlink.add_address(ifindex, ip, prefix_len).await {
                self.withdrawn.push((ifindex, ip, prefix_len));
                return Err(error);
            }
            tracing::info!(%ip, "VIP back on {LOOPBACK}");
            self.changes.push(Change::LoopbackAddress {
                ifindex,
                ip,
                prefix_len,
            });
        }
        Ok(())
    }

    /// Undoes the recorded changes in reverse order. Every change is tried;
    /// those that fail stay recorded so a later call can retry them.
    pub async fn cleanup(&mut self) -> Result<(), HostError> {
        let mut failed = Vec::new();
        let mut failures = Vec::new();
        while let Some(change) = self.changes.pop() {
            if let Err((change, error)) = self.undo(change).await {
                tracing::warn!(%error, "could not undo a host change");
                failed.push(change);
                failures.push(error);
            }
        }
        failed.reverse();
        self.changes = failed;
        if failures.is_empty() {
            Ok(())
        } else {
            Err(HostError::CleanupIncomplete { failures })
        }
    }

    async fn undo(&self, change: Change) -> Result<(), (Change, HostError)> {
        match change {
            Change::LoopbackAddress {
                ifindex,
                ip,
                prefix_len,
            } => match self.netlink.remove_address(ifindex, ip, prefix_len).await {
                Ok(()) => {
                    tracing::info!(%ip, "VIP removed from {LOOPBACK}");
                    Ok(())
                }
                Err(error) => Err((change, error)),
            },
            Change::Multicast(membership) => {
                tracing::info!(group = %membership.group(), "leaving multicast group");
                membership.leave();
                Ok(())
            }
            Change::Sysctl(sysctl) => {
                restore_sysctl(&sysctl).map_err(|error| (Change::Sysctl(sysctl), error))
            }
        }
    }
}

/// Restores the previous value unless someone else changed it after us, or
/// the interface is gone (and its sysctls with it).
fn restore_sysctl(change: &SysctlChange) -> Result<(), HostError> {
    let current = match read_sysctl(&change.path) {
        Ok(current) => current,
        Err(HostError::SysctlRead { source, .. }) if source.kind() == ErrorKind::NotFound => {
            tracing::warn!(path = %change.path.display(), "sysctl is gone, nothing to restore");
            return Ok(());
        }
        Err(error) => return Err(error),
    };
    if current != change.wanted {
        tracing::warn!(path = %change.path.display(), current, set = change.wanted,
            "sysctl changed by someone else since setup, leaving it");
        return Ok(());
    }
    write_sysctl(&change.path, change.previous)?;
    tracing::info!(path = %change.path.display(), value = change.previous, "sysctl restored");
    Ok(())
}

impl Drop for HostSetup {
    fn drop(&mut self) {
        if !self.changes.is_empty() {
            tracing::warn!(
                remaining = self.changes.len(),
                "host setup dropped without a complete cleanup; sysctls and VIPs stay"
            );
        }
    }
}

/// Reads and checks everything `apply` needs; changes nothing.
async fn plan(netlink: &Netlink, config: &HostConfig) -> Result<Plan, HostError> {
    let interface = netlink.interface(&config.interface).await?;
    let loopback = netlink.interface(LOOPBACK).await?;

    let mut vips: Vec<IpAddr> = Vec::new();
    for &ip in &config.vips {
        validate_vip(ip)?;
        if !vips.contains(&ip) {
            vips.push(ip);
        }
    }

    let mut groups = Vec::new();
    for ip in &vips {
        let IpAddr::V6(v6) = *ip else { continue };
        for name in [LOOPBACK, config.interface.as_str()] {
            if !ipv6_enabled(name)? {
                return Err(HostError::Ipv6Disabled {
                    interface: name.to_owned(),
                    ip: *ip,
                });
            }
        }
        let group = solicited_node_group(v6);
        if !groups.contains(&group) {
            groups.push(group);
        }
    }

    let on_loopback = netlink.local_addresses(Some(loopback.index)).await?;
    let (present, missing_vips): (Vec<IpAddr>, Vec<IpAddr>) =
        vips.into_iter().partition(|ip| on_loopback.contains(ip));
    for ip in present {
        tracing::info!(%ip, "VIP already on {LOOPBACK}, it will not be removed on cleanup");
    }

    let sysctls = if config.vips.iter().any(IpAddr::is_ipv4) {
        plan_arp_sysctls(&config.interface)?
    } else {
        Vec::new()
    };

    Ok(Plan {
        interface,
        loopback_index: loopback.index,
        sysctls,
        groups,
        missing_vips,
    })
}
