//! The election record, durations and settings, without any server.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::super::lease::{new_lease, whole_seconds, with_record, ElectionRecord};
use super::super::{parse_seconds, ElectionError};
use super::config;

fn held_by(holder: &str, transitions: i32, at: Timestamp) -> ElectionRecord {
    ElectionRecord {
        holder: Some(holder.to_owned()),
        lease_duration_seconds: 15,
        acquire_time: Some(at),
        renew_time: Some(at),
        transitions,
    }
}

#[test]
fn renewing_keeps_acquire_time_and_transitions() {
    let acquired = Timestamp::from_second(1_700_000_000).expect("timestamp");
    let later = acquired + SignedDuration::from_secs(30);
    let renewed = held_by("node-a", 3, acquired).claimed_by("node-a", 2, later);
    assert_eq!(renewed.holder.as_deref(), Some("node-a"));
    assert_eq!(renewed.acquire_time, Some(acquired));
    assert_eq!(renewed.renew_time, Some(later));
    assert_eq!(renewed.transitions, 3);
    assert_eq!(renewed.lease_duration_seconds, 2);
}

#[test]
fn taking_over_counts_a_transition_and_restarts_acquire_time() {
    let acquired = Timestamp::from_second(1_700_000_000).expect("timestamp");
    let later = acquired + SignedDuration::from_secs(30);
    let taken = held_by("node-a", 3, acquired).claimed_by("node-b", 1, later);
    assert_eq!(taken.holder.as_deref(), Some("node-b"));
    assert_eq!(taken.acquire_time, Some(later));
    assert_eq!(taken.transitions, 4);
    // A released lease (no holder) is also a transition for whoever takes it.
    let released = held_by("node-a", 4, acquired).released(later);
    assert_eq!(released.claimed_by("node-a", 1, later).transitions, 5);
}

#[test]
fn release_clears_holder_keeps_transitions_and_shortens_duration() {
    let acquired = Timestamp::from_second(1_700_000_000).expect("timestamp");
    let later = acquired + SignedDuration::from_secs(30);
    let released = held_by("node-a", 7, acquired).released(later);
    assert_eq!(released.holder, None);
    assert_eq!(released.transitions, 7);
    assert_eq!(released.lease_duration_seconds, 1);
    assert_eq!(released.renew_time, Some(later));
    // client-go writes the empty holder as "" rather than omitting it.
    let lease = new_lease("vip", "kube-system", &released);
    let spec = lease.spec.expect("spec");
    assert_eq!(spec.holder_identity.as_deref(), Some(""));
    assert_eq!(spec.lease_transitions, Some(7));
}

/// A Lease as another client (kube-vip, client-go) writes it, built field by field here
/// rather than by `new_lease`, so reading and renewing are checked against an
/// independent record.
fn foreign_lease(at: Timestamp) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some("vip".to_owned()),
            namespace: Some("kube-system".to_owned()),
            resource_version: Some("41".to_owned()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some("node-a".to_owned()),
            lease_duration_seconds: Some(15),
            acquire_time: Some(MicroTime(at)),
            renew_time: Some(MicroTime(at)),
            lease_transitions: Some(2),
            strategy: Some("OldestEmulationVersion".to_owned()),
            preferred_holder: Some("node-c".to_owned()),
        }),
    }
}

#[test]
fn record_round_trips_and_keeps_foreign_spec_fields() {
    let at = Timestamp::from_second(1_700_000_000).expect("timestamp");
    let lease = foreign_lease(at);
    assert_eq!(ElectionRecord::from_lease(&lease), held_by("node-a", 2, at));
    let later = at + SignedDuration::from_secs(1);
    let renewed = with_record(
        &lease,
        &held_by("node-a", 2, at).claimed_by("node-a", 1, later),
    );
    assert_eq!(renewed.metadata.resource_version.as_deref(), Some("41"));
    let spec = renewed.spec.expect("spec");
    assert_eq!(spec.holder_identity.as_deref(), Some("node-a"));
    assert_eq!(spec.lease_duration_seconds, Some(1));
    assert_eq!(spec.acquire_time, Some(MicroTime(at)));
    assert_eq!(spec.renew_time, Some(MicroTime(later)));
    assert_eq!(spec.lease_transitions, Some(2));
    assert_eq!(spec.strategy.as_deref(), Some("OldestEmulationVersion"));
    assert_eq!(spec.preferred_holder.as_deref(), Some("node-c"));
}

#[test]
fn lease_duration_is_written_in_whole_seconds_rounded_up() {
    assert_eq!(whole_seconds(Duration::from_millis(200)), 1);
    assert_eq!(whole_seconds(Duration::from_secs(1)), 1);
    assert_eq!(whole_seconds(Duration::from_millis(1500)), 2);
    assert_eq!(whole_seconds(Duration::from_secs(15)), 15);
    assert_eq!(whole_seconds(Duration::ZERO), 1);
    assert_eq!(whole_seconds(Duration::from_secs(u64::MAX)), i32::MAX);
}

#[test]
fn durations_parse_from_fractional_seconds() {
    assert_eq!(
        parse_seconds("0.2").expect("0.2"),
        Duration::from_millis(200)
    );
    assert_eq!(parse_seconds(" 15 ").expect("15"), Duration::from_secs(15));
    for bad in ["", "abc", "-1", "1s", "NaN", "inf"] {
        assert!(
            matches!(
                parse_seconds(bad),
                Err(ElectionError::InvalidDuration { .. })
            ),
            "{bad:?} must be rejected"
        );
    }
}

#[test]
fn settings_are_validated_like_client_go() {
    assert!(config("node-a").validate().is_ok());
    let reject = |change: fn(&mut super::ElectionConfig), setting: &str| {
        let mut bad = config("node-a");
        change(&mut bad);
        match bad.validate() {
            Err(ElectionError::InvalidSetting { setting: got, .. }) => assert_eq!(got, setting),
            other => panic!("expected {setting} to be rejected, got {other:?}"),
        }
    };
    reject(|c| c.identity.clear(), "identity");
    reject(|c| c.lease_name.clear(), "lease name");
    reject(|c| c.namespace.clear(), "namespace");
    reject(|c| c.retry_period = Duration::ZERO, "retry period");
    reject(|c| c.renew_deadline = c.lease_duration, "lease duration");
    // 0.5 s is not above 1.2 x 0.45 s.
    reject(
        |c| c.retry_period = Duration::from_millis(450),
        "renew deadline",
    );
}
