//! What vip-agent does with each environment variable a kube-vip manifest may set.
//! The translation, the `--help` alias hints and docs/kube-vip-env.md all read this table.

use super::settings::{self as s, Setting};

/// One kube-vip variable (or, with a trailing `*`, every variable with that prefix).
#[derive(Debug, Clone, Copy)]
pub struct KubeVipEnvEntry {
    pub variable: &'static str,
    pub rule: Rule,
    /// Explanation for the documentation table.
    pub note: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub enum Rule {
    /// The converted value sets these settings. When several variables set the same
    /// setting, the one listed first in the table wins.
    Map {
        targets: &'static [Setting],
        convert: Convert,
    },
    /// vip-agent has exactly one behaviour here: matching values are accepted silently,
    /// any other value gives `warning`. An accepted value may imply a setting.
    Expect {
        accept: Accept,
        warning: &'static str,
        implies: Option<Implied>,
    },
    /// No equivalent: any non-empty value gives `warning`.
    Unsupported { warning: &'static str },
    /// Read by another component (the Kubernetes client), never a warning.
    PassThrough,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Convert {
    /// The value as is; our own validation checks it.
    Verbatim,
    /// Integer seconds (kube-vip's Lease and health timers).
    Seconds,
    /// Integer milliseconds (kube-vip's `vip_arpRate`).
    Milliseconds,
    /// Boolean: true → `lease`, false → `none`.
    LeaderElection,
    /// kube-vip's numeric log level, logrus (4 info, 5 debug) or slog (0 info, -4 debug).
    LogLevel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// A Go boolean (`strconv.ParseBool`) equal to this.
    Bool(bool),
    /// One of these exact strings.
    OneOf(&'static [&'static str]),
    /// A comma list of host prefix lengths (32 and/or 128).
    HostPrefixLengths,
}

/// A setting an accepted value stands for, unless the user set one of `unless_set`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Implied {
    pub target: Setting,
    pub value: &'static str,
    pub unless_set: &'static [Setting],
}

const fn map(
    variable: &'static str,
    targets: &'static [Setting],
    convert: Convert,
    note: &'static str,
) -> KubeVipEnvEntry {
    KubeVipEnvEntry {
        variable,
        rule: Rule::Map { targets, convert },
        note,
    }
}

const fn expect(
    variable: &'static str,
    accept: Accept,
    warning: &'static str,
    note: &'static str,
) -> KubeVipEnvEntry {
    KubeVipEnvEntry {
        variable,
        rule: Rule::Expect {
            accept,
            warning,
            implies: None,
        },
        note,
    }
}

const fn unsupported(variable: &'static str, warning: &'static str) -> KubeVipEnvEntry {
    KubeVipEnvEntry {
        variable,
        rule: Rule::Unsupported { warning },
        note: "warns when set",
    }
}

const OFF_BY_DEFAULT: &str = "ignored; warns only when `true`";
const NOT_ARP: &str = "only ARP/NDP mode is supported; the VIPs are announced with ARP/NDP";
const NOT_SERVICES: &str =
    "Service load balancers are not handled; only the control-plane VIPs are served";
const NOT_BGP: &str = "BGP is not supported; the VIPs are announced with ARP/NDP";

pub const KUBE_VIP_ENV_TABLE: &[KubeVipEnvEntry] = &[
    map("address", &[s::ADDRESS], Convert::Verbatim, "IP literals only (DNS names are not resolved); comma list allowed"),
    map("vip_address", &[s::ADDRESS], Convert::Verbatim, "deprecated kube-vip name; `address` wins"),
    map("vip_interface", &[s::INTERFACE], Convert::Verbatim, "interface name"),
    map("lb_port", &[s::PORT], Convert::Verbatim, "port served on the VIP; wins over `port` for `--port`"),
    map("port", &[s::PORT, s::BACKEND_PORT], Convert::Verbatim, "served on the VIP and reached on the backends"),
    map("vip_leaderelection", &[s::ELECTION], Convert::LeaderElection, "`true` → `lease`, `false` → `none`"),
    map("vip_leasename", &[s::LEASE_NAME], Convert::Verbatim, "Lease name (kube-vip's default is `plndr-cp-lock`)"),
    map("cp_namespace", &[s::LEASE_NAMESPACE], Convert::Verbatim, "namespace of the Lease"),
    map("vip_leaseduration", &[s::LEASE_DURATION], Convert::Seconds, "integer seconds"),
    map("vip_renewdeadline", &[s::RENEW_DEADLINE], Convert::Seconds, "integer seconds"),
    map("vip_retryperiod", &[s::RETRY_PERIOD], Convert::Seconds, "integer seconds"),
    map("vip_nodename", &[s::NODE_NAME], Convert::Verbatim, "usually `fieldRef: spec.nodeName`"),
    map("k8s_config_file", &[s::KUBECONFIG], Convert::Verbatim, "kubeconfig path"),
    map("prometheus_server", &[s::METRICS_ADDR], Convert::Verbatim, "`:2112` means all IPv4 addresses"),
    map("vip_loglevel", &[s::LOG_LEVEL], Convert::LogLevel, "5 or ≤ -4 → `debug`, 6 → `trace`, other numbers → `info`"),
    map("vip_arpRate", &[s::GARP_INTERVAL], Convert::Milliseconds, "integer milliseconds"),
    map("backend_health_check_interval", &[s::HEALTH_INTERVAL], Convert::Seconds, "integer seconds"),
    map("control_plane_health_check_period_seconds", &[s::HEALTH_INTERVAL], Convert::Seconds, "integer seconds"),
    map("control_plane_health_check_timeout_seconds", &[s::HEALTH_TIMEOUT], Convert::Seconds, "integer seconds"),
    map("control_plane_health_check_failure_threshold", &[s::HEALTH_FALL], Convert::Verbatim, "consecutive failures"),
    map("control_plane_health_check_ca_path", &[s::HEALTH_CA_FILE], Convert::Verbatim, "PEM CA file"),
    KubeVipEnvEntry {
        variable: "cp_enable",
        rule: Rule::Expect {
            accept: Accept::Bool(true),
            warning: "vip-agent only serves the control-plane VIP",
            implies: Some(Implied { target: s::DISCOVER_BACKENDS, value: "true", unless_set: &[s::BACKENDS] }),
        },
        note: "`true` implies `--discover-backends` unless `--backends` is set; `false` warns",
    },
    expect("vip_arp", Accept::Bool(true), NOT_ARP, "`true` is what vip-agent does; `false` warns"),
    expect("bgp_enable", Accept::Bool(false), NOT_BGP, "`true` warns: only ARP/NDP mode"),
    expect("svc_enable", Accept::Bool(false), NOT_SERVICES, "`true` warns: no Service load balancers"),
    expect("svc_election", Accept::Bool(false), NOT_SERVICES, OFF_BY_DEFAULT),
    expect("svc_leasename", Accept::OneOf(&["plndr-svcs-lock"]), NOT_SERVICES, "ignored; warns unless kube-vip's default"),
    expect("lb_enable", Accept::Bool(true), "vip-agent always balances across the backends", "balancing is always on; `false` warns"),
    expect("lb_fwdmethod", Accept::OneOf(&["local"]), "vip-agent forwards in XDP; other IPVS methods do not apply", "`local` accepted; others warn"),
    expect("vip_subnet", Accept::HostPrefixLengths, "VIPs are always host addresses (/32, /128)", "`32`, `128` or `32,128` accepted; others warn"),
    expect("vip_cidr", Accept::HostPrefixLengths, "VIPs are always host addresses (/32, /128)", "older name of `vip_subnet`; same handling"),
    expect("dns_mode", Accept::OneOf(&["first"]), "addresses must be IP literals, so DNS modes do not apply", "`first` accepted; others warn"),
    expect("vip_ddns", Accept::Bool(false), "DHCP/DDNS-allocated VIPs are not supported; --address must be an IP", OFF_BY_DEFAULT),
    expect("enable_node_labeling", Accept::Bool(false), "nodes are not labelled with the leader", OFF_BY_DEFAULT),
    expect("vip_preserve_on_leadership_loss", Accept::Bool(false), "a follower never keeps the VIPs", OFF_BY_DEFAULT),
    expect("vip_singlenode", Accept::Bool(false), "single-node mode does not exist; use --election none", OFF_BY_DEFAULT),
    expect("vip_startleader", Accept::Bool(false), "leadership always comes from the election", OFF_BY_DEFAULT),
    expect("vip_interfaceloglobal", Accept::Bool(false), "VIPs on lo are not supported", OFF_BY_DEFAULT),
    expect("vip_allow_interface_not_up", Accept::Bool(false), "the interface must be up", OFF_BY_DEFAULT),
    expect("vip_loseleadership", Accept::Bool(false), "leadership is only lost through the Lease", OFF_BY_DEFAULT),
    expect("vip_skipdad", Accept::Bool(false), "duplicate address detection is not configurable", OFF_BY_DEFAULT),
    expect("vip_wireguard", Accept::Bool(false), "WireGuard mode is not supported", OFF_BY_DEFAULT),
    expect("vip_routingtable", Accept::Bool(false), "routing-table mode is not supported", OFF_BY_DEFAULT),
    expect("vip_cleanroutingtable", Accept::Bool(false), "routing-table mode is not supported", OFF_BY_DEFAULT),
    expect("cp_detect", Accept::Bool(false), "backends come from --backends or --discover-backends", OFF_BY_DEFAULT),
    expect("disable_service_updates", Accept::Bool(false), NOT_SERVICES, OFF_BY_DEFAULT),
    expect("enable_endpoints", Accept::Bool(false), NOT_SERVICES, OFF_BY_DEFAULT),
    expect("enable_service_security", Accept::Bool(false), NOT_SERVICES, OFF_BY_DEFAULT),
    expect("per_service_election_on_demand", Accept::Bool(false), NOT_SERVICES, OFF_BY_DEFAULT),
    expect("enable_upnp", Accept::Bool(false), "UPnP is not supported", OFF_BY_DEFAULT),
    unsupported("control_plane_health_check_address", "backends are probed at --health-path on --backend-port; the URL is not used"),
    unsupported("svc_namespace", NOT_SERVICES),
    unsupported("vip_servicesinterface", NOT_SERVICES),
    unsupported("vip_leaseannotations", "Lease annotations are not supported"),
    unsupported("vip_loseleadership_timeout_seconds", "leadership is only lost through the Lease"),
    unsupported("vip_routingtableid", "routing-table mode is not supported"),
    unsupported("vip_routingtabletype", "routing-table mode is not supported"),
    unsupported("vip_routingprotocol", "routing-table mode is not supported"),
    unsupported("annotation", "annotation-based configuration is not supported"),
    unsupported("instance_name", "one agent per node; instance names do not apply"),
    unsupported("INSTANCE_NAME", "one agent per node; instance names do not apply"),
    unsupported("kubernetes_addr", "backends come from --backends or --discover-backends"),
    unsupported("mirror_dest_interface", "traffic mirroring is not supported"),
    unsupported("iptables_backend", "vip-agent does not use iptables"),
    unsupported("health_check_port", "kube-vip's own health listener has no equivalent"),
    unsupported("config_file", "configuration comes from flags and environment only"),
    unsupported("debounce_time", NOT_SERVICES),
    unsupported("EGRESS_CLEAN", "egress is not supported"),
    unsupported("egress_*", "egress is not supported"),
    unsupported("bgp_*", NOT_BGP),
    unsupported("mpbgp_*", NOT_BGP),
    unsupported("zebra_*", NOT_BGP),
    unsupported("lb_class_*", NOT_SERVICES),
    unsupported("dhcp_*", "DHCP-allocated VIPs are not supported"),
    KubeVipEnvEntry {
        variable: "KUBERNETES_SERVICE_HOST",
        rule: Rule::PassThrough,
        note: "read by the Kubernetes client (in-cluster config); pointing it at the local API server keeps the election independent of the VIP",
    },
    KubeVipEnvEntry {
        variable: "KUBERNETES_SERVICE_PORT",
        rule: Rule::PassThrough,
        note: "read by the Kubernetes client (in-cluster config)",
    },
];

/// The entry for `variable`: an exact name first, else the longest matching prefix.
pub fn entry_for(variable: &str) -> Option<&'static KubeVipEnvEntry> {
    KUBE_VIP_ENV_TABLE
        .iter()
        .find(|entry| entry.variable == variable)
        .or_else(|| {
            KUBE_VIP_ENV_TABLE
                .iter()
                .filter_map(|entry| {
                    entry
                        .variable
                        .strip_suffix('*')
                        .map(|prefix| (prefix, entry))
                })
                .filter(|(prefix, _)| variable.starts_with(prefix))
                .max_by_key(|(prefix, _)| prefix.len())
                .map(|(_, entry)| entry)
        })
}
