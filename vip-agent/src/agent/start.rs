//! The agent's background tasks: metrics, discovery, health checks, backend tracking,
//! election, the announce-deadline keeper and the announcer.
use std::sync::Arc;
use std::time::Duration;

use prometheus::Registry;
use tokio::{sync::watch, task::JoinSet};
use tokio_util::sync::CancellationToken;

use super::{
    backends, clock, control, discovery, health_settings, leadership, peer_election, preflight,
    AgentError,
};
use crate::{
    announce::{AnnounceSchedule, Announcer, InterfaceSelector, InterfaceSender, MacAddr},
    config::{BackendSource, Election, RunConfig},
    dataplane::Dataplane,
    health::HealthChecker,
    host::{HostSetup, Netlink},
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

/// Starts every task. On an error the tasks already started are aborted with the
/// `JoinSet`; election starts after the last fallible step but one (the announcer's
/// socket is opened first), so it never holds the lease then.
pub(super) async fn start_tasks(
    config: &RunConfig,
    checked: preflight::Checked,
    peer_key: Option<crate::peers::PeerKey>,
    dataplane: &Dataplane,
    host: &HostSetup,
    shutdown: CancellationToken,
) -> Result<Started, AgentError> {
    let interface = host.interface().clone();
    let registry = Registry::new();
    let metrics = Metrics::register(&registry)?;
    let status = Arc::new(AgentStatus::new(Duration::from_secs(10)));
    status.set_data_plane_attached(true);
    let mut tasks = JoinSet::new();
    if let Some(listener) = checked.metrics_listener {
        tasks.spawn(http::serve_listener(
            listener,
            registry.clone(),
            Arc::clone(&status),
            shutdown.clone(),
        ));
    }
    let client = checked.client;
    let remembered_peers = crate::peers::membership::remembered_path(&config.bpffs_dir);
    let (backends_tx, backends_rx) = match (&config.backends, &client) {
        (BackendSource::Static(list), _) => watch::channel(list.clone()),
        (BackendSource::DiscoverControlPlaneNodes, Some(client)) => {
            // Until the API answers, the peers this node knew before it restarted.
            let remembered = crate::peers::membership::load_remembered(&remembered_peers)
                .map(|set| set.into_iter().collect())
                .unwrap_or_default();
            let (tx, rx) = watch::channel(remembered);
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
    let observer = Arc::new(metrics.ops.clone());
    let (leader, ring_down) = match (&config.election, peer_key) {
        (Election::Peers(peers), Some(key)) => {
            let election = peer_election::Election {
                config,
                peers,
                key,
                interface: &interface,
                netlink: host.netlink(),
                remembered: remembered_peers,
            };
            let outputs = election
                .start(
                    backends_rx.clone(),
                    client,
                    &registry,
                    &mut tasks,
                    shutdown.clone(),
                )
                .await?;
            (outputs.leader, outputs.ring_down)
        }
        _ => {
            let leader = leadership::start(config, client, &mut tasks, observer, shutdown.clone())?;
            (
                leader,
                peer_election::nobody_down(&mut tasks, shutdown.clone()),
            )
        }
    };
    tasks.spawn(dataplane.deadline_keeper().run(
        leader.clone(),
        control::ANNOUNCE_LEASE,
        control::DEADLINE_REFRESH,
        clock::monotonic_ns,
        shutdown.clone(),
    ));
    match &config.election {
        Election::Lease(lease) => metrics.ops.set_election(
            "lease",
            Some(&format!("{}/{}", lease.namespace, lease.name)),
        ),
        Election::Peers(_) => metrics.ops.set_election("peers", None),
        Election::None => metrics.ops.set_election("none", None),
    }
    status.set_election_running(true);

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
            ring_down,
        },
        backends_tx,
    })
}
