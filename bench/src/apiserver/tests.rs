use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::{serve_listener, StandInConfig};
use crate::http::https_get;

const TIMEOUT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn answers_every_endpoint_with_its_node_name() {
    let dir = std::env::temp_dir().join(format!("vt-apiserver-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let flag = dir.join("n7.unready");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = StandInConfig {
        node: "n7".to_owned(),
        listen: addr,
        sans: vec![addr.ip()],
        unready_file: Some(flag.clone()),
    };
    let stop = CancellationToken::new();
    let server = tokio::spawn(serve_listener(listener, config, stop.clone()));

    let version = https_get(addr, "/version", TIMEOUT).await.unwrap();
    assert_eq!((version.status, version.node.as_deref()), (200, Some("n7")));
    let json: serde_json::Value = serde_json::from_slice(&version.body).unwrap();
    assert_eq!(json["node"], "n7");
    assert_eq!(
        https_get(addr, "/livez", TIMEOUT).await.unwrap().text(),
        "ok\n"
    );

    assert_eq!(
        https_get(addr, "/readyz", TIMEOUT).await.unwrap().status,
        200
    );
    std::fs::write(&flag, "").unwrap();
    assert_eq!(
        https_get(addr, "/readyz", TIMEOUT).await.unwrap().status,
        500
    );
    std::fs::remove_file(&flag).unwrap();
    assert_eq!(
        https_get(addr, "/readyz", TIMEOUT).await.unwrap().status,
        200
    );

    let download = https_get(addr, "/download?bytes=200001", TIMEOUT)
        .await
        .unwrap();
    assert_eq!(download.body.len(), 200_001);
    assert_eq!(
        https_get(addr, "/download?bytes=x", TIMEOUT)
            .await
            .unwrap()
            .status,
        400
    );

    let stream = https_get(addr, "/stream?seconds=1", TIMEOUT).await.unwrap();
    let lines = stream.text().lines().filter(|l| *l == "n7").count();
    assert!((8..=12).contains(&lines), "{lines} lines in 1 s at 100 ms");
    assert_eq!(https_get(addr, "/nope", TIMEOUT).await.unwrap().status, 404);

    stop.cancel();
    server.await.unwrap().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}
