//! What this elector has seen of the lease, and since when.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;

use super::lease::ElectionRecord;

/// The lease as last read or written, and when its record last changed from
/// our point of view. Expiry is judged on our monotonic clock, not on the
/// holder's wall-clock `renewTime` (client-go's `observedTime`).
pub(super) struct Observation {
    pub lease: Lease,
    pub record: ElectionRecord,
    changed_at: Instant,
    /// Set by the first successful read after failed ones: the holder may have been
    /// cut off from the API as we were, so it gets this long to renew before its
    /// unchanged record counts as expired. Set once per recovery, not per failure.
    grace_until: Option<Instant>,
}

impl Observation {
    pub fn expired(&self, now: Instant) -> bool {
        let seconds = u64::try_from(self.record.lease_duration_seconds).unwrap_or(0);
        self.changed_at + Duration::from_secs(seconds) <= now
            && self.grace_until.is_none_or(|until| until <= now)
    }
}

/// Failed reads do not restart the expiry clock: only a change of the record does,
/// as in client-go, so intermittent read errors cannot keep a dead holder alive.
pub(super) struct LeaseView {
    observation: Option<Observation>,
    /// How long a holder gets to renew after we could not read the lease.
    recovery_grace: Duration,
    read_failed: bool,
}

impl LeaseView {
    pub fn new(recovery_grace: Duration) -> Self {
        Self {
            observation: None,
            recovery_grace,
            read_failed: false,
        }
    }

    pub fn current(&self) -> Option<&Observation> {
        self.observation.as_ref()
    }

    pub fn read_failed(&mut self) {
        self.read_failed = true;
    }

    /// Stores `lease` as seen now; the expiry clock restarts when its record changed.
    pub fn record(&mut self, lease: Lease) -> &Observation {
        let now = Instant::now();
        let record = ElectionRecord::from_lease(&lease);
        let (changed_at, mut grace_until) = match &self.observation {
            Some(previous) if previous.record == record => {
                (previous.changed_at, previous.grace_until)
            }
            _ => (now, None),
        };
        if std::mem::take(&mut self.read_failed) && grace_until.is_none() {
            grace_until = Some(now + self.recovery_grace);
        }
        self.observation.insert(Observation {
            lease,
            record,
            changed_at,
            grace_until,
        })
    }
}
