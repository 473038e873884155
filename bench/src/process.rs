//! Processes started inside a namespace (`ip netns exec`), killed when dropped.
use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::cleanup::{process_start_time, ProcessRecord, Tracker};
use crate::LabError;

/// How to start one process.
#[derive(Clone, Debug)]
pub struct Launch {
    pub netns: String,
    /// A name for logs and the state file: `agent-n1`, `apiserver-n2`, …
    pub role: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    /// stdout and stderr are appended here.
    pub log: PathBuf,
    /// Kill the process when the thread that started it dies (tests; not `vip-lab up`).
    pub die_with_parent: bool,
}

pub struct NsProcess {
    launch: Launch,
    pid: i32,
    child: Option<Child>,
}

impl NsProcess {
    pub fn spawn(tracker: &Tracker, launch: &Launch) -> Result<Self, LabError> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&launch.log)
            .map_err(LabError::io(&launch.log))?;
        let log_err = log.try_clone().map_err(LabError::io(&launch.log))?;
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &launch.netns]);
        if launch.die_with_parent {
            command.args(["setpriv", "--pdeathsig", "KILL", "--"]);
        }
        command
            .arg(&launch.program)
            .args(&launch.args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            // Its own process group: a Ctrl-C at the terminal reaches only vip-lab, which
            // then tears down in order.
            .process_group(0);
        let child = command.spawn().map_err(|source| LabError::Spawn {
            command: format!(
                "ip netns exec {} {}",
                launch.netns,
                launch.program.display()
            ),
            source,
        })?;
        let pid = child.id() as i32;
        let record = ProcessRecord {
            role: launch.role.clone(),
            pid,
            start_time: process_start_time(pid).unwrap_or_default(),
        };
        let process = Self {
            launch: launch.clone(),
            pid,
            child: Some(child),
        };
        tracker.record(|r| r.processes.push(record))?;
        Ok(process)
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    pub fn role(&self) -> &str {
        &self.launch.role
    }

    pub fn launch(&self) -> &Launch {
        &self.launch
    }

    pub fn log(&self) -> &Path {
        &self.launch.log
    }

    pub fn signal(&self, signal: Signal) -> Result<(), LabError> {
        kill(Pid::from_raw(self.pid), signal).map_err(|source| LabError::Sys {
            what: format!("{signal} to {} (pid {})", self.launch.role, self.pid),
            source,
        })
    }

    /// Sends `signal` to the process group the process leads (it and the children that
    /// stayed in its group), in one call: none of them can react to another's death first.
    pub fn signal_group(&self, signal: Signal) -> Result<(), LabError> {
        kill(Pid::from_raw(-self.pid), signal).map_err(|source| LabError::Sys {
            what: format!(
                "{signal} to the group of {} (pid {})",
                self.launch.role, self.pid
            ),
            source,
        })
    }

    /// Whether it still runs (reaps it if it ended).
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Waits up to `timeout` for the process to end.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + timeout;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                _ => return None,
            }
        }
    }

    /// kill -9, and reap it.
    pub fn kill9(&mut self) -> Result<(), LabError> {
        if self.is_running() {
            self.signal(Signal::SIGKILL)?;
            self.wait_timeout(Duration::from_secs(5));
        }
        Ok(())
    }

    /// SIGTERM, then up to `grace` for it to exit, then kill -9.
    pub fn terminate(&mut self, grace: Duration) -> Result<Option<ExitStatus>, LabError> {
        if !self.is_running() {
            return Ok(None);
        }
        self.signal(Signal::SIGTERM)?;
        match self.wait_timeout(grace) {
            Some(status) => Ok(Some(status)),
            None => self.kill9().map(|()| None),
        }
    }

    /// Lets the process outlive this handle (`vip-lab up`); the state file still has it.
    pub fn detach(mut self) {
        self.child = None;
    }
}

impl Drop for NsProcess {
    fn drop(&mut self) {
        if self.child.is_some() {
            let _ = self.kill9();
        }
    }
}
