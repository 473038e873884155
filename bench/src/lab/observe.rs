//! Looking at the lab from the client: agents' metrics, the Lease, requests via the VIP.
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::{Lab, LEASE_NAME};
use crate::http::{http_get, https_get};
use crate::probe::{probe_loop, ProbeSpec, Sample, Until};
use crate::{LabError, API_PORT, BRIDGE4, LEASE_PORT, METRICS_PORT, VIP4, VIP6};

const QUICK: Duration = Duration::from_millis(500);

/// The value of the first sample of `name` (with exactly `labels`, e.g.
/// `backend="10.77.0.2"`, or none) in a Prometheus text exposition.
pub fn metric(text: &str, name: &str, labels: &str) -> Option<f64> {
    let series = if labels.is_empty() {
        name.to_owned()
    } else {
        format!("{name}{{{labels}}}")
    };
    text.lines()
        .filter_map(|line| line.strip_prefix(&series)?.strip_prefix(' '))
        .find_map(|value| value.trim().parse().ok())
}

/// Polls `check` every 20 ms until it gives a value or `timeout` passes.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> Result<T, LabError> {
    let started = Instant::now();
    loop {
        if let Some(value) = check() {
            return Ok(value);
        }
        if started.elapsed() >= timeout {
            return Err(LabError::Timeout {
                what: what.to_owned(),
                waited: timeout,
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The lab Lease's holderIdentity; call from a task in a lab namespace.
pub async fn read_lease_holder() -> Option<String> {
    let addr = SocketAddr::from((BRIDGE4, LEASE_PORT));
    let path = format!("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/{LEASE_NAME}");
    let reply = http_get(addr, &path, QUICK).await.ok()?;
    let lease: serde_json::Value = serde_json::from_slice(&reply.body).ok()?;
    lease["spec"]["holderIdentity"].as_str().map(str::to_owned)
}

impl Lab {
    /// The VIP service, as the client reaches it.
    pub fn vip(&self) -> SocketAddr {
        (VIP4, API_PORT).into()
    }

    /// A client probe of the VIP: `path` every `interval`, new connections, `timeout`.
    pub fn vip_probe(&self, path: &str, interval: Duration, timeout: Duration) -> ProbeSpec {
        ProbeSpec {
            target: self.vip(),
            path: path.to_owned(),
            interval,
            timeout,
        }
    }

    /// Node `node`'s agent metrics, or `None` when it does not answer.
    pub fn metrics(&self, node: usize) -> Option<String> {
        let addr = SocketAddr::from((self.topology.nodes[node].addr4, METRICS_PORT));
        let reply = self
            .client()
            .run(async move { http_get(addr, "/metrics", QUICK).await });
        reply.ok().filter(|r| r.status == 200).map(|r| r.text())
    }

    /// Nodes whose agent reports `vip_is_leader 1`.
    pub fn leaders(&self) -> Vec<usize> {
        (0..self.nodes())
            .filter(|&n| {
                self.metrics(n)
                    .and_then(|m| metric(&m, "vip_is_leader", ""))
                    == Some(1.0)
            })
            .collect()
    }

    /// Whether node `node`'s agent sees `backend` healthy (`None`: no answer).
    pub fn sees_healthy(&self, node: usize, backend: usize) -> Option<bool> {
        let labels = format!("backend=\"{}\"", self.topology.nodes[backend].addr4);
        self.metrics(node)
            .map(|m| metric(&m, "vip_backend_healthy", &labels) == Some(1.0))
    }

    /// The Lease's holderIdentity, read from the Lease test server.
    pub fn lease_holder(&self) -> Option<String> {
        self.client().run(read_lease_holder())
    }

    /// `count` requests for `path` via the VIP, one after another, each on a new
    /// connection with `timeout`.
    pub fn vip_requests(&self, path: &str, count: usize, timeout: Duration) -> Vec<Sample> {
        self.requests(self.vip_probe(path, Duration::ZERO, timeout), count)
    }

    /// The same via the IPv6 VIP (labs built with `ipv6`).
    pub fn vip6_requests(&self, path: &str, count: usize, timeout: Duration) -> Vec<Sample> {
        let target = (VIP6, API_PORT).into();
        let spec = ProbeSpec {
            target,
            path: path.to_owned(),
            interval: Duration::ZERO,
            timeout,
        };
        self.requests(spec, count)
    }

    fn requests(&self, spec: ProbeSpec, count: usize) -> Vec<Sample> {
        self.client().run(async move {
            let mut samples = Vec::with_capacity(count);
            for _ in 0..count {
                let sent = tokio::time::Instant::now();
                let outcome = crate::probe::probe_once(&spec).await;
                samples.push(Sample {
                    sent,
                    done: tokio::time::Instant::now(),
                    outcome,
                });
            }
            samples
        })
    }

    /// Starts a background probe loop of the VIP; stop it with the token.
    pub fn start_probing(
        &self,
        spec: ProbeSpec,
        until: Until,
        max: Duration,
    ) -> tokio::task::JoinHandle<Vec<Sample>> {
        self.client().spawn(probe_loop(spec, until, max))
    }

    pub(super) fn wait_for_apiservers(&self) -> Result<(), LabError> {
        for node in &self.topology.nodes {
            let addr = SocketAddr::from((node.addr4, API_PORT));
            wait_for(
                &format!("the stand-in on {}", node.name),
                Duration::from_secs(10),
                || {
                    let reply = self
                        .client()
                        .run(async move { https_get(addr, "/livez", QUICK).await });
                    reply.ok().filter(|r| r.status == 200)
                },
            )?;
        }
        Ok(())
    }

    /// Waits until one agent leads, every agent sees every backend healthy, and a request
    /// via the VIP succeeds.
    pub fn wait_until_ready(&self, timeout: Duration) -> Result<usize, LabError> {
        let started = Instant::now();
        let left = || timeout.saturating_sub(started.elapsed());
        let leader = wait_for("a leader", left(), || match self.leaders()[..] {
            [leader] => Some(leader),
            _ => None,
        })?;
        let n = self.nodes();
        wait_for("every agent to see every backend healthy", left(), || {
            let all = (0..n).all(|a| (0..n).all(|b| self.sees_healthy(a, b) == Some(true)));
            all.then_some(())
        })?;
        wait_for("a request via the VIP", left(), || {
            let samples = self.vip_requests("/version", 1, QUICK);
            samples.iter().all(Sample::ok).then_some(())
        })?;
        Ok(leader)
    }
}
