//! The stand-in answers kube's `Api<Lease>` calls as the apiserver does.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, PostParams};
use tokio_util::sync::CancellationToken;

use super::super::client_from;
use super::super::lease::{new_lease, ElectionRecord};
use super::{Stand, LEASE, NAMESPACE};
use crate::lease_test_server::{serve, write_kubeconfig};

fn lease_held_by(holder: &str) -> Lease {
    let record = ElectionRecord::first(holder, 1, Timestamp::now());
    new_lease(LEASE, NAMESPACE, &record)
}

/// The HTTP status and reason of a failed kube call.
fn api_failure<T: std::fmt::Debug>(result: kube::Result<T>) -> (u16, String) {
    match result {
        Err(kube::Error::Api(status)) => (status.code, status.reason.clone()),
        other => panic!("expected an API error status, got {other:?}"),
    }
}

#[tokio::test]
async fn absent_lease_reads_as_not_found() {
    let stand = Stand::start().await;
    let api = stand.api();
    assert_eq!(
        api_failure(api.get(LEASE).await),
        (404, "NotFound".to_owned())
    );
    assert!(api.get_opt(LEASE).await.expect("get_opt").is_none());
}

#[tokio::test]
async fn create_conflicts_when_the_lease_exists() {
    let stand = Stand::start().await;
    let api = stand.api();
    let created = api
        .create(&PostParams::default(), &lease_held_by("node-a"))
        .await
        .expect("create");
    assert_eq!(created.metadata.namespace.as_deref(), Some(NAMESPACE));
    assert!(created.metadata.uid.is_some() && created.metadata.creation_timestamp.is_some());
    let again = api
        .create(&PostParams::default(), &lease_held_by("node-b"))
        .await;
    assert_eq!(api_failure(again), (409, "AlreadyExists".to_owned()));
    // Server-assigned resourceVersion cannot be sent on create.
    assert_eq!(
        api_failure(api.create(&PostParams::default(), &created).await).0,
        500
    );
}

#[tokio::test]
async fn replace_enforces_resource_version() {
    let stand = Stand::start().await;
    let api = stand.api();
    let created = api
        .create(&PostParams::default(), &lease_held_by("node-a"))
        .await
        .expect("create");
    let replaced = api
        .replace(
            LEASE,
            &PostParams::default(),
            &lease_held_by("node-b").with_version(&created),
        )
        .await
        .expect("replace");
    let version = |lease: &Lease| {
        lease
            .metadata
            .resource_version
            .clone()
            .expect("resourceVersion")
    };
    assert!(
        version(&replaced).parse::<u64>().expect("numeric")
            > version(&created).parse().expect("numeric")
    );
    assert_eq!(replaced.metadata.uid, created.metadata.uid);
    // Writing on top of the stale version loses.
    let stale = api
        .replace(
            LEASE,
            &PostParams::default(),
            &lease_held_by("node-c").with_version(&created),
        )
        .await;
    assert_eq!(api_failure(stale), (409, "Conflict".to_owned()));
    // Leases do not allow unconditional updates.
    let unconditional = api
        .replace(LEASE, &PostParams::default(), &lease_held_by("node-c"))
        .await;
    assert_eq!(api_failure(unconditional), (422, "Invalid".to_owned()));
    let stored = ElectionRecord::from_lease(&stand.server.lease(NAMESPACE, LEASE).expect("stored"));
    assert_eq!(stored.holder.as_deref(), Some("node-b"));
    // Deleting, then replacing, creates again (leases allow create-on-update).
    api.delete(LEASE, &DeleteParams::default())
        .await
        .expect("delete");
    api.replace(LEASE, &PostParams::default(), &replaced)
        .await
        .expect("create on update");
    assert_eq!(stand.server.answers_with(201), 2);
}

trait WithVersion {
    fn with_version(self, of: &Lease) -> Self;
}

impl WithVersion for Lease {
    fn with_version(mut self, of: &Lease) -> Self {
        self.metadata.resource_version = of.metadata.resource_version.clone();
        self
    }
}

#[tokio::test]
async fn outages_answer_503_or_nothing_then_recover() {
    let stand = Stand::start().await;
    let api = stand.api();
    stand.server.set_outage(true);
    assert_eq!(
        api_failure(api.get_opt(LEASE).await),
        (503, "ServiceUnavailable".to_owned())
    );
    stand.server.set_outage(false);
    assert!(api.get_opt(LEASE).await.expect("answers again").is_none());

    stand.server.black_hole_for(Duration::from_millis(600));
    let unanswered = tokio::time::timeout(Duration::from_millis(300), api.get_opt(LEASE)).await;
    assert!(
        unanswered.is_err(),
        "a black-holed request must not be answered"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(api
        .get_opt(LEASE)
        .await
        .expect("answers after the window")
        .is_none());
}

#[tokio::test]
async fn serves_standalone_until_shutdown() {
    // Learn a free port, then let `serve` bind it (as the lab process would).
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .expect("probe port")
        .local_addr()
        .expect("addr")
        .port();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(serve(addr, shutdown.clone()));
    let dir = tempfile::tempdir().expect("temporary directory");
    let kubeconfig = dir.path().join("kubeconfig");
    write_kubeconfig(&kubeconfig, &format!("http://{addr}")).expect("kubeconfig");
    let api = kube::Api::<Lease>::namespaced(
        client_from(Some(&kubeconfig)).await.expect("client"),
        NAMESPACE,
    );
    let mut answered = false;
    for _ in 0..50 {
        if let Ok(None) = api.get_opt(LEASE).await {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(answered, "standalone server never answered");
    shutdown.cancel();
    let finished = tokio::time::timeout(Duration::from_secs(2), server).await;
    finished
        .expect("serve returns after shutdown")
        .expect("task")
        .expect("serve");
}
