//! Admission of one datagram: format, cluster, signature, sender, replay. Ignored
//! datagrams change nothing but a counter.
use std::collections::BTreeMap;
use std::net::IpAddr;

use super::auth::PeerKey;
use super::metrics::Rejection;
use super::replay::{admit, ReplayRejection, ReplayState};
use super::wire::{decode_body, frame, Body, Header, WireError};

/// A datagram that passed every check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Admitted {
    pub header: Header,
    pub body: Body,
}

/// Checks `datagram` from `source`; on success the sender's replay state advances.
pub fn admit_datagram(
    datagram: &[u8],
    source: IpAddr,
    key: &PeerKey,
    replay: &mut BTreeMap<IpAddr, ReplayState>,
    now_unix_ms: u64,
) -> Result<Admitted, Rejection> {
    let framed = frame(datagram).map_err(|error| match error {
        WireError::Version { .. } => Rejection::Version,
        _ => Rejection::Malformed,
    })?;
    if framed.header.cluster_id != key.cluster_id {
        return Err(Rejection::ForeignCluster);
    }
    if !key.verify(framed.signed, framed.tag) {
        return Err(Rejection::BadMac);
    }
    let body = decode_body(&framed).map_err(|error| match error {
        WireError::UnknownKind { .. } => Rejection::UnknownKind,
        _ => Rejection::Malformed,
    })?;
    // Signed by a member, but relayed from elsewhere: a replay from another address.
    if body.claim().sender != canonical(source) {
        return Err(Rejection::SourceMismatch);
    }
    let mut state = replay.get(&source).copied();
    admit(&mut state, &framed.header, now_unix_ms).map_err(|rejection| match rejection {
        ReplayRejection::OutsideWindow => Rejection::OutsideWindow,
        ReplayRejection::Replayed => Rejection::Replayed,
    })?;
    if let Some(state) = state {
        replay.insert(source, state);
    }
    Ok(Admitted {
        header: framed.header,
        body,
    })
}

/// An IPv4 peer reached through a dual-stack socket shows up as `::ffff:a.b.c.d`.
pub fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}
