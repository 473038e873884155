//! The identity the `/readyz` probe presents: k3s, RKE2 and CIS-hardened kubeadm run
//! the API server with `--anonymous-auth=false` and answer anonymous probes with 401.
//! The probe uses the agent's own Kubernetes credentials: the kubeconfig's client
//! certificate or bearer token, or the in-cluster service account token.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine;
use kube::config::{AuthInfo, KubeConfigOptions, Kubeconfig};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use secrecy::ExposeSecret;

/// Where the in-cluster service account token is mounted (projected, rotated).
pub const SERVICE_ACCOUNT_TOKEN_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// How the probe authenticates itself to the API servers.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum ProbeCredentials {
    /// No credentials: only API servers that allow anonymous `/readyz` answer 200.
    #[default]
    Anonymous,
    /// `Authorization: Bearer` with this token.
    BearerToken(String),
    /// `Authorization: Bearer` with the token in this file, re-read for every probe
    /// because projected service account tokens rotate.
    BearerTokenFile(PathBuf),
    /// A TLS client certificate chain and its key, PEM.
    ClientCertificate {
        chain_pem: Vec<u8>,
        key_pem: Vec<u8>,
    },
}

impl fmt::Debug for ProbeCredentials {
    // Never prints secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Anonymous => f.write_str("Anonymous"),
            Self::BearerToken(_) => f.write_str("BearerToken(<redacted>)"),
            Self::BearerTokenFile(path) => f.debug_tuple("BearerTokenFile").field(path).finish(),
            Self::ClientCertificate { .. } => f.write_str("ClientCertificate(<redacted>)"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("reading kubeconfig {}: {source}", path.display())]
    Kubeconfig {
        path: PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("kubeconfig {}: {what} is not valid base64: {source}", path.display())]
    Base64 {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: base64::DecodeError,
    },
    #[error("reading {what} {}: {source}", path.display())]
    ReadFile {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} from {origin}: {reason}")]
    InvalidPem {
        what: &'static str,
        origin: String,
        reason: String,
    },
    #[error("bearer token file {} is empty", path.display())]
    EmptyToken { path: PathBuf },
}

impl ProbeCredentials {
    /// The credentials of the current context of the kubeconfig at `path`.
    pub async fn from_kubeconfig(path: &Path) -> Result<Self, CredentialsError> {
        let kubeconfig_error = |source| CredentialsError::Kubeconfig {
            path: path.to_owned(),
            source,
        };
        let file = Kubeconfig::read_from(path).map_err(kubeconfig_error)?;
        let config = kube::Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
            .await
            .map_err(kubeconfig_error)?;
        Self::from_auth_info(&config.auth_info, path)
    }

    /// The service account token when running in a pod, else anonymous.
    pub fn in_cluster() -> Self {
        let token = Path::new(SERVICE_ACCOUNT_TOKEN_FILE);
        match token.exists() {
            true => Self::BearerTokenFile(token.to_owned()),
            false => Self::Anonymous,
        }
    }

    fn from_auth_info(auth: &AuthInfo, kubeconfig: &Path) -> Result<Self, CredentialsError> {
        let chain = pem_source(
            kubeconfig,
            "client-certificate",
            auth.client_certificate_data.as_deref(),
            auth.client_certificate.as_deref(),
        )?;
        let key_data = auth
            .client_key_data
            .as_ref()
            .map(|key| key.expose_secret().to_owned());
        let key = pem_source(
            kubeconfig,
            "client-key",
            key_data.as_deref(),
            auth.client_key.as_deref(),
        )?;
        let credentials = match (chain, key, &auth.token, &auth.token_file) {
            (Some(chain_pem), Some(key_pem), _, _) => {
                Self::ClientCertificate { chain_pem, key_pem }
            }
            (_, _, Some(token), _) => Self::BearerToken(token.expose_secret().trim().to_owned()),
            (_, _, None, Some(file)) => Self::BearerTokenFile(PathBuf::from(file)),
            _ => Self::Anonymous,
        };
        credentials.check()?;
        Ok(credentials)
    }

    /// Fails now, at startup, on what would otherwise fail every probe.
    pub fn check(&self) -> Result<(), CredentialsError> {
        match self {
            Self::ClientCertificate { chain_pem, key_pem } => {
                certificate_chain(chain_pem)?;
                private_key(key_pem)?;
            }
            Self::BearerTokenFile(path) => {
                read_token(path)?;
            }
            Self::Anonymous | Self::BearerToken(_) => {}
        }
        Ok(())
    }

    /// The `Authorization` header value to send, if any.
    pub fn authorization(&self) -> Result<Option<String>, CredentialsError> {
        Ok(match self {
            Self::BearerToken(token) => Some(format!("Bearer {token}")),
            Self::BearerTokenFile(path) => Some(format!("Bearer {}", read_token(path)?)),
            Self::Anonymous | Self::ClientCertificate { .. } => None,
        })
    }
}

fn read_token(path: &Path) -> Result<String, CredentialsError> {
    let token = std::fs::read_to_string(path).map_err(|source| CredentialsError::ReadFile {
        what: "bearer token file",
        path: path.to_owned(),
        source,
    })?;
    let token = token.trim();
    if token.is_empty() {
        return Err(CredentialsError::EmptyToken {
            path: path.to_owned(),
        });
    }
    Ok(token.to_owned())
}

/// PEM from inline base64 data (which wins, as in kubectl) or from a file.
fn pem_source(
    kubeconfig: &Path,
    what: &'static str,
    data: Option<&str>,
    file: Option<&str>,
) -> Result<Option<Vec<u8>>, CredentialsError> {
    if let Some(data) = data {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|source| CredentialsError::Base64 {
                path: kubeconfig.to_owned(),
                what,
                source,
            })?;
        return Ok(Some(decoded));
    }
    file.map(|file| {
        std::fs::read(file).map_err(|source| CredentialsError::ReadFile {
            what,
            path: PathBuf::from(file),
            source,
        })
    })
    .transpose()
}

pub(super) fn certificate_chain(
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, CredentialsError> {
    let invalid = |reason: String| CredentialsError::InvalidPem {
        what: "client certificate",
        origin: "the kubeconfig".to_owned(),
        reason,
    };
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| invalid(error.to_string()))?;
    if chain.is_empty() {
        return Err(invalid("no certificate".to_owned()));
    }
    Ok(chain)
}

pub(super) fn private_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, CredentialsError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|error| CredentialsError::InvalidPem {
        what: "client key",
        origin: "the kubeconfig".to_owned(),
        reason: error.to_string(),
    })
}
