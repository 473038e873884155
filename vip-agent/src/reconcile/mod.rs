//! The one pure function between what the agent observes and what the maps hold:
//! (leadership, backend health and addresses, configuration) in, `DesiredState` out.
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use vip_common::{
    backend_tag, Backend, IpKey, ServiceKey, Settings, ANNOUNCE_ON, BACKEND_ACTIVE, BACKEND_LOCAL,
    MAX_BOND_SLAVES, PROTO_TCP,
};

use crate::{dataplane::DesiredState, maglev};

/// New-pin guard: each CPU may pin 20 000 new flows a second with bursts of 4096, so a
/// flood of packets that miss the table churns at most that many pins while established
/// flows keep theirs; after a failover the survivors re-pin within the burst.
pub const PIN_INTERVAL_NS: u64 = 50_000;
pub const PIN_BURST: u32 = 4096;
/// UDP pins idle this long are decided again (Linux conntrack's UDP timeout).
pub const UDP_IDLE_NS: u64 = 30_000_000_000;

/// What does not change while the agent runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeConfig {
    pub vips: Vec<IpAddr>,
    pub service_ports: Vec<u16>,
    pub ring_size: u32,
    pub hash_seed: u32,
    pub ifindex: u32,
    /// Bond slaves of `ifindex` (empty unless it is a bond).
    pub bond_slaves: Vec<u32>,
    pub mac: [u8; 6],
}

/// One API server as the agent knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackendView {
    /// Stable slot in the BACKENDS map (see `BackendIds`).
    pub id: u32,
    /// Resolved MAC; `None` until neighbour resolution succeeds.
    pub mac: Option<[u8; 6]>,
    /// This node's own API server.
    pub local: bool,
    pub healthy: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    pub is_leader: bool,
    /// CLOCK_MONOTONIC ns after which the XDP program stops answering ARP/NDP.
    pub announce_deadline_ns: u64,
    pub backends: BTreeMap<IpAddr, BackendView>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReconcileError {
    #[error("Maglev table: {0}")]
    Maglev(#[from] maglev::MaglevError),
}

pub fn ip_key(ip: IpAddr) -> IpKey {
    match ip {
        IpAddr::V4(v4) => IpKey::from_v4(v4.octets()),
        IpAddr::V6(v6) => IpKey::from_v6(v6.octets()),
    }
}

/// Whether a backend may take new flows: healthy and reachable (local, or MAC known).
fn usable(b: &BackendView) -> bool {
    b.healthy && (b.local || b.mac.is_some())
}

pub fn desired_state(
    config: &NodeConfig,
    observed: &Observed,
) -> Result<DesiredState, ReconcileError> {
    let mut bond_slaves = [0; MAX_BOND_SLAVES];
    for (slot, &slave) in bond_slaves.iter_mut().zip(&config.bond_slaves) {
        *slot = slave;
    }
    let settings = Settings {
        announce_deadline_ns: observed.announce_deadline_ns,
        ifindex: config.ifindex,
        announcing: if observed.is_leader { ANNOUNCE_ON } else { 0 },
        hash_seed: config.hash_seed,
        ring_size: config.ring_size,
        mac: config.mac,
        pin_interval_ns: PIN_INTERVAL_NS,
        pin_burst: PIN_BURST,
        udp_idle_ns: UDP_IDLE_NS,
        bond_slaves,
        ..Default::default()
    };
    let mut backends = BTreeMap::new();
    let mut peer_macs = BTreeSet::new();
    let mut members = Vec::new();
    for (&ip, view) in &observed.backends {
        let mut flags = 0;
        if usable(view) {
            flags |= BACKEND_ACTIVE;
            members.push(maglev::Backend {
                key: ip,
                id: view.id,
            });
        }
        let mac = if view.local {
            flags |= BACKEND_LOCAL;
            config.mac
        } else {
            view.mac.unwrap_or_default()
        };
        if let (false, Some(mac)) = (view.local, view.mac) {
            peer_macs.insert(mac);
        }
        backends.insert(
            view.id,
            Backend {
                addr: ip_key(ip),
                mac,
                flags,
                tag: backend_tag(&ip_key(ip)),
                _pad: 0,
            },
        );
    }
    // Every node builds the identical ring from the same healthy set: failover keeps flows.
    let table = maglev::build(&members, config.ring_size, config.hash_seed)?;
    let services = config
        .vips
        .iter()
        .flat_map(|&vip| config.service_ports.iter().map(move |&port| (vip, port)))
        .map(|(vip, port)| {
            (
                ServiceKey {
                    vip: ip_key(vip),
                    port,
                    proto: PROTO_TCP,
                    _pad: 0,
                },
                table.clone(),
            )
        })
        .collect();
    Ok(DesiredState {
        settings,
        vips: config.vips.iter().map(|&v| ip_key(v)).collect(),
        services,
        backends,
        peer_macs,
    })
}

/// Whether the VIPs belong on `lo`: always while leading (the leader answers ARP for
/// them, so without the VIP on `lo` its own traffic to the VIP and every reply it
/// sends from the VIP would fail); otherwise while this node's API server is healthy
/// (it serves VIP traffic), or while no other API server is (bootstrap: `kubeadm init`
/// reaches its own API server through the VIP). Otherwise local clients of the VIP,
/// such as the kubelet of a joining node whose API server is not up yet, go to the
/// cluster.
pub fn loopback_vips_wanted(observed: &Observed) -> bool {
    let local_healthy = observed.backends.values().any(|b| b.local && b.healthy);
    let remote_usable = observed.backends.values().any(|b| !b.local && usable(b));
    observed.is_leader || local_healthy || !remote_usable
}

/// Stable backend ids: an address keeps its id while the agent runs, so flow-table entries
/// keep pointing at the same server; freed ids are reused lowest first.
#[derive(Clone, Debug, Default)]
pub struct BackendIds {
    ids: BTreeMap<IpAddr, u32>,
}

impl BackendIds {
    /// Starts from the ids an adopted data plane already uses.
    pub fn seeded(ids: BTreeMap<IpAddr, u32>) -> Self {
        Self { ids }
    }

    /// Ids for `addresses`; addresses no longer listed release theirs.
    pub fn assign(&mut self, addresses: &BTreeSet<IpAddr>) -> BTreeMap<IpAddr, u32> {
        self.ids.retain(|ip, _| addresses.contains(ip));
        for ip in addresses {
            if !self.ids.contains_key(ip) {
                let used: BTreeSet<u32> = self.ids.values().copied().collect();
                let free = (0..)
                    .find(|id| !used.contains(id))
                    .expect("fewer than u32::MAX backends");
                self.ids.insert(*ip, free);
            }
        }
        self.ids.clone()
    }
}

#[cfg(test)]
mod tests;
