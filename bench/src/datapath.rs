//! The data path as a client sees it: latency of new HTTPS requests (TCP and TLS
//! handshake, `GET /version`, one after another) and bulk throughput (`/download`).
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::http::{https_get, open_https, HttpError};
use crate::netns::NetnsRuntime;
use crate::stats::percentile;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Latency {
    pub requests: usize,
    pub failed: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub mean_ms: f64,
}

/// `count` requests for `/version`, each on a new connection, one after another, taking
/// the targets in turn; each within `timeout`.
pub fn latency(
    client: &NetnsRuntime,
    targets: &[SocketAddr],
    count: usize,
    timeout: Duration,
) -> Latency {
    let targets = targets.to_vec();
    let (times, failed) = client.run(async move {
        let (mut times, mut failed) = (Vec::with_capacity(count), 0);
        for i in 0..count {
            let target = targets[i % targets.len()];
            let started = Instant::now();
            match https_get(target, "/version", timeout).await {
                Ok(reply) if reply.status == 200 => {
                    times.push(started.elapsed().as_secs_f64() * 1000.0)
                }
                _ => failed += 1,
            }
        }
        (times, failed)
    });
    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
    Latency {
        requests: count,
        failed,
        p50_ms: percentile(&times, 0.5).unwrap_or(f64::NAN),
        p99_ms: percentile(&times, 0.99).unwrap_or(f64::NAN),
        mean_ms: mean,
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Throughput {
    pub bytes: u64,
    /// MB/s (10^6 bytes per second) of each download, from connect to the last byte.
    pub runs: Vec<f64>,
    /// Who served each.
    pub nodes: Vec<String>,
    pub median_mb_s: f64,
}

/// `runs` downloads of `bytes` each, taking the targets in turn.
pub fn throughput(
    client: &NetnsRuntime,
    targets: &[SocketAddr],
    bytes: u64,
    runs: usize,
) -> Result<Throughput, HttpError> {
    let targets = targets.to_vec();
    let results = client.run(async move {
        let mut results = Vec::new();
        for i in 0..runs {
            let target = targets[i % targets.len()];
            results.push(download(target, bytes).await?);
        }
        Ok::<_, HttpError>(results)
    })?;
    let runs: Vec<f64> = results.iter().map(|(rate, _)| *rate).collect();
    Ok(Throughput {
        bytes,
        median_mb_s: percentile(&runs, 0.5).unwrap_or(f64::NAN),
        runs,
        nodes: results.into_iter().map(|(_, node)| node).collect(),
    })
}

/// One download: its rate in MB/s and the node that served it.
async fn download(target: SocketAddr, bytes: u64) -> Result<(f64, String), HttpError> {
    let exchange = async {
        let started = Instant::now();
        let (mut sender, driver, _) = open_https(target).await?;
        let request = Request::get(format!("/download?bytes={bytes}"))
            .header(hyper::header::HOST, target.to_string())
            .body(Empty::<Bytes>::new())?;
        let response = sender.send_request(request).await?;
        let node = response
            .headers()
            .get("x-node")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("?")
            .to_owned();
        let mut body = response.into_body();
        let mut received = 0u64;
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                received += data.len() as u64;
            }
        }
        driver.abort();
        let secs = started.elapsed().as_secs_f64();
        Ok::<_, HttpError>((received as f64 / 1e6 / secs, node, received))
    };
    let limit = Duration::from_secs(60);
    let (rate, node, received) = tokio::time::timeout(limit, exchange)
        .await
        .map_err(|_| HttpError::Timeout(limit))??;
    if received != bytes {
        return Err(HttpError::ShortBody {
            got: received,
            want: bytes,
        });
    }
    Ok((rate, node))
}
