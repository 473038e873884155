//! Metrics an operator migrating from kube-vip looks for first: what is running
//! (`vip_build_info`), how the leader is elected (`vip_election_info`), whether the
//! election holds its role without the API (`vip_fail_static`), API errors by status
//! class, and the process metrics (RSS, CPU, open file descriptors).

use prometheus::core::Collector;
use prometheus::{IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

use super::HttpError;
use crate::build_info::BuildInfo;
use crate::election::{ApiFailure, ElectionObserver};

#[derive(Clone)]
pub struct OpsMetrics {
    build_info: IntGaugeVec,
    election_info: IntGaugeVec,
    fail_static: IntGauge,
    kube_api_errors_total: IntCounterVec,
}

impl OpsMetrics {
    /// Creates the metrics; [`register`](Self::register) adds them to a registry.
    pub(super) fn new() -> Result<Self, HttpError> {
        let info = BuildInfo::current();
        let build_label_names: Vec<&str> = info.labels().iter().map(|(name, _)| *name).collect();
        let metrics = Self {
            build_info: IntGaugeVec::new(
                Opts::new(
                    "vip_build_info",
                    "Always 1; the labels say which build of vip-agent runs",
                ),
                &build_label_names,
            )
            .map_err(create_error("vip_build_info"))?,
            election_info: IntGaugeVec::new(
                Opts::new(
                    "vip_election_info",
                    "Always 1; mode is peers, lease or none, lease is namespace/name (empty unless mode is lease)",
                ),
                &["mode", "lease"],
            )
            .map_err(create_error("vip_election_info"))?,
            fail_static: IntGauge::with_opts(Opts::new(
                "vip_fail_static",
                "1 while the election cannot reach the API and keeps its last role (fail-static)",
            ))
            .map_err(create_error("vip_fail_static"))?,
            kube_api_errors_total: IntCounterVec::new(
                Opts::new(
                    "vip_kube_api_errors_total",
                    "Failed Kubernetes API requests by operation and class (4xx, 5xx, timeout, transport)",
                ),
                &["operation", "class"],
            )
            .map_err(create_error("vip_kube_api_errors_total"))?,
        };
        let values: Vec<&str> = info.labels().iter().map(|(_, value)| *value).collect();
        metrics.build_info.with_label_values(&values).set(1);
        Ok(metrics)
    }

    pub(super) fn register(&self, registry: &Registry) -> Result<(), HttpError> {
        let collectors: [Box<dyn Collector>; 4] = [
            Box::new(self.build_info.clone()),
            Box::new(self.election_info.clone()),
            Box::new(self.fail_static.clone()),
            Box::new(self.kube_api_errors_total.clone()),
        ];
        for collector in collectors {
            let name = collector.desc()[0].fq_name.clone();
            registry
                .register(collector)
                .map_err(|source| HttpError::Metric { name, source })?;
        }
        registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .map_err(create_error("process_collector"))?;
        Ok(())
    }

    /// Records the election mode; `lease` is `namespace/name`, or `None` without one.
    pub fn set_election(&self, mode: &str, lease: Option<&str>) {
        self.election_info.reset();
        self.election_info
            .with_label_values(&[mode, lease.unwrap_or("")])
            .set(1);
    }
}

impl ElectionObserver for OpsMetrics {
    fn api_failed(&self, failure: &ApiFailure) {
        self.kube_api_errors_total
            .with_label_values(&[failure.operation, failure.class.as_str()])
            .inc();
    }

    fn fail_static(&self, active: bool) {
        self.fail_static.set(i64::from(active));
    }
}

fn create_error(name: &'static str) -> impl Fn(prometheus::Error) -> HttpError {
    move |source| HttpError::Metric {
        name: name.to_owned(),
        source,
    }
}
