//! ICMPv6 checksum of the neighbour advertisements the XDP program and the agent build.
//! Computed from the advertisement's fields rather than the packet, so the XDP program
//! needs no bounded loop over packet memory and the agent can reuse it.

/// Length of a neighbour advertisement with one target link-layer address option.
pub const NA_LEN: u16 = 32;
/// NA flag bits (first byte of the flags word).
pub const NA_FLAG_SOLICITED: u8 = 0x40;
pub const NA_FLAG_OVERRIDE: u8 = 0x20;
const ICMPV6: u32 = 58;
const NA_TYPE: u32 = 136;
const OPT_TARGET_LLADDR: u32 = 2;

#[inline(always)]
const fn sum16(bytes: &[u8; 16]) -> u32 {
    let mut sum = 0u32;
    let mut i = 0;
    while i < 16 {
        sum += ((bytes[i] as u32) << 8) | bytes[i + 1] as u32;
        i += 2;
    }
    sum
}

/// Folds a 32-bit one's-complement sum with end-around carry and complements it.
#[inline(always)]
pub const fn fold(mut sum: u32) -> u16 {
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    !(sum as u16)
}

/// Checksum (host order) of a neighbour advertisement from `src` to `dst` for `target`
/// with `flags` and a target link-layer address option carrying `mac`.
#[inline(always)]
pub const fn na_checksum(
    src: &[u8; 16],
    dst: &[u8; 16],
    flags: u8,
    target: &[u8; 16],
    mac: &[u8; 6],
) -> u16 {
    // Pseudo-header: addresses, upper-layer length, next header.
    let mut sum = sum16(src) + sum16(dst) + NA_LEN as u32 + ICMPV6;
    // Type/code, checksum (zero), flags word, target.
    sum += NA_TYPE << 8;
    sum += (flags as u32) << 8;
    sum += sum16(target);
    // Option: type 2, length 1 (8 bytes), MAC.
    sum += (OPT_TARGET_LLADDR << 8) | 1;
    sum += ((mac[0] as u32) << 8) | mac[1] as u32;
    sum += ((mac[2] as u32) << 8) | mac[3] as u32;
    sum += ((mac[4] as u32) << 8) | mac[5] as u32;
    fold(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Straightforward RFC 1071 sum over a serialized pseudo-header and message.
    fn reference(
        src: &[u8; 16],
        dst: &[u8; 16],
        flags: u8,
        target: &[u8; 16],
        mac: &[u8; 6],
    ) -> u16 {
        let mut buf = [0u8; 40 + 32];
        buf[..16].copy_from_slice(src);
        buf[16..32].copy_from_slice(dst);
        buf[32..36].copy_from_slice(&(NA_LEN as u32).to_be_bytes());
        buf[39] = 58;
        let msg = &mut buf[40..];
        msg[0] = 136;
        msg[4] = flags;
        msg[8..24].copy_from_slice(target);
        msg[24] = 2;
        msg[25] = 1;
        msg[26..32].copy_from_slice(mac);
        let mut sum = 0u32;
        for pair in buf.chunks(2) {
            sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    #[test]
    fn matches_reference_including_carries() {
        let vip = [
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let all_nodes = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let ones = [0xff; 16];
        for (src, dst, mac) in [
            (vip, all_nodes, [0x02, 0, 0, 0, 0, 1]),
            (vip, ones, [0xff; 6]),
            (ones, ones, [0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54]),
        ] {
            for flags in [NA_FLAG_OVERRIDE, NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE] {
                assert_eq!(
                    na_checksum(&src, &dst, flags, &src, &mac),
                    reference(&src, &dst, flags, &src, &mac)
                );
            }
        }
    }

    #[test]
    fn known_value() {
        // Hand-checked: all-zero fields leave only the constants 32 + 58 + 0x8800 + 0x0201.
        let z = [0u8; 16];
        assert_eq!(
            na_checksum(&z, &z, 0, &z, &[0; 6]),
            !(32u16 + 58 + 0x8800 + 0x0201)
        );
    }
}
