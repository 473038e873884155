//! `vip-lab`: network-namespace labs for vip-agent — a bridge, control-plane node
//! namespaces running vip-agent and an API-server stand-in, a client namespace and the
//! Lease test server — plus the probes that measure what a client sees.
//!
//! Everything a lab creates is recorded in [`Resources`] as it is created and removed
//! again by a Drop guard, by the Ctrl-C handler ([`cleanup::install_signal_cleanup`]) or,
//! for a lab left running by `vip-lab up`, by `vip-lab down` from the state file.
pub mod anchor;
pub mod apiserver;
pub mod arp;
mod binaries;
pub mod cleanup;
pub mod cmd;
pub mod datapath;
mod error;
pub mod failover;
pub mod http;
pub mod lab;
pub mod netns;
pub mod probe;
pub mod process;
pub mod report;
pub mod stats;
pub mod topology;

pub use cleanup::Resources;
pub use error::LabError;
pub use lab::{Binaries, Lab, LabConfig};
pub use topology::{Topology, TopologySpec};

use std::net::{Ipv4Addr, Ipv6Addr};

/// The VIP every lab announces.
pub const VIP4: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 100);
pub const VIP6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 0x100);
/// Address of the client namespace.
pub const CLIENT4: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 50);
pub const CLIENT6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 0x50);
/// Address of the bridge namespace on the bridge (the Lease test server listens there).
pub const BRIDGE4: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 254);
pub const BRIDGE6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 0x254);
/// Port of the API-server stand-ins and of the VIP service.
pub const API_PORT: u16 = 6443;
/// Port of the Lease test server on [`BRIDGE4`].
pub const LEASE_PORT: u16 = 7443;
/// Port of each agent's metrics endpoint on its node address.
pub const METRICS_PORT: u16 = 2112;
/// Where labs keep their files (kubeconfig, logs, unready flags, bpffs mount).
pub const RUN_DIR: &str = "/run/vip-lab";

/// IPv4 address of node `index` (0-based): 10.77.0.1, .2, …
pub fn node4(index: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 77, 0, 1 + index as u8)
}

/// IPv6 address of node `index` (0-based): fd77::1, ::2, …
pub fn node6(index: usize) -> Ipv6Addr {
    Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 1 + index as u16)
}

/// Name of node `index` (0-based): n1, n2, …
pub fn node_name(index: usize) -> String {
    format!("n{}", index + 1)
}
