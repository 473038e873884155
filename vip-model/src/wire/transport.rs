//! The first bytes of TCP (RFC 9293), UDP (RFC 768), ICMP (RFC 792) and ICMPv6 (RFC 4443)
//! that the decision reads.
use super::be16;

pub const TCP_HEADER_LEN: usize = 20;
pub const UDP_HEADER_LEN: usize = 8;
/// ICMP and ICMPv6 messages start with type, code, checksum and 4 type-specific bytes.
pub const ICMP_HEADER_LEN: usize = 8;
pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_ACK: u8 = 0x10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ports {
    pub src: u16,
    pub dst: u16,
}

/// Source and destination port, the first four bytes of TCP and UDP alike.
pub fn ports(frame: &[u8], at: usize) -> Option<Ports> {
    Some(Ports {
        src: be16(frame, at)?,
        dst: be16(frame, at + 2)?,
    })
}

/// TCP control bits (byte 13 of the header).
pub fn tcp_flags(frame: &[u8], at: usize) -> Option<u8> {
    frame.get(at + 13).copied()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Icmp {
    pub kind: u8,
    pub code: u8,
}

pub fn icmp(frame: &[u8], at: usize) -> Option<Icmp> {
    let h = frame.get(at..at + ICMP_HEADER_LEN)?;
    Some(Icmp {
        kind: h[0],
        code: h[1],
    })
}
