//! The lab network: a bridge in its own namespace, node namespaces and a client namespace
//! plugged into it by veth pairs. Dropping the topology removes all of it.
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use crate::cleanup::Tracker;
use crate::cmd::{ip, ip_in, netns_exists};
use crate::netns::sysctl;
use crate::{node4, node6, node_name, LabError, BRIDGE4, BRIDGE6, CLIENT4, CLIENT6};

pub type Mac = [u8; 6];

/// What to build.
#[derive(Clone, Debug)]
pub struct TopologySpec {
    /// Namespace name prefix: `vl` for the lab, `vt-<pid>-<n>` in tests.
    pub prefix: String,
    pub nodes: usize,
    pub ipv6: bool,
    /// Directory for the lab's files; created if missing (and then removed on teardown).
    pub run_dir: PathBuf,
    /// Kept up to date with everything created, for `vip-lab down`.
    pub state_file: Option<PathBuf>,
}

/// One node namespace.
#[derive(Clone, Debug)]
pub struct NodeNet {
    pub name: String,
    pub netns: String,
    /// Its veth end in the bridge namespace (cut it to take the node off the network).
    pub bridge_port: String,
    pub addr4: Ipv4Addr,
    pub addr6: Option<Ipv6Addr>,
    pub mac: Mac,
}

pub struct Topology {
    pub spec: TopologySpec,
    pub bridge: String,
    pub nodes: Vec<NodeNet>,
    pub client: String,
    pub client_mac: Mac,
    /// Declared last: dropped after everything that lives in the namespaces.
    tracker: Tracker,
}

/// The interface name inside every node and client namespace.
pub const ETH: &str = "eth0";

pub fn node_mac(index: usize) -> Mac {
    [0x02, 0x77, 0, 0, 0, 1 + index as u8]
}

pub const CLIENT_MAC: Mac = [0x02, 0x77, 0, 0, 0, 0x50];

pub fn format_mac(mac: &Mac) -> String {
    mac.map(|b| format!("{b:02x}")).join(":")
}

impl Topology {
    pub fn build(spec: TopologySpec) -> Result<Self, LabError> {
        let tracker = Tracker::new(spec.state_file.clone());
        create_dir(&tracker, &spec.run_dir)?;
        let bridge = netns(&tracker, &format!("{}-br", spec.prefix))?;
        ip_in(&bridge, &["link", "add", "br0", "type", "bridge"])?;
        ip_in(&bridge, &["link", "set", "br0", "up"])?;
        ip_in(
            &bridge,
            &["addr", "add", &format!("{BRIDGE4}/24"), "dev", "br0"],
        )?;
        // Bridged frames must not meet the host's iptables/arptables rules.
        for table in ["arptables", "iptables", "ip6tables"] {
            let key = format!("net/bridge/bridge-nf-call-{table}");
            sysctl(&bridge, &key, "0", true)?;
        }
        if spec.ipv6 {
            let v6 = format!("{BRIDGE6}/64");
            ip_in(&bridge, &["addr", "add", &v6, "dev", "br0", "nodad"])?;
        }
        let mut nodes = Vec::new();
        for index in 0..spec.nodes {
            let name = node_name(index);
            let netns = netns(&tracker, &format!("{}-{name}", spec.prefix))?;
            let bridge_port = format!("p-{name}");
            let mac = node_mac(index);
            plug(&bridge, &bridge_port, &netns, mac)?;
            ip_in(
                &netns,
                &["addr", "add", &format!("{}/24", node4(index)), "dev", ETH],
            )?;
            let addr6 = spec.ipv6.then(|| node6(index));
            if let Some(v6) = addr6 {
                ip_in(
                    &netns,
                    &["addr", "add", &format!("{v6}/64"), "dev", ETH, "nodad"],
                )?;
            }
            let addr4 = node4(index);
            nodes.push(NodeNet {
                name,
                netns,
                bridge_port,
                addr4,
                addr6,
                mac,
            });
        }
        let client = netns(&tracker, &format!("{}-client", spec.prefix))?;
        plug(&bridge, "p-client", &client, CLIENT_MAC)?;
        ip_in(
            &client,
            &["addr", "add", &format!("{CLIENT4}/24"), "dev", ETH],
        )?;
        if spec.ipv6 {
            let v6 = format!("{CLIENT6}/64");
            ip_in(&client, &["addr", "add", &v6, "dev", ETH, "nodad"])?;
        }
        Ok(Self {
            spec,
            bridge,
            nodes,
            client,
            client_mac: CLIENT_MAC,
            tracker,
        })
    }

    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    pub fn run_dir(&self) -> &Path {
        &self.spec.run_dir
    }

    /// Takes node `index` off the network (its bridge port goes down), or back on.
    pub fn set_link(&self, index: usize, up: bool) -> Result<(), LabError> {
        let port = &self.nodes[index].bridge_port;
        let state = if up { "up" } else { "down" };
        ip_in(&self.bridge, &["link", "set", port, state]).map(drop)
    }

    /// Which node owns `mac`.
    pub fn node_by_mac(&self, mac: &Mac) -> Option<usize> {
        self.nodes.iter().position(|n| &n.mac == mac)
    }
}

/// Creates `dir` (and records it) unless it exists.
pub(crate) fn create_dir(tracker: &Tracker, dir: &Path) -> Result<(), LabError> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dir(tracker, parent)?;
    }
    std::fs::create_dir(dir).map_err(LabError::io(dir))?;
    tracker.record(|r| r.files.push(dir.to_owned()))
}

fn netns(tracker: &Tracker, name: &str) -> Result<String, LabError> {
    if netns_exists(name) {
        return Err(LabError::Other(format!(
            "network namespace {name} exists already: is a lab running? (`vip-lab down`)"
        )));
    }
    ip(&["netns", "add", name])?;
    tracker.record(|r| r.namespaces.push(name.to_owned()))?;
    ip_in(name, &["link", "set", "lo", "up"])?;
    Ok(name.to_owned())
}

/// A veth from `port` (bridge side, enslaved to br0) to `eth0` with `mac` in `netns`.
fn plug(bridge: &str, port: &str, netns: &str, mac: Mac) -> Result<(), LabError> {
    let mac = format_mac(&mac);
    ip_in(
        bridge,
        &[
            "link", "add", port, "type", "veth", "peer", "name", ETH, "address", &mac, "netns",
            netns,
        ],
    )?;
    ip_in(bridge, &["link", "set", port, "master", "br0", "up"])?;
    ip_in(netns, &["link", "set", ETH, "up"]).map(drop)
}
