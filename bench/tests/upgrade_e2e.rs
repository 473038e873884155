//! Issue 10 item 7: a rolling upgrade to another pin layout (here another
//! `--maglev-size`, as a release that changes the maps would) node by node, while a
//! client opens a new connection through the VIP every 5 ms: no request may fail, and
//! each node ends with only the new layout pinned. Needs root, iproute2 and BPF; run
//! under `flock /tmp/vip-lab.lock`.
#[allow(dead_code)] // shared with agent_e2e, which uses all of it
mod common;

use std::time::{Duration, Instant};

use common::start_lab_with;
use tokio_util::sync::CancellationToken;
use vip_lab::lab::AgentSettings;
use vip_lab::node_name;
use vip_lab::probe::{failures, spread, Sample, Until};

const NEW_MAGLEV_SIZE: &str = "65521";

#[test]
#[ignore = "known gap (issue 10 item 7): SYNs are not pinned, so a handshake in flight when the \
            leader switches to a ring of another size is re-hashed (1 of 2014 requests reset in \
            a clean-clone run); run with --ignored"]
fn rolling_upgrade_between_pin_layouts_loses_no_request() {
    // The Lease election with the timings of the kube-vip guides (5/3/1 s): a restarted
    // agent (about 1.5 s here, mostly loading the program) keeps its lease, so no failover happens while
    // nodes run different ring sizes (a failover then would re-hash open connections).
    // Health checks with room for a loaded 2-core machine: the test is about the
    // upgrade, and a backend flapping on a 150 ms probe timeout would fail requests too.
    let mut lab = start_lab_with(AgentSettings {
        election: "lease".into(),
        lease_duration: Some("5s".into()),
        renew_deadline: Some("3s".into()),
        retry_period: Some("1s".into()),
        health_interval: Some("500ms".into()),
        health_timeout: Some("400ms".into()),
        health_rise: Some(2),
        health_fall: Some(3),
        ..AgentSettings::default()
    });
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
    let mut restarts = Vec::new();
    for node in 0..lab.nodes() {
        // The DaemonSet's rolling update: the old pod goes (its link stays pinned),
        // the new release starts with the other layout and takes the link over.
        restarts.push((node_name(node), started.elapsed()));
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
    let origin = tokio::time::Instant::from(started);
    for failed in samples.iter().filter(|sample| !sample.ok()) {
        println!(
            "  failed at +{:?}: {:?}",
            failed.sent.saturating_duration_since(origin),
            failed.outcome
        );
    }
    println!("agents restarted at {restarts:?}");
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
