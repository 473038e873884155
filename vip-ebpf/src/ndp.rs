//! Neighbour discovery for IPv6 VIPs: answer solicitations with an advertisement built in
//! place (the frame is resized to exactly fit it), and spot foreign advertisements.
use aya_ebpf::{helpers::bpf_xdp_adjust_tail, programs::XdpContext};
use vip_common::{
    checksum::{na_checksum, NA_FLAG_OVERRIDE, NA_FLAG_SOLICITED, NA_LEN},
    IpKey, Reason, Settings, ANNOUNCE_ON,
};

use crate::{
    announce::{gate, is_vip, Gate},
    ipv6::IPV6_LEN,
    packet::{at, len, EthHdr, IcmpHdr, Ipv6Hdr, ETH_LEN, IPPROTO_ICMPV6},
    verdict::{pass, tx, Verdict},
};

const ICMP_AT: usize = ETH_LEN + IPV6_LEN;
const TARGET_AT: usize = ICMP_AT + 8;
const OPTION_AT: usize = TARGET_AT + 16;
const NA_FRAME_LEN: usize = ICMP_AT + NA_LEN as usize;
const OPT_TARGET_LLADDR: u8 = 2;
const ALL_NODES: [u8; 16] = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];
const ND_HOP_LIMIT: u8 = 255;

/// The advertisement body after the ICMPv6 header: flags, target, one option.
#[repr(C)]
struct AdvertBody {
    flags: [u8; 4],
    target: [u8; 16],
    option: [u8; 2],
    mac: [u8; 6],
}

#[inline(always)]
fn target(ctx: &XdpContext) -> Option<[u8; 16]> {
    // SAFETY: `at` checked the bounds.
    at::<[u8; 16]>(ctx, TARGET_AT).map(|t| unsafe { *t })
}

#[inline(always)]
pub fn solicitation(ctx: &XdpContext, settings: &Settings) -> Verdict {
    let (Some(ip), Some(icmp), Some(target)) = (
        at::<Ipv6Hdr>(ctx, ETH_LEN),
        at::<IcmpHdr>(ctx, ICMP_AT),
        target(ctx),
    ) else {
        return pass(Reason::NdpTruncated);
    };
    // SAFETY: `at` checked the bounds.
    let (ip, icmp) = unsafe { (&*ip, &*icmp) };
    if ip.hop_limit != ND_HOP_LIMIT || icmp.code != 0 || target[0] == 0xff {
        return pass(Reason::NdpMalformed);
    }
    if !is_vip(&IpKey::from_v6(target)) {
        return pass(Reason::NdpNotVip);
    }
    match gate(ctx, settings) {
        Gate::Open => {}
        Gate::NotAnnouncing => return pass(Reason::NdpNotAnnouncing),
        Gate::DeadlinePassed => return pass(Reason::NdpDeadlinePassed),
        Gate::WrongInterface => return pass(Reason::NdpWrongInterface),
    }
    let Some(eth) = at::<EthHdr>(ctx, 0) else {
        return pass(Reason::NdpTruncated);
    };
    // SAFETY: `at` checked the bounds.
    let eth = unsafe { &*eth };
    let solicited_node_mac = [0x33, 0x33, 0xff, target[13], target[14], target[15]];
    if eth.dst != settings.mac && eth.dst != solicited_node_mac {
        return pass(Reason::NdpNotForUs);
    }
    // Duplicate address detection (source ::) is answered to all nodes, not solicited.
    let (dst_ip, dst_mac, flags) = if ip.src == [0; 16] {
        (ALL_NODES, ALL_NODES_MAC, NA_FLAG_OVERRIDE)
    } else {
        (ip.src, eth.src, NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE)
    };
    let delta = NA_FRAME_LEN as i32 - len(ctx) as i32;
    // SAFETY: helper call on our own context; pointers are re-derived afterwards.
    if delta != 0 && unsafe { bpf_xdp_adjust_tail(ctx.ctx, delta) } != 0 {
        return pass(Reason::NdpNoRoom);
    }
    let (Some(eth), Some(ip), Some(icmp), Some(body)) = (
        at::<EthHdr>(ctx, 0),
        at::<Ipv6Hdr>(ctx, ETH_LEN),
        at::<IcmpHdr>(ctx, ICMP_AT),
        at::<AdvertBody>(ctx, ICMP_AT + 4),
    ) else {
        return pass(Reason::NdpNoRoom);
    };
    // SAFETY: `at` checked the bounds of the resized frame.
    let (eth, ip, icmp, body) = unsafe { (&mut *eth, &mut *ip, &mut *icmp, &mut *body) };
    eth.dst = dst_mac;
    eth.src = settings.mac;
    ip.version_class_flow = [0x60, 0, 0, 0];
    ip.payload_len = NA_LEN.to_be_bytes();
    ip.next_header = IPPROTO_ICMPV6;
    ip.hop_limit = ND_HOP_LIMIT;
    ip.src = target;
    ip.dst = dst_ip;
    icmp.kind = 136;
    icmp.code = 0;
    icmp.check = na_checksum(&target, &dst_ip, flags, &target, &settings.mac).to_be_bytes();
    icmp.rest = [flags, 0, 0, 0];
    body.target = target;
    body.option = [OPT_TARGET_LLADDR, 1];
    body.mac = settings.mac;
    tx(Reason::NdpAdvertised)
}

/// An advertisement for a VIP carrying a foreign MAC is a claim on our address.
#[inline(always)]
pub fn advertisement(ctx: &XdpContext, settings: &Settings) -> Verdict {
    let Some(target) = target(ctx) else {
        return pass(Reason::NdpTruncated);
    };
    if !is_vip(&IpKey::from_v6(target)) {
        return pass(Reason::NdpNotVip);
    }
    let Some(option) = at::<[u8; 8]>(ctx, OPTION_AT) else {
        return pass(Reason::NdpPassed);
    };
    // SAFETY: `at` checked the bounds.
    let option = unsafe { *option };
    let mac = [
        option[2], option[3], option[4], option[5], option[6], option[7],
    ];
    if option[0] != OPT_TARGET_LLADDR || option[1] != 1 || mac == settings.mac {
        return pass(Reason::NdpPassed);
    }
    pass(if settings.announcing == ANNOUNCE_ON {
        Reason::NdpConflict
    } else {
        Reason::NdpClaimSeen
    })
}
