//! `LeaseTestServer`: a TEST STAND-IN for the kube-apiserver's Lease endpoints.
//!
//! It is NOT a Kubernetes API server: no TLS, no authentication, no watch, no
//! discovery, only `coordination.k8s.io/v1` leases kept in memory (and a static
//! `GET /api/v1/nodes` list for backend discovery tests). It answers
//! the calls kube's `Api<Lease>` makes (get, create, replace, delete) with the
//! apiserver's status codes and `Status` bodies, including optimistic
//! concurrency on `resourceVersion`, so the elector is tested with the real
//! kube client. Outages can be switched on to test fail-static behaviour, and
//! writes can be held back to line up write races deterministically.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use k8s_openapi::api::coordination::v1::Lease;
use serde_json::json;
use thiserror::Error;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

mod faults;
pub mod nodes;
mod store;

pub use faults::InjectedFailure;

use store::{key, Reply, Store};

#[derive(Debug, Error)]
pub enum LeaseTestServerError {
    #[error("binding lease test server to {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("writing kubeconfig {path}: {source}")]
    WriteKubeconfig {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Ends a black-holed connection without an answer.
    #[error("connection black-holed")]
    BlackHoled,
    #[error("reading request body: {source}")]
    ReadBody {
        #[source]
        source: hyper::Error,
    },
}

/// A running stand-in; stops when dropped.
pub struct LeaseTestServer {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

struct Shared {
    store: Mutex<Store>,
    /// `false` while writes are paused.
    writes_open: watch::Sender<bool>,
}

impl Shared {
    fn store(&self) -> MutexGuard<'_, Store> {
        // The store stays consistent even if a test panicked while holding it.
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl LeaseTestServer {
    /// Binds `addr` (port 0 picks a free port) and serves in the background.
    pub async fn start(addr: SocketAddr) -> Result<Self, LeaseTestServerError> {
        let bind_error = |source| LeaseTestServerError::Bind { addr, source };
        let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::default()),
            writes_open: watch::Sender::new(true),
        });
        let stop = CancellationToken::new();
        let task = tokio::spawn(accept_loop(listener, shared.clone(), stop.clone()));
        Ok(Self {
            local_addr,
            shared,
            stop,
            task: Some(task),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// Nodes answered to `GET /api/v1/nodes` (backend discovery).
    pub fn set_nodes(&self, nodes: Vec<k8s_openapi::api::core::v1::Node>) {
        self.shared.store().nodes = nodes;
    }

    /// While on, every request gets 503 ServiceUnavailable.
    pub fn set_outage(&self, unavailable: bool) {
        self.shared.store().unavailable = unavailable;
    }

    /// For `duration`, requests get no answer; their connections are closed
    /// when the window ends (clients see timeouts, then resets).
    pub fn black_hole_for(&self, duration: Duration) {
        self.shared.store().black_hole_until = Some(Instant::now() + duration);
    }

    /// Answers requests as `failures` say (first match wins) until replaced; an empty
    /// list serves everything again.
    pub fn inject_failures(&self, failures: Vec<InjectedFailure>) {
        self.shared.store().faults.set(failures);
    }

    /// Delays every answer by `latency` (zero: none).
    pub fn set_latency(&self, latency: Duration) {
        self.shared.store().faults.latency = latency;
    }

    /// Holds every create and update until [`Self::resume_writes`].
    pub fn pause_writes(&self) {
        self.shared.writes_open.send_replace(false);
    }

    /// Lets held writes through; they are then processed one at a time.
    pub fn resume_writes(&self) {
        self.shared.writes_open.send_replace(true);
    }

    /// Creates and updates currently held by [`Self::pause_writes`].
    pub fn held_writes(&self) -> usize {
        self.shared.store().held_writes
    }

    /// How many answers carried HTTP status `code` so far.
    pub fn answers_with(&self, code: u16) -> usize {
        self.shared.store().answers.get(&code).copied().unwrap_or(0)
    }

    /// The stored lease, as a client would read it.
    pub fn lease(&self, namespace: &str, name: &str) -> Option<Lease> {
        self.shared
            .store()
            .leases
            .get(&key(namespace, name))
            .cloned()
    }

    /// Stores `lease` directly (test setup), bypassing validation; returns it
    /// with its new resourceVersion.
    pub fn put_lease(&self, namespace: &str, mut lease: Lease) -> Lease {
        let mut store = self.shared.store();
        let name = lease.metadata.name.clone().unwrap_or_default();
        lease.metadata.namespace = Some(namespace.to_owned());
        store.stamp(&mut lease);
        store.leases.insert(key(namespace, &name), lease.clone());
        lease
    }

    pub fn delete_lease(&self, namespace: &str, name: &str) -> Option<Lease> {
        self.shared.store().leases.remove(&key(namespace, name))
    }

    /// Stops accepting and drops every open connection.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for LeaseTestServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Runs the stand-in as a standalone process would, until `shutdown` fires.
pub async fn serve(
    addr: SocketAddr,
    shutdown: CancellationToken,
) -> Result<(), LeaseTestServerError> {
    let server = LeaseTestServer::start(addr).await?;
    let url = server.url();
    info!(%url, "lease test server listening (a test stand-in, not a Kubernetes API server)");
    shutdown.cancelled().await;
    server.shutdown().await;
    Ok(())
}

/// Writes a kubeconfig (JSON, which is valid YAML) pointing kube at `url`.
pub fn write_kubeconfig(path: &Path, url: &str) -> Result<(), LeaseTestServerError> {
    let name = "lease-test-server";
    let kubeconfig = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": name, "cluster": { "server": url } }],
        "users": [{ "name": name, "user": {} }],
        "contexts": [{
            "name": name,
            "context": { "cluster": name, "user": name, "namespace": "default" },
        }],
        "current-context": name,
    });
    std::fs::write(path, format!("{kubeconfig:#}\n")).map_err(|source| {
        LeaseTestServerError::WriteKubeconfig {
            path: path.to_owned(),
            source,
        }
    })
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, stop: CancellationToken) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(serve_connection(stream, peer, shared.clone()));
                }
                Err(error) => {
                    warn!(%error, "lease test server accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}

async fn serve_connection(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let service = hyper::service::service_fn(move |request| handle(shared.clone(), request));
    let connection = hyper::server::conn::http1::Builder::new();
    if let Err(error) = connection
        .serve_connection(TokioIo::new(stream), service)
        .await
    {
        debug!(%peer, %error, "lease test server connection ended");
    }
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Reply, LeaseTestServerError> {
    let black_hole_until = shared
        .store()
        .black_hole_until
        .filter(|until| *until > Instant::now());
    if let Some(until) = black_hole_until {
        tokio::time::sleep_until(until).await;
        return Err(LeaseTestServerError::BlackHoled);
    }
    let latency = shared.store().faults.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|source| LeaseTestServerError::ReadBody { source })?
        .to_bytes();
    if matches!(parts.method, Method::POST | Method::PUT) {
        shared.store().held_writes += 1;
        // The sender lives in `shared`, so waiting cannot fail.
        let _ = shared.writes_open.subscribe().wait_for(|open| *open).await;
        shared.store().held_writes -= 1;
    }
    let reply = shared
        .store()
        .answer(&parts.method, parts.uri.path(), parts.uri.query(), &body);
    Ok(reply)
}
