//! `cargo xtask fuzz`: differential fuzzing of the XDP program against vip-model (root,
//! BPF_PROG_TEST_RUN only: nothing is attached, no lab lock is needed).
use anyhow::{ensure, Result};

use crate::{build_ebpf::preflight, tools};

pub struct Options {
    pub frames: u64,
    /// `None`: a seed from the clock, printed so the run can be repeated.
    pub seed: Option<u64>,
    /// Reported, unfixed program bugs the model imitates.
    pub mimic: Vec<String>,
}

pub fn run(options: &Options) -> Result<()> {
    ensure!(
        tools::is_root(),
        "BPF_PROG_TEST_RUN needs root: sudo -E env PATH=\"$PATH\" cargo xtask fuzz"
    );
    preflight()?;
    let seed = options.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_secs())
    });
    let mut cmd = tools::cargo();
    cmd.args(["run", "-q", "-p", "vip-fuzz", "--"])
        .arg(format!("--frames={}", options.frames))
        .arg(format!("--seed={seed}"))
        .arg("--verdicts")
        .args(options.mimic.iter().map(|name| format!("--mimic={name}")))
        .env_remove("AYA_BUILD_SKIP");
    tools::run(&mut cmd)
}
