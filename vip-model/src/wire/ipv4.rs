//! RFC 791 IPv4 header.
use super::{array, be16};

pub const MIN_HEADER_LEN: usize = 20;
pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
/// Flags word: more fragments.
const MORE_FRAGMENTS: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4 {
    pub version: u8,
    /// Internet header length in bytes (IHL × 4).
    pub header_len: usize,
    pub total_len: u16,
    pub flags_fragment: u16,
    pub protocol: u8,
    pub src: [u8; 4],
    pub dst: [u8; 4],
}

impl Ipv4 {
    /// A fragment other than a whole datagram: MF set or a non-zero offset.
    pub fn is_fragment(&self) -> bool {
        self.flags_fragment & (MORE_FRAGMENTS | OFFSET_MASK) != 0
    }

    /// Version 4 and at least the 20 fixed bytes.
    pub fn is_sane(&self) -> bool {
        self.version == 4 && self.header_len >= MIN_HEADER_LEN
    }
}

/// The fixed part of the header at `at` (options are not read).
pub fn parse(frame: &[u8], at: usize) -> Option<Ipv4> {
    let h = frame.get(at..at + MIN_HEADER_LEN)?;
    Some(Ipv4 {
        version: h[0] >> 4,
        header_len: usize::from(h[0] & 0x0f) * 4,
        total_len: be16(h, 2)?,
        flags_fragment: be16(h, 6)?,
        protocol: h[9],
        src: array(h, 12)?,
        dst: array(h, 16)?,
    })
}
