//! RFC 4861 neighbour discovery for the IPv6 VIPs: the announcer answers solicitations with
//! a solicited advertisement carrying its MAC; foreign advertisements are counted.
use vip_common::Reason;

use super::{announce_refusal, ipv6::L4, pass, pass_reported, tx, Refusal};
use crate::{
    checksum,
    decision::Decision,
    state::ModelState,
    wire::{
        array,
        ethernet::{Ethernet, HEADER_LEN},
        ipv6::{self, Ipv6},
        Mac,
    },
};

const TARGET_AT: usize = L4 + 8;
const OPTIONS_AT: usize = TARGET_AT + 16;
const OPTION_TARGET_LINK_ADDRESS: u8 = 2;
/// RFC 4861 §7.1: neighbour discovery is only valid from the link itself.
const HOP_LIMIT: u8 = 255;
const FLAG_SOLICITED: u8 = 0x40;
const FLAG_OVERRIDE: u8 = 0x20;
const ALL_NODES: [u8; 16] = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

fn target(frame: &[u8]) -> Option<[u8; 16]> {
    array(frame, TARGET_AT)
}

pub fn solicitation(frame: &[u8], eth: &Ethernet, ip: &Ipv6, state: &ModelState) -> Decision {
    let Some(target) = target(frame) else {
        return pass(frame, Reason::NdpTruncated);
    };
    let code = frame[L4 + 1];
    if ip.hop_limit != HOP_LIMIT || code != 0 || ipv6::is_multicast(&target) {
        return pass(frame, Reason::NdpMalformed);
    }
    if !state.is_vip(state.ipv6_address(target)) {
        return pass(frame, Reason::NdpNotVip);
    }
    match announce_refusal(state) {
        Some(Refusal::NotAnnouncing) => return pass(frame, Reason::NdpNotAnnouncing),
        Some(Refusal::WrongInterface) => return pass(frame, Reason::NdpWrongInterface),
        Some(Refusal::DeadlinePassed) => return pass(frame, Reason::NdpDeadlinePassed),
        None => {}
    }
    if let Err(reason) = validate(frame, ip, &target) {
        return pass(frame, reason);
    }
    let group_mac = ipv6::multicast_mac(&ipv6::solicited_node_group(&target));
    if eth.dst != state.mac && eth.dst != group_mac {
        return pass(frame, Reason::NdpNotForUs);
    }
    // RFC 4861 §7.2.4: a solicitation from the unspecified address (duplicate address
    // detection) is answered to all nodes, without the solicited flag.
    let (dst, dst_mac, flags) = if ip.src == [0; 16] {
        (ALL_NODES, ipv6::multicast_mac(&ALL_NODES), FLAG_OVERRIDE)
    } else {
        (ip.src, eth.src, FLAG_SOLICITED | FLAG_OVERRIDE)
    };
    tx(
        advertisement_frame(state.mac, dst_mac, &target, &dst, flags),
        Reason::NdpAdvertised,
    )
}

/// Longest solicitation the program validates; longer ones are left to the kernel.
const VALIDATED_MAX_LEN: usize = 128;
const OPTION_SOURCE_LINK_ADDRESS: u8 = 1;

/// RFC 4861 §7.1.1 beyond hop limit, code and target: the ICMP length (from the IPv6
/// payload length) is at least 24 bytes, whole options, inside the frame; every option
/// has a non-zero length and the options fill the message exactly; the checksum is right;
/// from the unspecified address only to the target's solicited-node group and without a
/// source link-layer address option; otherwise to the target or its group.
fn validate(frame: &[u8], ip: &Ipv6, target: &[u8; 16]) -> Result<(), Reason> {
    let icmp_len = usize::from(ip.payload_len);
    if icmp_len < 24 || icmp_len % 8 != 0 {
        return Err(Reason::NdpMalformed);
    }
    if icmp_len > VALIDATED_MAX_LEN {
        return Err(Reason::NdpTooLong);
    }
    let Some(message) = frame.get(L4..L4 + icmp_len) else {
        return Err(Reason::NdpTruncated);
    };
    let mut source_link_address = false;
    let mut options = &message[24..];
    while let [kind, units, ..] = *options {
        let len = usize::from(units) * 8;
        if len == 0 || len > options.len() {
            return Err(Reason::NdpMalformed);
        }
        source_link_address |= kind == OPTION_SOURCE_LINK_ADDRESS;
        options = &options[len..];
    }
    let unspecified = ip.src == [0; 16];
    let group = ipv6::solicited_node_group(target);
    let destination_ok = ip.dst == group || (!unspecified && ip.dst == *target);
    if !destination_ok || (unspecified && source_link_address) {
        return Err(Reason::NdpMalformed);
    }
    if checksum::icmpv6(&ip.src, &ip.dst, message) != 0 {
        return Err(Reason::NdpMalformed);
    }
    Ok(())
}

/// Ethernet + IPv6 + a 32-byte advertisement with one target link-layer address option.
fn advertisement_frame(
    mac: Mac,
    dst_mac: Mac,
    target: &[u8; 16],
    dst: &[u8; 16],
    flags: u8,
) -> Vec<u8> {
    let mut message = vec![136, 0, 0, 0, flags, 0, 0, 0];
    message.extend_from_slice(target);
    message.extend_from_slice(&[OPTION_TARGET_LINK_ADDRESS, 1]);
    message.extend_from_slice(&mac);
    let check = checksum::icmpv6(target, dst, &message);
    message[2..4].copy_from_slice(&check.to_be_bytes());
    let mut frame = Vec::with_capacity(HEADER_LEN + ipv6::HEADER_LEN + message.len());
    frame.extend_from_slice(&dst_mac);
    frame.extend_from_slice(&mac);
    frame.extend_from_slice(&[0x86, 0xdd]);
    frame.extend_from_slice(&[0x60, 0, 0, 0]);
    frame.extend_from_slice(&(message.len() as u16).to_be_bytes());
    frame.extend_from_slice(&[58, HOP_LIMIT]);
    frame.extend_from_slice(target);
    frame.extend_from_slice(dst);
    frame.extend_from_slice(&message);
    frame
}

/// An advertisement for a VIP whose first option names a foreign MAC claims the VIP.
pub fn advertisement(frame: &[u8], state: &ModelState) -> Decision {
    let Some(target) = target(frame) else {
        return pass(frame, Reason::NdpTruncated);
    };
    if !state.is_vip(state.ipv6_address(target)) {
        return pass(frame, Reason::NdpNotVip);
    }
    let Some(option) = array::<8>(frame, OPTIONS_AT) else {
        return pass(frame, Reason::NdpPassed);
    };
    let mac: Mac = [
        option[2], option[3], option[4], option[5], option[6], option[7],
    ];
    if option[0] != OPTION_TARGET_LINK_ADDRESS || option[1] != 1 || mac == state.mac {
        return pass(frame, Reason::NdpPassed);
    }
    if !state.announcing {
        return pass(frame, Reason::NdpClaimSeen);
    }
    // Ethernet, IPv6, the advertisement and its first option.
    pass_reported(frame, Reason::NdpConflict, OPTIONS_AT + 8)
}
