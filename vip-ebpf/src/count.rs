//! Per-CPU counters: the verdict's reason and, for balanced packets, the backend, in one
//! value of `STATS`.
use vip_common::Counter;

use crate::{maps::STATS, verdict::Verdict};

#[inline(always)]
fn add(counter: &mut Counter, bytes: u64) {
    counter.packets += 1;
    counter.bytes += bytes;
}

#[inline(always)]
pub fn verdict(verdict: &Verdict, bytes: u64) {
    let Some(stats) = STATS.get_ptr_mut(0) else {
        return;
    };
    // SAFETY: per-CPU array values are exclusive to this CPU while the program runs.
    let stats = unsafe { &mut *stats };
    if let Some(counter) = stats.reasons.get_mut(verdict.reason as usize) {
        add(counter, bytes);
    }
    if let Some(counter) = stats.backends.get_mut(verdict.backend as usize) {
        add(counter, bytes);
    }
}
