//! The command line as clap parses it. Values that need checks naming the setting
//! (addresses, ports, durations, numbers) stay text here and are typed by `validate`.

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};

use super::settings::{self as s};

/// eBPF/XDP virtual IP and load balancer for Kubernetes control planes.
#[derive(Debug, Clone, PartialEq, Eq, Parser)]
#[command(name = "vip-agent", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: CliCommand,
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum CliCommand {
    /// Announce the VIPs and balance their traffic across the control-plane nodes.
    Run(RunArgs),
    /// Show the state the running agent left in the pinned BPF maps.
    Status(StatusArgs),
    /// Print Kubernetes manifests that run vip-agent with the given settings.
    Manifest(ManifestArgs),
    /// Remove what an agent left on this node (after --keep-forwarding-on-exit or a
    /// crash): detach XDP, unpin the maps, take the VIPs off lo, restore the sysctls.
    Cleanup(CleanupArgs),
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct CleanupArgs {
    /// Directory where the agent pinned its maps.
    #[arg(long = s::BPFFS_DIR.long, env = s::BPFFS_DIR.env, value_name = "DIR",
          default_value = s::DEFAULT_BPFFS_DIR)]
    pub bpffs_dir: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct RunArgs {
    /// Interface that carries the VIPs and answers ARP/NDP for them.
    #[arg(long = s::INTERFACE.long, env = s::INTERFACE.env, value_name = "IFACE")]
    pub interface: Option<String>,

    /// Virtual IPs (IPv4 and/or IPv6); repeatable or comma-separated.
    #[arg(long = s::ADDRESS.long, env = s::ADDRESS.env, value_name = "IP", value_delimiter = ',')]
    pub address: Vec<String>,

    /// Service ports served on every VIP; repeatable or comma-separated.
    #[arg(long = s::PORT.long, env = s::PORT.env, value_name = "PORT", value_delimiter = ',',
          default_value = s::DEFAULT_API_SERVER_PORT)]
    pub port: Vec<String>,

    /// Static backend IPs; comma-separated. Exclusive with --discover-backends.
    #[arg(long = s::BACKENDS.long, env = s::BACKENDS.env, value_name = "IP", value_delimiter = ',')]
    pub backends: Vec<String>,

    /// Use the InternalIP of every node labelled node-role.kubernetes.io/control-plane.
    #[arg(long = s::DISCOVER_BACKENDS.long, env = s::DISCOVER_BACKENDS.env,
          value_parser = BoolishValueParser::new())]
    pub discover_backends: bool,

    /// Port the backends' API servers listen on.
    #[arg(long = s::BACKEND_PORT.long, env = s::BACKEND_PORT.env, value_name = "PORT",
          default_value = s::DEFAULT_API_SERVER_PORT)]
    pub backend_port: String,

    /// Leader election: among the peers directly (authenticated UDP heartbeats; the Lease
    /// only mirrors the leader), through a Kubernetes Lease (kube-vip's way), or none
    /// (every node announces; tests only).
    #[arg(long = s::ELECTION.long, env = s::ELECTION.env, value_enum, default_value_t = ElectionMode::Peers)]
    pub election: ElectionMode,

    #[command(flatten)]
    pub peers: PeerArgs,

    /// Name of the Lease used for leader election.
    #[arg(long = s::LEASE_NAME.long, env = s::LEASE_NAME.env, value_name = "NAME",
          default_value = s::DEFAULT_LEASE_NAME)]
    pub lease_name: String,

    /// Namespace of the Lease.
    #[arg(long = s::LEASE_NAMESPACE.long, env = s::LEASE_NAMESPACE.env, value_name = "NAMESPACE",
          default_value = s::DEFAULT_LEASE_NAMESPACE)]
    pub lease_namespace: String,

    /// How long a Lease stays valid without renewal (seconds like 5 or 0.5, or 500ms, 5s, 1m).
    #[arg(long = s::LEASE_DURATION.long, env = s::LEASE_DURATION.env, value_name = "DURATION",
          default_value = s::DEFAULT_LEASE_DURATION)]
    pub lease_duration: String,

    /// Time limit of one Lease acquire/renew round. A leader whose renewal the API
    /// refuses (4xx) steps down; while the API cannot be reached (timeouts, connection
    /// errors, 5xx) it keeps the VIPs (fail-static).
    #[arg(long = s::RENEW_DEADLINE.long, env = s::RENEW_DEADLINE.env, value_name = "DURATION",
          default_value = s::DEFAULT_RENEW_DEADLINE)]
    pub renew_deadline: String,

    /// Wait between Lease acquire/renew attempts.
    #[arg(long = s::RETRY_PERIOD.long, env = s::RETRY_PERIOD.env, value_name = "DURATION",
          default_value = s::DEFAULT_RETRY_PERIOD)]
    pub retry_period: String,

    /// Take over an expired Lease record another program wrote (a holder identity
    /// without the "/vip-agent" suffix, such as kube-vip's bare node name).
    #[arg(long = s::LEASE_TAKE_OVER_FOREIGN.long, env = s::LEASE_TAKE_OVER_FOREIGN.env,
          value_parser = BoolishValueParser::new())]
    pub lease_take_over_foreign: bool,

    /// Kubeconfig file; the in-cluster service account is used when absent.
    #[arg(long = s::KUBECONFIG.long, env = s::KUBECONFIG.env, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// Kubernetes node name of this host (Lease holder identity); default: the hostname.
    #[arg(long = s::NODE_NAME.long, env = s::NODE_NAME.env, value_name = "NAME")]
    pub node_name: Option<String>,

    /// Prometheus metrics listen address (":2112" means all IPv4 addresses), or "off".
    #[arg(long = s::METRICS_ADDR.long, env = s::METRICS_ADDR.env, value_name = "ADDR",
          default_value = s::DEFAULT_METRICS_ADDR)]
    pub metrics_addr: String,

    /// XDP attach mode: driver (native), skb (generic), or auto (driver, else skb).
    #[arg(long = s::XDP_MODE.long, env = s::XDP_MODE.env, value_enum, default_value_t = XdpMode::Auto)]
    pub xdp_mode: XdpMode,

    #[command(flatten)]
    pub health: HealthArgs,

    /// Maglev lookup table size per service; must be prime.
    #[arg(long = s::MAGLEV_SIZE.long, env = s::MAGLEV_SIZE.env, value_name = "PRIME",
          default_value = s::DEFAULT_MAGLEV_SIZE)]
    pub maglev_size: String,

    /// Flow hash seed (decimal or 0x-hex); must be the same on every node.
    #[arg(long = s::HASH_SEED.long, env = s::HASH_SEED.env, value_name = "SEED",
          default_value = s::DEFAULT_HASH_SEED)]
    pub hash_seed: String,

    /// Directory in a bpffs mount where the agent pins its maps.
    #[arg(long = s::BPFFS_DIR.long, env = s::BPFFS_DIR.env, value_name = "DIR",
          default_value = s::DEFAULT_BPFFS_DIR)]
    pub bpffs_dir: PathBuf,

    /// Leave the XDP program attached on exit, so forwarding survives an agent restart.
    #[arg(long = s::KEEP_FORWARDING_ON_EXIT.long, env = s::KEEP_FORWARDING_ON_EXIT.env,
          value_parser = BoolishValueParser::new())]
    pub keep_forwarding_on_exit: bool,

    /// Period of the gratuitous ARP / unsolicited NA refresh sent by the leader.
    #[arg(long = s::GARP_INTERVAL.long, env = s::GARP_INTERVAL.env, value_name = "DURATION",
          default_value = s::DEFAULT_GARP_INTERVAL)]
    pub garp_interval: String,

    #[command(flatten)]
    pub log: LogArgs,
}

/// The peer election (`--election peers`).
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct PeerArgs {
    /// UDP port of the peer heartbeats, on every control-plane node.
    #[arg(long = s::PEER_PORT.long, env = s::PEER_PORT.env, value_name = "PORT",
          default_value = s::DEFAULT_PEER_PORT)]
    pub peer_port: String,

    /// Time between heartbeats to each peer.
    #[arg(long = s::PEER_INTERVAL.long, env = s::PEER_INTERVAL.env, value_name = "DURATION",
          default_value = s::DEFAULT_PEER_INTERVAL)]
    pub peer_interval: String,

    /// A peer is dead after this many intervals without a valid heartbeat.
    #[arg(long = s::PEER_DEAD_AFTER.long, env = s::PEER_DEAD_AFTER.env, value_name = "N",
          default_value = s::DEFAULT_PEER_DEAD_AFTER)]
    pub peer_dead_after: String,

    /// Secret that keys the heartbeats' HMAC, the same file on every control-plane node
    /// (default: the cluster CA key of kubeadm, k3s or RKE2).
    #[arg(long = s::PEER_KEY_FILE.long, env = s::PEER_KEY_FILE.env, value_name = "FILE")]
    pub peer_key_file: Option<PathBuf>,

    /// Run the peer election without a secret: anyone on the segment can forge heartbeats.
    #[arg(long = s::PEER_INSECURE.long, env = s::PEER_INSECURE.env,
          value_parser = BoolishValueParser::new())]
    pub peer_insecure: bool,

    /// This node's address in the election (default: its --interface address that is a
    /// backend, else the interface's first address).
    #[arg(long = s::PEER_ADDRESS.long, env = s::PEER_ADDRESS.env, value_name = "IP")]
    pub peer_address: Option<String>,
}

/// Active HTTPS probes of every backend's API server.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct HealthArgs {
    /// HTTP path probed on each backend.
    #[arg(long = s::HEALTH_PATH.long, env = s::HEALTH_PATH.env, value_name = "PATH",
          default_value = s::DEFAULT_HEALTH_PATH)]
    pub health_path: String,

    /// PEM CA bundle that signs the backends' serving certificates (default: cluster CA).
    #[arg(long = s::HEALTH_CA_FILE.long, env = s::HEALTH_CA_FILE.env, value_name = "FILE")]
    pub health_ca_file: Option<PathBuf>,

    /// Do not verify the backends' certificates.
    #[arg(long = s::HEALTH_INSECURE.long, env = s::HEALTH_INSECURE.env,
          value_parser = BoolishValueParser::new())]
    pub health_insecure: bool,

    /// Timeout of one probe; must be shorter than --health-interval.
    #[arg(long = s::HEALTH_TIMEOUT.long, env = s::HEALTH_TIMEOUT.env, value_name = "DURATION",
          default_value = s::DEFAULT_HEALTH_TIMEOUT)]
    pub health_timeout: String,

    /// Time between probes of one backend.
    #[arg(long = s::HEALTH_INTERVAL.long, env = s::HEALTH_INTERVAL.env, value_name = "DURATION",
          default_value = s::DEFAULT_HEALTH_INTERVAL)]
    pub health_interval: String,

    /// Consecutive successes that bring a backend up.
    #[arg(long = s::HEALTH_RISE.long, env = s::HEALTH_RISE.env, value_name = "N",
          default_value = s::DEFAULT_HEALTH_RISE)]
    pub health_rise: String,

    /// Consecutive failures that take a backend down.
    #[arg(long = s::HEALTH_FALL.long, env = s::HEALTH_FALL.env, value_name = "N",
          default_value = s::DEFAULT_HEALTH_FALL)]
    pub health_fall: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct LogArgs {
    /// Log line format.
    #[arg(long = s::LOG_FORMAT.long, env = s::LOG_FORMAT.env, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Most verbose level logged.
    #[arg(long = s::LOG_LEVEL.long, env = s::LOG_LEVEL.env, value_enum, default_value_t = LogLevel::Info)]
    pub log_level: LogLevel,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct StatusArgs {
    /// Directory where the running agent pinned its maps.
    #[arg(long = s::BPFFS_DIR.long, env = s::BPFFS_DIR.env, value_name = "DIR",
          default_value = s::DEFAULT_BPFFS_DIR)]
    pub bpffs_dir: PathBuf,

    /// Output format.
    #[arg(long = s::STATUS_FORMAT.long, env = s::STATUS_FORMAT.env, value_enum,
          default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,

    #[command(flatten)]
    pub log: LogArgs,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ManifestArgs {
    /// Which objects to print.
    #[arg(value_enum)]
    pub kind: ManifestKind,

    /// Container image of vip-agent (needed for daemonset and pod).
    #[arg(long = s::MANIFEST_IMAGE.long, env = s::MANIFEST_IMAGE.env, value_name = "IMAGE")]
    pub image: Option<String>,

    /// Namespace of the generated objects.
    #[arg(long = s::MANIFEST_NAMESPACE.long, env = s::MANIFEST_NAMESPACE.env, value_name = "NAMESPACE",
          default_value = s::DEFAULT_MANIFEST_NAMESPACE)]
    pub namespace: String,

    /// The node a cleanup Job runs on (`manifest cleanup` only).
    #[arg(long = "node", value_name = "NODE")]
    pub node: Option<String>,

    /// Let VIP_* and kube-vip variables of this shell fill in settings. Without it the
    /// manifest depends on the command line only.
    #[arg(long = "from-env")]
    pub from_env: bool,

    /// Let the agent detach XDP and undo its host changes on exit. By default the
    /// manifests keep forwarding across restarts (--keep-forwarding-on-exit).
    #[arg(
        long = "no-keep-forwarding-on-exit",
        conflicts_with = "keep_forwarding_on_exit"
    )]
    pub no_keep_forwarding_on_exit: bool,

    #[command(flatten)]
    pub kube_vip: KubeVipManifestFlags,

    #[command(flatten)]
    pub run: RunArgs,
}

/// `kube-vip manifest pod|daemonset` flags, accepted so that a copied command works.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[command(next_help_heading = "kube-vip flags (accepted for copied kube-vip commands)")]
pub struct KubeVipManifestFlags {
    /// kube-vip's name for --address.
    #[arg(long = "vip", value_name = "IP", value_delimiter = ',')]
    pub vip: Vec<String>,
    /// Accepted; vip-agent always serves the control plane.
    #[arg(long = "controlplane")]
    pub controlplane: bool,
    /// Accepted; ARP (and NDP) is how vip-agent announces.
    #[arg(long = "arp")]
    pub arp: bool,
    /// Accepted; Lease election is the default (--election).
    #[arg(long = "leaderElection")]
    pub leader_election: bool,
    /// Accepted; without --kubeconfig the agent uses its service account.
    #[arg(long = "inCluster")]
    pub in_cluster: bool,
    /// Accepted; the manifests already run on control-plane nodes only.
    #[arg(long = "taint")]
    pub taint: bool,
    /// Refused: vip-agent does not load-balance Services of type LoadBalancer.
    #[arg(long = "services")]
    pub services: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ElectionMode {
    Peers,
    Lease,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum XdpMode {
    Auto,
    Driver,
    Skb,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ManifestKind {
    /// DaemonSet on the control-plane nodes.
    Daemonset,
    /// Static pod for /etc/kubernetes/manifests.
    Pod,
    /// ServiceAccount, ClusterRole and bindings.
    Rbac,
    /// A Job that removes the agent's XDP program, pins and VIP from one node (--node).
    Cleanup,
}
