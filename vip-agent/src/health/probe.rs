//! One HTTPS probe of one backend, and the TLS configuration it uses.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper::header::{AUTHORIZATION, CONNECTION, HOST, USER_AGENT};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::credentials::{certificate_chain, private_key};
use super::{HealthError, HealthSettings, ProbeCredentials, TlsVerification};

/// Why a probe failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("timed out after {timeout:?}")]
    Timeout { timeout: Duration },
    #[error("TCP connect failed: {source}")]
    Connect {
        #[source]
        source: io::Error,
    },
    #[error("TLS handshake failed: {source}")]
    Tls {
        #[source]
        source: io::Error,
    },
    #[error("cannot build HTTP request: {source}")]
    Request {
        #[source]
        source: hyper::http::Error,
    },
    #[error("HTTP exchange failed: {source}")]
    Http {
        #[source]
        source: hyper::Error,
    },
    #[error("probe credentials: {source}")]
    Credentials {
        #[source]
        source: super::CredentialsError,
    },
    #[error("unexpected HTTP status {status}")]
    Status { status: u16 },
}

/// Probes backends with a fixed TLS configuration, path and port.
pub(super) struct Prober {
    connector: TlsConnector,
    credentials: ProbeCredentials,
    path: String,
    port: u16,
    timeout: Duration,
}

impl Prober {
    pub(super) fn new(settings: &HealthSettings) -> Result<Self, HealthError> {
        let path_is_valid = settings.path.starts_with('/')
            && settings
                .path
                .parse::<Uri>()
                .is_ok_and(|uri| uri.authority().is_none());
        if !path_is_valid {
            return Err(HealthError::InvalidPath {
                path: settings.path.clone(),
            });
        }
        Ok(Self {
            connector: TlsConnector::from(Arc::new(authenticated_client_config(
                &settings.tls,
                &settings.credentials,
            )?)),
            credentials: settings.credentials.clone(),
            path: settings.path.clone(),
            port: settings.port,
            timeout: settings.timeout,
        })
    }

    /// Succeeds only if the backend answers HTTP 200 within the timeout.
    pub(super) async fn probe(&self, ip: IpAddr) -> Result<(), ProbeError> {
        tokio::time::timeout(self.timeout, self.exchange(ip))
            .await
            .map_err(|_| ProbeError::Timeout {
                timeout: self.timeout,
            })?
    }

    async fn exchange(&self, ip: IpAddr) -> Result<(), ProbeError> {
        let address = SocketAddr::new(ip, self.port);
        let tcp = TcpStream::connect(address)
            .await
            .map_err(|source| ProbeError::Connect { source })?;
        // Nagle would only delay our single small request.
        tcp.set_nodelay(true)
            .map_err(|source| ProbeError::Connect { source })?;
        let tls = self
            .connector
            .connect(ServerName::IpAddress(ip.into()), tcp)
            .await
            .map_err(|source| ProbeError::Tls { source })?;

        let mut request = Request::builder()
            .method(Method::GET)
            .uri(self.path.as_str())
            .header(HOST, address.to_string())
            .header(USER_AGENT, "vip-agent-health")
            .header(CONNECTION, "close");
        let authorization = self
            .credentials
            .authorization()
            .map_err(|source| ProbeError::Credentials { source })?;
        if let Some(authorization) = authorization {
            request = request.header(AUTHORIZATION, authorization);
        }
        let request = request
            .body(Empty::<Bytes>::new())
            .map_err(|source| ProbeError::Request { source })?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|source| ProbeError::Http { source })?;
        // Drive the connection in this task instead of spawning it, so a
        // timeout drops everything at once.
        let response = sender.send_request(request);
        tokio::pin!(response, connection);
        let response = tokio::select! {
            biased;
            response = &mut response => response,
            finished = &mut connection => match finished {
                // The server may close right after answering: collect the answer.
                Ok(()) => response.await,
                Err(source) => Err(source),
            },
        }
        .map_err(|source| ProbeError::Http { source })?;
        match response.status() {
            StatusCode::OK => Ok(()),
            status => Err(ProbeError::Status {
                status: status.as_u16(),
            }),
        }
    }
}

/// The probe's TLS client configuration (HTTP/1.1 ALPN) for `verification`.
pub fn client_config(verification: &TlsVerification) -> Result<ClientConfig, HealthError> {
    authenticated_client_config(verification, &ProbeCredentials::Anonymous)
}

/// [`client_config`] presenting the client certificate of `credentials`, if any.
fn authenticated_client_config(
    verification: &TlsVerification,
    credentials: &ProbeCredentials,
) -> Result<ClientConfig, HealthError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|source| HealthError::TlsConfig { source })?;
    let builder = match verification {
        TlsVerification::CaFile(path) => builder.with_root_certificates(load_roots(path)?),
        TlsVerification::InsecureSkipVerify => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(SkipIdentityVerification {
                algorithms: provider.signature_verification_algorithms,
            })),
    };
    let mut config = match credentials {
        ProbeCredentials::ClientCertificate { chain_pem, key_pem } => builder
            .with_client_auth_cert(certificate_chain(chain_pem)?, private_key(key_pem)?)
            .map_err(|source| HealthError::ClientCertificate { source })?,
        _ => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn load_roots(path: &Path) -> Result<RootCertStore, HealthError> {
    let read_error = |source| HealthError::ReadCaFile {
        path: path.to_owned(),
        source,
    };
    let mut roots = RootCertStore::empty();
    for certificate in CertificateDer::pem_file_iter(path).map_err(read_error)? {
        roots
            .add(certificate.map_err(read_error)?)
            .map_err(|source| HealthError::InvalidCaCertificate {
                path: path.to_owned(),
                source,
            })?;
    }
    if roots.is_empty() {
        return Err(HealthError::NoCaCertificates {
            path: path.to_owned(),
        });
    }
    Ok(roots)
}

/// Accepts any server certificate but still checks that the server owns
/// its key, so the handshake itself stays sound.
#[derive(Debug)]
struct SkipIdentityVerification {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for SkipIdentityVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, certificate, signature, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, certificate, signature, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
