//! Health checking of Kubernetes API server backends over HTTPS.
//!
//! Every backend gets its own probe task that sends `GET <path>` to
//! `https://<ip>:<port>` on a fixed interval. Results go through a rise/fall
//! state machine (like haproxy's `rise`/`fall`) and are published on a
//! `tokio::sync::watch` channel as a [`HealthMap`].
//!
//! Subscribers are only *notified* when something meaningful changes: a
//! backend is added or removed, its health state flips, or its error changes.
//! Counters and latency are still updated in place on every probe, so
//! `receiver.borrow()` always shows fresh numbers.

#[cfg(test)]
mod auth_tests;
mod checker;
mod credentials;
mod probe;
#[cfg(test)]
mod state_tests;
#[cfg(test)]
mod test_server;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use checker::{HealthChecker, ProbeReport};
pub use credentials::{CredentialsError, ProbeCredentials, SERVICE_ACCOUNT_TOKEN_FILE};
pub use probe::{client_config, ProbeError};

/// Health of every known backend, keyed by its IP address.
pub type HealthMap = BTreeMap<IpAddr, BackendHealth>;

/// How the probe authenticates the API server's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsVerification {
    /// Verify the chain against the CA certificates in this PEM file and the
    /// certificate's IP SANs against the backend IP (API server certificates
    /// carry the node IPs, not DNS names we could use instead).
    CaFile(PathBuf),
    /// Accept any certificate. Handshake signatures are still verified, only
    /// the identity check is skipped.
    InsecureSkipVerify,
}

/// Configuration of the health checker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthSettings {
    /// HTTP path to probe; must start with `/`.
    pub path: String,
    /// TCP port of every backend's API server.
    pub port: u16,
    pub tls: TlsVerification,
    /// Who the probe says it is (API servers without anonymous access answer 401).
    pub credentials: ProbeCredentials,
    /// Upper bound for one probe: connect, TLS handshake, request and response headers.
    pub timeout: Duration,
    /// Time between the starts of two probes of the same backend.
    pub interval: Duration,
    /// Consecutive successes that turn an unhealthy backend healthy.
    pub rise: u32,
    /// Consecutive failures that turn a healthy backend unhealthy.
    pub fall: u32,
    /// State of a newly added backend. `Unhealthy` (the default) means no
    /// traffic reaches it before `rise` successful probes.
    pub initial_state: HealthState,
}

impl Default for HealthSettings {
    fn default() -> Self {
        Self {
            path: "/readyz".to_owned(),
            port: 6443,
            tls: TlsVerification::CaFile(PathBuf::from("/etc/kubernetes/pki/ca.crt")),
            credentials: ProbeCredentials::Anonymous,
            timeout: Duration::from_secs(1),
            interval: Duration::from_secs(1),
            rise: 2,
            fall: 2,
            initial_state: HealthState::Unhealthy,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HealthState {
    Healthy,
    Unhealthy,
}

/// What the checker knows about one backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendHealth {
    pub state: HealthState,
    pub consecutive_successes: u32,
    pub consecutive_failures: u32,
    /// Error of the most recent probe; `None` once a probe succeeds.
    pub last_error: Option<String>,
    /// Duration of the most recent probe, successful or not.
    pub last_latency: Option<Duration>,
    /// When `state` last changed (or when the backend was added).
    pub last_change: Instant,
    pub probes_total: u64,
}

/// Which parts of a [`BackendHealth`] a probe result changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeEffect {
    pub state_changed: bool,
    pub error_changed: bool,
}

impl ProbeEffect {
    /// Whether subscribers should be woken up for this change.
    pub fn is_meaningful(self) -> bool {
        self.state_changed || self.error_changed
    }
}

impl BackendHealth {
    pub fn new(state: HealthState, now: Instant) -> Self {
        Self {
            state,
            consecutive_successes: 0,
            consecutive_failures: 0,
            last_error: None,
            last_latency: None,
            last_change: now,
            probes_total: 0,
        }
    }

    pub fn is_healthy(&self) -> bool {
        self.state == HealthState::Healthy
    }

    /// Applies one probe result (`error` is `None` on success) to the
    /// rise/fall state machine.
    pub fn record(
        &mut self,
        error: Option<&ProbeError>,
        latency: Duration,
        rise: u32,
        fall: u32,
        now: Instant,
    ) -> ProbeEffect {
        self.probes_total = self.probes_total.saturating_add(1);
        self.last_latency = Some(latency);
        let error_text = error.map(ToString::to_string);
        let error_changed = error_text != self.last_error;
        self.last_error = error_text;
        if error.is_none() {
            self.consecutive_successes = self.consecutive_successes.saturating_add(1);
            self.consecutive_failures = 0;
        } else {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            self.consecutive_successes = 0;
        }
        let next_state = match self.state {
            HealthState::Unhealthy if self.consecutive_successes >= rise => HealthState::Healthy,
            HealthState::Healthy if self.consecutive_failures >= fall => HealthState::Unhealthy,
            unchanged => unchanged,
        };
        let state_changed = next_state != self.state;
        if state_changed {
            self.state = next_state;
            self.last_change = now;
        }
        ProbeEffect {
            state_changed,
            error_changed,
        }
    }
}

/// The backends currently considered healthy.
pub fn healthy_backends(map: &HealthMap) -> BTreeSet<IpAddr> {
    map.iter()
        .filter(|(_, health)| health.is_healthy())
        .map(|(ip, _)| *ip)
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error("rise and fall must both be at least 1 (rise={rise}, fall={fall})")]
    InvalidThresholds { rise: u32, fall: u32 },
    #[error("health check timeout and interval must be non-zero (timeout={timeout:?}, interval={interval:?})")]
    ZeroDuration {
        timeout: Duration,
        interval: Duration,
    },
    #[error("health check path {path:?} is not an absolute HTTP path")]
    InvalidPath { path: String },
    #[error("cannot read CA certificates from {}: {source}", path.display())]
    ReadCaFile {
        path: PathBuf,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("CA file {} contains no certificate", path.display())]
    NoCaCertificates { path: PathBuf },
    #[error("invalid CA certificate in {}: {source}", path.display())]
    InvalidCaCertificate {
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("health probe credentials: {0}")]
    Credentials(#[from] CredentialsError),
    #[error("health probe client certificate: {source}")]
    ClientCertificate {
        #[source]
        source: rustls::Error,
    },
    #[error("cannot build TLS client configuration: {source}")]
    TlsConfig {
        #[source]
        source: rustls::Error,
    },
}
