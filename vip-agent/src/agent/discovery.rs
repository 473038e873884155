//! Backends from the Kubernetes API: the InternalIP of every control-plane node. On an API
//! error the last known set stays (the API may be down exactly when it is needed most).
use std::net::IpAddr;
use std::time::Duration;

use k8s_openapi::api::core::v1::Node;
use kube::{api::ListParams, Api, Client};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::settings::CONTROL_PLANE_NODE_LABEL;

const INTERVAL: Duration = Duration::from_secs(5);

/// InternalIPs of `nodes`, sorted and without duplicates; nodes without one are skipped.
pub fn internal_ips(nodes: &[Node]) -> Vec<IpAddr> {
    let mut ips: Vec<IpAddr> = nodes
        .iter()
        .filter_map(|n| n.status.as_ref()?.addresses.as_ref())
        .flat_map(|addresses| addresses.iter().filter(|a| a.type_ == "InternalIP"))
        .filter_map(|a| a.address.parse().ok())
        .collect();
    ips.sort();
    ips.dedup();
    ips
}

pub async fn discover(
    client: Client,
    backends: watch::Sender<Vec<IpAddr>>,
    shutdown: CancellationToken,
) {
    discover_every(client, backends, INTERVAL, shutdown).await
}

/// `discover` with the listing interval as a parameter (tests list faster).
pub async fn discover_every(
    client: Client,
    backends: watch::Sender<Vec<IpAddr>>,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let nodes: Api<Node> = Api::all(client);
    let params = ListParams::default().labels(CONTROL_PLANE_NODE_LABEL);
    loop {
        match nodes.list(&params).await {
            Ok(list) => {
                let ips = internal_ips(&list.items);
                if *backends.borrow() != ips {
                    info!(backends = ?ips, "control-plane nodes discovered");
                    backends.send_replace(ips);
                }
            }
            Err(error) => {
                warn!(%error, "listing control-plane nodes failed; keeping the last known backends")
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lease_test_server::nodes::node;

    #[test]
    fn internal_ips_are_sorted_and_unique() {
        let label = [(CONTROL_PLANE_NODE_LABEL, "")];
        let nodes = [
            node("b", "10.0.0.2", &label),
            node("a", "10.0.0.1", &label),
            node("c", "not-an-ip", &label),
        ];
        assert_eq!(
            internal_ips(&nodes),
            [
                "10.0.0.1".parse::<IpAddr>().unwrap(),
                "10.0.0.2".parse().unwrap()
            ]
        );
    }

    /// Item 17 of issue 10: the outage is in effect while listings run (the old test
    /// cancelled before any did); the last known set survives them and discovery resumes.
    #[tokio::test]
    async fn discovers_control_plane_nodes_and_keeps_them_through_an_outage() {
        let server =
            crate::lease_test_server::LeaseTestServer::start("127.0.0.1:0".parse().unwrap())
                .await
                .unwrap();
        let label = [(CONTROL_PLANE_NODE_LABEL, "")];
        server.set_nodes(vec![
            node("cp1", "10.0.0.1", &label),
            node("cp2", "10.0.0.2", &label),
            node(
                "worker",
                "10.0.0.9",
                &[("node-role.kubernetes.io/worker", "")],
            ),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        crate::lease_test_server::write_kubeconfig(&kubeconfig, &server.url()).unwrap();
        let client = crate::election::client_from(Some(&kubeconfig))
            .await
            .unwrap();
        let (tx, mut rx) = watch::channel(Vec::new());
        let shutdown = CancellationToken::new();
        let every = Duration::from_millis(50);
        let task = tokio::spawn(discover_every(client, tx, every, shutdown.clone()));
        let wait = Duration::from_secs(5);
        tokio::time::timeout(wait, rx.changed())
            .await
            .unwrap()
            .unwrap();
        let two: Vec<IpAddr> = vec!["10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()];
        assert_eq!(*rx.borrow_and_update(), two);

        server.set_outage(true);
        let failed_before = server.answers_with(503);
        tokio::time::timeout(wait, async {
            while server.answers_with(503) < failed_before + 3 {
                tokio::time::sleep(every).await;
            }
        })
        .await
        .expect("three listings failed during the outage");
        assert!(!rx.has_changed().unwrap(), "an outage changed the backends");
        assert_eq!(*rx.borrow(), two);

        server.set_outage(false);
        server.set_nodes(vec![node("cp1", "10.0.0.1", &label)]);
        tokio::time::timeout(wait, rx.changed())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(*rx.borrow(), ["10.0.0.1".parse::<IpAddr>().unwrap()]);
        shutdown.cancel();
        task.await.unwrap();
    }
}
