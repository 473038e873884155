//! Developer commands: `cargo xtask <command>` (aliased in .cargo/config.toml).
mod bench;
mod build_ebpf;
mod dist;
mod fuzz;
mod lab;
mod setup;
mod test;
mod tools;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Developer commands of the vip workspace")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install what building and testing need and this machine lacks (idempotent): the
    /// nightly's rust-src, bpf-linker 0.13 on the nightly's own LLVM, and the test tools.
    Setup,
    /// Build the XDP object through vip-agent's build script (the normal build path) and
    /// print where it is and what it holds.
    BuildEbpf {
        /// Build the dev profile instead of release.
        #[arg(long)]
        debug: bool,
    },
    /// Build the release artifacts into target/artifacts/ and check them: the static
    /// binary, the .deb and the OCI image archive, with SHA256SUMS (needs root).
    Dist {
        /// Build everything a second time in a fresh target directory and fail unless
        /// both SHA256SUMS are identical (takes as long again).
        #[arg(long)]
        reproducible: bool,
    },
    /// Format check, clippy, every test (needs root), the manifest and monitoring checks
    /// and `dist` with its checks: what CI runs.
    Test,
    /// The local demo lab (needs root): `up` starts it, `down` removes it, `demo` runs
    /// the failover demonstration and cleans up.
    Lab {
        #[arg(value_parser = ["up", "down", "demo"])]
        action: String,
    },
    /// Differential fuzzing (needs root): random map states and frames through the XDP
    /// program (BPF_PROG_TEST_RUN) and the reference model; stops at the first
    /// disagreement or invariant violation and writes a minimised fixture to
    /// vip-fuzz/corpus/.
    Fuzz {
        #[arg(long, default_value_t = 100_000)]
        frames: u64,
        /// Generator seed (default: from the clock; printed).
        #[arg(long)]
        seed: Option<u64>,
        /// Make the model imitate a reported, unfixed program bug (docs/fuzzing.md).
        #[arg(long)]
        mimic: Vec<String>,
    },
    /// Time the XDP paths against an empty XDP program (needs root) and write
    /// bench/results/xdp.md.
    BenchXdp {
        /// Measurement rounds (the table shows medians).
        #[arg(long, default_value_t = 5)]
        rounds: u32,
        /// Runs per BPF_PROG_TEST_RUN for frames a path leaves unchanged.
        #[arg(long, default_value_t = 1_000_000)]
        repeat: u32,
        /// Single-run calls averaged for paths that rewrite the frame.
        #[arg(long, default_value_t = 100_000)]
        calls: u32,
        /// Print the table without writing bench/results/xdp.md.
        #[arg(long)]
        no_write: bool,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Setup => setup::run(),
        Command::Test => test::run(),
        Command::Dist { reproducible } => dist::run(&dist::Options { reproducible }),
        Command::Lab { action } => lab::run(&action),
        Command::BuildEbpf { debug } => build_ebpf::run(!debug),
        Command::Fuzz {
            frames,
            seed,
            mimic,
        } => fuzz::run(&fuzz::Options {
            frames,
            seed,
            mimic,
        }),
        Command::BenchXdp {
            rounds,
            repeat,
            calls,
            no_write,
        } => bench::run(&bench::Options {
            rounds,
            repeat,
            calls,
            write: !no_write,
        }),
    }
}
