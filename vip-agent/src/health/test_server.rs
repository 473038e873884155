//! A tiny HTTPS server standing in for a kube-apiserver in tests, and the
//! certificates it serves.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

/// A CA and a server certificate it signed for `server_ips`.
pub(super) struct TestPki {
    ca: CertifiedIssuer<'static, KeyPair>,
    pub ca_pem: String,
    server_chain: Vec<CertificateDer<'static>>,
    server_key_der: Vec<u8>,
}

impl TestPki {
    pub fn new(server_ips: &[IpAddr]) -> Self {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "vt-health-test-ca");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
            .expect("self-signed CA");

        let names: Vec<String> = server_ips.iter().map(ToString::to_string).collect();
        let mut server_params = CertificateParams::new(names).expect("server params");
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_key = KeyPair::generate().expect("server key");
        let server_cert = server_params
            .signed_by(&server_key, &ca)
            .expect("server certificate");
        Self {
            ca_pem: ca.pem(),
            ca,
            server_chain: vec![server_cert.der().clone()],
            server_key_der: server_key.serialize_der(),
        }
    }

    /// Writes the CA certificate as PEM into `dir` and returns its path.
    pub fn write_ca(&self, dir: &tempfile::TempDir) -> PathBuf {
        let path = dir.path().join("ca.crt");
        std::fs::write(&path, &self.ca_pem).expect("write CA file");
        path
    }

    /// A client certificate (chain PEM, key PEM) this CA signed, as kubeadm issues
    /// for admin.conf.
    pub fn client_identity(&self, common_name: &str) -> (Vec<u8>, Vec<u8>) {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("client params");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let key = KeyPair::generate().expect("client key");
        let cert = params
            .signed_by(&key, &self.ca)
            .expect("client certificate");
        (cert.pem().into_bytes(), key.serialize_pem().into_bytes())
    }

    /// Serves the test certificate; with `verify_clients`, client certificates this CA
    /// signed are accepted (and requested) but not required, as kube-apiserver does.
    fn server_config(&self, verify_clients: bool) -> ServerConfig {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key_der.clone()));
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("protocol versions");
        let builder = if verify_clients {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(self.ca.der().clone()).expect("CA root");
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .allow_unauthenticated()
            .build()
            .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        builder
            .with_single_cert(self.server_chain.clone(), key)
            .expect("server certificate and key")
    }
}

/// How the test server treats a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Behavior {
    /// Answers `GET /readyz` with the current status, anything else with 404.
    Answer,
    /// Accepts TCP connections and never sends a byte.
    Silent,
    /// As `--anonymous-auth=false`: 401 unless the request carries
    /// `Authorization: Bearer <token>` or a client certificate the CA signed.
    RequireAuth { token: &'static str },
}

pub(super) struct TestServer {
    pub addr: SocketAddr,
    readyz_status: Arc<AtomicU16>,
    accept_task: JoinHandle<()>,
}

impl TestServer {
    pub async fn start(addr: SocketAddr, pki: &TestPki, behavior: Behavior) -> Self {
        let listener = TcpListener::bind(addr).await.expect("bind test server");
        let addr = listener.local_addr().expect("test server address");
        let verify_clients = matches!(behavior, Behavior::RequireAuth { .. });
        let acceptor = TlsAcceptor::from(Arc::new(pki.server_config(verify_clients)));
        let readyz_status = Arc::new(AtomicU16::new(200));
        let status = Arc::clone(&readyz_status);
        let accept_task = tokio::spawn(async move {
            // Owned here so aborting this task also aborts every connection.
            let mut connections = JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let status = Arc::clone(&status);
                connections.spawn(async move {
                    if behavior == Behavior::Silent {
                        // Keep the socket open without ever answering.
                        let _open = stream;
                        return std::future::pending::<()>().await;
                    }
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let required_token = match behavior {
                        Behavior::RequireAuth { token } => Some(token),
                        _ => None,
                    };
                    answer(tls, status.load(Ordering::SeqCst), required_token).await;
                });
                while connections.try_join_next().is_some() {}
            }
        });
        Self {
            addr,
            readyz_status,
            accept_task,
        }
    }

    pub fn set_readyz_status(&self, status: u16) {
        self.readyz_status.store(status, Ordering::SeqCst);
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

async fn answer(
    tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    readyz_status: u16,
    required_token: Option<&str>,
) {
    let client_certificate = tls.get_ref().1.peer_certificates().is_some();
    let mut reader = BufReader::new(tls);
    let mut bearer = None;
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).await.is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header).await {
            Ok(0) | Err(_) => return,
            Ok(_) if header == "\r\n" => break,
            Ok(_) => {
                if let Some((name, value)) = header.split_once(':') {
                    if name.eq_ignore_ascii_case("authorization") {
                        bearer = value.trim().strip_prefix("Bearer ").map(str::to_owned);
                    }
                }
            }
        }
    }
    let authenticated = match required_token {
        None => true,
        Some(token) => client_certificate || bearer.as_deref() == Some(token),
    };
    let status = if !authenticated {
        401
    } else if request_line.starts_with("GET /readyz ") {
        readyz_status
    } else {
        404
    };
    // Same body as kube-apiserver's /readyz.
    let response =
        format!("HTTP/1.1 {status} Test\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
    let mut tls = reader.into_inner();
    if tls.write_all(response.as_bytes()).await.is_ok() {
        let _ = tls.shutdown().await;
    }
}
