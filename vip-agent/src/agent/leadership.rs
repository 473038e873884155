//! Leadership as a `watch<bool>`: from the Lease elector, or always true without election.
use std::sync::Arc;

use kube::Client;
use tokio::{sync::watch, task::JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::AgentError;
use crate::{
    config::{Election, RunConfig},
    election::{ElectionConfig, ElectionObserver, LeaderElector},
};

pub fn start(
    config: &RunConfig,
    client: Option<Client>,
    tasks: &mut JoinSet<()>,
    observer: Arc<dyn ElectionObserver>,
    shutdown: CancellationToken,
) -> Result<watch::Receiver<bool>, AgentError> {
    let Election::Lease(lease) = &config.election else {
        info!("--election none: this node announces the VIPs");
        // The sender lives in a task until shutdown, so the receiver never closes early.
        let (tx, rx) = watch::channel(true);
        tasks.spawn(async move {
            shutdown.cancelled().await;
            drop(tx);
        });
        return Ok(rx);
    };
    let client = client.expect("a Lease election always has a client");
    let elector = LeaderElector::new(
        client,
        ElectionConfig {
            lease_name: lease.name.clone(),
            namespace: lease.namespace.clone(),
            identity: config.node_name.clone(),
            lease_duration: lease.lease_duration,
            renew_deadline: lease.renew_deadline,
            retry_period: lease.retry_period,
            take_over_foreign: lease.take_over_foreign,
        },
    )?
    .with_observer(observer);
    let mut leadership = elector.subscribe();
    let (tx, rx) = watch::channel(leadership.borrow().is_leader);
    tasks.spawn(elector.run(shutdown));
    tasks.spawn(async move {
        while leadership.changed().await.is_ok() {
            let is_leader = leadership.borrow().is_leader;
            tx.send_if_modified(|current| std::mem::replace(current, is_leader) != is_leader);
        }
        // The elector released its lease and stopped: stop announcing.
        let _ = tx.send(false);
    });
    Ok(rx)
}
