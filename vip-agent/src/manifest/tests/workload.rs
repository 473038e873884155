//! The DaemonSet and the static pod.
use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::*;
use crate::manifest::parts::CAPABILITIES;

#[test]
fn daemonset_has_the_required_fields() {
    let ds = &docs(&with_required("daemonset", &[]))[0];
    assert_eq!(
        (&ds["apiVersion"], &ds["kind"]),
        (&json!("apps/v1"), &json!("DaemonSet"))
    );
    assert_eq!(ds["metadata"]["namespace"], "kube-system");
    let pod = &ds["spec"]["template"]["spec"];
    assert_eq!(pod["hostNetwork"], true);
    assert_eq!(pod["dnsPolicy"], "ClusterFirstWithHostNet");
    assert_eq!(pod["enableServiceLinks"], false);
    assert_eq!(pod["priorityClassName"], "system-node-critical");
    assert_eq!(pod["serviceAccountName"], APP_NAME);
    let term = &pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        ["nodeSelectorTerms"][0];
    assert_eq!(
        term["matchExpressions"],
        json!([{"key": s::CONTROL_PLANE_NODE_LABEL, "operator": "Exists"}])
    );
    let tolerations = pod["tolerations"].as_array().unwrap();
    for key in [
        s::CONTROL_PLANE_NODE_LABEL,
        "node-role.kubernetes.io/master",
    ] {
        for effect in ["NoSchedule", "NoExecute"] {
            assert!(
                tolerations.contains(&json!({"key": key, "operator": "Exists", "effect": effect})),
                "{key} {effect}"
            );
        }
    }
    assert_eq!(
        ds["spec"]["selector"]["matchLabels"],
        ds["spec"]["template"]["metadata"]["labels"]
    );
    let c = container(ds);
    assert_eq!((&c["image"], &c["args"]), (&json!(IMAGE), &json!(["run"])));
    assert_eq!(
        env_of(ds)["VIP_NODE_NAME"],
        json!({"fieldRef": {"fieldPath": "spec.nodeName"}})
    );
    assert_eq!(
        c["livenessProbe"]["httpGet"],
        json!({"path": "/livez", "port": 2112, "scheme": "HTTP"})
    );
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(
        c["resources"]["requests"],
        json!({"cpu": "50m", "memory": "64Mi"})
    );
    assert!(c["resources"].get("limits").is_none());
    assert_eq!(
        pod["volumes"],
        json!([
            {"name": "bpffs", "hostPath": {"path": "/sys/fs/bpf", "type": "DirectoryOrCreate"}},
            {"name": "host-record", "hostPath": {"path": "/run/vip-agent", "type": "DirectoryOrCreate"}},
            {"name": "peer-key", "hostPath": {"path": "/etc/kubernetes/pki/ca.key", "type": "File"}},
        ])
    );
    assert_eq!(
        c["volumeMounts"],
        json!([
            {"name": "bpffs", "mountPath": "/sys/fs/bpf", "readOnly": false, "mountPropagation": "HostToContainer"},
            {"name": "host-record", "mountPath": "/run/vip-agent", "readOnly": false},
            {"name": "peer-key", "mountPath": "/etc/kubernetes/pki/ca.key", "readOnly": true},
        ])
    );
}

#[test]
fn security_context_is_exact_and_never_privileged() {
    for kind in ["daemonset", "pod"] {
        let doc = &docs(&with_required(kind, &[]))[0];
        let context = &container(doc)["securityContext"];
        assert_eq!(
            context["capabilities"],
            json!({"add": CAPABILITIES, "drop": ["ALL"]})
        );
        assert_eq!(CAPABILITIES, ["NET_ADMIN", "NET_RAW", "BPF", "PERFMON"]);
        assert_eq!(context["readOnlyRootFilesystem"], true);
        assert_eq!(context["allowPrivilegeEscalation"], false);
        let mut all = BTreeSet::new();
        keys(doc, &mut all);
        assert!(!all.contains("privileged"), "{kind}");
        let text = render(&parse(&with_required(kind, &[]))).unwrap();
        assert!(
            !text.contains("privileged") && !text.contains("SYS_ADMIN"),
            "{text}"
        );
    }
}

#[test]
fn static_pod_mounts_the_kubeadm_kubeconfig_and_ca() {
    let pod = &docs(&with_required("pod", &[]))[0];
    assert_eq!(
        (&pod["apiVersion"], &pod["kind"]),
        (&json!("v1"), &json!("Pod"))
    );
    let spec = &pod["spec"];
    assert!(spec.get("serviceAccountName").is_none() && spec.get("affinity").is_none());
    assert_eq!(
        (&spec["dnsPolicy"], &spec["hostNetwork"]),
        (&json!("Default"), &json!(true))
    );
    let env = env_of(pod);
    assert_eq!(env["VIP_KUBECONFIG"], "/etc/kubernetes/admin.conf");
    assert!(
        !env.contains_key("VIP_HEALTH_CA_FILE"),
        "the agent's default CA is kubeadm's"
    );
    let volumes = spec["volumes"].as_array().unwrap();
    for (name, path) in [
        ("kubeconfig", "/etc/kubernetes/admin.conf"),
        ("health-ca", "/etc/kubernetes/pki/ca.crt"),
    ] {
        assert!(
            volumes.contains(&json!({"name": name, "hostPath": {"path": path, "type": "File"}})),
            "{name}"
        );
        let mounts = container(pod)["volumeMounts"].as_array().unwrap();
        assert!(
            mounts.contains(&json!({"name": name, "mountPath": path, "readOnly": true})),
            "{name}"
        );
    }
    // Bootstrap without election reads no kubeconfig; --health-insecure needs no CA.
    let bare = &docs(&with_required(
        "pod",
        &["--election", "none", "--health-insecure"],
    ))[0];
    assert!(!env_of(bare).contains_key("VIP_KUBECONFIG"));
    let names: Vec<&Value> = bare["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["name"])
        .collect();
    assert_eq!(names, ["bpffs", "host-record"]);
}

#[test]
fn metrics_off_means_no_probes_and_no_ports() {
    let c = container(&docs(&with_required("daemonset", &["--metrics-addr", "off"]))[0]).clone();
    assert!(
        c.get("livenessProbe").is_none()
            && c.get("readinessProbe").is_none()
            && c.get("ports").is_none()
    );
}
