//! `vip-agent run`: wires host setup, the data plane, health checks, election,
//! announcements, the reconcile loop and the HTTP endpoints together, with one shutdown
//! path (SIGTERM/SIGINT).
mod backends;
mod bpffs;
pub mod cleanup;
pub mod clock;
mod control;
mod discovery;
mod leadership;
mod peer_election;

use std::sync::Arc;
use std::time::Duration;

use prometheus::Registry;
use tokio::{sync::watch, task::JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::{
    announce::{AnnounceSchedule, Announcer, InterfaceSelector, InterfaceSender, MacAddr},
    config::{BackendSource, HealthCheckConfig, RunConfig, XdpMode},
    dataplane::{pin_dir, Attachment, Dataplane, LoadOptions, LINK_PIN},
    health::{HealthChecker, HealthSettings, HealthState, TlsVerification},
    host::{HostConfig, HostRecord, HostSetup, Netlink},
    http::{self, AgentStatus, Metrics},
    reconcile::NodeConfig,
};
pub use backends::format_mac;
pub use control::ANNOUNCE_LEASE;

/// Directory of the host record; the manifests mount it from the host.
pub const HOST_RECORD_DIR: &str = "/run/vip-agent";

/// Where the host changes are recorded (see `HostRecord`): bpffs holds only BPF objects,
/// so the record lives in /run, which like the pins does not survive a reboot.
fn host_record_path(bpffs_dir: &std::path::Path) -> std::path::PathBuf {
    let name = bpffs_dir
        .to_string_lossy()
        .trim_matches('/')
        .replace('/', "_");
    std::path::Path::new(HOST_RECORD_DIR).join(format!("{name}.host.json"))
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("host setup: {0}")]
    Host(#[from] crate::host::HostError),
    #[error("data plane: {0}")]
    Dataplane(#[from] Box<crate::dataplane::DataplaneError>),
    #[error("attaching XDP to {interface} in {mode} mode: {source}")]
    Attach {
        interface: String,
        mode: &'static str,
        source: Box<crate::dataplane::DataplaneError>,
    },
    #[error("health checks: {0}")]
    Health(#[from] crate::health::HealthError),
    #[error("announcements: {0}")]
    Announce(#[from] crate::announce::AnnounceError),
    #[error("metrics endpoint: {0}")]
    Http(#[from] crate::http::HttpError),
    #[error("leader election: {0}")]
    Election(#[from] crate::election::ElectionError),
    #[error("bpffs: {0}")]
    Bpffs(String),
    #[error("bond slaves: {0}")]
    Bond(#[from] crate::host::bond::BondError),
    #[error("peer election: {0}")]
    Peers(#[from] crate::peers::PeerError),
    #[error("installing the signal handler: {0}")]
    Signal(std::io::Error),
}

pub async fn run(config: RunConfig) -> Result<(), AgentError> {
    let shutdown = CancellationToken::new();
    spawn_signal_handler(shutdown.clone())?;
    // No key, no start: checked before anything on the host changes.
    let peer_key = match &config.election {
        crate::config::Election::Peers(peers) => {
            Some(crate::peers::PeerKey::load(&peers.key).map_err(crate::peers::PeerError::from)?)
        }
        _ => None,
    };
    // Interface and VIP checks happen inside apply before anything changes on the host.
    let mut host = HostSetup::apply_with(
        Netlink::connect()?,
        &HostConfig {
            interface: config.interface.clone(),
            vips: config.vips.clone(),
        },
    )
    .await?;
    // After a crash, the new agent owns what its predecessor changed on the host.
    let pins = pin_dir(&config.bpffs_dir, &load_options(&config));
    if pins.join(LINK_PIN).exists() {
        if let Some(record) = HostRecord::load(&host_record_path(&config.bpffs_dir)) {
            host.inherit(&record, &config.vips).await?;
        }
    }
    let result = run_on_host(&config, &mut host, peer_key, shutdown).await;
    match result {
        Ok(dataplane) if config.keep_forwarding_on_exit => {
            // The pinned link and maps keep forwarding with the last tables; a restarted
            // agent adopts them.
            info!(pins = ?dataplane.pinned_at(), "leaving XDP forwarding and the VIP on lo in place");
            Ok(())
        }
        Ok(dataplane) => {
            dataplane.unpin_all().map_err(Box::new)?;
            let _ = std::fs::remove_file(host_record_path(&config.bpffs_dir));
            drop(dataplane);
            host.cleanup().await?;
            info!("XDP detached and host changes undone");
            Ok(())
        }
        Err(e) => {
            if let Err(cleanup) = host.cleanup().await {
                warn!(error = %cleanup, "undoing host changes after a failure");
            }
            Err(e)
        }
    }
}

async fn run_on_host(
    config: &RunConfig,
    host: &mut HostSetup,
    peer_key: Option<crate::peers::PeerKey>,
    shutdown: CancellationToken,
) -> Result<Dataplane, AgentError> {
    let interface = host.interface().clone();
    bpffs::ensure_mounted(&config.bpffs_dir)?;
    let mut dataplane =
        Dataplane::load_pinned(load_options(config), Some(&config.bpffs_dir)).map_err(Box::new)?;
    host.record().save(&host_record_path(&config.bpffs_dir))?;
    match attach(&mut dataplane, &interface.name, config.xdp_mode) {
        Ok(attachment) => {
            info!(?attachment, pins = ?dataplane.pinned_at(), "XDP program on {}", interface.name)
        }
        Err(e) => {
            let _ = dataplane.unpin_all();
            return Err(e);
        }
    }

    let registry = Registry::new();
    let metrics = Metrics::register(&registry)?;
    let status = Arc::new(AgentStatus::new(Duration::from_secs(10)));
    status.set_data_plane_attached(true);
    let mut tasks = JoinSet::new();
    if let Some(addr) = config.metrics_addr {
        let listener = http::bind(addr).await?;
        tasks.spawn(http::serve_listener(
            listener,
            registry.clone(),
            Arc::clone(&status),
            shutdown.clone(),
        ));
    }

    let needs_api = matches!(config.backends, BackendSource::DiscoverControlPlaneNodes)
        || matches!(config.election, crate::config::Election::Lease(_));
    let client = match needs_api {
        true => Some(crate::election::client_from(config.kubeconfig.as_deref()).await?),
        false => peer_election::optional_client(config).await,
    };
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
            unreachable!("discovery always builds a client")
        }
    };
    let histogram = metrics.health_check_duration_seconds.clone();
    let checker = HealthChecker::new(health_settings(&config.health, config.backend_port))?
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

    let observer = Arc::new(metrics.ops.clone());
    let (leader, ring_down) = match (&config.election, peer_key) {
        (crate::config::Election::Peers(peers), Some(key)) => {
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
        crate::config::Election::Lease(lease) => (metrics.ops).set_election(
            "lease",
            Some(&format!("{}/{}", lease.namespace, lease.name)),
        ),
        crate::config::Election::Peers(_) => metrics.ops.set_election("peers", None),
        crate::config::Election::None => metrics.ops.set_election("none", None),
    }
    status.set_election_running(true);

    let sender = InterfaceSender::open(&InterfaceSelector::Index(interface.index))?;
    let schedule = AnnounceSchedule {
        refresh_interval: Some(config.garp_interval),
        ..Default::default()
    };
    let announcer = Announcer::new(sender, MacAddr(interface.mac), &config.vips, schedule);
    let announce_stats = announcer.stats();
    tasks.spawn(announcer.run(leader.clone(), shutdown.clone()));

    let control = control::ControlLoop {
        dataplane,
        node: NodeConfig {
            vips: config.vips.clone(),
            service_ports: config.service_ports.clone(),
            ring_size: config.maglev_size,
            hash_seed: config.hash_seed,
            ifindex: interface.index,
            bond_slaves: crate::host::bond::slave_ifindexes(
                std::path::Path::new(crate::host::bond::SYS_CLASS_NET),
                &interface.name,
            )?,
            mac: interface.mac,
        },
        metrics,
        status,
        announce_stats,
        rise: config.health.rise,
        fall: config.health.fall,
    };
    info!(interface = %interface.name, vips = ?config.vips, "vip-agent running");
    let inputs = control::Inputs {
        leader,
        backends: backends_rx,
        health,
        locations,
        ring_down,
    };
    let dataplane = control.run(inputs, host, shutdown.clone()).await;
    // Stop announcing at once; the elector releases its lease while the tasks wind down.
    drop(backends_tx);
    while tasks.join_next().await.is_some() {}
    Ok(dataplane)
}

fn attach(
    dataplane: &mut Dataplane,
    interface: &str,
    mode: XdpMode,
) -> Result<Attachment, AgentError> {
    use aya::programs::XdpMode as Aya;
    let attempt = |d: &mut Dataplane, aya: Aya, name: &'static str| {
        d.attach_pinned(interface, aya)
            .map_err(|source| AgentError::Attach {
                interface: interface.to_owned(),
                mode: name,
                source: Box::new(source),
            })
    };
    match mode {
        XdpMode::Driver => attempt(dataplane, Aya::Driver, "driver"),
        XdpMode::Skb => attempt(dataplane, Aya::Skb, "skb"),
        XdpMode::Auto => attempt(dataplane, Aya::Driver, "driver").or_else(|e| {
            warn!(error = %e, "native XDP unavailable; falling back to generic (skb) mode, which is slower");
            attempt(dataplane, Aya::Skb, "skb")
        }),
    }
}

fn load_options(config: &RunConfig) -> LoadOptions {
    LoadOptions {
        ring_size: config.maglev_size,
        ..Default::default()
    }
}

fn health_settings(config: &HealthCheckConfig, port: u16) -> HealthSettings {
    let defaults = HealthSettings::default();
    HealthSettings {
        path: config.path.clone(),
        port,
        tls: match (&config.ca_file, config.insecure) {
            (_, true) => TlsVerification::InsecureSkipVerify,
            (Some(ca), false) => TlsVerification::CaFile(ca.clone()),
            (None, false) => defaults.tls,
        },
        timeout: config.timeout,
        interval: config.interval,
        rise: config.rise,
        fall: config.fall,
        initial_state: HealthState::Unhealthy,
    }
}

fn spawn_signal_handler(shutdown: CancellationToken) -> Result<(), AgentError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).map_err(AgentError::Signal)?;
    let mut int = signal(SignalKind::interrupt()).map_err(AgentError::Signal)?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => info!("SIGTERM: releasing leadership and shutting down"),
            _ = int.recv() => info!("SIGINT: releasing leadership and shutting down"),
        }
        shutdown.cancel();
    });
    Ok(())
}
