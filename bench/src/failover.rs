//! The failover benchmark: trials of a leader failure of each [`Kind`] against a
//! [`Stack`] (vip-agent, or keepalived + haproxy), measured by a client that probes the VIP
//! every 10 ms on new connections (100 ms timeout) and holds long-lived connections open.
pub mod longlived;
mod prober;
mod stacks;
mod trial;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::netns::NetnsRuntime;
use crate::LabError;

pub use longlived::ConnKind;
pub use prober::Prober;
pub use trial::{run_trial, TrialOptions};

/// How the leader fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Link cut, then every process of the node (agent or keepalived + haproxy, and the
    /// API server) killed with -9.
    Crash,
    /// SIGTERM to the agent (keepalived).
    Graceful,
    /// kill -9 of the agent (keepalived) alone; the node and its API server stay up.
    AgentCrash,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Crash, Kind::Graceful, Kind::AgentCrash];

    pub fn label(self) -> &'static str {
        match self {
            Kind::Crash => "crash",
            Kind::Graceful => "graceful",
            Kind::AgentCrash => "agent-only crash",
        }
    }

    /// What happened, as a heading says it.
    pub fn headline(self) -> &'static str {
        match self {
            Kind::Crash => "the leader crashes",
            Kind::Graceful => "the leader's agent is stopped (SIGTERM)",
            Kind::AgentCrash => "the leader's agent is killed (kill -9), the node stays up",
        }
    }

    /// For file names: `crash`, `graceful`, `agent-crash`.
    pub fn slug(self) -> &'static str {
        match self {
            Kind::Crash => "crash",
            Kind::Graceful => "graceful",
            Kind::AgentCrash => "agent-crash",
        }
    }
}

/// A lab running one stack, as the trials drive it.
pub trait Stack {
    /// `vip-agent` or `keepalived+haproxy`.
    fn name(&self) -> &'static str;
    /// What is done to the leader for each kind, for the report.
    fn describe(&self, kind: Kind) -> String;
    fn client(&self) -> &NetnsRuntime;
    /// The service address on the VIP the client uses.
    fn service(&self) -> SocketAddr;
    fn node_names(&self) -> Vec<String>;
    /// Waits for a clean state: one leader, every backend healthy everywhere, the VIP
    /// answering. Returns the leader.
    fn wait_ready(&mut self, timeout: Duration) -> Result<usize, LabError>;
    /// The one node holding the VIP as the stack itself tells, if exactly one does.
    fn holder(&self) -> Option<usize>;
    /// Makes `node` fail as `kind` says; returns the instant the event began.
    fn inject(&mut self, kind: Kind, node: usize) -> Result<Instant, LabError>;
    /// Brings `node` back after `kind` (the trial then waits for [`Stack::wait_ready`]).
    fn restore(&mut self, kind: Kind, node: usize) -> Result<(), LabError>;
    /// The last log lines, for a failure message.
    fn log_tails(&self) -> String;
}

/// One long-lived connection's fate in a trial.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConnResult {
    pub kind: ConnKind,
    pub node: String,
    /// Its API server stayed healthy, so it should survive.
    pub eligible: bool,
    pub survived: bool,
    /// The longest time without an answer (or a line) around the event, for survivors.
    pub stall_ms: Option<f64>,
    pub error: Option<String>,
    /// The client's port (to find the connection in a packet capture).
    #[serde(default)]
    pub client_port: u16,
}

/// One probe on the timeline: when it was sent (relative to the event), how long it took,
/// and which node answered (`None`: it failed).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Point {
    pub at_ms: f64,
    pub latency_ms: f64,
    pub node: Option<String>,
}

/// One trial's measurements.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Trial {
    pub stack: String,
    pub kind: Kind,
    pub index: usize,
    /// The leader the event hit.
    pub victim: String,
    /// The leader afterwards, as the stack told.
    pub new_leader: Option<String>,
    /// Event → the first good request sent after the last failed one (0 if none failed).
    /// `None`: the service did not come back for good before the trial's deadline.
    pub outage_ms: Option<f64>,
    /// Event → the first good request sent after the first failed one (0 if none failed):
    /// when the service first came back, which may be before it was back for good.
    pub first_back_ms: Option<f64>,
    /// Event → the stack reporting a new leader (polled, so later by up to ~50 ms).
    pub handover_ms: Option<f64>,
    pub probes: usize,
    /// Probes sent after the event that failed.
    pub failed: usize,
    pub conns: Vec<ConnResult>,
    /// The probes from 0.3 s before the event to the end of the trial (for the plots; not
    /// kept in the JSON).
    #[serde(skip)]
    pub timeline: Vec<Point>,
}

impl Trial {
    /// (survived, eligible) among long-lived connections of `kind`.
    pub fn survivors(&self, kind: ConnKind) -> (usize, usize) {
        let eligible = self.conns.iter().filter(|c| c.kind == kind && c.eligible);
        let (mut survived, mut total) = (0, 0);
        for conn in eligible {
            total += 1;
            survived += usize::from(conn.survived);
        }
        (survived, total)
    }
}
