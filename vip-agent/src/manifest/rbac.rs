//! Least-privilege RBAC for the DaemonSet's service account.
//!
//! The elector reads (`get`), creates (`create`) and renews (`update`) one Lease in
//! `--lease-namespace`; `get` and `update` are limited to that Lease by name, `create`
//! cannot be (the name is not known to the authorizer before the object exists). Nodes
//! are readable cluster-wide only with `--discover-backends`; `--election none` needs
//! no Lease rules, and then only the ServiceAccount is printed.
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::workload::labels;
use super::{to_value, ManifestError, APP_NAME};
use crate::config::{ElectionMode, ManifestArgs};

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
const LEASE_GROUP: &str = "coordination.k8s.io";
/// Cluster-scoped objects carry the purpose in the name: a ClusterRole is global.
pub const NODE_READER: &str = "vip-agent:node-reader";

/// The ServiceAccount, then the Role and RoleBinding for the Lease, then the node reader.
pub fn objects(args: &ManifestArgs) -> Result<Vec<serde_json::Value>, ManifestError> {
    let run = &args.run;
    let subject = Subject {
        kind: "ServiceAccount".to_owned(),
        name: APP_NAME.to_owned(),
        namespace: Some(args.namespace.clone()),
        ..Default::default()
    };
    let mut objects = vec![to_value(
        "ServiceAccount",
        ServiceAccount {
            metadata: meta(APP_NAME, Some(&args.namespace)),
            ..Default::default()
        },
    )?];
    // The peer election mirrors its leader into the Lease too.
    if run.election != ElectionMode::None {
        let namespace = Some(run.lease_namespace.as_str());
        let role = Role {
            metadata: meta(APP_NAME, namespace),
            rules: Some(vec![
                rule(
                    LEASE_GROUP,
                    "leases",
                    Some(&run.lease_name),
                    &["get", "update"],
                ),
                rule(LEASE_GROUP, "leases", None, &["create"]),
            ]),
        };
        let binding = RoleBinding {
            metadata: meta(APP_NAME, namespace),
            role_ref: role_ref("Role", APP_NAME),
            subjects: Some(vec![subject.clone()]),
        };
        objects.push(to_value("Role", role)?);
        objects.push(to_value("RoleBinding", binding)?);
    }
    if run.discover_backends {
        let role = ClusterRole {
            metadata: meta(NODE_READER, None),
            rules: Some(vec![rule("", "nodes", None, &["get", "list", "watch"])]),
            ..Default::default()
        };
        let binding = ClusterRoleBinding {
            metadata: meta(NODE_READER, None),
            role_ref: role_ref("ClusterRole", NODE_READER),
            subjects: Some(vec![subject]),
        };
        objects.push(to_value("ClusterRole", role)?);
        objects.push(to_value("ClusterRoleBinding", binding)?);
    }
    Ok(objects)
}

fn meta(name: &str, namespace: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: namespace.map(str::to_owned),
        labels: Some(labels()),
        ..Default::default()
    }
}

fn rule(group: &str, resource: &str, name: Option<&str>, verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec![group.to_owned()]),
        resources: Some(vec![resource.to_owned()]),
        resource_names: name.map(|name| vec![name.to_owned()]),
        verbs: verbs.iter().map(|verb| (*verb).to_owned()).collect(),
        ..Default::default()
    }
}

fn role_ref(kind: &str, name: &str) -> RoleRef {
    RoleRef {
        api_group: RBAC_GROUP.to_owned(),
        kind: kind.to_owned(),
        name: name.to_owned(),
    }
}
