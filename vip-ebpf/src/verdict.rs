//! What the program returns: an XDP action and the named reason that is counted for it.
use aya_ebpf::bindings::xdp_action;
use vip_common::Reason;

#[derive(Clone, Copy)]
pub struct Verdict {
    pub action: u32,
    pub reason: Reason,
}

#[inline(always)]
pub const fn pass(reason: Reason) -> Verdict {
    Verdict {
        action: xdp_action::XDP_PASS,
        reason,
    }
}

#[inline(always)]
pub const fn tx(reason: Reason) -> Verdict {
    Verdict {
        action: xdp_action::XDP_TX,
        reason,
    }
}
