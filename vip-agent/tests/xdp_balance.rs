//! Table-driven BPF_PROG_TEST_RUN fixtures for in-kernel balancing: Maglev picks, the flow
//! table, local delivery, ICMP errors, and every malformed or foreign frame. Needs root.
mod support;

use std::net::{Ipv4Addr, Ipv6Addr};

use support::{case, run_table, tcp4, Case, PASS, TX};
use vip_agent::testing::{fixture::*, frames::*};
use vip_common::{FlowKey, Reason, NO_BACKEND, PROTO_TCP};

fn syn4(port: u16) -> Vec<u8> {
    eth(
        OUR_MAC,
        CLIENT_MAC,
        ETH_IPV4,
        &ipv4(CLIENT4, VIP4, 6, &tcp(port, SERVICE_PORT, TCP_SYN)),
    )
}

fn syn6(port: u16) -> Vec<u8> {
    eth(
        OUR_MAC,
        CLIENT_MAC,
        ETH_IPV6,
        &ipv6(CLIENT6, VIP6, 6, 64, &tcp(port, SERVICE_PORT, TCP_SYN)),
    )
}

/// The frame as it leaves for `backend`: only the Ethernet addresses change.
fn forwarded(frame: &[u8], backend: u32) -> Vec<u8> {
    let mut out = frame.to_vec();
    out[..6].copy_from_slice(&BACKENDS[backend as usize].1);
    out[6..12].copy_from_slice(&OUR_MAC);
    out
}

/// ICMP "fragmentation needed" from a router about a segment the backend sent from the VIP.
fn frag_needed(client_port: u16, inner_src: Ipv4Addr) -> Vec<u8> {
    let quoted = ipv4(
        inner_src,
        CLIENT4,
        6,
        &tcp(SERVICE_PORT, client_port, TCP_ACK)[..8],
    );
    let router = Ipv4Addr::new(10, 0, 0, 254);
    let message = icmp(3, 4, [0, 0, 0x05, 0xdc], &quoted, None);
    eth(
        OUR_MAC,
        CLIENT_MAC,
        ETH_IPV4,
        &ipv4(router, VIP4, 1, &message),
    )
}

fn packet_too_big(client_port: u16) -> Vec<u8> {
    let router = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xfe);
    let quoted = ipv6(
        VIP6,
        CLIENT6,
        6,
        64,
        &tcp(SERVICE_PORT, client_port, TCP_ACK)[..8],
    );
    let message = icmp(2, 0, 1280u32.to_be_bytes(), &quoted, Some((router, VIP6)));
    eth(
        OUR_MAC,
        CLIENT_MAC,
        ETH_IPV6,
        &ipv6(router, VIP6, 58, 64, &message),
    )
}

fn table_cases() -> Vec<Case> {
    let [p0, p1, p2] = TCP4_PORTS;
    let u2 = UDP4_PORTS[2];
    let v6 = TCP6_PORTS[1];
    let udp_frame = eth(
        OUR_MAC,
        CLIENT_MAC,
        ETH_IPV4,
        &ipv4(CLIENT4, VIP4, 17, &udp(u2, SERVICE_PORT, b"ping")),
    );
    let options = [0x94, 0x04, 0, 0]; // router alert
    let with_options = eth(
        OUR_MAC,
        CLIENT_MAC,
        ETH_IPV4,
        &ipv4_with(
            CLIENT4,
            VIP4,
            6,
            &options,
            0x4000,
            &tcp(p1, SERVICE_PORT, TCP_SYN),
        ),
    );
    let fragment = |frag| {
        eth(
            OUR_MAC,
            CLIENT_MAC,
            ETH_IPV4,
            &ipv4_with(CLIENT4, VIP4, 6, &[], frag, &tcp(p1, SERVICE_PORT, TCP_SYN)),
        )
    };
    let mut bad_version = syn4(p1);
    bad_version[14] = 0x65;
    let mut short_ihl = syn4(p1);
    short_ihl[14] = 0x44;
    let from_peer = {
        let mut f = syn4(p1);
        f[6..12].copy_from_slice(&BACKENDS[2].1);
        f
    };
    let hop_by_hop = eth(
        OUR_MAC,
        CLIENT_MAC,
        ETH_IPV6,
        &ipv6(CLIENT6, VIP6, 0, 64, &[6, 0, 1, 4, 0, 0, 0, 0]),
    );
    let echo = eth(
        OUR_MAC,
        CLIENT_MAC,
        ETH_IPV4,
        &ipv4(CLIENT4, VIP4, 1, &icmp(8, 0, [0, 1, 0, 1], b"hello", None)),
    );
    let mut cases = vec![
        case(
            "syn to backend 1",
            syn4(p1),
            TX,
            Reason::Forwarded,
            Some(forwarded(&syn4(p1), 1)),
        ),
        case(
            "syn to backend 2",
            syn4(p2),
            TX,
            Reason::Forwarded,
            Some(forwarded(&syn4(p2), 2)),
        ),
        case(
            "syn to the local backend",
            syn4(p0),
            PASS,
            Reason::LocalBackend,
            None,
        ),
        case(
            "ack without a flow entry follows maglev",
            tcp4(p2, TCP_ACK),
            TX,
            Reason::Forwarded,
            Some(forwarded(&tcp4(p2, TCP_ACK), 2)),
        ),
        case(
            "rst follows maglev",
            tcp4(p1, TCP_RST | TCP_ACK),
            TX,
            Reason::Forwarded,
            Some(forwarded(&tcp4(p1, TCP_RST | TCP_ACK), 1)),
        ),
        case(
            "udp to the service",
            udp_frame.clone(),
            TX,
            Reason::Forwarded,
            Some(forwarded(&udp_frame, 2)),
        ),
        case(
            "ipv4 options are skipped",
            with_options.clone(),
            TX,
            Reason::Forwarded,
            Some(forwarded(&with_options, 1)),
        ),
        case(
            "ipv6 syn",
            syn6(v6),
            TX,
            Reason::Forwarded,
            Some(forwarded(&syn6(v6), 1)),
        ),
        case(
            "icmp frag needed follows its flow",
            frag_needed(p2, VIP4),
            TX,
            Reason::Forwarded,
            Some(forwarded(&frag_needed(p2, VIP4), 2)),
        ),
        case(
            "icmpv6 packet too big follows its flow",
            packet_too_big(v6),
            TX,
            Reason::Forwarded,
            Some(forwarded(&packet_too_big(v6), 1)),
        ),
        case(
            "icmp frag needed about a non-vip packet",
            frag_needed(p2, OTHER4),
            PASS,
            Reason::IcmpBadInner,
            None,
        ),
        case(
            "icmp frag needed with a cut quote",
            cut(frag_needed(p2, VIP4), 14 + 20 + 8 + 20 + 2),
            PASS,
            Reason::IcmpBadInner,
            None,
        ),
        case(
            "icmpv6 packet too big with a cut quote",
            cut(packet_too_big(v6), 14 + 40 + 8 + 40 + 2),
            PASS,
            Reason::IcmpBadInner,
            None,
        ),
        case("icmp echo to the vip", echo, PASS, Reason::IcmpOther, None),
        case(
            "another port",
            tcp_port(9999),
            PASS,
            Reason::NoService,
            None,
        ),
        case(
            "more fragments",
            fragment(0x2000),
            PASS,
            Reason::Ipv4Fragment,
            None,
        ),
        case(
            "fragment offset",
            fragment(0x0010),
            PASS,
            Reason::Ipv4Fragment,
            None,
        ),
        case(
            "ip version 6 in an ipv4 frame",
            bad_version,
            PASS,
            Reason::Ipv4BadHeader,
            None,
        ),
        case("ihl below 5", short_ihl, PASS, Reason::Ipv4BadHeader, None),
        case("from a peer node", from_peer, PASS, Reason::FromPeer, None),
        case(
            "flooded to another mac",
            with_dst(syn4(p1), FOREIGN_MAC),
            PASS,
            Reason::NotOurMac,
            None,
        ),
        case(
            "ipv6 hop-by-hop header",
            hop_by_hop,
            PASS,
            Reason::Ipv6OtherNextHeader,
            None,
        ),
        case(
            "gre to the vip",
            eth(
                OUR_MAC,
                CLIENT_MAC,
                ETH_IPV4,
                &ipv4(CLIENT4, VIP4, 47, &[0; 8]),
            ),
            PASS,
            Reason::VipOtherProtocol,
            None,
        ),
        case(
            "service without healthy backends",
            syn4(p1),
            PASS,
            Reason::NoBackend,
            None,
        )
        .with(|d| d.services.values_mut().for_each(|t| t.fill(NO_BACKEND))),
        case(
            "only backend 2 healthy",
            syn4(p1),
            TX,
            Reason::Forwarded,
            Some(forwarded(&syn4(p1), 2)),
        )
        .with(|d| d.services.values_mut().for_each(|t| *t = ring(&[2]))),
    ];
    // Cut in the IPv4 header, the TCP header and the UDP header.
    for len in [14, 20, 33] {
        cases.push(case(
            "ipv4 truncated",
            cut(syn4(p1), len),
            PASS,
            Reason::Ipv4Truncated,
            None,
        ));
    }
    for len in [34, 38, 47, 53] {
        cases.push(case(
            "tcp truncated",
            cut(syn4(p1), len),
            PASS,
            Reason::L4Truncated,
            None,
        ));
    }
    cases.push(case(
        "udp truncated",
        cut(udp_frame, 41),
        PASS,
        Reason::L4Truncated,
        None,
    ));
    cases.push(case(
        "ipv6 tcp truncated",
        cut(syn6(v6), 70),
        PASS,
        Reason::L4Truncated,
        None,
    ));
    cases.push(case(
        "ipv6 truncated",
        cut(syn6(v6), 53),
        PASS,
        Reason::Ipv6Truncated,
        None,
    ));
    cases
}

fn tcp_port(service_port: u16) -> Vec<u8> {
    eth(
        OUR_MAC,
        CLIENT_MAC,
        ETH_IPV4,
        &ipv4(CLIENT4, VIP4, 6, &tcp(40000, service_port, TCP_SYN)),
    )
}

fn with_dst(mut frame: Vec<u8>, dst: Mac) -> Vec<u8> {
    frame[..6].copy_from_slice(&dst);
    frame
}

fn cut(frame: Vec<u8>, len: usize) -> Vec<u8> {
    frame[..len].to_vec()
}

#[test]
fn balancer_fixtures() {
    let mut fixture = Fixture::new().expect("load the XDP program (needs root)");
    let cases = table_cases();
    assert!(cases.len() >= 25);
    run_table(&mut fixture, cases);
}

fn flow(client_port: u16) -> FlowKey {
    FlowKey {
        client: ip_key(CLIENT4.into()),
        vip: ip_key(VIP4.into()),
        client_port,
        service_port: SERVICE_PORT,
        proto: PROTO_TCP,
        _pad: [0; 3],
    }
}

/// An established flow keeps its backend when the table changes under it; a new
/// connection (SYN) on the same tuple follows the new table and re-pins.
#[test]
fn flow_table_survives_table_changes() {
    let mut f = Fixture::new().expect("load (needs root)");
    let port = TCP4_PORTS[1];
    let (action, out, _) = f.run(&tcp4(port, TCP_ACK)).unwrap();
    assert_eq!((action, out), (TX, forwarded(&tcp4(port, TCP_ACK), 1)));
    assert_eq!(f.dataplane.flow(&flow(port)), Some(1));

    // Backend 1 leaves the ring (still active): the ring without it sends the port to
    // backend 0 (golden value), but the pinned connection stays on 1.
    f.with(|d| d.services.values_mut().for_each(|t| *t = ring(&[0, 2])))
        .unwrap();
    let (action, out, counted) = f.run(&tcp4(port, TCP_ACK | TCP_PSH)).unwrap();
    assert_eq!(
        (action, out, counted),
        (
            TX,
            forwarded(&tcp4(port, TCP_ACK | TCP_PSH), 1),
            vec![Reason::Forwarded]
        )
    );

    // A new SYN on the same tuple is a new connection: the ring decides (backend 0, the
    // local one) and the pin follows.
    let (action, _, counted) = f.run(&syn4(port)).unwrap();
    assert_eq!((action, counted), (PASS, vec![Reason::LocalBackend]));
    assert_eq!(f.dataplane.flow(&flow(port)), Some(0));

    // RST never stores a flow.
    let rst_port = port.wrapping_add(1);
    f.run(&tcp4(rst_port, TCP_RST)).unwrap();
    assert_eq!(f.dataplane.flow(&flow(rst_port)), None);
}

/// A pinned flow whose backend turns unhealthy (inactive) is re-hashed and re-pinned, not
/// black-holed.
#[test]
fn flow_to_an_inactive_backend_is_rehashed() {
    let mut f = Fixture::new().expect("load (needs root)");
    let port = TCP4_PORTS[1];
    f.run(&tcp4(port, TCP_ACK)).unwrap();
    f.with(|d| {
        d.backends.get_mut(&1).unwrap().flags = 0;
        d.services.values_mut().for_each(|t| *t = ring(&[0, 2]));
    })
    .unwrap();
    let (action, _, counted) = f.run(&tcp4(port, TCP_ACK)).unwrap();
    assert_eq!((action, counted), (PASS, vec![Reason::LocalBackend]));
    assert_eq!(f.dataplane.flow(&flow(port)), Some(0));
}

/// Per-backend counters count packets and bytes of forwarded and local frames.
#[test]
fn backend_counters_count_packets_and_bytes() {
    let f = Fixture::new().expect("load (needs root)");
    let port = TCP4_PORTS[2];
    for _ in 0..3 {
        f.run(&syn4(port)).unwrap();
    }
    let c = f.backend_counter(2).unwrap();
    assert_eq!((c.packets, c.bytes), (3, 3 * syn4(port).len() as u64));
    assert_eq!(f.backend_counter(1).unwrap().packets, 0);
}
