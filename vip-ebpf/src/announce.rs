//! Whether this node may answer ARP/NDP for a VIP right now.
use aya_ebpf::{helpers::bpf_ktime_get_coarse_ns, programs::XdpContext};
use vip_common::{IpKey, Settings, ANNOUNCE_ON};

use crate::maps::VIPS;

pub enum Gate {
    Open,
    NotAnnouncing,
    DeadlinePassed,
    WrongInterface,
}

#[inline(always)]
pub fn gate(ctx: &XdpContext, settings: &Settings) -> Gate {
    if settings.announcing != ANNOUNCE_ON {
        return Gate::NotAnnouncing;
    }
    if !settings.is_announcing_interface(ctx.ingress_ifindex() as u32) {
        return Gate::WrongInterface;
    }
    // The coarse clock (jiffies) is plenty for a deadline of seconds and, unlike
    // bpf_ktime_get_ns, never reads a slow clocksource in a VM.
    // SAFETY: a helper call without arguments.
    if unsafe { bpf_ktime_get_coarse_ns() } > settings.announce_deadline_ns {
        return Gate::DeadlinePassed;
    }
    Gate::Open
}

/// Whether an IPv6 address is one of the IPv6 VIPs. IPv4 VIPs are keyed as IPv4-mapped
/// addresses (`::ffff:a.b.c.d`); such an address in an IPv6 packet denotes an IPv4 node
/// (RFC 4291 §2.5.5.2), never an IPv6 VIP.
#[inline(always)]
pub fn is_vip(addr: &IpKey) -> bool {
    !addr.is_v4_mapped() && VIPS.get_ptr(addr).is_some()
}
