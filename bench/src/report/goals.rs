//! The goals of issues 5 and 9, checked against a run.
use std::fmt::Write;

use super::markdown::names;
use super::BenchRun;
use crate::failover::{ConnKind, Kind};

pub struct Goal {
    pub goal: &'static str,
    pub measured: String,
    /// `None`: not measured in this run.
    pub met: Option<bool>,
}

pub fn evaluate(run: &BenchRun) -> Vec<Goal> {
    let (vip_name, anchor_name, tuned_name) = names();
    let vip = run.stack(vip_name);
    let anchor = run.stack(anchor_name);
    let tuned = run.stack(tuned_name);
    let summary =
        |s: Option<&super::StackRun>, k| s.and_then(|s| s.outage_summary(k, run.deadline_ms));
    let mut goals = Vec::new();
    let crash = summary(vip, Kind::Crash);
    goals.push(Goal {
        goal: "crash failover (default settings): p50 ≤ 250 ms, p99 ≤ 300 ms",
        measured: crash.as_ref().map_or("—".into(), |s| {
            format!("p50 {:.0} ms, p99 {:.0} ms", s.p50, s.p99)
        }),
        met: crash.as_ref().map(|s| s.p50 <= 250.0 && s.p99 <= 300.0),
    });
    for (other, factor, goal) in [
        (
            tuned,
            1.0,
            "crash failover p99 < tuned keepalived+haproxy's p50 (same run)",
        ),
        (
            anchor,
            0.5,
            "crash failover p99 ≤ 0.5 × keepalived+haproxy's p50 (same run)",
        ),
    ] {
        let other_crash = summary(other, Kind::Crash);
        goals.push(Goal {
            goal,
            measured: match (&crash, &other_crash) {
                (Some(v), Some(k)) => format!(
                    "{:.0} ms vs {factor} × {:.0} = {:.0} ms",
                    v.p99,
                    k.p50,
                    k.p50 * factor
                ),
                _ => "—".into(),
            },
            met: crash
                .as_ref()
                .zip(other_crash.as_ref())
                .map(|(v, k)| match factor < 1.0 {
                    true => v.p99 <= k.p50 * factor,
                    false => v.p99 < k.p50,
                }),
        });
    }
    for (kind, goal) in [
        (
            Kind::Graceful,
            "graceful handover (SIGTERM): no failed request",
        ),
        (Kind::AgentCrash, "agent-only crash: no failed request"),
    ] {
        let failed: Option<(usize, usize)> = vip.map(|s| {
            s.trials_of(kind)
                .fold((0, 0), |(f, p), t| (f + t.failed, p + t.probes))
        });
        goals.push(Goal {
            goal,
            measured: failed.map_or("—".into(), |(f, p)| format!("{f} of {p} probes failed")),
            met: failed.filter(|&(_, p)| p > 0).map(|(f, _)| f == 0),
        });
    }
    for (stack, name) in [(vip, vip_name), (anchor, anchor_name), (tuned, tuned_name)] {
        let Some(stack) = stack else { continue };
        let (mut survived, mut total) = (0, 0);
        for kind in Kind::ALL {
            for trial in stack.trials_of(kind) {
                for conn in [ConnKind::KeepAlive, ConnKind::Stream] {
                    let (s, t) = trial.survivors(conn);
                    survived += s;
                    total += t;
                }
            }
        }
        let is_vip = name == vip_name;
        goals.push(Goal {
            goal: match name {
                _ if is_vip => {
                    "every event: 100 % of long-lived connections to healthy API servers survive"
                }
                _ if name == tuned_name => "every event, tuned keepalived+haproxy (for comparison)",
                _ => "every event, keepalived+haproxy (for comparison)",
            },
            measured: format!("{survived}/{total} survived"),
            met: (is_vip && total > 0).then_some(survived == total),
        });
    }
    if let Some([direct, via]) = vip.and_then(|s| s.datapath.get(..2)) {
        let (d, v) = (direct.latency.p50_ms, via.latency.p50_ms);
        let lat = v / d - 1.0;
        let tp = match (&via.throughput, &direct.throughput) {
            (Some(v), Some(d)) => Some((d.median_mb_s, v.median_mb_s)),
            _ => None,
        };
        let tp_change = tp.map(|(d, v)| v / d - 1.0);
        goals.push(Goal {
            goal: "via-VIP latency (p50) and throughput within 5 % of direct",
            measured: format!(
                "latency {:+.1} % ({d:.2} → {v:.2} ms); throughput {}",
                lat * 100.0,
                tp.map_or("—".into(), |(d, v)| format!(
                    "{:+.1} % ({d:.0} → {v:.0} MB/s)",
                    (v / d - 1.0) * 100.0
                ))
            ),
            met: Some(lat <= 0.05 && tp_change.is_none_or(|t| t >= -0.05)),
        });
    }
    goals
}

pub fn table(md: &mut String, run: &BenchRun) {
    let _ = writeln!(md, "## Goals (issues 5 and 9)\n");
    let _ = writeln!(md, "| goal | measured | met |\n|---|---|---|");
    for goal in evaluate(run) {
        let met = match goal.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "—",
        };
        let _ = writeln!(md, "| {} | {} | {met} |", goal.goal, goal.measured);
    }
    md.push('\n');
}
