//! IPv6 to a VIP: TCP/UDP to a service, ICMPv6 "packet too big" (RFC 4443 §3.2) about a
//! packet a backend sent from the VIP, and neighbour discovery. Extension headers are not
//! walked: a VIP packet with one goes to the stack.
use std::net::IpAddr;

use vip_common::Reason;

use super::{
    balance::{balance, FlowUse},
    ipv4::transport_flow,
    ndp, pass,
};
use crate::{
    decision::Decision,
    state::{Flow, ModelState, Service},
    wire::{
        ethernet::{Ethernet, HEADER_LEN},
        ipv4::{PROTO_TCP, PROTO_UDP},
        ipv6::{self, NEXT_ICMPV6},
        transport::{self, ICMP_HEADER_LEN},
    },
};

pub const L4: usize = HEADER_LEN + ipv6::HEADER_LEN;
const PACKET_TOO_BIG: u8 = 2;
const NEIGHBOR_SOLICITATION: u8 = 135;
const NEIGHBOR_ADVERTISEMENT: u8 = 136;

pub fn decide(frame: &[u8], eth: &Ethernet, state: &ModelState) -> Decision {
    let Some(ip) = ipv6::parse(frame, HEADER_LEN) else {
        return pass(frame, Reason::Ipv6Truncated);
    };
    let vip = state.ipv6_address(ip.dst);
    if ip.next_header == NEXT_ICMPV6 {
        // Solicitations go to a multicast group, not to the VIP: looked at before the VIP.
        match transport::icmp(frame, L4) {
            None if state.is_vip(vip) => return pass(frame, Reason::L4Truncated),
            None => return pass(frame, Reason::NotVip),
            Some(icmp) if icmp.kind == NEIGHBOR_SOLICITATION => {
                return ndp::solicitation(frame, eth, &ip, state)
            }
            Some(icmp) if icmp.kind == NEIGHBOR_ADVERTISEMENT => {
                return ndp::advertisement(frame, state)
            }
            Some(_) => {}
        }
    }
    if !state.is_vip(vip) {
        return pass(frame, Reason::NotVip);
    }
    if eth.dst != state.mac {
        return pass(frame, Reason::NotOurMac);
    }
    let client = state.ipv6_address(ip.src);
    match ip.next_header {
        PROTO_TCP | PROTO_UDP => transport_flow(frame, eth, state, L4, ip.next_header, client, vip),
        NEXT_ICMPV6 => packet_too_big(frame, eth, state, vip),
        _ => pass(frame, Reason::Ipv6OtherNextHeader),
    }
}

/// The quoted header is the backend's packet: from the VIP to the client, ports reversed.
fn packet_too_big(frame: &[u8], eth: &Ethernet, state: &ModelState, vip: IpAddr) -> Decision {
    let Some(icmp) = transport::icmp(frame, L4) else {
        return pass(frame, Reason::L4Truncated);
    };
    if icmp.kind != PACKET_TOO_BIG {
        return pass(frame, Reason::IcmpOther);
    }
    let quoted_at = L4 + ICMP_HEADER_LEN;
    let Some(quoted) = ipv6::parse(frame, quoted_at) else {
        return pass(frame, Reason::IcmpBadInner);
    };
    if state.ipv6_address(quoted.src) != vip
        || (quoted.next_header != PROTO_TCP && quoted.next_header != PROTO_UDP)
    {
        return pass(frame, Reason::IcmpBadInner);
    }
    let Some(ports) = transport::ports(frame, quoted_at + ipv6::HEADER_LEN) else {
        return pass(frame, Reason::IcmpBadInner);
    };
    let flow = Flow {
        client: state.ipv6_address(quoted.dst),
        client_port: ports.dst,
        service: Service {
            vip,
            port: ports.src,
            proto: quoted.next_header,
        },
    };
    balance(frame, eth, state, flow, FlowUse::Lookup)
}
