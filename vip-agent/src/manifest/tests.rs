use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::env::{non_default_env, run_command, run_settings};
use super::workload::{CAPABILITIES, SERVICE_ACCOUNT_CA};
use super::*;
use crate::config::{Cli, CliCommand, EXIT_USAGE};

const IMAGE: &str = "registry.example/vip-agent:0.1.0";
const REQUIRED: &[&str] = &[
    "--interface",
    "eth0",
    "--address",
    "192.0.2.100",
    "--backends",
    "192.0.2.11,192.0.2.12",
];

fn parse(args: &[&str]) -> ManifestArgs {
    let argv = ["vip-agent", "manifest"].iter().chain(args);
    match Cli::parse_from_env_and_args(argv, &BTreeMap::new())
        .unwrap()
        .cli
        .command
    {
        CliCommand::Manifest(args) => args,
        other => panic!("not manifest: {other:?}"),
    }
}

fn with_required<'a>(kind: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![kind, "--image", IMAGE];
    args.extend(REQUIRED.iter().copied().chain(extra.iter().copied()));
    args
}

fn docs(args: &[&str]) -> Vec<Value> {
    documents(&parse(args)).unwrap().1
}

fn container(doc: &Value) -> &Value {
    let spec = doc
        .pointer("/spec/template/spec")
        .or(doc.get("spec"))
        .unwrap();
    &spec["containers"][0]
}

fn env_of(doc: &Value) -> BTreeMap<String, Value> {
    let env = container(doc)["env"].as_array().unwrap();
    env.iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e.get("value").or(e.get("valueFrom")).unwrap().clone(),
            )
        })
        .collect()
}

/// Every key anywhere in `value`.
fn keys(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            out.insert(k.clone());
            keys(v, out);
        }),
        Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

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
        json!([{"name": "bpffs", "hostPath": {"path": "/sys/fs/bpf", "type": "DirectoryOrCreate"}}])
    );
    assert_eq!(
        c["volumeMounts"],
        json!([{"name": "bpffs", "mountPath": "/sys/fs/bpf", "readOnly": false, "mountPropagation": "HostToContainer"}])
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
fn every_run_setting_is_mapped_once_by_its_config_name() {
    let declared: BTreeSet<String> = run_command()
        .get_arguments()
        .filter_map(|arg| arg.get_env().map(|env| env.to_string_lossy().into_owned()))
        .collect();
    let run = parse(&with_required("daemonset", &[])).run;
    let mapped: Vec<&str> = run_settings(&run)
        .unwrap()
        .iter()
        .map(|(setting, _)| setting.env)
        .collect();
    assert_eq!(
        mapped
            .iter()
            .map(|env| env.to_string())
            .collect::<BTreeSet<_>>(),
        declared
    );
    assert_eq!(mapped.len(), declared.len(), "a setting is listed twice");
}

#[test]
fn env_holds_only_what_differs_from_the_defaults() {
    let ds = &docs(&with_required("daemonset", &[]))[0];
    let env = env_of(ds);
    let names: Vec<&str> = env.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "VIP_ADDRESS",
            "VIP_BACKENDS",
            "VIP_HEALTH_CA_FILE",
            "VIP_INTERFACE",
            "VIP_NODE_NAME"
        ]
    );
    assert_eq!(env["VIP_BACKENDS"], "192.0.2.11,192.0.2.12");
    assert_eq!(env["VIP_HEALTH_CA_FILE"], SERVICE_ACCOUNT_CA);
    let explicit_default = parse(&with_required(
        "daemonset",
        &["--port", "6443", "--election", "lease"],
    ));
    assert_eq!(
        non_default_env(&explicit_default.run).unwrap(),
        non_default_env(&parse(&with_required("daemonset", &[])).run).unwrap()
    );
}

/// The variables of a rendered DaemonSet give `run` the configuration the flags gave.
#[test]
fn env_round_trips_through_run() {
    let extra = [
        "--port",
        "6443,8443",
        "--backend-port",
        "16443",
        "--lease-name",
        "cp-lock",
        "--lease-duration",
        "15s",
        "--renew-deadline",
        "10s",
        "--retry-period",
        "2s",
        "--metrics-addr",
        "127.0.0.1:9100",
        "--xdp-mode",
        "skb",
        "--health-timeout",
        "500ms",
        "--health-rise",
        "3",
        "--maglev-size",
        "4099",
        "--hash-seed",
        "0x2a",
        "--bpffs-dir",
        "/run/vip-bpf",
        "--keep-forwarding-on-exit",
        "--garp-interval",
        "30s",
        "--log-format",
        "json",
        "--log-level",
        "debug",
    ];
    let args = parse(&with_required("daemonset", &extra));
    let ds = &documents(&args).unwrap().1[0];
    let mut env: BTreeMap<String, String> = env_of(ds)
        .into_iter()
        .filter_map(|(k, v)| Some((k, v.as_str()?.to_owned())))
        .collect();
    env.insert("VIP_NODE_NAME".into(), "cp-1".into());
    let CliCommand::Run(run) = Cli::parse_from_env_and_args(["vip-agent", "run"], &env)
        .unwrap()
        .cli
        .command
    else {
        panic!()
    };
    let mut expected = args.run.clone();
    expected.health.health_ca_file = Some(SERVICE_ACCOUNT_CA.into());
    let node = || Ok("cp-1".to_owned());
    assert_eq!(
        run.to_run_config_with(node).unwrap(),
        expected.to_run_config_with(node).unwrap()
    );
    let probe = &container(ds)["livenessProbe"]["httpGet"];
    assert_eq!(
        (&probe["host"], &probe["port"]),
        (&json!("127.0.0.1"), &json!(9100))
    );
    let paths: Vec<&Value> = ds["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["hostPath"]["path"])
        .collect();
    assert_eq!(paths, [&json!("/sys/fs/bpf"), &json!("/run/vip-bpf")]);
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
    assert_eq!(bare["spec"]["volumes"].as_array().unwrap().len(), 1);
}

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

#[test]
fn image_is_required_for_workloads_only() {
    for kind in ["daemonset", "pod"] {
        let mut args = parse(&with_required(kind, &[]));
        args.image = None;
        let error = render(&args).unwrap_err();
        assert!(
            matches!(error, ManifestError::MissingImage { .. }),
            "{error}"
        );
        assert_eq!(error.exit_code(), EXIT_USAGE);
        assert!(error.to_string().contains("--image (VIP_IMAGE)"), "{error}");
        args.image = Some("with space".into());
        assert!(matches!(
            render(&args),
            Err(ManifestError::InvalidImage { .. })
        ));
    }
    assert!(render(&parse(&["rbac"])).is_ok());
}

#[test]
fn invalid_run_settings_are_refused_like_run_refuses_them() {
    let no_backends = parse(&[
        "daemonset",
        "--image",
        IMAGE,
        "--interface",
        "eth0",
        "--address",
        "192.0.2.1",
    ]);
    assert!(matches!(
        render(&no_backends),
        Err(ManifestError::Config(ConfigError::NoBackendSource { .. }))
    ));
    let node = parse(&with_required("pod", &["--node-name", "cp-1"]));
    assert!(matches!(
        render(&node),
        Err(ManifestError::NodeNameFixed { .. })
    ));
    let bad_lease = parse(&["rbac", "--lease-duration", "1s"]);
    assert!(matches!(render(&bad_lease), Err(ManifestError::Config(_))));
}

#[test]
fn output_is_deterministic_and_its_header_regenerates_it() {
    let mut args = vec![
        "daemonset",
        "--image",
        IMAGE,
        "--interface",
        "eth0",
        "--address",
        "192.0.2.100",
        "--port",
        "8443",
        "--discover-backends",
    ];
    let first = render(&parse(&args)).unwrap();
    assert_eq!(first, render(&parse(&args)).unwrap());
    args.rotate_left(3); // the flags in another order
    assert_eq!(first, render(&parse(&args)).unwrap());
    let command = first
        .lines()
        .next()
        .unwrap()
        .strip_prefix("# Generated by: vip-agent manifest ")
        .unwrap();
    assert_eq!(
        render(&parse(&command.split(' ').collect::<Vec<_>>())).unwrap(),
        first
    );
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
