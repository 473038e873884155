//! Taking over from a data plane of another pin layout (an upgrade that changed the
//! maps, or another `--maglev-size`): its link keeps forwarding with its last tables
//! until this agent's maps hold a settled view of every backend, then one
//! `bpf_link_update` switches the interface to the new program.
use std::collections::BTreeSet;
use std::net::IpAddr;

use tracing::{error, info};

use crate::dataplane::{layouts::PinnedDataplane, Dataplane};
use crate::health::HealthMap;

/// Every listed backend has passed `rise` probes or failed `fall` in a row: the maps
/// now send new flows where the previous agent's did.
pub fn view_settled(listed: &BTreeSet<IpAddr>, health: &HealthMap, rise: u32, fall: u32) -> bool {
    !listed.is_empty()
        && listed.iter().all(|ip| {
            health
                .get(ip)
                .is_some_and(|h| h.consecutive_successes >= rise || h.consecutive_failures >= fall)
        })
}

/// Switches the link once `settled`; a failure is logged and retried on the next
/// reconcile while the previous program keeps forwarding.
pub fn complete_when_settled(
    dataplane: &mut Dataplane,
    pending: &mut Option<PinnedDataplane>,
    settled: bool,
) {
    let Some(predecessor) = pending.as_ref().filter(|_| settled) else {
        return;
    };
    match dataplane.take_over(predecessor) {
        Ok(()) => {
            info!(old = %predecessor.dir.display(), "now forwarding with this agent's program and maps");
            *pending = None;
        }
        Err(e) => {
            error!(error = %e, "taking over the XDP link failed; the previous program keeps forwarding")
        }
    }
}
