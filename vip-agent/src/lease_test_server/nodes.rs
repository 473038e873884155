//! The node list the stand-in serves for backend discovery: `GET /api/v1/nodes` with an
//! equality or existence `labelSelector`, as `Api<Node>::list` sends it.
use k8s_openapi::api::core::v1::{Node, NodeAddress, NodeStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::json;

pub const NODES_PATH: &str = "/api/v1/nodes";

/// A node with an InternalIP and labels, as kubelet registers one.
pub fn node(name: &str, internal_ip: &str, labels: &[(&str, &str)]) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ),
            ..Default::default()
        },
        status: Some(NodeStatus {
            addresses: Some(vec![
                NodeAddress {
                    type_: "Hostname".into(),
                    address: name.to_owned(),
                },
                NodeAddress {
                    type_: "InternalIP".into(),
                    address: internal_ip.to_owned(),
                },
            ]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn selector_matches(node: &Node, selector: &str) -> bool {
    let labels = node.metadata.labels.clone().unwrap_or_default();
    selector
        .split(',')
        .filter(|term| !term.is_empty())
        .all(|term| match term.split_once('=') {
            Some((key, value)) => labels
                .get(key.trim_end_matches('='))
                .is_some_and(|v| v == value),
            None => labels.contains_key(term),
        })
}

/// The `NodeList` body for a query string.
pub fn list(nodes: &[Node], query: Option<&str>) -> serde_json::Value {
    let selector = query
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("labelSelector="))
        .map(|s| {
            s.replace("%2F", "/")
                .replace("%3D", "=")
                .replace("%2C", ",")
        })
        .unwrap_or_default();
    let items: Vec<&Node> = nodes
        .iter()
        .filter(|n| selector_matches(n, &selector))
        .collect();
    json!({ "apiVersion": "v1", "kind": "NodeList", "metadata": { "resourceVersion": "1" }, "items": items })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_by_label_existence_and_value() {
        let nodes = [
            node(
                "cp1",
                "10.0.0.1",
                &[("node-role.kubernetes.io/control-plane", "")],
            ),
            node("w1", "10.0.0.9", &[("role", "worker")]),
        ];
        let names = |v: serde_json::Value| -> Vec<String> {
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["metadata"]["name"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(
            names(list(
                &nodes,
                Some("labelSelector=node-role.kubernetes.io%2Fcontrol-plane")
            )),
            ["cp1"]
        );
        assert_eq!(
            names(list(&nodes, Some("labelSelector=role%3Dworker"))),
            ["w1"]
        );
        assert_eq!(names(list(&nodes, None)).len(), 2);
    }
}
