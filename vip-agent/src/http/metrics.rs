//! The agent's Prometheus metrics.
//!
//! Metrics that mirror eBPF map counters (`vip_backend_packets_total`,
//! `vip_backend_bytes_total`, `vip_xdp_verdicts_total`) are stock
//! `IntCounterVec`s that the agent *sets* from the totals it reads, through
//! [`Metrics::set_backend_traffic`] and [`Metrics::set_xdp_verdict_total`].
//! Setting adds the difference to the previous value, so they keep the
//! `counter` type (and `rate()` works); a total lower than the previous one
//! (the eBPF map was recreated) resets the counter, which Prometheus treats
//! as a counter reset. This needs a single writer per metric: the agent's
//! statistics loop.

use std::net::IpAddr;

use prometheus::core::Collector;
use prometheus::{
    Gauge, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

use super::{HttpError, OpsMetrics};

/// Buckets for probe durations, from a LAN round trip to a slow TLS handshake.
const HEALTH_CHECK_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Every metric the agent exports, registered in one [`Registry`].
#[derive(Clone)]
pub struct Metrics {
    /// 1 while this node holds the VIP.
    pub is_leader: IntGauge,
    pub leader_transitions_total: IntCounter,
    /// Seconds from this node winning the election to its data plane announcing the VIP.
    pub last_failover_seconds: Gauge,
    pub garp_sent_total: IntCounter,
    pub arp_conflicts_total: IntCounter,
    backend_healthy: IntGaugeVec,
    backend_packets_total: IntCounterVec,
    backend_bytes_total: IntCounterVec,
    xdp_verdicts_total: IntCounterVec,
    flow_pin_events_total: IntCounterVec,
    pub reconcile_total: IntCounter,
    pub maglev_rebuilds_total: IntCounter,
    pub health_check_duration_seconds: Histogram,
    /// Build, election, API error and process metrics.
    pub ops: OpsMetrics,
}

impl Metrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, HttpError> {
        let backend = &["backend"];
        let metrics = Self {
            is_leader: IntGauge::with_opts(Opts::new(
                "vip_is_leader",
                "1 if this node currently holds the virtual IP, 0 otherwise",
            ))
            .map_err(create_error("vip_is_leader"))?,
            leader_transitions_total: counter(
                "vip_leader_transitions_total",
                "Number of times this node gained or lost leadership",
            )?,
            last_failover_seconds: Gauge::with_opts(Opts::new(
                "vip_last_failover_seconds",
                "Seconds from this node winning the election to its XDP program answering ARP/NDP for the VIPs (its share of the most recent failover)",
            ))
            .map_err(create_error("vip_last_failover_seconds"))?,
            garp_sent_total: counter(
                "vip_garp_sent_total",
                "Gratuitous ARP packets sent for the virtual IP",
            )?,
            arp_conflicts_total: counter(
                "vip_arp_conflicts_total",
                "ARP or neighbour advertisements from another MAC claiming a virtual IP this node announces",
            )?,
            backend_healthy: IntGaugeVec::new(
                Opts::new(
                    "vip_backend_healthy",
                    "1 if the API server backend passes health checks, 0 otherwise",
                ),
                backend,
            )
            .map_err(create_error("vip_backend_healthy"))?,
            backend_packets_total: counter_vec(
                "vip_backend_packets_total",
                "Packets the data plane forwarded to the backend",
                backend,
            )?,
            backend_bytes_total: counter_vec(
                "vip_backend_bytes_total",
                "Bytes the data plane forwarded to the backend",
                backend,
            )?,
            xdp_verdicts_total: counter_vec(
                "vip_xdp_verdicts_total",
                "XDP program verdicts summed over all CPUs, by reason",
                &["reason"],
            )?,
            flow_pin_events_total: counter_vec(
                "vip_flow_pin_events_total",
                "Flow-table pin events summed over all CPUs: pinned (a miss pinned), refused (the new-pin guard had no token), stale (a pin to a slot now holding another server or none), expired (an idle UDP pin)",
                &["event"],
            )?,
            reconcile_total: counter(
                "vip_reconcile_total",
                "Completed reconciliations of the data plane with the desired state",
            )?,
            maglev_rebuilds_total: counter(
                "vip_maglev_rebuilds_total",
                "Rebuilds of the Maglev lookup table",
            )?,
            health_check_duration_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "vip_health_check_duration_seconds",
                    "Duration of API server health probes, successful or not",
                )
                .buckets(HEALTH_CHECK_BUCKETS.to_vec()),
            )
            .map_err(create_error("vip_health_check_duration_seconds"))?,
            ops: OpsMetrics::new()?,
        };
        metrics.register_all(registry)?;
        Ok(metrics)
    }

    fn register_all(&self, registry: &Registry) -> Result<(), HttpError> {
        let collectors: [Box<dyn Collector>; 13] = [
            Box::new(self.is_leader.clone()),
            Box::new(self.leader_transitions_total.clone()),
            Box::new(self.last_failover_seconds.clone()),
            Box::new(self.garp_sent_total.clone()),
            Box::new(self.arp_conflicts_total.clone()),
            Box::new(self.backend_healthy.clone()),
            Box::new(self.backend_packets_total.clone()),
            Box::new(self.backend_bytes_total.clone()),
            Box::new(self.xdp_verdicts_total.clone()),
            Box::new(self.flow_pin_events_total.clone()),
            Box::new(self.reconcile_total.clone()),
            Box::new(self.maglev_rebuilds_total.clone()),
            Box::new(self.health_check_duration_seconds.clone()),
        ];
        for collector in collectors {
            let name = collector
                .desc()
                .first()
                .map(|desc| desc.fq_name.clone())
                .unwrap_or_default();
            registry
                .register(collector)
                .map_err(|source| HttpError::Metric { name, source })?;
        }
        self.ops.register(registry)
    }

    pub fn set_backend_healthy(&self, backend: IpAddr, healthy: bool) {
        self.backend_healthy
            .with_label_values(&[backend.to_string()])
            .set(i64::from(healthy));
    }

    /// Sets the backend's traffic counters to the totals read from eBPF.
    pub fn set_backend_traffic(&self, backend: IpAddr, packets: u64, bytes: u64) {
        let label = [backend.to_string()];
        set_counter_total(
            &self.backend_packets_total.with_label_values(&label),
            packets,
        );
        set_counter_total(&self.backend_bytes_total.with_label_values(&label), bytes);
    }

    /// Sets the count of one XDP verdict reason to its total over all CPUs.
    pub fn set_xdp_verdict_total(&self, reason: &str, total: u64) {
        set_counter_total(&self.xdp_verdicts_total.with_label_values(&[reason]), total);
    }

    /// Sets the flow-pin event counters to the totals read from eBPF.
    pub fn set_flow_pins(&self, guard: &vip_common::FlowGuard) {
        for (event, total) in [
            ("pinned", guard.pinned),
            ("refused", guard.refused),
            ("stale", guard.stale),
            ("expired", guard.expired),
        ] {
            set_counter_total(
                &self.flow_pin_events_total.with_label_values(&[event]),
                total,
            );
        }
    }

    /// Drops every series of a backend that is no longer configured.
    pub fn remove_backend(&self, backend: IpAddr) {
        let label = [backend.to_string()];
        // A series that was never set has nothing to remove.
        let _ = self.backend_healthy.remove_label_values(&label);
        let _ = self.backend_packets_total.remove_label_values(&label);
        let _ = self.backend_bytes_total.remove_label_values(&label);
    }
}

/// Moves `counter` to `total`, treating a smaller total as a counter reset.
fn set_counter_total(counter: &IntCounter, total: u64) {
    let current = counter.get();
    if total < current {
        counter.reset();
        counter.inc_by(total);
    } else {
        counter.inc_by(total - current);
    }
}

fn create_error(name: &'static str) -> impl Fn(prometheus::Error) -> HttpError {
    move |source| HttpError::Metric {
        name: name.to_owned(),
        source,
    }
}

fn counter(name: &'static str, help: &str) -> Result<IntCounter, HttpError> {
    IntCounter::with_opts(Opts::new(name, help)).map_err(create_error(name))
}

fn counter_vec(
    name: &'static str,
    help: &str,
    labels: &[&str],
) -> Result<IntCounterVec, HttpError> {
    IntCounterVec::new(Opts::new(name, help), labels).map_err(create_error(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_set_from_totals_follow_resets() {
        let registry = Registry::new();
        let metrics = Metrics::register(&registry).expect("metrics register");
        let counter = metrics.xdp_verdicts_total.with_label_values(&["drop"]);
        metrics.set_xdp_verdict_total("drop", 100);
        metrics.set_xdp_verdict_total("drop", 100);
        assert_eq!(counter.get(), 100);
        metrics.set_xdp_verdict_total("drop", 3);
        assert_eq!(counter.get(), 3);
        metrics.set_xdp_verdict_total("drop", 40);
        assert_eq!(counter.get(), 40);
    }

    #[test]
    fn registering_twice_names_the_clashing_metric() {
        let registry = Registry::new();
        Metrics::register(&registry).expect("first registration");
        let error = Metrics::register(&registry).err().expect("names are taken");
        assert!(error.to_string().contains("vip_is_leader"), "{error}");
    }
}
