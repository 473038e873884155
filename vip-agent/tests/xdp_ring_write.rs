//! Item 14 of issue 10: rings are written in chunks (a 2^20-slot table in about a
//! thousand map updates), and the announce deadline is refreshed by its own task, so a
//! table rewrite never pauses ARP. Needs root.
mod support;

use std::time::{Duration, Instant};

use support::{arp_request, PASS, TX};
use vip_agent::{
    agent::clock::monotonic_ns,
    dataplane::{Dataplane, DesiredState, LoadOptions},
    testing::fixture::*,
};
use vip_common::Reason;

/// The largest prime below 2^20 (the largest ring the agent accepts is 2^20).
const RING_2_20: u32 = 1_048_573;

/// Writing a whole 2^20-slot table: one syscall per slot took seconds; in chunks it takes
/// about a thousand updates. The bound leaves a wide margin on a loaded 2-core machine.
#[test]
fn item14_a_2_20_slot_ring_is_written_quickly() {
    let mut dataplane = Dataplane::load(LoadOptions {
        ring_size: RING_2_20,
        max_flows: 1024,
    })
    .expect("load the XDP program (needs root)");
    let fixture_state = Fixture::new().expect("load").default_state();
    let mut desired = DesiredState {
        settings: fixture_state.settings,
        vips: fixture_state.vips,
        backends: fixture_state.backends,
        ..Default::default()
    };
    desired.settings.ring_size = RING_2_20;
    let table: Vec<u32> = (0..RING_2_20).map(|slot| slot % 3).collect();
    desired
        .services
        .insert(service(VIP4.into(), vip_common::PROTO_TCP), table);
    let started = Instant::now();
    dataplane.apply(&desired).expect("apply");
    let took = started.elapsed();
    println!("2^20-slot ring written in {took:?}");
    assert!(took < Duration::from_millis(400), "took {took:?}");
}

/// The deadline keeper alone keeps ARP answered past the deadline the last apply wrote,
/// while this node leads; once it stops leading, the deadline lapses.
#[tokio::test]
async fn item14_deadline_is_refreshed_independently_of_apply() {
    let mut f = Fixture::new().expect("load the XDP program (needs root)");
    f.with(|d| d.settings.announce_deadline_ns = monotonic_ns() + 300_000_000)
        .expect("apply");
    let (leader_tx, leader) = tokio::sync::watch::channel(true);
    let shutdown = tokio_util::sync::CancellationToken::new();
    let keeper = tokio::spawn(f.dataplane.deadline_keeper().run(
        leader,
        Duration::from_millis(800),
        Duration::from_millis(100),
        monotonic_ns,
        shutdown.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (action, _, counted) = f.run(&arp_request()).expect("test_run");
    assert_eq!((action, counted), (TX, vec![Reason::ArpReplied]));
    leader_tx.send(false).expect("send");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (action, _, counted) = f.run(&arp_request()).expect("test_run");
    assert_eq!((action, counted), (PASS, vec![Reason::ArpDeadlinePassed]));
    shutdown.cancel();
    keeper.await.expect("keeper task");
}
