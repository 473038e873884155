//! Host side of L2 direct server return (DSR).
//!
//! With DSR the load balancer only rewrites the destination MAC of a frame
//! addressed to the VIP; the backend must accept that frame and answer the
//! client directly with the VIP as source. For that every node:
//!
//! * carries each VIP on `lo` (/32 or /128) so the kernel treats it as local,
//! * must not answer ARP for the VIP itself (`arp_ignore`) nor leak the VIP as
//!   the sender of its own ARP requests (`arp_announce`); only the XDP program
//!   of the current leader answers ARP/NDP for the VIP,
//! * listens on the solicited-node multicast group of each IPv6 VIP on the
//!   announcing interface so the NIC's multicast filter lets the Neighbour
//!   Solicitations through to XDP.
//!
//! [`HostSetup`] applies all of this and records each change so
//! [`HostSetup::cleanup`] undoes exactly what was done. [`resolve_mac`] finds
//! a backend's MAC address for the data plane and [`is_local_address`] lets the
//! agent recognise the local node among the backends.

pub mod bond;
mod multicast;
mod neighbour;
mod netlink;
mod record;
mod setup;
mod sysctl;
mod validate;

#[cfg(test)]
mod tests;

use std::{
    io,
    net::{IpAddr, Ipv6Addr},
    path::PathBuf,
    time::Duration,
};

pub use multicast::solicited_node_group;
pub use neighbour::resolve_mac;
pub use netlink::{is_local_address, InterfaceInfo, Netlink};
pub use record::HostRecord;
pub use setup::{HostConfig, HostSetup};

/// Errors of the host setup; every variant names the object it failed on.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("network interface {name:?} does not exist")]
    InterfaceNotFound { name: String },

    #[error("invalid network interface name {name:?}: {reason}")]
    InvalidInterfaceName { name: String, reason: &'static str },

    #[error("network interface {name:?} has no Ethernet (6-byte) hardware address")]
    NoEthernetAddress { name: String },

    #[error("{ip} cannot be used as a virtual IP: {reason}")]
    InvalidVip { ip: IpAddr, reason: &'static str },

    #[error("IPv6 is disabled on interface {interface:?}, needed for VIP {ip}")]
    Ipv6Disabled { interface: String, ip: IpAddr },

    #[error("cannot open a netlink connection")]
    NetlinkConnect {
        #[source]
        source: io::Error,
    },

    #[error("netlink request failed: {operation}")]
    Netlink {
        operation: &'static str,
        #[source]
        source: rtnetlink::Error,
    },

    #[error("cannot add address {ip}/{prefix_len} to interface index {ifindex}")]
    AddAddress {
        ip: IpAddr,
        prefix_len: u8,
        ifindex: u32,
        #[source]
        source: rtnetlink::Error,
    },

    #[error("cannot remove address {ip}/{prefix_len} from interface index {ifindex}")]
    RemoveAddress {
        ip: IpAddr,
        prefix_len: u8,
        ifindex: u32,
        #[source]
        source: rtnetlink::Error,
    },

    #[error("writing the host record {}: {source}", path.display())]
    RecordWrite { path: PathBuf, source: io::Error },

    #[error("cannot read sysctl {}", path.display())]
    SysctlRead {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("sysctl {} holds {content:?}, not an integer", path.display())]
    SysctlParse { path: PathBuf, content: String },

    #[error("cannot write {value} to sysctl {}", path.display())]
    SysctlWrite {
        path: PathBuf,
        value: i64,
        #[source]
        source: io::Error,
    },

    #[error("cannot join multicast group {group} on interface index {ifindex}")]
    MulticastJoin {
        group: Ipv6Addr,
        ifindex: u32,
        #[source]
        source: io::Error,
    },

    #[error("cannot send a datagram to {ip} to trigger neighbour resolution")]
    NeighbourTrigger {
        ip: IpAddr,
        #[source]
        source: io::Error,
    },

    #[error("{ip} is an address of this node, it has no neighbour entry")]
    AddressIsLocal { ip: IpAddr },

    #[error("no MAC address for {ip} on interface index {ifindex} within {timeout:?}")]
    NeighbourTimeout {
        ip: IpAddr,
        ifindex: u32,
        timeout: Duration,
    },

    #[error("cleanup left {} change(s) in place: {}", failures.len(), join_errors(failures))]
    CleanupIncomplete { failures: Vec<HostError> },
}

fn join_errors(errors: &[HostError]) -> String {
    errors
        .iter()
        .map(|error| {
            let mut text = error.to_string();
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            text
        })
        .collect::<Vec<_>>()
        .join("; ")
}
