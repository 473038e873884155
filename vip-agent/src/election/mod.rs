//! Leader election through a Kubernetes Lease (`coordination.k8s.io/v1`).
//!
//! The lease carries the same record as client-go's `leaderelection` package
//! (`holderIdentity`, `leaseDurationSeconds`, `acquireTime`, `renewTime`,
//! `leaseTransitions`), so `kubectl get lease` shows the holder exactly as it
//! does for kube-vip and the control-plane components.
//!
//! One deliberate difference from client-go: the elector is FAIL-STATIC while the API
//! cannot be reached. A client-go leader steps down when it cannot renew within the
//! renew deadline; ours keeps leadership through connection errors, timeouts and 5xx,
//! because the VIP protects the API server itself, so an API outage is exactly when
//! the VIP must keep being announced. A split brain is harmless in this product
//! because every node forwards the VIP traffic identically.
//!
//! An API that answers and refuses is not an outage: on a 4xx (401, 403, 404, 422, a
//! lost write race, or a 429 once its Retry-After has passed) this node can no longer
//! prove it holds the Lease, and the leader steps down at once. One acquire/renew
//! round (read, write, and a retry after a conflict) is bounded by the renew deadline.
//!
//! Expiry is judged as client-go does: from the last observed change of the record,
//! on our monotonic clock; failed reads do not restart it.
//!
//! The holder identity is the node name with [`HOLDER_SUFFIX`], so that a record
//! written by another program (kube-vip writes the bare node name) is told apart: it is
//! never renewed or taken over unless `take_over_foreign` says so.

mod api_failure;
mod elector;
mod failure;
mod lease;
mod observation;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kube::config::{InClusterError, KubeConfigOptions, Kubeconfig, KubeconfigError};
use kube::{Client, Config};
use thiserror::Error;

pub use api_failure::{ApiErrorClass, ApiFailure, ElectionObserver};
pub use elector::LeaderElector;
pub use lease::HOLDER_SUFFIX;

/// client-go refuses a renew deadline that is not above this multiple of the
/// retry period, so that jittered retries still fit in one deadline.
const RETRY_JITTER_FACTOR: f64 = 1.2;

#[derive(Debug, Error)]
pub enum ElectionError {
    #[error("invalid election setting {setting}: {reason}")]
    InvalidSetting {
        setting: &'static str,
        reason: &'static str,
    },
    #[error("invalid duration {input:?}: expected seconds such as 2 or 0.5")]
    InvalidDuration { input: String },
    #[error("loading kubeconfig {path}: {source}")]
    Kubeconfig {
        path: PathBuf,
        #[source]
        source: KubeconfigError,
    },
    #[error("loading in-cluster Kubernetes configuration: {source}")]
    InCluster {
        #[source]
        source: InClusterError,
    },
    #[error("building the Kubernetes client: {source}")]
    Client {
        #[source]
        source: kube::Error,
    },
    #[error("{operation} lease {lease}: {source}")]
    LeaseRequest {
        operation: &'static str,
        lease: String,
        #[source]
        source: kube::Error,
    },
    #[error("lease {lease}: round not finished within the renew deadline {timeout:?}{}",
        if *refused { " after a refusal" } else { "" })]
    RoundTimeout {
        lease: String,
        timeout: Duration,
        refused: bool,
    },
    #[error("lease {lease}: lost every write race of the round")]
    Contended { lease: String },
    #[error("{operation} lease {lease}: no answer within {timeout:?}")]
    LeaseRequestTimeout {
        operation: &'static str,
        lease: String,
        timeout: Duration,
    },
}

impl ElectionError {
    /// Optimistic-concurrency loss (409): someone else wrote the lease first.
    fn is_conflict(&self) -> bool {
        matches!(self, Self::LeaseRequest { source: kube::Error::Api(status), .. }
            if status.code == 409)
    }
}

/// Which lease to contend for, as whom, and how fast.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElectionConfig {
    pub lease_name: String,
    pub namespace: String,
    /// The node name; `holderIdentity` is this plus [`HOLDER_SUFFIX`].
    pub identity: String,
    /// Renew or take over a record another program wrote (a holder without our
    /// suffix, e.g. kube-vip's bare node name) once it expires.
    pub take_over_foreign: bool,
    /// How long followers wait, from their last observed change of the lease,
    /// before taking it over. Written rounded up to whole seconds.
    pub lease_duration: Duration,
    /// Time limit of one acquire/renew round. A leader steps down when the round was
    /// refused; when the API could not be reached it keeps leading (fail-static).
    pub renew_deadline: Duration,
    /// Interval between acquire/renew attempts, for leader and followers.
    pub retry_period: Duration,
}

impl ElectionConfig {
    /// The same constraints client-go's `NewLeaderElector` enforces.
    pub fn validate(&self) -> Result<(), ElectionError> {
        let invalid = |setting, reason| Err(ElectionError::InvalidSetting { setting, reason });
        if self.lease_name.is_empty() {
            return invalid("lease name", "must not be empty");
        }
        if self.namespace.is_empty() {
            return invalid("namespace", "must not be empty");
        }
        if self.identity.is_empty() {
            return invalid("identity", "must not be empty");
        }
        if self.retry_period.is_zero() {
            return invalid("retry period", "must be greater than zero");
        }
        if self.lease_duration <= self.renew_deadline {
            return invalid("lease duration", "must be greater than the renew deadline");
        }
        if self.renew_deadline.as_secs_f64()
            <= RETRY_JITTER_FACTOR * self.retry_period.as_secs_f64()
        {
            return invalid(
                "renew deadline",
                "must be greater than 1.2 times the retry period",
            );
        }
        Ok(())
    }
}

/// What the elector last learned about the lease, published on a watch channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leadership {
    pub is_leader: bool,
    /// Holder seen in the last successful read; `None` when unknown or released.
    pub holder: Option<String>,
    /// `leaseTransitions` of the lease as last seen.
    pub transitions: Option<i32>,
    /// When `is_leader` last changed (or when the elector was created).
    pub since: Instant,
}

impl Leadership {
    fn initial() -> Self {
        Self {
            is_leader: false,
            holder: None,
            transitions: None,
            since: Instant::now(),
        }
    }
}

/// Parses a duration written in (possibly fractional) seconds, e.g. `"0.2"`.
pub fn parse_seconds(input: &str) -> Result<Duration, ElectionError> {
    input
        .trim()
        .parse::<f64>()
        .ok()
        .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
        .ok_or_else(|| ElectionError::InvalidDuration {
            input: input.to_owned(),
        })
}

/// Builds a client from a kubeconfig file, or from the in-cluster service
/// account when `kubeconfig` is `None`.
pub async fn client_from(kubeconfig: Option<&Path>) -> Result<Client, ElectionError> {
    // kube only installs a TLS crypto provider for aws-lc; we build with ring.
    // An error means a provider is already installed, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut config = match kubeconfig {
        Some(path) => {
            let kubeconfig_error = |source| ElectionError::Kubeconfig {
                path: path.to_owned(),
                source,
            };
            let file = Kubeconfig::read_from(path).map_err(kubeconfig_error)?;
            Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
                .await
                .map_err(kubeconfig_error)?
        }
        None => Config::incluster().map_err(|source| ElectionError::InCluster { source })?,
    };
    // The elector retries on its own cadence; kube's built-in retry of 503s
    // would only stretch a request up to the elector's time limit.
    config.default_retry = false;
    Client::try_from(config).map_err(|source| ElectionError::Client { source })
}
