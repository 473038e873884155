//! Item 13 of issue 10: a neighbour solicitation is answered only when it passes every
//! validity check of RFC 4861 §7.1.1. One fixture per rule; each frame is a valid
//! solicitation for the VIP with exactly one defect (checksums recomputed unless the
//! checksum is the defect). Needs root.
mod support;

use std::net::Ipv6Addr;

use support::{case, run_table, Case, PASS, TX};
use vip_agent::testing::{fixture::*, frames::*};
use vip_common::Reason;

const UNSPECIFIED: Ipv6Addr = Ipv6Addr::UNSPECIFIED;
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// A solicitation with explicit IP fields and ICMPv6 body (after the reserved word).
fn solicitation(src: Ipv6Addr, dst: Ipv6Addr, code: u8, hop_limit: u8, body: &[u8]) -> Vec<u8> {
    let message = icmp(135, code, [0; 4], body, Some((src, dst)));
    eth(
        solicited_node(VIP6).1,
        CLIENT_MAC,
        ETH_IPV6,
        &ipv6(src, dst, 58, hop_limit, &message),
    )
}

fn valid_body() -> Vec<u8> {
    ns_body(VIP6, &lladdr_option(1, CLIENT_MAC))
}

fn group() -> Ipv6Addr {
    solicited_node(VIP6).0
}

fn rule_cases() -> Vec<Case> {
    let valid = solicitation(CLIENT6, group(), 0, 255, &valid_body());
    let mut bad_checksum = valid.clone();
    bad_checksum[57] ^= 0x01;
    // ICMP length 16 (the IPv6 payload length says so), the rest of the target follows
    // as trailing bytes that are not part of the packet.
    let mut short_message = solicitation(CLIENT6, group(), 0, 255, &VIP6.octets()[..8]);
    short_message.extend_from_slice(&VIP6.octets()[8..]);
    let zero_length_option = ns_body(VIP6, &[1, 0, 0, 0, 0, 0, 0, 0]);
    let slla_then_zero = ns_body(
        VIP6,
        &[lladdr_option(1, CLIENT_MAC), vec![14, 0, 1, 2, 3, 4, 5, 6]].concat(),
    );
    let multicast_target = ns_body(ALL_NODES, &[]);
    // The IPv6 payload length claims 8 bytes more than the frame carries.
    let mut overlong = solicitation(CLIENT6, group(), 0, 255, &valid_body());
    overlong[19] += 8;
    vec![
        case(
            "valid solicitation is answered",
            valid.clone(),
            TX,
            Reason::NdpAdvertised,
            Some(na_frame(
                CLIENT_MAC, OUR_MAC, VIP6, CLIENT6, 0x60, VIP6, OUR_MAC,
            )),
        ),
        case(
            "rule: icmpv6 checksum",
            bad_checksum,
            PASS,
            Reason::NdpMalformed,
            None,
        ),
        case(
            "rule: hop limit 255",
            solicitation(CLIENT6, group(), 0, 254, &valid_body()),
            PASS,
            Reason::NdpMalformed,
            None,
        ),
        case(
            "rule: icmp code 0",
            solicitation(CLIENT6, group(), 1, 255, &valid_body()),
            PASS,
            Reason::NdpMalformed,
            None,
        ),
        case(
            "rule: icmp length at least 24",
            short_message,
            PASS,
            Reason::NdpMalformed,
            None,
        ),
        case(
            "rule: ip payload length within the frame",
            overlong,
            PASS,
            Reason::NdpTruncated,
            None,
        ),
        case(
            "rule: target not multicast",
            solicitation(CLIENT6, group(), 0, 255, &multicast_target),
            PASS,
            Reason::NdpMalformed,
            None,
        ),
        case(
            "rule: option length 0",
            solicitation(CLIENT6, group(), 0, 255, &zero_length_option),
            PASS,
            Reason::NdpMalformed,
            None,
        ),
        case(
            "rule: option length 0 after a valid option",
            solicitation(CLIENT6, group(), 0, 255, &slla_then_zero),
            PASS,
            Reason::NdpMalformed,
            None,
        ),
        case(
            "rule: unspecified source has no source link-layer option",
            solicitation(UNSPECIFIED, group(), 0, 255, &valid_body()),
            PASS,
            Reason::NdpMalformed,
            None,
        ),
        case(
            "rule: unspecified source goes to the solicited-node group",
            solicitation(UNSPECIFIED, VIP6, 0, 255, &ns_body(VIP6, &[])),
            PASS,
            Reason::NdpMalformed,
            None,
        ),
        case(
            "rule: destination is the target or its solicited-node group",
            solicitation(CLIENT6, ALL_NODES, 0, 255, &valid_body()),
            PASS,
            Reason::NdpMalformed,
            None,
        ),
        case(
            "unicast solicitation to the vip (neighbour unreachability detection)",
            solicitation(CLIENT6, VIP6, 0, 255, &valid_body()),
            TX,
            Reason::NdpAdvertised,
            Some(na_frame(
                CLIENT_MAC, OUR_MAC, VIP6, CLIENT6, 0x60, VIP6, OUR_MAC,
            )),
        ),
    ]
}

#[test]
fn item13_solicitations_are_validated_per_rfc4861() {
    let mut fixture = Fixture::new().expect("load the XDP program (needs root)");
    run_table(&mut fixture, rule_cases());
}

/// Found by the fuzzer: IPv4 VIPs are keyed as IPv4-mapped addresses, so an IPv6 packet to
/// `::ffff:10.0.0.100` used to be taken for a VIP (answered, claimed, balanced). Such an
/// address denotes an IPv4 node (RFC 4291 §2.5.5.2): never an IPv6 VIP.
#[test]
fn ipv4_mapped_addresses_are_not_vips() {
    let mapped = VIP4.to_ipv6_mapped();
    let (group, group_mac) = solicited_node(mapped);
    let ns = ns_frame(
        group_mac,
        CLIENT_MAC,
        CLIENT6,
        group,
        mapped,
        &lladdr_option(1, CLIENT_MAC),
    );
    let na = na_frame(
        [0x33, 0x33, 0, 0, 0, 1],
        FOREIGN_MAC,
        mapped,
        ALL_NODES,
        0x20,
        mapped,
        FOREIGN_MAC,
    );
    let tcp_to_mapped = eth(
        OUR_MAC,
        CLIENT_MAC,
        ETH_IPV6,
        &ipv6(CLIENT6, mapped, 6, 64, &tcp(40000, SERVICE_PORT, TCP_SYN)),
    );
    let mut fixture = Fixture::new().expect("load the XDP program (needs root)");
    run_table(
        &mut fixture,
        vec![
            case(
                "ns for the ipv4-mapped vip",
                ns,
                PASS,
                Reason::NdpNotVip,
                None,
            ),
            case(
                "na for the ipv4-mapped vip",
                na,
                PASS,
                Reason::NdpNotVip,
                None,
            ),
            case(
                "tcp to the ipv4-mapped vip",
                tcp_to_mapped,
                PASS,
                Reason::NotVip,
                None,
            ),
        ],
    );
}
