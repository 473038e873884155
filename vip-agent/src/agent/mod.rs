//! `vip-agent run`: wires host setup, the data plane, health checks, election,
//! announcements, the reconcile loop and the HTTP endpoints together, with one shutdown
//! path (SIGTERM/SIGINT).
mod backends;
mod bpffs;
pub mod cleanup;
pub mod clock;
mod control;
mod discovery;
pub mod kernel;
mod leadership;
mod peer_election;
pub mod preflight;
mod start;
mod takeover;

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::{
    config::{RunConfig, XdpMode},
    dataplane::{
        layouts::pinned_dataplanes, pin_dir, Attachment, Dataplane, LoadOptions, LINK_PIN,
    },
    health::{HealthSettings, HealthState, ProbeCredentials},
    host::{HostConfig, HostRecord, HostSetup, Netlink},
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
    #[error(transparent)]
    Preflight(#[from] preflight::PreflightError),
}

impl AgentError {
    /// The process exit status: 64 (`EX_USAGE`) for what preflight rejects, before any
    /// change to the host; 1 for failures after it (already undone).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Preflight(_) => crate::config::EXIT_USAGE as u8,
            _ => 1,
        }
    }
}

/// What a failed start leaves behind.
enum Leave {
    /// Everything this start did is undone: XDP, pins, record, host changes.
    Nothing,
    /// A predecessor's data plane was adopted: it keeps forwarding, and its pins and the
    /// host record stay for the next agent or `vip-agent cleanup`.
    AdoptedDataplane,
}

pub async fn run(config: RunConfig) -> Result<(), AgentError> {
    run_on_kernel(config, &kernel::RunningKernel).await
}

/// [`run`] with the kernel release source injected.
pub async fn run_on_kernel(
    config: RunConfig,
    kernel: &dyn kernel::KernelRelease,
) -> Result<(), AgentError> {
    let checked = preflight::check(&config, kernel).await?;
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
    // After a crash or an upgrade, the new agent owns what its predecessor changed on
    // the host, whatever the predecessor's pin layout.
    if !pinned_dataplanes(&config.bpffs_dir).is_empty() {
        if let Some(record) = HostRecord::load(&host_record_path(&config.bpffs_dir)) {
            host.inherit(&record, &config.vips).await?;
        }
    }
    let result = run_on_host(&config, checked, &mut host, peer_key, shutdown).await;
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
            // Only when empty: the directory may hold another agent's pins.
            let _ = std::fs::remove_dir(&config.bpffs_dir);
            drop(dataplane);
            host.cleanup().await?;
            info!("XDP detached and host changes undone");
            Ok(())
        }
        Err((e, Leave::AdoptedDataplane)) => {
            warn!("start failed after adopting the running data plane: leaving it forwarding");
            Err(e)
        }
        Err((e, Leave::Nothing)) => {
            if let Err(cleanup) = host.cleanup().await {
                warn!(error = %cleanup, "undoing host changes after a failure");
            }
            let _ = std::fs::remove_dir(&config.bpffs_dir);
            Err(e)
        }
    }
}

fn leave_on_load_failure(adopting: bool) -> Leave {
    match adopting {
        true => Leave::AdoptedDataplane,
        false => Leave::Nothing,
    }
}

/// Loads the program (adopting pinned maps) and attaches it (adopting a pinned link).
fn load_and_attach(
    config: &RunConfig,
    host: &HostSetup,
) -> Result<(Dataplane, Attachment), (AgentError, Leave)> {
    let interface = host.interface();
    bpffs::ensure_mounted(&config.bpffs_dir).map_err(|e| (e, Leave::Nothing))?;
    // A predecessor's data plane (any layout) keeps forwarding if this start fails.
    let adopting = !pinned_dataplanes(&config.bpffs_dir).is_empty();
    let leave = leave_on_load_failure(adopting);
    let own_pins_existed = pin_dir(&config.bpffs_dir, &load_options(config))
        .join(LINK_PIN)
        .exists();
    let mut dataplane = Dataplane::load_pinned(load_options(config), Some(&config.bpffs_dir))
        .map_err(|e| {
            (
                AgentError::from(Box::new(e)),
                leave_on_load_failure(adopting),
            )
        })?;
    let record_path = host_record_path(&config.bpffs_dir);
    if let Err(e) = host.record().save(&record_path) {
        if !own_pins_existed {
            let _ = dataplane.unpin_all();
        }
        return Err((e.into(), leave));
    }
    let name = &interface.name;
    match attach(&mut dataplane, name, interface.index, config.xdp_mode) {
        Ok(attachment) => {
            info!(?attachment, pins = ?dataplane.pinned_at(), "XDP program on {name}");
            Ok((dataplane, attachment))
        }
        Err(e) if adopting => {
            if !own_pins_existed {
                let _ = dataplane.unpin_all();
            }
            Err((e, Leave::AdoptedDataplane))
        }
        Err(e) => {
            let _ = dataplane.unpin_all();
            let _ = std::fs::remove_file(&record_path);
            Err((e, Leave::Nothing))
        }
    }
}

async fn run_on_host(
    config: &RunConfig,
    checked: preflight::Checked,
    host: &mut HostSetup,
    peer_key: Option<crate::peers::PeerKey>,
    shutdown: CancellationToken,
) -> Result<Dataplane, (AgentError, Leave)> {
    let (dataplane, attachment) = load_and_attach(config, host)?;
    let interface = host.interface().clone();
    let prepared = async {
        let bond_slaves = crate::host::bond::slave_ifindexes(
            std::path::Path::new(crate::host::bond::SYS_CLASS_NET),
            &interface.name,
        )?;
        let started = start::start_tasks(
            config,
            checked,
            peer_key,
            &dataplane,
            host,
            shutdown.clone(),
        )
        .await?;
        Ok::<_, AgentError>((bond_slaves, started))
    }
    .await;
    let (bond_slaves, started) = match prepared {
        Ok(prepared) => prepared,
        Err(e) if attachment == Attachment::Adopted => return Err((e, Leave::AdoptedDataplane)),
        Err(e) if matches!(attachment, Attachment::Pending(_)) => {
            // Our fresh pins go; the predecessor keeps forwarding.
            let _ = dataplane.unpin_all();
            return Err((e, Leave::AdoptedDataplane));
        }
        Err(e) => {
            // Removing the pins detaches the link this start created.
            if let Err(unpin) = dataplane.unpin_all() {
                warn!(error = %unpin, "removing the pins after a failed start");
            }
            let _ = std::fs::remove_file(host_record_path(&config.bpffs_dir));
            return Err((e, Leave::Nothing));
        }
    };
    let start::Started {
        mut tasks,
        metrics,
        status,
        announce_stats,
        inputs,
        backends_tx,
    } = started;
    let control = control::ControlLoop {
        dataplane,
        node: NodeConfig {
            vips: config.vips.clone(),
            service_ports: config.service_ports.clone(),
            ring_size: config.maglev_size,
            hash_seed: config.hash_seed,
            ifindex: interface.index,
            bond_slaves,
            mac: interface.mac,
        },
        metrics,
        status,
        announce_stats,
        rise: config.health.rise,
        fall: config.health.fall,
        pending_takeover: match attachment {
            Attachment::Pending(predecessor) => Some(predecessor),
            Attachment::Adopted | Attachment::Attached => None,
        },
    };
    info!(interface = %interface.name, vips = ?config.vips, "vip-agent running");
    let dataplane = control.run(inputs, host, shutdown.clone()).await;
    // Stop announcing at once; the elector releases its lease while the tasks wind down.
    drop(backends_tx);
    while tasks.join_next().await.is_some() {}
    Ok(dataplane)
}

fn attach(
    dataplane: &mut Dataplane,
    interface: &str,
    ifindex: u32,
    mode: XdpMode,
) -> Result<Attachment, AgentError> {
    use aya::programs::XdpMode as Aya;
    let attempt = |d: &mut Dataplane, aya: Aya, name: &'static str| {
        d.attach_pinned(interface, ifindex, aya)
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

fn health_settings(config: &RunConfig, credentials: ProbeCredentials) -> HealthSettings {
    let health = &config.health;
    HealthSettings {
        credentials,
        path: health.path.clone(),
        port: config.backend_port,
        tls: preflight::probe_tls(config),
        timeout: health.timeout,
        interval: health.interval,
        rise: health.rise,
        fall: health.fall,
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
