//! Neighbour discovery for IPv6 VIPs: answer solicitations with an advertisement built in
//! place (the frame is resized to exactly fit it), and spot foreign advertisements.
use aya_ebpf::{helpers::bpf_xdp_adjust_tail, programs::XdpContext};
use vip_common::{
    checksum::{fold, na_checksum, NA_FLAG_OVERRIDE, NA_FLAG_SOLICITED, NA_LEN},
    IpKey, Reason, Settings, ANNOUNCE_ON,
};

use crate::{
    announce::{gate, is_vip, Gate},
    ipv6::IPV6_LEN,
    packet::{at, be16, has, len, EthHdr, IcmpHdr, Ipv6Hdr, ETH_LEN, IPPROTO_ICMPV6},
    report,
    verdict::{pass, tx, Verdict},
};

const ICMP_AT: usize = ETH_LEN + IPV6_LEN;
const TARGET_AT: usize = ICMP_AT + 8;
const OPTION_AT: usize = TARGET_AT + 16;
const NA_FRAME_LEN: usize = ICMP_AT + NA_LEN as usize;
const OPT_SOURCE_LLADDR: u8 = 1;
const OPT_TARGET_LLADDR: u8 = 2;
/// A solicitation's fixed part: ICMP header, reserved word, target.
const NS_MIN_LEN: usize = 24;
/// Longest solicitation validated here (a power of two: offsets are masked with it);
/// longer ones, not seen in practice, are left to the kernel.
const NS_MAX_LEN: usize = 128;
const MAX_OPTIONS: usize = (NS_MAX_LEN - NS_MIN_LEN) / 8;
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
    if let Err(reason) = validate(ctx, ip, &target) {
        return pass(reason);
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

/// The rest of RFC 4861 §7.1.1 (hop limit, code and a multicast target are checked
/// first): the ICMP length is at least 24 and inside the frame, every option has a
/// non-zero length, the checksum is right, and the destination is the target or its
/// solicited-node group; from the unspecified source only the group, without a source
/// link-layer address option.
#[inline(always)]
fn validate(ctx: &XdpContext, ip: &Ipv6Hdr, target: &[u8; 16]) -> Result<(), Reason> {
    let icmp_len = be16(ip.payload_len) as usize;
    if icmp_len < NS_MIN_LEN || icmp_len % 8 != 0 {
        return Err(Reason::NdpMalformed);
    }
    if icmp_len > NS_MAX_LEN {
        return Err(Reason::NdpTooLong);
    }
    if !has(ctx, ICMP_AT, icmp_len) {
        return Err(Reason::NdpTruncated);
    }
    let source_lladdr = options(ctx, icmp_len)?;
    let group = solicited_node_group(target);
    let unspecified = ip.src == [0; 16];
    let destination_ok = ip.dst == group || (!unspecified && ip.dst == *target);
    if !destination_ok || (unspecified && source_lladdr) {
        return Err(Reason::NdpMalformed);
    }
    // A correct checksum makes the whole sum 0xffff, which `fold` complements to 0.
    if fold(message_sum(ctx, icmp_len)? + pseudo_header_sum(ip, icmp_len as u32)) != 0 {
        return Err(Reason::NdpMalformed);
    }
    Ok(())
}

/// Walks the options (8-byte units after the 24-byte body); `Ok(true)` if one is a source
/// link-layer address.
#[inline(always)]
fn options(ctx: &XdpContext, icmp_len: usize) -> Result<bool, Reason> {
    let mut offset = NS_MIN_LEN;
    let mut source_lladdr = false;
    for _ in 0..MAX_OPTIONS {
        if offset >= icmp_len {
            break;
        }
        let Some(option) = at::<[u8; 2]>(ctx, ICMP_AT + (offset & (NS_MAX_LEN - 1))) else {
            return Err(Reason::NdpTruncated);
        };
        // SAFETY: `at` checked the bounds.
        let [kind, units] = unsafe { *option };
        if units == 0 {
            return Err(Reason::NdpMalformed);
        }
        source_lladdr |= kind == OPT_SOURCE_LLADDR;
        offset += units as usize * 8;
    }
    if offset != icmp_len {
        return Err(Reason::NdpMalformed);
    }
    Ok(source_lladdr)
}

/// One's-complement sum of the ICMPv6 message, 32 bits at a time (`icmp_len` is a
/// multiple of 8 and at most `NS_MAX_LEN`).
#[inline(always)]
fn message_sum(ctx: &XdpContext, icmp_len: usize) -> Result<u32, Reason> {
    let mut sum = 0u32;
    for word in 0..NS_MAX_LEN / 4 {
        if word * 4 >= icmp_len {
            break;
        }
        let Some(bytes) = at::<[u8; 4]>(ctx, ICMP_AT + word * 4) else {
            return Err(Reason::NdpTruncated);
        };
        // SAFETY: `at` checked the bounds.
        let [a, b, c, d] = unsafe { *bytes };
        sum += u16::from_be_bytes([a, b]) as u32 + u16::from_be_bytes([c, d]) as u32;
    }
    Ok(sum)
}

#[inline(always)]
fn pseudo_header_sum(ip: &Ipv6Hdr, icmp_len: u32) -> u32 {
    sum16(&ip.src) + sum16(&ip.dst) + icmp_len + IPPROTO_ICMPV6 as u32
}

#[inline(always)]
fn sum16(bytes: &[u8; 16]) -> u32 {
    let mut sum = 0u32;
    let mut i = 0;
    while i < 16 {
        sum += u16::from_be_bytes([bytes[i], bytes[i + 1]]) as u32;
        i += 2;
    }
    sum
}

#[inline(always)]
fn solicited_node_group(target: &[u8; 16]) -> [u8; 16] {
    [
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, target[13], target[14], target[15],
    ]
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
    if settings.announcing != ANNOUNCE_ON {
        return pass(Reason::NdpClaimSeen);
    }
    report::advertisement_conflict(ctx);
    pass(Reason::NdpConflict)
}
