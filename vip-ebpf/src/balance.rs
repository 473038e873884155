//! L4 balancing: flow table, then Maglev; the chosen backend gets the frame by MAC rewrite.
//!
//! Pins: every node builds the same Maglev ring, so a pin only matters once the ring
//! changes under a connection. A SYN never creates an entry (a SYN flood cannot evict
//! anything); the first other packet of a flow that misses pins Maglev's choice, behind a
//! per-CPU new-pin guard; only RST unpins, everything else ages out of the LRU table.
use aya_ebpf::helpers::bpf_ktime_get_coarse_ns;
use vip_common::{
    hash::flow_hash, Backend, FlowKey, FlowTarget, MacKey, Reason, ServiceKey, Settings,
    BACKEND_ACTIVE, BACKEND_LOCAL, MAX_INLINE_PEERS, NO_BACKEND, RING_CHUNK_SLOTS,
};

use crate::{
    maps::{BACKENDS, FLOWS, FLOW_GUARD, PEER_MACS, RING},
    packet::{EthHdr, IPPROTO_UDP},
    verdict::{pass, tx, Verdict},
};

/// How a packet uses the flow table.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum FlowUse {
    /// A TCP SYN opens a connection: Maglev decides. An existing pin on the same tuple
    /// (a reused client port) is re-pinned in place; a miss creates nothing.
    Open,
    /// Any other TCP segment but RST: a pin is followed; a miss pins Maglev's choice.
    Continue,
    /// The client's RST: a pin is followed, then removed.
    Reset,
    /// UDP: like `Continue`, and a pin idle for `Settings::udp_idle_ns` is decided again.
    Datagram,
    /// ICMP errors about a flow: a pin is followed; a miss pins nothing.
    Lookup,
}

/// Whether a frame from `mac` was already balanced by a peer node.
#[inline(always)]
fn from_peer(settings: &Settings, mac: &[u8; 6]) -> bool {
    if settings.is_inline_peer(mac) {
        return true;
    }
    // Only clusters with more peers than fit inline pay for the hash lookup.
    settings.peer_count as usize > MAX_INLINE_PEERS
        && PEER_MACS
            .get_ptr(&MacKey {
                mac: *mac,
                _pad: [0; 2],
            })
            .is_some()
}

/// A usable backend: allocated and active.
#[inline(always)]
fn active(id: u32) -> Option<&'static Backend> {
    let backend = BACKENDS.get(id)?;
    if backend.flags & BACKEND_ACTIVE == 0 {
        return None;
    }
    Some(backend)
}

#[inline(always)]
fn now_ns() -> u64 {
    // SAFETY: a helper call without arguments.
    unsafe { bpf_ktime_get_coarse_ns() }
}

/// Whether this CPU may create one more pin now (token bucket), counting the outcome.
#[inline(always)]
fn admit_pin(settings: &Settings) -> bool {
    let Some(guard) = FLOW_GUARD.get_ptr_mut(0) else {
        return true;
    };
    // SAFETY: per-CPU array values are exclusive to this CPU while the program runs.
    let guard = unsafe { &mut *guard };
    let interval = settings.pin_interval_ns;
    if interval != 0 {
        let now = now_ns();
        let burst = settings.pin_burst as u64;
        if guard.credited_ns == 0 {
            // First use on this CPU: a full bucket.
            guard.tokens = burst;
            guard.credited_ns = now;
        }
        let earned = now.saturating_sub(guard.credited_ns) / interval;
        if earned != 0 {
            guard.tokens = if guard.tokens + earned > burst {
                burst
            } else {
                guard.tokens + earned
            };
            guard.credited_ns += earned * interval;
        }
        if guard.tokens == 0 {
            guard.refused += 1;
            return false;
        }
        guard.tokens -= 1;
    }
    guard.pinned += 1;
    true
}

#[inline(always)]
fn count_stale(expired: bool) {
    if let Some(guard) = FLOW_GUARD.get_ptr_mut(0) {
        // SAFETY: as in `admit_pin`.
        unsafe {
            if expired {
                (*guard).expired += 1;
            } else {
                (*guard).stale += 1;
            }
        }
    }
}

/// The backend a pin points at, if the pin still means that server.
#[inline(always)]
fn follow(
    target: &mut FlowTarget,
    flow_use: FlowUse,
    settings: &Settings,
) -> Option<&'static Backend> {
    let Some(backend) = active(target.backend_id).filter(|b| b.tag == target.backend_tag) else {
        count_stale(false);
        return None;
    };
    if flow_use == FlowUse::Datagram {
        let now = now_ns();
        if now.saturating_sub(target.seen_ns) > settings.udp_idle_ns {
            count_stale(true);
            return None;
        }
        target.seen_ns = now;
    }
    Some(backend)
}

#[inline(always)]
pub fn select(eth: &mut EthHdr, settings: &Settings, flow: &FlowKey, flow_use: FlowUse) -> Verdict {
    let service_key = ServiceKey {
        vip: flow.vip,
        port: flow.service_port,
        proto: flow.proto,
        _pad: 0,
    };
    let Some(service) = settings.service(&service_key) else {
        return pass(Reason::NoService);
    };
    if from_peer(settings, &eth.src) {
        return pass(Reason::FromPeer);
    }
    // SAFETY: map values stay valid for the program's run; a concurrent LRU eviction
    // leaves a stale but valid value.
    let pin = FLOWS.get_ptr_mut(flow).map(|t| unsafe { &mut *t });
    let mut followed = None;
    let mut stale_pin = None;
    if let Some(target) = pin {
        if flow_use == FlowUse::Open {
            stale_pin = Some(target);
        } else {
            match follow(target, flow_use, settings) {
                Some(backend) => followed = Some((target.backend_id, backend)),
                None => stale_pin = Some(target),
            }
        }
    }
    if flow_use == FlowUse::Reset {
        let _ = FLOWS.remove(flow);
    }
    let (backend_id, backend) = match followed {
        Some(chosen) => chosen,
        None => {
            let hash = flow_hash(
                &flow.client,
                flow.client_port,
                flow.service_port,
                flow.proto,
                settings.hash_seed,
            );
            // checked_rem: a zero size (never written by the agent) must not panic.
            let Some(offset) = hash.checked_rem(settings.ring_size) else {
                return pass(Reason::NotConfigured);
            };
            let chunk = service.ring_base(settings.ring_chunks) + offset / RING_CHUNK_SLOTS;
            let id = match RING.get(chunk) {
                Some(chunk) => chunk.slots[(offset % RING_CHUNK_SLOTS) as usize],
                None => NO_BACKEND,
            };
            let Some(backend) = active(id) else {
                return pass(Reason::NoBackend);
            };
            pin_choice(flow, flow_use, settings, stale_pin, id, backend);
            (id, backend)
        }
    };
    if backend.flags & BACKEND_LOCAL != 0 {
        return pass(Reason::LocalBackend).for_backend(backend_id);
    }
    eth.dst = backend.mac;
    eth.src = settings.mac;
    tx(Reason::Forwarded).for_backend(backend_id)
}

/// Records Maglev's choice: in place over an existing (stale or reused) entry, which
/// takes no room; as a new entry only when the flow use pins on a miss and the guard
/// admits it.
#[inline(always)]
fn pin_choice(
    flow: &FlowKey,
    flow_use: FlowUse,
    settings: &Settings,
    existing: Option<&mut FlowTarget>,
    id: u32,
    backend: &Backend,
) {
    // UDP pins age by last use, also when an ICMP error about the flow writes them;
    // TCP pins live until RST or LRU eviction and need no clock.
    let seen_ns = if flow.proto == IPPROTO_UDP {
        now_ns()
    } else {
        0
    };
    match existing {
        Some(target) if flow_use != FlowUse::Reset => {
            target.backend_id = id;
            target.backend_tag = backend.tag;
            target.seen_ns = seen_ns;
        }
        Some(_) => {}
        None => {
            if matches!(flow_use, FlowUse::Continue | FlowUse::Datagram) && admit_pin(settings) {
                // A full LRU evicts its oldest entry; an error only loses stickiness.
                let _ = FLOWS.insert(
                    flow,
                    FlowTarget {
                        backend_id: id,
                        backend_tag: backend.tag,
                        seen_ns,
                    },
                    0,
                );
            }
        }
    }
}
