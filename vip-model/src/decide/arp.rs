//! RFC 826 ARP for the IPv4 VIPs: the announcer replies to requests; claims by others are
//! counted.
use std::net::{IpAddr, Ipv4Addr};

use vip_common::Reason;

use super::{announce_refusal, pass, pass_reported, tx, Refusal};
use crate::{
    decision::Decision,
    state::ModelState,
    wire::{
        arp::{self, Arp, HARDWARE_ETHERNET, OP_REPLY, OP_REQUEST},
        ethernet::{Ethernet, BROADCAST, ETHERTYPE_IPV4, HEADER_LEN},
    },
};

fn is_vip4(state: &ModelState, addr: [u8; 4]) -> bool {
    state.is_vip(IpAddr::V4(Ipv4Addr::from(addr)))
}

pub fn decide(frame: &[u8], eth: &Ethernet, state: &ModelState) -> Decision {
    let Some(packet) = arp::parse(frame, HEADER_LEN) else {
        return pass(frame, Reason::ArpTruncated);
    };
    if packet.hardware != HARDWARE_ETHERNET
        || packet.protocol != ETHERTYPE_IPV4
        || packet.hardware_len != 6
        || packet.protocol_len != 4
    {
        return pass(frame, Reason::ArpMalformed);
    }
    if packet.op != OP_REQUEST && packet.op != OP_REPLY {
        return pass(frame, Reason::ArpOtherOp);
    }
    // Any ARP from a VIP updates the caches that hear it: a claim on the address (RFC 826
    // "merge" step; RFC 5227 §2.4 on conflicting ARP packets).
    if is_vip4(state, packet.sender_ip) {
        return claim(frame, &packet, state);
    }
    // A reply or a gratuitous request about another address: nothing to answer.
    if packet.op == OP_REPLY
        || packet.sender_ip == packet.target_ip
        || !is_vip4(state, packet.target_ip)
    {
        return pass(frame, Reason::ArpNotVip);
    }
    match announce_refusal(state) {
        Some(Refusal::NotAnnouncing) => return pass(frame, Reason::ArpNotAnnouncing),
        Some(Refusal::WrongInterface) => return pass(frame, Reason::ArpWrongInterface),
        Some(Refusal::DeadlinePassed) => return pass(frame, Reason::ArpDeadlinePassed),
        None => {}
    }
    if eth.dst != BROADCAST && eth.dst != state.mac {
        return pass(frame, Reason::ArpNotForUs);
    }
    tx(reply(frame, &packet, state), Reason::ArpReplied)
}

fn claim(frame: &[u8], packet: &Arp, state: &ModelState) -> Decision {
    if packet.sender_mac == state.mac {
        return pass(frame, Reason::ArpPassed);
    }
    if !state.announcing {
        return pass(frame, Reason::ArpClaimSeen);
    }
    // Ethernet and ARP headers, without padding.
    pass_reported(frame, Reason::ArpConflict, HEADER_LEN + arp::LEN)
}

/// The reply, as Linux builds it: to the requester's hardware address, same frame size.
fn reply(frame: &[u8], request: &Arp, state: &ModelState) -> Vec<u8> {
    let answer = Arp {
        op: OP_REPLY,
        sender_mac: state.mac,
        sender_ip: request.target_ip,
        target_mac: request.sender_mac,
        target_ip: request.sender_ip,
        ..*request
    };
    let mut out = frame.to_vec();
    out[0..6].copy_from_slice(&request.sender_mac);
    out[6..12].copy_from_slice(&state.mac);
    out[HEADER_LEN..HEADER_LEN + arp::LEN].copy_from_slice(&arp::write(&answer));
    out
}
