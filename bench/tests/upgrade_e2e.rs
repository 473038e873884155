//! Issue 10 item 7: a rolling upgrade to another pin layout (here another
//! `--maglev-size`, as a release that changes the maps would) node by node, while a
//! client opens a new connection through the VIP every 5 ms: no request may fail, and
//! each node ends with only the new layout pinned. Needs root, iproute2 and BPF; run
//! under `flock /tmp/vip-lab.lock`.
#[allow(dead_code)] // shared with agent_e2e, which uses all of it
mod common;

use std::time::{Duration, Instant};

use common::start_lab;
use tokio_util::sync::CancellationToken;
use vip_lab::node_name;
use vip_lab::probe::{failures, spread, Sample, Until};

const NEW_MAGLEV_SIZE: &str = "65521";

#[test]
fn rolling_upgrade_between_pin_layouts_loses_no_request() {
    let mut lab = start_lab();
    let stop = CancellationToken::new();
    let spec = lab.vip_probe("/version", Duration::from_millis(5), Duration::from_secs(1));
    let probes = lab.start_probing(
        spec,
        Until::Cancelled(stop.clone()),
        Duration::from_secs(60),
    );
    std::thread::sleep(Duration::from_millis(300));
    lab.config
        .agent
        .extra_args
        .extend(["--maglev-size".to_owned(), NEW_MAGLEV_SIZE.to_owned()]);
    let started = Instant::now();
    for node in 0..lab.nodes() {
        // The DaemonSet's rolling update: the old pod goes (its link stays pinned),
        // the new release starts with the other layout and takes the link over.
        lab.kill_agent(node).expect("kill -9 the old agent");
        std::thread::sleep(Duration::from_millis(200));
        lab.start_agent(node).expect("start the new agent");
        lab.wait_until_ready(Duration::from_secs(15))
            .expect("the lab settles after the upgrade of one node");
        std::thread::sleep(Duration::from_secs(2));
        let layouts = pinned_layouts(&lab.bpffs.join(node_name(node)));
        assert!(
            layouts.len() == 1 && layouts[0].contains(&format!("-m{NEW_MAGLEV_SIZE}-")),
            "{}: only the new layout is pinned: {layouts:?}",
            node_name(node)
        );
    }
    stop.cancel();
    let samples: Vec<Sample> = lab.client().run(probes).expect("probe task");
    println!(
        "rolling upgrade of {} nodes in {:?}: {} requests, {:?}",
        lab.nodes(),
        started.elapsed(),
        samples.len(),
        spread(&samples)
    );
    assert!(samples.len() > 500, "the client kept probing");
    assert!(
        failures(&samples).is_empty(),
        "requests lost: {:?}",
        failures(&samples)
    );
}

/// The pin directories under a node's bpffs directory.
fn pinned_layouts(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("the node's pin directory")
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
