//! Random map states: leader or not, deadline passed or not, 0–64 backends (local or
//! remote, healthy or not), rings with holes, peers, and pinned flows.
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use vip_model::{
    state::{BACKEND_SLOTS, NO_BACKEND},
    BackendSlot, Flow, ModelState, Pin, Service,
};

use super::universe::{
    backend_mac, CLIENT4, CLIENT6, CLIENT_PORTS, OUR_MAC, RING_SIZE, SERVICE_PORTS, VIP4, VIP6,
};
use crate::rng::Rng;

/// Half the SERVICES map: while the agent moves from one state to the next, both sets are
/// in the map for a moment.
const MAX_SERVICES_PER_STATE: usize = 8;

pub fn state(rng: &mut Rng) -> ModelState {
    let vips = vips(rng);
    let backends = backends(rng);
    let services = services(rng, &vips, &backends);
    let peer_macs = backends
        .iter()
        .filter(|(_, b)| !b.local && rng.chance(70))
        .map(|(_, b)| b.mac)
        .collect();
    let mut state = ModelState {
        configured: true,
        announcing: rng.chance(70),
        deadline_passed: rng.chance(20),
        on_announce_interface: rng.chance(90),
        pin_guard_open: rng.chance(80),
        mac: OUR_MAC,
        hash_seed: rng.next_u64() as u32,
        ring_size: RING_SIZE,
        vips,
        services,
        backends,
        peer_macs,
        flows: BTreeMap::new(),
        mimic: Default::default(),
    };
    state.flows = flows(rng, &state);
    state
}

fn vips(rng: &mut Rng) -> BTreeSet<IpAddr> {
    let all: Vec<IpAddr> = VIP4
        .iter()
        .map(|v| IpAddr::V4(*v))
        .chain(VIP6.iter().map(|v| IpAddr::V6(*v)))
        .collect();
    // Usually the first VIP of each family, the one frames aim at most.
    all.iter()
        .enumerate()
        .filter(|(i, _)| {
            if *i % 3 == 0 {
                rng.chance(90)
            } else {
                rng.chance(40)
            }
        })
        .map(|(_, v)| *v)
        .collect()
}

fn backends(rng: &mut Rng) -> BTreeMap<u32, BackendSlot> {
    let count = match rng.below(10) {
        0 => 0,
        1 => 64,
        _ => 1 + rng.below(7),
    };
    let local = rng.below(count.max(1) + 1);
    (0..count)
        .map(|i| {
            // Ids are mostly dense from 0, sometimes sparse.
            let id = if rng.chance(80) {
                i as u32
            } else {
                rng.below(BACKEND_SLOTS as usize) as u32
            };
            let slot = BackendSlot {
                server: server(id, 0),
                mac: backend_mac(id),
                active: rng.chance(85),
                local: i == local,
            };
            (id, slot)
        })
        .collect()
}

fn services(
    rng: &mut Rng,
    vips: &BTreeSet<IpAddr>,
    backends: &BTreeMap<u32, BackendSlot>,
) -> BTreeMap<Service, Vec<u32>> {
    let ids: Vec<u32> = backends.keys().copied().collect();
    let mut services = BTreeMap::new();
    for &vip in vips {
        for _ in 0..rng.below(4) {
            if services.len() == MAX_SERVICES_PER_STATE {
                break;
            }
            let service = Service {
                vip,
                port: *rng.pick(&SERVICE_PORTS),
                proto: if rng.chance(75) { 6 } else { 17 },
            };
            let table = (0..RING_SIZE)
                .map(|_| match rng.below(40) {
                    0 => NO_BACKEND,
                    1 => rng.below(300) as u32,
                    _ if ids.is_empty() => NO_BACKEND,
                    _ => *rng.pick(&ids),
                })
                .collect();
            services.insert(service, table);
        }
    }
    services
}

pub fn client(rng: &mut Rng, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(*rng.pick(&CLIENT6))
    } else {
        IpAddr::V4(*rng.pick(&CLIENT4))
    }
}

/// The address of the server in slot `id`; `generation` 1 is the one it held before.
fn server(id: u32, generation: u8) -> IpAddr {
    IpAddr::V4(std::net::Ipv4Addr::new(
        10,
        1 + generation,
        (id >> 8) as u8,
        id as u8,
    ))
}

fn flows(rng: &mut Rng, state: &ModelState) -> BTreeMap<Flow, Pin> {
    let services: Vec<Service> = state.services.keys().copied().collect();
    let ids: Vec<u32> = state.backends.keys().copied().collect();
    if services.is_empty() {
        return BTreeMap::new();
    }
    (0..rng.below(16))
        .map(|_| {
            let service = *rng.pick(&services);
            let flow = Flow {
                client: client(rng, service.vip.is_ipv6()),
                client_port: *rng.pick(&CLIENT_PORTS),
                service,
            };
            let id = if ids.is_empty() || rng.chance(10) {
                rng.below(256) as u32
            } else {
                *rng.pick(&ids)
            };
            let pin = Pin {
                backend_id: id,
                // Sometimes a pin to the server the slot held before (a reused id).
                server: server(id, u8::from(rng.chance(15))),
                idle: service.proto == 17 && rng.chance(25),
            };
            (flow, pin)
        })
        .collect()
}
