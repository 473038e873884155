//! The API-server stand-in each lab node runs on :6443 (`vip-lab-apiserver`): TLS with a
//! self-signed certificate, `/readyz`, `/livez`, `/version`, `/download?bytes=N` and
//! `/stream`; every answer names the node in `X-Node`.
mod body;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

pub use body::LabBody;

/// Longest `/stream` answer, so a forgotten client cannot keep one open forever.
pub const MAX_STREAM: Duration = Duration::from_secs(600);
/// Largest `/download`.
pub const MAX_DOWNLOAD: u64 = 64 << 30;

#[derive(Clone, Debug)]
pub struct StandInConfig {
    pub node: String,
    pub listen: SocketAddr,
    /// IP SANs of the certificate (node address, VIP).
    pub sans: Vec<IpAddr>,
    /// `/readyz` fails while this file exists.
    pub unready_file: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum StandInError {
    #[error("making the certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    #[error("listening on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A server configuration with a fresh self-signed certificate for `config.sans`.
pub fn tls_config(config: &StandInConfig) -> Result<ServerConfig, StandInError> {
    let mut names: Vec<String> = config.sans.iter().map(ToString::to_string).collect();
    names.push(config.node.clone());
    let certified = rcgen::generate_simple_self_signed(names)?;
    let key = PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der());
    let mut tls =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(
                vec![certified.cert.der().clone()],
                PrivateKeyDer::Pkcs8(key),
            )?;
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tls)
}

/// Binds `config.listen` and serves until `shutdown`.
pub async fn serve(config: StandInConfig, shutdown: CancellationToken) -> Result<(), StandInError> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| StandInError::Bind {
            addr: config.listen,
            source,
        })?;
    serve_listener(listener, config, shutdown).await
}

/// Serves on `listener` until `shutdown`.
pub async fn serve_listener(
    listener: TcpListener,
    config: StandInConfig,
    shutdown: CancellationToken,
) -> Result<(), StandInError> {
    let acceptor = TlsAcceptor::from(Arc::new(tls_config(&config)?));
    let config = Arc::new(config);
    loop {
        let (tcp, _) = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let (acceptor, config) = (acceptor.clone(), config.clone());
        tokio::spawn(async move {
            let handshake = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp));
            let Ok(Ok(tls)) = handshake.await else { return };
            let service = hyper::service::service_fn(move |request| {
                let config = config.clone();
                async move { Ok::<_, std::convert::Infallible>(answer(&config, &request)) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

/// The answer to one request.
pub fn answer<B>(config: &StandInConfig, request: &Request<B>) -> Response<LabBody> {
    let (status, body) = match request.uri().path() {
        "/livez" => (StatusCode::OK, LabBody::text("ok")),
        "/readyz" => match &config.unready_file {
            Some(flag) if flag.exists() => (
                StatusCode::INTERNAL_SERVER_ERROR,
                LabBody::text(&format!(
                    "[-]vip-lab failed: {} exists\nreadyz check failed",
                    flag.display()
                )),
            ),
            _ => (StatusCode::OK, LabBody::text("ok")),
        },
        "/version" => (StatusCode::OK, LabBody::text(&version(&config.node))),
        "/download" => match query(request, "bytes").map(str::parse::<u64>) {
            Some(Ok(bytes)) if bytes <= MAX_DOWNLOAD => (StatusCode::OK, LabBody::download(bytes)),
            _ => (
                StatusCode::BAD_REQUEST,
                LabBody::text("want ?bytes=N (at most 64 GiB)"),
            ),
        },
        "/stream" => {
            let seconds = query(request, "seconds").and_then(|s| s.parse::<u64>().ok());
            let limit = seconds
                .map_or(MAX_STREAM, Duration::from_secs)
                .min(MAX_STREAM);
            (
                StatusCode::OK,
                LabBody::stream(&config.node, Duration::from_millis(100), limit),
            )
        }
        _ => (StatusCode::NOT_FOUND, LabBody::text("not found")),
    };
    let content_type = if request.uri().path() == "/version" {
        "application/json"
    } else {
        "text/plain"
    };
    Response::builder()
        .status(status)
        .header("x-node", config.node.as_str())
        .header(hyper::header::CONTENT_TYPE, content_type)
        .body(body)
        .expect("static headers are valid")
}

fn version(node: &str) -> String {
    serde_json::json!({
        "major": "1",
        "minor": "33",
        "gitVersion": "v1.33.0-vip-lab",
        "platform": "linux/amd64",
        "node": node,
    })
    .to_string()
}

fn query<'r, B>(request: &'r Request<B>, key: &str) -> Option<&'r str> {
    request
        .uri()
        .query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
}

#[cfg(test)]
mod tests;
