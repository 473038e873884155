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
}

impl Observation {
    pub fn expired(&self, now: Instant) -> bool {
        let seconds = u64::try_from(self.record.lease_duration_seconds).unwrap_or(0);
        self.changed_at + Duration::from_secs(seconds) <= now
    }
}

#[derive(Default)]
pub(super) struct LeaseView {
    observation: Option<Observation>,
    /// Set when a read failed: the next successful read restarts the expiry
    /// clock, because nobody could renew while we could not see the lease.
    interrupted: bool,
}

impl LeaseView {
    pub fn current(&self) -> Option<&Observation> {
        self.observation.as_ref()
    }

    pub fn interrupt(&mut self) {
        self.interrupted = true;
    }

    /// Stores `lease` as seen now; the expiry clock restarts when its record
    /// changed or when our view of it was interrupted.
    pub fn record(&mut self, lease: Lease) -> &Observation {
        let record = ElectionRecord::from_lease(&lease);
        let changed_at = match &self.observation {
            Some(previous) if previous.record == record && !self.interrupted => previous.changed_at,
            _ => Instant::now(),
        };
        self.interrupted = false;
        self.observation.insert(Observation {
            lease,
            record,
            changed_at,
        })
    }
}
