//! The two stacks the trials drive: the vip-agent lab and the keepalived + haproxy anchor.
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::{Kind, Stack};
use crate::anchor::AnchorLab;
use crate::http::http_get;
use crate::lab::metric;
use crate::netns::NetnsRuntime;
use crate::{Lab, LabError, METRICS_PORT};

impl Stack for Lab {
    fn name(&self) -> &'static str {
        "vip-agent"
    }

    fn describe(&self, kind: Kind) -> String {
        match kind {
            Kind::Crash => {
                "the leader's bridge port down, then kill -9 of its vip-agent and API server"
            }
            Kind::Graceful => "SIGTERM to the leader's vip-agent (`--keep-forwarding-on-exit`)",
            Kind::AgentCrash => "kill -9 of the leader's vip-agent; node and API server stay up",
        }
        .to_owned()
    }

    fn client(&self) -> &NetnsRuntime {
        Lab::client(self)
    }

    fn service(&self) -> SocketAddr {
        self.vip()
    }

    fn node_names(&self) -> Vec<String> {
        self.topology()
            .nodes
            .iter()
            .map(|n| n.name.clone())
            .collect()
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<usize, LabError> {
        self.wait_until_ready(timeout)
    }

    /// Asks every agent's metrics at once (60 ms timeout): a dead node costs no more.
    fn holder(&self) -> Option<usize> {
        let addrs: Vec<SocketAddr> = self
            .topology()
            .nodes
            .iter()
            .map(|n| (n.addr4, METRICS_PORT).into())
            .collect();
        let leads = Lab::client(self).run(async move {
            let asks: Vec<_> = addrs
                .into_iter()
                .map(|addr| {
                    tokio::spawn(async move {
                        let reply = http_get(addr, "/metrics", Duration::from_millis(60)).await;
                        reply
                            .ok()
                            .and_then(|r| metric(&r.text(), "vip_is_leader", ""))
                            == Some(1.0)
                    })
                })
                .collect();
            let mut leads = Vec::new();
            for ask in asks {
                leads.push(ask.await.unwrap_or(false));
            }
            leads
        });
        let leaders: Vec<usize> = (0..leads.len()).filter(|&n| leads[n]).collect();
        match leaders[..] {
            [one] => Some(one),
            _ => None,
        }
    }

    fn inject(&mut self, kind: Kind, node: usize) -> Result<Instant, LabError> {
        match kind {
            Kind::Crash => {
                let event = Instant::now();
                self.set_link(node, false)?;
                self.kill_agent(node)?;
                self.kill_apiserver(node)?;
                Ok(event)
            }
            Kind::Graceful => self.signal_agent(node, Signal::SIGTERM),
            Kind::AgentCrash => {
                let event = Instant::now();
                self.kill_agent(node)?;
                Ok(event)
            }
        }
    }

    fn restore(&mut self, kind: Kind, node: usize) -> Result<(), LabError> {
        match kind {
            Kind::Crash => {
                self.set_link(node, true)?;
                self.start_apiserver(node)?;
            }
            Kind::Graceful => {
                if self.wait_agent_exit(node, Duration::from_secs(5)).is_none() {
                    self.kill_agent(node)?;
                }
            }
            Kind::AgentCrash => {}
        }
        // The new agent adopts the pinned data plane the old one left.
        self.start_agent(node)
    }

    fn log_tails(&self) -> String {
        Lab::log_tails(self, 30)
    }
}

impl Stack for AnchorLab {
    fn name(&self) -> &'static str {
        match self.config.tuned {
            false => crate::report::ANCHOR,
            true => crate::report::TUNED_ANCHOR,
        }
    }

    fn describe(&self, kind: Kind) -> String {
        match kind {
            Kind::Crash => {
                "the VRRP master's bridge port down, then kill -9 of keepalived, haproxy and its API server"
            }
            Kind::Graceful => "SIGTERM to the VRRP master's keepalived",
            Kind::AgentCrash => {
                "kill -9 of the VRRP master's keepalived; haproxy and the API server stay up"
            }
        }
        .to_owned()
    }

    fn client(&self) -> &NetnsRuntime {
        AnchorLab::client(self)
    }

    fn service(&self) -> SocketAddr {
        AnchorLab::service(self)
    }

    fn node_names(&self) -> Vec<String> {
        self.topology()
            .nodes
            .iter()
            .map(|n| n.name.clone())
            .collect()
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<usize, LabError> {
        self.wait_until_ready(timeout)
    }

    /// The node that newly holds the VIP; while the old master keeps it too (a killed
    /// keepalived leaves it behind), the other one.
    fn holder(&self) -> Option<usize> {
        match self.vip_holders()[..] {
            [one] => Some(one),
            [0, second] => Some(second),
            _ => None,
        }
    }

    fn inject(&mut self, kind: Kind, node: usize) -> Result<Instant, LabError> {
        match kind {
            Kind::Crash => self.crash(node),
            Kind::Graceful => self.stop_keepalived(node),
            Kind::AgentCrash => {
                let event = Instant::now();
                self.kill_keepalived(node)?;
                Ok(event)
            }
        }
    }

    fn restore(&mut self, _kind: Kind, node: usize) -> Result<(), LabError> {
        AnchorLab::restore(self, node)
    }

    fn log_tails(&self) -> String {
        AnchorLab::log_tails(self, 30)
    }
}
