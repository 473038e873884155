//! `vip-fuzz` (run by `cargo xtask fuzz`): needs root for BPF_PROG_TEST_RUN.
use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Parser;
use vip_fuzz::fuzz::{self, Options, Report};
use vip_model::OpenBugs;

#[derive(Parser)]
#[command(about = "Differential fuzzing of the XDP program against the reference model")]
struct Cli {
    /// Frames to run.
    #[arg(long, default_value_t = 100_000)]
    frames: u64,
    /// Seed of the generator: the same seed runs the same states and frames.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Frames per random map state.
    #[arg(long, default_value_t = 200)]
    frames_per_state: u64,
    /// Directory the minimised reproducer of a disagreement is written to.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus"))]
    corpus: PathBuf,
    /// Imitate a reported, unfixed program bug in the model (repeatable), to look past it
    /// until it is fixed. ipv4-mapped-vip: bug 1 of docs/fuzzing.md, fixed in cdb5d3e;
    /// udp-icmp-repin-idle: bug 2, fixed after 334fd3a.
    #[arg(long, value_parser = OpenBugs::NAMES)]
    mimic: Vec<String>,
    /// Print the verdicts seen, by reason.
    #[arg(long)]
    verdicts: bool,
}

fn print_rate(report: &Report) {
    println!(
        "{} frames, {} states, {:.1} s, {:.0} frames/s",
        report.frames,
        report.states,
        report.elapsed.as_secs_f64(),
        report.frames_per_second()
    );
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let mut mimic = OpenBugs::default();
    for name in &cli.mimic {
        mimic.enable(name);
    }
    let options = Options {
        mimic,
        frames: cli.frames,
        seed: cli.seed,
        frames_per_state: cli.frames_per_state.max(1),
        corpus: cli.corpus,
    };
    let report = fuzz::run(&options, print_rate)?;
    print_rate(&report);
    if cli.verdicts {
        for ((reason, action), count) in &report.verdicts {
            println!("{:>10} {action:?} {}", count, reason.label());
        }
    }
    if let Some((finding, path)) = &report.finding {
        println!("DISAGREEMENT: {}", finding.summary());
        println!("minimised reproducer: {}", path.display());
        bail!("the program and the model disagree");
    }
    println!(
        "no disagreement, no invariant violation (seed {})",
        cli.seed
    );
    Ok(())
}
