//! Looking at the anchor (who holds the VIP, what haproxy sees) and breaking it the way the
//! failover trials do.
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::config::{server_states, STATS_PORT};
use super::AnchorLab;
use crate::cleanup::{process_start_time, ProcessRecord};
use crate::cmd::{ip_in, quietly};
use crate::http::{http_get, https_get};
use crate::lab::wait_for;
use crate::topology::ETH;
use crate::{LabError, API_PORT, VIP4};

const QUICK: Duration = Duration::from_millis(300);

impl AnchorLab {
    /// The haproxy frontend on the VIP, as the client reaches it.
    pub fn service(&self) -> SocketAddr {
        (VIP4, super::config::HAPROXY_PORT).into()
    }

    /// Nodes that have the VIP on their interface (keepalived added it).
    pub fn vip_holders(&self) -> Vec<usize> {
        let needle = format!(" {VIP4}/");
        (0..self.nodes())
            .filter(|&n| {
                let netns = &self.topology.nodes[n].netns;
                ip_in(netns, &["-4", "-o", "addr", "show", "dev", ETH])
                    .is_ok_and(|out| out.contains(&needle))
            })
            .collect()
    }

    /// What node `node`'s haproxy says of each API server (`None`: no answer).
    pub fn haproxy_view(&self, node: usize) -> Option<Vec<(String, String)>> {
        let addr = SocketAddr::from((self.topology.nodes[node].addr4, STATS_PORT));
        let reply = self
            .client()
            .run(async move { http_get(addr, "/stats;csv", QUICK).await });
        reply
            .ok()
            .filter(|r| r.status == 200)
            .map(|r| server_states(&r.text()))
    }

    /// Waits until every stand-in answers, every haproxy sees every API server up, only the
    /// highest-priority node holds the VIP (the guide's configuration preempts) for half a
    /// second, and a request through the VIP succeeds; returns the VIP holder.
    pub fn wait_until_ready(&mut self, timeout: Duration) -> Result<usize, LabError> {
        let started = Instant::now();
        let left = || timeout.saturating_sub(started.elapsed());
        for node in 0..self.nodes() {
            let addr = SocketAddr::from((self.topology.nodes[node].addr4, API_PORT));
            wait_for("the stand-ins", left(), || {
                let reply = self
                    .client()
                    .run(async move { https_get(addr, "/livez", QUICK).await });
                reply.ok().filter(|r| r.status == 200)
            })?;
        }
        let n = self.nodes();
        wait_for("every haproxy to see every API server up", left(), || {
            (0..n)
                .all(|node| {
                    self.haproxy_view(node)
                        .is_some_and(|v| v.len() == n && v.iter().all(|(_, s)| s == "UP"))
                })
                .then_some(())
        })?;
        let mut since: Option<Instant> = None;
        wait_for("the first node alone to hold the VIP", left(), || {
            match self.vip_holders()[..] {
                [0] => since.get_or_insert_with(Instant::now).elapsed() >= QUICK,
                _ => {
                    since = None;
                    false
                }
            }
            .then_some(())
        })?;
        let service = self.service();
        wait_for("a request through the VIP", left(), || {
            let reply = self
                .client()
                .run(async move { https_get(service, "/version", QUICK).await });
            reply.ok().filter(|r| r.status == 200)
        })?;
        self.record_vrrp_children();
        Ok(0)
    }

    /// Records keepalived's VRRP children for the teardown (they have their own pids).
    fn record_vrrp_children(&self) {
        for node in 0..self.nodes() {
            let Some(pid) = self.vrrp_pid(node) else {
                continue;
            };
            let Some(start_time) = process_start_time(pid) else {
                continue;
            };
            let record = ProcessRecord {
                role: format!("keepalived-vrrp-{}", self.topology.nodes[node].name),
                pid,
                start_time,
            };
            let _ = self.topology.tracker().record(|r| {
                if !r.processes.contains(&record) {
                    r.processes.push(record);
                }
            });
        }
    }

    fn vrrp_pid(&self, node: usize) -> Option<i32> {
        let file = self.node_dir(node).join("vrrp.pid");
        std::fs::read_to_string(file).ok()?.trim().parse().ok()
    }

    /// kill -9 of every keepalived process of node `node`: the parent is stopped first so
    /// that it cannot respawn its VRRP child, and the child is killed before the parent so
    /// that it never sees its parent die (it would shut down gracefully).
    pub fn kill_keepalived(&mut self, node: usize) -> Result<(), LabError> {
        let child = self.vrrp_pid(node);
        let Some(parent) = self.keepaliveds[node].as_mut() else {
            return Ok(());
        };
        if !parent.is_running() {
            return Ok(());
        }
        parent.signal(Signal::SIGSTOP)?;
        if let Some(pid) = child {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
        }
        parent.signal_group(Signal::SIGKILL)?;
        parent.kill9()
    }

    /// The leader crashes: link cut, then keepalived, haproxy and the stand-in killed -9.
    pub fn crash(&mut self, node: usize) -> Result<Instant, LabError> {
        let event = Instant::now();
        self.topology.set_link(node, false)?;
        self.kill_keepalived(node)?;
        for process in [&mut self.haproxies[node], &mut self.apiservers[node]] {
            if let Some(process) = process.as_mut() {
                process.kill9()?;
            }
        }
        Ok(event)
    }

    /// SIGTERM to keepalived (a planned stop: it sends a priority-0 advertisement).
    pub fn stop_keepalived(&mut self, node: usize) -> Result<Instant, LabError> {
        let keepalived = self.keepaliveds[node]
            .as_ref()
            .ok_or_else(|| LabError::Other(format!("node {node} runs no keepalived")))?;
        let event = Instant::now();
        keepalived.signal(Signal::SIGTERM)?;
        Ok(event)
    }

    /// Brings node `node` back: the VIP a killed keepalived left behind removed, the link
    /// up, and whatever of stand-in, haproxy and keepalived is not running started.
    pub fn restore(&mut self, node: usize) -> Result<(), LabError> {
        if let Some(keepalived) = self.keepaliveds[node].as_mut() {
            if keepalived.wait_timeout(Duration::from_secs(5)).is_none() {
                let _ = self.kill_keepalived(node);
            }
        }
        let netns = self.topology.nodes[node].netns.clone();
        quietly(
            "ip",
            &[
                "-n",
                &netns,
                "addr",
                "del",
                &format!("{VIP4}/32"),
                "dev",
                ETH,
            ],
        );
        self.topology.set_link(node, true)?;
        let running =
            |p: &mut Option<crate::process::NsProcess>| p.as_mut().is_some_and(|p| p.is_running());
        if !running(&mut self.apiservers[node]) {
            self.start_apiserver(node)?;
        }
        if !running(&mut self.haproxies[node]) {
            self.start_haproxy(node)?;
        }
        if !running(&mut self.keepaliveds[node]) {
            self.start_keepalived(node)?;
        }
        Ok(())
    }
}
