//! Acquiring, racing, expiry and stepping down, with the API available.

use std::time::{Duration, Instant};

use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::super::lease::ElectionRecord;
use super::{assert_single_leader, states_during, Stand, LEASE, LEASE_DURATION, NAMESPACE, SOON};

fn record_of(holder: Option<&str>, transitions: i32, renewed: Timestamp) -> ElectionRecord {
    ElectionRecord {
        holder: holder.map(str::to_owned),
        lease_duration_seconds: 1,
        acquire_time: Some(renewed),
        renew_time: Some(renewed),
        transitions,
    }
}

/// Waits until the server holds `count` writes paused by `pause_writes`.
async fn wait_for_held_writes(stand: &Stand, count: usize) {
    let deadline = Instant::now() + SOON;
    while stand.server.held_writes() < count {
        assert!(
            Instant::now() < deadline,
            "only {} writes arrived",
            stand.server.held_writes()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn single_candidate_creates_the_absent_lease_and_renews_it() {
    let stand = Stand::start().await;
    let mut node = stand.candidate("node-a");
    let leadership = node.wait_leader().await;
    assert_eq!(leadership.holder.as_deref(), Some("node-a/vip-agent"));
    assert_eq!(leadership.transitions, Some(0));
    assert_eq!(
        stand.server.answers_with(201),
        1,
        "acquired through create after 404"
    );
    let first = stand.stored_record();
    assert_eq!(first.holder.as_deref(), Some("node-a/vip-agent"));
    assert_eq!(first.lease_duration_seconds, 1);
    assert_eq!(first.acquire_time, first.renew_time);

    tokio::time::sleep(Duration::from_millis(600)).await;
    let later = stand.stored_record();
    assert!(
        later.renew_time > first.renew_time,
        "renewed every retry period"
    );
    assert_eq!(later.acquire_time, first.acquire_time);
    assert_eq!(later.transitions, 0);
    assert!(node.now().is_leader);
}

#[tokio::test]
async fn racing_creates_elect_exactly_one_and_transitions_are_counted() {
    let stand = Stand::start().await;
    stand.server.pause_writes();
    let mut nodes = [
        stand.candidate("node-a"),
        stand.candidate("node-b"),
        stand.candidate("node-c"),
    ];
    wait_for_held_writes(&stand, 3).await;
    stand.server.resume_writes();
    for node in &mut nodes {
        node.wait_until("aware of a holder", SOON, |state| state.holder.is_some())
            .await;
    }
    let first = assert_single_leader(&nodes.iter().collect::<Vec<_>>());
    assert_eq!(stand.server.answers_with(201), 1);
    assert_eq!(
        stand.server.answers_with(409),
        2,
        "two creates lost with AlreadyExists"
    );
    assert_eq!(stand.stored_record().transitions, 0);

    // The leader crashes without releasing: one survivor takes over on expiry.
    let [a, b, c] = nodes;
    let (crashed, mut survivors): (Vec<_>, Vec<_>) = [a, b, c]
        .into_iter()
        .partition(|node| node.identity == first);
    crashed.into_iter().for_each(super::Candidate::crash);
    let second = tokio::time::timeout(SOON, async {
        loop {
            if let Some(node) = survivors.iter().find(|node| node.now().is_leader) {
                return node.identity.clone();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("a survivor takes over after expiry");
    for node in &mut survivors {
        node.wait_until("following the new leader", SOON, |state| {
            state.holder == Some(format!("{second}/vip-agent"))
        })
        .await;
    }
    assert_single_leader(&survivors.iter().collect::<Vec<_>>());
    assert_eq!(stand.stored_record().transitions, 1);

    // The second leader shuts down and releases: the last one takes over.
    let (leader, mut rest): (Vec<_>, Vec<_>) = survivors
        .into_iter()
        .partition(|node| node.identity == second);
    for node in leader {
        node.stop().await;
    }
    let last = rest[0].wait_leader().await;
    assert_eq!(last.transitions, Some(2));
    assert_eq!(stand.stored_record().transitions, 2);
}

#[tokio::test]
async fn racing_updates_conflict_and_elect_exactly_one() {
    let stand = Stand::start().await;
    stand.seed(&record_of(None, 4, Timestamp::now()));
    stand.server.pause_writes();
    let mut nodes = [
        stand.candidate("node-a"),
        stand.candidate("node-b"),
        stand.candidate("node-c"),
    ];
    wait_for_held_writes(&stand, 3).await;
    stand.server.resume_writes();
    for node in &mut nodes {
        node.wait_until("aware of a holder", SOON, |state| state.holder.is_some())
            .await;
    }
    let leader = assert_single_leader(&nodes.iter().collect::<Vec<_>>());
    assert_eq!(
        stand.server.answers_with(409),
        2,
        "two updates lost on resourceVersion"
    );
    let record = stand.stored_record();
    assert_eq!(record.holder, Some(format!("{leader}/vip-agent")));
    assert_eq!(
        record.transitions, 5,
        "one transition, not one per contender"
    );
}

#[tokio::test]
async fn dead_holder_is_replaced_only_after_lease_duration_of_our_observation() {
    let stand = Stand::start().await;
    // The remote renewTime is an hour old, yet expiry counts from our first
    // sight of the record, as in client-go.
    let hour_ago = Timestamp::now() - SignedDuration::from_hours(1);
    stand.seed(&record_of(Some("node-dead/vip-agent"), 5, hour_ago));
    let started = Instant::now();
    let mut node = stand.candidate("node-a");
    let following = node
        .wait_until("following node-dead", SOON, |state| state.holder.is_some())
        .await;
    assert!(!following.is_leader);
    let leading = node.wait_leader().await;
    let waited = leading.since - started;
    assert!(
        waited >= LEASE_DURATION - Duration::from_millis(50),
        "took over early: {waited:?}"
    );
    assert!(
        waited <= LEASE_DURATION + Duration::from_millis(800),
        "took over late: {waited:?}"
    );
    assert_eq!(leading.transitions, Some(6));
}

#[tokio::test]
async fn leader_steps_down_when_it_reads_another_holder() {
    let stand = Stand::start().await;
    let mut node = stand.candidate("node-a");
    node.wait_leader().await;
    let stolen = stand
        .stored_record()
        .claimed_by("node-x/vip-agent", 1, Timestamp::now());
    stand.seed(&stolen);
    let following = node
        .wait_until("following node-x", SOON, |state| !state.is_leader)
        .await;
    assert_eq!(following.holder.as_deref(), Some("node-x/vip-agent"));
    // node-x never renews, so node-a takes the lease back after it expires.
    let back = node.wait_leader().await;
    assert_eq!(back.transitions, Some(2));
    assert!(back.since - following.since >= LEASE_DURATION - Duration::from_millis(50));
}

#[tokio::test]
async fn deleted_lease_is_recreated_without_losing_leadership() {
    let stand = Stand::start().await;
    let mut node = stand.candidate("node-a");
    node.wait_leader().await;
    let original = stand
        .server
        .lease(NAMESPACE, LEASE)
        .expect("lease")
        .metadata
        .uid;
    stand
        .server
        .delete_lease(NAMESPACE, LEASE)
        .expect("deleted");
    let states = states_during(&mut node.leadership, Duration::from_millis(600)).await;
    assert!(states.iter().all(|state| state.is_leader), "{states:?}");
    let recreated = stand.server.lease(NAMESPACE, LEASE).expect("recreated");
    assert_ne!(recreated.metadata.uid, original);
    assert_eq!(
        ElectionRecord::from_lease(&recreated).holder.as_deref(),
        Some("node-a/vip-agent")
    );
    assert_eq!(stand.server.answers_with(201), 2);
}
