//! The benchmark's results: kept as JSON, rendered as bench/RESULTS.md with a PNG timeline
//! per failover kind next to it.
mod goals;
mod markdown;

/// Names of the stacks a run measures.
pub const VIP: &str = "vip-agent";
pub const ANCHOR: &str = "keepalived+haproxy";
pub const TUNED_ANCHOR: &str = "keepalived+haproxy tuned";
pub mod plot;

pub use goals::{evaluate as goals, Goal};

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::datapath::{Latency, Throughput};
use crate::failover::{Kind, Trial};
use crate::stats::Summary;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("plot: {0}")]
    Plot(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// What the numbers were measured on.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Machine {
    pub date: String,
    pub cpus: usize,
    pub cpu_model: String,
    pub kernel: String,
    pub memory: String,
    pub keepalived: String,
    pub haproxy: String,
}

impl Machine {
    /// This machine, now.
    pub fn here() -> Self {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let field = |text: &str, key: &str| {
            text.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split(':').nth(1))
                .map(|v| v.trim().to_owned())
                .unwrap_or_else(|| "?".into())
        };
        let first_line = |program: &str, arg: &str| {
            std::process::Command::new(program)
                .arg(arg)
                .output()
                .ok()
                .map(|o| {
                    let text = [o.stdout, o.stderr].concat();
                    let text = String::from_utf8_lossy(&text).into_owned();
                    text.lines().next().unwrap_or("?").trim().to_owned()
                })
                .unwrap_or_else(|| "not installed".into())
        };
        let date = crate::cmd::run("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
            .map(|d| d.trim().to_owned())
            .unwrap_or_else(|_| "?".into());
        Self {
            date,
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model: field(&read("/proc/cpuinfo"), "model name"),
            kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
            memory: memory(&field(&read("/proc/meminfo"), "MemTotal")),
            keepalived: first_line("keepalived", "--version"),
            haproxy: first_line("haproxy", "-v")
                .split(" - ")
                .next()
                .unwrap_or("?")
                .to_owned(),
        }
    }
}

/// `git` commit of the workspace, and whether the tree had changes.
pub fn source_revision(workspace: &Path) -> String {
    let dir = workspace.to_string_lossy();
    let git = |args: &[&str]| {
        let mut all = vec!["-C", dir.as_ref()];
        all.extend_from_slice(args);
        crate::cmd::run("git", &all).ok()
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(head) => {
            let dirty = git(&["status", "--porcelain"]).is_some_and(|s| !s.trim().is_empty());
            let note = if dirty {
                " with uncommitted changes"
            } else {
                ""
            };
            format!("commit {}{note}", head.trim())
        }
        None => "unknown source".into(),
    }
}

/// "24683656 kB" → "23.5 GiB".
fn memory(kib: &str) -> String {
    let value = kib.trim_end_matches("kB").trim().parse::<f64>();
    value.map_or(kib.to_owned(), |k| {
        format!("{:.1} GiB", k / 1024.0 / 1024.0)
    })
}

/// One data-path measurement: a way to reach the API servers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DataPathRow {
    pub path: String,
    pub latency: Latency,
    pub throughput: Option<Throughput>,
}

/// Everything measured on one stack.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StackRun {
    pub name: String,
    /// What each kind of event does on this stack.
    pub events: Vec<(Kind, String)>,
    /// Times the lab was rebuilt because restoring it failed.
    pub rebuilds: usize,
    pub trials: Vec<Trial>,
    pub datapath: Vec<DataPathRow>,
}

impl StackRun {
    pub fn trials_of(&self, kind: Kind) -> impl Iterator<Item = &Trial> {
        self.trials.iter().filter(move |t| t.kind == kind)
    }

    /// Outages of `kind` (trials that never recovered count as the trial deadline).
    pub fn outages(&self, kind: Kind, deadline_ms: f64) -> Vec<f64> {
        self.trials_of(kind)
            .map(|t| t.outage_ms.unwrap_or(deadline_ms))
            .collect()
    }

    pub fn outage_summary(&self, kind: Kind, deadline_ms: f64) -> Option<Summary> {
        Summary::of(&self.outages(kind, deadline_ms))
    }

    /// The trial with the median outage (the lower one of an even count).
    pub fn median_trial(&self, kind: Kind) -> Option<&Trial> {
        let mut trials: Vec<&Trial> = self.trials_of(kind).collect();
        trials.sort_by(|a, b| {
            let key = |t: &Trial| t.outage_ms.unwrap_or(f64::INFINITY);
            key(a).total_cmp(&key(b))
        });
        trials.get(trials.len().saturating_sub(1) / 2).copied()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BenchRun {
    pub command: String,
    /// The commit the programs were built from.
    pub source: String,
    pub machine: Machine,
    /// Lines describing the settings (agent flags, probe, trial procedure).
    pub settings: Vec<String>,
    pub trials_per_kind: usize,
    /// A trial that has not recovered by then ends (its outage counts as this).
    pub deadline_ms: f64,
    pub stacks: Vec<StackRun>,
    pub wall_seconds: f64,
}

impl BenchRun {
    pub fn stack(&self, name: &str) -> Option<&StackRun> {
        self.stacks.iter().find(|s| s.name == name)
    }

    /// Writes `out` (Markdown), and beside it `results/failover.json` and
    /// `results/failover-<kind>.png`.
    pub fn write(&self, out: &Path, nodes: &[String]) -> Result<Vec<PathBuf>, ReportError> {
        let dir = out.parent().unwrap_or(Path::new(".")).join("results");
        std::fs::create_dir_all(&dir).map_err(|source| ReportError::Io {
            path: dir.clone(),
            source,
        })?;
        let mut written = Vec::new();
        let mut images = Vec::new();
        for kind in Kind::ALL {
            let panels: Vec<(String, &Trial)> = self
                .stacks
                .iter()
                .filter_map(|s| {
                    let trial = s.median_trial(kind)?;
                    Some((markdown::panel_title(s, trial), trial))
                })
                .collect();
            if panels.is_empty() {
                continue;
            }
            let name = format!("failover-{}.png", kind.slug());
            plot::timeline(&dir.join(&name), kind, &panels, nodes)?;
            written.push(dir.join(&name));
            images.push((kind, format!("results/{name}")));
        }
        let json = dir.join("failover.json");
        let text = serde_json::to_string_pretty(self)? + "\n";
        write(&json, &text)?;
        written.push(json);
        write(out, &markdown::render(self, &images))?;
        written.push(out.to_owned());
        Ok(written)
    }
}

fn write(path: &Path, text: &str) -> Result<(), ReportError> {
    std::fs::write(path, text).map_err(|source| ReportError::Io {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests;
