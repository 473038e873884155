//! Doing things inside a network namespace from this process: a socket belongs to the
//! namespace of the thread that created it, so work runs on threads that entered one.
use std::fs::File;
use std::future::Future;
use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;

use nix::sched::{setns, CloneFlags};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::LabError;

/// Moves the calling thread into network namespace `netns` (a name under /run/netns).
pub fn enter(netns: &str) -> Result<(), LabError> {
    let path = format!("/run/netns/{netns}");
    let file = File::open(&path).map_err(LabError::io(&path))?;
    setns(&file, CloneFlags::CLONE_NEWNET).map_err(|source| LabError::Setns {
        netns: netns.to_owned(),
        source,
    })
}

/// Runs `f` on a fresh thread inside `netns` and returns its result.
pub fn in_netns<T: Send>(netns: &str, f: impl FnOnce() -> T + Send) -> Result<T, LabError> {
    std::thread::scope(|scope| {
        let thread = scope.spawn(|| enter(netns).map(|()| f()));
        thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Writes a sysctl (`net/ipv4/...`) of `netns`; `optional` ones may be absent.
pub fn sysctl(netns: &str, key: &str, value: &str, optional: bool) -> Result<(), LabError> {
    in_netns(netns, || {
        let path = format!("/proc/sys/{key}");
        if optional && !Path::new(&path).exists() {
            return Ok(());
        }
        std::fs::write(&path, value).map_err(LabError::io(&path))
    })?
}

/// A current-thread tokio runtime on a thread inside a network namespace: every task
/// spawned on it, and every socket those tasks open, lives in that namespace.
pub struct NetnsRuntime {
    netns: String,
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl NetnsRuntime {
    pub fn enter(netns: &str) -> Result<Self, LabError> {
        let (ready_tx, ready_rx) = mpsc::channel();
        let name = netns.to_owned();
        let thread = std::thread::spawn(move || {
            let runtime = enter(&name).and_then(|()| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(LabError::Runtime)
            });
            match runtime {
                Ok(runtime) => {
                    let (stop_tx, stop_rx) = oneshot::channel::<()>();
                    let _ = ready_tx.send(Ok((runtime.handle().clone(), stop_tx)));
                    runtime.block_on(async {
                        let _ = stop_rx.await;
                    });
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            }
        });
        let (handle, stop) = ready_rx
            .recv()
            .map_err(|_| LabError::TaskLost(netns.to_owned()))??;
        Ok(Self {
            netns: netns.to_owned(),
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn netns(&self) -> &str {
        &self.netns
    }

    /// Starts `future` in the namespace and returns at once.
    pub fn spawn<F>(&self, future: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Runs `future` in the namespace and blocks the calling thread until it ends. A panic
    /// inside it is resumed here.
    pub fn run<F>(&self, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        let task = self.handle.spawn(future);
        self.handle.spawn(async move {
            let _ = tx.send(task.await);
        });
        match rx.recv() {
            Ok(Ok(output)) => output,
            Ok(Err(error)) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            _ => panic!("the runtime of network namespace {} stopped", self.netns),
        }
    }
}

impl Drop for NetnsRuntime {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
