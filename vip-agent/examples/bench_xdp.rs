//! ns/packet of the XDP program's main paths through BPF_PROG_TEST_RUN, next to the empty
//! `vip_empty` program of the same object measured the same way in the same run. Needs
//! root. `cargo xtask bench-xdp` runs this and records its stdout (a markdown table) in
//! bench/results/xdp.md; progress goes to stderr.
//!
//! Every repeat of one BPF_PROG_TEST_RUN sees the frame the previous repeat left, so
//! `repeat N` is exact only for frames the path leaves unchanged. Paths that rewrite the
//! frame (ARP, NDP) are timed as single runs averaged over many calls instead, with the
//! baseline timed the same way. Every timed run is checked: action, output frame, and the
//! reason and backend counters, which must have moved exactly once per run.
#[path = "bench_xdp/paths.rs"]
mod paths;
#[path = "bench_xdp/report.rs"]
mod report;

use anyhow::{ensure, Context, Result};
use aya::{
    programs::{TestRun, TestRunOptions, TestRunResult, Xdp},
    Ebpf,
};
use clap::Parser;
use vip_agent::{dataplane::Dataplane, testing::fixture::Fixture};
use vip_common::{Counter, Reason, EMPTY_PROGRAM_NAME};

const PASS: u32 = 2;
const TX: u32 = 3;

#[derive(Parser)]
struct Args {
    /// Measurement rounds; the table shows medians over them.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Runs per BPF_PROG_TEST_RUN for paths that leave the frame unchanged.
    #[arg(long, default_value_t = 1_000_000)]
    repeat: u32,
    /// Single-run calls averaged for paths that rewrite the frame.
    #[arg(long, default_value_t = 100_000)]
    calls: u32,
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Repeat,
    Calls,
}

/// The reason every run must be counted under.
#[derive(Clone, Copy)]
enum Counted {
    Every(Reason),
    /// The first run rewrites the frame; the later repeats run on the rewritten frame.
    FirstThen(Reason, Reason),
}

struct Path {
    name: &'static str,
    mode: Mode,
    frame: Vec<u8>,
    /// Action and frame that every timed call must return.
    action: u32,
    output: Vec<u8>,
    counted: Counted,
    backend: Option<u32>,
    goal: Option<f64>,
    /// Flow entry removed before every call, so each call takes the miss-and-pin path.
    unpin: Option<vip_common::FlowKey>,
}

impl Path {
    fn new(name: &'static str, mode: Mode, frame: Vec<u8>, counted: Counted) -> Self {
        let output = frame.clone();
        let (action, backend, goal) = (PASS, None, None);
        Self {
            name,
            mode,
            frame,
            action,
            output,
            counted,
            backend,
            goal,
            unpin: None,
        }
    }
    fn unpin_before_each(mut self, key: vip_common::FlowKey) -> Self {
        self.unpin = Some(key);
        self
    }
    fn out(mut self, action: u32, output: Vec<u8>) -> Self {
        (self.action, self.output) = (action, output);
        self
    }
    fn backend(mut self, id: u32) -> Self {
        self.backend = Some(id);
        self
    }
    fn goal(mut self, goal: f64) -> Self {
        self.goal = Some(goal);
        self
    }
}

struct Bench {
    fixture: Fixture,
    empty: Ebpf,
    args: Args,
}

impl Bench {
    fn runs(&self, mode: Mode) -> (u32, u32) {
        match mode {
            Mode::Repeat => (1, self.args.repeat),
            Mode::Calls => (self.args.calls, 1),
        }
    }

    fn empty_ns(&self, path: &Path) -> Result<f64> {
        let program = self.empty.program(EMPTY_PROGRAM_NAME);
        let program: &Xdp = program
            .context("vip_empty is not in the object")?
            .try_into()?;
        let (calls, repeat) = self.runs(path.mode);
        let mut run = |out: &mut [u8]| once(program, &path.frame, repeat, out);
        time(calls, &mut run, (PASS, &path.frame))
    }

    fn path_ns(&mut self, path: &Path) -> Result<f64> {
        let dp = &self.fixture.dataplane;
        let (reasons, backend) = (dp.reason_totals()?, backend_packets(dp, path.backend)?);
        let runs = self.runs(path.mode);
        let (calls, repeat) = runs;
        let dp = &mut self.fixture.dataplane;
        let mut run = |out: &mut [u8]| {
            if let Some(key) = &path.unpin {
                // A syscall before the run, outside the kernel's timed window.
                dp.remove_flow(key)?;
            }
            once(dp.program_ref()?, &path.frame, repeat, out)
        };
        let ns = time(calls, &mut run, (path.action, &path.output))?;
        let dp = &self.fixture.dataplane;
        let (calls, repeat) = runs;
        let (calls, repeat) = (u64::from(calls), u64::from(repeat));
        let mut want = match path.counted {
            Counted::Every(reason) => vec![(reason, calls * repeat)],
            Counted::FirstThen(first, then) => vec![(first, calls), (then, calls * (repeat - 1))],
        };
        want.retain(|(_, n)| *n > 0);
        want.sort();
        let got = deltas(&reasons, &dp.reason_totals()?);
        ensure!(
            got == want,
            "{}: counted {got:?}, expected {want:?}",
            path.name
        );
        let moved = backend_packets(dp, path.backend)? - backend;
        let want = if path.backend.is_some() {
            calls * repeat
        } else {
            0
        };
        ensure!(
            moved == want,
            "{}: backend counted {moved}, expected {want}",
            path.name
        );
        Ok(ns)
    }
}

/// One BPF_PROG_TEST_RUN of `frame`, `repeat` runs in the kernel.
fn once(program: &Xdp, frame: &[u8], repeat: u32, out: &mut [u8]) -> Result<TestRunResult> {
    Ok(program.test_run(TestRunOptions {
        data_in: Some(frame),
        data_out: Some(out),
        repeat,
        ..Default::default()
    })?)
}

/// Mean kernel-reported ns per run over `calls` calls of `run`, checking every call's
/// action and output frame.
fn time(
    calls: u32,
    run: &mut dyn FnMut(&mut [u8]) -> Result<TestRunResult>,
    expect: (u32, &[u8]),
) -> Result<f64> {
    let mut out = vec![0u8; expect.1.len() + 256];
    let mut total_ns = 0u128;
    for _ in 0..calls {
        let result = run(&mut out)?;
        let got = (result.return_value, &out[..result.data_size_out as usize]);
        ensure!(
            got == expect,
            "action {} or the output frame is not the expected",
            got.0
        );
        total_ns += result.duration.as_nanos();
    }
    Ok(total_ns as f64 / f64::from(calls))
}

fn backend_packets(dp: &Dataplane, id: Option<u32>) -> Result<u64> {
    Ok(id
        .map(|id| dp.backend_total(id))
        .transpose()?
        .unwrap_or_default()
        .packets)
}

fn deltas(before: &[(Reason, Counter)], after: &[(Reason, Counter)]) -> Vec<(Reason, u64)> {
    let mut moved: Vec<(Reason, u64)> = (before.iter().zip(after))
        .map(|((reason, b), (_, a))| (*reason, a.packets - b.packets))
        .filter(|(_, n)| *n > 0)
        .collect();
    moved.sort();
    moved
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(
        args.rounds > 0 && args.calls > 0 && args.repeat > 1,
        "rounds, calls > 0; repeat > 1"
    );
    let (mut bench, paths) = paths::setup(args)?;
    // One checked, untimed pass over everything first: warms caches and fails fast.
    for path in &paths {
        bench.path_ns(path)?;
        bench.empty_ns(path)?;
    }
    let rounds = bench.args.rounds;
    let mut samples = vec![Vec::new(); paths.len()];
    for round in 0..rounds {
        eprintln!("round {}/{rounds}", round + 1);
        for (path, samples) in paths.iter().zip(&mut samples) {
            // Each path next to its own baseline; alternate which goes first.
            let (ns, empty) = if round % 2 == 0 {
                let empty = bench.empty_ns(path)?;
                (bench.path_ns(path)?, empty)
            } else {
                (bench.path_ns(path)?, bench.empty_ns(path)?)
            };
            samples.push((ns, empty));
        }
    }
    report::print(&bench.args, &paths, &samples);
    Ok(())
}
