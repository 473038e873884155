//! ServiceAccount, Lease Role and the node reader.
use serde_json::{json, Value};

use super::*;

#[test]
fn rbac_is_the_lease_only_unless_discovery_is_on() {
    let objects = docs(&[
        "rbac",
        "--namespace",
        "vip",
        "--lease-namespace",
        "leases",
        "--lease-name",
        "cp",
    ]);
    let kinds: Vec<&Value> = objects.iter().map(|o| &o["kind"]).collect();
    assert_eq!(kinds, ["ServiceAccount", "Role", "RoleBinding"]);
    assert_eq!(objects[0]["metadata"]["namespace"], "vip");
    assert_eq!(objects[1]["metadata"]["namespace"], "leases");
    assert_eq!(
        objects[1]["rules"],
        json!([
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "resourceNames": ["cp"], "verbs": ["get", "update"]},
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
        ])
    );
    assert_eq!(
        objects[2]["subjects"],
        json!([{"kind": "ServiceAccount", "name": APP_NAME, "namespace": "vip"}])
    );
    assert!(!serde_json::to_string(&objects).unwrap().contains("nodes"));

    let objects = docs(&["rbac", "--discover-backends"]);
    let kinds: Vec<&Value> = objects.iter().map(|o| &o["kind"]).collect();
    assert_eq!(
        kinds,
        [
            "ServiceAccount",
            "Role",
            "RoleBinding",
            "ClusterRole",
            "ClusterRoleBinding"
        ]
    );
    assert_eq!(
        objects[3]["rules"],
        json!([{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]}])
    );
    assert_eq!(
        objects[4]["roleRef"]["name"],
        objects[3]["metadata"]["name"]
    );

    let kinds: Vec<Value> = docs(&["rbac", "--election", "none"])
        .into_iter()
        .map(|o| o["kind"].clone())
        .collect();
    assert_eq!(kinds, ["ServiceAccount"]);
}
