//! The acquire/renew/release loop.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::jiff::Timestamp;
use kube::api::PostParams;
use kube::{Api, Client};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::failure::FailureKind;
use super::lease::{holder_identity, new_lease, whole_seconds, with_record, ElectionRecord};
use super::observation::LeaseView;
use super::{ElectionConfig, ElectionError, ElectionObserver, Leadership};

/// Write attempts per round; the second follows a re-read after a conflict.
const WRITE_ATTEMPTS: usize = 2;

/// Contends for one Lease; see the module docs for the fail-static rules.
pub struct LeaderElector {
    api: Api<Lease>,
    config: ElectionConfig,
    lease_duration_seconds: i32,
    lease_path: String,
    leadership: watch::Sender<Leadership>,
    view: LeaseView,
    outage: Option<ApiOutage>,
    /// The `holderIdentity` this elector writes (node name and suffix).
    holder: String,
    /// Write races lost in the current round.
    conflicts_this_round: usize,
    /// After a 429: the role is kept until then, and the next round waits for it.
    throttled_until: Option<Instant>,
    /// The foreign holder we last warned about, to warn once per holder.
    warned_foreign: Option<String>,
    observer: Option<Arc<dyn ElectionObserver>>,
}

/// A run of failed rounds, tracked only to log it sensibly.
struct ApiOutage {
    since: Instant,
    /// Whether we said that a client-go leader would have stepped down by now.
    past_renew_deadline: bool,
}

/// Outcome of one acquire-or-renew round that reached the API.
enum Round {
    Leading,
    Following,
}

impl LeaderElector {
    pub fn new(client: Client, config: ElectionConfig) -> Result<Self, ElectionError> {
        config.validate()?;
        let (leadership, _) = watch::channel(Leadership::initial());
        // A holder back from the same outage renews within one round and one period.
        let recovery_grace = config.renew_deadline + config.retry_period;
        let holder = holder_identity(&config.identity);
        Ok(Self {
            api: Api::namespaced(client, &config.namespace),
            lease_duration_seconds: whole_seconds(config.lease_duration),
            lease_path: format!("{}/{}", config.namespace, config.lease_name),
            config,
            leadership,
            view: LeaseView::new(recovery_grace),
            outage: None,
            holder,
            conflicts_this_round: 0,
            throttled_until: None,
            warned_foreign: None,
            observer: None,
        })
    }

    /// Reports failed requests and fail-static changes to `observer` (the metrics).
    pub fn with_observer(mut self, observer: Arc<dyn ElectionObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    pub fn subscribe(&self) -> watch::Receiver<Leadership> {
        self.leadership.subscribe()
    }

    /// Contends until `shutdown` fires, then releases the lease if held.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let identity = &self.holder;
        info!(lease = %self.lease_path, %identity, "starting leader election");
        while !shutdown.is_cancelled() {
            // A round is bounded by the renew deadline, so it is not raced against
            // shutdown: a write dropped then could leave us holding the lease without
            // knowing it, and then we would not release it.
            match self.bounded_round().await {
                Ok(round) => self.on_round(round),
                Err(error) => self.on_failure(&error),
            }
            let pause = self
                .throttled_until
                .map(|until| until.saturating_duration_since(Instant::now()))
                .filter(|wait| *wait > self.config.retry_period)
                .unwrap_or(self.config.retry_period);
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(pause) => {}
            }
        }
        self.release_if_leading().await;
    }

    /// One round, cut at the renew deadline (what `--renew-deadline` promises).
    async fn bounded_round(&mut self) -> Result<Round, ElectionError> {
        self.conflicts_this_round = 0;
        let deadline = self.config.renew_deadline;
        match tokio::time::timeout(deadline, self.try_acquire_or_renew()).await {
            Ok(result) => result,
            Err(_elapsed) => {
                self.view.read_failed();
                Err(ElectionError::RoundTimeout {
                    lease: self.lease_path.clone(),
                    timeout: deadline,
                    refused: self.conflicts_this_round > 0,
                })
            }
        }
    }

    async fn try_acquire_or_renew(&mut self) -> Result<Round, ElectionError> {
        for _ in 0..WRITE_ATTEMPTS {
            let Some(current) = self.read().await? else {
                let record = ElectionRecord::first(
                    &self.holder,
                    self.lease_duration_seconds,
                    Timestamp::now(),
                );
                let lease = new_lease(&self.config.lease_name, &self.config.namespace, &record);
                match self
                    .request("create", self.api.create(&PostParams::default(), &lease))
                    .await
                {
                    Ok(created) => return Ok(self.observe_own_write(created)),
                    // 409 AlreadyExists: another candidate created it first.
                    Err(error) if error.is_conflict() => {
                        self.conflicts_this_round += 1;
                        continue;
                    }
                    Err(error) => return Err(error),
                }
            };
            let observation = self.view.record(current);
            let record = &observation.record;
            if record.is_foreign() && !self.config.take_over_foreign {
                let holder = record.holder.clone();
                self.warn_foreign(holder);
                return Ok(Round::Following);
            }
            if record.holder.is_some()
                && !record.is_held_by(&self.holder)
                && !observation.expired(Instant::now())
            {
                return Ok(Round::Following);
            }
            let claimed =
                record.claimed_by(&self.holder, self.lease_duration_seconds, Timestamp::now());
            let lease = with_record(&observation.lease, &claimed);
            match self
                .request(
                    "update",
                    self.api
                        .replace(&self.config.lease_name, &PostParams::default(), &lease),
                )
                .await
            {
                Ok(updated) => return Ok(self.observe_own_write(updated)),
                // 409 Conflict: the resourceVersion moved on; re-read.
                Err(error) if error.is_conflict() => {
                    self.conflicts_this_round += 1;
                    continue;
                }
                Err(error) => return Err(error),
            }
        }
        Err(ElectionError::Contended {
            lease: self.lease_path.clone(),
        })
    }

    async fn read(&mut self) -> Result<Option<Lease>, ElectionError> {
        let get = self.api.get_opt(&self.config.lease_name);
        let result = self.request("read", get).await;
        if result.is_err() {
            self.view.read_failed();
        }
        result
    }

    fn warn_foreign(&mut self, holder: Option<String>) {
        if self.warned_foreign != holder {
            warn!(lease = %self.lease_path, ?holder,
                "the lease is held by another program (not a vip-agent holder identity); \
                 not taking it over: use another --lease-name, or \
                 --lease-take-over-foreign to take it over once it expires");
            self.warned_foreign = holder;
        }
    }

    fn observe_own_write(&mut self, lease: Lease) -> Round {
        self.view.record(lease);
        Round::Leading
    }

    /// Runs one API call under the per-request time limit.
    async fn request<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, ElectionError> {
        let result = self.request_within_deadline(operation, call).await;
        if let (Err(error), Some(observer)) = (&result, &self.observer) {
            // A lost write race (409) is how contention works, not a failure.
            if let Some(failure) = error.api_failure().filter(|_| !error.is_conflict()) {
                observer.api_failed(&failure);
            }
        }
        result
    }

    async fn request_within_deadline<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, ElectionError> {
        match tokio::time::timeout(self.config.renew_deadline, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(source)) => Err(ElectionError::LeaseRequest {
                operation,
                lease: self.lease_path.clone(),
                source,
            }),
            Err(_elapsed) => Err(ElectionError::LeaseRequestTimeout {
                operation,
                lease: self.lease_path.clone(),
                timeout: self.config.renew_deadline,
            }),
        }
    }

    fn on_round(&mut self, round: Round) {
        self.throttled_until = None;
        if let Some(outage) = self.outage.take() {
            let lasted = outage.since.elapsed();
            info!(lease = %self.lease_path, ?lasted, "lease API reachable again");
            if let Some(observer) = &self.observer {
                observer.fail_static(false);
            }
        }
        let Some(observation) = self.view.current() else {
            return;
        };
        let holder = observation.record.holder.clone();
        let transitions = Some(observation.record.transitions);
        match round {
            Round::Leading => self.publish(true, holder, transitions),
            Round::Following => self.publish(false, holder, transitions),
        }
    }

    /// Fail-static while the API is unreachable; a refusal ends leadership.
    fn on_failure(&mut self, error: &ElectionError) {
        let refused = match error.kind() {
            FailureKind::Unreachable => false,
            FailureKind::Refused => true,
            FailureKind::Throttled { retry_after } => {
                let now = Instant::now();
                match self.throttled_until {
                    // Throttled again once the wait the server asked for is over.
                    Some(until) => until <= now,
                    None => {
                        self.throttled_until = Some(now + retry_after);
                        false
                    }
                }
            }
        };
        if refused {
            if self.outage.take().is_some() {
                if let Some(observer) = &self.observer {
                    observer.fail_static(false);
                }
            }
            self.throttled_until = None;
            self.step_down(error);
            return;
        }
        self.keep_role(error);
    }

    fn step_down(&mut self, error: &ElectionError) {
        let is_leader = self.leadership.borrow().is_leader;
        if is_leader {
            warn!(lease = %self.lease_path, %error,
                "the API refused the renewal: this node can no longer prove it holds \
                 the lease; stepping down");
        } else {
            debug!(lease = %self.lease_path, %error, "the API refused the round");
        }
        let observation = self.view.current();
        let holder = observation.and_then(|observation| observation.record.holder.clone());
        let transitions = observation.map(|observation| observation.record.transitions);
        self.publish(false, holder, transitions);
    }

    fn keep_role(&mut self, error: &ElectionError) {
        let is_leader = self.leadership.borrow().is_leader;
        let lease = &self.lease_path;
        let Some(outage) = &mut self.outage else {
            warn!(%lease, %error, is_leader,
                "lease API unavailable; keeping the current role until the lease \
                 is readable again (fail-static)");
            self.outage = Some(ApiOutage {
                since: Instant::now(),
                past_renew_deadline: false,
            });
            if let Some(observer) = &self.observer {
                observer.fail_static(true);
            }
            return;
        };
        let lasted = outage.since.elapsed();
        if is_leader && !outage.past_renew_deadline && lasted >= self.config.renew_deadline {
            outage.past_renew_deadline = true;
            warn!(%lease, %error, ?lasted,
                "lease not renewed within the renew deadline; staying leader on purpose \
                 (fail-static) until another holder is seen");
        } else {
            debug!(%lease, %error, ?lasted, is_leader, "lease API still unavailable");
        }
    }

    fn publish(&self, is_leader: bool, holder: Option<String>, transitions: Option<i32>) {
        self.leadership.send_if_modified(|current| {
            if current.is_leader == is_leader
                && current.holder == holder
                && current.transitions == transitions
            {
                return false;
            }
            if current.is_leader != is_leader {
                current.since = Instant::now();
                if is_leader {
                    info!(lease = %self.lease_path, ?transitions, "became leader");
                } else {
                    info!(lease = %self.lease_path, new_holder = ?holder, "no longer leader");
                }
            }
            current.is_leader = is_leader;
            current.holder = holder;
            current.transitions = transitions;
            true
        });
    }

    /// client-go's ReleaseOnCancel: clear the holder so that followers, which
    /// poll every retry period, take over without waiting for expiry.
    async fn release_if_leading(&mut self) {
        if !self.leadership.borrow().is_leader {
            return;
        }
        for _ in 0..WRITE_ATTEMPTS {
            let Some(observation) = self.view.current() else {
                break;
            };
            if !observation.record.is_held_by(&self.holder) {
                break;
            }
            let released = with_record(
                &observation.lease,
                &observation.record.released(Timestamp::now()),
            );
            match self
                .request(
                    "release",
                    self.api
                        .replace(&self.config.lease_name, &PostParams::default(), &released),
                )
                .await
            {
                Ok(lease) => {
                    info!(lease = %self.lease_path, "released leadership");
                    self.view.record(lease);
                    break;
                }
                Err(error) if error.is_conflict() => match self.read().await {
                    Ok(Some(lease)) => {
                        self.view.record(lease);
                    }
                    Ok(None) => break,
                    Err(error) => {
                        warn!(%error, "cannot re-read lease to release it; \
                            followers take over after it expires");
                        break;
                    }
                },
                Err(error) => {
                    warn!(%error, "cannot release lease; followers take over after it expires");
                    break;
                }
            }
        }
        let transitions = self
            .view
            .current()
            .map(|observation| observation.record.transitions);
        self.publish(false, None, transitions);
    }
}
