//! What a lab created, recorded as it is created, and the teardown that removes it: from a
//! Drop guard, from the Ctrl-C handler, or from the state file of a lab left running.
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Once, PoisonError, Weak};
use std::time::{Duration, Instant};

use nix::mount::{umount2, MntFlags};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::{cmd, LabError};

/// A process the lab started. `start_time` (from /proc/PID/stat) tells it apart from a
/// later process that reused the pid.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProcessRecord {
    pub role: String,
    pub pid: i32,
    pub start_time: u64,
}

impl ProcessRecord {
    /// Whether the recorded process still exists (and is not a pid reuse).
    pub fn is_alive(&self) -> bool {
        process_start_time(self.pid) == Some(self.start_time)
    }
}

/// Start time of `pid` in clock ticks since boot; `None` when there is no such process
/// or it is a zombie.
pub fn process_start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // fields[0] is field 3 (state); starttime is field 22.
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Everything a lab made. Teardown order: processes, mounts, namespaces, files.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Resources {
    pub processes: Vec<ProcessRecord>,
    pub mounts: Vec<PathBuf>,
    pub namespaces: Vec<String>,
    /// Files and directories, removed newest first (directories only when empty, except
    /// the ones in `trees`).
    pub files: Vec<PathBuf>,
    /// Directories removed with all they contain.
    pub trees: Vec<PathBuf>,
}

impl Resources {
    /// Removes everything recorded; best effort, never fails, bounded in time.
    pub fn teardown(&self) {
        for process in self.processes.iter().rev() {
            if process.is_alive() {
                let _ = kill(Pid::from_raw(process.pid), Signal::SIGKILL);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while self.processes.iter().any(ProcessRecord::is_alive) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        for mount in self.mounts.iter().rev() {
            clear_dir(mount);
            let _ = umount2(mount, MntFlags::MNT_DETACH);
        }
        for netns in self.namespaces.iter().rev() {
            if cmd::netns_exists(netns) {
                cmd::quietly("ip", &["netns", "del", netns]);
            }
        }
        for tree in self.trees.iter().rev() {
            let _ = std::fs::remove_dir_all(tree);
        }
        for file in self.files.iter().rev() {
            if file.is_dir() {
                let _ = std::fs::remove_dir(file);
            } else {
                let _ = std::fs::remove_file(file);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.processes.is_empty()
            && self.mounts.is_empty()
            && self.namespaces.is_empty()
            && self.files.is_empty()
            && self.trees.is_empty()
    }

    pub fn load(path: &Path) -> Result<Option<Self>, LabError> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| LabError::State {
                    path: path.to_owned(),
                    reason: e.to_string(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(LabError::io(path)(e)),
        }
    }

    fn save(&self, path: &Path) -> Result<(), LabError> {
        let text = serde_json::to_string_pretty(self).map_err(|e| LabError::State {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let temporary = path.with_extension("json.tmp");
        std::fs::write(&temporary, text + "\n").map_err(LabError::io(&temporary))?;
        std::fs::rename(&temporary, path).map_err(LabError::io(path))
    }
}

/// Removes a state file, and its directory if that is then empty.
pub fn remove_state_file(path: &Path) {
    let _ = std::fs::remove_file(path);
    if let Some(dir) = path.parent() {
        let _ = std::fs::remove_dir(dir);
    }
}

/// Removes what a bpffs (or any) directory holds: pins go before the unmount.
fn clear_dir(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                let _ = std::fs::remove_dir_all(&path);
            } else {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

struct Shared {
    resources: Resources,
    state_file: Option<PathBuf>,
    armed: bool,
}

/// The live record of one lab; tears it down when dropped unless disarmed.
pub struct Tracker {
    shared: Arc<Mutex<Shared>>,
}

static LIVE: Mutex<Vec<Weak<Mutex<Shared>>>> = Mutex::new(Vec::new());

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Tracker {
    /// A tracker that also keeps `state_file` up to date (for `vip-lab down`).
    pub fn new(state_file: Option<PathBuf>) -> Self {
        let shared = Arc::new(Mutex::new(Shared {
            resources: Resources::default(),
            state_file,
            armed: true,
        }));
        let mut live = lock(&LIVE);
        live.retain(|weak| weak.strong_count() > 0);
        live.push(Arc::downgrade(&shared));
        Self { shared }
    }

    /// Records something just created (before anything can fail after creating it).
    pub fn record(&self, change: impl FnOnce(&mut Resources)) -> Result<(), LabError> {
        let mut shared = lock(&self.shared);
        change(&mut shared.resources);
        match &shared.state_file {
            Some(path) => shared.resources.save(path),
            None => Ok(()),
        }
    }

    pub fn resources(&self) -> Resources {
        lock(&self.shared).resources.clone()
    }

    /// Leaves everything running: the Drop guard and the signal handler stop caring, the
    /// state file stays for `vip-lab down`.
    pub fn disarm(&self) {
        lock(&self.shared).armed = false;
    }

    fn teardown_shared(shared: &Mutex<Shared>) {
        let mut shared = lock(shared);
        if !shared.armed {
            return;
        }
        shared.armed = false;
        shared.resources.teardown();
        if let Some(path) = &shared.state_file {
            remove_state_file(path);
        }
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        Self::teardown_shared(&self.shared);
    }
}

static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether a signal is tearing the labs down (the process exits with 130 when done):
/// errors seen meanwhile are its doing, not worth reporting.
pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Installs (once per process) a SIGINT/SIGTERM/SIGHUP handler that tears down every live
/// lab and exits with status 130.
pub fn install_signal_cleanup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::thread::spawn(|| {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(wait_for_signal());
            INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
            eprintln!("vip-lab: interrupted; tearing the lab down");
            let live: Vec<_> = lock(&LIVE).iter().filter_map(Weak::upgrade).collect();
            for shared in live {
                Tracker::teardown_shared(&shared);
            }
            std::process::exit(130);
        });
    });
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
        _ = hup.recv() => {}
    }
}
