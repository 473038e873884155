//! IPv6: TCP/UDP to a service, "packet too big" about a service flow, and neighbour
//! discovery. Extension headers are not walked: such packets go to the local stack.
use aya_ebpf::programs::XdpContext;
use vip_common::{FlowKey, IpKey, Reason, Settings};

use crate::{
    announce::is_vip,
    balance::{select, FlowUse},
    ipv4::transport,
    ndp,
    packet::{
        at, be16, EthHdr, IcmpHdr, Ipv6Hdr, Ports, ETH_LEN, IPPROTO_ICMPV6, IPPROTO_TCP,
        IPPROTO_UDP,
    },
    verdict::{pass, Verdict},
};

pub const IPV6_LEN: usize = 40;
const L4: usize = ETH_LEN + IPV6_LEN;
const ICMPV6_PACKET_TOO_BIG: u8 = 2;
const ICMPV6_NEIGHBOR_SOLICIT: u8 = 135;
const ICMPV6_NEIGHBOR_ADVERT: u8 = 136;

#[inline(always)]
pub fn handle(ctx: &XdpContext, eth: &mut EthHdr, settings: &Settings) -> Verdict {
    let Some(ip) = at::<Ipv6Hdr>(ctx, ETH_LEN) else {
        return pass(Reason::Ipv6Truncated);
    };
    // SAFETY: `at` checked the bounds.
    let ip = unsafe { &*ip };
    if ip.next_header == IPPROTO_ICMPV6 {
        let Some(icmp) = at::<IcmpHdr>(ctx, L4) else {
            return pass(if is_vip(&IpKey::from_v6(ip.dst)) {
                Reason::L4Truncated
            } else {
                Reason::NotVip
            });
        };
        // SAFETY: `at` checked the bounds.
        let kind = unsafe { (*icmp).kind };
        match kind {
            // Solicitations go to a multicast group, not to the VIP: check before the VIP.
            ICMPV6_NEIGHBOR_SOLICIT => return ndp::solicitation(ctx, settings),
            ICMPV6_NEIGHBOR_ADVERT => return ndp::advertisement(ctx, settings),
            _ => {}
        }
    }
    let vip = IpKey::from_v6(ip.dst);
    if !is_vip(&vip) {
        return pass(Reason::NotVip);
    }
    if eth.dst != settings.mac {
        return pass(Reason::NotOurMac);
    }
    let client = IpKey::from_v6(ip.src);
    match ip.next_header {
        IPPROTO_TCP | IPPROTO_UDP => transport(ctx, eth, settings, L4, ip.next_header, client, vip),
        IPPROTO_ICMPV6 => packet_too_big(ctx, eth, settings, &vip),
        _ => pass(Reason::Ipv6OtherNextHeader),
    }
}

/// "Packet too big" about a packet a backend sent from the VIP goes to that flow's backend.
#[inline(always)]
fn packet_too_big(ctx: &XdpContext, eth: &mut EthHdr, settings: &Settings, vip: &IpKey) -> Verdict {
    let Some(icmp) = at::<IcmpHdr>(ctx, L4) else {
        return pass(Reason::L4Truncated);
    };
    // SAFETY: `at` checked the bounds.
    if unsafe { (*icmp).kind } != ICMPV6_PACKET_TOO_BIG {
        return pass(Reason::IcmpOther);
    }
    let inner_at = L4 + core::mem::size_of::<IcmpHdr>();
    let Some(inner) = at::<Ipv6Hdr>(ctx, inner_at) else {
        return pass(Reason::IcmpBadInner);
    };
    // SAFETY: `at` checked the bounds.
    let inner = unsafe { &*inner };
    if IpKey::from_v6(inner.src) != *vip
        || (inner.next_header != IPPROTO_TCP && inner.next_header != IPPROTO_UDP)
    {
        return pass(Reason::IcmpBadInner);
    }
    let Some(ports) = at::<Ports>(ctx, inner_at + IPV6_LEN) else {
        return pass(Reason::IcmpBadInner);
    };
    // SAFETY: `at` checked the bounds.
    let ports = unsafe { &*ports };
    let flow = FlowKey {
        client: IpKey::from_v6(inner.dst),
        vip: *vip,
        client_port: be16(ports.dst),
        service_port: be16(ports.src),
        proto: inner.next_header,
        _pad: [0; 3],
    };
    select(eth, settings, &flow, FlowUse::Lookup)
}
