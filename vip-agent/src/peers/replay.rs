//! Replay protection per sender: a random boot id per process start, a sequence number
//! that increases within a boot, and the sender's wall clock, which must be within a
//! window of ours and, for a new boot, later than anything accepted from the old one.
use super::wire::Header;

/// How far a datagram's send time may be from our clock. Control-plane nodes run NTP
/// (etcd and certificates need it); this only bounds how long a capture stays usable.
pub const WINDOW_MS: u64 = 30_000;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplayState {
    boot_id: u64,
    last_seq: u64,
    last_sent_unix_ms: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayRejection {
    /// Sent too long ago or too far in the future.
    OutsideWindow,
    /// Seen before: an older sequence number of this boot, or an older boot.
    Replayed,
}

/// Accepted datagrams update `state`; rejected ones leave it unchanged.
pub fn admit(
    state: &mut Option<ReplayState>,
    header: &Header,
    now_unix_ms: u64,
) -> Result<(), ReplayRejection> {
    if header.sent_unix_ms.abs_diff(now_unix_ms) > WINDOW_MS {
        return Err(ReplayRejection::OutsideWindow);
    }
    if let Some(last) = state {
        let fresh = match last.boot_id == header.boot_id {
            true => header.seq > last.last_seq,
            false => header.sent_unix_ms > last.last_sent_unix_ms,
        };
        if !fresh {
            return Err(ReplayRejection::Replayed);
        }
    }
    *state = Some(ReplayState {
        boot_id: header.boot_id,
        last_seq: header.seq,
        last_sent_unix_ms: header.sent_unix_ms,
    });
    Ok(())
}
