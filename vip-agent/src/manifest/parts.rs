//! The pieces of the agent's pod that do not depend on the settings.
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, HTTPGetAction, HostPathVolumeSource, NodeAffinity, NodeSelector,
    NodeSelectorRequirement, NodeSelectorTerm, Probe, SecurityContext, Toleration, Volume,
    VolumeMount,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::config::settings as s;

/// Capabilities added to the container; everything else is dropped.
pub const CAPABILITIES: [&str; 4] = ["NET_ADMIN", "NET_RAW", "BPF", "PERFMON"];
const OLD_CONTROL_PLANE_LABEL: &str = "node-role.kubernetes.io/master";

pub fn security_context() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities {
            add: Some(CAPABILITIES.iter().map(|c| (*c).to_owned()).collect()),
            drop: Some(vec!["ALL".to_owned()]),
        }),
        read_only_root_filesystem: Some(true),
        // Capabilities reach only a root process; the image may say otherwise.
        run_as_user: Some(0),
        run_as_non_root: Some(false),
        ..Default::default()
    }
}

pub fn probe(path: &str, port: i32, host: &Option<String>, period: i32, delay: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_owned()),
            port: IntOrString::Int(port),
            host: host.clone(),
            scheme: Some("HTTP".to_owned()),
            ..Default::default()
        }),
        initial_delay_seconds: Some(delay),
        period_seconds: Some(period),
        timeout_seconds: Some(3),
        failure_threshold: Some(3),
        ..Default::default()
    }
}

pub fn host_path(name: &str, path: &str, type_: &str) -> Volume {
    Volume {
        name: name.to_owned(),
        host_path: Some(HostPathVolumeSource {
            path: path.to_owned(),
            type_: Some(type_.to_owned()),
        }),
        ..Default::default()
    }
}

/// Read-only, or read-write with `HostToContainer` propagation when `propagate`.
pub fn mount(name: &str, path: &str, read_only: bool, propagate: bool) -> VolumeMount {
    VolumeMount {
        name: name.to_owned(),
        mount_path: path.to_owned(),
        read_only: Some(read_only),
        mount_propagation: propagate.then(|| "HostToContainer".to_owned()),
        ..Default::default()
    }
}

pub fn control_plane_affinity() -> Affinity {
    Affinity {
        node_affinity: Some(NodeAffinity {
            required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                node_selector_terms: vec![NodeSelectorTerm {
                    match_expressions: Some(vec![NodeSelectorRequirement {
                        key: s::CONTROL_PLANE_NODE_LABEL.to_owned(),
                        operator: "Exists".to_owned(),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }],
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Control-plane taints of kubeadm (current and pre-1.24) and k3s's CriticalAddonsOnly.
pub fn control_plane_tolerations() -> Vec<Toleration> {
    let mut tolerations = Vec::new();
    for key in [s::CONTROL_PLANE_NODE_LABEL, OLD_CONTROL_PLANE_LABEL] {
        for effect in ["NoSchedule", "NoExecute"] {
            tolerations.push(Toleration {
                key: Some(key.to_owned()),
                operator: Some("Exists".to_owned()),
                effect: Some(effect.to_owned()),
                ..Default::default()
            });
        }
    }
    tolerations.push(Toleration {
        key: Some("CriticalAddonsOnly".to_owned()),
        operator: Some("Exists".to_owned()),
        ..Default::default()
    });
    tolerations
}
