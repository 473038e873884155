//! RFC 1071 Internet checksum and the RFC 8200 §8.1 upper-layer pseudo-header.

/// One's-complement sum of 16-bit big-endian words (an odd last byte is padded with 0).
fn sum(mut acc: u32, bytes: &[u8]) -> u32 {
    let mut pairs = bytes.chunks_exact(2);
    for pair in &mut pairs {
        acc += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    if let [last] = pairs.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// RFC 1071 checksum of `bytes` (the IPv4 header checksum when its field is zero).
pub fn internet(bytes: &[u8]) -> u16 {
    !fold(sum(0, bytes))
}

/// Checksum of an upper-layer `message` of protocol `next` behind an IPv4 (RFC 793/768
/// pseudo-header) or IPv6 (RFC 8200 §8.1) header, given the two addresses' bytes.
pub fn upper_layer(src: &[u8], dst: &[u8], next: u8, message: &[u8]) -> u16 {
    let mut acc = sum(0, src);
    acc = sum(acc, dst);
    acc = if src.len() == 4 {
        sum(acc, &[0, next]) + message.len() as u32
    } else {
        sum(acc, &(message.len() as u32).to_be_bytes()) + u32::from(next)
    };
    !fold(sum(acc, message))
}

/// The checksum field value for an ICMPv6 `message` from `src` to `dst` (its own checksum
/// field must be zero), or, over a message that carries one, 0 when it is correct.
pub fn icmpv6(src: &[u8; 16], dst: &[u8; 16], message: &[u8]) -> u16 {
    let mut acc = sum(0, src);
    acc = sum(acc, dst);
    acc = sum(acc, &(message.len() as u32).to_be_bytes());
    acc = sum(acc, &[0, 0, 0, 58]);
    !fold(sum(acc, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (with carries).
        assert_eq!(
            fold(sum(0, &[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])),
            0xddf2
        );
    }

    #[test]
    fn a_message_with_its_checksum_verifies_to_zero() {
        let src = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x50];
        let dst = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 1, 0];
        let mut message = vec![135, 0, 0, 0, 0, 0, 0, 0, 9, 8, 7];
        let check = icmpv6(&src, &dst, &message);
        message[2..4].copy_from_slice(&check.to_be_bytes());
        assert_eq!(icmpv6(&src, &dst, &message), 0);
    }
}
