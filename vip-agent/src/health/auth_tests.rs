//! Issue 10 item 16: the probe authenticates with the agent's Kubernetes credentials
//! to API servers that answer 401 to anonymous requests.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use base64::Engine;

use super::test_server::{Behavior, TestPki, TestServer};
use super::tests::{error_after_failures, fast_settings, state_of, Running, LOCALHOST};
use super::{HealthSettings, HealthState, ProbeCredentials, TlsVerification};

const TOKEN: &str = "probe-token-3f9a";

/// A kubeconfig whose only user is `user` (a JSON object), pointing at `server`.
fn write_kubeconfig(dir: &Path, user: serde_json::Value) -> PathBuf {
    let kubeconfig = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": "c", "cluster": { "server": "https://127.0.0.1:6443" } }],
        "users": [{ "name": "u", "user": user }],
        "contexts": [{ "name": "x", "context": { "cluster": "c", "user": "u" } }],
        "current-context": "x",
    });
    let path = dir.join("kubeconfig");
    std::fs::write(&path, kubeconfig.to_string()).expect("write kubeconfig");
    path
}

async fn becomes_healthy(settings: HealthSettings) {
    let running = Running::start(settings, vec![LOCALHOST]);
    running
        .wait_for("healthy", |map| {
            state_of(map, LOCALHOST) == Some(HealthState::Healthy)
        })
        .await;
    running.stop().await;
}

#[tokio::test]
async fn readyz_probe_authenticates_to_an_api_server_without_anonymous_access() {
    let pki = TestPki::new(&[LOCALHOST]);
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(
        SocketAddr::new(LOCALHOST, 0),
        &pki,
        Behavior::RequireAuth { token: TOKEN },
    )
    .await;
    let settings = |credentials| HealthSettings {
        credentials,
        ..fast_settings(
            server.addr.port(),
            TlsVerification::CaFile(pki.write_ca(&dir)),
        )
    };

    // Anonymous, as before the fix: 401, the backend never becomes healthy.
    assert_eq!(
        error_after_failures(settings(ProbeCredentials::Anonymous)).await,
        "unexpected HTTP status 401"
    );

    // A kubeconfig bearer token.
    let with_token = write_kubeconfig(dir.path(), serde_json::json!({ "token": TOKEN }));
    let credentials = ProbeCredentials::from_kubeconfig(&with_token)
        .await
        .expect("token kubeconfig");
    becomes_healthy(settings(credentials)).await;

    // A token file, as the service account mounts it (read at every probe).
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).expect("token file");
    let with_file = write_kubeconfig(
        dir.path(),
        serde_json::json!({ "tokenFile": token_file.to_str().expect("utf-8 path") }),
    );
    let credentials = ProbeCredentials::from_kubeconfig(&with_file)
        .await
        .expect("token file kubeconfig");
    assert_eq!(
        credentials,
        ProbeCredentials::BearerTokenFile(token_file.clone())
    );
    becomes_healthy(settings(credentials)).await;

    // An embedded client certificate, as in kubeadm's admin.conf.
    let (chain, key) = pki.client_identity("kubernetes-admin");
    let encode = |pem: &[u8]| base64::engine::general_purpose::STANDARD.encode(pem);
    let with_certificate = write_kubeconfig(
        dir.path(),
        serde_json::json!({
            "client-certificate-data": encode(&chain),
            "client-key-data": encode(&key),
        }),
    );
    let credentials = ProbeCredentials::from_kubeconfig(&with_certificate)
        .await
        .expect("certificate kubeconfig");
    becomes_healthy(settings(credentials)).await;

    // A wrong token is still refused.
    assert_eq!(
        error_after_failures(settings(ProbeCredentials::BearerToken("wrong".into()))).await,
        "unexpected HTTP status 401"
    );
}

#[tokio::test]
async fn unusable_credentials_are_rejected_at_startup() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing_token_file = write_kubeconfig(
        dir.path(),
        serde_json::json!({ "tokenFile": "/nonexistent/vt-token" }),
    );
    let error = ProbeCredentials::from_kubeconfig(&missing_token_file)
        .await
        .expect_err("missing token file");
    assert!(
        error.to_string().contains("/nonexistent/vt-token"),
        "{error}"
    );
    let bad_key = write_kubeconfig(
        dir.path(),
        serde_json::json!({
            "client-certificate-data": "bm90IGEgY2VydGlmaWNhdGU=",
            "client-key-data": "bm90IGEga2V5",
        }),
    );
    let error = ProbeCredentials::from_kubeconfig(&bad_key)
        .await
        .expect_err("garbage certificate");
    assert!(error.to_string().contains("client certificate"), "{error}");
}
