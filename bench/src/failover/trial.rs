//! One trial: a clean lab, long-lived connections and the probe running, the event, the
//! wait until the service is back for good, then the lab restored.
use std::time::{Duration, Instant};

use tokio::time::Instant as TokioInstant;

use super::longlived::{ConnLog, LongLived};
use super::{ConnResult, Kind, Point, Prober, Stack, Trial};
use crate::probe::{outage, ProbeSpec, Sample};
use crate::LabError;

#[derive(Clone, Debug)]
pub struct TrialOptions {
    pub probe_every: Duration,
    pub probe_timeout: Duration,
    /// Long-lived connections of each kind per node.
    pub per_node: usize,
    /// Probing before the event.
    pub before: Duration,
    /// The service must have answered every probe for this long before the trial ends.
    pub quiet: Duration,
    /// A long-lived connection that got nothing for this long after the takeover (and did
    /// not break) is given up on: it counts as lost.
    pub give_up: Duration,
    /// A trial ends at the latest this long after the event.
    pub deadline: Duration,
    pub ready_timeout: Duration,
}

impl Default for TrialOptions {
    fn default() -> Self {
        Self {
            probe_every: Duration::from_millis(10),
            probe_timeout: Duration::from_millis(100),
            per_node: 1,
            before: Duration::from_millis(300),
            quiet: Duration::from_secs(1),
            give_up: Duration::from_secs(5),
            deadline: Duration::from_secs(15),
            ready_timeout: Duration::from_secs(40),
        }
    }
}

/// Runs trial `index` of `kind` on `stack`, which must be (or become) clean; restores it
/// afterwards.
pub fn run_trial(
    stack: &mut dyn Stack,
    kind: Kind,
    index: usize,
    options: &TrialOptions,
) -> Result<Trial, LabError> {
    let leader = stack.wait_ready(options.ready_timeout)?;
    let names = stack.node_names();
    let victim = names[leader].clone();
    let conns = LongLived::open(
        stack.client(),
        stack.service(),
        &names,
        options.per_node,
        40,
    );
    let spec = ProbeSpec {
        target: stack.service(),
        path: "/version".into(),
        interval: options.probe_every,
        timeout: options.probe_timeout,
    };
    let mut prober = Prober::start(stack.client(), spec, options.deadline * 2);
    std::thread::sleep(options.before);
    let event = stack.inject(kind, leader)?;
    let event_t = TokioInstant::from_std(event);
    let eligible = |node: &str| kind != Kind::Crash || node != victim;

    // Watch until the stack has a new leader, the client has had `quiet` without a failure,
    // and every long-lived connection that should survive got something after the
    // handover, or broke.
    let mut handover: Option<(Instant, usize)> = None;
    let mut last_holder_poll = Instant::now() - Duration::from_secs(1);
    while event.elapsed() < options.deadline {
        std::thread::sleep(Duration::from_millis(20));
        if handover.is_none() && last_holder_poll.elapsed() >= Duration::from_millis(50) {
            last_holder_poll = Instant::now();
            if let Some(holder) = stack.holder().filter(|&h| h != leader) {
                handover = Some((Instant::now(), holder));
            }
        }
        let Some((moved, _)) = handover else { continue };
        let samples = prober.poll();
        let last_failure = samples
            .iter()
            .filter(|s| s.sent >= event_t && !s.ok())
            .map(|s| s.done)
            .max();
        let calm = last_failure.is_none_or(|t| t.elapsed() >= options.quiet);
        let recovered = samples.iter().any(|s| s.ok() && s.sent >= event_t);
        let after = TokioInstant::from_std(moved + Duration::from_millis(300));
        let settled = conns
            .conns
            .iter()
            .filter(|c| eligible(&c.node))
            .all(|c| c.concluded(after, options.give_up));
        if recovered && calm && settled && moved.elapsed() >= Duration::from_millis(500) {
            break;
        }
    }
    let samples = prober.finish();
    let end = TokioInstant::now();
    let logs = conns.finish(stack.client());
    let after =
        handover.map(|(moved, _)| TokioInstant::from_std(moved + Duration::from_millis(300)));
    let conns = logs
        .into_iter()
        .map(|(conn_kind, node, port, log)| {
            let ok = eligible(&node);
            let mut result = conn_result(conn_kind, node, ok, &log, event_t, after, end);
            result.client_port = port;
            result
        })
        .collect();
    let trial = measure(
        kind, index, &victim, &names, handover, event, &samples, conns,
    );
    stack.restore(kind, leader)?;
    Ok(trial)
}

#[allow(clippy::too_many_arguments)]
fn measure(
    kind: Kind,
    index: usize,
    victim: &str,
    names: &[String],
    handover: Option<(Instant, usize)>,
    event: Instant,
    samples: &[Sample],
    conns: Vec<ConnResult>,
) -> Trial {
    let event_t = TokioInstant::from_std(event);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let after: Vec<&Sample> = samples.iter().filter(|s| s.sent >= event_t).collect();
    let timeline = samples
        .iter()
        .filter(|s| s.sent + Duration::from_millis(300) >= event_t)
        .map(|s| Point {
            at_ms: signed_ms(s.sent, event_t),
            latency_ms: ms(s.done - s.sent),
            node: s.outcome.as_ref().ok().cloned(),
        })
        .collect();
    Trial {
        stack: String::new(),
        kind,
        index,
        victim: victim.to_owned(),
        new_leader: handover.map(|(_, n)| names[n].clone()),
        outage_ms: outage(samples, event_t).map(ms),
        first_back_ms: first_back(&after, event_t).map(|t| ms(t - event_t)),
        handover_ms: handover.map(|(t, _)| ms(t - event)),
        probes: after.len(),
        failed: after.iter().filter(|s| !s.ok()).count(),
        conns,
        timeline,
    }
}

/// When the first success sent after the first failure ended; `event` when none failed.
fn first_back(after: &[&Sample], event: TokioInstant) -> Option<TokioInstant> {
    let Some(first_failure) = after.iter().filter(|s| !s.ok()).map(|s| s.sent).min() else {
        return Some(event);
    };
    after
        .iter()
        .filter(|s| s.ok() && s.sent > first_failure)
        .map(|s| s.done)
        .min()
}

fn signed_ms(t: TokioInstant, zero: TokioInstant) -> f64 {
    if t >= zero {
        (t - zero).as_secs_f64() * 1000.0
    } else {
        -(zero - t).as_secs_f64() * 1000.0
    }
}

/// Survived: never broke, and got something at or after `after` (the handover plus a
/// little). The stall is the longest gap between answers from just before the event on.
fn conn_result(
    kind: super::ConnKind,
    node: String,
    eligible: bool,
    log: &ConnLog,
    event: TokioInstant,
    after: Option<TokioInstant>,
    end: TokioInstant,
) -> ConnResult {
    let alive = log.error.is_none();
    let reached = after.is_some_and(|a| log.oks.last().is_some_and(|&t| t >= a));
    let survived = alive && reached;
    let mut stall = None;
    if survived {
        let from = event - Duration::from_millis(200);
        let mut previous = log.oks.iter().rev().find(|&&t| t < from).copied();
        let mut longest = Duration::ZERO;
        for &t in log.oks.iter().filter(|&&t| t >= from) {
            if let Some(p) = previous {
                longest = longest.max(t.saturating_duration_since(p));
            }
            previous = Some(t);
        }
        if let Some(p) = previous {
            longest = longest.max(end.saturating_duration_since(p));
        }
        stall = Some(longest.as_secs_f64() * 1000.0);
    }
    ConnResult {
        kind,
        node,
        eligible,
        survived,
        stall_ms: stall,
        client_port: 0,
        error: log
            .error
            .as_ref()
            .map(|(at, e)| format!("{e} (at {:+.0} ms)", signed_ms(*at, event))),
    }
}
