//! Table-driven BPF_PROG_TEST_RUN fixtures for the announcer (ARP, neighbour discovery) and
//! for frames that must pass untouched. Needs root (BPF).
mod support;

use std::net::{Ipv4Addr, Ipv6Addr};

use support::{case, run_table, Case, PASS, TX};
use vip_agent::testing::{fixture::*, frames::*};
use vip_common::{
    checksum::{NA_FLAG_OVERRIDE, NA_FLAG_SOLICITED},
    Reason,
};

const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
const ALL_NODES_MAC: Mac = [0x33, 0x33, 0, 0, 0, 1];
const UNSPECIFIED: Ipv6Addr = Ipv6Addr::UNSPECIFIED;
const OTHER6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x77);

fn arp_request(eth_dst: Mac, spa: Ipv4Addr, tpa: Ipv4Addr) -> Vec<u8> {
    eth(
        eth_dst,
        CLIENT_MAC,
        ETH_ARP,
        &arp(1, CLIENT_MAC, spa, [0; 6], tpa),
    )
}

/// What Linux sends back for a request from CLIENT (or a probe with sender 0.0.0.0).
fn arp_reply_to(spa: Ipv4Addr) -> Vec<u8> {
    eth(
        CLIENT_MAC,
        OUR_MAC,
        ETH_ARP,
        &arp(2, OUR_MAC, VIP4, CLIENT_MAC, spa),
    )
}

fn with_arp_field(offset: usize, value: u8) -> Vec<u8> {
    let mut f = arp_request(BROADCAST, CLIENT4, VIP4);
    f[14 + offset] = value;
    f
}

fn ns(eth_dst: Mac, src: Ipv6Addr, target: Ipv6Addr, options: &[u8]) -> Vec<u8> {
    let (group, _) = solicited_node(target);
    ns_frame(eth_dst, CLIENT_MAC, src, group, target, options)
}

fn ns_to_vip() -> Vec<u8> {
    ns(
        solicited_node(VIP6).1,
        CLIENT6,
        VIP6,
        &lladdr_option(1, CLIENT_MAC),
    )
}

fn solicited_na() -> Vec<u8> {
    na_frame(
        CLIENT_MAC,
        OUR_MAC,
        VIP6,
        CLIENT6,
        NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE,
        VIP6,
        OUR_MAC,
    )
}

fn with_byte(mut frame: Vec<u8>, at: usize, value: u8) -> Vec<u8> {
    frame[at] = value;
    frame
}

fn cut(frame: Vec<u8>, len: usize) -> Vec<u8> {
    frame[..len].to_vec()
}

fn arp_cases() -> Vec<Case> {
    let gratuitous = eth(
        BROADCAST,
        FOREIGN_MAC,
        ETH_ARP,
        &arp(1, FOREIGN_MAC, VIP4, [0; 6], VIP4),
    );
    let foreign_reply = eth(
        OUR_MAC,
        FOREIGN_MAC,
        ETH_ARP,
        &arp(2, FOREIGN_MAC, VIP4, OUR_MAC, CLIENT4),
    );
    let mut cases = vec![
        case(
            "arp request broadcast",
            arp_request(BROADCAST, CLIENT4, VIP4),
            TX,
            Reason::ArpReplied,
            Some(arp_reply_to(CLIENT4)),
        ),
        case(
            "arp request unicast to us",
            arp_request(OUR_MAC, CLIENT4, VIP4),
            TX,
            Reason::ArpReplied,
            Some(arp_reply_to(CLIENT4)),
        ),
        case(
            "arp probe (sender 0.0.0.0)",
            arp_request(BROADCAST, Ipv4Addr::UNSPECIFIED, VIP4),
            TX,
            Reason::ArpReplied,
            Some(arp_reply_to(Ipv4Addr::UNSPECIFIED)),
        ),
        case(
            "arp request for another ip",
            arp_request(BROADCAST, CLIENT4, OTHER4),
            PASS,
            Reason::ArpNotVip,
            None,
        ),
        case(
            "arp request, not announcing",
            arp_request(BROADCAST, CLIENT4, VIP4),
            PASS,
            Reason::ArpNotAnnouncing,
            None,
        )
        .with(|d| d.settings.announcing = 0),
        case(
            "arp request, deadline passed",
            arp_request(BROADCAST, CLIENT4, VIP4),
            PASS,
            Reason::ArpDeadlinePassed,
            None,
        )
        .with(|d| d.settings.announce_deadline_ns = 1),
        case(
            "arp request, wrong interface",
            arp_request(BROADCAST, CLIENT4, VIP4),
            PASS,
            Reason::ArpWrongInterface,
            None,
        )
        .with(|d| d.settings.ifindex = 999),
        case(
            "arp request to another unicast mac",
            arp_request(FOREIGN_MAC, CLIENT4, VIP4),
            PASS,
            Reason::ArpNotForUs,
            None,
        ),
        case(
            "arp htype 6",
            with_arp_field(1, 6),
            PASS,
            Reason::ArpMalformed,
            None,
        ),
        case(
            "arp ptype ipv6",
            with_arp_field(2, 0x86),
            PASS,
            Reason::ArpMalformed,
            None,
        ),
        case(
            "arp hlen 8",
            with_arp_field(4, 8),
            PASS,
            Reason::ArpMalformed,
            None,
        ),
        case(
            "arp plen 16",
            with_arp_field(5, 16),
            PASS,
            Reason::ArpMalformed,
            None,
        ),
        case(
            "rarp op 3",
            with_arp_field(7, 3),
            PASS,
            Reason::ArpOtherOp,
            None,
        ),
        case(
            "gratuitous arp from a foreign mac",
            gratuitous.clone(),
            PASS,
            Reason::ArpConflict,
            None,
        ),
        case(
            "gratuitous arp seen by a follower",
            gratuitous,
            PASS,
            Reason::ArpClaimSeen,
            None,
        )
        .with(|d| d.settings.announcing = 0),
        case(
            "arp reply claiming the vip",
            foreign_reply,
            PASS,
            Reason::ArpConflict,
            None,
        ),
        case(
            "arp reply from our own mac",
            eth(
                CLIENT_MAC,
                OUR_MAC,
                ETH_ARP,
                &arp(2, OUR_MAC, VIP4, CLIENT_MAC, CLIENT4),
            ),
            PASS,
            Reason::ArpPassed,
            None,
        ),
        case(
            "arp reply about another ip",
            eth(
                BROADCAST,
                FOREIGN_MAC,
                ETH_ARP,
                &arp(2, FOREIGN_MAC, OTHER4, [0; 6], CLIENT4),
            ),
            PASS,
            Reason::ArpNotVip,
            None,
        ),
    ];
    // Cut inside the ARP header at every field boundary.
    for len in [14, 16, 18, 20, 22, 28, 32, 38, 41] {
        cases.push(case(
            "arp truncated",
            cut(arp_request(BROADCAST, CLIENT4, VIP4), len),
            PASS,
            Reason::ArpTruncated,
            None,
        ));
    }
    cases
}

fn ndp_cases() -> Vec<Case> {
    let nonce = [14, 1, 1, 2, 3, 4, 5, 6];
    let mut cases = vec![
        case(
            "ns with source lladdr",
            ns_to_vip(),
            TX,
            Reason::NdpAdvertised,
            Some(solicited_na()),
        ),
        case(
            "ns without options (frame grows)",
            ns(solicited_node(VIP6).1, CLIENT6, VIP6, &[]),
            TX,
            Reason::NdpAdvertised,
            Some(solicited_na()),
        ),
        case(
            "ns with a nonce option too (frame shrinks)",
            ns(
                solicited_node(VIP6).1,
                CLIENT6,
                VIP6,
                &[lladdr_option(1, CLIENT_MAC), nonce.to_vec()].concat(),
            ),
            TX,
            Reason::NdpAdvertised,
            Some(solicited_na()),
        ),
        case(
            "ns unicast to our mac",
            ns(OUR_MAC, CLIENT6, VIP6, &lladdr_option(1, CLIENT_MAC)),
            TX,
            Reason::NdpAdvertised,
            Some(solicited_na()),
        ),
        case(
            "dad ns (source ::)",
            ns(solicited_node(VIP6).1, UNSPECIFIED, VIP6, &[]),
            TX,
            Reason::NdpAdvertised,
            Some(na_frame(
                ALL_NODES_MAC,
                OUR_MAC,
                VIP6,
                ALL_NODES,
                NA_FLAG_OVERRIDE,
                VIP6,
                OUR_MAC,
            )),
        ),
        case(
            "ns for another target",
            ns(solicited_node(OTHER6).1, CLIENT6, OTHER6, &[]),
            PASS,
            Reason::NdpNotVip,
            None,
        ),
        case(
            "ns with hop limit 64",
            with_byte(ns_to_vip(), 21, 64),
            PASS,
            Reason::NdpMalformed,
            None,
        ),
        case(
            "ns with code 1",
            with_byte(ns_to_vip(), 55, 1),
            PASS,
            Reason::NdpMalformed,
            None,
        ),
        case(
            "ns, not announcing",
            ns_to_vip(),
            PASS,
            Reason::NdpNotAnnouncing,
            None,
        )
        .with(|d| d.settings.announcing = 0),
        case(
            "ns, deadline passed",
            ns_to_vip(),
            PASS,
            Reason::NdpDeadlinePassed,
            None,
        )
        .with(|d| d.settings.announce_deadline_ns = 1),
        case(
            "ns, wrong interface",
            ns_to_vip(),
            PASS,
            Reason::NdpWrongInterface,
            None,
        )
        .with(|d| d.settings.ifindex = 999),
        case(
            "ns to another mac",
            ns(FOREIGN_MAC, CLIENT6, VIP6, &[]),
            PASS,
            Reason::NdpNotForUs,
            None,
        ),
        case(
            "na claiming the vip",
            na_frame(
                ALL_NODES_MAC,
                FOREIGN_MAC,
                VIP6,
                ALL_NODES,
                NA_FLAG_OVERRIDE,
                VIP6,
                FOREIGN_MAC,
            ),
            PASS,
            Reason::NdpConflict,
            None,
        ),
        case(
            "na claim seen by a follower",
            na_frame(
                ALL_NODES_MAC,
                FOREIGN_MAC,
                VIP6,
                ALL_NODES,
                NA_FLAG_OVERRIDE,
                VIP6,
                FOREIGN_MAC,
            ),
            PASS,
            Reason::NdpClaimSeen,
            None,
        )
        .with(|d| d.settings.announcing = 0),
        case(
            "na with our own mac",
            na_frame(
                ALL_NODES_MAC,
                OUR_MAC,
                VIP6,
                ALL_NODES,
                NA_FLAG_OVERRIDE,
                VIP6,
                OUR_MAC,
            ),
            PASS,
            Reason::NdpPassed,
            None,
        ),
        case(
            "na about another address",
            na_frame(
                ALL_NODES_MAC,
                FOREIGN_MAC,
                OTHER6,
                ALL_NODES,
                NA_FLAG_OVERRIDE,
                OTHER6,
                FOREIGN_MAC,
            ),
            PASS,
            Reason::NdpNotVip,
            None,
        ),
    ];
    // Cut inside the IPv6 header, the ICMPv6 header and the target.
    cases.push(case(
        "ipv6 truncated",
        cut(ns_to_vip(), 40),
        PASS,
        Reason::Ipv6Truncated,
        None,
    ));
    cases.push(case(
        "ipv6 truncated at the icmp header",
        cut(ns_to_vip(), 54),
        PASS,
        Reason::NotVip,
        None,
    ));
    for len in [62, 70, 77] {
        cases.push(case(
            "ns truncated in the target",
            cut(ns_to_vip(), len),
            PASS,
            Reason::NdpTruncated,
            None,
        ));
    }
    cases
}

fn pass_through_cases() -> Vec<Case> {
    let arp_req = arp_request(BROADCAST, CLIENT4, VIP4);
    let tagged = |tpid: u16| {
        let mut f = arp_req[..12].to_vec();
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&[0, 10]);
        f.extend_from_slice(&arp_req[12..]);
        f
    };
    vec![
        case(
            "802.1Q tagged arp",
            tagged(0x8100),
            PASS,
            Reason::VlanTagged,
            None,
        ),
        case(
            "802.1AD tagged arp",
            tagged(0x88a8),
            PASS,
            Reason::VlanTagged,
            None,
        ),
        case(
            "lldp",
            eth([0x01, 0x80, 0xc2, 0, 0, 0x0e], CLIENT_MAC, 0x88cc, &[0; 46]),
            PASS,
            Reason::OtherEtherType,
            None,
        ),
        case(
            "ipv4 udp to another host",
            eth(
                OUR_MAC,
                CLIENT_MAC,
                ETH_IPV4,
                &ipv4(CLIENT4, OTHER4, 17, &udp(5353, 53, &[1; 18])),
            ),
            PASS,
            Reason::NotVip,
            None,
        ),
        case(
            "ipv6 tcp to another host",
            eth(
                OUR_MAC,
                CLIENT_MAC,
                ETH_IPV6,
                &ipv6(CLIENT6, OTHER6, 6, 64, &tcp(40000, 6443, TCP_SYN)),
            ),
            PASS,
            Reason::NotVip,
            None,
        ),
        case(
            "eth header only",
            eth(OUR_MAC, CLIENT_MAC, ETH_IPV4, &[]),
            PASS,
            Reason::Ipv4Truncated,
            None,
        ),
    ]
}

#[test]
fn announcer_fixtures() {
    let mut fixture = Fixture::new().expect("load the XDP program (needs root)");
    let cases: Vec<Case> = [arp_cases(), ndp_cases(), pass_through_cases()]
        .into_iter()
        .flatten()
        .collect();
    assert!(cases.len() >= 25);
    run_table(&mut fixture, cases);
}

/// Before the agent's first write, the program passes everything.
#[test]
fn unconfigured_program_passes_everything() {
    let dataplane =
        vip_agent::dataplane::Dataplane::load(Default::default()).expect("load (needs root)");
    let frame = arp_request(BROADCAST, CLIENT4, VIP4);
    let (action, out) = dataplane.test_run(&frame).expect("test_run");
    assert_eq!((action, out), (PASS, frame));
    let counted = dataplane.reason_totals().expect("counters");
    assert!(
        counted
            .iter()
            .all(|(r, c)| (c.packets == 1) == (*r == Reason::NotConfigured)),
        "{counted:?}"
    );
}
