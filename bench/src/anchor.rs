//! The anchor the benchmark compares against, in the same lab network: every node runs
//! the API-server stand-in, haproxy (TCP, round robin over all three stand-ins) and
//! keepalived (VRRP for the VIP, tracking the local `/readyz`), configured as the kubeadm
//! HA guide does. Debian's `keepalived` and `haproxy` packages provide the programs.
pub mod config;
mod ops;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cleanup::install_signal_cleanup;
use crate::lab::standin_args;
use crate::netns::NetnsRuntime;
use crate::process::{Launch, NsProcess};
use crate::topology::{create_dir, Topology, TopologySpec, ETH};
use crate::LabError;

#[derive(Clone, Debug)]
pub struct AnchorConfig {
    pub topology: TopologySpec,
    /// `vip-lab-apiserver`.
    pub apiserver: PathBuf,
    pub keepalived: PathBuf,
    pub haproxy: PathBuf,
    /// How long `start` waits for a VIP holder and healthy backends.
    pub ready_timeout: Duration,
    /// VRRPv3 with `advert_int 0.1` and haproxy checks every 200 ms instead of the
    /// kubeadm guide's settings.
    pub tuned: bool,
}

impl AnchorConfig {
    /// `keepalived` and `haproxy` from `$PATH` (or /usr/sbin), or an error that says how
    /// to install them.
    pub fn find_programs() -> Result<(PathBuf, PathBuf), LabError> {
        let find = |name: &str| {
            let path = std::env::var_os("PATH").unwrap_or_default();
            std::env::split_paths(&path)
                .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
                .ok_or_else(|| {
                    LabError::Other(format!(
                        "{name} is not installed: apt-get install -y keepalived haproxy"
                    ))
                })
        };
        Ok((find("keepalived")?, find("haproxy")?))
    }
}

pub struct AnchorLab {
    pub config: AnchorConfig,
    conf_dir: PathBuf,
    apiservers: Vec<Option<NsProcess>>,
    haproxies: Vec<Option<NsProcess>>,
    keepaliveds: Vec<Option<NsProcess>>,
    client: Option<NetnsRuntime>,
    /// Last: the namespaces go after the processes in them.
    topology: Topology,
}

impl AnchorLab {
    /// Builds the topology, writes the configurations, starts everything and waits until
    /// one node holds the VIP and haproxy sees every API server up.
    pub fn start(config: AnchorConfig) -> Result<Self, LabError> {
        install_signal_cleanup();
        let topology = Topology::build(config.topology.clone())?;
        let tracker = topology.tracker();
        let run_dir = topology.run_dir().to_owned();
        let conf_dir = run_dir.join("anchor");
        create_dir(tracker, &conf_dir)?;
        tracker.record(|r| r.trees.push(conf_dir.clone()))?;
        create_dir(tracker, &conf_dir.join("logs"))?;
        let client = NetnsRuntime::enter(&topology.client)?;
        let nodes = topology.nodes.len();
        let mut lab = AnchorLab {
            config,
            conf_dir,
            apiservers: (0..nodes).map(|_| None).collect(),
            haproxies: (0..nodes).map(|_| None).collect(),
            keepaliveds: (0..nodes).map(|_| None).collect(),
            client: Some(client),
            topology,
        };
        lab.write_configs()?;
        let started = (0..nodes)
            .try_for_each(|node| {
                lab.start_apiserver(node)?;
                lab.start_haproxy(node)?;
                lab.start_keepalived(node)
            })
            .and_then(|()| lab.wait_until_ready(lab.config.ready_timeout));
        match started {
            Ok(_) => Ok(lab),
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

    fn node_dir(&self, node: usize) -> PathBuf {
        self.conf_dir.join(&self.topology.nodes[node].name)
    }

    fn write_configs(&self) -> Result<(), LabError> {
        let backends: Vec<_> = self
            .topology
            .nodes
            .iter()
            .map(|n| (n.name.clone(), n.addr4))
            .collect();
        for node in 0..self.nodes() {
            let dir = self.node_dir(node);
            std::fs::create_dir_all(&dir).map_err(LabError::io(&dir))?;
            let script = dir.join("check_apiserver.sh");
            write(&script, &config::check_script())?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
                .map_err(LabError::io(&script))?;
            let tuned = self.config.tuned;
            let conf = config::keepalived_conf(node, ETH, &script, tuned);
            write(&dir.join("keepalived.conf"), &conf)?;
            write(
                &dir.join("haproxy.cfg"),
                &config::haproxy_cfg(&backends, tuned),
            )?;
        }
        Ok(())
    }

    fn launch(&self, node: usize, what: &str, program: &Path, args: Vec<String>) -> Launch {
        let net = &self.topology.nodes[node];
        let role = format!("{what}-{}", net.name);
        Launch {
            netns: net.netns.clone(),
            log: self.conf_dir.join("logs").join(format!("{role}.log")),
            role,
            program: program.to_owned(),
            args,
            die_with_parent: true,
        }
    }

    fn unready_file(&self, node: usize) -> PathBuf {
        self.node_dir(node).join("unready")
    }

    pub(crate) fn start_apiserver(&mut self, node: usize) -> Result<(), LabError> {
        let net = &self.topology.nodes[node];
        let args = standin_args(net, false, &self.unready_file(node));
        let launch = self.launch(node, "apiserver", &self.config.apiserver, args);
        self.apiservers[node] = Some(NsProcess::spawn(self.topology.tracker(), &launch)?);
        Ok(())
    }

    pub(crate) fn start_haproxy(&mut self, node: usize) -> Result<(), LabError> {
        let cfg = self.node_dir(node).join("haproxy.cfg");
        let args = vec!["-f".into(), cfg.display().to_string(), "-db".into()];
        let launch = self.launch(node, "haproxy", &self.config.haproxy, args);
        self.haproxies[node] = Some(NsProcess::spawn(self.topology.tracker(), &launch)?);
        Ok(())
    }

    pub(crate) fn start_keepalived(&mut self, node: usize) -> Result<(), LabError> {
        let dir = self.node_dir(node);
        let path = |name: &str| dir.join(name).display().to_string();
        let args = vec![
            "--dont-fork".into(),
            "--log-console".into(),
            "--log-detail".into(),
            "--no-syslog".into(),
            "--vrrp".into(),
            format!("--use-file={}", path("keepalived.conf")),
            format!("--pid={}", path("keepalived.pid")),
            format!("--vrrp_pid={}", path("vrrp.pid")),
            format!("--checkers_pid={}", path("checkers.pid")),
            format!("--bfd_pid={}", path("bfd.pid")),
        ];
        let launch = self.launch(node, "keepalived", &self.config.keepalived, args);
        self.keepaliveds[node] = Some(NsProcess::spawn(self.topology.tracker(), &launch)?);
        Ok(())
    }

    /// The last lines of every log, for a failure message.
    pub fn log_tails(&self, lines: usize) -> String {
        let mut out = String::new();
        let all = self
            .keepaliveds
            .iter()
            .chain(&self.haproxies)
            .chain(&self.apiservers);
        for process in all.flatten() {
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

fn write(path: &Path, text: &str) -> Result<(), LabError> {
    std::fs::write(path, text).map_err(LabError::io(path))
}

impl Drop for AnchorLab {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "vip-lab: the anchor lab ends in a panic; last log lines:\n{}",
                self.log_tails(25)
            );
        }
        // keepalived's VRRP child goes with its process group.
        for keepalived in self.keepaliveds.iter().flatten() {
            let _ = keepalived.signal_group(nix::sys::signal::Signal::SIGKILL);
        }
        self.keepaliveds.clear();
        self.haproxies.clear();
        self.apiservers.clear();
        self.client = None;
    }
}
