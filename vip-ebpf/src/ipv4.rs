//! IPv4: TCP/UDP to a service and ICMP "fragmentation needed" about a service flow.
use aya_ebpf::programs::XdpContext;
use vip_common::{FlowKey, IpKey, Reason, Settings};

use crate::{
    balance::{select, FlowUse},
    packet::{
        at, be16, has, EthHdr, IcmpHdr, Ipv4Hdr, Ports, ETH_LEN, IPPROTO_ICMP, IPPROTO_TCP,
        IPPROTO_UDP, TCP_ACK, TCP_FLAGS_OFFSET, TCP_MIN_LEN, TCP_RST, TCP_SYN, UDP_LEN,
    },
    verdict::{pass, Verdict},
};

const ICMP_DEST_UNREACH: u8 = 3;
const ICMP_FRAG_NEEDED: u8 = 4;
const IPV4_MIN_LEN: usize = 20;
/// More-fragments flag and fragment offset.
const FRAGMENT_MASK: u16 = 0x3fff;

/// Header length in bytes, or `None` if this is not a sane IPv4 header.
#[inline(always)]
fn header_len(ip: &Ipv4Hdr) -> Option<usize> {
    let ihl = (ip.version_ihl & 0x0f) as usize * 4;
    if ip.version_ihl >> 4 != 4 || ihl < IPV4_MIN_LEN {
        return None;
    }
    Some(ihl)
}

#[inline(always)]
pub fn handle(ctx: &XdpContext, eth: &mut EthHdr, settings: &Settings) -> Verdict {
    let Some(ip) = at::<Ipv4Hdr>(ctx, ETH_LEN) else {
        return pass(Reason::Ipv4Truncated);
    };
    // SAFETY: `at` checked the bounds.
    let ip = unsafe { &*ip };
    if !settings.is_vip4(ip.dst) {
        return pass(Reason::NotVip);
    }
    let vip = IpKey::from_v4(ip.dst);
    let Some(ihl) = header_len(ip) else {
        return pass(Reason::Ipv4BadHeader);
    };
    if eth.dst != settings.mac {
        return pass(Reason::NotOurMac);
    }
    if be16(ip.frag) & FRAGMENT_MASK != 0 {
        return pass(Reason::Ipv4Fragment);
    }
    // Options are skipped: the L4 header starts after the full header length.
    let l4 = ETH_LEN + ihl;
    let client = IpKey::from_v4(ip.src);
    match ip.proto {
        IPPROTO_TCP | IPPROTO_UDP => transport(ctx, eth, settings, l4, ip.proto, client, vip),
        IPPROTO_ICMP => frag_needed(ctx, eth, settings, l4, &vip),
        _ => pass(Reason::VipOtherProtocol),
    }
}

/// TCP or UDP at `l4` from `client` to `vip`: balanced as a flow of its service.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn transport(
    ctx: &XdpContext,
    eth: &mut EthHdr,
    settings: &Settings,
    l4: usize,
    proto: u8,
    client: IpKey,
    vip: IpKey,
) -> Verdict {
    let need = if proto == IPPROTO_TCP {
        TCP_MIN_LEN
    } else {
        UDP_LEN
    };
    if !has(ctx, l4, need) {
        return pass(Reason::L4Truncated);
    }
    let Some(ports) = at::<Ports>(ctx, l4) else {
        return pass(Reason::L4Truncated);
    };
    // SAFETY: bounds checked above.
    let ports = unsafe { &*ports };
    let flow_use = if proto == IPPROTO_TCP {
        tcp_flow_use(ctx, l4)
    } else {
        FlowUse::Datagram
    };
    let flow = FlowKey {
        client,
        vip,
        client_port: be16(ports.src),
        service_port: be16(ports.dst),
        proto,
        _pad: [0; 3],
    };
    select(eth, settings, &flow, flow_use)
}

/// SYN without ACK opens a connection; only RST ends a pin (FIN does not: the final ACK
/// and a half-closed transfer still belong to the connection).
#[inline(always)]
pub fn tcp_flow_use(ctx: &XdpContext, l4: usize) -> FlowUse {
    let Some(flags) = at::<u8>(ctx, l4 + TCP_FLAGS_OFFSET) else {
        return FlowUse::Continue;
    };
    // SAFETY: bounds checked by `at`.
    let flags = unsafe { *flags };
    if flags & TCP_RST != 0 {
        FlowUse::Reset
    } else if flags & (TCP_SYN | TCP_ACK) == TCP_SYN {
        FlowUse::Open
    } else {
        FlowUse::Continue
    }
}

/// "Fragmentation needed" about a packet a backend sent from the VIP: route it to the
/// backend of that flow, found from the quoted header (addresses and ports reversed).
#[inline(always)]
fn frag_needed(
    ctx: &XdpContext,
    eth: &mut EthHdr,
    settings: &Settings,
    l4: usize,
    vip: &IpKey,
) -> Verdict {
    let Some(icmp) = at::<IcmpHdr>(ctx, l4) else {
        return pass(Reason::L4Truncated);
    };
    // SAFETY: bounds checked by `at`.
    let icmp = unsafe { &*icmp };
    if icmp.kind != ICMP_DEST_UNREACH || icmp.code != ICMP_FRAG_NEEDED {
        return pass(Reason::IcmpOther);
    }
    let inner_at = l4 + core::mem::size_of::<IcmpHdr>();
    let Some(inner) = at::<Ipv4Hdr>(ctx, inner_at) else {
        return pass(Reason::IcmpBadInner);
    };
    // SAFETY: bounds checked by `at`.
    let inner = unsafe { &*inner };
    let Some(inner_ihl) = header_len(inner) else {
        return pass(Reason::IcmpBadInner);
    };
    if IpKey::from_v4(inner.src) != *vip
        || (inner.proto != IPPROTO_TCP && inner.proto != IPPROTO_UDP)
    {
        return pass(Reason::IcmpBadInner);
    }
    let Some(ports) = at::<Ports>(ctx, inner_at + inner_ihl) else {
        return pass(Reason::IcmpBadInner);
    };
    // SAFETY: bounds checked by `at`.
    let ports = unsafe { &*ports };
    let flow = FlowKey {
        client: IpKey::from_v4(inner.dst),
        vip: *vip,
        client_port: be16(ports.dst),
        service_port: be16(ports.src),
        proto: inner.proto,
        _pad: [0; 3],
    };
    select(eth, settings, &flow, FlowUse::Lookup)
}
