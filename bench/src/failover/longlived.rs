//! Long-lived connections through the VIP, opened before the event: keep-alive HTTPS
//! connections that send `GET /version` every 100 ms, and `/stream` responses that carry a
//! line every 100 ms. Each records when it last got something and whether it broke.
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper::Request;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::http::open_https;
use crate::netns::NetnsRuntime;

const EVERY: Duration = Duration::from_millis(100);
const OPEN_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConnKind {
    /// A keep-alive connection with a request every 100 ms.
    KeepAlive,
    /// One `/stream` response, a line every 100 ms.
    Stream,
}

/// What one connection saw: when it got an answer (or a line), and how it broke.
#[derive(Clone, Debug, Default)]
pub struct ConnLog {
    pub oks: Vec<Instant>,
    pub error: Option<(Instant, String)>,
}

pub struct Conn {
    pub kind: ConnKind,
    /// The API server at the other end (`X-Node`).
    pub node: String,
    /// The client's port, to find the connection in a capture.
    pub port: u16,
    log: Arc<Mutex<ConnLog>>,
}

impl Conn {
    pub fn log(&self) -> ConnLog {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Broke, got something at or after `after`, or has been given up on: nothing came
    /// for `give_up` after `after` (a connection whose other end vanished may never hear
    /// of it when it sends nothing itself).
    pub fn concluded(&self, after: Instant, give_up: Duration) -> bool {
        let log = self.log();
        log.error.is_some()
            || log.oks.last().is_some_and(|&t| t >= after)
            || Instant::now() >= after + give_up
    }
}

/// The open connections; dropping them (or [`LongLived::finish`]) closes them all.
pub struct LongLived {
    pub conns: Vec<Conn>,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl LongLived {
    /// Opens `per_node` connections of each kind to every node in `nodes` through
    /// `service`, trying at most `attempts` connections per kind (the balancer decides
    /// where each lands; extra ones are closed again).
    pub fn open(
        client: &NetnsRuntime,
        service: SocketAddr,
        nodes: &[String],
        per_node: usize,
        attempts: usize,
    ) -> Self {
        let stop = CancellationToken::new();
        let token = stop.clone();
        let nodes = nodes.to_vec();
        let opened = client.run(async move {
            let mut opened = Vec::new();
            for kind in [ConnKind::KeepAlive, ConnKind::Stream] {
                let mut wanted: Vec<String> = nodes
                    .iter()
                    .flat_map(|n| std::iter::repeat_n(n.clone(), per_node))
                    .collect();
                for _ in 0..attempts {
                    if wanted.is_empty() {
                        break;
                    }
                    let Ok(Ok((conn, task))) = tokio::time::timeout(
                        OPEN_TIMEOUT,
                        open_one(kind, service, &token, &wanted),
                    )
                    .await
                    else {
                        continue;
                    };
                    if let Some(i) = wanted.iter().position(|n| *n == conn.node) {
                        wanted.remove(i);
                        opened.push((conn, task));
                    }
                }
            }
            opened
        });
        let (conns, tasks) = opened.into_iter().unzip();
        Self { conns, stop, tasks }
    }

    /// Closes every connection and returns what each saw.
    pub fn finish(mut self, client: &NetnsRuntime) -> Vec<(ConnKind, String, u16, ConnLog)> {
        self.stop.cancel();
        let tasks = std::mem::take(&mut self.tasks);
        client.run(async move {
            for task in tasks {
                let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
            }
        });
        self.conns
            .iter()
            .map(|c| (c.kind, c.node.clone(), c.port, c.log()))
            .collect()
    }
}

impl Drop for LongLived {
    fn drop(&mut self) {
        self.stop.cancel();
        self.tasks.iter().for_each(JoinHandle::abort);
    }
}

/// Opens one connection of `kind`; keeps it running only if it lands on a node in `wanted`
/// (returns an error string otherwise, closing it).
async fn open_one(
    kind: ConnKind,
    service: SocketAddr,
    stop: &CancellationToken,
    wanted: &[String],
) -> Result<(Conn, JoinHandle<()>), String> {
    let (mut sender, driver, port) = open_https(service).await.map_err(|e| chain(&e))?;
    let log = Arc::new(Mutex::new(ConnLog::default()));
    let path = match kind {
        ConnKind::KeepAlive => "/version",
        ConnKind::Stream => "/stream?seconds=120",
    };
    let response = sender
        .send_request(get(service, path)?)
        .await
        .map_err(|e| e.to_string())?;
    let node = response
        .headers()
        .get("x-node")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("?")
        .to_owned();
    if !response.status().is_success() || !wanted.contains(&node) {
        driver.abort();
        return Err(format!("{node}: not wanted"));
    }
    let (stop, shared) = (stop.clone(), log.clone());
    let task = match kind {
        ConnKind::KeepAlive => {
            response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?;
            record(&log, Ok(()));
            let node = node.clone();
            tokio::spawn(async move {
                keep_alive(sender, service, &node, &stop, &shared).await;
                driver.abort();
            })
        }
        ConnKind::Stream => tokio::spawn(async move {
            let mut body = response.into_body();
            loop {
                let frame = tokio::select! {
                    () = stop.cancelled() => break,
                    frame = body.frame() => frame,
                };
                match frame {
                    Some(Ok(_)) => record(&shared, Ok(())),
                    Some(Err(e)) => break record(&shared, Err(chain(&e))),
                    None => break record(&shared, Err("the stream ended".into())),
                }
            }
            driver.abort();
        }),
    };
    let conn = Conn {
        kind,
        node,
        port,
        log,
    };
    Ok((conn, task))
}

async fn keep_alive(
    mut sender: SendRequest<Empty<Bytes>>,
    service: SocketAddr,
    node: &str,
    stop: &CancellationToken,
    log: &Mutex<ConnLog>,
) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let exchange = async {
            let request = get(service, "/version")?;
            let response = sender.send_request(request).await.map_err(|e| chain(&e))?;
            let answered = response.headers().get("x-node").cloned();
            let status = response.status();
            response
                .into_body()
                .collect()
                .await
                .map_err(|e| chain(&e))?;
            match answered {
                _ if !status.is_success() => Err(format!("HTTP {status}")),
                Some(n) if n.as_bytes() == node.as_bytes() => Ok(()),
                other => Err(format!("answered by {other:?}, not {node}")),
            }
        };
        let result = tokio::select! {
            () = stop.cancelled() => return,
            result = exchange => result,
        };
        let failed = result.is_err();
        record(log, result);
        if failed {
            return;
        }
    }
}

/// An error with its causes: hyper's "connection error" says little without them.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        text += &format!(": {c}");
        cause = c.source();
    }
    text
}

fn record(log: &Mutex<ConnLog>, result: Result<(), String>) {
    let mut log = log.lock().unwrap_or_else(PoisonError::into_inner);
    match result {
        Ok(()) => log.oks.push(Instant::now()),
        Err(e) => log.error = Some((Instant::now(), e)),
    }
}

fn get(service: SocketAddr, path: &str) -> Result<Request<Empty<Bytes>>, String> {
    Request::get(path)
        .header(hyper::header::HOST, service.to_string())
        .body(Empty::new())
        .map_err(|e| e.to_string())
}
