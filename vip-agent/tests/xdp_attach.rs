//! The XDP program attached to a real interface: a node and a client namespace on a
//! bridge. The client's ARP/NDP for the VIP is answered with the node's MAC only while the
//! node announces and its deadline lies ahead; other addresses are never answered. Needs
//! root, iproute2, arping and python3 with scapy.
mod support;

use std::{
    collections::BTreeSet,
    net::{Ipv4Addr, Ipv6Addr},
    process::Command,
    time::Duration,
};
use support::netns::{attach, dsr_sysctls, ip, Lab};

use vip_agent::{
    agent::clock::monotonic_ns,
    dataplane::{Dataplane, DesiredState, LoadOptions},
    host::InterfaceInfo,
};
use vip_common::{IpKey, Reason, Settings, ANNOUNCE_ON};

type Mac = [u8; 6];

const NODE_MAC: Mac = [0x02, 0x77, 0, 0, 0, 0x01];
const CLIENT_MAC: Mac = [0x02, 0x77, 0, 0, 0, 0x50];
const NODE4: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const CLIENT4: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 50);
const VIP4: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 100);
/// Configured nowhere: nobody may answer for it.
const OTHER4: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 77);
const CLIENT6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x77, 0, 0, 0, 0, 0x50);
const VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x77, 0, 0, 0, 0, 0x100);
/// Long enough for one check; the test re-arms it before each, as the agent would.
const DEADLINE: Duration = Duration::from_secs(5);

#[test]
fn arp_and_ndp_answered_only_while_announcing() {
    let python = python_with_scapy();
    let mut lab = Lab::new();
    let node = lab.port("node", NODE_MAC);
    let client = lab.port("client", CLIENT_MAC);
    ip(&format!("-n {node} addr add {NODE4}/24 dev eth0"));
    // A DSR node holds the VIPs on lo and must not answer ARP for them itself: any
    // answer below comes from the XDP program.
    ip(&format!("-n {node} addr add {VIP4}/32 dev lo"));
    ip(&format!("-n {node} addr add {VIP6}/128 dev lo"));
    dsr_sysctls(&node);
    ip(&format!("-n {client} addr add {CLIENT4}/24 dev eth0"));
    ip(&format!("-n {client} addr add {CLIENT6}/64 dev eth0 nodad"));

    let (mut dataplane, eth0) = attach(
        &node,
        LoadOptions {
            ring_size: 251,
            max_flows: 1024,
        },
        |eth0| state(eth0, true, after(DEADLINE)),
    );
    assert_eq!(eth0.mac, NODE_MAC);
    let mut counts = Counts::new(&dataplane);

    assert_eq!(arping(&client, VIP4), Some(NODE_MAC), "announcing");
    counts.expect_increase(&dataplane, Reason::ArpReplied);

    assert_eq!(arping(&client, OTHER4), None, "an address that is no VIP");
    counts.expect_increase(&dataplane, Reason::ArpNotVip);

    apply(&mut dataplane, state(&eth0, true, after(DEADLINE)));
    // (Ethernet source, target link-layer address) of the advertisement.
    assert_eq!(solicit(&python, &client, VIP6), Some((NODE_MAC, NODE_MAC)));
    counts.expect_increase(&dataplane, Reason::NdpAdvertised);

    apply(&mut dataplane, state(&eth0, false, after(DEADLINE)));
    assert_eq!(arping(&client, VIP4), None, "after announcing stopped");
    counts.expect_increase(&dataplane, Reason::ArpNotAnnouncing);

    // Announcing again, but the agent stops refreshing: answers stop on their own.
    let deadline = after(Duration::from_secs(2));
    apply(&mut dataplane, state(&eth0, true, deadline));
    assert_eq!(arping(&client, VIP4), Some(NODE_MAC), "announcing again");
    counts.expect_increase(&dataplane, Reason::ArpReplied);
    while monotonic_ns() <= deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(arping(&client, VIP4), None, "after the deadline");
    counts.expect_increase(&dataplane, Reason::ArpDeadlinePassed);
    assert_eq!(solicit(&python, &client, VIP6), None);
    counts.expect_increase(&dataplane, Reason::NdpDeadlinePassed);
}

fn state(eth0: &InterfaceInfo, announcing: bool, deadline_ns: u64) -> DesiredState {
    DesiredState {
        settings: Settings {
            announce_deadline_ns: deadline_ns,
            ifindex: eth0.index,
            announcing: if announcing { ANNOUNCE_ON } else { 0 },
            hash_seed: 7,
            // `apply` writes the loaded size; no service is configured here.
            ring_size: 0,
            mac: eth0.mac,
            ..Default::default()
        },
        vips: [IpKey::from_v4(VIP4.octets()), IpKey::from_v6(VIP6.octets())].into(),
        ..Default::default()
    }
}

fn apply(dataplane: &mut Dataplane, desired: DesiredState) {
    dataplane.apply(&desired).expect("apply the desired state");
}

/// Reason counters seen so far, to check what each step added.
struct Counts(Vec<(Reason, u64)>);

impl Counts {
    fn new(dataplane: &Dataplane) -> Self {
        let totals = dataplane.reason_totals().expect("read counters");
        Counts(totals.into_iter().map(|(r, c)| (r, c.packets)).collect())
    }

    fn expect_increase(&mut self, dataplane: &Dataplane, reason: Reason) {
        let now = Counts::new(dataplane);
        let get = |c: &Counts| c.0.iter().find(|(r, _)| *r == reason).map_or(0, |e| e.1);
        assert!(
            get(&now) > get(self),
            "{reason:?} did not increase ({} -> {})",
            get(self),
            get(&now)
        );
        *self = now;
    }
}

/// The MAC that answers an ARP request for `target` from the client's eth0, if any.
fn arping(netns: &str, target: Ipv4Addr) -> Option<Mac> {
    let target = target.to_string();
    // -C 1 returns at the first answer; -w bounds the wait when none comes.
    let output = netns_exec(
        netns,
        &["arping", "-i", "eth0", "-c2", "-C1", "-w3", &target],
    );
    // Answers read "60 bytes from 02:77:00:00:00:01 (10.77.0.100): index=0 ...".
    let mut macs: BTreeSet<Mac> = output
        .lines()
        .filter_map(|line| line.split("bytes from ").nth(1)?.split(' ').next())
        .map(|mac| parse_mac(mac).unwrap_or_else(|| panic!("arping printed {output:?}")))
        .collect();
    assert!(macs.len() <= 1, "answers from several MACs: {output}");
    macs.pop_first()
}

/// Sends a neighbour solicitation for `target` from the client's eth0 to the target's
/// solicited-node group; returns the Ethernet source and target link-layer address of the
/// advertisement that comes back, if one does.
fn solicit(python: &str, netns: &str, target: Ipv6Addr) -> Option<(Mac, Mac)> {
    const SCRIPT: &str = r#"
import sys
from socket import AF_INET6, inet_pton
from scapy.all import (Ether, IPv6, ICMPv6ND_NS, ICMPv6ND_NA, ICMPv6NDOptSrcLLAddr,
                       ICMPv6NDOptDstLLAddr, get_if_hwaddr, sendp, sniff)
from scapy.utils6 import in6_getnsma, in6_getnsmac, inet_ntop
iface, src, target = sys.argv[1:]
mac = get_if_hwaddr(iface)
group = in6_getnsma(inet_pton(AF_INET6, target))
ns = (Ether(src=mac, dst=in6_getnsmac(group))
      / IPv6(src=src, dst=inet_ntop(AF_INET6, group), hlim=255)
      / ICMPv6ND_NS(tgt=target) / ICMPv6NDOptSrcLLAddr(lladdr=mac))
def is_answer(p):
    return (ICMPv6ND_NA in p
            and inet_pton(AF_INET6, p[ICMPv6ND_NA].tgt) == inet_pton(AF_INET6, target))
answers = sniff(iface=iface, lfilter=is_answer, count=1, timeout=3,
                started_callback=lambda: sendp(ns, iface=iface, verbose=False))
for p in answers:
    option = p[ICMPv6NDOptDstLLAddr].lladdr if ICMPv6NDOptDstLLAddr in p else "none"
    print("advert", p[Ether].src, option)
"#;
    let (src, target) = (CLIENT6.to_string(), target.to_string());
    let output = netns_exec(netns, &[python, "-c", SCRIPT, "eth0", &src, &target]);
    let line = output.lines().find(|l| l.starts_with("advert "))?;
    let fields: Vec<&str> = line.split(' ').collect();
    let mac = |i: usize| parse_mac(fields[i]).unwrap_or_else(|| panic!("bad advert {line:?}"));
    Some((mac(1), mac(2)))
}

/// Runs a tool inside `netns`, bounded in time; returns its stdout (failure is not an
/// error: arping exits 1 when nobody answers).
fn netns_exec(netns: &str, args: &[&str]) -> String {
    let output = Command::new("timeout")
        .args(["30", "ip", "netns", "exec", netns])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", args[0]));
    let (tool, stderr) = (args[0], String::from_utf8_lossy(&output.stderr));
    let finished = output.status.code().is_some_and(|code| code != 124);
    assert!(finished, "{tool} timed out or was killed: {stderr}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn parse_mac(text: &str) -> Option<Mac> {
    let bytes: Vec<u8> = text
        .split(':')
        .map(|b| u8::from_str_radix(b, 16).ok())
        .collect::<Option<_>>()?;
    bytes.try_into().ok()
}

/// `python3` on PATH may be a separate install without scapy; the distribution's has it.
fn python_with_scapy() -> String {
    ["python3", "/usr/bin/python3"]
        .into_iter()
        .find(|python| {
            Command::new(python)
                .args(["-c", "import scapy.all"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("python3 with scapy (Debian: python3-scapy) is needed")
        .to_owned()
}

/// CLOCK_MONOTONIC `delay` from now, as the agent computes its announce deadline.
fn after(delay: Duration) -> u64 {
    monotonic_ns() + delay.as_nanos() as u64
}
