//! Everything the agent can check before its first change to the host: a bad setting
//! or environment stops it here with a one-line error naming the setting (exit 64),
//! and nothing on the host has changed.
use std::path::PathBuf;

use kube::Client;
use tokio::net::TcpListener;

use super::bpffs;
use super::kernel::{require_supported, KernelError, KernelRelease};
use crate::config::{settings as s, BackendSource, Election, RunConfig};
use crate::health::{client_config, CredentialsError, ProbeCredentials, TlsVerification};
use crate::host::Netlink;

/// What the checks produced and the agent uses as is.
pub struct Checked {
    /// The metrics listener, bound here so a taken port fails before any host change.
    pub metrics_listener: Option<TcpListener>,
    /// The Kubernetes client, when election or discovery needs one.
    pub client: Option<Client>,
    /// What the health probe authenticates with.
    pub credentials: ProbeCredentials,
}

#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error(transparent)]
    Kernel(#[from] KernelError),
    #[error("--{} {name}: {reason}", s::INTERFACE.long)]
    Interface { name: String, reason: String },
    #[error("--{}: {reason}", s::HEALTH_CA_FILE.long)]
    HealthCa { reason: String },
    #[error("--{}: {reason}", s::KUBECONFIG.long)]
    Kubernetes { reason: String },
    #[error("--{} (health probe credentials): {source}", s::KUBECONFIG.long)]
    Credentials {
        #[source]
        source: CredentialsError,
    },
    #[error("--{} {}: {reason}", s::BPFFS_DIR.long, dir.display())]
    Bpffs { dir: PathBuf, reason: String },
    #[error("--{}: {reason}", s::METRICS_ADDR.long)]
    Metrics { reason: String },
}

/// The effective TLS verification of the health probe.
pub fn probe_tls(config: &RunConfig) -> TlsVerification {
    match (&config.health.ca_file, config.health.insecure) {
        (_, true) => TlsVerification::InsecureSkipVerify,
        (Some(ca), false) => TlsVerification::CaFile(ca.clone()),
        (None, false) => crate::health::HealthSettings::default().tls,
    }
}

/// Runs every check, cheapest first.
pub async fn check(
    config: &RunConfig,
    kernel: &dyn KernelRelease,
) -> Result<Checked, PreflightError> {
    require_supported(kernel)?;
    let netlink = Netlink::connect().map_err(|error| PreflightError::Interface {
        name: config.interface.clone(),
        reason: error.to_string(),
    })?;
    netlink
        .interface(&config.interface)
        .await
        .map_err(|error| PreflightError::Interface {
            name: config.interface.clone(),
            reason: error.to_string(),
        })?;
    bpffs::check(&config.bpffs_dir).map_err(|reason| PreflightError::Bpffs {
        dir: config.bpffs_dir.clone(),
        reason,
    })?;
    client_config(&probe_tls(config)).map_err(|error| PreflightError::HealthCa {
        reason: error.to_string(),
    })?;
    let credentials = match &config.kubeconfig {
        Some(path) => ProbeCredentials::from_kubeconfig(path)
            .await
            .map_err(|source| PreflightError::Credentials { source })?,
        None => ProbeCredentials::in_cluster(),
    };
    let needs_api = matches!(config.backends, BackendSource::DiscoverControlPlaneNodes)
        || matches!(config.election, Election::Lease(_));
    let client = match needs_api {
        true => Some(
            crate::election::client_from(config.kubeconfig.as_deref())
                .await
                .map_err(|error| PreflightError::Kubernetes {
                    reason: error.to_string(),
                })?,
        ),
        // Peer election: the Lease mirror is optional, a missing client only warns.
        false => super::peer_election::optional_client(config).await,
    };
    let metrics_listener = match config.metrics_addr {
        Some(addr) => {
            Some(
                crate::http::bind(addr)
                    .await
                    .map_err(|error| PreflightError::Metrics {
                        reason: error.to_string(),
                    })?,
            )
        }
        None => None,
    };
    Ok(Checked {
        metrics_listener,
        client,
        credentials,
    })
}
