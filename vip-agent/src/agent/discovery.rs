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
            () = tokio::time::sleep(INTERVAL) => {}
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

    #[tokio::test]
    async fn discovers_control_plane_nodes_from_the_api() {
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
        let task = tokio::spawn(discover(client, tx, shutdown.clone()));
        tokio::time::timeout(Duration::from_secs(5), rx.changed())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            *rx.borrow(),
            [
                "10.0.0.1".parse::<IpAddr>().unwrap(),
                "10.0.0.2".parse().unwrap()
            ]
        );
        // An outage keeps the last known set.
        server.set_outage(true);
        shutdown.cancel();
        task.await.unwrap();
        assert_eq!(rx.borrow().len(), 2);
    }
}
