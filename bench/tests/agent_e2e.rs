//! Issue 4's namespace end-to-end: three nodes each running vip-agent with `--election
//! lease` (1 s lease, renew 0.5 s, retry 0.2 s) and the API-server stand-in on :6443, the
//! Lease test server, and a client. Needs root, iproute2 and BPF; the tests run one at a time and print what they
//! measure (`--nocapture`).
mod common;

use std::time::{Duration, Instant};

use common::{start_lab, start_lab_with, wait_for_new_responder, TestLab};
use nix::sys::signal::Signal;
use tokio_util::sync::CancellationToken;
use vip_lab::lab::AgentSettings;
use vip_lab::node_name;
use vip_lab::probe::{failures, first_success_from, outage, spread, Sample, Until};

const LEASE: Duration = Duration::from_secs(1);
const PROBE_EVERY: Duration = Duration::from_millis(10);
const PROBE_TIMEOUT: Duration = Duration::from_millis(100);

#[test]
fn exactly_one_node_answers_arp_and_requests_spread() {
    let lab = start_lab();
    let leader = lab.leader();
    let mut arp = lab.arp();
    let responders = lab.arp_responders(&mut arp, 5);
    println!(
        "leader {}, ARP answered by {responders:?}",
        node_name(leader)
    );
    assert_eq!(
        responders,
        [node_name(leader)].into(),
        "only the leader answers ARP"
    );
    assert_eq!(lab.lease_holder(), Some(holder_of(leader)));

    let samples = lab.vip_requests("/version", 60, Duration::from_secs(1));
    let counts = spread(&samples);
    println!("60 requests via the VIP: {counts:?}");
    assert!(failures(&samples).is_empty(), "{:?}", failures(&samples));
    assert_eq!(
        counts.len(),
        3,
        "every node serves some new connections: {counts:?}"
    );
}

#[test]
fn leader_crash_moves_the_vip_within_lease_plus_half_a_second() {
    let mut lab = start_lab();
    let leader = lab.leader();
    let mut arp = lab.arp();
    let spec = lab.vip_probe("/version", PROBE_EVERY, PROBE_TIMEOUT);
    let event = Instant::now();
    lab.set_link(leader, false).expect("cut the leader's link");
    lab.kill_agent(leader).expect("kill -9 the leader's agent");
    let probes = lab.start_probing(
        spec,
        Until::FirstSuccessFrom(event.into()),
        Duration::from_secs(10),
    );
    let answered = wait_for_new_responder(&mut arp, lab.mac(leader), event, Duration::from_secs(5));
    let samples = lab.client().run(probes).expect("probe task");
    let first =
        first_success_from(&samples, event.into()).map(|s| s.done.duration_since(event.into()));
    let (took, mac) = answered.expect("no other node answered ARP for the VIP within 5 s");
    println!(
        "crash of {}: {} answers ARP after {took:?}; first good request after {first:?} ({} probes failed)",
        node_name(leader),
        lab.describe_mac(&mac),
        failures(&samples).len()
    );
    assert!(
        took <= LEASE + Duration::from_millis(500),
        "ARP moved after {took:?}"
    );
    let new_leader = lab.leader();
    assert_ne!(new_leader, leader);
    assert_eq!(
        lab.mac(new_leader),
        mac,
        "the new leader is the node answering ARP"
    );
}

/// Without `--keep-forwarding-on-exit`, SIGTERM is "leave the control plane": the Lease
/// moves within one retry period and the agent undoes its host changes and exits. (Peers
/// still send new flows to the node while its API server passes their health checks, so
/// the client view is only asserted for the deployment mode below.)
#[test]
fn sigterm_releases_the_lease_within_200ms() {
    let mut lab = start_lab();
    let leader = lab.leader();
    let event = lab.signal_agent(leader, Signal::SIGTERM).expect("SIGTERM");
    let holder = wait_for_new_holder(&lab, &holder_of(leader), event);
    let status = lab.wait_agent_exit(leader, Duration::from_secs(5));
    println!(
        "SIGTERM to {}: Lease moved to {holder:?}; agent exit {status:?}",
        node_name(leader)
    );
    let (_, moved) = holder.expect("another node takes the Lease");
    assert!(
        moved <= Duration::from_millis(200),
        "the Lease moved after {moved:?}"
    );
    assert!(
        status.is_some_and(|s| s.success()),
        "the agent exits cleanly: {status:?}"
    );
}

/// The same with `--keep-forwarding-on-exit`: the old leader's XDP program and VIP on lo
/// stay, so it goes on forwarding and serving while the new leader takes over.
#[test]
fn sigterm_with_keep_forwarding_hands_over_within_200ms() {
    let settings = AgentSettings {
        extra_args: vec!["--keep-forwarding-on-exit".into()],
        ..AgentSettings::fast_lease()
    };
    sigterm_handover(start_lab_with(settings));
}

fn sigterm_handover(mut lab: TestLab) {
    let leader = lab.leader();
    let stop = CancellationToken::new();
    let spec = lab.vip_probe("/version", PROBE_EVERY, PROBE_TIMEOUT);
    let probes = lab.start_probing(
        spec,
        Until::Cancelled(stop.clone()),
        Duration::from_secs(10),
    );
    std::thread::sleep(Duration::from_millis(300));
    let event = lab.signal_agent(leader, Signal::SIGTERM).expect("SIGTERM");
    let holder = wait_for_new_holder(&lab, &holder_of(leader), event);
    std::thread::sleep(Duration::from_millis(1500));
    stop.cancel();
    let samples = lab.client().run(probes).expect("probe task");
    let status = lab.wait_agent_exit(leader, Duration::from_secs(5));
    let down = outage(&samples, event.into());
    let failed = samples
        .iter()
        .filter(|s| s.sent >= event.into() && !s.ok())
        .count();
    println!(
        "SIGTERM to {}: Lease moved to {holder:?}; client outage {down:?} ({failed} probes failed); agent exit {status:?}; after: {:?}",
        node_name(leader),
        spread(&samples[samples.len() / 2..]),
    );
    print_timeline(&samples, event);
    assert!(
        status.is_some_and(|s| s.success()),
        "the agent exits cleanly: {status:?}"
    );
    let tail = &samples[samples.len() * 2 / 3..];
    let tail_failed = tail.iter().filter(|s| !s.ok()).count();
    let still = format!("{tail_failed} of the last {} probes failed", tail.len());
    let down = down.unwrap_or_else(|| panic!("requests via the VIP never recovered; {still}"));
    assert!(
        down <= Duration::from_millis(200),
        "planned handover took {down:?} as the client saw it; {still}"
    );
}

/// The Lease holder identity node `node`'s agent writes.
fn holder_of(node: usize) -> String {
    format!("{}/vip-agent", node_name(node))
}

/// When the Lease holder moves away from `old` (polled every 10 ms, at most 3 s).
fn wait_for_new_holder(lab: &TestLab, old: &str, from: Instant) -> Option<(String, Duration)> {
    while from.elapsed() < Duration::from_secs(3) {
        match lab.lease_holder() {
            Some(holder) if !holder.is_empty() && holder != old => {
                return Some((holder, from.elapsed()))
            }
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    None
}

/// kill -9 and restart of `node`'s agent (link up) while the client sends a request every
/// 5 ms (new connections, 1 s timeout); every request must succeed.
fn restart_loses_nothing(lab: &mut TestLab, node: usize) {
    let stop = CancellationToken::new();
    let spec = lab.vip_probe("/version", Duration::from_millis(5), Duration::from_secs(1));
    let probes = lab.start_probing(
        spec,
        Until::Cancelled(stop.clone()),
        Duration::from_secs(30),
    );
    std::thread::sleep(Duration::from_millis(300));
    let event = Instant::now();
    lab.kill_agent(node).expect("kill -9 the agent");
    std::thread::sleep(Duration::from_millis(200));
    lab.start_agent(node).expect("restart the agent");
    let ready = lab.wait_until_ready(Duration::from_secs(15));
    // Past a lease expiry and a takeover, should there be one.
    std::thread::sleep(LEASE * 2);
    stop.cancel();
    let samples: Vec<Sample> = lab.client().run(probes).expect("probe task");
    let slowest = samples.iter().map(|s| s.done - s.sent).max();
    println!(
        "restart of {}'s agent: {} requests, {:?}, slowest {slowest:?}, leader after: {ready:?}",
        node_name(node),
        samples.len(),
        spread(&samples)
    );
    print_timeline(&samples, event);
    ready.expect("the lab settles after the restart");
    assert!(
        failures(&samples).is_empty(),
        "requests lost: {:?}",
        failures(&samples)
    );
}

#[test]
fn restarting_a_follower_agent_loses_no_request() {
    let mut lab = start_lab();
    let follower = (lab.leader() + 1) % lab.nodes();
    restart_loses_nothing(&mut lab, follower);
}

#[test]
fn restarting_the_leader_agent_loses_no_request() {
    let mut lab = start_lab();
    let leader = lab.leader();
    restart_loses_nothing(&mut lab, leader);
}

#[test]
fn an_unready_backend_gets_no_new_connections() {
    let lab = start_lab();
    let backend = (lab.leader() + 1) % lab.nodes();
    let name = node_name(backend);
    let before = spread(&lab.vip_requests("/version", 60, Duration::from_secs(1)));
    assert!(
        before.contains_key(&name),
        "{name} serves before: {before:?}"
    );

    lab.set_unready(backend, true).expect("make /readyz fail");
    let started = Instant::now();
    vip_lab::lab::wait_for(
        "every agent to see the backend fail",
        Duration::from_secs(5),
        || {
            (0..lab.nodes())
                .all(|a| lab.sees_healthy(a, backend) == Some(false))
                .then_some(())
        },
    )
    .expect("health checks notice");
    let noticed = started.elapsed();
    let samples = lab.vip_requests("/version", 60, Duration::from_secs(1));
    let after = spread(&samples);
    println!("{name} unready: noticed by all agents in {noticed:?}; 60 requests after: {after:?}");
    assert!(failures(&samples).is_empty(), "{:?}", failures(&samples));
    assert!(
        !after.contains_key(&name),
        "{name} still got new connections: {after:?}"
    );

    lab.set_unready(backend, false).expect("make /readyz pass");
    lab.wait_until_ready(Duration::from_secs(5))
        .expect("the backend comes back");
}

/// Probe outcomes after `event`, one character per probe: `.` success, `x` failure.
fn print_timeline(samples: &[Sample], event: Instant) {
    let event = tokio::time::Instant::from(event);
    let mut line = String::new();
    for s in samples.iter().filter(|s| s.sent >= event) {
        line.push(if s.ok() { '.' } else { 'x' });
    }
    println!("probes after the event, 10 ms apart: {line}");
    for s in samples
        .iter()
        .filter(|s| s.sent >= event && !s.ok())
        .take(5)
    {
        println!("  +{:?}: {:?}", s.sent.duration_since(event), s.outcome);
    }
}
