//! L4 balancing: the flow table, then the service's Maglev table; a remote backend gets the
//! frame by Ethernet address rewrite (direct server return), the local one by the stack.
use vip_common::Reason;

use super::{pass, tx};
use crate::{
    decision::{Decision, FlowChange},
    hash::flow_hash,
    state::{Flow, ModelState, BACKEND_SLOTS, NO_BACKEND},
    wire::ethernet::Ethernet,
};

/// What a packet means for its connection's flow-table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowUse {
    /// A TCP SYN without ACK opens a connection: Maglev decides and the choice is pinned.
    Open,
    /// UDP: the entry decides; without one, Maglev decides and the choice is pinned.
    Datagram,
    /// Mid-connection TCP or an ICMP error about a flow: the entry decides; without one,
    /// Maglev decides and nothing is pinned.
    Continue,
    /// The client's FIN or RST: the entry decides, then it is removed.
    Close,
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
    let mut change = None;
    let mut chosen = None;
    if flow_use != FlowUse::Open {
        if let Some(&pinned) = state.flows.get(&flow) {
            if state.active_backend(pinned).is_some() {
                chosen = Some(pinned);
            } else {
                // The pinned backend is gone: the entry means nothing any more.
                change = Some(FlowChange::Unpin);
            }
        }
        if flow_use == FlowUse::Close {
            change = Some(FlowChange::Unpin);
        }
    }
    let id = match chosen {
        Some(id) => id,
        None => {
            let id = maglev_pick(state, &flow, table);
            if id == NO_BACKEND {
                return with_flow(pass(frame, Reason::NoBackend), flow, change);
            }
            if matches!(flow_use, FlowUse::Open | FlowUse::Datagram) {
                change = Some(FlowChange::Pin(id));
            }
            id
        }
    };
    let backend = if id < BACKEND_SLOTS {
        state.active_backend(id)
    } else {
        None
    };
    let decision = match backend {
        None => pass(frame, Reason::NoBackend),
        Some(b) if b.local => pass(frame, Reason::LocalBackend),
        Some(b) => {
            let mut out = frame.to_vec();
            out[0..6].copy_from_slice(&b.mac);
            out[6..12].copy_from_slice(&state.mac);
            tx(out, Reason::Forwarded)
        }
    };
    with_flow(decision, flow, change)
}

fn with_flow(mut decision: Decision, flow: Flow, change: Option<FlowChange>) -> Decision {
    decision.flow = Some((flow, change));
    decision
}
