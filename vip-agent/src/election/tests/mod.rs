//! Tests of the elector with the real kube client against `LeaseTestServer`
//! on 127.0.0.1, with short timings: lease 1 s, renew deadline 0.5 s, retry
//! period 0.2 s.

mod election;
mod observer;
mod outage;
mod ownership;
mod record;
mod refusals;
mod test_server;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use kube::{Api, Client};
use tempfile::TempDir;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::lease::ElectionRecord;
use super::{client_from, ElectionConfig, LeaderElector, Leadership};
use crate::lease_test_server::{write_kubeconfig, LeaseTestServer};

const NAMESPACE: &str = "kube-system";
const LEASE: &str = "vip-test";
const LEASE_DURATION: Duration = Duration::from_secs(1);
const RENEW_DEADLINE: Duration = Duration::from_millis(500);
const RETRY_PERIOD: Duration = Duration::from_millis(200);
/// Generous bound for anything expected "soon", so a loaded machine does not
/// make the suite flaky; timing assertions use their own tighter bounds.
const SOON: Duration = Duration::from_secs(3);

/// A lease test server plus a kube client configured through a kubeconfig.
struct Stand {
    server: LeaseTestServer,
    client: Client,
    _kubeconfig_dir: TempDir,
}

impl Stand {
    async fn start() -> Self {
        let server = LeaseTestServer::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .expect("start lease test server");
        let kubeconfig_dir = tempfile::tempdir().expect("temporary directory");
        let kubeconfig = kubeconfig_dir.path().join("kubeconfig");
        write_kubeconfig(&kubeconfig, &server.url()).expect("write kubeconfig");
        let client = client_from(Some(&kubeconfig)).await.expect("kube client");
        Self {
            server,
            client,
            _kubeconfig_dir: kubeconfig_dir,
        }
    }

    fn api(&self) -> Api<Lease> {
        Api::namespaced(self.client.clone(), NAMESPACE)
    }

    fn candidate(&self, identity: &str) -> Candidate {
        let elector = LeaderElector::new(self.client.clone(), config(identity)).expect("elector");
        let leadership = elector.subscribe();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(elector.run(shutdown.clone()));
        Candidate {
            identity: identity.to_owned(),
            leadership,
            shutdown,
            task,
        }
    }

    fn stored_record(&self) -> ElectionRecord {
        let lease = self.server.lease(NAMESPACE, LEASE).expect("lease stored");
        ElectionRecord::from_lease(&lease)
    }

    /// Stores a lease with `record`, as if written by another node.
    fn seed(&self, record: &ElectionRecord) -> Lease {
        let lease = super::lease::new_lease(LEASE, NAMESPACE, record);
        self.server.put_lease(NAMESPACE, lease)
    }
}

fn config(identity: &str) -> ElectionConfig {
    ElectionConfig {
        lease_name: LEASE.to_owned(),
        namespace: NAMESPACE.to_owned(),
        identity: identity.to_owned(),
        lease_duration: LEASE_DURATION,
        renew_deadline: RENEW_DEADLINE,
        retry_period: RETRY_PERIOD,
        take_over_foreign: false,
    }
}

/// One running elector; aborted (without releasing) if dropped.
struct Candidate {
    identity: String,
    leadership: watch::Receiver<Leadership>,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl Candidate {
    fn now(&self) -> Leadership {
        self.leadership.borrow().clone()
    }

    async fn wait_until(
        &mut self,
        what: &str,
        within: Duration,
        condition: impl FnMut(&Leadership) -> bool,
    ) -> Leadership {
        let waited = tokio::time::timeout(within, self.leadership.wait_for(condition))
            .await
            .map(|result| result.map(|leadership| leadership.clone()));
        match waited {
            Ok(Ok(leadership)) => leadership,
            Ok(Err(_closed)) => panic!("{}: elector ended while waiting for {what}", self.identity),
            Err(_elapsed) => panic!(
                "{}: not {what} within {within:?}; last {:?}",
                self.identity,
                self.now()
            ),
        }
    }

    async fn wait_leader(&mut self) -> Leadership {
        self.wait_until("leader", SOON, |state| state.is_leader)
            .await
    }

    /// Cancels the elector and waits for it to release and finish.
    async fn stop(mut self) -> Instant {
        self.shutdown.cancel();
        tokio::time::timeout(SOON, &mut self.task)
            .await
            .expect("elector stops in time")
            .expect("elector task");
        Instant::now()
    }

    /// Ends the elector abruptly, as a crashed node: no release.
    fn crash(self) {
        self.task.abort();
    }
}

impl Drop for Candidate {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Every value `leadership` takes during `window`, starting with the current.
async fn states_during(
    leadership: &mut watch::Receiver<Leadership>,
    window: Duration,
) -> Vec<Leadership> {
    let end = tokio::time::Instant::now() + window;
    let mut states = vec![leadership.borrow_and_update().clone()];
    while let Ok(Ok(())) = tokio::time::timeout_at(end, leadership.changed()).await {
        states.push(leadership.borrow_and_update().clone());
    }
    states
}

/// Exactly one candidate leads and the others name it as holder.
fn assert_single_leader(candidates: &[&Candidate]) -> String {
    let leaders: Vec<&str> = candidates
        .iter()
        .filter(|candidate| candidate.now().is_leader)
        .map(|candidate| candidate.identity.as_str())
        .collect();
    assert_eq!(leaders.len(), 1, "exactly one leader expected: {leaders:?}");
    let leader = leaders[0].to_owned();
    for candidate in candidates {
        assert_eq!(candidate.now().holder, Some(format!("{leader}/vip-agent")));
    }
    leader
}
