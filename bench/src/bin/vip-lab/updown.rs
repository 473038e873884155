//! `up`, `down` and the lab configuration they share with `demo`.
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use vip_lab::cleanup::{remove_state_file, Resources};
use vip_lab::lab::{AgentSettings, Profile};
use vip_lab::topology::format_mac;
use vip_lab::{cmd, Binaries, Lab, LabConfig, TopologySpec, RUN_DIR, VIP4};

use crate::LabArgs;

pub const PREFIX: &str = "vl";

pub fn state_file() -> PathBuf {
    Path::new(RUN_DIR).join("state.json")
}

/// The lab of `vip-lab up` and `demo`: names `vl-*`, files in /run/vip-lab.
pub fn config(args: LabArgs, detached: bool) -> anyhow::Result<LabConfig> {
    if let Some(state) = Resources::load(&state_file())? {
        if !state.is_empty() {
            bail!(
                "a lab is up already ({}); run `vip-lab down` first",
                state_file().display()
            );
        }
    }
    let exe = std::env::current_exe()?;
    let release = exe.parent().is_some_and(|dir| dir.ends_with("release"));
    let profile = if release {
        Profile::Release
    } else {
        Profile::Debug
    };
    let binaries = Binaries::beside_current_exe(profile).context("building vip-agent")?;
    Ok(LabConfig {
        topology: TopologySpec {
            prefix: PREFIX.to_owned(),
            nodes: 3,
            ipv6: args.ipv6,
            run_dir: PathBuf::from(RUN_DIR),
            state_file: Some(state_file()),
        },
        binaries,
        agent: AgentSettings::default(),
        detached,
        ready_timeout: Duration::from_secs(30),
    })
}

/// What the lab looks like, for people.
pub fn describe(lab: &Lab) {
    let s = &lab.config.agent;
    println!(
        "VIP {VIP4}:6443 on {} nodes; agents run with `{}` (every other setting at its default)",
        lab.nodes(),
        s.describe()
    );
    for node in &lab.topology().nodes {
        println!(
            "  {}  netns {:9} {:10} {}",
            node.name,
            node.netns,
            node.addr4,
            format_mac(&node.mac)
        );
    }
    println!("  client netns {}  10.77.0.50", lab.topology().client);
    let leaders: Vec<String> = lab
        .leaders()
        .iter()
        .map(|&n| vip_lab::node_name(n))
        .collect();
    let holder = lab.lease_holder().unwrap_or_else(|| "none".to_owned());
    println!(
        "leader: {} (vip_is_leader); Lease kube-system/vip-lab holder: {holder}",
        leaders.join(", ")
    );
}

pub fn up(args: LabArgs) -> anyhow::Result<()> {
    let lab = Lab::start(config(args, true)?)?;
    describe(&lab);
    let client = &lab.topology().client;
    println!("logs in {RUN_DIR}/logs; try:");
    println!("  ip netns exec {client} curl -sk https://{VIP4}:6443/version");
    println!(
        "  touch {}   # n1's /readyz fails",
        lab.unready_file(0).display()
    );
    println!("  vip-lab down");
    lab.detach();
    Ok(())
}

pub fn down() -> anyhow::Result<()> {
    let bench = [
        crate::bench::state_file(crate::bench::VIP_PREFIX),
        crate::bench::state_file(crate::bench::ANCHOR_PREFIX),
    ];
    let mut found = false;
    for path in std::iter::once(state_file()).chain(bench) {
        if let Some(state) = Resources::load(&path)? {
            state.teardown();
            remove_state_file(&path);
            found = true;
            println!(
                "lab torn down ({} processes, {} namespaces; {})",
                state.processes.len(),
                state.namespaces.len(),
                path.display()
            );
        }
    }
    if !found {
        println!(
            "no state file at {}; removing any leftover lab",
            state_file().display()
        );
    }
    // Whatever a crash left without a record: the fixed names of the labs.
    for prefix in [
        PREFIX,
        crate::bench::VIP_PREFIX,
        crate::bench::ANCHOR_PREFIX,
    ] {
        for role in ["n1", "n2", "n3", "client", "br"] {
            let netns = format!("{prefix}-{role}");
            if cmd::netns_exists(&netns) {
                cmd::quietly("ip", &["netns", "del", &netns]);
                println!("removed leftover namespace {netns}");
            }
        }
    }
    let mounted = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    for dir in ["", crate::bench::VIP_PREFIX] {
        let bpffs = Path::new(RUN_DIR).join(dir).join("bpffs");
        if mounted
            .lines()
            .any(|l| l.split_whitespace().nth(1) == bpffs.to_str())
        {
            cmd::quietly("umount", &["-l", &bpffs.to_string_lossy()]);
            println!("unmounted leftover {}", bpffs.display());
        }
    }
    Ok(())
}
