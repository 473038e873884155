//! Copies of frames in which a foreign host claims a VIP we announce, sent to the agent's
//! conflict detector through the `CONFLICTS` ring buffer. A full ring drops the copy;
//! the verdict counter still counts the frame.
use aya_ebpf::programs::XdpContext;
use vip_common::{CONFLICT_ARP_FRAME_LEN, CONFLICT_NA_FRAME_LEN};

use crate::{maps::CONFLICTS, packet::at};

#[inline(always)]
fn copy<const N: usize>(ctx: &XdpContext) {
    let Some(frame) = at::<[u8; N]>(ctx, 0) else {
        return;
    };
    // Helpers may not read packet memory: reserve, copy with loads and stores, submit.
    if let Some(mut entry) = CONFLICTS.reserve::<[u8; N]>(0) {
        // SAFETY: `at` checked that N bytes lie inside the frame.
        entry.write(unsafe { *frame });
        entry.submit(0);
    }
}

#[inline(always)]
pub fn arp_conflict(ctx: &XdpContext) {
    copy::<CONFLICT_ARP_FRAME_LEN>(ctx);
}

#[inline(always)]
pub fn advertisement_conflict(ctx: &XdpContext) {
    copy::<CONFLICT_NA_FRAME_LEN>(ctx);
}
