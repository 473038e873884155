//! Throwaway network namespaces around a bridge, and running code inside them. Dropping a
//! `Lab` (also while a test panics) deletes every namespace, and with them every link.
#![allow(dead_code)] // each test binary uses a different part

use std::{
    fs::File,
    path::Path,
    process::Command,
    sync::atomic::{AtomicUsize, Ordering},
};

use aya::programs::XdpMode;
use nix::sched::{setns, CloneFlags};
use vip_agent::{
    dataplane::{Dataplane, DesiredState, LoadOptions},
    host::{InterfaceInfo, Netlink},
    testing::frames::Mac,
};

/// Loads and configures the program, then attaches it (generic XDP) to `eth0` of `netns`,
/// from a thread in that namespace: the interface name is resolved there.
pub fn attach(
    netns: &str,
    options: LoadOptions,
    desired: impl FnOnce(&InterfaceInfo) -> DesiredState + Send,
) -> (Dataplane, InterfaceInfo) {
    in_netns(netns, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let eth0 = runtime
            .block_on(async { Netlink::connect()?.interface("eth0").await })
            .expect("look up eth0");
        let mut dataplane = Dataplane::load(options).expect("load the XDP program (needs root)");
        // Configured before it is attached, so it never runs half set up.
        dataplane.apply(&desired(&eth0)).expect("apply");
        // Generic XDP: native XDP_TX on veth would need a program on the peer as well.
        dataplane.attach("eth0", XdpMode::Skb).expect("attach");
        (dataplane, eth0)
    })
}

/// arp_ignore=1 / arp_announce=2, as the agent sets them for DSR with the VIP on lo.
pub fn dsr_sysctls(netns: &str) {
    in_netns(netns, || {
        for conf in ["all", "eth0"] {
            write_sysctl(&format!("net/ipv4/conf/{conf}/arp_ignore"), "1");
            write_sysctl(&format!("net/ipv4/conf/{conf}/arp_announce"), "2");
        }
    });
}

/// Writes a sysctl of the calling thread's network namespace.
pub fn write_sysctl(key: &str, value: &str) {
    let path = format!("/proc/sys/{key}");
    std::fs::write(&path, value).unwrap_or_else(|e| panic!("write {path}: {e}"));
}

/// Runs `ip` with whitespace-separated `args`.
pub fn ip(args: &str) {
    let output = Command::new("ip")
        .args(args.split_whitespace())
        .output()
        .expect("run ip");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "ip {args}: {stderr}");
}

/// Runs `f` on a thread that entered `netns`: sockets it opens stay in there.
pub fn in_netns<T: Send>(netns: &str, f: impl FnOnce() -> T + Send) -> T {
    let path = format!("/run/netns/{netns}");
    std::thread::scope(|scope| {
        let thread = scope.spawn(|| {
            let file = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
            setns(&file, CloneFlags::CLONE_NEWNET).unwrap_or_else(|e| panic!("setns: {e}"));
            f()
        });
        thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

static NEXT_LAB: AtomicUsize = AtomicUsize::new(0);

/// Namespaces `vt-<pid>-<n>-<role>` around a bridge in its own namespace. Dropping the lab
/// (also while a test panics) deletes them, and with them every veth and the bridge.
pub struct Lab {
    prefix: String,
    names: Vec<String>,
    bridge: String,
}

impl Lab {
    pub fn new() -> Self {
        let id = NEXT_LAB.fetch_add(1, Ordering::Relaxed);
        let mut lab = Lab {
            prefix: format!("vt-{}-{id}", std::process::id()),
            names: Vec::new(),
            bridge: String::new(),
        };
        lab.bridge = lab.netns("br");
        let br = lab.bridge.as_str();
        // Without snooping, multicast (neighbour solicitations) is flooded to every port.
        ip(&format!(
            "-n {br} link add br0 type bridge mcast_snooping 0"
        ));
        ip(&format!("-n {br} link set br0 up"));
        // Bridged frames must not meet the host's iptables/arptables rules.
        in_netns(br, || {
            for table in ["arptables", "iptables", "ip6tables"] {
                let key = format!("net/bridge/bridge-nf-call-{table}");
                if Path::new(&format!("/proc/sys/{key}")).exists() {
                    write_sysctl(&key, "0");
                }
            }
        });
        lab
    }

    pub fn netns(&mut self, role: &str) -> String {
        let name = format!("{}-{role}", self.prefix);
        // Recorded first, so a half-made namespace is deleted too.
        self.names.push(name.clone());
        ip(&format!("netns add {name}"));
        ip(&format!("-n {name} link set lo up"));
        name
    }

    /// A namespace whose `eth0` (with `mac`) is a veth plugged into the bridge.
    pub fn port(&mut self, role: &str, mac: Mac) -> String {
        let netns = self.netns(role);
        let port = format!("p-{role}");
        let mac = mac.map(|b| format!("{b:02x}")).join(":");
        let br = self.bridge.as_str();
        let veth = format!("{port} type veth peer name eth0 address {mac} netns {netns}");
        ip(&format!("-n {br} link add {veth}"));
        ip(&format!("-n {br} link set {port} master br0 up"));
        ip(&format!("-n {netns} link set eth0 up"));
        netns
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for name in self.names.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}
