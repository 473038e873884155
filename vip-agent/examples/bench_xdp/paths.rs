//! The bench's data-plane state, its frames, and the paths it times.
use std::net::Ipv4Addr;

use anyhow::{ensure, Context, Result};
use aya::{programs::Xdp, Ebpf, EbpfLoader};
use vip_agent::{
    dataplane::{object, Dataplane, DesiredState, LoadOptions},
    maglev,
    testing::{fixture::*, frames::*},
};
use vip_common::{
    checksum::{NA_FLAG_OVERRIDE, NA_FLAG_SOLICITED},
    hash::flow_hash,
    map_names, Backend, FlowKey, Reason, BACKEND_ACTIVE, DEFAULT_RING_SIZE, EMPTY_PROGRAM_NAME,
    PROTO_TCP,
};

use crate::{Args, Bench, Counted, Mode, Path, PASS, TX};

/// Bench-only backend with this node's MAC but not local: a frame forwarded to it is its
/// own output, so every repeat takes the same forwarding path (same lookups and writes).
const MIRROR: u32 = 3;
const MIRROR_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 4);

/// The fixture's configuration plus the mirror backend, every service on `table`.
fn state(fixture: &Fixture, table: &[u32]) -> DesiredState {
    let mut d = fixture.default_state();
    let mirror = Backend {
        addr: ip_key(MIRROR_IP.into()),
        mac: OUR_MAC,
        flags: BACKEND_ACTIVE,
        ..Default::default()
    };
    d.backends.insert(MIRROR, mirror);
    d.services.values_mut().for_each(|t| *t = table.to_vec());
    d
}

/// A Maglev table of the default size over backends 0..=3.
fn table(seed: u32) -> Result<Vec<u32>> {
    let ips = [BACKENDS[0].0, BACKENDS[1].0, BACKENDS[2].0, MIRROR_IP];
    let backends: Vec<maglev::Backend> = (ips.iter().zip(0..))
        .map(|(ip, id)| maglev::Backend {
            key: (*ip).into(),
            id,
        })
        .collect();
    Ok(maglev::build(&backends, DEFAULT_RING_SIZE, seed)?)
}

fn pick(table: &[u32], port: u16) -> u32 {
    let hash = flow_hash(&ip_key(CLIENT4.into()), port, SERVICE_PORT, PROTO_TCP, SEED);
    table[(hash % DEFAULT_RING_SIZE) as usize]
}

fn tcp_frame(src_mac: Mac, dst: Ipv4Addr, port: u16, flags: u8) -> Vec<u8> {
    eth(
        OUR_MAC,
        src_mac,
        ETH_IPV4,
        &ipv4(CLIENT4, dst, 6, &tcp(port, SERVICE_PORT, flags)),
    )
}

fn flow_key(client_port: u16) -> FlowKey {
    let (client, vip) = (ip_key(CLIENT4.into()), ip_key(VIP4.into()));
    let (service_port, proto) = (SERVICE_PORT, PROTO_TCP);
    FlowKey {
        client,
        vip,
        client_port,
        service_port,
        proto,
        _pad: [0; 3],
    }
}

/// Loads `vip_xdp` with the agent's default sizes and `vip_empty` (tiny maps) beside it.
fn load() -> Result<(Fixture, Ebpf)> {
    let options = LoadOptions::default();
    ensure!(
        options.ring_size == DEFAULT_RING_SIZE,
        "expected the default ring"
    );
    let dataplane = Dataplane::load(options).context("load vip_xdp (needs root)")?;
    let desired = DesiredState::default();
    let bytes = object::bytes().context("vip-agent was built without the XDP object")?;
    let mut empty = EbpfLoader::new()
        .map_max_entries(map_names::RING, 2)
        .map_max_entries(map_names::FLOWS, 2)
        .load(bytes)?;
    let program = empty.program_mut(EMPTY_PROGRAM_NAME);
    let program: &mut Xdp = program.context("no vip_empty in the object")?.try_into()?;
    program.load()?;
    Ok((Fixture { dataplane, desired }, empty))
}

/// Client ports: flow hits to backends 0, mirror and 1; new flows to 0 and mirror.
struct Ports {
    hit: [u16; 3],
    /// New connections (SYN) to 0, mirror and 1, and an unpinned flow's first ACK to 1.
    new: [u16; 4],
}

/// Stores the flows the flow-hit paths hit under one table, then switches to another that
/// sends their ports elsewhere: the backend counter then proves every timed packet took
/// the flow-table hit, not Maglev.
fn store_flows(fixture: &mut Fixture) -> Result<Ports> {
    let (stored, timed) = (table(SEED)?, table(SEED + 1)?);
    let port = |range: std::ops::Range<u16>, fits: &dyn Fn(u16) -> bool| {
        range
            .clone()
            .find(|&p| fits(p))
            .context("no client port fits")
    };
    let hit = |b| {
        port(30000..40000, &|p| {
            pick(&stored, p) == b && pick(&timed, p) != b
        })
    };
    let new = |b| port(40000..50000, &|p| pick(&timed, p) == b);
    let new_after = |b| port(50000..60000, &|p| pick(&timed, p) == b);
    let ports = Ports {
        hit: [hit(0)?, hit(MIRROR)?, hit(1)?],
        new: [new(0)?, new(MIRROR)?, new(1)?, new_after(1)?],
    };
    fixture.dataplane.apply(&state(fixture, &stored))?;
    for (port, id) in ports.hit.into_iter().zip([0, MIRROR, 1]) {
        let src = if id == MIRROR { OUR_MAC } else { CLIENT_MAC };
        fixture
            .dataplane
            .test_run(&tcp_frame(src, VIP4, port, TCP_ACK))?;
        let stored = fixture.dataplane.flow(&flow_key(port));
        ensure!(
            stored == Some(id),
            "port {port}: stored {stored:?}, expected {id}"
        );
    }
    fixture.dataplane.apply(&state(fixture, &timed))?;
    Ok(ports)
}

pub fn setup(args: Args) -> Result<(Bench, Vec<Path>)> {
    let (mut fixture, empty) = load()?;
    let ports = store_flows(&mut fixture)?;
    Ok((
        Bench {
            fixture,
            empty,
            args,
        },
        paths(&ports),
    ))
}

fn paths(ports: &Ports) -> Vec<Path> {
    use {Counted::*, Mode::*, Reason::*};
    let arp_request = eth(
        BROADCAST,
        CLIENT_MAC,
        ETH_ARP,
        &arp(1, CLIENT_MAC, CLIENT4, [0; 6], VIP4),
    );
    let arp_reply = eth(
        CLIENT_MAC,
        OUR_MAC,
        ETH_ARP,
        &arp(2, OUR_MAC, VIP4, CLIENT_MAC, CLIENT4),
    );
    let (group, group_mac) = solicited_node(VIP6);
    let option = lladdr_option(1, CLIENT_MAC);
    let ns = ns_frame(group_mac, CLIENT_MAC, CLIENT6, group, VIP6, &option);
    let flags = NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE;
    let na = na_frame(CLIENT_MAC, OUR_MAC, VIP6, CLIENT6, flags, VIP6, OUR_MAC);
    let [hit_local, hit_mirror, hit_peer] = ports.hit;
    let [new_local, new_mirror, new_peer, miss_peer] = ports.new;
    let to_peer_as = |port, flags| {
        let mut out = tcp_frame(CLIENT_MAC, VIP4, port, flags);
        out[..6].copy_from_slice(&BACKENDS[1].1);
        out[6..12].copy_from_slice(&OUR_MAC);
        out
    };
    let to_peer = tcp_frame(CLIENT_MAC, VIP4, hit_peer, TCP_ACK);
    let mut forwarded = to_peer.clone();
    forwarded[..6].copy_from_slice(&BACKENDS[1].1);
    forwarded[6..12].copy_from_slice(&OUR_MAC);
    let mirrored = |port, flags| tcp_frame(OUR_MAC, VIP4, port, flags);
    let client = |dst, port, flags| tcp_frame(CLIENT_MAC, dst, port, flags);
    vec![
        Path::new(
            "ARP request → reply (TX)",
            Calls,
            arp_request.clone(),
            Every(ArpReplied),
        )
        .out(TX, arp_reply.clone())
        .goal(1.5),
        Path::new(
            "ARP request, repeated: reply once, then reply → pass",
            Repeat,
            arp_request,
            FirstThen(ArpReplied, ArpPassed),
        )
        .out(PASS, arp_reply),
        Path::new("IPv6 NS → NA (TX)", Calls, ns.clone(), Every(NdpAdvertised)).out(TX, na.clone()),
        Path::new(
            "IPv6 NS, repeated: NA once, then NA → pass",
            Repeat,
            ns,
            FirstThen(NdpAdvertised, NdpPassed),
        )
        .out(PASS, na),
        Path::new(
            "non-VIP IPv4 → pass",
            Repeat,
            client(OTHER4, 40000, TCP_ACK),
            Every(NotVip),
        ),
        Path::new(
            "non-VIP IPv4 → pass",
            Calls,
            client(OTHER4, 40000, TCP_ACK),
            Every(NotVip),
        )
        .goal(1.1),
        Path::new(
            "VIP TCP flow hit → local backend (pass)",
            Repeat,
            client(VIP4, hit_local, TCP_ACK),
            Every(LocalBackend),
        )
        .backend(0),
        Path::new(
            "VIP TCP flow hit → local backend (pass)",
            Calls,
            client(VIP4, hit_local, TCP_ACK),
            Every(LocalBackend),
        )
        .backend(0)
        .goal(2.3),
        Path::new(
            "VIP TCP flow hit → forwarded (TX, mirror backend)",
            Repeat,
            mirrored(hit_mirror, TCP_ACK),
            Every(Forwarded),
        )
        .out(TX, mirrored(hit_mirror, TCP_ACK))
        .backend(MIRROR),
        Path::new(
            "VIP TCP flow hit → forwarded to a peer (TX)",
            Calls,
            to_peer,
            Every(Forwarded),
        )
        .out(TX, forwarded)
        .backend(1)
        .goal(2.3),
        Path::new(
            "VIP TCP new connection: SYN, Maglev (a SYN pins nothing) → local (pass)",
            Repeat,
            client(VIP4, new_local, TCP_SYN),
            Every(LocalBackend),
        )
        .backend(0),
        Path::new(
            "VIP TCP new connection: SYN, Maglev (a SYN pins nothing) → forwarded (TX, mirror)",
            Repeat,
            mirrored(new_mirror, TCP_SYN),
            Every(Forwarded),
        )
        .out(TX, mirrored(new_mirror, TCP_SYN))
        .backend(MIRROR),
        Path::new(
            "VIP TCP new connection: SYN, Maglev → forwarded to a peer (TX)",
            Calls,
            client(VIP4, new_peer, TCP_SYN),
            Every(Forwarded),
        )
        .out(TX, to_peer_as(new_peer, TCP_SYN))
        .backend(1)
        .goal(4.6),
        Path::new(
            "VIP TCP unpinned flow's first ACK: Maglev + pin → forwarded to a peer (TX)",
            Calls,
            client(VIP4, miss_peer, TCP_ACK),
            Every(Forwarded),
        )
        .out(TX, to_peer_as(miss_peer, TCP_ACK))
        .backend(1)
        .unpin_before_each(flow_key(miss_peer))
        .goal(4.6),
    ]
}
