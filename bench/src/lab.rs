//! A running lab: the topology plus the Lease test server, an API-server stand-in and a
//! vip-agent on every node, and a client runtime to look at it all from.
mod observe;
mod run;

use std::path::PathBuf;
use std::time::Duration;

use nix::mount::{mount, MsFlags};

use crate::cleanup::install_signal_cleanup;
use crate::netns::NetnsRuntime;
use crate::process::{Launch, NsProcess};
use crate::topology::{create_dir, Topology, TopologySpec};
use crate::{LabError, BRIDGE4, LEASE_PORT};

pub use crate::binaries::{build_agent, workspace_root, Binaries, Profile};
pub use observe::{metric, read_lease_holder, wait_for};
pub use run::standin_args;

/// Election, Lease timings and health-check settings handed to every agent, as they are
/// spelled on its command line; `None` leaves the agent's default.
#[derive(Clone, Debug)]
pub struct AgentSettings {
    /// `peers` (the agent's default; the lab hands every node the same key file) or
    /// `lease`.
    pub election: String,
    pub lease_duration: Option<String>,
    pub renew_deadline: Option<String>,
    pub retry_period: Option<String>,
    pub health_interval: Option<String>,
    pub health_timeout: Option<String>,
    pub health_rise: Option<u32>,
    pub health_fall: Option<u32>,
    pub log_level: String,
    pub extra_args: Vec<String>,
}

impl Default for AgentSettings {
    /// The agent's defaults: peer election (50 ms heartbeats, dead after 3), health checks
    /// every 2 s (fall 3, rise 2), the Lease (mirrored) at 5 s / 3 s / 1 s.
    fn default() -> Self {
        Self {
            election: "peers".into(),
            lease_duration: None,
            renew_deadline: None,
            retry_period: None,
            health_interval: None,
            health_timeout: None,
            health_rise: None,
            health_fall: None,
            log_level: "info".into(),
            extra_args: Vec::new(),
        }
    }
}

impl AgentSettings {
    /// The Lease election with a 1 s lease (renew 0.5 s, retry 0.2 s) and fast health
    /// checks (every 200 ms, two to fall or rise), as the Lease-era tests ran.
    pub fn fast_lease() -> Self {
        Self {
            election: "lease".into(),
            lease_duration: Some("1s".into()),
            renew_deadline: Some("500ms".into()),
            retry_period: Some("200ms".into()),
            ..Self::fast_health()
        }
    }

    /// The flags that differ from the agent's defaults, for reports.
    pub fn describe(&self) -> String {
        let mut flags = vec![format!("--election {}", self.election)];
        let optional = [
            ("--lease-duration", self.lease_duration.clone()),
            ("--renew-deadline", self.renew_deadline.clone()),
            ("--retry-period", self.retry_period.clone()),
            ("--health-interval", self.health_interval.clone()),
            ("--health-timeout", self.health_timeout.clone()),
            ("--health-rise", self.health_rise.map(|n| n.to_string())),
            ("--health-fall", self.health_fall.map(|n| n.to_string())),
        ];
        for (flag, value) in optional {
            if let Some(value) = value {
                flags.push(format!("{flag} {value}"));
            }
        }
        flags.extend(self.extra_args.iter().cloned());
        flags.join(" ")
    }

    /// The default election with health checks every 200 ms (two to fall or rise).
    pub fn fast_health() -> Self {
        Self {
            health_interval: Some("200ms".into()),
            health_timeout: Some("150ms".into()),
            health_rise: Some(2),
            health_fall: Some(2),
            ..Self::default()
        }
    }
}

#[derive(Clone, Debug)]
pub struct LabConfig {
    pub topology: TopologySpec,
    pub binaries: Binaries,
    pub agent: AgentSettings,
    /// Processes outlive this process (`vip-lab up`); otherwise they die with it.
    pub detached: bool,
    /// How long `start` waits for a leader and healthy backends.
    pub ready_timeout: Duration,
}

/// Name of the Lease the agents contend for (in kube-system).
pub const LEASE_NAME: &str = "vip-lab";

pub struct Lab {
    pub config: LabConfig,
    pub kubeconfig: PathBuf,
    /// The secret every node's agent keys its peer heartbeats with.
    pub peer_key: PathBuf,
    pub bpffs: PathBuf,
    lease_server: Option<NsProcess>,
    apiservers: Vec<Option<NsProcess>>,
    agents: Vec<Option<NsProcess>>,
    client: Option<NetnsRuntime>,
    /// Last: the namespaces go after the processes in them.
    topology: Topology,
}

impl Lab {
    /// Builds the topology, starts everything and waits until the VIP answers.
    pub fn start(config: LabConfig) -> Result<Self, LabError> {
        install_signal_cleanup();
        config.binaries.check()?;
        let topology = Topology::build(config.topology.clone())?;
        let tracker = topology.tracker();
        let run_dir = topology.run_dir().to_owned();
        let logs = run_dir.join("logs");
        create_dir(tracker, &logs)?;
        tracker.record(|r| r.trees.push(logs.clone()))?;
        let bpffs = run_dir.join("bpffs");
        create_dir(tracker, &bpffs)?;
        mount(
            Some("bpf"),
            &bpffs,
            Some("bpf"),
            MsFlags::empty(),
            None::<&str>,
        )
        .map_err(|source| LabError::Sys {
            what: format!("mount -t bpf bpf {}", bpffs.display()),
            source,
        })?;
        tracker.record(|r| r.mounts.push(bpffs.clone()))?;
        let peer_key = run_dir.join("peer.key");
        std::fs::write(
            &peer_key,
            format!("vip-lab peer key {}\n", std::process::id()),
        )
        .map_err(LabError::io(&peer_key))?;
        tracker.record(|r| r.files.push(peer_key.clone()))?;
        let kubeconfig = run_dir.join("kubeconfig");
        tracker.record(|r| r.files.push(kubeconfig.clone()))?;
        let url = format!("http://{BRIDGE4}:{LEASE_PORT}");
        vip_agent::lease_test_server::write_kubeconfig(&kubeconfig, &url)
            .map_err(|e| LabError::Other(e.to_string()))?;
        let nodes = topology.nodes.len();
        let client = NetnsRuntime::enter(&topology.client)?;
        let mut lab = Lab {
            config,
            kubeconfig,
            peer_key,
            bpffs,
            lease_server: None,
            apiservers: (0..nodes).map(|_| None).collect(),
            agents: (0..nodes).map(|_| None).collect(),
            client: Some(client),
            topology,
        };
        lab.start_lease_server()?;
        for node in 0..nodes {
            let flag = lab.unready_file(node);
            lab.topology.tracker().record(|r| r.files.push(flag))?;
            lab.start_apiserver(node)?;
        }
        let started = lab.wait_for_apiservers().and_then(|()| {
            (0..nodes).try_for_each(|node| lab.start_agent(node))?;
            lab.wait_until_ready(lab.config.ready_timeout)
        });
        match started {
            Ok(_) => Ok(lab),
            // The logs go with the lab: show what they said.
            Err(e) => Err(LabError::Other(format!(
                "{e}\nlast log lines:\n{}",
                lab.log_tails(20)
            ))),
        }
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    pub fn nodes(&self) -> usize {
        self.topology.nodes.len()
    }

    /// The client namespace's runtime: run probes there.
    pub fn client(&self) -> &NetnsRuntime {
        self.client
            .as_ref()
            .expect("the client runtime lives as long as the lab")
    }

    /// `/readyz` of node `node`'s stand-in fails while this file exists.
    pub fn unready_file(&self, node: usize) -> PathBuf {
        let name = &self.topology.nodes[node].name;
        self.topology.run_dir().join(format!("{name}.unready"))
    }

    fn log(&self, role: &str) -> PathBuf {
        self.topology
            .run_dir()
            .join("logs")
            .join(format!("{role}.log"))
    }

    fn launch(
        &self,
        netns: &str,
        role: &str,
        program: &std::path::Path,
        args: Vec<String>,
    ) -> Launch {
        Launch {
            netns: netns.to_owned(),
            role: role.to_owned(),
            program: program.to_owned(),
            args,
            log: self.log(role),
            die_with_parent: !self.config.detached,
        }
    }

    fn spawn(&self, launch: &Launch) -> Result<NsProcess, LabError> {
        NsProcess::spawn(self.topology.tracker(), launch)
    }

    /// Leaves everything running for `vip-lab down` (which reads the state file).
    pub fn detach(mut self) {
        self.topology.tracker().disarm();
        let processes = self
            .agents
            .drain(..)
            .chain(self.apiservers.drain(..))
            .chain([self.lease_server.take()]);
        processes.flatten().for_each(NsProcess::detach);
    }

    /// The last lines of every log, for a failure message.
    pub fn log_tails(&self, lines: usize) -> String {
        let mut out = String::new();
        let roles = self
            .agents
            .iter()
            .chain(&self.apiservers)
            .chain([&self.lease_server]);
        for process in roles.flatten() {
            let text = std::fs::read_to_string(process.log()).unwrap_or_default();
            let all: Vec<&str> = text.lines().collect();
            out += &format!("--- {} ({})\n", process.role(), process.log().display());
            for line in &all[all.len().saturating_sub(lines)..] {
                out += line;
                out.push('\n');
            }
        }
        out
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "vip-lab: the lab ends in a panic; last log lines:\n{}",
                self.log_tails(25)
            );
        }
        // Processes first (each Drop kills and reaps), then the client runtime; the
        // topology's tracker removes the rest.
        self.agents.clear();
        self.apiservers.clear();
        self.lease_server = None;
        self.client = None;
    }
}
