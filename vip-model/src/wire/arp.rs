//! RFC 826 ARP packet for Ethernet hardware and IPv4 protocol addresses (28 bytes).
use super::{array, be16, Mac};

pub const LEN: usize = 28;
pub const HARDWARE_ETHERNET: u16 = 1;
pub const OP_REQUEST: u16 = 1;
pub const OP_REPLY: u16 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arp {
    pub hardware: u16,
    pub protocol: u16,
    pub hardware_len: u8,
    pub protocol_len: u8,
    pub op: u16,
    pub sender_mac: Mac,
    pub sender_ip: [u8; 4],
    pub target_mac: Mac,
    pub target_ip: [u8; 4],
}

/// The ARP packet at `at`, read with the Ethernet/IPv4 field sizes whatever its length
/// fields say (the decision rejects other sizes).
pub fn parse(frame: &[u8], at: usize) -> Option<Arp> {
    let packet = frame.get(at..at + LEN)?;
    Some(Arp {
        hardware: be16(packet, 0)?,
        protocol: be16(packet, 2)?,
        hardware_len: packet[4],
        protocol_len: packet[5],
        op: be16(packet, 6)?,
        sender_mac: array(packet, 8)?,
        sender_ip: array(packet, 14)?,
        target_mac: array(packet, 18)?,
        target_ip: array(packet, 24)?,
    })
}

/// Serializes an Ethernet/IPv4 ARP packet.
pub fn write(arp: &Arp) -> [u8; LEN] {
    let mut out = [0u8; LEN];
    out[0..2].copy_from_slice(&arp.hardware.to_be_bytes());
    out[2..4].copy_from_slice(&arp.protocol.to_be_bytes());
    out[4] = arp.hardware_len;
    out[5] = arp.protocol_len;
    out[6..8].copy_from_slice(&arp.op.to_be_bytes());
    out[8..14].copy_from_slice(&arp.sender_mac);
    out[14..18].copy_from_slice(&arp.sender_ip);
    out[18..24].copy_from_slice(&arp.target_mac);
    out[24..28].copy_from_slice(&arp.target_ip);
    out
}
