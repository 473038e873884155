//! Byte-level views of the headers the model reads, written from the RFCs. Every reader
//! returns `None` when the bytes it needs are not in the frame; none of them judges
//! validity beyond that (the decision modules do).
pub mod arp;
pub mod ethernet;
pub mod ipv4;
pub mod ipv6;
pub mod transport;

/// Big-endian 16-bit field at `at`.
pub fn be16(frame: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(frame.get(at..at + 2)?.try_into().ok()?))
}

/// `N` bytes at `at`.
pub fn array<const N: usize>(frame: &[u8], at: usize) -> Option<[u8; N]> {
    frame.get(at..at + N)?.try_into().ok()
}

pub type Mac = [u8; 6];
