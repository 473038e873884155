//! Peer election: the control-plane nodes elect the VIP's leader among themselves with
//! authenticated UDP heartbeats, without the Kubernetes API (which sits behind the VIP).
//!
//! - `wire`: the versioned datagram format (message kinds, cluster id, HMAC tag)
//! - `auth`: the key, derived from the cluster CA key or `--peer-key-file`
//! - `replay`: boot id + sequence + time window per sender
//! - `membership`: who takes part (backends, remembered, learned from heartbeats)
//! - `decision`: the pure election rule
//! - `runner`: the task that sends, receives and decides
//! - `lease_mirror`: the Lease written by the leader for `kubectl get lease`
//! - `status`, `metrics`: what operators see
pub mod auth;
pub mod decision;
pub mod lease_mirror;
pub mod membership;
pub mod metrics;
pub mod receive;
pub mod replay;
pub mod runner;
pub mod status;
pub mod wire;

#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::time::Duration;

pub use auth::{KeySource, PeerKey};
pub use runner::{PeerElector, PeerOutputs};

/// UDP port of the heartbeats unless `--peer-port` says otherwise.
pub const DEFAULT_PORT: u16 = 6464;

#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error(transparent)]
    Key(#[from] auth::AuthError),
    #[error("binding the peer socket on {address}:{port}: {source}")]
    Bind {
        address: IpAddr,
        port: u16,
        source: std::io::Error,
    },
    #[error("registering peer metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error(
        "cannot tell this node's address for the peer election: interface {interface} has none \
         usable; set --peer-address"
    )]
    NoOwnAddress { interface: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerSettings {
    pub port: u16,
    pub interval: Duration,
    /// A peer is dead after this many intervals without a valid heartbeat.
    pub dead_after_intervals: u32,
    /// Port of the API servers, for the connect probe of a silent peer.
    pub backend_port: u16,
}

impl PeerSettings {
    pub fn dead_after(&self) -> Duration {
        self.interval * self.dead_after_intervals
    }
}

/// This node's address in the election: the configured one, else the interface address
/// that is also a backend, else the interface's first IPv4 address, else its first
/// global IPv6 address.
pub fn own_address(
    configured: Option<IpAddr>,
    interface_addresses: &[IpAddr],
    backends: &[IpAddr],
) -> Option<IpAddr> {
    if configured.is_some() {
        return configured;
    }
    let usable = |a: &&IpAddr| match a {
        IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_link_local(),
        IpAddr::V6(v6) => !v6.is_loopback() && !v6.is_unicast_link_local(),
    };
    let mut candidates = interface_addresses.iter().filter(usable);
    interface_addresses
        .iter()
        .find(|a| backends.contains(*a))
        .or_else(|| candidates.clone().find(|a| a.is_ipv4()))
        .or_else(|| candidates.next())
        .copied()
}
