//! The two labs the benchmark starts, their data-path measurements, and the CI check.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use vip_lab::anchor::{AnchorConfig, AnchorLab};
use vip_lab::datapath::{latency, throughput};
use vip_lab::failover::{ConnKind, Kind, Stack, Trial, TrialOptions};
use vip_lab::lab::{AgentSettings, Profile};
use vip_lab::report::{BenchRun, DataPathRow};
use vip_lab::{node4, Binaries, Lab, LabConfig, LabError, TopologySpec, API_PORT, RUN_DIR};

use super::BenchArgs;

/// Namespace prefixes of the benchmark's labs (`vip-lab down` removes leftovers).
pub const VIP_PREFIX: &str = "vb";
pub const ANCHOR_PREFIX: &str = "vk";

/// Where a benchmark lab keeps its state file, for `vip-lab down`.
pub fn state_file(prefix: &str) -> PathBuf {
    Path::new(RUN_DIR).join(format!("{prefix}-state.json"))
}

fn topology(prefix: &str) -> TopologySpec {
    TopologySpec {
        prefix: prefix.to_owned(),
        nodes: 3,
        ipv6: false,
        run_dir: Path::new(RUN_DIR).join(prefix),
        state_file: Some(state_file(prefix)),
    }
}

/// vip-agent (built in this executable's profile) and the stand-in beside it.
pub fn binaries() -> anyhow::Result<Binaries> {
    let exe = std::env::current_exe()?;
    let release = exe.parent().is_some_and(|dir| dir.ends_with("release"));
    let profile = if release {
        Profile::Release
    } else {
        Profile::Debug
    };
    Binaries::beside_current_exe(profile).context("building vip-agent")
}

/// The agent's defaults, and the flag a rolling restart needs.
fn agent_settings() -> AgentSettings {
    AgentSettings {
        extra_args: vec!["--keep-forwarding-on-exit".into()],
        ..AgentSettings::default()
    }
}

pub fn start_vip(binaries: &Binaries) -> Result<Lab, LabError> {
    Lab::start(LabConfig {
        topology: topology(VIP_PREFIX),
        binaries: binaries.clone(),
        agent: agent_settings(),
        detached: false,
        ready_timeout: Duration::from_secs(40),
    })
}

pub fn start_anchor(tuned: bool) -> Result<AnchorLab, LabError> {
    let (keepalived, haproxy) = AnchorConfig::find_programs()?;
    let apiserver = std::env::current_exe()
        .map_err(|source| LabError::Io {
            path: "/proc/self/exe".into(),
            source,
        })?
        .with_file_name("vip-lab-apiserver");
    AnchorLab::start(AnchorConfig {
        topology: topology(ANCHOR_PREFIX),
        apiserver,
        keepalived,
        haproxy,
        ready_timeout: Duration::from_secs(40),
        tuned,
    })
}

/// Direct to the nodes, and through the stack's VIP service.
pub fn datapath<S: Stack>(lab: &S, args: &BenchArgs) -> anyhow::Result<Vec<DataPathRow>> {
    let direct: Vec<SocketAddr> = (0..lab.node_names().len())
        .map(|n| (node4(n), API_PORT).into())
        .collect();
    let via = vec![lab.service()];
    let (direct_label, via_label) = match lab.name() {
        "vip-agent" => (
            "direct to the nodes :6443 (vip-agent lab: XDP attached)".to_owned(),
            format!("via the VIP {} (vip-agent, XDP + DSR)", lab.service()),
        ),
        _ => (
            "direct to the nodes :6443 (keepalived lab)".to_owned(),
            format!("via the VIP {} (keepalived + haproxy)", lab.service()),
        ),
    };
    let mut rows = Vec::new();
    for (path, targets) in [(direct_label, direct), (via_label, via)] {
        println!("{}: data path {path}…", lab.name());
        let timeout = Duration::from_secs(1);
        let latency = latency(lab.client(), &targets, args.requests, timeout);
        let bytes = args.download_mb * 1_000_000;
        let throughput = throughput(lab.client(), &targets, bytes, args.downloads)?;
        rows.push(DataPathRow {
            path,
            latency,
            throughput: Some(throughput),
        });
    }
    Ok(rows)
}

pub fn settings(options: &TrialOptions) -> Vec<String> {
    let s = agent_settings();
    vec![
        format!(
            "vip-agent with its DEFAULT settings: `{}`, `--xdp-mode skb` (veth), everything \
             else at its default: peer heartbeats every 50 ms over UDP 6464, a peer dead after \
             3 missed, health checks of `/readyz` every 2 s (timeout 1 s, fall 3, rise 2); the \
             Lease, mirrored by the leader, on the in-tree Lease test server.",
            s.describe()
        ),
        "keepalived+haproxy, configured as the kubeadm HA guide's \"keepalived and haproxy\" \
         option on every control-plane node: VRRP `advert_int 1`, `state MASTER` and \
         `priority 101` on n1, `BACKUP`/`100` on n2 and n3 (preempting, as the guide \
         leaves it), track script `check_apiserver.sh` = `curl -sfk --max-time 1 \
         https://127.0.0.1:6443/readyz` (`interval 3 weight -2 fall 10 rise 2`); haproxy \
         `mode tcp`, `balance roundrobin`, frontend `*:8443` (the API servers hold :6443 on \
         the same nodes), servers `check verify none inter 1s fall 2 rise 2` with an HTTPS \
         `GET /readyz` check, the guide's timeouts (`connect 5s`, `client`/`server 20s`, \
         `retries 1`, `option redispatch`)."
            .into(),
        "keepalived+haproxy tuned as far as it goes (issue 9's second anchor): the same \
         files with `vrrp_version 3`, `advert_int 0.1` (no VRRP authentication in v3), the \
         track script every second with `fall 1 rise 1`, and haproxy's servers checked \
         `inter 200ms fall 2 rise 2`."
            .into(),
        format!(
            "Probe: a new HTTPS connection to the VIP every {} ms with a {} ms timeout, from a \
             client namespace on the same bridge; `GET /version`, answered with the node's \
             name in `X-Node`.",
            options.probe_every.as_millis(),
            options.probe_timeout.as_millis()
        ),
        format!(
            "Each trial: wait for a clean state (one leader, every API server healthy in \
             every agent's or haproxy's view, the VIP answering; for keepalived, n1 holding \
             the VIP again), open the long-lived connections, probe for {} ms, hit the \
             leader, then watch until the stack reports a new leader, no probe has failed \
             for {} s and every counted long-lived connection got an answer after the \
             takeover, broke, or stayed silent for {} s after it ({} s at most); then \
             restore the node (link up, restart what was stopped or killed). Kinds are \
             interleaved: crash, graceful, agent-only crash, crash, …",
            options.before.as_millis(),
            options.quiet.as_secs(),
            options.give_up.as_secs(),
            options.deadline.as_secs()
        ),
    ]
}

pub fn trial_line(stack: &str, t: &Trial) -> String {
    let ms = |v: Option<f64>| v.map_or("never".into(), |v| format!("{v:.0} ms"));
    let lived: Vec<String> = t
        .conns
        .iter()
        .filter(|c| c.eligible)
        .map(|c| {
            let kind = match c.kind {
                ConnKind::KeepAlive => "ka",
                ConnKind::Stream => "st",
            };
            format!("{kind}:{}{}", c.node, if c.survived { "✓" } else { "✗" })
        })
        .collect();
    format!(
        "{stack} {} #{}: {} → {}; outage {} (first back {}, leader seen {}); {}/{} probes failed; long-lived {}",
        t.kind.label(),
        t.index + 1,
        t.victim,
        t.new_leader.as_deref().unwrap_or("?"),
        ms(t.outage_ms),
        ms(t.first_back_ms),
        ms(t.handover_ms),
        t.failed,
        t.probes,
        lived.join(" ")
    )
}

/// The CI thresholds, checked on vip-agent's trials.
pub fn violations(run: &BenchRun) -> Vec<String> {
    let mut out = Vec::new();
    let Some(vip) = run.stack("vip-agent") else {
        return vec!["vip-agent was not measured".into()];
    };
    let limits = [(Kind::Crash, 1000.0), (Kind::Graceful, 200.0)];
    for (kind, limit) in limits {
        if let Some(s) = vip.outage_summary(kind, run.deadline_ms) {
            if s.p99 > limit {
                out.push(format!(
                    "{} outage p99 {:.0} ms > {limit:.0} ms",
                    kind.label(),
                    s.p99
                ));
            }
        }
    }
    for t in &vip.trials {
        if t.outage_ms.is_none() {
            out.push(format!(
                "{} trial {}: never recovered",
                t.kind.label(),
                t.index + 1
            ));
        }
        if t.kind == Kind::AgentCrash && t.failed > 0 {
            out.push(format!(
                "agent-only crash trial {}: {} failed requests",
                t.index + 1,
                t.failed
            ));
        }
        if t.kind == Kind::Crash {
            for c in t.conns.iter().filter(|c| c.eligible && !c.survived) {
                let why = c.error.as_deref().unwrap_or("stalled");
                out.push(format!(
                    "crash trial {}: long-lived {:?} to {} lost: {why}",
                    t.index + 1,
                    c.kind,
                    c.node
                ));
            }
        }
    }
    out
}
