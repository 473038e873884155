//! Starting the peer election inside `vip-agent run`: this node's address, the peer
//! socket, metrics, the Lease mirror and the status file.
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use kube::Client;
use prometheus::Registry;
use tokio::{sync::watch, task::JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::{AgentError, HOST_RECORD_DIR};
use crate::config::{Election as ElectionMode, PeerConfig, RunConfig};
use crate::host::{InterfaceInfo, Netlink};
use crate::peers::{
    lease_mirror::{mirror, MirrorConfig},
    membership::Membership,
    metrics::PeerMetrics,
    own_address,
    status::{view_path, write_views},
    PeerElector, PeerError, PeerKey, PeerOutputs, PeerSettings,
};

/// A client for the Lease mirror when one can be built (kubeconfig given, or running in
/// a pod); the peer election itself never needs it.
pub async fn optional_client(config: &RunConfig) -> Option<Client> {
    let ElectionMode::Peers(_) = config.election else {
        return None;
    };
    let in_pod = std::env::var_os("KUBERNETES_SERVICE_HOST").is_some();
    if config.kubeconfig.is_none() && !in_pod {
        info!("no kubeconfig: the Lease does not mirror the peer election");
        return None;
    }
    match crate::election::client_from(config.kubeconfig.as_deref()).await {
        Ok(client) => Some(client),
        Err(error) => {
            warn!(%error, "no Kubernetes client: the Lease does not mirror the peer election");
            None
        }
    }
}

/// For the other election modes: no peer is ever out of the ring for liveness.
pub fn nobody_down(
    tasks: &mut JoinSet<()>,
    shutdown: CancellationToken,
) -> watch::Receiver<BTreeSet<IpAddr>> {
    let (tx, rx) = watch::channel(BTreeSet::new());
    tasks.spawn(async move {
        shutdown.cancelled().await;
        drop(tx);
    });
    rx
}

pub struct Election<'a> {
    pub config: &'a RunConfig,
    pub peers: &'a PeerConfig,
    pub key: PeerKey,
    pub interface: &'a InterfaceInfo,
    pub netlink: &'a Netlink,
    pub remembered: PathBuf,
}

impl Election<'_> {
    pub async fn start(
        self,
        backends: watch::Receiver<Vec<IpAddr>>,
        client: Option<Client>,
        registry: &Registry,
        tasks: &mut JoinSet<()>,
        shutdown: CancellationToken,
    ) -> Result<PeerOutputs, AgentError> {
        let interface_addresses = self
            .netlink
            .local_addresses(Some(self.interface.index))
            .await?;
        let initial: Vec<IpAddr> = backends.borrow().clone();
        let own =
            own_address(self.peers.address, &interface_addresses, &initial).ok_or_else(|| {
                PeerError::NoOwnAddress {
                    interface: self.interface.name.clone(),
                }
            })?;
        let mut membership = Membership::new(own, Some(self.remembered.clone()));
        if let Some(remembered) = crate::peers::membership::load_remembered(&self.remembered) {
            membership.add_remembered(&remembered);
        }
        let settings = PeerSettings {
            port: self.peers.port,
            interval: self.peers.interval,
            dead_after_intervals: self.peers.dead_after_intervals,
            backend_port: self.config.backend_port,
        };
        let metrics = PeerMetrics::register(registry).map_err(PeerError::from)?;
        let (elector, outputs) = PeerElector::bind(settings, self.key, membership, metrics)
            .await
            .map_err(|source| PeerError::Bind {
                address: own,
                port: settings.port,
                source,
            })?;
        tasks.spawn(elector.run(backends, shutdown.clone()));
        tasks.spawn(write_views(
            view_path(Path::new(HOST_RECORD_DIR), &self.config.bpffs_dir),
            outputs.view.clone(),
            shutdown.clone(),
        ));
        if let Some(client) = client {
            let lease = &self.peers.mirror;
            let config = MirrorConfig {
                name: lease.name.clone(),
                namespace: lease.namespace.clone(),
                identity: self.config.node_name.clone(),
                period: lease.retry_period,
                duration: lease.lease_duration,
            };
            tasks.spawn(mirror(client, config, outputs.leader.clone(), shutdown));
        }
        Ok(outputs)
    }
}
