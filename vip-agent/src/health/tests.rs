//! End-to-end probes against local TLS servers.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::test_server::{Behavior, TestPki, TestServer};
use super::*;

pub(super) const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const LOCALHOST_2: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const WAIT_LIMIT: Duration = Duration::from_secs(10);

pub(super) fn fast_settings(port: u16, tls: TlsVerification) -> HealthSettings {
    HealthSettings {
        path: "/readyz".into(),
        port,
        tls,
        credentials: ProbeCredentials::Anonymous,
        timeout: Duration::from_millis(300),
        interval: Duration::from_millis(50),
        rise: 3,
        fall: 2,
        initial_state: HealthState::Unhealthy,
    }
}

/// A checker running in the background on a fixed backend list.
pub(super) struct Running {
    status: watch::Receiver<HealthMap>,
    backends: watch::Sender<Vec<IpAddr>>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub(super) fn start(settings: HealthSettings, backends: Vec<IpAddr>) -> Self {
        let checker = HealthChecker::new(settings).expect("valid settings");
        let status = checker.subscribe();
        let (backends, backends_rx) = watch::channel(backends);
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(checker.run(backends_rx, shutdown.clone()));
        Self {
            status,
            backends,
            shutdown,
            task,
        }
    }

    /// Polls instead of waiting for notifications because counters change
    /// without notifying subscribers.
    pub(super) async fn wait_for(
        &self,
        what: &str,
        mut condition: impl FnMut(&HealthMap) -> bool,
    ) -> HealthMap {
        let deadline = Instant::now() + WAIT_LIMIT;
        loop {
            let current = self.status.borrow().clone();
            if condition(&current) {
                return current;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {current:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub(super) async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(WAIT_LIMIT, self.task)
            .await
            .expect("checker stops after shutdown")
            .expect("checker task does not panic");
    }
}

pub(super) fn state_of(map: &HealthMap, ip: IpAddr) -> Option<HealthState> {
    map.get(&ip).map(|health| health.state)
}

#[tokio::test]
async fn rise_and_fall_follow_the_server_status_with_ca_verification() {
    let pki = TestPki::new(&[LOCALHOST]);
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(SocketAddr::new(LOCALHOST, 0), &pki, Behavior::Answer).await;
    server.set_readyz_status(500);
    let tls = TlsVerification::CaFile(pki.write_ca(&dir));
    let running = Running::start(fast_settings(server.addr.port(), tls), vec![LOCALHOST]);

    let failing = running
        .wait_for("failures", |m| {
            m.get(&LOCALHOST)
                .is_some_and(|h| h.consecutive_failures >= 2)
        })
        .await;
    let health = &failing[&LOCALHOST];
    assert_eq!(health.state, HealthState::Unhealthy, "starts unhealthy");
    assert_eq!(
        health.last_error.as_deref(),
        Some("unexpected HTTP status 500")
    );

    server.set_readyz_status(200);
    let healthy = running
        .wait_for("healthy", |m| {
            state_of(m, LOCALHOST) == Some(HealthState::Healthy)
        })
        .await;
    let health = &healthy[&LOCALHOST];
    assert!(health.consecutive_successes >= 3, "{health:?}");
    assert_eq!(health.last_error, None);
    assert!(health
        .last_latency
        .is_some_and(|latency| latency < Duration::from_millis(300)));

    server.set_readyz_status(500);
    let unhealthy = running
        .wait_for("unhealthy", |m| {
            state_of(m, LOCALHOST) == Some(HealthState::Unhealthy)
        })
        .await;
    let health = &unhealthy[&LOCALHOST];
    assert!(health.consecutive_failures >= 2, "{health:?}");
    assert_eq!(
        health.last_error.as_deref(),
        Some("unexpected HTTP status 500")
    );

    running.stop().await;
}

/// Probes 127.0.0.1 with `settings` until it has failed twice and returns
/// the last error.
pub(super) async fn error_after_failures(settings: HealthSettings) -> String {
    let running = Running::start(settings, vec![LOCALHOST]);
    let map = running
        .wait_for("two failures", |m| {
            m.get(&LOCALHOST)
                .is_some_and(|h| h.consecutive_failures >= 2)
        })
        .await;
    running.stop().await;
    assert_eq!(state_of(&map, LOCALHOST), Some(HealthState::Unhealthy));
    map[&LOCALHOST].last_error.clone().expect("an error")
}

#[tokio::test]
async fn ca_verification_rejects_a_foreign_ca_and_a_wrong_ip() {
    let dir = tempfile::tempdir().expect("temp dir");
    let foreign_ca = TestPki::new(&[LOCALHOST]).write_ca(&dir);
    let pki = TestPki::new(&[LOCALHOST]);
    let server = TestServer::start(SocketAddr::new(LOCALHOST, 0), &pki, Behavior::Answer).await;
    let settings = fast_settings(server.addr.port(), TlsVerification::CaFile(foreign_ca));
    let error = error_after_failures(settings).await;
    // Both CAs share a name, like every cluster's "kubernetes" CA, so the
    // chain is built and then fails on the signature.
    assert!(
        error.starts_with("TLS handshake failed: invalid peer certificate"),
        "{error}"
    );

    let other_ip_dir = tempfile::tempdir().expect("temp dir");
    let other_ip_pki = TestPki::new(&[LOCALHOST_2]);
    let server = TestServer::start(
        SocketAddr::new(LOCALHOST, 0),
        &other_ip_pki,
        Behavior::Answer,
    )
    .await;
    let ca = TlsVerification::CaFile(other_ip_pki.write_ca(&other_ip_dir));
    let error = error_after_failures(fast_settings(server.addr.port(), ca)).await;
    assert!(
        error.contains("not valid for name \"127.0.0.1\""),
        "{error}"
    );
}

#[tokio::test]
async fn insecure_mode_accepts_any_certificate() {
    let pki = TestPki::new(&[LOCALHOST_2]);
    let server = TestServer::start(SocketAddr::new(LOCALHOST, 0), &pki, Behavior::Answer).await;
    let settings = fast_settings(server.addr.port(), TlsVerification::InsecureSkipVerify);
    let running = Running::start(settings, vec![LOCALHOST]);
    running
        .wait_for("healthy", |m| {
            state_of(m, LOCALHOST) == Some(HealthState::Healthy)
        })
        .await;
    running.stop().await;
}

#[tokio::test]
async fn silent_server_and_wrong_path_fail() {
    let pki = TestPki::new(&[LOCALHOST]);
    let silent = TestServer::start(SocketAddr::new(LOCALHOST, 0), &pki, Behavior::Silent).await;
    let settings = fast_settings(silent.addr.port(), TlsVerification::InsecureSkipVerify);
    let started = Instant::now();
    let error = error_after_failures(settings).await;
    assert_eq!(error, "timed out after 300ms");
    assert!(started.elapsed() >= Duration::from_millis(600));

    let server = TestServer::start(SocketAddr::new(LOCALHOST, 0), &pki, Behavior::Answer).await;
    let settings = HealthSettings {
        path: "/livez".into(),
        ..fast_settings(server.addr.port(), TlsVerification::InsecureSkipVerify)
    };
    assert_eq!(
        error_after_failures(settings).await,
        "unexpected HTTP status 404"
    );
}

/// Binds test servers on 127.0.0.1 and 127.0.0.2 sharing one port, as the
/// checker uses the same port for every backend.
async fn two_servers(pki: &TestPki) -> (TestServer, TestServer) {
    for _ in 0..20 {
        let first = TestServer::start(SocketAddr::new(LOCALHOST, 0), pki, Behavior::Answer).await;
        let second_addr = SocketAddr::new(LOCALHOST_2, first.addr.port());
        if std::net::TcpListener::bind(second_addr).is_ok() {
            let second = TestServer::start(second_addr, pki, Behavior::Answer).await;
            return (first, second);
        }
    }
    panic!("no port free on both 127.0.0.1 and 127.0.0.2");
}

#[tokio::test]
async fn backends_can_be_added_and_removed_at_runtime() {
    let pki = TestPki::new(&[LOCALHOST, LOCALHOST_2]);
    let (first, _second) = two_servers(&pki).await;
    let settings = fast_settings(first.addr.port(), TlsVerification::InsecureSkipVerify);
    let running = Running::start(settings, vec![LOCALHOST]);
    running
        .wait_for("first healthy", |m| {
            state_of(m, LOCALHOST) == Some(HealthState::Healthy)
        })
        .await;

    running.backends.send_replace(vec![LOCALHOST, LOCALHOST_2]);
    let both = running
        .wait_for("both healthy", |m| healthy_backends(m).len() == 2)
        .await;
    assert_eq!(healthy_backends(&both), [LOCALHOST, LOCALHOST_2].into());

    running.backends.send_replace(vec![LOCALHOST_2]);
    running
        .wait_for("first removed", |m| !m.contains_key(&LOCALHOST))
        .await;
    // Probes of the removed backend must not bring its entry back.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let keys: Vec<IpAddr> = running.status.borrow().keys().copied().collect();
    assert_eq!(keys, [LOCALHOST_2]);

    // Re-adding starts over from the initial state.
    running.backends.send_replace(vec![LOCALHOST, LOCALHOST_2]);
    let readded = running
        .wait_for("re-added", |m| m.contains_key(&LOCALHOST))
        .await;
    assert!(readded[&LOCALHOST].probes_total < 3, "{readded:?}");
    running.stop().await;
}
