//! Maglev consistent-hashing lookup table (Eisenbud et al., NSDI'16).
//!
//! The XDP program picks a backend with `table[flow_hash % M]`. Every node
//! must build the byte-identical table from the same healthy backend set, so
//! the construction depends only on the backend keys, ids, `size` and `seed`:
//!
//! * backends are sorted by key (`IpAddr` order: all IPv4 before IPv6, then
//!   by address bytes), so input order never matters;
//! * each backend's permutation comes from [`key_hash`], a fixed hash defined
//!   below over explicitly ordered bytes (no `DefaultHasher`, no native
//!   endianness), so it is identical on every machine and Rust version.
//!
//! An empty backend set yields a table filled with [`NO_BACKEND`], which the
//! data plane treats as "no healthy backend, pass the packet".

use std::collections::HashMap;
use std::net::IpAddr;

/// Table value meaning "no backend"; never a valid backend id.
pub const NO_BACKEND: u32 = u32::MAX;

/// Default table size: prime, and large enough that per-backend shares stay
/// within ~0.1% of each other for up to 64 backends.
pub const DEFAULT_SIZE: u32 = 65537;

/// One healthy backend as seen by the table builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backend {
    /// Stable identity that drives the backend's permutation (API server address).
    pub key: IpAddr,
    /// Value stored in the table slots owned by this backend.
    pub id: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MaglevError {
    #[error("maglev table size {size} is not prime")]
    NotPrime { size: u32 },
    #[error("maglev table size {size} must be larger than the {backends} backends")]
    TooFewSlots { size: u32, backends: usize },
    #[error("backend {key} appears more than once")]
    DuplicateBackend { key: IpAddr },
    #[error("backend id {id} is used by more than one backend")]
    DuplicateId { id: u32 },
    #[error("backend {key} uses the reserved id {NO_BACKEND} (NO_BACKEND)")]
    ReservedId { key: IpAddr },
    #[error("tables differ in size: {before} vs {after} slots")]
    SizeMismatch { before: usize, after: usize },
}

/// Builds the Maglev lookup table of `size` slots for `backends`.
///
/// `size` must be prime and larger than `backends.len()`; keys and ids must
/// be unique and ids must not be [`NO_BACKEND`]. Every backend receives
/// either `floor(size / n)` or `ceil(size / n)` slots. `seed` lets a cluster
/// pick a different (but still cluster-wide identical) layout.
pub fn build(backends: &[Backend], size: u32, seed: u32) -> Result<Vec<u32>, MaglevError> {
    if !is_prime(size) {
        return Err(MaglevError::NotPrime { size });
    }
    if backends.len() >= size as usize {
        return Err(MaglevError::TooFewSlots {
            size,
            backends: backends.len(),
        });
    }
    let sorted = validated_sorted(backends)?;
    let mut table = vec![NO_BACKEND; size as usize];
    if sorted.is_empty() {
        return Ok(table);
    }

    let slots = u64::from(size);
    // Position of each backend's next permutation entry: offset + j * skip (mod size).
    let mut next_slot: Vec<u64> = Vec::with_capacity(sorted.len());
    let mut skips: Vec<u64> = Vec::with_capacity(sorted.len());
    for backend in &sorted {
        next_slot.push(key_hash(backend.key, seed, HashRole::Offset) % slots);
        skips.push(key_hash(backend.key, seed, HashRole::Skip) % (slots - 1) + 1);
    }

    // Round-robin: each backend claims its next free preferred slot in turn.
    // `size` is prime, so every permutation visits every slot and the inner
    // search always terminates.
    let mut filled = 0u64;
    loop {
        for (index, backend) in sorted.iter().enumerate() {
            let skip = skips[index];
            let mut slot = next_slot[index];
            while table[slot as usize] != NO_BACKEND {
                slot = advance(slot, skip, slots);
            }
            table[slot as usize] = backend.id;
            next_slot[index] = advance(slot, skip, slots);
            filled += 1;
            if filled == slots {
                return Ok(table);
            }
        }
    }
}

fn advance(slot: u64, skip: u64, slots: u64) -> u64 {
    let next = slot + skip;
    if next >= slots {
        next - slots
    } else {
        next
    }
}

fn validated_sorted(backends: &[Backend]) -> Result<Vec<Backend>, MaglevError> {
    let mut sorted = backends.to_vec();
    sorted.sort_unstable_by_key(|backend| backend.key);
    for pair in sorted.windows(2) {
        if pair[0].key == pair[1].key {
            return Err(MaglevError::DuplicateBackend { key: pair[0].key });
        }
    }
    if let Some(reserved) = sorted.iter().find(|backend| backend.id == NO_BACKEND) {
        return Err(MaglevError::ReservedId { key: reserved.key });
    }
    let mut ids: Vec<u32> = sorted.iter().map(|backend| backend.id).collect();
    ids.sort_unstable();
    if let Some(pair) = ids.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(MaglevError::DuplicateId { id: pair[0] });
    }
    Ok(sorted)
}

/// Which of the two independent per-backend hashes to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashRole {
    Offset = 0,
    Skip = 1,
}

/// Fixed, endianness-independent 64-bit hash of a backend key.
///
/// Input bytes, in order: role (0 = offset, 1 = skip), `seed` as 4
/// little-endian bytes, address family (4 or 6), then the address octets in
/// network order. They are hashed with 64-bit FNV-1a (offset basis
/// 0xcbf29ce484222325, prime 0x100000001b3) and finished with the MurmurHash3
/// `fmix64` avalanche so that nearby addresses get unrelated permutations.
pub fn key_hash(key: IpAddr, seed: u32, role: HashRole) -> u64 {
    const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut bytes = [0u8; 22];
    bytes[0] = role as u8;
    bytes[1..5].copy_from_slice(&seed.to_le_bytes());
    let len = match key {
        IpAddr::V4(v4) => {
            bytes[5] = 4;
            bytes[6..10].copy_from_slice(&v4.octets());
            10
        }
        IpAddr::V6(v6) => {
            bytes[5] = 6;
            bytes[6..22].copy_from_slice(&v6.octets());
            22
        }
    };
    let fnv = bytes[..len].iter().fold(FNV_OFFSET_BASIS, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME)
    });
    fmix64(fnv)
}

fn fmix64(mut value: u64) -> u64 {
    value ^= value >> 33;
    value = value.wrapping_mul(0xff51_afd7_ed55_8ccd);
    value ^= value >> 33;
    value = value.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    value ^ (value >> 33)
}

/// Deterministic primality test (trial division by 6k ± 1, ≤ ~22k steps).
pub fn is_prime(n: u32) -> bool {
    if n < 4 {
        return n >= 2;
    }
    if n.is_multiple_of(2) || n.is_multiple_of(3) {
        return false;
    }
    let n = u64::from(n);
    let mut divisor = 5u64;
    while divisor * divisor <= n {
        if n.is_multiple_of(divisor) || n.is_multiple_of(divisor + 2) {
            return false;
        }
        divisor += 6;
    }
    true
}

/// Largest deviation of any backend's slot count from the mean, as a
/// fraction of the mean. Only ids present in the table count as backends
/// (a backend with zero slots is invisible); [`NO_BACKEND`] slots are
/// ignored. Returns 0.0 when no slot holds a backend.
pub fn imbalance(table: &[u32]) -> f64 {
    let mut slots_per_id: HashMap<u32, u64> = HashMap::new();
    for &id in table.iter().filter(|&&id| id != NO_BACKEND) {
        *slots_per_id.entry(id).or_default() += 1;
    }
    if slots_per_id.is_empty() {
        return 0.0;
    }
    let owned: u64 = slots_per_id.values().sum();
    let mean = owned as f64 / slots_per_id.len() as f64;
    let max_deviation = slots_per_id
        .values()
        .map(|&count| (count as f64 - mean).abs())
        .fold(0.0, f64::max);
    max_deviation / mean
}

/// Share of slots (0.0..=1.0) whose value differs between two tables of the
/// same size; 0.0 for two empty tables.
pub fn moved_share(before: &[u32], after: &[u32]) -> Result<f64, MaglevError> {
    if before.len() != after.len() {
        return Err(MaglevError::SizeMismatch {
            before: before.len(),
            after: after.len(),
        });
    }
    if before.is_empty() {
        return Ok(0.0);
    }
    let moved = before.iter().zip(after).filter(|(b, a)| b != a).count();
    Ok(moved as f64 / before.len() as f64)
}

#[cfg(test)]
mod tests;
