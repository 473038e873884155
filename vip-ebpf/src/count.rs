//! Per-CPU counters: one per verdict reason and one per backend.
use vip_common::{Counter, Reason};

use crate::maps::{BACKEND_COUNTERS, REASON_COUNTERS};

#[inline(always)]
fn add(counter: Option<*mut Counter>, bytes: u64) {
    if let Some(c) = counter {
        // SAFETY: per-CPU array values are exclusive to this CPU while the program runs.
        unsafe {
            (*c).packets += 1;
            (*c).bytes += bytes;
        }
    }
}

#[inline(always)]
pub fn reason(reason: Reason, bytes: u64) {
    add(REASON_COUNTERS.get_ptr_mut(reason as u32), bytes);
}

#[inline(always)]
pub fn backend(id: u32, bytes: u64) {
    add(BACKEND_COUNTERS.get_ptr_mut(id), bytes);
}
