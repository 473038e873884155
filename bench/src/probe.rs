//! The client's view: a probe every `interval` on a new HTTPS connection with a
//! `timeout`, recording when each was sent, when it ended and which node answered.
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::http::https_get;

#[derive(Clone, Debug)]
pub struct Sample {
    pub sent: Instant,
    pub done: Instant,
    /// The answering node (`X-Node`), or why the probe failed.
    pub outcome: Result<String, String>,
}

impl Sample {
    pub fn ok(&self) -> bool {
        self.outcome.is_ok()
    }
}

#[derive(Clone, Debug)]
pub struct ProbeSpec {
    pub target: SocketAddr,
    pub path: String,
    pub interval: Duration,
    pub timeout: Duration,
}

/// When a probe loop stops sending (probes in flight are still awaited).
#[derive(Clone, Debug)]
pub enum Until {
    /// The first success among probes sent at or after this instant.
    FirstSuccessFrom(Instant),
    /// This token is cancelled.
    Cancelled(CancellationToken),
}

/// One probe; a non-2xx status counts as a failure.
pub async fn probe_once(spec: &ProbeSpec) -> Result<String, String> {
    match https_get(spec.target, &spec.path, spec.timeout).await {
        Ok(reply) if (200..300).contains(&reply.status) => {
            Ok(reply.node.unwrap_or_else(|| "?".to_owned()))
        }
        Ok(reply) => Err(format!("HTTP {}", reply.status)),
        Err(error) => Err(error.to_string()),
    }
}

/// Probes until `until` or `max` elapsed, whichever is first; samples in sending order.
pub async fn probe_loop(spec: ProbeSpec, until: Until, max: Duration) -> Vec<Sample> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut tick = tokio::time::interval(spec.interval);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let hard_stop = tokio::time::sleep(max);
    tokio::pin!(hard_stop);
    let cancelled = match &until {
        Until::Cancelled(token) => token.clone(),
        Until::FirstSuccessFrom(_) => CancellationToken::new(),
    };
    let (mut samples, mut in_flight, mut sending) = (Vec::new(), 0usize, true);
    while sending || in_flight > 0 {
        tokio::select! {
            _ = tick.tick(), if sending => {
                let (spec, tx) = (spec.clone(), tx.clone());
                in_flight += 1;
                tokio::spawn(async move {
                    let sent = Instant::now();
                    let outcome = probe_once(&spec).await;
                    let _ = tx.send(Sample { sent, done: Instant::now(), outcome });
                });
            }
            Some(sample) = rx.recv() => {
                in_flight -= 1;
                if let Until::FirstSuccessFrom(from) = until {
                    sending &= !(sample.ok() && sample.sent >= from);
                }
                samples.push(sample);
            }
            () = cancelled.cancelled(), if sending => sending = false,
            () = &mut hard_stop, if sending => sending = false,
        }
    }
    samples.sort_by_key(|s| s.sent);
    samples
}

/// The first success (by completion) among probes sent at or after `from`.
pub fn first_success_from(samples: &[Sample], from: Instant) -> Option<&Sample> {
    samples
        .iter()
        .filter(|s| s.ok() && s.sent >= from)
        .min_by_key(|s| s.done)
}

/// How long after `from` the service was back for good: the completion of the first
/// success sent after the last failure (zero when nothing failed). `None` if it never
/// came back.
pub fn outage(samples: &[Sample], from: Instant) -> Option<Duration> {
    let after: Vec<&Sample> = samples.iter().filter(|s| s.sent >= from).collect();
    let Some(last_failure) = after.iter().filter(|s| !s.ok()).map(|s| s.sent).max() else {
        return Some(Duration::ZERO);
    };
    after
        .iter()
        .filter(|s| s.ok() && s.sent > last_failure)
        .map(|s| s.done)
        .min()
        .map(|done| done.duration_since(from))
}

/// How many successful probes each node answered.
pub fn spread(samples: &[Sample]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for node in samples.iter().filter_map(|s| s.outcome.as_ref().ok()) {
        *counts.entry(node.clone()).or_insert(0) += 1;
    }
    counts
}

/// The failed samples, for messages.
pub fn failures(samples: &[Sample]) -> Vec<String> {
    samples
        .iter()
        .filter_map(|s| s.outcome.as_ref().err().cloned())
        .collect()
}
