//! The agent's background tasks: metrics, discovery, health checks, backend tracking,
//! election and the announcer.
use std::sync::Arc;
use std::time::Duration;

use prometheus::Registry;
use tokio::{sync::watch, task::JoinSet};
use tokio_util::sync::CancellationToken;

use super::{backends, control, discovery, health_settings, leadership, preflight, AgentError};
use crate::{
    announce::{AnnounceSchedule, Announcer, InterfaceSelector, InterfaceSender, MacAddr},
    config::{BackendSource, RunConfig},
    health::HealthChecker,
    host::Netlink,
    http::{self, AgentStatus, Metrics},
};

/// The background tasks and what the control loop reads from them.
pub(super) struct Started {
    pub tasks: JoinSet<()>,
    pub metrics: Metrics,
    pub status: Arc<AgentStatus>,
    pub announce_stats: Arc<crate::announce::AnnounceStats>,
    pub inputs: control::Inputs,
    pub backends_tx: watch::Sender<Vec<std::net::IpAddr>>,
}

/// Starts metrics, discovery, health checks, backend tracking, election and the
/// announcer. On an error the tasks already started are aborted with the `JoinSet`;
/// the elector starts after the last fallible step, so it never holds the lease then.
pub(super) async fn start_tasks(
    config: &RunConfig,
    checked: preflight::Checked,
    interface: &crate::host::InterfaceInfo,
    shutdown: CancellationToken,
) -> Result<Started, AgentError> {
    let registry = Registry::new();
    let metrics = Metrics::register(&registry)?;
    let status = Arc::new(AgentStatus::new(Duration::from_secs(10)));
    status.set_data_plane_attached(true);
    let mut tasks = JoinSet::new();
    if let Some(listener) = checked.metrics_listener {
        tasks.spawn(http::serve_listener(
            listener,
            registry,
            Arc::clone(&status),
            shutdown.clone(),
        ));
    }
    let client = checked.client;
    let (backends_tx, backends_rx) = match (&config.backends, &client) {
        (BackendSource::Static(list), _) => watch::channel(list.clone()),
        (BackendSource::DiscoverControlPlaneNodes, Some(client)) => {
            let (tx, rx) = watch::channel(Vec::new());
            tasks.spawn(discovery::discover(
                client.clone(),
                tx.clone(),
                shutdown.clone(),
            ));
            (tx, rx)
        }
        (BackendSource::DiscoverControlPlaneNodes, None) => {
            unreachable!("preflight builds a client for discovery")
        }
    };
    let histogram = metrics.health_check_duration_seconds.clone();
    let checker = HealthChecker::new(health_settings(config, checked.credentials))?
        .with_probe_observer(move |report| histogram.observe(report.latency.as_secs_f64()));
    let health = checker.subscribe();
    tasks.spawn(checker.run(backends_rx.clone(), shutdown.clone()));

    let (locations_tx, locations) = watch::channel(Default::default());
    tasks.spawn(backends::track(
        Netlink::connect()?,
        interface.index,
        backends_rx.clone(),
        locations_tx,
        shutdown.clone(),
    ));

    let sender = InterfaceSender::open(&InterfaceSelector::Index(interface.index))?;
    let leader = leadership::start(config, client, &mut tasks, shutdown.clone())?;
    let schedule = AnnounceSchedule {
        refresh_interval: Some(config.garp_interval),
        ..Default::default()
    };
    let announcer = Announcer::new(sender, MacAddr(interface.mac), &config.vips, schedule);
    let announce_stats = announcer.stats();
    tasks.spawn(announcer.run(leader.clone(), shutdown.clone()));
    Ok(Started {
        tasks,
        metrics,
        status,
        announce_stats,
        inputs: control::Inputs {
            leader,
            backends: backends_rx,
            health,
            locations,
        },
        backends_tx,
    })
}
