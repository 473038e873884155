//! The agent's pod: a DaemonSet on the control-plane nodes, or a kubeadm static pod.
//!
//! Privileges: root with only NET_ADMIN (netlink addresses, XDP attach, sysctls), NET_RAW
//! (AF_PACKET gratuitous ARP / NA), BPF and PERFMON (maps and the verifier without the
//! unprivileged restrictions). Never `privileged`, so no SYS_ADMIN: the agent mounts
//! bpffs only when /sys/fs/bpf is not one already, and the host's bpffs comes in as a
//! hostPath. `HostToContainer` propagation suffices: pins are written into the host's
//! bpffs itself (a bind mount shares it), and `Bidirectional` would need a privileged pod.
//! The root filesystem is read-only; the agent's only other write, its host record, goes
//! to a hostPath.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec, DaemonSetUpdateStrategy};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, EnvVarSource, ObjectFieldSelector, Pod, PodSpec,
    PodTemplateSpec, ResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::env::{non_default_env, path_text};
use super::parts::{
    control_plane_affinity, control_plane_tolerations, host_path, mount, probe, security_context,
};
use super::{ManifestError, APP_NAME, NAME_LABEL};
use crate::config::settings::{self as s, Setting};
use crate::config::{ElectionMode, ManifestArgs, RunArgs, RunConfig};
use crate::health::{HealthSettings, TlsVerification};

/// Where the host mounts bpffs; mounted into the container at the same path.
pub const BPFFS_MOUNT: &str = "/sys/fs/bpf";
use crate::agent::HOST_RECORD_DIR;
/// The kubeconfig of a kubeadm static pod unless `--kubeconfig` says otherwise.
pub const KUBEADM_ADMIN_CONF: &str = "/etc/kubernetes/admin.conf";
/// The cluster CA of the pod's service account: signs the API servers' serving
/// certificates on kubeadm and k3s, so DaemonSet health probes trust it by default.
pub const SERVICE_ACCOUNT_CA: &str = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    DaemonSet,
    StaticPod,
}

pub fn daemonset(
    args: &ManifestArgs,
    image: &str,
    config: &RunConfig,
) -> Result<DaemonSet, ManifestError> {
    let mut spec = pod_spec(Mode::DaemonSet, args, image, config)?;
    spec.service_account_name = Some(APP_NAME.to_owned());
    spec.dns_policy = Some("ClusterFirstWithHostNet".to_owned());
    spec.affinity = Some(control_plane_affinity());
    spec.tolerations = Some(control_plane_tolerations());
    Ok(DaemonSet {
        metadata: metadata(args),
        spec: Some(DaemonSetSpec {
            selector: LabelSelector {
                match_labels: Some(labels()),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels()),
                    ..Default::default()
                }),
                spec: Some(spec),
            },
            update_strategy: Some(DaemonSetUpdateStrategy {
                type_: Some("RollingUpdate".to_owned()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// For /etc/kubernetes/manifests: no service account (static pods cannot have one), the
/// node's resolv.conf (no cluster DNS exists during `kubeadm init`).
pub fn static_pod(
    args: &ManifestArgs,
    image: &str,
    config: &RunConfig,
) -> Result<Pod, ManifestError> {
    let mut spec = pod_spec(Mode::StaticPod, args, image, config)?;
    spec.dns_policy = Some("Default".to_owned());
    Ok(Pod {
        metadata: metadata(args),
        spec: Some(spec),
        ..Default::default()
    })
}

fn metadata(args: &ManifestArgs) -> ObjectMeta {
    ObjectMeta {
        name: Some(APP_NAME.to_owned()),
        namespace: Some(args.namespace.clone()),
        labels: Some(labels()),
        ..Default::default()
    }
}

pub fn labels() -> BTreeMap<String, String> {
    BTreeMap::from([(NAME_LABEL.to_owned(), APP_NAME.to_owned())])
}

fn pod_spec(
    mode: Mode,
    args: &ManifestArgs,
    image: &str,
    config: &RunConfig,
) -> Result<PodSpec, ManifestError> {
    let run = effective_run_args(mode, &args.run);
    let mut volumes = vec![
        host_path("bpffs", BPFFS_MOUNT, "DirectoryOrCreate"),
        host_path("host-record", HOST_RECORD_DIR, "DirectoryOrCreate"),
    ];
    let mut mounts = vec![mount("bpffs", BPFFS_MOUNT, false, true)];
    mounts.push(mount("host-record", HOST_RECORD_DIR, false, false));
    if !config.bpffs_dir.starts_with(BPFFS_MOUNT) {
        let dir = path_text(s::BPFFS_DIR, &config.bpffs_dir)?;
        volumes.push(host_path("bpffs-dir", &dir, "DirectoryOrCreate"));
        mounts.push(mount("bpffs-dir", &dir, false, true));
    }
    for (name, setting, file) in host_files(&run) {
        let file = path_text(setting, &file)?;
        if !Path::new(&file).is_absolute() {
            return Err(ManifestError::RelativePath {
                setting,
                path: file.into(),
            });
        }
        if !mounts.iter().any(|m| m.mount_path == file) {
            volumes.push(host_path(name, &file, "File"));
            mounts.push(mount(name, &file, true, false));
        }
    }
    let mut env = vec![EnvVar {
        name: s::NODE_NAME.env.to_owned(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: "spec.nodeName".to_owned(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }];
    env.extend(
        non_default_env(&run)?
            .into_iter()
            .map(|(setting, value)| EnvVar {
                name: setting.env.to_owned(),
                value: Some(value),
                ..Default::default()
            }),
    );
    let (probes, ports) = match config.metrics_addr {
        Some(addr) => {
            let host = (!addr.ip().is_unspecified()).then(|| addr.ip().to_string());
            let port = i32::from(addr.port());
            let probes = (
                probe("/livez", port, &host, 10, 15),
                probe("/readyz", port, &host, 5, 5),
            );
            let ports = vec![ContainerPort {
                name: Some("metrics".to_owned()),
                container_port: port,
                protocol: Some("TCP".to_owned()),
                ..Default::default()
            }];
            (Some(probes), Some(ports))
        }
        None => (None, None),
    };
    let container = Container {
        name: APP_NAME.to_owned(),
        image: Some(image.to_owned()),
        image_pull_policy: Some("IfNotPresent".to_owned()),
        args: Some(vec!["run".to_owned()]),
        env: Some(env),
        ports,
        liveness_probe: probes.as_ref().map(|(live, _)| live.clone()),
        readiness_probe: probes.map(|(_, ready)| ready),
        resources: Some(ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".to_owned(), Quantity("50m".to_owned())),
                ("memory".to_owned(), Quantity("64Mi".to_owned())),
            ])),
            ..Default::default()
        }),
        security_context: Some(security_context()),
        volume_mounts: Some(mounts),
        ..Default::default()
    };
    Ok(PodSpec {
        containers: vec![container],
        host_network: Some(true),
        // A Service named `vip` would inject VIP_SERVICE_HOST & co., which look like settings.
        enable_service_links: Some(false),
        priority_class_name: Some("system-node-critical".to_owned()),
        volumes: Some(volumes),
        ..Default::default()
    })
}

/// The settings the pod runs with: the user's, plus what this kind of pod needs that the
/// agent's own defaults do not give (the kubeadm kubeconfig; the service-account CA).
fn effective_run_args(mode: Mode, run: &RunArgs) -> RunArgs {
    let mut run = run.clone();
    let needs_api = run.election != ElectionMode::None || run.discover_backends;
    let peers = run.election == ElectionMode::Peers;
    if peers && !run.peers.peer_insecure && run.peers.peer_key_file.is_none() {
        // Mounted read-only; k3s and RKE2 users pass their server CA key instead.
        run.peers.peer_key_file = Some(crate::peers::auth::CLUSTER_CA_KEYS[0].into());
    }
    match mode {
        Mode::StaticPod if needs_api && run.kubeconfig.is_none() => {
            run.kubeconfig = Some(KUBEADM_ADMIN_CONF.into());
        }
        Mode::DaemonSet if !run.health.health_insecure && run.health.health_ca_file.is_none() => {
            run.health.health_ca_file = Some(SERVICE_ACCOUNT_CA.into());
        }
        _ => {}
    }
    run
}

/// Files the agent reads from the host: the kubeconfig, and the CA for health probes
/// (the agent's default one when none is set), except the service account's own.
fn host_files(run: &RunArgs) -> Vec<(&'static str, Setting, PathBuf)> {
    let mut files = Vec::new();
    if let Some(kubeconfig) = &run.kubeconfig {
        files.push(("kubeconfig", s::KUBECONFIG, kubeconfig.clone()));
    }
    if run.election == ElectionMode::Peers {
        if let Some(key) = &run.peers.peer_key_file {
            files.push(("peer-key", s::PEER_KEY_FILE, key.clone()));
        }
    }
    let ca = match (&run.health.health_ca_file, run.health.health_insecure) {
        (_, true) => None,
        (Some(ca), false) => Some(ca.clone()),
        (None, false) => match HealthSettings::default().tls {
            TlsVerification::CaFile(ca) => Some(ca),
            _ => None,
        },
    };
    if let Some(ca) =
        ca.filter(|ca| !ca.starts_with("/var/run/secrets") && !ca.starts_with("/run/secrets"))
    {
        files.push(("health-ca", s::HEALTH_CA_FILE, ca));
    }
    files
}
