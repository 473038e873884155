use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::header::{ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus::Registry;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::*;

const LIMIT: Duration = Duration::from_secs(5);

struct TestEndpoint {
    addr: SocketAddr,
    status: Arc<AgentStatus>,
    metrics: Metrics,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl TestEndpoint {
    async fn start(liveness_timeout: Duration) -> Self {
        let registry = Registry::new();
        let metrics = Metrics::register(&registry).expect("metrics register");
        let status = Arc::new(AgentStatus::new(liveness_timeout));
        let listener = bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local address");
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(serve_listener(
            listener,
            registry,
            Arc::clone(&status),
            shutdown.clone(),
        ));
        Self {
            addr,
            status,
            metrics,
            shutdown,
            task,
        }
    }

    async fn request(&self, method: Method, path: &str) -> Reply {
        tokio::time::timeout(LIMIT, request(self.addr, method, path))
            .await
            .expect("request finishes in time")
    }

    async fn get(&self, path: &str) -> Reply {
        self.request(Method::GET, path).await
    }

    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(LIMIT, self.task)
            .await
            .expect("server stops after shutdown")
            .expect("server task does not panic");
    }
}

#[derive(Debug)]
struct Reply {
    status: StatusCode,
    content_type: String,
    allow: Option<String>,
    body: String,
}

async fn request(addr: SocketAddr, method: Method, path: &str) -> Reply {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string())
        .body(Empty::<Bytes>::new())
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    let header = |name| {
        response
            .headers()
            .get(name)
            .map(|value: &hyper::header::HeaderValue| value.to_str().expect("ascii").to_owned())
    };
    let status = response.status();
    let content_type = header(CONTENT_TYPE).unwrap_or_default();
    let allow = header(ALLOW);
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Reply {
        status,
        content_type,
        allow,
        body: String::from_utf8(body.to_vec()).expect("utf-8 body"),
    }
}

#[tokio::test]
async fn metrics_endpoint_exposes_values_set_by_the_agent() {
    let endpoint = TestEndpoint::start(LIMIT).await;
    let metrics = &endpoint.metrics;
    let backend = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
    metrics.is_leader.set(1);
    metrics.set_backend_healthy(backend, true);
    metrics.set_backend_traffic(backend, 10, 1500);
    metrics.set_backend_traffic(backend, 12, 1800);
    metrics.set_xdp_verdict_total("tx", 7);
    metrics.health_check_duration_seconds.observe(0.003);

    let reply = endpoint.get("/metrics").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type, "text/plain; version=0.0.4");
    for line in [
        "vip_is_leader 1",
        "vip_backend_healthy{backend=\"192.0.2.10\"} 1",
        "vip_backend_packets_total{backend=\"192.0.2.10\"} 12",
        "vip_backend_bytes_total{backend=\"192.0.2.10\"} 1800",
        "vip_xdp_verdicts_total{reason=\"tx\"} 7",
        "vip_health_check_duration_seconds_bucket{le=\"0.005\"} 1",
        "vip_leader_transitions_total 0",
        "# TYPE vip_backend_packets_total counter",
    ] {
        assert!(
            reply.body.lines().any(|l| l == line),
            "missing {line:?} in\n{}",
            reply.body
        );
    }

    metrics.remove_backend(backend);
    let reply = endpoint.get("/metrics").await;
    assert!(!reply.body.contains("192.0.2.10"), "{}", reply.body);
    endpoint.stop().await;
}

#[tokio::test]
async fn livez_follows_the_heartbeat() {
    let endpoint = TestEndpoint::start(Duration::from_millis(100)).await;
    let reply = endpoint.get("/livez").await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, "ok\n")
    );
    assert_eq!(reply.content_type, PLAIN_TEXT);

    tokio::time::sleep(Duration::from_millis(250)).await;
    let reply = endpoint.get("/livez").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);

    endpoint.status.heartbeat();
    assert_eq!(endpoint.get("/livez").await.status, StatusCode::OK);
    endpoint.stop().await;
}

#[tokio::test]
async fn readyz_needs_an_attached_data_plane_a_running_election_and_a_reconcile() {
    let endpoint = TestEndpoint::start(LIMIT).await;
    let reply = endpoint.get("/readyz").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.body, "data plane not attached\n");
    assert_eq!(reply.content_type, PLAIN_TEXT);

    endpoint.status.set_data_plane_attached(true);
    let reply = endpoint.get("/readyz").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.body, "election not running\n");

    endpoint.status.set_election_running(true);
    let reply = endpoint.get("/readyz").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.body, "not reconciled yet\n");

    endpoint.status.mark_reconciled();
    assert_eq!(endpoint.get("/readyz").await.status, StatusCode::OK);

    endpoint.status.set_data_plane_attached(false);
    assert_eq!(
        endpoint.get("/readyz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    endpoint.stop().await;
}

#[tokio::test]
async fn unknown_paths_and_methods_are_rejected() {
    let endpoint = TestEndpoint::start(LIMIT).await;
    let reply = endpoint.get("/nope").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.content_type, PLAIN_TEXT);

    let reply = endpoint.request(Method::POST, "/metrics").await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.allow.as_deref(), Some("GET, HEAD"));

    let reply = endpoint.request(Method::HEAD, "/livez").await;
    assert_eq!((reply.status, reply.body.as_str()), (StatusCode::OK, ""));
    endpoint.stop().await;
}

#[tokio::test]
async fn shutdown_closes_idle_keep_alive_connections() {
    let endpoint = TestEndpoint::start(LIMIT).await;
    let stream = TcpStream::connect(endpoint.addr).await.expect("connect");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    let client_connection = tokio::spawn(connection);
    let request = Request::get("/livez")
        .body(Empty::<Bytes>::new())
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    drop(response);

    // The client keeps its connection open; shutdown must not wait for it.
    let started = std::time::Instant::now();
    endpoint.stop().await;
    assert!(started.elapsed() < SHUTDOWN_GRACE);
    tokio::time::timeout(LIMIT, client_connection)
        .await
        .expect("server closed the connection")
        .expect("client connection task")
        .expect("clean close");
    drop(sender);
}

#[tokio::test]
async fn serve_reports_an_address_in_use() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("address");
    let result = serve(
        addr,
        Registry::new(),
        Arc::new(AgentStatus::new(LIMIT)),
        CancellationToken::new(),
    )
    .await;
    match result {
        Err(HttpError::Bind { addr: failed, .. }) => assert_eq!(failed, addr),
        other => panic!("expected a bind error, got {other:?}"),
    }
}

#[tokio::test]
async fn metrics_carry_build_election_api_error_and_process_series() {
    use crate::election::{ApiErrorClass, ApiFailure, ElectionObserver};
    let endpoint = TestEndpoint::start(LIMIT).await;
    let ops = &endpoint.metrics.ops;
    ops.set_election("lease", Some("kube-system/vip-agent-lock"));
    ops.fail_static(true);
    let failure = ApiFailure {
        operation: "update",
        class: ApiErrorClass::ClientError,
    };
    ops.api_failed(&failure);
    ops.api_failed(&failure);
    let body = endpoint.get("/metrics").await.body;
    let version = format!("version=\"{}\"", env!("CARGO_PKG_VERSION"));
    let build_line = body
        .lines()
        .find(|line| line.starts_with("vip_build_info{"))
        .unwrap_or_else(|| panic!("no vip_build_info in\n{body}"));
    assert!(build_line.contains(&version), "{build_line}");
    assert!(build_line.contains("xdp_sha256=\""), "{build_line}");
    assert!(build_line.ends_with("} 1"), "{build_line}");
    for line in [
        "vip_election_info{lease=\"kube-system/vip-agent-lock\",mode=\"lease\"} 1",
        "vip_fail_static 1",
        "vip_kube_api_errors_total{class=\"4xx\",operation=\"update\"} 2",
    ] {
        assert!(body.lines().any(|l| l == line), "no {line:?} in\n{body}");
    }
    for process in [
        "process_resident_memory_bytes ",
        "process_open_fds ",
        "process_cpu_seconds_total ",
    ] {
        assert!(body.contains(process), "no {process} in\n{body}");
    }
    endpoint.stop().await;
}
