//! Throwaway network namespaces for tests that need root.

use std::{
    fs::File,
    future::Future,
    process::Command,
    sync::atomic::{AtomicUsize, Ordering},
};

use nix::sched::{setns, CloneFlags};

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// Named namespaces `vt-host-<pid>-<n>-<i>`, deleted on drop (also when the
/// test panics), along with the links inside them.
pub struct TestNamespaces {
    names: Vec<String>,
}

impl TestNamespaces {
    pub fn create(count: usize) -> Self {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let mut namespaces = TestNamespaces { names: Vec::new() };
        for index in 0..count {
            let name = format!("vt-host-{}-{id}-{index}", std::process::id());
            // Recorded first so a half-done creation is still cleaned up.
            namespaces.names.push(name.clone());
            ip(&["netns", "add", &name]);
        }
        namespaces
    }

    pub fn name(&self, index: usize) -> &str {
        &self.names[index]
    }
}

impl Drop for TestNamespaces {
    fn drop(&mut self) {
        for name in &self.names {
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

/// Runs `ip` with `args` (always scoped to a test namespace by the caller).
pub fn ip(args: &[&str]) {
    let output = Command::new("ip")
        .args(args)
        .output()
        .expect("the ip command (iproute2) is needed by the namespace tests");
    assert!(
        output.status.success(),
        "ip {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs `test` on a dedicated thread moved into `netns`, on a current-thread
/// runtime, so every socket and `/proc/sys/net` access happens in there.
/// A panic inside is re-raised here, after the thread is gone.
pub fn run_in_netns<F, Fut, T>(netns: &str, test: F) -> T
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    let path = format!("/run/netns/{netns}");
    let thread = std::thread::spawn(move || {
        let namespace = File::open(&path).unwrap_or_else(|error| panic!("open {path}: {error}"));
        setns(&namespace, CloneFlags::CLONE_NEWNET)
            .unwrap_or_else(|error| panic!("setns {path} (needs root): {error}"));
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("build tokio runtime")
            .block_on(test())
    });
    match thread.join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Whether `/proc/thread-self/net/igmp6` lists `group` on `interface`; the
/// thread-self view follows the calling thread's namespace.
pub fn has_multicast_group(interface: &str, group: std::net::Ipv6Addr) -> bool {
    let table = std::fs::read_to_string("/proc/thread-self/net/igmp6").expect("read igmp6");
    let group_hex = format!("{:032x}", u128::from(group));
    table.lines().any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.get(1) == Some(&interface) && fields.get(2) == Some(&group_hex.as_str())
    })
}
