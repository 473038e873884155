//! IPv4 to a VIP: TCP/UDP to a service, and ICMP "fragmentation needed" (RFC 792, RFC 1191)
//! about a packet a backend sent from the VIP.
use std::net::{IpAddr, Ipv4Addr};

use vip_common::Reason;

use super::{
    balance::{balance, FlowUse},
    pass,
};
use crate::{
    decision::Decision,
    state::{Flow, ModelState, Service},
    wire::{
        ethernet::{Ethernet, HEADER_LEN},
        ipv4::{self, PROTO_ICMP, PROTO_TCP, PROTO_UDP},
        transport::{
            self, ICMP_HEADER_LEN, TCP_ACK, TCP_HEADER_LEN, TCP_RST, TCP_SYN, UDP_HEADER_LEN,
        },
    },
};

const DEST_UNREACHABLE: u8 = 3;
const FRAGMENTATION_NEEDED: u8 = 4;

pub fn decide(frame: &[u8], eth: &Ethernet, state: &ModelState) -> Decision {
    let Some(ip) = ipv4::parse(frame, HEADER_LEN) else {
        return pass(frame, Reason::Ipv4Truncated);
    };
    let vip = IpAddr::V4(Ipv4Addr::from(ip.dst));
    if !state.is_vip(vip) {
        return pass(frame, Reason::NotVip);
    }
    if !ip.is_sane() {
        return pass(frame, Reason::Ipv4BadHeader);
    }
    if eth.dst != state.mac {
        return pass(frame, Reason::NotOurMac);
    }
    // The stack reassembles fragments (the VIP is a local address).
    if ip.is_fragment() {
        return pass(frame, Reason::Ipv4Fragment);
    }
    let l4 = HEADER_LEN + ip.header_len;
    let client = IpAddr::V4(Ipv4Addr::from(ip.src));
    match ip.protocol {
        PROTO_TCP | PROTO_UDP => transport_flow(frame, eth, state, l4, ip.protocol, client, vip),
        PROTO_ICMP => fragmentation_needed(frame, eth, state, l4, vip),
        _ => pass(frame, Reason::VipOtherProtocol),
    }
}

/// TCP or UDP at `l4`: a flow of the service at its destination port.
pub fn transport_flow(
    frame: &[u8],
    eth: &Ethernet,
    state: &ModelState,
    l4: usize,
    proto: u8,
    client: IpAddr,
    vip: IpAddr,
) -> Decision {
    let header_len = if proto == PROTO_TCP {
        TCP_HEADER_LEN
    } else {
        UDP_HEADER_LEN
    };
    if frame.len() < l4 + header_len {
        return pass(frame, Reason::L4Truncated);
    }
    let Some(ports) = transport::ports(frame, l4) else {
        return pass(frame, Reason::L4Truncated);
    };
    let flow_use = match transport::tcp_flags(frame, l4) {
        _ if proto == PROTO_UDP => FlowUse::Datagram,
        Some(flags) if flags & TCP_RST != 0 => FlowUse::Reset,
        Some(flags) if flags & (TCP_SYN | TCP_ACK) == TCP_SYN => FlowUse::Open,
        _ => FlowUse::Continue,
    };
    let flow = Flow {
        client,
        client_port: ports.src,
        service: Service {
            vip,
            port: ports.dst,
            proto,
        },
    };
    balance(frame, eth, state, flow, flow_use)
}

/// The quoted header is the backend's packet: from the VIP to the client, ports reversed.
fn fragmentation_needed(
    frame: &[u8],
    eth: &Ethernet,
    state: &ModelState,
    l4: usize,
    vip: IpAddr,
) -> Decision {
    let Some(icmp) = transport::icmp(frame, l4) else {
        return pass(frame, Reason::L4Truncated);
    };
    if icmp.kind != DEST_UNREACHABLE || icmp.code != FRAGMENTATION_NEEDED {
        return pass(frame, Reason::IcmpOther);
    }
    let quoted_at = l4 + ICMP_HEADER_LEN;
    let Some(quoted) = ipv4::parse(frame, quoted_at).filter(|q| q.is_sane()) else {
        return pass(frame, Reason::IcmpBadInner);
    };
    if IpAddr::V4(Ipv4Addr::from(quoted.src)) != vip
        || (quoted.protocol != PROTO_TCP && quoted.protocol != PROTO_UDP)
    {
        return pass(frame, Reason::IcmpBadInner);
    }
    let Some(ports) = transport::ports(frame, quoted_at + quoted.header_len) else {
        return pass(frame, Reason::IcmpBadInner);
    };
    let flow = Flow {
        client: IpAddr::V4(Ipv4Addr::from(quoted.dst)),
        client_port: ports.dst,
        service: Service {
            vip,
            port: ports.src,
            proto: quoted.protocol,
        },
    };
    balance(frame, eth, state, flow, FlowUse::Lookup)
}
