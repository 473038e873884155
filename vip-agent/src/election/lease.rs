//! The client-go leader-election record and its mapping onto a Lease object.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;

/// Ends every `holderIdentity` this program writes: `node-a/vip-agent`. A slash
/// cannot occur in a node name, so kube-vip's bare node name never looks like ours.
pub const HOLDER_SUFFIX: &str = "/vip-agent";

/// The `holderIdentity` the agent on `node` writes.
pub(super) fn holder_identity(node: &str) -> String {
    format!("{node}{HOLDER_SUFFIX}")
}

/// client-go's `LeaderElectionRecord`, as stored in a Lease spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ElectionRecord {
    /// `None` when the lease is free (field absent or empty string).
    pub holder: Option<String>,
    pub lease_duration_seconds: i32,
    pub acquire_time: Option<Timestamp>,
    pub renew_time: Option<Timestamp>,
    pub transitions: i32,
}

impl ElectionRecord {
    pub fn from_lease(lease: &Lease) -> Self {
        let spec = lease.spec.clone().unwrap_or_default();
        Self {
            holder: spec.holder_identity.filter(|holder| !holder.is_empty()),
            lease_duration_seconds: spec.lease_duration_seconds.unwrap_or(0),
            acquire_time: spec.acquire_time.map(|time| time.0),
            renew_time: spec.renew_time.map(|time| time.0),
            transitions: spec.lease_transitions.unwrap_or(0),
        }
    }

    pub fn is_held_by(&self, identity: &str) -> bool {
        self.holder.as_deref() == Some(identity)
    }

    /// Held by something other than a vip-agent: another program's record.
    pub fn is_foreign(&self) -> bool {
        self.holder
            .as_deref()
            .is_some_and(|holder| !holder.ends_with(HOLDER_SUFFIX))
    }

    /// The record a brand-new lease starts with (client-go: no transition yet).
    pub fn first(identity: &str, lease_duration_seconds: i32, now: Timestamp) -> Self {
        Self {
            holder: Some(identity.to_owned()),
            lease_duration_seconds,
            acquire_time: Some(now),
            renew_time: Some(now),
            transitions: 0,
        }
    }

    /// The record `identity` writes to keep (renew) or take over this lease.
    pub fn claimed_by(&self, identity: &str, lease_duration_seconds: i32, now: Timestamp) -> Self {
        if self.is_held_by(identity) {
            Self {
                lease_duration_seconds,
                renew_time: Some(now),
                ..self.clone()
            }
        } else {
            Self {
                transitions: self.transitions.saturating_add(1),
                ..Self::first(identity, lease_duration_seconds, now)
            }
        }
    }

    /// client-go's ReleaseOnCancel record: no holder, transitions kept, and a
    /// one-second duration so that even followers that ignore an empty holder
    /// take over almost at once.
    pub fn released(&self, now: Timestamp) -> Self {
        Self {
            holder: None,
            lease_duration_seconds: 1,
            acquire_time: Some(now),
            renew_time: Some(now),
            transitions: self.transitions,
        }
    }

    /// Writes the record into `spec`, leaving fields it does not own intact.
    fn apply_to(&self, spec: &mut LeaseSpec) {
        // client-go writes an empty string rather than omitting the field.
        spec.holder_identity = Some(self.holder.clone().unwrap_or_default());
        spec.lease_duration_seconds = Some(self.lease_duration_seconds);
        spec.acquire_time = self.acquire_time.map(MicroTime);
        spec.renew_time = self.renew_time.map(MicroTime);
        spec.lease_transitions = Some(self.transitions);
    }
}

/// A new Lease object holding `record`.
pub(super) fn new_lease(name: &str, namespace: &str, record: &ElectionRecord) -> Lease {
    let mut spec = LeaseSpec::default();
    record.apply_to(&mut spec);
    Lease {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(namespace.to_owned()),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
    }
}

/// `lease` (keeping its resourceVersion for optimistic concurrency) with its
/// election record replaced by `record`.
pub(super) fn with_record(lease: &Lease, record: &ElectionRecord) -> Lease {
    let mut updated = lease.clone();
    record.apply_to(updated.spec.get_or_insert_with(LeaseSpec::default));
    updated
}

/// `leaseDurationSeconds` is an integer: round up so that followers never wait
/// less than configured, and never write zero.
pub(super) fn whole_seconds(duration: Duration) -> i32 {
    let rounded_up = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    i32::try_from(rounded_up.max(1)).unwrap_or(i32::MAX)
}
