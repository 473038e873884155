//! The generator must reach every decision the program can make through
//! BPF_PROG_TEST_RUN, or the fuzzer proves nothing about the paths it misses.
use std::collections::BTreeSet;

use vip_common::Reason;
use vip_fuzz::{gen, rng::Rng};
use vip_model::decide;

/// Unreachable through BPF_PROG_TEST_RUN with states the agent writes: the kernel refuses
/// frames shorter than an Ethernet header, the agent always writes a ring size, and the
/// advertisement resize only fails without tailroom.
const UNREACHABLE: [Reason; 3] = [
    Reason::EthTruncated,
    Reason::NotConfigured,
    Reason::NdpNoRoom,
];

#[test]
fn generated_frames_reach_every_reason() {
    let mut rng = Rng::new(11);
    let mut seen = BTreeSet::new();
    for _ in 0..2_000 {
        let state = gen::state::state(&mut rng);
        for _ in 0..100 {
            seen.insert(decide(&gen::frame(&mut rng, &state), &state).reason);
        }
    }
    let missing: Vec<&str> = Reason::ALL
        .iter()
        .filter(|r| !seen.contains(r) && !UNREACHABLE.contains(r))
        .map(|r| r.label())
        .collect();
    assert!(missing.is_empty(), "never produced: {missing:?}");
}
