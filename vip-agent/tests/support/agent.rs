//! Running the `vip-agent` binary inside a test namespace, with its pins on a private
//! bpffs (outside /sys, which `ip netns exec` remounts), and reading what it left.
#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A bpffs mounted on a temporary directory; unmounted when dropped.
pub struct Bpffs {
    dir: tempfile::TempDir,
}

impl Bpffs {
    pub fn mount() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let status = Command::new("mount")
            .args(["-t", "bpf", "bpf"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(status.success(), "mount -t bpf (needs root)");
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Everything below the mount, as paths relative to it, sorted.
    pub fn contents(&self) -> Vec<String> {
        let mut found = Vec::new();
        let mut pending = vec![self.path().to_owned()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path.clone());
                }
                let relative = path.strip_prefix(self.path()).expect("below the mount");
                found.push(relative.display().to_string());
            }
        }
        found.sort();
        found
    }
}

impl Drop for Bpffs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// The record file the agent keeps for pins under `bpffs_dir` (see `agent::run`).
pub fn host_record(bpffs_dir: &Path) -> PathBuf {
    let name = bpffs_dir
        .to_string_lossy()
        .trim_matches('/')
        .replace('/', "_");
    Path::new("/run/vip-agent").join(format!("{name}.host.json"))
}

fn agent_command(netns: &str, args: &[String]) -> Command {
    let mut command = Command::new("ip");
    command
        .args([
            "netns",
            "exec",
            netns,
            env!("CARGO_BIN_EXE_vip-agent"),
            "run",
        ])
        .args(args)
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null());
    command
}

/// Runs the agent until it exits on its own (at most `limit`, then it is killed).
pub fn run_to_exit(netns: &str, args: &[String], limit: Duration) -> Output {
    let child = agent_command(netns, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start vip-agent");
    wait_with_limit(child, limit)
}

/// Starts the agent in the background; the caller stops it.
pub fn spawn(netns: &str, args: &[String]) -> Child {
    agent_command(netns, args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start vip-agent")
}

pub fn wait_with_limit(mut child: Child, limit: Duration) -> Output {
    let started = Instant::now();
    while child.try_wait().expect("poll vip-agent").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("collect vip-agent output")
}

/// `ip -n <netns> -o addr show dev <dev>` as text.
pub fn addresses(netns: &str, dev: &str) -> String {
    let output = Command::new("ip")
        .args(["-n", netns, "-o", "addr", "show", "dev", dev])
        .output()
        .expect("run ip");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The id of the XDP program on `dev`, if any (`ip -d link` shows `prog/xdp id N`).
pub fn xdp_program_id(netns: &str, dev: &str) -> Option<u32> {
    let output = Command::new("ip")
        .args(["-n", netns, "-d", "link", "show", "dev", dev])
        .output()
        .expect("run ip");
    let text = String::from_utf8_lossy(&output.stdout);
    let after = text.split("prog/xdp id ").nth(1)?;
    after.split_whitespace().next()?.parse().ok()
}

/// A sysctl of `netns`.
pub fn sysctl(netns: &str, key: &str) -> String {
    let output = Command::new("ip")
        .args(["netns", "exec", netns, "sysctl", "-n", key])
        .output()
        .expect("run sysctl");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}
