//! Runs one probe task per backend and follows changes of the backend set.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::probe::{ProbeError, Prober};
use super::{BackendHealth, HealthError, HealthMap, HealthSettings, HealthState};

/// The result of one probe, handed to the observer (e.g. for a latency histogram).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeReport {
    pub backend: IpAddr,
    pub latency: Duration,
    pub success: bool,
}

type ProbeObserver = Arc<dyn Fn(ProbeReport) + Send + Sync>;

/// Health checker for a changing set of API server backends.
pub struct HealthChecker {
    shared: Shared,
}

/// What every probe task needs.
struct Shared {
    prober: Prober,
    settings: HealthSettings,
    status: watch::Sender<HealthMap>,
    observer: Option<ProbeObserver>,
}

impl HealthChecker {
    /// Validates the settings and loads the CA file; probing starts with [`Self::run`].
    pub fn new(settings: HealthSettings) -> Result<Self, HealthError> {
        if settings.rise == 0 || settings.fall == 0 {
            return Err(HealthError::InvalidThresholds {
                rise: settings.rise,
                fall: settings.fall,
            });
        }
        if settings.timeout.is_zero() || settings.interval.is_zero() {
            return Err(HealthError::ZeroDuration {
                timeout: settings.timeout,
                interval: settings.interval,
            });
        }
        let prober = Prober::new(&settings)?;
        let (status, _) = watch::channel(HealthMap::new());
        Ok(Self {
            shared: Shared {
                prober,
                settings,
                status,
                observer: None,
            },
        })
    }

    /// Calls `observer` after every probe, from the probe task.
    pub fn with_probe_observer(
        mut self,
        observer: impl Fn(ProbeReport) + Send + Sync + 'static,
    ) -> Self {
        self.shared.observer = Some(Arc::new(observer));
        self
    }

    /// The published health of every backend.
    pub fn subscribe(&self) -> watch::Receiver<HealthMap> {
        self.shared.status.subscribe()
    }

    /// Probes the backends listed in `backends` until `shutdown` is
    /// cancelled. If the `backends` sender is dropped, the last set keeps
    /// being probed. Returns once every probe task has stopped.
    pub async fn run(
        self,
        mut backends: watch::Receiver<Vec<IpAddr>>,
        shutdown: CancellationToken,
    ) {
        let shared = Arc::new(self.shared);
        let mut tasks: HashMap<IpAddr, BackendTask> = HashMap::new();
        let mut backends_open = true;
        loop {
            let desired: BTreeSet<IpAddr> = backends.borrow_and_update().iter().copied().collect();
            reconcile(&shared, &mut tasks, &desired, &shutdown);
            tokio::select! {
                _ = shutdown.cancelled() => break,
                changed = backends.changed(), if backends_open => {
                    if changed.is_err() {
                        debug!("backend list sender dropped; keeping the current backends");
                        backends_open = false;
                    }
                }
            }
        }
        for (_, task) in tasks {
            task.cancel.cancel();
            if let Err(error) = task.handle.await {
                warn!(%error, "health probe task ended abnormally");
            }
        }
    }
}

/// Starts probe tasks for new backends and stops those of removed ones.
fn reconcile(
    shared: &Arc<Shared>,
    tasks: &mut HashMap<IpAddr, BackendTask>,
    desired: &BTreeSet<IpAddr>,
    shutdown: &CancellationToken,
) {
    let removed: Vec<IpAddr> = tasks
        .keys()
        .filter(|ip| !desired.contains(ip))
        .copied()
        .collect();
    for ip in removed {
        if let Some(task) = tasks.remove(&ip) {
            // Cancel before removing the entry: probe tasks check the token
            // under the channel lock, so a probe finishing now cannot write
            // into the entry of a later re-added backend.
            task.cancel.cancel();
        }
        shared
            .status
            .send_if_modified(|map| map.remove(&ip).is_some());
        info!(backend = %ip, "stopped health checking backend");
    }
    for &ip in desired {
        if tasks.contains_key(&ip) {
            continue;
        }
        let initial = BackendHealth::new(shared.settings.initial_state, Instant::now());
        shared.status.send_modify(|map| {
            map.insert(ip, initial);
        });
        let cancel = shutdown.child_token();
        let handle = tokio::spawn(probe_loop(ip, Arc::clone(shared), cancel.clone()));
        tasks.insert(ip, BackendTask { cancel, handle });
        info!(backend = %ip, "started health checking backend");
    }
}

struct BackendTask {
    cancel: CancellationToken,
    handle: tokio::task::JoinHandle<()>,
}

async fn probe_loop(ip: IpAddr, shared: Arc<Shared>, cancel: CancellationToken) {
    let settings = &shared.settings;
    let mut ticker = tokio::time::interval(settings.interval);
    // A slow probe postpones the next one instead of causing a burst.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = cancel.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let started = Instant::now();
        let outcome = tokio::select! {
            biased;
            _ = cancel.cancelled() => return,
            outcome = shared.prober.probe(ip) => outcome,
        };
        let latency = started.elapsed();
        if let Some(observer) = &shared.observer {
            observer(ProbeReport {
                backend: ip,
                latency,
                success: outcome.is_ok(),
            });
        }
        record_outcome(&shared, ip, outcome.err(), latency, &cancel);
    }
}

fn record_outcome(
    shared: &Shared,
    ip: IpAddr,
    error: Option<ProbeError>,
    latency: Duration,
    cancel: &CancellationToken,
) {
    let settings = &shared.settings;
    let mut transition = None;
    let mut error_changed = false;
    shared.status.send_if_modified(|map| {
        if cancel.is_cancelled() {
            return false;
        }
        let Some(health) = map.get_mut(&ip) else {
            return false;
        };
        let effect = health.record(
            error.as_ref(),
            latency,
            settings.rise,
            settings.fall,
            Instant::now(),
        );
        if effect.state_changed {
            transition = Some(health.state);
        }
        error_changed = effect.error_changed;
        effect.is_meaningful()
    });
    match (transition, &error) {
        (Some(HealthState::Healthy), _) => info!(backend = %ip, ?latency, "backend became healthy"),
        (Some(HealthState::Unhealthy), Some(error)) => {
            warn!(backend = %ip, %error, "backend became unhealthy")
        }
        (Some(HealthState::Unhealthy), None) => warn!(backend = %ip, "backend became unhealthy"),
        (None, Some(error)) if error_changed => {
            debug!(backend = %ip, %error, "health probe failed")
        }
        (None, _) => {}
    }
}
