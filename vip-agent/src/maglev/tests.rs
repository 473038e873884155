use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Instant;

/// `count` backends 10.0.0.1, 10.0.0.2, … with ids 0, 1, …
fn backends(count: u32) -> Vec<Backend> {
    (0..count)
        .map(|index| Backend {
            key: IpAddr::V4(Ipv4Addr::from(0x0a00_0001 + index)),
            id: index,
        })
        .collect()
}

/// Deterministic Fisher-Yates shuffle (xorshift64), no rand dependency.
fn shuffled(items: &[Backend], mut state: u64) -> Vec<Backend> {
    let mut out = items.to_vec();
    for upper in (1..out.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.swap(upper, (state % (upper as u64 + 1)) as usize);
    }
    out
}

fn slot_counts(table: &[u32]) -> HashMap<u32, usize> {
    let mut counts = HashMap::new();
    for &id in table {
        *counts.entry(id).or_default() += 1;
    }
    counts
}

/// Share of the slots not owned by `removed_id` before the removal that changed.
fn survivor_moved_share(before: &[u32], after: &[u32], removed_id: u32) -> f64 {
    let kept: Vec<(u32, u32)> = before
        .iter()
        .zip(after)
        .filter(|(old, _)| **old != removed_id)
        .map(|(old, new)| (*old, *new))
        .collect();
    let moved = kept.iter().filter(|(old, new)| old != new).count();
    moved as f64 / kept.len() as f64
}

/// Disruption when each one of N backends is removed in turn.
struct RemovalStats {
    /// Moved share of the whole table, one entry per removed backend.
    moved: Vec<f64>,
    /// Worst share of slots not owned by the removed backend that changed.
    worst_survivor: f64,
}

fn removal_stats(count: u32) -> RemovalStats {
    let all = backends(count);
    let before = build(&all, DEFAULT_SIZE, 0).unwrap();
    let mut moved = Vec::new();
    let mut worst_survivor = 0.0f64;
    for removed in 0..all.len() {
        let mut rest = all.clone();
        rest.remove(removed);
        let after = build(&rest, DEFAULT_SIZE, 0).unwrap();
        moved.push(moved_share(&before, &after).unwrap());
        let survivor = survivor_moved_share(&before, &after, all[removed].id);
        worst_survivor = worst_survivor.max(survivor);
    }
    RemovalStats {
        moved,
        worst_survivor,
    }
}

#[test]
fn table_is_independent_of_input_order() {
    let all = backends(17);
    let reference = build(&all, DEFAULT_SIZE, 7).unwrap();
    let mut reversed = all.clone();
    reversed.reverse();
    assert_eq!(build(&reversed, DEFAULT_SIZE, 7).unwrap(), reference);
    for state in 1..=5u64 {
        let permuted = shuffled(&all, state.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        assert_ne!(permuted, all, "shuffle {state} left the order unchanged");
        assert_eq!(build(&permuted, DEFAULT_SIZE, 7).unwrap(), reference);
    }
}

#[test]
fn hash_and_table_are_pinned() {
    // Golden values: any change here breaks cross-version table agreement.
    let v4 = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let v6 = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1));
    assert_eq!(key_hash(v4, 0, HashRole::Offset), PINNED_V4_OFFSET);
    assert_eq!(key_hash(v4, 0, HashRole::Skip), PINNED_V4_SKIP);
    assert_eq!(key_hash(v6, 42, HashRole::Offset), PINNED_V6_OFFSET);
    let table = build(&backends(5), 13, 0).unwrap();
    assert_eq!(table, PINNED_TABLE_5_OF_13);
}

// Cross-checked against an independent Python port of the documented hash and
// of the paper's POPULATE pseudocode.
const PINNED_V4_OFFSET: u64 = 0x2ccf_455b_5407_4716;
const PINNED_V4_SKIP: u64 = 0x427e_0b63_7586_c3ff;
const PINNED_V6_OFFSET: u64 = 0x2429_b480_0d60_52b3;
const PINNED_TABLE_5_OF_13: [u32; 13] = [3, 0, 4, 0, 2, 2, 2, 1, 3, 1, 4, 0, 1];

#[test]
fn seed_changes_the_layout_but_not_the_shares() {
    let all = backends(8);
    let seeded_0 = build(&all, DEFAULT_SIZE, 0).unwrap();
    let seeded_1 = build(&all, DEFAULT_SIZE, 1).unwrap();
    assert!(moved_share(&seeded_0, &seeded_1).unwrap() > 0.5);
    assert!(imbalance(&seeded_1) < 0.01);
}

#[test]
fn every_backend_gets_a_near_equal_share_of_only_given_ids() {
    for (count, size) in [
        (1, 2),
        (1, 13),
        (3, 5),
        (12, 13),
        (40, 1009),
        (64, DEFAULT_SIZE),
    ] {
        let table = build(&backends(count), size, 3).unwrap();
        assert_eq!(table.len(), size as usize);
        let counts = slot_counts(&table);
        let mut ids: Vec<u32> = counts.keys().copied().collect();
        ids.sort_unstable();
        assert_eq!(ids, (0..count).collect::<Vec<_>>(), "N={count} M={size}");
        let (min, max) = (counts.values().min(), counts.values().max());
        // Round-robin filling gives every backend floor(M/N) or ceil(M/N) slots.
        assert!(max.unwrap() - min.unwrap() <= 1, "N={count} M={size}");
    }
}

#[test]
fn ipv6_and_mixed_family_backends_work() {
    let mut mixed = backends(3);
    for index in 0..3u16 {
        let key = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, index + 1));
        mixed.push(Backend {
            key,
            id: 100 + u32::from(index),
        });
    }
    // The IPv4-mapped form is a distinct key from the plain IPv4 address.
    let mapped = IpAddr::V6(Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped());
    mixed.push(Backend {
        key: mapped,
        id: 200,
    });
    let table = build(&mixed, 1009, 0).unwrap();
    assert_eq!(slot_counts(&table).len(), mixed.len());
    assert_eq!(build(&shuffled(&mixed, 99), 1009, 0).unwrap(), table);
}

#[test]
fn imbalance_is_within_one_percent_for_2_to_64_backends() {
    for count in 2..=64 {
        let table = build(&backends(count), DEFAULT_SIZE, 0).unwrap();
        let share = imbalance(&table);
        assert!(share <= 0.01, "N={count}: imbalance {share}");
        // Slot counts differ by at most one, so the deviation is < 1 slot.
        let one_slot_share = f64::from(count) / f64::from(DEFAULT_SIZE);
        assert!(share < one_slot_share, "N={count}: imbalance {share}");
    }
}

/// Asserts the disruption bounds for removing each one of `count` backends.
///
/// Maglev is not minimally disruptive: besides the removed backend's 1/N
/// share, a roughly constant ~0.5% of the table (at M = 65537, largely
/// independent of N) changes owner among the survivors, so a multiplicative
/// bound like 1.1/N fails for N >= 24 and an additive one is the honest
/// form. Measured over N = 2..=64 and seeds 0..12: mean extra churn <= 0.53%,
/// worst single removal <= 1.2% (pairs of backends whose linear permutations
/// happen to be correlated). Bounds leave headroom over that; a broken
/// builder (e.g. unsorted input or mod-N hashing) moves ~(N-1)/N and fails.
fn assert_removal_bounds(count: u32, stats: &RemovalStats) {
    let RemovalStats {
        moved,
        worst_survivor,
    } = stats;
    let ideal = 1.0 / f64::from(count);
    let rounding = 1.0 / f64::from(DEFAULT_SIZE);
    for (removed, share) in moved.iter().enumerate() {
        // The removed backend's own slots must move, so ~1/N is a floor.
        assert!(*share >= ideal - rounding, "N={count} removed={removed}");
        assert!(
            *share <= ideal + MAX_EXTRA_CHURN,
            "N={count} removed={removed}: moved {share}, ideal {ideal}"
        );
    }
    let mean = moved.iter().sum::<f64>() / moved.len() as f64;
    assert!(
        mean <= ideal + MAX_MEAN_EXTRA_CHURN,
        "N={count}: mean {mean}"
    );
    assert!(
        *worst_survivor <= MAX_EXTRA_CHURN,
        "N={count}: {worst_survivor}"
    );
}

const MAX_EXTRA_CHURN: f64 = 0.015;
const MAX_MEAN_EXTRA_CHURN: f64 = 0.0075;

#[test]
fn removing_one_backend_moves_about_one_nth_of_the_slots() {
    // All N are covered (in release) by `maglev_report`, which asserts too.
    for count in [2, 3, 7, 16, 24, 38, 64] {
        assert_removal_bounds(count, &removal_stats(count));
    }
}

#[test]
fn empty_backend_set_fills_table_with_no_backend() {
    let table = build(&[], 13, 0).unwrap();
    assert_eq!(table, vec![NO_BACKEND; 13]);
    assert_eq!(imbalance(&table), 0.0);
}

fn build_error(backends: &[Backend], size: u32) -> MaglevError {
    build(backends, size, 0).unwrap_err()
}

#[test]
fn invalid_input_is_rejected() {
    use MaglevError::*;
    let two = backends(2);
    assert_eq!(build_error(&two, 65536), NotPrime { size: 65536 });
    assert_eq!(build_error(&[], 1), NotPrime { size: 1 });
    assert_eq!(
        build_error(&two, 2),
        TooFewSlots {
            size: 2,
            backends: 2
        }
    );
    let mut duplicated = backends(3);
    duplicated.push(Backend {
        id: 9,
        ..duplicated[1]
    });
    let key = duplicated[1].key;
    assert_eq!(build_error(&duplicated, 13), DuplicateBackend { key });
    let mut same_id = backends(3);
    same_id[2].id = 0;
    assert_eq!(build_error(&same_id, 13), DuplicateId { id: 0 });
    let mut reserved = backends(3);
    reserved[1].id = NO_BACKEND;
    let key = reserved[1].key;
    assert_eq!(build_error(&reserved, 13), ReservedId { key });
    let mismatch = moved_share(&[0, 1], &[0, 1, 2]).unwrap_err();
    assert_eq!(
        mismatch,
        SizeMismatch {
            before: 2,
            after: 3
        }
    );
}

#[test]
fn primality_matches_known_values() {
    let small: Vec<u32> = (0..50).filter(|&n| is_prime(n)).collect();
    let expected = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47];
    assert_eq!(small, expected);
    assert!(is_prime(DEFAULT_SIZE));
    assert!(is_prime(4_294_967_291)); // largest u32 prime
    assert!(!is_prime(u32::MAX));
    assert!(!is_prime(65_521 * 65_519)); // product of two large primes
}

#[test]
fn analysis_helpers_on_hand_made_tables() {
    assert_eq!(imbalance(&[1, 1, 2, 2]), 0.0);
    assert!((imbalance(&[1, 1, 1, 2, NO_BACKEND]) - 0.5).abs() < 1e-12);
    assert!((moved_share(&[1, 2, 3, 4], &[1, 2, 9, 9]).unwrap() - 0.5).abs() < 1e-12);
    assert_eq!(moved_share(&[], &[]), Ok(0.0));
}

/// `cargo test --release -- --ignored --nocapture maglev_report`
#[test]
#[ignore = "report: run in release with --nocapture"]
fn maglev_report() {
    const TIMING_RUNS: usize = 21;
    println!("M = {DEFAULT_SIZE}, seed 0, backends 10.0.0.1..=10.0.0.N. moved % = share of slots changed when one backend leaves (mean/max over each of the N choices); survivor = slots not owned by the leaving backend that changed; build = median of {TIMING_RUNS} builds.");
    println!();
    println!("| N | slots/backend | imbalance % | moved % (mean) | moved % (max) | 1/N % | max ÷ 1/N | survivor slots moved % (max) | build µs (median) |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for count in 2..=64u32 {
        let all = backends(count);
        let mut timings: Vec<u128> = (0..TIMING_RUNS)
            .map(|_| {
                let started = Instant::now();
                let table = build(&all, DEFAULT_SIZE, 0).unwrap();
                std::hint::black_box(table);
                started.elapsed().as_micros()
            })
            .collect();
        timings.sort_unstable();
        let median_micros = timings[TIMING_RUNS / 2];
        let table = build(&all, DEFAULT_SIZE, 0).unwrap();
        let counts = slot_counts(&table);
        let min = counts.values().min().unwrap();
        let max = counts.values().max().unwrap();
        let stats = removal_stats(count);
        let mean = stats.moved.iter().sum::<f64>() / stats.moved.len() as f64;
        let worst = stats.moved.iter().copied().fold(0.0, f64::max);
        let ideal = 1.0 / f64::from(count);
        println!(
            "| {count} | {min}–{max} | {:.3} | {:.2} | {:.2} | {:.2} | {:.3} | {:.2} | {} |",
            imbalance(&table) * 100.0,
            mean * 100.0,
            worst * 100.0,
            ideal * 100.0,
            worst / ideal,
            stats.worst_survivor * 100.0,
            median_micros,
        );
        assert_removal_bounds(count, &stats);
        assert!(imbalance(&table) <= 0.01, "N={count}");
        assert!(median_micros < 50_000, "N={count}: build too slow");
    }
}

/// Golden tables from a second implementation (scripts/reference/flow_hash_maglev.py),
/// not from this code: every node and every version must build the same table, so these
/// values are a compatibility contract.
#[test]
fn table_matches_the_golden_reference() {
    let three = backends(3);
    let table = build(&three, 251, 7).unwrap();
    let golden_first_40 = [
        0, 2, 2, 1, 2, 0, 1, 0, 2, 0, 0, 2, 2, 0, 1, 2, 0, 1, 2, 0, 2, 1, 1, 0, 0, 1, 0, 2, 2, 1,
        1, 0, 0, 1, 2, 0, 2, 1, 0, 2,
    ];
    assert_eq!(table[..40], golden_first_40);
    let counts = slot_counts(&table);
    assert_eq!((counts[&0], counts[&1], counts[&2]), (84, 84, 83));
    let without_1 = build(&[three[0], three[2]], 251, 7).unwrap();
    let golden_without_1 = [
        0, 2, 2, 2, 2, 0, 0, 0, 2, 0, 0, 2, 2, 2, 0, 2, 0, 0, 2, 0, 2, 2, 0, 0, 0, 0, 0, 2, 2, 2,
        2, 0, 0, 0, 2, 0, 2, 2, 0, 2,
    ];
    assert_eq!(without_1[..40], golden_without_1);
}
