//! L4 balancing: flow table, then Maglev; the chosen backend gets the frame by MAC rewrite.
use vip_common::{
    hash::flow_hash, FlowKey, FlowTarget, MacKey, Reason, ServiceKey, Settings, BACKEND_ACTIVE,
    BACKEND_LOCAL, NO_BACKEND,
};

use crate::{
    count,
    maps::{BACKENDS, FLOWS, PEER_MACS, RING, SERVICES},
    packet::EthHdr,
    verdict::{pass, tx, Verdict},
};

/// How a packet uses the flow table. Only the start of a connection creates an entry and
/// its end removes it: an entry that outlived its connection would send a later
/// connection on the same client port (balanced by another node) to the wrong backend.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum FlowUse {
    /// A TCP SYN starts a connection: Maglev decides and the choice is stored.
    New,
    /// UDP has no start: look up first; on a miss Maglev decides and the choice is stored.
    Datagram,
    /// Mid-connection TCP and ICMP errors: look up first; on a miss Maglev decides, and
    /// nothing is stored (every node's Maglev agrees, so no pin is needed).
    Continue,
    /// The client's FIN or RST: look up first, then remove the entry.
    End,
}

#[inline(always)]
fn active_backend(id: u32) -> bool {
    match BACKENDS.get(id) {
        Some(b) => b.flags & BACKEND_ACTIVE != 0,
        None => false,
    }
}

#[inline(always)]
pub fn select(
    eth: &mut EthHdr,
    settings: &Settings,
    flow: &FlowKey,
    flow_use: FlowUse,
    bytes: u64,
) -> Verdict {
    let service_key = ServiceKey {
        vip: flow.vip,
        port: flow.service_port,
        proto: flow.proto,
        _pad: 0,
    };
    let Some(service) = SERVICES.get_ptr(&service_key) else {
        return pass(Reason::NoService);
    };
    // SAFETY: map values stay valid for the program's run.
    let service = unsafe { *service };
    let peer = MacKey {
        mac: eth.src,
        _pad: [0; 2],
    };
    if PEER_MACS.get_ptr(&peer).is_some() {
        return pass(Reason::FromPeer);
    }
    let mut backend_id = NO_BACKEND;
    if flow_use != FlowUse::New {
        if let Some(target) = FLOWS.get_ptr(flow) {
            // SAFETY: as above; a concurrent LRU eviction yields a stale but valid value.
            let id = unsafe { (*target).backend_id };
            if active_backend(id) {
                backend_id = id;
            } else {
                // Its backend failed: the entry no longer means anything.
                let _ = FLOWS.remove(flow);
            }
        }
        if flow_use == FlowUse::End {
            let _ = FLOWS.remove(flow);
        }
    }
    if backend_id == NO_BACKEND {
        let hash = flow_hash(
            &flow.client,
            flow.client_port,
            flow.service_port,
            flow.proto,
            settings.hash_seed,
        );
        // checked_rem: a zero size (never written by the agent) must not become a panic path.
        let Some(offset) = hash.checked_rem(settings.ring_size) else {
            return pass(Reason::NotConfigured);
        };
        let slot = service.ring_base(settings.ring_size) + offset;
        backend_id = match RING.get(slot) {
            Some(id) => *id,
            None => NO_BACKEND,
        };
        if backend_id == NO_BACKEND {
            return pass(Reason::NoBackend);
        }
        if matches!(flow_use, FlowUse::New | FlowUse::Datagram) {
            // A full LRU evicts the oldest flow; an error here only loses stickiness.
            let _ = FLOWS.insert(
                flow,
                FlowTarget {
                    backend_id,
                    _pad: 0,
                },
                0,
            );
        }
    }
    let Some(backend) = BACKENDS.get(backend_id) else {
        return pass(Reason::NoBackend);
    };
    if backend.flags & BACKEND_ACTIVE == 0 {
        return pass(Reason::NoBackend);
    }
    count::backend(backend_id, bytes);
    if backend.flags & BACKEND_LOCAL != 0 {
        return pass(Reason::LocalBackend);
    }
    eth.dst = backend.mac;
    eth.src = settings.mac;
    tx(Reason::Forwarded)
}
