//! What the program returns: an XDP action, the named reason that is counted for it and,
//! for a balanced packet, its backend.
use aya_ebpf::bindings::xdp_action;
use vip_common::{Reason, NO_BACKEND};

#[derive(Clone, Copy)]
pub struct Verdict {
    pub action: u32,
    pub reason: Reason,
    /// Backend id counted with the packet; `NO_BACKEND` when none.
    pub backend: u32,
}

#[inline(always)]
pub const fn pass(reason: Reason) -> Verdict {
    Verdict {
        action: xdp_action::XDP_PASS,
        reason,
        backend: NO_BACKEND,
    }
}

#[inline(always)]
pub const fn tx(reason: Reason) -> Verdict {
    Verdict {
        action: xdp_action::XDP_TX,
        reason,
        backend: NO_BACKEND,
    }
}

impl Verdict {
    /// The same verdict, counted for `backend` too.
    #[inline(always)]
    pub const fn for_backend(self, backend: u32) -> Verdict {
        Verdict { backend, ..self }
    }
}
