//! `cargo xtask test`: the one command that checks everything, here and in CI.
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::{dist, setup, tools};

pub fn run() -> Result<()> {
    if !tools::is_root() {
        bail!("the tests load XDP programs and create network namespaces: run as root");
    }
    setup::run()?;
    let root = tools::workspace_root();
    let cargo = |args: &[&str]| {
        let mut cmd = tools::cargo();
        cmd.current_dir(&root).args(args);
        cmd
    };
    tools::run(&mut cargo(&["fmt", "--all", "--", "--check"]))?;
    tools::run(&mut cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    let (passed, failed) = run_tests(&mut cargo(&["test", "--workspace"]))?;
    // 10^5 frames of differential fuzzing with a fixed seed (vip-fuzz/README.md). Each
    // `--mimic` names a reported, unfixed program bug (docs/fuzzing.md); drop it with the fix.
    tools::run(&mut cargo(&[
        "run",
        "-q",
        "-p",
        "vip-fuzz",
        "--",
        "--frames",
        "100000",
        "--seed",
        "1",
        "--mimic",
        "ipv4-mapped-vip",
    ]))?;
    // The short failover benchmark (bench/README.md): 3 trials of each kind against
    // vip-agent in the namespace lab; fails when a regression threshold is crossed.
    tools::run(&mut cargo(&[
        "run", "-q", "-p", "vip-lab", "--bin", "vip-lab", "--", "bench", "--stack", "vip",
        "--trials", "3", "--quick", "--check",
    ]))?;
    for script in ["scripts/check-manifests.sh", "deploy/monitoring/check.sh"] {
        tools::run(
            Command::new("bash")
                .arg(root.join(script))
                .current_dir(&root),
        )?;
    }
    // The release artifacts and their checks (contents, lintian, the unit, the image's
    // config and entrypoint). The XDP object build is shared with the builds above.
    dist::run(&dist::Options {
        reproducible: false,
    })?;
    // One closing line for the whole suite: cargo's own last line is often a doc-test
    // binary with nothing in it.
    println!("vip: {passed} passed, {failed} failed");
    Ok(())
}

/// Runs `cargo test`, echoing its output, and adds up its "test result" lines.
fn run_tests(cmd: &mut Command) -> Result<(u64, u64)> {
    println!("$ {}", tools::show(cmd));
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start cargo test")?;
    let (mut passed, mut failed) = (0, 0);
    let stdout = child.stdout.take().context("cargo test stdout")?;
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading cargo test output")?;
        println!("{line}");
        if let Some(summary) = line.strip_prefix("test result: ") {
            passed += count(summary, "passed");
            failed += count(summary, "failed");
        }
    }
    let status = child.wait().context("waiting for cargo test")?;
    if !status.success() {
        println!("vip: {passed} passed, {failed} failed");
        bail!("cargo test failed ({status})");
    }
    Ok((passed, failed))
}

/// The number before `label` in a summary such as "ok. 12 passed; 0 failed; …".
fn count(summary: &str, label: &str) -> u64 {
    summary
        .split(';')
        .filter_map(|part| part.trim().strip_suffix(label))
        .filter_map(|rest| rest.trim().rsplit(' ').next()?.parse().ok())
        .next()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn counts_cargo_summaries() {
        let line =
            "ok. 140 passed; 2 failed; 1 ignored; 0 measured; 0 filtered out; finished in 12.99s";
        assert_eq!((count(line, "passed"), count(line, "failed")), (140, 2));
        assert_eq!(count("FAILED. 3 passed; 1 failed; 0 ignored", "failed"), 1);
    }
}
