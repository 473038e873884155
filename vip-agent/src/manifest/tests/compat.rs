//! kube-vip's manifest flags, the keep-forwarding default, and the cleanup Job.
use super::*;

#[test]
fn manifests_keep_forwarding_unless_told_not_to() {
    let pod = &docs(&with_required("pod", &[]))[0];
    assert_eq!(env_of(pod)["VIP_KEEP_FORWARDING_ON_EXIT"], "true");
    let pod = &docs(&with_required("pod", &["--no-keep-forwarding-on-exit"]))[0];
    assert!(!env_of(pod).contains_key("VIP_KEEP_FORWARDING_ON_EXIT"));
    let header = render(&parse(&with_required(
        "pod",
        &["--no-keep-forwarding-on-exit"],
    )))
    .unwrap();
    assert!(
        header
            .lines()
            .next()
            .unwrap()
            .ends_with(" --no-keep-forwarding-on-exit"),
        "{header}"
    );
}

#[test]
fn a_copied_kube_vip_command_renders_like_the_native_one() {
    let kube_vip = [
        "pod",
        "--image",
        IMAGE,
        "--interface",
        "eth0",
        "--vip",
        "192.0.2.100",
        "--controlplane",
        "--arp",
        "--leaderElection",
        "--inCluster",
        "--taint",
        "--backends",
        "192.0.2.11,192.0.2.12",
    ];
    assert_eq!(
        render(&parse(&kube_vip)).unwrap(),
        render(&parse(&with_required("pod", &[]))).unwrap()
    );
}

#[test]
fn services_is_refused_by_name() {
    let error = documents(&parse(&with_required("daemonset", &["--services"])))
        .expect_err("--services must be refused");
    let text = error.to_string();
    assert!(text.starts_with("--services is not supported: "), "{text}");
    assert_eq!(error.exit_code(), crate::config::EXIT_USAGE);
}

#[test]
fn cleanup_job_runs_cleanup_on_the_named_node_with_the_agents_privileges() {
    let job = &docs(&["cleanup", "--image", IMAGE, "--node", "cp-1.example.com"])[0];
    assert_eq!(job["kind"], "Job");
    assert_eq!(job["apiVersion"], "batch/v1");
    assert_eq!(
        job["metadata"]["name"],
        "vip-agent-cleanup-cp-1-example-com"
    );
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["nodeName"], "cp-1.example.com");
    assert_eq!(pod["hostNetwork"], true);
    assert_eq!(pod["restartPolicy"], "Never");
    let container = &pod["containers"][0];
    assert_eq!(container["image"], IMAGE);
    assert_eq!(container["args"], serde_json::json!(["cleanup"]));
    assert_eq!(
        container["securityContext"]["capabilities"]["add"],
        serde_json::json!(["NET_ADMIN", "NET_RAW", "BPF", "PERFMON"])
    );
    let mounts: Vec<&str> = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mountPath"].as_str().unwrap())
        .collect();
    assert_eq!(mounts, ["/sys/fs/bpf", "/run/vip-agent"]);
    assert!(container.get("env").is_none());

    let custom = &docs(&[
        "cleanup",
        "--image",
        IMAGE,
        "--node",
        "cp-2",
        "--bpffs-dir",
        "/run/vip-bpf/pins",
    ])[0];
    let container = &custom["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["env"][0]["name"], "VIP_BPFFS_DIR");
    assert_eq!(container["env"][0]["value"], "/run/vip-bpf/pins");
}

#[test]
fn cleanup_needs_a_valid_node_name() {
    let missing = documents(&parse(&["cleanup", "--image", IMAGE])).err();
    assert!(matches!(missing, Some(ManifestError::MissingNode)));
    let invalid = documents(&parse(&["cleanup", "--image", IMAGE, "--node", "CP_1"])).err();
    assert!(
        matches!(&invalid, Some(ManifestError::InvalidNode { value }) if value == "CP_1"),
        "{invalid:?}"
    );
}
