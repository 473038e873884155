//! Prometheus metrics of the peer election.
use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// From a LAN round trip to a loaded node's scheduling delay.
const RTT_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
];

/// Why a datagram on the peer port was ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Not our format, or a truncated/invalid body.
    Malformed,
    /// Another protocol version.
    Version,
    /// Signed for another cluster (another key).
    ForeignCluster,
    /// The HMAC does not verify: forged or corrupted.
    BadMac,
    Replayed,
    OutsideWindow,
    /// The claimed sender is not the datagram's source address.
    SourceMismatch,
    /// An authenticated message of a kind this version does not know.
    UnknownKind,
}

impl Rejection {
    pub const ALL: [Rejection; 8] = [
        Self::Malformed,
        Self::Version,
        Self::ForeignCluster,
        Self::BadMac,
        Self::Replayed,
        Self::OutsideWindow,
        Self::SourceMismatch,
        Self::UnknownKind,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::Version => "version",
            Self::ForeignCluster => "foreign_cluster",
            Self::BadMac => "bad_mac",
            Self::Replayed => "replayed",
            Self::OutsideWindow => "outside_window",
            Self::SourceMismatch => "source_mismatch",
            Self::UnknownKind => "unknown_kind",
        }
    }
}

#[derive(Clone)]
pub struct PeerMetrics {
    /// Peers heard within the dead interval (this node not included).
    pub peers_alive: IntGauge,
    /// Members of the election, this node included.
    pub peers_configured: IntGauge,
    pub term: IntGauge,
    pub heartbeat_rtt_seconds: Histogram,
    pub heartbeats_sent_total: IntCounter,
    pub heartbeats_received_total: IntCounter,
    rejected_total: IntCounterVec,
    leader_changes_total: IntCounterVec,
    /// Times this node stopped announcing because it lost its majority.
    pub majority_lost_total: IntCounter,
}

impl PeerMetrics {
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let metrics = Self {
            peers_alive: IntGauge::with_opts(Opts::new(
                "vip_peers_alive",
                "Peers heard from within the dead interval, this node not included",
            ))?,
            peers_configured: IntGauge::with_opts(Opts::new(
                "vip_peers_members",
                "Members of the peer election, this node included",
            ))?,
            term: IntGauge::with_opts(Opts::new(
                "vip_peer_term",
                "Election term this node follows or leads",
            ))?,
            heartbeat_rtt_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "vip_peer_heartbeat_rtt_seconds",
                    "Round-trip time of peer heartbeats",
                )
                .buckets(RTT_BUCKETS.to_vec()),
            )?,
            heartbeats_sent_total: IntCounter::with_opts(Opts::new(
                "vip_peer_heartbeats_sent_total",
                "Heartbeats sent to peers",
            ))?,
            heartbeats_received_total: IntCounter::with_opts(Opts::new(
                "vip_peer_heartbeats_received_total",
                "Valid heartbeats received from peers",
            ))?,
            rejected_total: IntCounterVec::new(
                Opts::new(
                    "vip_peer_heartbeats_rejected_total",
                    "Datagrams on the peer port that were ignored, by reason",
                ),
                &["reason"],
            )?,
            leader_changes_total: IntCounterVec::new(
                Opts::new(
                    "vip_peer_takeovers_total",
                    "Changes of the leader this node follows, by cause (bootstrap, crash, resign, partition)",
                ),
                &["cause"],
            )?,
            majority_lost_total: IntCounter::with_opts(Opts::new(
                "vip_peer_majority_lost_total",
                "Times this node, leading, stopped announcing because it no longer saw a majority",
            ))?,
        };
        for reason in Rejection::ALL {
            metrics.rejected_total.with_label_values(&[reason.label()]);
        }
        registry.register(Box::new(metrics.peers_alive.clone()))?;
        registry.register(Box::new(metrics.peers_configured.clone()))?;
        registry.register(Box::new(metrics.term.clone()))?;
        registry.register(Box::new(metrics.heartbeat_rtt_seconds.clone()))?;
        registry.register(Box::new(metrics.heartbeats_sent_total.clone()))?;
        registry.register(Box::new(metrics.heartbeats_received_total.clone()))?;
        registry.register(Box::new(metrics.rejected_total.clone()))?;
        registry.register(Box::new(metrics.leader_changes_total.clone()))?;
        registry.register(Box::new(metrics.majority_lost_total.clone()))?;
        Ok(metrics)
    }

    pub fn reject(&self, reason: Rejection) {
        self.rejected_total
            .with_label_values(&[reason.label()])
            .inc();
    }

    pub fn rejected(&self, reason: Rejection) -> u64 {
        self.rejected_total
            .with_label_values(&[reason.label()])
            .get()
    }

    pub fn leader_changed(&self, cause: &str) {
        self.leader_changes_total.with_label_values(&[cause]).inc();
    }
}
