//! The validated settings of `vip-agent run`, typed for the rest of the agent.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

pub use super::cli::{LogFormat, LogLevel, XdpMode};

/// Services (VIP × port) the data plane holds; matches `vip_common::MAX_SERVICES`.
pub const MAX_SERVICES: usize = 16;
/// Backends the data plane holds; matches `vip_common::MAX_BACKENDS`.
pub const MAX_BACKENDS: usize = 256;
/// Smallest Maglev table: larger than any backend count.
pub const MAGLEV_SIZE_MIN: u32 = 257;
/// Largest Maglev table: keeps the ring map (16 services × 2 halves × M × 4 B) ≤ 16 MiB.
pub const MAGLEV_SIZE_MAX: u32 = 131_071;
/// Shortest gratuitous ARP / NA refresh period, so the leader cannot flood the segment.
pub const GARP_INTERVAL_MIN: Duration = Duration::from_millis(100);
/// Bounds of --health-rise and --health-fall.
pub const HEALTH_THRESHOLD_MAX: u32 = 100;
/// client-go's `JitterFactor`: renew-deadline must exceed retry-period by this factor.
pub const CLIENT_GO_JITTER_FACTOR: f64 = 1.2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunConfig {
    pub interface: String,
    /// Distinct VIPs, in the order given.
    pub vips: Vec<IpAddr>,
    /// Distinct ports served on every VIP, in the order given.
    pub service_ports: Vec<u16>,
    /// Port of the backends' API servers; every service port forwards to it.
    pub backend_port: u16,
    pub backends: BackendSource,
    pub election: Election,
    /// None: in-cluster service account.
    pub kubeconfig: Option<PathBuf>,
    pub node_name: String,
    /// None: metrics disabled.
    pub metrics_addr: Option<SocketAddr>,
    pub xdp_mode: XdpMode,
    pub health: HealthCheckConfig,
    /// Prime Maglev table size.
    pub maglev_size: u32,
    pub hash_seed: u32,
    pub bpffs_dir: PathBuf,
    pub keep_forwarding_on_exit: bool,
    pub garp_interval: Duration,
    pub log_format: LogFormat,
    pub log_level: LogLevel,
}

impl RunConfig {
    /// Every (VIP, port) service, VIP-major.
    pub fn services(&self) -> impl Iterator<Item = (IpAddr, u16)> + '_ {
        self.vips
            .iter()
            .flat_map(|&vip| self.service_ports.iter().map(move |&port| (vip, port)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendSource {
    /// Distinct addresses, none of them a VIP.
    Static(Vec<IpAddr>),
    /// InternalIP of the nodes labelled `settings::CONTROL_PLANE_NODE_LABEL`.
    DiscoverControlPlaneNodes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Election {
    /// Among the peers; the Lease named in `mirror` shows the leader.
    Peers(PeerConfig),
    Lease(LeaseConfig),
    /// Every node announces the VIPs.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    pub port: u16,
    pub interval: Duration,
    pub dead_after_intervals: u32,
    pub key: crate::peers::KeySource,
    /// None: chosen from the interface's addresses.
    pub address: Option<IpAddr>,
    /// The Lease the leader writes while the API answers.
    pub mirror: LeaseConfig,
}

/// Satisfies client-go's rules: lease_duration > renew_deadline > 1.2 × retry_period > 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseConfig {
    pub name: String,
    pub namespace: String,
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
    /// Take over expired records another program wrote.
    pub take_over_foreign: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckConfig {
    pub path: String,
    /// None: the health checker's default trust (the cluster CA).
    pub ca_file: Option<PathBuf>,
    pub insecure: bool,
    /// Shorter than `interval`.
    pub timeout: Duration,
    pub interval: Duration,
    pub rise: u32,
    pub fall: u32,
}
