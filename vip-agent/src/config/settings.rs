//! Names and defaults of every user-facing setting: the single source for the clap
//! definitions, the kube-vip alias table and the error messages.

use std::fmt;

/// One setting: its long flag (without `--`) and its environment variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Setting {
    pub long: &'static str,
    pub env: &'static str,
}

/// Shows `--flag (VIP_FLAG, kube-vip alias…)` so every message names all ways to set it.
impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "--{} ({}", self.long, self.env)?;
        let aliases = super::kube_vip_env::aliases_of(self.env);
        if !aliases.is_empty() {
            write!(f, ", kube-vip {}", aliases.join("/"))?;
        }
        f.write_str(")")
    }
}

const fn setting(long: &'static str, env: &'static str) -> Setting {
    Setting { long, env }
}

pub const INTERFACE: Setting = setting("interface", "VIP_INTERFACE");
pub const ADDRESS: Setting = setting("address", "VIP_ADDRESS");
pub const PORT: Setting = setting("port", "VIP_PORT");
pub const BACKENDS: Setting = setting("backends", "VIP_BACKENDS");
pub const DISCOVER_BACKENDS: Setting = setting("discover-backends", "VIP_DISCOVER_BACKENDS");
pub const BACKEND_PORT: Setting = setting("backend-port", "VIP_BACKEND_PORT");
pub const ELECTION: Setting = setting("election", "VIP_ELECTION");
pub const PEER_PORT: Setting = setting("peer-port", "VIP_PEER_PORT");
pub const PEER_INTERVAL: Setting = setting("peer-interval", "VIP_PEER_INTERVAL");
pub const PEER_DEAD_AFTER: Setting = setting("peer-dead-after", "VIP_PEER_DEAD_AFTER");
pub const PEER_KEY_FILE: Setting = setting("peer-key-file", "VIP_PEER_KEY_FILE");
pub const PEER_INSECURE: Setting = setting("peer-insecure", "VIP_PEER_INSECURE");
pub const PEER_ADDRESS: Setting = setting("peer-address", "VIP_PEER_ADDRESS");
pub const LEASE_NAME: Setting = setting("lease-name", "VIP_LEASE_NAME");
pub const LEASE_NAMESPACE: Setting = setting("lease-namespace", "VIP_LEASE_NAMESPACE");
pub const LEASE_DURATION: Setting = setting("lease-duration", "VIP_LEASE_DURATION");
pub const RENEW_DEADLINE: Setting = setting("renew-deadline", "VIP_RENEW_DEADLINE");
pub const RETRY_PERIOD: Setting = setting("retry-period", "VIP_RETRY_PERIOD");
pub const LEASE_TAKE_OVER_FOREIGN: Setting =
    setting("lease-take-over-foreign", "VIP_LEASE_TAKE_OVER_FOREIGN");
pub const KUBECONFIG: Setting = setting("kubeconfig", "VIP_KUBECONFIG");
pub const NODE_NAME: Setting = setting("node-name", "VIP_NODE_NAME");
pub const METRICS_ADDR: Setting = setting("metrics-addr", "VIP_METRICS_ADDR");
pub const XDP_MODE: Setting = setting("xdp-mode", "VIP_XDP_MODE");
pub const HEALTH_PATH: Setting = setting("health-path", "VIP_HEALTH_PATH");
pub const HEALTH_CA_FILE: Setting = setting("health-ca-file", "VIP_HEALTH_CA_FILE");
pub const HEALTH_INSECURE: Setting = setting("health-insecure", "VIP_HEALTH_INSECURE");
pub const HEALTH_TIMEOUT: Setting = setting("health-timeout", "VIP_HEALTH_TIMEOUT");
pub const HEALTH_INTERVAL: Setting = setting("health-interval", "VIP_HEALTH_INTERVAL");
pub const HEALTH_RISE: Setting = setting("health-rise", "VIP_HEALTH_RISE");
pub const HEALTH_FALL: Setting = setting("health-fall", "VIP_HEALTH_FALL");
pub const MAGLEV_SIZE: Setting = setting("maglev-size", "VIP_MAGLEV_SIZE");
pub const HASH_SEED: Setting = setting("hash-seed", "VIP_HASH_SEED");
pub const BPFFS_DIR: Setting = setting("bpffs-dir", "VIP_BPFFS_DIR");
pub const KEEP_FORWARDING_ON_EXIT: Setting =
    setting("keep-forwarding-on-exit", "VIP_KEEP_FORWARDING_ON_EXIT");
pub const GARP_INTERVAL: Setting = setting("garp-interval", "VIP_GARP_INTERVAL");
pub const LOG_FORMAT: Setting = setting("log-format", "VIP_LOG_FORMAT");
pub const LOG_LEVEL: Setting = setting("log-level", "VIP_LOG_LEVEL");
pub const STATUS_FORMAT: Setting = setting("format", "VIP_FORMAT");
pub const MANIFEST_IMAGE: Setting = setting("image", "VIP_IMAGE");
pub const MANIFEST_NAMESPACE: Setting = setting("namespace", "VIP_NAMESPACE");

/// Port of the Kubernetes API server, served on the VIP and reached on the backends.
pub const DEFAULT_API_SERVER_PORT: &str = "6443";
/// UDP port of the peer heartbeats (see docs/peer-election.md for the firewall rule).
pub const DEFAULT_PEER_PORT: &str = "6464";
/// A crash is noticed after 3 × 50 ms; a heartbeat is ~150 bytes, so 20 per second per
/// peer is negligible traffic.
pub const DEFAULT_PEER_INTERVAL: &str = "50ms";
pub const DEFAULT_PEER_DEAD_AFTER: &str = "3";
/// Shortest heartbeat interval: below this, scheduling noise on a loaded node would
/// declare live peers dead.
pub const PEER_INTERVAL_MIN_MS: u64 = 10;
/// Deliberately not kube-vip's `plndr-cp-lock`, so the two never share a Lease by
/// accident; a kube-vip manifest that sets `vip_leasename` keeps its own name.
pub const DEFAULT_LEASE_NAME: &str = "vip-agent-lock";
pub const DEFAULT_LEASE_NAMESPACE: &str = "kube-system";
/// client-go's recommended 15s/10s/2s are tuned for controllers; a VIP wants the faster
/// failover kube-vip uses (5s/3s/1s), which still satisfies client-go's ordering rules.
pub const DEFAULT_LEASE_DURATION: &str = "5s";
pub const DEFAULT_RENEW_DEADLINE: &str = "3s";
pub const DEFAULT_RETRY_PERIOD: &str = "1s";
/// Same port as kube-vip's `prometheus_server` default (`:2112`), on all IPv4 addresses.
pub const DEFAULT_METRICS_ADDR: &str = "0.0.0.0:2112";
pub const DEFAULT_HEALTH_PATH: &str = "/readyz";
pub const DEFAULT_HEALTH_TIMEOUT: &str = "1s";
pub const DEFAULT_HEALTH_INTERVAL: &str = "2s";
pub const DEFAULT_HEALTH_RISE: &str = "2";
pub const DEFAULT_HEALTH_FALL: &str = "3";
/// Maglev table size M: prime, about 256 × the largest backend count.
pub const DEFAULT_MAGLEV_SIZE: &str = "65537";
/// Must be equal on every node so a failover keeps each flow on the same backend.
pub const DEFAULT_HASH_SEED: &str = "0";
pub const DEFAULT_BPFFS_DIR: &str = "/sys/fs/bpf/vip-agent";
pub const DEFAULT_GARP_INTERVAL: &str = "10s";
pub const DEFAULT_MANIFEST_NAMESPACE: &str = "kube-system";

/// Label selecting the nodes whose InternalIP become backends with `--discover-backends`.
pub const CONTROL_PLANE_NODE_LABEL: &str = "node-role.kubernetes.io/control-plane";
