//! Starting, stopping and breaking the lab's processes and links.
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::{Lab, LEASE_NAME};
use crate::topology::{NodeNet, ETH};
use crate::{LabError, API_PORT, BRIDGE4, LEASE_PORT, METRICS_PORT, VIP4, VIP6};

impl Lab {
    pub(super) fn start_lease_server(&mut self) -> Result<(), LabError> {
        let args = vec![
            "lease-server".into(),
            "--listen".into(),
            format!("{BRIDGE4}:{LEASE_PORT}"),
        ];
        let launch = self.launch(
            &self.topology.bridge,
            "lease-server",
            &self.config.binaries.lab,
            args,
        );
        self.lease_server = Some(self.spawn(&launch)?);
        Ok(())
    }

    pub fn start_apiserver(&mut self, node: usize) -> Result<(), LabError> {
        let net = &self.topology.nodes[node];
        let args = standin_args(net, self.config.topology.ipv6, &self.unready_file(node));
        let role = format!("apiserver-{}", net.name);
        let launch = self.launch(&net.netns, &role, &self.config.binaries.apiserver, args);
        self.apiservers[node] = Some(self.spawn(&launch)?);
        Ok(())
    }

    /// The command line of node `node`'s agent.
    pub fn agent_args(&self, node: usize) -> Vec<String> {
        let net = &self.topology.nodes[node];
        let s = &self.config.agent;
        let backends: Vec<String> = self
            .topology
            .nodes
            .iter()
            .map(|n| n.addr4.to_string())
            .collect();
        let mut args: Vec<String> = vec!["run".into(), "--interface".into(), ETH.into()];
        args.extend(["--address".into(), VIP4.to_string()]);
        if self.config.topology.ipv6 {
            args.extend(["--address".into(), VIP6.to_string()]);
        }
        let pairs = [
            ("--backends", Some(backends.join(","))),
            ("--election", Some(s.election.clone())),
            ("--kubeconfig", Some(self.kubeconfig.display().to_string())),
            ("--lease-name", Some(LEASE_NAME.into())),
            ("--lease-namespace", Some("kube-system".into())),
            ("--lease-duration", s.lease_duration.clone()),
            ("--renew-deadline", s.renew_deadline.clone()),
            ("--retry-period", s.retry_period.clone()),
            ("--node-name", Some(net.name.clone())),
            ("--metrics-addr", Some(format!("0.0.0.0:{METRICS_PORT}"))),
            ("--xdp-mode", Some("skb".into())),
            ("--health-interval", s.health_interval.clone()),
            ("--health-timeout", s.health_timeout.clone()),
            ("--health-rise", s.health_rise.map(|n| n.to_string())),
            ("--health-fall", s.health_fall.map(|n| n.to_string())),
            (
                "--bpffs-dir",
                Some(self.bpffs.join(&net.name).display().to_string()),
            ),
            ("--log-level", Some(s.log_level.clone())),
        ];
        for (flag, value) in pairs {
            if let Some(value) = value {
                args.extend([flag.to_owned(), value]);
            }
        }
        if s.election == "peers" {
            args.extend([
                "--peer-key-file".into(),
                self.peer_key.display().to_string(),
            ]);
        }
        args.push("--health-insecure".into());
        args.extend(s.extra_args.iter().cloned());
        args
    }

    /// Starts (or restarts) node `node`'s agent; it adopts the pinned data plane if any.
    pub fn start_agent(&mut self, node: usize) -> Result<(), LabError> {
        self.start_agent_with_args(node, self.agent_args(node))
    }

    /// Starts node `node`'s agent with this command line (see `agent_args`).
    pub fn start_agent_with_args(
        &mut self,
        node: usize,
        args: Vec<String>,
    ) -> Result<(), LabError> {
        let net = &self.topology.nodes[node];
        let role = format!("agent-{}", net.name);
        let launch = self.launch(&net.netns, &role, &self.config.binaries.agent, args);
        self.agents[node] = Some(self.spawn(&launch)?);
        Ok(())
    }

    /// kill -9 of the Lease test server (the API is gone for every agent).
    pub fn kill_lease_server(&mut self) -> Result<(), LabError> {
        match self.lease_server.as_mut() {
            Some(server) => server.kill9(),
            None => Ok(()),
        }
    }

    /// Cuts (or restores) every path between node `node` and the other nodes with
    /// blackhole routes on both ends; the client still reaches every node.
    pub fn set_partitioned(&self, node: usize, cut: bool) -> Result<(), LabError> {
        let action = if cut { "add" } else { "del" };
        let nodes = &self.topology.nodes;
        let others = nodes.iter().enumerate().filter(|(other, _)| *other != node);
        for (_, net) in others {
            let pairs = [
                (&nodes[node].netns, net.addr4),
                (&net.netns, nodes[node].addr4),
            ];
            for (netns, to) in pairs {
                let to = format!("{to}/32");
                crate::cmd::ip_in(netns, &["route", action, "blackhole", &to])?;
            }
        }
        Ok(())
    }

    /// kill -9 of node `node`'s agent: its pinned XDP program and maps stay.
    pub fn kill_agent(&mut self, node: usize) -> Result<(), LabError> {
        match self.agents[node].as_mut() {
            Some(agent) => agent.kill9(),
            None => Ok(()),
        }
    }

    /// kill -9 of node `node`'s API-server stand-in.
    pub fn kill_apiserver(&mut self, node: usize) -> Result<(), LabError> {
        match self.apiservers[node].as_mut() {
            Some(server) => server.kill9(),
            None => Ok(()),
        }
    }

    /// Sends SIGTERM to node `node`'s agent and returns the instant it was sent.
    pub fn signal_agent(&self, node: usize, signal: Signal) -> Result<Instant, LabError> {
        let agent = self.agents[node]
            .as_ref()
            .ok_or_else(|| LabError::Other(format!("node {node} runs no agent")))?;
        let sent = Instant::now();
        agent.signal(signal)?;
        Ok(sent)
    }

    /// Waits up to `timeout` for node `node`'s agent to exit; its exit status.
    pub fn wait_agent_exit(
        &mut self,
        node: usize,
        timeout: Duration,
    ) -> Option<std::process::ExitStatus> {
        self.agents[node].as_mut()?.wait_timeout(timeout)
    }

    pub fn agent_running(&mut self, node: usize) -> bool {
        self.agents[node].as_mut().is_some_and(|a| a.is_running())
    }

    /// Cuts node `node` off the bridge (`up = false`) or plugs it back.
    pub fn set_link(&self, node: usize, up: bool) -> Result<(), LabError> {
        self.topology.set_link(node, up)
    }

    /// Makes node `node`'s `/readyz` fail (or pass again).
    pub fn set_unready(&self, node: usize, unready: bool) -> Result<(), LabError> {
        let flag = self.unready_file(node);
        match unready {
            true => std::fs::write(&flag, "").map_err(LabError::io(&flag)),
            false => match std::fs::remove_file(&flag) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(LabError::io(&flag)(e)),
                _ => Ok(()),
            },
        }
    }
}

/// The command line of the API-server stand-in of node `net`: `:6443` on every address,
/// a certificate for the node's addresses and the VIPs, `/readyz` failing while `unready`
/// exists.
pub fn standin_args(net: &NodeNet, ipv6: bool, unready: &std::path::Path) -> Vec<String> {
    let mut args = vec![
        "--node".to_owned(),
        net.name.clone(),
        "--listen".to_owned(),
        // [::] is dual-stack: IPv4 and IPv6 on one socket.
        match ipv6 {
            true => format!("[::]:{API_PORT}"),
            false => format!("0.0.0.0:{API_PORT}"),
        },
        "--unready-file".to_owned(),
        unready.display().to_string(),
    ];
    let mut sans = vec![net.addr4.to_string(), VIP4.to_string()];
    if let Some(v6) = net.addr6 {
        sans.extend([v6.to_string(), VIP6.to_string()]);
    }
    for san in sans {
        args.extend(["--san".to_owned(), san]);
    }
    args
}
