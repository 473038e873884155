//! `vip-lab bench`: failover trials of each kind against vip-agent and against
//! keepalived + haproxy in the same lab, the data path of both, and bench/RESULTS.md.
mod stacks;

pub use stacks::{state_file, ANCHOR_PREFIX, VIP_PREFIX};

use std::path::PathBuf;
use std::time::Instant;

use anyhow::bail;
use vip_lab::failover::{run_trial, Kind, Stack, TrialOptions};
use vip_lab::report::{BenchRun, DataPathRow, Machine, StackRun};
use vip_lab::LabError;

#[derive(clap::Args, Clone, Debug)]
pub struct BenchArgs {
    /// Trials of each kind per stack
    #[arg(long, default_value_t = 20)]
    trials: usize,
    /// Which stacks to measure
    #[arg(long, value_enum, default_value_t = StackChoice::Both)]
    stack: StackChoice,
    /// The CI version: no data-path measurements
    #[arg(long)]
    quick: bool,
    /// Exit with status 1 if a regression threshold is crossed (vip-agent: crash p99 >
    /// 1 s, graceful p99 > 200 ms, a failed request in an agent-only crash, a lost
    /// long-lived connection to a healthy API server in a crash, a trial that never
    /// recovered)
    #[arg(long)]
    check: bool,
    /// Write the report here; PNG timelines and failover.json go to results/ beside it
    #[arg(long)]
    out: Option<PathBuf>,
    /// Sequential new-connection requests per data path
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    /// Size of each download, in MB (10^6 bytes)
    #[arg(long, default_value_t = 200)]
    download_mb: u64,
    /// Downloads per data path
    #[arg(long, default_value_t = 6)]
    downloads: usize,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackChoice {
    Vip,
    /// keepalived+haproxy as the kubeadm guide configures it
    Keepalived,
    /// keepalived+haproxy tuned (VRRPv3, advert_int 0.1, haproxy checks every 200 ms)
    KeepalivedTuned,
    /// vip-agent and both keepalived+haproxy configurations
    Both,
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let given: Vec<String> = std::env::args().skip(1).collect();
    let options = TrialOptions::default();
    let mut run = BenchRun {
        command: format!("cargo run --release -p vip-lab -- {}", given.join(" ")),
        source: vip_lab::report::source_revision(&vip_lab::lab::workspace_root()),
        machine: Machine::here(),
        settings: stacks::settings(&options),
        trials_per_kind: args.trials,
        deadline_ms: options.deadline.as_secs_f64() * 1000.0,
        stacks: Vec::new(),
        wall_seconds: 0.0,
    };
    let mut nodes = Vec::new();
    if matches!(args.stack, StackChoice::Vip | StackChoice::Both) {
        let binaries = stacks::binaries()?;
        let start = || stacks::start_vip(&binaries);
        run.stacks
            .push(measure(&args, &options, start, &mut nodes)?);
    }
    if matches!(args.stack, StackChoice::Keepalived | StackChoice::Both) {
        let start = || stacks::start_anchor(false);
        run.stacks
            .push(measure(&args, &options, start, &mut nodes)?);
    }
    if matches!(args.stack, StackChoice::KeepalivedTuned | StackChoice::Both) {
        let start = || stacks::start_anchor(true);
        run.stacks
            .push(measure(&args, &options, start, &mut nodes)?);
    }
    run.wall_seconds = started.elapsed().as_secs_f64();
    println!("\n{}", summary(&run));
    if let Some(out) = &args.out {
        for path in run.write(out, &nodes)? {
            println!("wrote {}", path.display());
        }
    }
    println!("wall time: {:.1} min", run.wall_seconds / 60.0);
    if args.check {
        let violations = stacks::violations(&run);
        for v in &violations {
            eprintln!("REGRESSION: {v}");
        }
        if !violations.is_empty() {
            bail!("{} regression threshold(s) crossed", violations.len());
        }
        println!("check: every regression threshold holds");
    }
    Ok(())
}

/// Starts a lab with `start`, measures its data path (unless quick), runs the trials
/// (kinds interleaved), and rebuilds the lab when restoring it fails (at most 3 times).
fn measure<S: Stack>(
    args: &BenchArgs,
    options: &TrialOptions,
    start: impl Fn() -> Result<S, LabError>,
    nodes: &mut Vec<String>,
) -> anyhow::Result<StackRun> {
    let mut lab = start()?;
    *nodes = lab.node_names();
    let name = lab.name().to_owned();
    println!("{name}: lab up");
    let datapath: Vec<DataPathRow> = match args.quick {
        true => Vec::new(),
        false => stacks::datapath(&lab, args)?,
    };
    let mut stack = StackRun {
        name: name.clone(),
        events: Kind::ALL.iter().map(|&k| (k, lab.describe(k))).collect(),
        rebuilds: 0,
        trials: Vec::new(),
        datapath,
    };
    for index in 0..args.trials {
        for kind in Kind::ALL {
            let trial = loop {
                match run_trial(&mut lab, kind, index, options) {
                    Ok(trial) => break trial,
                    Err(e) if stack.rebuilds < 3 && !vip_lab::cleanup::interrupted() => {
                        eprintln!("{name} {} trial {}: {e}", kind.label(), index + 1);
                        eprintln!("last log lines:\n{}", lab.log_tails());
                        eprintln!("rebuilding the lab");
                        drop(lab);
                        lab = start()?;
                        stack.rebuilds += 1;
                    }
                    Err(e) => return Err(e.into()),
                }
            };
            println!("{}", stacks::trial_line(&name, &trial));
            stack.trials.push(vip_lab::failover::Trial {
                stack: name.clone(),
                ..trial
            });
        }
    }
    Ok(stack)
}

/// The outage table, for the terminal.
fn summary(run: &BenchRun) -> String {
    let mut out = format!(
        "{:<26} {:<17} {:>6} {:>8} {:>8} {:>8} {:>8} {:>10}\n",
        "stack", "event", "trials", "p50 ms", "p90 ms", "p99 ms", "max ms", "long-lived"
    );
    for stack in &run.stacks {
        for kind in Kind::ALL {
            let Some(s) = stack.outage_summary(kind, run.deadline_ms) else {
                continue;
            };
            let (mut ok, mut all) = (0, 0);
            for trial in stack.trials_of(kind) {
                for c in trial.conns.iter().filter(|c| c.eligible) {
                    all += 1;
                    ok += usize::from(c.survived);
                }
            }
            out += &format!(
                "{:<26} {:<17} {:>6} {:>8.0} {:>8.0} {:>8.0} {:>8.0} {:>10}\n",
                stack.name,
                kind.label(),
                s.n,
                s.p50,
                s.p90,
                s.p99,
                s.max,
                format!("{ok}/{all}")
            );
        }
    }
    out
}
