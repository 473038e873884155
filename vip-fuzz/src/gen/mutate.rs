//! Mutations of a well-formed frame: bit flips, truncation, length-field lies, option
//! bytes, multicast/broadcast destinations, trailing garbage.
use super::universe::BROADCAST;
use crate::rng::Rng;

/// The smallest frame BPF_PROG_TEST_RUN accepts for XDP (an Ethernet header).
pub const MIN_FRAME: usize = 14;
/// Kept below what fits in the test-run page with head- and tailroom.
pub const MAX_FRAME: usize = 1514;

pub fn mutate(rng: &mut Rng, frame: &mut Vec<u8>) {
    for _ in 0..rng.below(3) + 1 {
        match rng.below(8) {
            0 | 1 => flip_bit(rng, frame),
            2 => truncate(rng, frame),
            3 => lie_about_length(rng, frame),
            4 => {
                let at = header_position(rng, frame);
                frame[at] = *rng.pick(&[0, 0xff, 0x80, 0x01, 0x3a, 0x06, 0x11, 0x87, 0x88]);
            }
            5 => {
                let dst = *rng.pick(&[
                    BROADCAST,
                    [0x01, 0, 0x5e, 0, 0, 0xfb],
                    [0x33, 0x33, 0xff, 0, 1, 0],
                ]);
                frame[..6].copy_from_slice(&dst);
            }
            6 => {
                let extra = rng.below(64);
                for _ in 0..extra {
                    frame.push(rng.byte());
                }
            }
            _ => {
                // Source MAC: a peer's, a multicast one.
                let src = *rng.pick(&[[0x02, 0, 0, 0, 1, 1], [0x01, 0, 0x5e, 0, 0, 1], BROADCAST]);
                frame[6..12].copy_from_slice(&src);
            }
        }
    }
    frame.truncate(MAX_FRAME);
}

/// Mostly inside the first 100 bytes, where the headers are.
fn header_position(rng: &mut Rng, frame: &[u8]) -> usize {
    let span = if rng.chance(85) {
        frame.len().min(100)
    } else {
        frame.len()
    };
    rng.below(span)
}

fn flip_bit(rng: &mut Rng, frame: &mut [u8]) {
    let at = header_position(rng, frame);
    frame[at] ^= 1 << rng.below(8);
}

fn truncate(rng: &mut Rng, frame: &mut Vec<u8>) {
    if frame.len() > MIN_FRAME {
        let len = MIN_FRAME + rng.below(frame.len() - MIN_FRAME);
        frame.truncate(len);
    }
}

/// Overwrites a length field (IPv4 IHL or total length, IPv6 payload length, UDP length)
/// with a value that does not match the frame.
fn lie_about_length(rng: &mut Rng, frame: &mut [u8]) {
    let offset = match (frame.get(12), frame.get(13)) {
        (Some(0x08), Some(0x00)) => *rng.pick(&[14, 16, 17]),
        (Some(0x86), Some(0xdd)) => *rng.pick(&[18, 19, 58, 59]),
        _ => 14 + rng.below(8),
    };
    if let Some(byte) = frame.get_mut(offset) {
        *byte = if offset == 14 {
            0x40 | rng.below(16) as u8
        } else {
            rng.byte()
        };
    }
}
