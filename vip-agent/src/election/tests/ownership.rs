//! Issue 10 items 2 and 5: when a held lease counts as expired, and whose records this
//! elector may take over.

use std::time::{Duration, Instant};

use hyper::{Method, StatusCode};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::super::lease::ElectionRecord;
use super::{states_during, Stand, LEASE_DURATION, SOON};
use crate::lease_test_server::InjectedFailure;

fn held_an_hour_ago(holder: &str) -> ElectionRecord {
    let hour_ago = Timestamp::now() - SignedDuration::from_hours(1);
    ElectionRecord {
        holder: Some(holder.to_owned()),
        lease_duration_seconds: 1,
        acquire_time: Some(hour_ago),
        renew_time: Some(hour_ago),
        transitions: 7,
    }
}

#[tokio::test]
async fn lease_expiry_from_last_observed_change() {
    // A dead vip-agent holder, and every other read of the lease fails: the record
    // never changes, so it expires one lease duration after it was first seen.
    let stand = Stand::start().await;
    stand.seed(&held_an_hour_ago("node-dead/vip-agent"));
    stand.server.inject_failures(vec![InjectedFailure::always(
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .on(Method::GET)
    .every(2)]);
    let started = Instant::now();
    let mut node = stand.candidate("node-a");
    let leading = node
        .wait_until("leader", LEASE_DURATION + SOON, |state| state.is_leader)
        .await;
    let waited = leading.since - started;
    assert!(
        waited >= LEASE_DURATION - Duration::from_millis(50),
        "took over early: {waited:?}"
    );
    assert_eq!(leading.transitions, Some(8));
}

/// `holder` (written by another program) stays untouched for three lease durations.
async fn assert_not_taken_over(holder: &str, node: &str) {
    let stand = Stand::start().await;
    stand.seed(&held_an_hour_ago(holder));
    let mut candidate = stand.candidate(node);
    let states = states_during(&mut candidate.leadership, 3 * LEASE_DURATION).await;
    assert!(
        states.iter().all(|state| !state.is_leader),
        "{node} took over {holder:?}: {states:?}"
    );
    let record = stand.stored_record();
    assert_eq!(record.holder.as_deref(), Some(holder));
    assert_eq!(record.transitions, 7);
}

#[tokio::test]
async fn lease_foreign_holder_not_taken_over() {
    // kube-vip's plndr-cp-lock holds the bare node name: neither the node of that
    // name nor another node renews or takes over that record.
    assert_not_taken_over("node-a", "node-a").await;
    assert_not_taken_over("node-b", "node-a").await;
}
