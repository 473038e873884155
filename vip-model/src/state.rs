//! The map state the model decides against, in plain terms (addresses as `std::net`).
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv6Addr};

use crate::wire::Mac;

/// A configured service: a VIP, a port and an IP protocol number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Service {
    pub vip: IpAddr,
    pub port: u16,
    pub proto: u8,
}

/// The client side of a connection to a service: the flow table's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Flow {
    pub client: IpAddr,
    pub client_port: u16,
    pub service: Service,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackendSlot {
    /// The server in the slot: a pin made for another server is stale.
    pub server: IpAddr,
    pub mac: Mac,
    /// Allocated and healthy: takes flows.
    pub active: bool,
    /// This node: its packets go to the local stack.
    pub local: bool,
}

/// A flow-table entry: the backend slot and the server that was in it when pinned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pin {
    pub backend_id: u32,
    pub server: IpAddr,
    /// A UDP pin not used for longer than the idle timeout (TCP pins never idle out).
    pub idle: bool,
}

/// Ring entry meaning "no backend".
pub const NO_BACKEND: u32 = u32::MAX;
/// Backend ids the program can address.
pub const BACKEND_SLOTS: u32 = 256;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelState {
    /// The agent wrote the settings (a non-zero ring size).
    pub configured: bool,
    /// This node is the leader and announces the VIPs.
    pub announcing: bool,
    /// The agent stopped refreshing the announce deadline and it passed.
    pub deadline_passed: bool,
    /// The frame arrived on the interface the VIPs are announced on (or a slave of it).
    pub on_announce_interface: bool,
    /// The new-pin guard admits a pin now (else a miss is forwarded unpinned).
    pub pin_guard_open: bool,
    pub mac: Mac,
    pub hash_seed: u32,
    /// Maglev table length of every service.
    pub ring_size: u32,
    pub vips: BTreeSet<IpAddr>,
    /// Each service's active Maglev table (`ring_size` backend ids).
    pub services: BTreeMap<Service, Vec<u32>>,
    pub backends: BTreeMap<u32, BackendSlot>,
    /// MACs of the other nodes: frames from them were already balanced.
    pub peer_macs: BTreeSet<Mac>,
    pub flows: BTreeMap<Flow, Pin>,
    /// Known, reported program bugs the model imitates so a run can look past them.
    pub mimic: OpenBugs,
}

/// Program bugs found by the fuzzer and not fixed yet (see docs/fuzzing.md). Each flag
/// makes the model behave like the program in that one respect.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenBugs {
    /// IPv6 addresses of the form `::ffff:a.b.c.d` are taken for the IPv4 address.
    pub ipv4_mapped_vip: bool,
}

impl OpenBugs {
    pub const NAMES: [&'static str; 1] = ["ipv4-mapped-vip"];

    /// Turns on the bug called `name`; false for an unknown name.
    pub fn enable(&mut self, name: &str) -> bool {
        match name {
            "ipv4-mapped-vip" => self.ipv4_mapped_vip = true,
            _ => return false,
        }
        true
    }

    pub fn enabled(&self) -> Vec<&'static str> {
        let flags = [self.ipv4_mapped_vip];
        Self::NAMES
            .iter()
            .zip(flags)
            .filter(|(_, on)| *on)
            .map(|(n, _)| *n)
            .collect()
    }
}

impl ModelState {
    /// An address read from an IPv6 header or NDP target.
    pub fn ipv6_address(&self, bytes: [u8; 16]) -> IpAddr {
        let addr = Ipv6Addr::from(bytes);
        match addr.to_ipv4_mapped() {
            Some(v4) if self.mimic.ipv4_mapped_vip => IpAddr::V4(v4),
            _ => IpAddr::V6(addr),
        }
    }

    pub fn is_vip(&self, addr: IpAddr) -> bool {
        self.vips.contains(&addr)
    }

    /// The slot of `id` when it takes flows.
    pub fn active_backend(&self, id: u32) -> Option<&BackendSlot> {
        self.backends
            .get(&id)
            .filter(|b| b.active && id < BACKEND_SLOTS)
    }
}
