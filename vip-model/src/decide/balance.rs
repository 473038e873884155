//! L4 balancing: the flow table, then the service's Maglev table; a remote backend gets the
//! frame by Ethernet address rewrite (direct server return), the local one by the stack.
//!
//! Pins (issue 10 items 9–11): a SYN never creates one; the first other packet of a flow
//! that misses pins Maglev's choice if the new-pin guard admits it; only RST removes one;
//! a pin whose slot is inactive or now holds another server (or a UDP pin idle too long)
//! is stale: Maglev decides again and the pin is rewritten in place.
use vip_common::Reason;

use super::{pass, tx};
use crate::{
    decision::{Decision, FlowChange, PinEvent},
    hash::flow_hash,
    state::{BackendSlot, Flow, ModelState, Pin, NO_BACKEND},
    wire::ethernet::Ethernet,
};

/// What a packet means for its connection's flow-table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowUse {
    /// A TCP SYN without ACK: Maglev decides; an existing entry (a reused client port) is
    /// rewritten with the choice, a miss creates nothing.
    Open,
    /// Other TCP but RST: an entry decides; a miss pins Maglev's choice (guard permitting).
    Continue,
    /// The client's RST: an entry decides, then it is removed.
    Reset,
    /// UDP: as `Continue`, and an idle entry is stale.
    Datagram,
    /// An ICMP error about a flow: an entry decides; a miss pins nothing.
    Lookup,
}

/// The key form of an address: IPv6 as is, IPv4 mapped (`::ffff:a.b.c.d`).
fn key_bytes(addr: std::net::IpAddr) -> [u8; 16] {
    match addr {
        std::net::IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        std::net::IpAddr::V6(v6) => v6.octets(),
    }
}

fn maglev_pick(state: &ModelState, flow: &Flow, table: &[u32]) -> u32 {
    let hash = flow_hash(
        &key_bytes(flow.client),
        flow.client_port,
        flow.service.port,
        flow.service.proto,
        state.hash_seed,
    );
    table
        .get((hash % state.ring_size) as usize)
        .copied()
        .unwrap_or(NO_BACKEND)
}

/// The slot a pin leads to if the pin still means the server it was made for, else why not.
fn follow<'a>(
    state: &'a ModelState,
    pin: &Pin,
    flow_use: FlowUse,
) -> Result<&'a BackendSlot, PinEvent> {
    let slot = state
        .active_backend(pin.backend_id)
        .filter(|b| b.server == pin.server)
        .ok_or(PinEvent::Stale)?;
    if flow_use == FlowUse::Datagram && pin.idle {
        return Err(PinEvent::Expired);
    }
    Ok(slot)
}

pub fn balance(
    frame: &[u8],
    eth: &Ethernet,
    state: &ModelState,
    flow: Flow,
    flow_use: FlowUse,
) -> Decision {
    let Some(table) = state.services.get(&flow.service) else {
        return pass(frame, Reason::NoService);
    };
    if state.peer_macs.contains(&eth.src) {
        return pass(frame, Reason::FromPeer);
    }
    let existing = state.flows.get(&flow);
    let mut event = None;
    let followed = match existing {
        Some(pin) if flow_use != FlowUse::Open => match follow(state, pin, flow_use) {
            Ok(slot) => Some((pin.backend_id, slot)),
            Err(why) => {
                event = Some(why);
                None
            }
        },
        _ => None,
    };
    let mut change = match (flow_use, existing) {
        (FlowUse::Reset, Some(_)) => Some(FlowChange::Unpin),
        _ => None,
    };
    // A followed UDP pin is refreshed: it stays (not idle).
    if let (Some(_), Some(pin), FlowUse::Datagram) = (followed, existing, flow_use) {
        change = Some(FlowChange::Pin(Pin {
            idle: false,
            ..*pin
        }));
    }
    let (id, slot) = match followed {
        Some(chosen) => chosen,
        None => {
            let id = maglev_pick(state, &flow, table);
            let Some(slot) = state.active_backend(id) else {
                return with_flow(pass(frame, Reason::NoBackend), flow, change, event);
            };
            let pin = Pin {
                backend_id: id,
                server: slot.server,
                idle: false,
            };
            let pins_on_miss = matches!(flow_use, FlowUse::Continue | FlowUse::Datagram);
            match existing {
                Some(_) if flow_use != FlowUse::Reset => change = Some(FlowChange::Pin(pin)),
                Some(_) => {}
                None if pins_on_miss && state.pin_guard_open => {
                    change = Some(FlowChange::Pin(pin));
                    event = Some(PinEvent::Pinned);
                }
                None if pins_on_miss => event = Some(PinEvent::Refused),
                None => {}
            }
            (id, slot)
        }
    };
    let decision = if slot.local {
        pass(frame, Reason::LocalBackend)
    } else {
        let mut out = frame.to_vec();
        out[0..6].copy_from_slice(&slot.mac);
        out[6..12].copy_from_slice(&state.mac);
        tx(out, Reason::Forwarded)
    };
    let mut decision = with_flow(decision, flow, change, event);
    decision.backend = Some(id);
    decision
}

fn with_flow(
    mut decision: Decision,
    flow: Flow,
    change: Option<FlowChange>,
    event: Option<PinEvent>,
) -> Decision {
    decision.flow = Some((flow, change));
    decision.pin_event = event;
    decision
}
