//! `cargo xtask bench-xdp`: runs the bench_xdp example of vip-agent (root) and records
//! its table, with the machine it ran on, in bench/results/xdp.md.
use std::{
    fs,
    process::{Command, Stdio},
};

use anyhow::{ensure, Context, Result};

use crate::{
    build_ebpf::preflight,
    tools::{self, is_root, try_stdout},
};

pub struct Options {
    pub rounds: u32,
    pub repeat: u32,
    pub calls: u32,
    pub write: bool,
}

const RESULTS: &str = "bench/results/xdp.md";

pub fn run(options: &Options) -> Result<()> {
    ensure!(
        is_root(),
        "BPF_PROG_TEST_RUN needs root: sudo -E env PATH=\"$PATH\" cargo xtask bench-xdp"
    );
    preflight()?;
    let args = [
        format!("--rounds={}", options.rounds),
        format!("--repeat={}", options.repeat),
        format!("--calls={}", options.calls),
    ];
    let mut cmd = tools::cargo();
    cmd.args([
        "run",
        "--release",
        "-p",
        "vip-agent",
        "--example",
        "bench_xdp",
        "--",
    ]);
    cmd.args(&args).env_remove("AYA_BUILD_SKIP");
    println!("$ {}", tools::show(&cmd));
    let command = format!("cargo xtask bench-xdp {}", args.join(" "));
    // Before the run: the date and the load it started under.
    let head = header(&command, &tools::show(&cmd));
    let output = cmd
        .stderr(Stdio::inherit())
        .output()
        .context("cannot start cargo")?;
    ensure!(
        output.status.success(),
        "bench_xdp failed ({})",
        output.status
    );
    let table = String::from_utf8(output.stdout).context("bench_xdp output")?;
    println!("\n{table}");
    if options.write {
        let text = format!("{head}\n{table}");
        let path = tools::workspace_root().join(RESULTS);
        fs::create_dir_all(path.parent().context("results dir")?)?;
        fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn header(command: &str, runs: &str) -> String {
    let shell = |program: &str, args: &[&str]| {
        try_stdout(Command::new(program).args(args)).unwrap_or_else(|| "unknown".into())
    };
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let load = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
        .map_or("unknown", |(_, model)| model.trim());
    format!(
        "# XDP data path: ns/packet through BPF_PROG_TEST_RUN\n\n\
         - Machine: {} CPUs, {cpu}, kernel {}\n\
         - Command: `{command}` (runs `{runs}`)\n\
         - XDP object built by: {}\n\
         - Date: {}; load average at the start: {} (other work shares this machine)\n",
        shell("nproc", &[]),
        shell("uname", &["-r"]),
        shell("rustc", &["+nightly", "--version"]),
        shell("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )
}
