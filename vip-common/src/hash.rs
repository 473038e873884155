//! The flow hash both the XDP program and the agent's tests compute. It must give the same
//! value on every node and architecture, so it reads bytes in a fixed (little-endian) order.

use crate::IpKey;

#[inline(always)]
const fn mix(h: u32, word: u32) -> u32 {
    // murmur3's per-block step.
    let k = word
        .wrapping_mul(0xcc9e_2d51)
        .rotate_left(15)
        .wrapping_mul(0x1b87_3593);
    (h ^ k)
        .rotate_left(13)
        .wrapping_mul(5)
        .wrapping_add(0xe654_6b64)
}

#[inline(always)]
const fn finish(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

#[inline(always)]
const fn word(a: &[u8; 16], i: usize) -> u32 {
    u32::from_le_bytes([a[i], a[i + 1], a[i + 2], a[i + 3]])
}

/// Hash of (client address, client port, service port, protocol) with a cluster-wide seed.
/// The VIP is left out on purpose: the service key already selects the ring.
#[inline(always)]
pub const fn flow_hash(
    client: &IpKey,
    client_port: u16,
    service_port: u16,
    proto: u8,
    seed: u32,
) -> u32 {
    let a = &client.addr;
    let mut h = seed;
    h = mix(h, word(a, 0));
    h = mix(h, word(a, 4));
    h = mix(h, word(a, 8));
    h = mix(h, word(a, 12));
    h = mix(h, ((client_port as u32) << 16) | service_port as u32);
    h = mix(h, proto as u32);
    finish(h ^ 21)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Golden values, computed by a second implementation written from the description
    /// above (scripts/reference/flow_hash_maglev.py), not by this code. They are a
    /// compatibility contract: nodes of different versions must pick the same backend
    /// for a flow, so a change here breaks failover between versions.
    const GOLDEN: [([u8; 16], u16, u16, u8, u32, u32); 9] = [
        (V4_10_0_0_7, 40000, 6443, 6, 0, 0x9581_0817),
        (V4_10_0_0_7, 40001, 6443, 6, 0, 0xbbbd_1e6a),
        (V4_10_0_0_7, 40000, 6443, 6, 1, 0xc7be_06ef),
        (V4_10_0_0_7, 40000, 6443, 17, 0, 0xfd1a_c3aa),
        (
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1],
            1,
            443,
            6,
            0xdead_beef,
            0xe5d7_ae7f,
        ),
        (
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0],
            0,
            0,
            0,
            0,
            0xa903_77f9,
        ),
        (
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 255, 255, 255, 255],
            65535,
            65535,
            255,
            0xffff_ffff,
            0xa03f_e803,
        ),
        (
            // 2001:db8::50
            [
                0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x50,
            ],
            34567,
            6443,
            6,
            7,
            0xb9f9_e913,
        ),
        (
            // fe80::1
            [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            12345,
            9345,
            17,
            42,
            0xad9b_eb9b,
        ),
    ];
    const V4_10_0_0_7: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 7];

    #[test]
    fn hash_matches_the_golden_vectors() {
        for (addr, client_port, service_port, proto, seed, expected) in GOLDEN {
            let got = flow_hash(
                &IpKey::from_v6(addr),
                client_port,
                service_port,
                proto,
                seed,
            );
            assert_eq!(
                got, expected,
                "{addr:?} {client_port} {service_port} {proto} seed {seed}"
            );
        }
    }

    #[test]
    fn ipv4_keys_are_ipv4_mapped() {
        assert_eq!(IpKey::from_v4([10, 0, 0, 7]).addr, V4_10_0_0_7);
    }

    #[test]
    fn hash_spreads_ports_evenly() {
        let client = IpKey::from_v4([192, 0, 2, 1]);
        let mut buckets = [0u32; 7];
        for port in 20000..27000u16 {
            buckets[(flow_hash(&client, port, 6443, 6, 42) % 7) as usize] += 1;
        }
        for b in buckets {
            assert!((900..1100).contains(&b), "uneven bucket {b}: {buckets:?}");
        }
    }
}
