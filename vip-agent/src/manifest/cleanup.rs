//! `vip-agent manifest cleanup --node NODE`: a Job that uninstalls the agent's traces
//! from one node with the image itself: it runs `vip-agent cleanup` there (detach XDP,
//! unpin the maps, take the VIP off lo) with the same privileges and host paths as the
//! agent's pod. Run it for each control-plane node after deleting the DaemonSet or the
//! static pod.
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{Container, EnvVar, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::env::path_text;
use super::parts::{control_plane_tolerations, host_path, mount, security_context};
use super::workload::{labels, BPFFS_MOUNT};
use super::{ManifestError, APP_NAME};
use crate::agent::HOST_RECORD_DIR;
use crate::config::settings as s;
use crate::config::ManifestArgs;

/// Kubernetes names and the `job-name` label they become stop at 63 characters.
const MAX_NAME: usize = 63;

pub fn job(args: &ManifestArgs, image: &str) -> Result<Job, ManifestError> {
    let node = node_name(args)?;
    let mut volumes = vec![
        host_path("bpffs", BPFFS_MOUNT, "Directory"),
        host_path("host-record", HOST_RECORD_DIR, "DirectoryOrCreate"),
    ];
    let mut mounts = vec![
        mount("bpffs", BPFFS_MOUNT, false, true),
        mount("host-record", HOST_RECORD_DIR, false, false),
    ];
    let mut env = Vec::new();
    let bpffs_dir = &args.run.bpffs_dir;
    if bpffs_dir.as_os_str() != s::DEFAULT_BPFFS_DIR {
        let dir = path_text(s::BPFFS_DIR, bpffs_dir)?;
        if !bpffs_dir.starts_with(BPFFS_MOUNT) {
            volumes.push(host_path("bpffs-dir", &dir, "Directory"));
            mounts.push(mount("bpffs-dir", &dir, false, true));
        }
        env.push(EnvVar {
            name: s::BPFFS_DIR.env.to_owned(),
            value: Some(dir),
            ..Default::default()
        });
    }
    let container = Container {
        name: "cleanup".to_owned(),
        image: Some(image.to_owned()),
        image_pull_policy: Some("IfNotPresent".to_owned()),
        args: Some(vec!["cleanup".to_owned()]),
        env: (!env.is_empty()).then_some(env),
        security_context: Some(security_context()),
        volume_mounts: Some(mounts),
        ..Default::default()
    };
    let mut job_labels = labels();
    job_labels.insert(
        "app.kubernetes.io/component".to_owned(),
        "cleanup".to_owned(),
    );
    Ok(Job {
        metadata: ObjectMeta {
            name: Some(job_name(&node)),
            namespace: Some(args.namespace.clone()),
            labels: Some(job_labels.clone()),
            ..Default::default()
        },
        spec: Some(JobSpec {
            backoff_limit: Some(2),
            ttl_seconds_after_finished: Some(3600),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(job_labels),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    // Bound to the node directly: no scheduler, so it also runs while
                    // the node is cordoned.
                    node_name: Some(node),
                    containers: vec![container],
                    host_network: Some(true),
                    restart_policy: Some("Never".to_owned()),
                    tolerations: Some(control_plane_tolerations()),
                    volumes: Some(volumes),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// The `--node` value, checked as a Kubernetes node name (a DNS subdomain).
fn node_name(args: &ManifestArgs) -> Result<String, ManifestError> {
    let node = args.node.clone().ok_or(ManifestError::MissingNode)?;
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    if node.len() > 253 || !node.split('.').all(label_ok) {
        return Err(ManifestError::InvalidNode { value: node });
    }
    Ok(node)
}

/// `vip-agent-cleanup-<node>` with dots as dashes, cut to a valid name.
fn job_name(node: &str) -> String {
    let name = format!("{APP_NAME}-cleanup-{}", node.replace('.', "-"));
    let cut: String = name.chars().take(MAX_NAME).collect();
    cut.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::job_name;

    #[test]
    fn job_names_stay_valid_for_long_dotted_node_names() {
        assert_eq!(
            job_name("cp-1.example.com"),
            "vip-agent-cleanup-cp-1-example-com"
        );
        let long = format!("{}-x", "a".repeat(44));
        assert_eq!(
            job_name(&long),
            format!("vip-agent-cleanup-{}", "a".repeat(44))
        );
    }
}
