//! CLOCK_MONOTONIC in nanoseconds: the clock `bpf_ktime_get_ns` reads in the XDP program.
use nix::time::{clock_gettime, ClockId};

pub fn monotonic_ns() -> u64 {
    let now = clock_gettime(ClockId::CLOCK_MONOTONIC).expect("CLOCK_MONOTONIC is always available");
    now.tv_sec() as u64 * 1_000_000_000 + now.tv_nsec() as u64
}
