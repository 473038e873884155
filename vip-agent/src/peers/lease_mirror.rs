//! The Lease as a mirror of the peer election: while this node leads and the API
//! answers, it writes itself as holder, so `kubectl get lease` keeps showing the leader.
//! Nothing waits on it: writes run beside the election, bounded by a timeout, and a
//! failed write is retried on the next period.
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::PostParams;
use kube::{Api, Client};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MirrorConfig {
    pub name: String,
    pub namespace: String,
    pub identity: String,
    /// Between writes while leading; also each write's time limit.
    pub period: Duration,
    /// Written as leaseDurationSeconds (whole seconds, at least 1).
    pub duration: Duration,
}

/// Keeps the Lease on this node while `leader` is true, until `shutdown`.
pub async fn mirror(
    client: Client,
    config: MirrorConfig,
    mut leader: watch::Receiver<bool>,
    shutdown: CancellationToken,
) {
    let api: Api<Lease> = Api::namespaced(client, &config.namespace);
    let mut failing = false;
    loop {
        if *leader.borrow_and_update() {
            match tokio::time::timeout(config.period, write_holder(&api, &config)).await {
                Ok(Ok(())) => {
                    if std::mem::take(&mut failing) {
                        info!(lease = %config.name, "Lease mirror written again");
                    }
                }
                Ok(Err(error)) => note_failure(&mut failing, &config, &error.to_string()),
                Err(_) => note_failure(&mut failing, &config, "timed out"),
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = leader.changed() => if changed.is_err() { return },
            () = tokio::time::sleep(config.period) => {}
        }
    }
}

fn note_failure(failing: &mut bool, config: &MirrorConfig, error: &str) {
    match std::mem::replace(failing, true) {
        false => {
            info!(lease = %config.name, error, "Lease mirror not written (the election does not depend on it)")
        }
        true => debug!(lease = %config.name, error, "Lease mirror not written"),
    }
}

async fn write_holder(api: &Api<Lease>, config: &MirrorConfig) -> Result<(), kube::Error> {
    let now = MicroTime(Timestamp::now());
    let seconds = i32::try_from(config.duration.as_secs().max(1)).unwrap_or(i32::MAX);
    let Some(mut lease) = api.get_opt(&config.name).await? else {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(config.name.clone()),
                namespace: Some(config.namespace.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(config.identity.clone()),
                lease_duration_seconds: Some(seconds),
                acquire_time: Some(now.clone()),
                renew_time: Some(now),
                lease_transitions: Some(0),
                ..LeaseSpec::default()
            }),
        };
        api.create(&PostParams::default(), &lease).await?;
        return Ok(());
    };
    let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
    if spec.holder_identity.as_deref() != Some(config.identity.as_str()) {
        spec.holder_identity = Some(config.identity.clone());
        spec.acquire_time = Some(now.clone());
        spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0).saturating_add(1));
    }
    spec.lease_duration_seconds = Some(seconds);
    spec.renew_time = Some(now);
    api.replace(&config.name, &PostParams::default(), &lease)
        .await?;
    Ok(())
}
