//! ARP: answer requests for a VIP in place on the announcer; spot foreign claims.
use aya_ebpf::programs::XdpContext;
use vip_common::{Reason, Settings, ANNOUNCE_ON};

use crate::{
    announce::{gate, Gate},
    packet::{at, be16, ArpHdr, EthHdr, ETH_LEN, ETH_P_IPV4},
    report,
    verdict::{pass, tx, Verdict},
};

const HTYPE_ETHERNET: u16 = 1;
const OP_REQUEST: u16 = 1;
const OP_REPLY: u16 = 2;
const BROADCAST: [u8; 6] = [0xff; 6];

#[inline(always)]
pub fn handle(ctx: &XdpContext, eth: &mut EthHdr, settings: &Settings) -> Verdict {
    let Some(arp) = at::<ArpHdr>(ctx, ETH_LEN) else {
        return pass(Reason::ArpTruncated);
    };
    // SAFETY: `at` checked that the header lies inside the frame.
    let arp = unsafe { &mut *arp };
    if be16(arp.htype) != HTYPE_ETHERNET
        || be16(arp.ptype) != ETH_P_IPV4
        || arp.hlen != 6
        || arp.plen != 4
    {
        return pass(Reason::ArpMalformed);
    }
    let op = be16(arp.op);
    if op != OP_REQUEST && op != OP_REPLY {
        return pass(Reason::ArpOtherOp);
    }
    // Any ARP sent from a VIP (a reply, a gratuitous or an ordinary request) updates the
    // neighbour caches that hear it: a claim on the address.
    if settings.is_vip4(arp.spa) {
        if arp.sha == settings.mac {
            return pass(Reason::ArpPassed);
        }
        if settings.announcing != ANNOUNCE_ON {
            return pass(Reason::ArpClaimSeen);
        }
        report::arp_conflict(ctx);
        return pass(Reason::ArpConflict);
    }
    if op == OP_REPLY || arp.spa == arp.tpa {
        return pass(Reason::ArpNotVip);
    }
    if !settings.is_vip4(arp.tpa) {
        return pass(Reason::ArpNotVip);
    }
    match gate(ctx, settings) {
        Gate::Open => {}
        Gate::NotAnnouncing => return pass(Reason::ArpNotAnnouncing),
        Gate::DeadlinePassed => return pass(Reason::ArpDeadlinePassed),
        Gate::WrongInterface => return pass(Reason::ArpWrongInterface),
    }
    if eth.dst != BROADCAST && eth.dst != settings.mac {
        return pass(Reason::ArpNotForUs);
    }
    // Reply in place, as Linux does: to the requester's hardware address; an ARP probe
    // (sender IP 0.0.0.0) is answered the same way, with target IP 0.0.0.0.
    let requester_mac = arp.sha;
    let requester_ip = arp.spa;
    let vip = arp.tpa;
    eth.dst = requester_mac;
    eth.src = settings.mac;
    arp.op = OP_REPLY.to_be_bytes();
    arp.sha = settings.mac;
    arp.spa = vip;
    arp.tha = requester_mac;
    arp.tpa = requester_ip;
    tx(Reason::ArpReplied)
}
