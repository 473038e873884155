//! RFC 8200 IPv6 fixed header (40 bytes).
use super::{array, be16};

pub const HEADER_LEN: usize = 40;
pub const NEXT_ICMPV6: u8 = 58;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6 {
    pub version: u8,
    pub payload_len: u16,
    pub next_header: u8,
    pub hop_limit: u8,
    pub src: [u8; 16],
    pub dst: [u8; 16],
}

pub fn parse(frame: &[u8], at: usize) -> Option<Ipv6> {
    let h = frame.get(at..at + HEADER_LEN)?;
    Some(Ipv6 {
        version: h[0] >> 4,
        payload_len: be16(h, 4)?,
        next_header: h[6],
        hop_limit: h[7],
        src: array(h, 8)?,
        dst: array(h, 24)?,
    })
}

/// RFC 4291 §2.7: multicast addresses start with 0xff.
pub fn is_multicast(addr: &[u8; 16]) -> bool {
    addr[0] == 0xff
}

/// RFC 4291 §2.7.1: ff02::1:ffXX:XXXX for the low 24 bits of `addr`.
pub fn solicited_node_group(addr: &[u8; 16]) -> [u8; 16] {
    let mut group = [0u8; 16];
    group[0] = 0xff;
    group[1] = 0x02;
    group[11] = 0x01;
    group[12] = 0xff;
    group[13..].copy_from_slice(&addr[13..]);
    group
}

/// RFC 2464 §7: 33:33 followed by the low 32 bits of the multicast address.
pub fn multicast_mac(group: &[u8; 16]) -> [u8; 6] {
    [0x33, 0x33, group[12], group[13], group[14], group[15]]
}
