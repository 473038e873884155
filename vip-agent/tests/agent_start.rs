//! Issue 10 item 6: every setting is checked before the first change to the host (exit
//! 64, one line naming the setting, nothing changed), and a start that fails after the
//! host was changed undoes all of it. Runs the vip-agent binary in a throwaway network
//! namespace; needs root, iproute2 and BPF. Run under `flock /tmp/vip-lab.lock`.
mod support;

use std::time::Duration;

use support::agent::{addresses, host_record, run_to_exit, sysctl, xdp_program_id, Bpffs};
use support::netns::{attach, in_netns, Lab};
use vip_agent::dataplane::{DesiredState, LoadOptions};

const MAC: [u8; 6] = [0x02, 0x66, 0, 0, 0, 0x01];
const VIP: &str = "10.66.0.100";
const LIMIT: Duration = Duration::from_secs(20);

/// A command line with pins below `bpffs`, valid once `extra` says how to verify the
/// API servers' certificates; a flag in `extra` replaces the default one.
fn args(bpffs: &Bpffs, extra: &[&str]) -> Vec<String> {
    let dir = bpffs.path().join("agent").display().to_string();
    let defaults = [
        ("--interface", "eth0"),
        ("--address", VIP),
        ("--backends", "10.66.0.1"),
        ("--election", "none"),
        ("--metrics-addr", "off"),
        ("--xdp-mode", "skb"),
        ("--bpffs-dir", dir.as_str()),
    ];
    let mut args = Vec::new();
    for (flag, value) in defaults {
        if !extra.contains(&flag) {
            args.extend([flag.to_owned(), value.to_owned()]);
        }
    }
    args.extend(extra.iter().map(|arg| (*arg).to_owned()));
    args
}

/// What the agent may change on the host, read from outside it.
#[derive(Debug, PartialEq, Eq)]
struct HostView {
    vip_on_lo: bool,
    xdp_program: Option<u32>,
    arp_ignore: String,
    arp_announce: String,
    pins: Vec<String>,
    record: bool,
}

fn host_view(netns: &str, bpffs: &Bpffs) -> HostView {
    HostView {
        vip_on_lo: addresses(netns, "lo").contains(VIP),
        xdp_program: xdp_program_id(netns, "eth0"),
        arp_ignore: sysctl(netns, "net.ipv4.conf.all.arp_ignore"),
        arp_announce: sysctl(netns, "net.ipv4.conf.all.arp_announce"),
        pins: bpffs.contents(),
        record: host_record(&bpffs.path().join("agent")).exists(),
    }
}

#[test]
fn settings_checked_before_any_host_change() {
    let mut lab = Lab::new();
    let node = lab.port("node", MAC);
    let bpffs = Bpffs::mount();
    let untouched = host_view(&node, &bpffs);
    assert_eq!(untouched.arp_ignore, "0", "a fresh namespace");

    let garbage = tempfile::NamedTempFile::new().expect("temporary file");
    std::fs::write(garbage.path(), "this is: [not a kubeconfig").expect("write");
    let garbage = garbage.path().display().to_string();
    let not_bpffs = tempfile::tempdir().expect("temporary directory");
    let not_bpffs = not_bpffs.path().join("pins").display().to_string();
    // A port already taken in the node's namespace (the socket stays there).
    let taken = in_netns(&node, || {
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind in the namespace")
    });
    let taken_addr = taken.local_addr().expect("address").to_string();

    let cases: [(&str, Vec<&str>); 5] = [
        (
            "--health-ca-file",
            vec!["--health-ca-file", "/nonexistent/vt-ca.crt"],
        ),
        (
            "--kubeconfig",
            vec!["--health-insecure", "--kubeconfig", &garbage],
        ),
        (
            "--bpffs-dir",
            vec!["--health-insecure", "--bpffs-dir", &not_bpffs],
        ),
        (
            "--metrics-addr",
            vec!["--health-insecure", "--metrics-addr", &taken_addr],
        ),
        (
            "--interface",
            vec!["--health-insecure", "--interface", "vt-nosuch0"],
        ),
    ];
    let mut failures = Vec::new();
    for (setting, extra) in cases {
        let output = run_to_exit(&node, &args(&bpffs, &extra), LIMIT);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let error_lines: Vec<&str> = stderr.lines().filter(|l| l.contains("ERROR")).collect();
        if output.status.code() != Some(64) {
            failures.push(format!(
                "{setting}: exit {:?}, expected 64: {stderr}",
                output.status
            ));
        }
        if error_lines.len() != 1 || !error_lines[0].contains(setting) {
            failures.push(format!(
                "{setting}: expected one error line naming it: {stderr}"
            ));
        }
        let after = host_view(&node, &bpffs);
        if after != untouched {
            failures.push(format!(
                "{setting}: host changed: {after:?}, before {untouched:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn start_failure_after_host_changes_undoes_them() {
    let mut lab = Lab::new();
    let node = lab.port("node", MAC);
    let bpffs = Bpffs::mount();
    // Another XDP program holds eth0, so attaching fails after the host was set up.
    let (_other, _eth0) = attach(
        &node,
        LoadOptions {
            ring_size: 251,
            max_flows: 1024,
        },
        |_| DesiredState::default(),
    );
    let before = host_view(&node, &bpffs);
    assert!(
        before.xdp_program.is_some(),
        "the other program is attached"
    );

    let output = run_to_exit(&node, &args(&bpffs, &["--health-insecure"]), LIMIT);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("attaching XDP to eth0"), "{stderr}");
    assert_eq!(host_view(&node, &bpffs), before, "{stderr}");
}
