//! Fail-static behaviour during API outages, and release on shutdown.

use std::time::{Duration, Instant};

use k8s_openapi::jiff::Timestamp;

use super::super::lease::ElectionRecord;
use super::{states_during, Stand, LEASE_DURATION, RENEW_DEADLINE, RETRY_PERIOD, SOON};

/// Leader node-a and follower node-b, both settled.
async fn leader_and_follower(stand: &Stand) -> (super::Candidate, super::Candidate) {
    let mut leader = stand.candidate("node-a");
    leader.wait_leader().await;
    let mut follower = stand.candidate("node-b");
    follower
        .wait_until("following node-a", SOON, |state| {
            state.holder.as_deref() == Some("node-a/vip-agent")
        })
        .await;
    (leader, follower)
}

/// Neither role changes during `outage` nor for a lease duration after it.
async fn assert_roles_survive(
    stand: &Stand,
    leader: &mut super::Candidate,
    follower: &mut super::Candidate,
    outage: Duration,
) {
    let before = stand.stored_record();
    let window = outage + LEASE_DURATION + Duration::from_millis(500);
    let (leader_states, follower_states) = tokio::join!(
        states_during(&mut leader.leadership, window),
        states_during(&mut follower.leadership, window)
    );
    assert!(
        leader_states.iter().all(|state| state.is_leader),
        "leader stepped down: {leader_states:?}"
    );
    assert!(
        follower_states.iter().all(|state| !state.is_leader),
        "follower took over: {follower_states:?}"
    );
    let after = stand.stored_record();
    assert_eq!(after.holder.as_deref(), Some("node-a/vip-agent"));
    assert_eq!(after.transitions, before.transitions);
    assert!(
        after.renew_time > before.renew_time,
        "leader renews again after the outage"
    );
}

#[tokio::test]
async fn roles_survive_a_503_outage() {
    let stand = Stand::start().await;
    let (mut leader, mut follower) = leader_and_follower(&stand).await;
    let outage = Duration::from_millis(2500);
    stand.server.set_outage(true);
    let end_outage = async {
        tokio::time::sleep(outage).await;
        stand.server.set_outage(false);
    };
    tokio::join!(
        end_outage,
        assert_roles_survive(&stand, &mut leader, &mut follower, outage)
    );
}

#[tokio::test]
async fn roles_survive_a_black_holed_api() {
    let stand = Stand::start().await;
    let (mut leader, mut follower) = leader_and_follower(&stand).await;
    let outage = Duration::from_millis(2500);
    stand.server.black_hole_for(outage);
    assert_roles_survive(&stand, &mut leader, &mut follower, outage).await;
}

#[tokio::test]
async fn follower_takes_over_once_the_api_is_back_if_the_record_expired_meanwhile() {
    let stand = Stand::start().await;
    let (leader, mut follower) = leader_and_follower(&stand).await;
    stand.server.set_outage(true);
    leader.crash();
    let during = states_during(&mut follower.leadership, Duration::from_millis(1500)).await;
    assert!(
        during.iter().all(|state| !state.is_leader),
        "took over during the outage: {during:?}"
    );
    stand.server.set_outage(false);
    let api_back = Instant::now();
    let leading = follower.wait_leader().await;
    let waited = leading.since - api_back;
    // The record has not changed for longer than the lease duration (client-go's
    // observedTime): it is taken over once the holder had one round and one retry
    // period to renew after the outage.
    assert!(
        waited <= RENEW_DEADLINE + 2 * RETRY_PERIOD + Duration::from_millis(500),
        "took over late: {waited:?}"
    );
    assert_eq!(leading.transitions, Some(1));
}

#[tokio::test]
async fn release_on_shutdown_hands_over_within_one_retry_period() {
    let stand = Stand::start().await;
    let (leader, mut follower) = leader_and_follower(&stand).await;
    let mut leader_view = leader.leadership.clone();
    let released_at = leader.stop().await;
    assert!(
        !leader_view.borrow_and_update().is_leader,
        "a stopped elector is not leader"
    );
    let leading = follower.wait_leader().await;
    let handover = leading.since.saturating_duration_since(released_at);
    assert!(
        handover <= RETRY_PERIOD + Duration::from_millis(150),
        "handover took {handover:?}"
    );
    let record = stand.stored_record();
    assert_eq!(record.holder.as_deref(), Some("node-b/vip-agent"));
    assert_eq!(record.transitions, 1);
}

#[tokio::test]
async fn release_clears_holder_and_keeps_transitions() {
    let stand = Stand::start().await;
    let now = Timestamp::now();
    stand.seed(&ElectionRecord {
        holder: None,
        lease_duration_seconds: 1,
        acquire_time: Some(now),
        renew_time: Some(now),
        transitions: 3,
    });
    let mut node = stand.candidate("node-a");
    assert_eq!(node.wait_leader().await.transitions, Some(4));
    let before_stop = Timestamp::now();
    node.stop().await;
    let released = stand.stored_record();
    assert_eq!(released.holder, None);
    assert_eq!(released.transitions, 4);
    assert_eq!(released.lease_duration_seconds, 1);
    assert!(released
        .renew_time
        .is_some_and(|renewed| renewed >= before_stop));
    let spec = stand
        .server
        .lease(super::NAMESPACE, super::LEASE)
        .and_then(|lease| lease.spec)
        .expect("spec");
    assert_eq!(
        spec.holder_identity.as_deref(),
        Some(""),
        "holder cleared as client-go does"
    );
}
