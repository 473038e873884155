//! The agent's own HTTP endpoints: `/metrics` (Prometheus text format),
//! `/livez` and `/readyz`.

mod metrics;
mod ops_metrics;
#[cfg(test)]
mod tests;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus::{Encoder, Registry, TextEncoder, TEXT_FORMAT};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

pub use metrics::Metrics;
pub use ops_metrics::OpsMetrics;

/// Slow clients must not hold connections forever.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long open connections may finish their requests after shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
const PLAIN_TEXT: &str = "text/plain; charset=utf-8";

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create or register metric {name}: {source}")]
    Metric {
        name: String,
        #[source]
        source: prometheus::Error,
    },
}

/// Liveness and readiness as reported by the agent's loops.
#[derive(Debug)]
pub struct AgentStatus {
    started: Instant,
    /// Milliseconds after `started` of the latest heartbeat.
    last_heartbeat_ms: AtomicU64,
    liveness_timeout: Duration,
    data_plane_attached: AtomicBool,
    election_running: AtomicBool,
    reconciled: AtomicBool,
}

impl AgentStatus {
    /// The agent counts as live until `liveness_timeout` passes without a
    /// [`heartbeat`](Self::heartbeat); it starts out live and not ready.
    pub fn new(liveness_timeout: Duration) -> Self {
        Self {
            started: Instant::now(),
            last_heartbeat_ms: AtomicU64::new(0),
            liveness_timeout,
            data_plane_attached: AtomicBool::new(false),
            election_running: AtomicBool::new(false),
            reconciled: AtomicBool::new(false),
        }
    }

    /// Called by the agent's main loop on every iteration.
    pub fn heartbeat(&self) {
        self.last_heartbeat_ms
            .store(self.elapsed_ms(), Ordering::Relaxed);
    }

    pub fn set_data_plane_attached(&self, attached: bool) {
        self.data_plane_attached.store(attached, Ordering::Relaxed);
    }

    /// Set once the leader election (or, without one, the fixed leadership) has started.
    pub fn set_election_running(&self, running: bool) {
        self.election_running.store(running, Ordering::Relaxed);
    }

    /// Records that a reconciliation completed; readiness needs at least one.
    pub fn mark_reconciled(&self) {
        self.reconciled.store(true, Ordering::Relaxed);
    }

    pub fn is_live(&self) -> bool {
        let silent_ms = self
            .elapsed_ms()
            .saturating_sub(self.last_heartbeat_ms.load(Ordering::Relaxed));
        u128::from(silent_ms) <= self.liveness_timeout.as_millis()
    }

    /// `Err` names what the agent is still waiting for.
    pub fn readiness(&self) -> Result<(), &'static str> {
        if !self.data_plane_attached.load(Ordering::Relaxed) {
            return Err("data plane not attached");
        }
        if !self.election_running.load(Ordering::Relaxed) {
            return Err("election not running");
        }
        if !self.reconciled.load(Ordering::Relaxed) {
            return Err("not reconciled yet");
        }
        Ok(())
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// Binds the listener that [`serve_listener`] accepts on.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, HttpError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| HttpError::Bind { addr, source })
}

/// Serves the endpoints on `addr` until `shutdown` is cancelled.
pub async fn serve(
    addr: SocketAddr,
    registry: Registry,
    status: Arc<AgentStatus>,
    shutdown: CancellationToken,
) -> Result<(), HttpError> {
    let listener = bind(addr).await?;
    serve_listener(listener, registry, status, shutdown).await;
    Ok(())
}

/// Serves the endpoints on an already bound listener until `shutdown` is
/// cancelled, then lets open connections finish for a few seconds.
pub async fn serve_listener(
    listener: TcpListener,
    registry: Registry,
    status: Arc<AgentStatus>,
    shutdown: CancellationToken,
) {
    let endpoints = Arc::new(Endpoints { registry, status });
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, "serving /metrics, /livez and /readyz");
    }
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    debug!(%peer, "accepted HTTP connection");
                    connections.spawn(serve_connection(stream, Arc::clone(&endpoints), shutdown.clone()));
                }
                Err(error) => {
                    // Usually out of file descriptors: back off instead of spinning.
                    warn!(%error, "accepting an HTTP connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        warn!("HTTP connections still open after the shutdown grace period; closing them");
        connections.shutdown().await;
    }
}

async fn serve_connection(
    stream: TcpStream,
    endpoints: Arc<Endpoints>,
    shutdown: CancellationToken,
) {
    let service = service_fn(move |request: Request<Incoming>| {
        let response = endpoints.respond(&request);
        async move { Ok::<_, Infallible>(response) }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        debug!(%error, "HTTP connection ended with an error");
    }
}

struct Endpoints {
    registry: Registry,
    status: Arc<AgentStatus>,
}

impl Endpoints {
    fn respond(&self, request: &Request<Incoming>) -> Response<Full<Bytes>> {
        let path = request.uri().path();
        if !matches!(path, "/metrics" | "/livez" | "/readyz") {
            return text(StatusCode::NOT_FOUND, "not found\n");
        }
        if !matches!(*request.method(), Method::GET | Method::HEAD) {
            let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        match path {
            "/metrics" => self.metrics(),
            "/livez" if self.status.is_live() => text(StatusCode::OK, "ok\n"),
            "/livez" => text(StatusCode::SERVICE_UNAVAILABLE, "agent loop stalled\n"),
            _ => match self.status.readiness() {
                Ok(()) => text(StatusCode::OK, "ok\n"),
                Err(reason) => text(StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n")),
            },
        }
    }

    fn metrics(&self) -> Response<Full<Bytes>> {
        let encoder = TextEncoder::new();
        let mut body = Vec::new();
        if let Err(error) = encoder.encode(&self.registry.gather(), &mut body) {
            warn!(%error, "encoding metrics failed");
            return text(StatusCode::INTERNAL_SERVER_ERROR, "cannot encode metrics\n");
        }
        let mut response = Response::new(Full::new(Bytes::from(body)));
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(TEXT_FORMAT));
        response
    }
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(PLAIN_TEXT));
    response
}
