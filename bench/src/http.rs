//! A minimal HTTP/1.1 client: HTTPS (certificates not verified: lab stand-ins sign their
//! own) for the VIP and the stand-ins, plain HTTP for metrics and the Lease test server.
//! Call it from a task on a [`crate::netns::NetnsRuntime`] so its sockets live there.
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper::Request;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;
use vip_agent::health::TlsVerification;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("connect: {0}")]
    Connect(std::io::Error),
    #[error("TLS handshake: {0}")]
    Tls(std::io::Error),
    #[error("HTTP: {0}")]
    Http(#[from] hyper::Error),
    #[error("the body ended after {got} of {want} bytes")]
    ShortBody { got: u64, want: u64 },
    #[error("building the request: {0}")]
    Request(#[from] hyper::http::Error),
}

/// An answer: status, the `X-Node` header (which stand-in served it) and the body.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub node: Option<String>,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// `GET https://addr/path` on a new connection, all of it within `timeout`.
pub async fn https_get(
    addr: SocketAddr,
    path: &str,
    timeout: Duration,
) -> Result<Reply, HttpError> {
    let exchange = async {
        let tcp = TcpStream::connect(addr).await.map_err(HttpError::Connect)?;
        let _ = tcp.set_nodelay(true);
        let name = ServerName::IpAddress(addr.ip().into());
        let tls = TlsConnector::from(insecure_tls())
            .connect(name, tcp)
            .await
            .map_err(HttpError::Tls)?;
        exchange(tls, addr, path).await
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| HttpError::Timeout(timeout))?
}

/// A new HTTPS connection to `addr`, ready for requests: the sender, the task that drives
/// the connection (abort it to close the connection), and the client's port.
pub async fn open_https(
    addr: SocketAddr,
) -> Result<(SendRequest<Empty<Bytes>>, JoinHandle<()>, u16), HttpError> {
    let tcp = TcpStream::connect(addr).await.map_err(HttpError::Connect)?;
    let _ = tcp.set_nodelay(true);
    let port = tcp.local_addr().map_or(0, |a| a.port());
    let name = ServerName::IpAddress(addr.ip().into());
    let tls = TlsConnector::from(insecure_tls())
        .connect(name, tcp)
        .await
        .map_err(HttpError::Tls)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok((sender, driver, port))
}

/// `GET http://addr/path` on a new connection, within `timeout`.
pub async fn http_get(addr: SocketAddr, path: &str, timeout: Duration) -> Result<Reply, HttpError> {
    let exchange = async {
        let tcp = TcpStream::connect(addr).await.map_err(HttpError::Connect)?;
        exchange(tcp, addr, path).await
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| HttpError::Timeout(timeout))?
}

async fn exchange<S>(io: S, addr: SocketAddr, path: &str) -> Result<Reply, HttpError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
    // Ends with the exchange: the caller's timeout or the reply drops it.
    let connection = tokio::spawn(connection);
    let request = Request::get(path)
        .header(hyper::header::HOST, addr.to_string())
        .body(Empty::<Bytes>::new())?;
    let result = async {
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let node = response
            .headers()
            .get("x-node")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Reply { status, node, body })
    }
    .await;
    connection.abort();
    result
}

/// A client configuration that accepts any certificate (but still checks the handshake
/// signatures): the health checker's insecure mode.
pub fn insecure_tls() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let config = vip_agent::health::client_config(&TlsVerification::InsecureSkipVerify)
                .expect("ring supports the default protocol versions");
            Arc::new(config)
        })
        .clone()
}
