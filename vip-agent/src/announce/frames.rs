//! Byte-exact builders for gratuitous ARP and unsolicited neighbour advertisement frames.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::MacAddr;

pub(crate) const ETHERTYPE_ARP: u16 = 0x0806;
pub(crate) const ETHERTYPE_IPV4: u16 = 0x0800;
pub(crate) const ETHERTYPE_IPV6: u16 = 0x86dd;
pub(crate) const ETHERNET_HEADER_LEN: usize = 14;
pub(crate) const ARP_LEN: usize = 28;
pub(crate) const ARP_HTYPE_ETHERNET: u16 = 1;
pub(crate) const ARP_OP_REQUEST: u16 = 1;
pub(crate) const ARP_OP_REPLY: u16 = 2;
pub(crate) const IPV6_HEADER_LEN: usize = 40;
pub(crate) const IPPROTO_ICMPV6: u8 = 58;
/// RFC 4861 requires hop limit 255 so receivers know the NA was not forwarded.
pub(crate) const ND_HOP_LIMIT: u8 = 255;
pub(crate) const ICMPV6_NEIGHBOR_ADVERTISEMENT: u8 = 136;
pub(crate) const ND_OPT_TARGET_LINK_LAYER_ADDR: u8 = 2;
/// R=0 (not a router), S=0 (unsolicited), O=1 (override existing cache entries).
const NA_FLAGS_OVERRIDE_ONLY: u8 = 0x20;
/// Frames shorter than the Ethernet minimum (without FCS) are zero-padded so no
/// switch or driver ever sees a runt.
const MIN_FRAME_LEN: usize = 60;
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
const ALL_NODES_MAC: MacAddr = MacAddr([0x33, 0x33, 0, 0, 0, 1]);
/// ICMPv6 NA body: type, code, checksum, flags+reserved, target, one 8-byte option.
const NA_LEN: usize = 4 + 4 + 16 + 8;

/// Gratuitous ARP in request form: sender IP = target IP = VIP, target MAC zero,
/// broadcast. Linux treats this form as gratuitous and overrides existing entries.
pub fn gratuitous_arp_request(mac: MacAddr, vip: Ipv4Addr) -> Vec<u8> {
    arp_frame(ARP_OP_REQUEST, mac, vip, MacAddr::ZERO)
}

/// Gratuitous ARP in reply form with a broadcast target MAC, for peers that only
/// learn from replies.
pub fn gratuitous_arp_reply(mac: MacAddr, vip: Ipv4Addr) -> Vec<u8> {
    arp_frame(ARP_OP_REPLY, mac, vip, MacAddr::BROADCAST)
}

fn arp_frame(op: u16, mac: MacAddr, vip: Ipv4Addr, target_mac: MacAddr) -> Vec<u8> {
    let mut frame = Vec::with_capacity(MIN_FRAME_LEN);
    push_ethernet_header(&mut frame, MacAddr::BROADCAST, mac, ETHERTYPE_ARP);
    frame.extend_from_slice(&ARP_HTYPE_ETHERNET.to_be_bytes());
    frame.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    frame.extend_from_slice(&[6, 4]);
    frame.extend_from_slice(&op.to_be_bytes());
    frame.extend_from_slice(&mac.0);
    frame.extend_from_slice(&vip.octets());
    frame.extend_from_slice(&target_mac.0);
    frame.extend_from_slice(&vip.octets());
    frame.resize(MIN_FRAME_LEN, 0);
    frame
}

/// Unsolicited neighbour advertisement (RFC 4861 §7.2.6) from the VIP to all nodes,
/// carrying our MAC in the target link-layer address option.
pub fn unsolicited_neighbor_advertisement(mac: MacAddr, vip: Ipv6Addr) -> Vec<u8> {
    let mut message = Vec::with_capacity(NA_LEN);
    message.extend_from_slice(&[ICMPV6_NEIGHBOR_ADVERTISEMENT, 0, 0, 0]);
    message.extend_from_slice(&[NA_FLAGS_OVERRIDE_ONLY, 0, 0, 0]);
    message.extend_from_slice(&vip.octets());
    message.extend_from_slice(&[ND_OPT_TARGET_LINK_LAYER_ADDR, 1]);
    message.extend_from_slice(&mac.0);
    let checksum = icmpv6_checksum(vip, ALL_NODES, &message);
    message[2..4].copy_from_slice(&checksum.to_be_bytes());

    let mut frame = Vec::with_capacity(ETHERNET_HEADER_LEN + IPV6_HEADER_LEN + NA_LEN);
    push_ethernet_header(&mut frame, ALL_NODES_MAC, mac, ETHERTYPE_IPV6);
    frame.extend_from_slice(&[0x60, 0, 0, 0]);
    frame.extend_from_slice(&(NA_LEN as u16).to_be_bytes());
    frame.extend_from_slice(&[IPPROTO_ICMPV6, ND_HOP_LIMIT]);
    frame.extend_from_slice(&vip.octets());
    frame.extend_from_slice(&ALL_NODES.octets());
    frame.extend_from_slice(&message);
    frame
}

/// All frames announcing one VIP: both ARP forms for IPv4, one NA for IPv6.
pub fn announcement_frames(mac: MacAddr, vip: IpAddr) -> Vec<Vec<u8>> {
    match vip {
        IpAddr::V4(v4) => vec![
            gratuitous_arp_request(mac, v4),
            gratuitous_arp_reply(mac, v4),
        ],
        IpAddr::V6(v6) => vec![unsolicited_neighbor_advertisement(mac, v6)],
    }
}

/// ICMPv6 checksum over the IPv6 pseudo-header and `message` (RFC 8200 §8.1).
/// With the checksum field zeroed this yields the value to store; over a message
/// carrying a correct checksum it yields 0.
pub fn icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, message: &[u8]) -> u16 {
    let upper_layer_len = u32::try_from(message.len()).unwrap_or(u32::MAX);
    let mut sum = ones_complement_add(0, &src.octets());
    sum = ones_complement_add(sum, &dst.octets());
    sum = ones_complement_add(sum, &upper_layer_len.to_be_bytes());
    sum = ones_complement_add(sum, &[0, 0, 0, IPPROTO_ICMPV6]);
    sum = ones_complement_add(sum, message);
    !fold_carries(sum)
}

/// Adds big-endian 16-bit words to `sum`; an odd trailing byte is padded with zero.
fn ones_complement_add(mut sum: u64, bytes: &[u8]) -> u64 {
    let mut words = bytes.chunks_exact(2);
    for word in &mut words {
        sum += u64::from(u16::from_be_bytes([word[0], word[1]]));
    }
    if let [last] = words.remainder() {
        sum += u64::from(*last) << 8;
    }
    sum
}

/// End-around carry: fold everything above 16 bits back into the low word.
fn fold_carries(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

fn push_ethernet_header(frame: &mut Vec<u8>, dst: MacAddr, src: MacAddr, ethertype: u16) {
    frame.extend_from_slice(&dst.0);
    frame.extend_from_slice(&src.0);
    frame.extend_from_slice(&ethertype.to_be_bytes());
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const MAC: MacAddr = MacAddr([0x02, 0x00, 0x5e, 0x10, 0x00, 0x01]);

    fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        digits
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect()
    }

    const ARP_PADDING: &str = "000000000000000000000000000000000000";

    #[test]
    fn arp_request_form_is_byte_exact() {
        let expected = hex(&format!(
            "ffffffffffff 02005e100001 0806 0001 0800 06 04 0001
             02005e100001 c000020a 000000000000 c000020a {ARP_PADDING}"
        ));
        let frame = gratuitous_arp_request(MAC, Ipv4Addr::new(192, 0, 2, 10));
        assert_eq!(frame, expected);
        assert_eq!(frame.len(), 60);
    }

    #[test]
    fn arp_reply_form_is_byte_exact() {
        let expected = hex(&format!(
            "ffffffffffff 02005e100001 0806 0001 0800 06 04 0002
             02005e100001 c000020a ffffffffffff c000020a {ARP_PADDING}"
        ));
        assert_eq!(
            gratuitous_arp_reply(MAC, Ipv4Addr::new(192, 0, 2, 10)),
            expected
        );
    }

    /// Expected bytes produced independently with scapy 2.8:
    /// Ether(dst="33:33:00:00:00:01", src=mac)/IPv6(src=vip, dst="ff02::1", hlim=255)
    /// /ICMPv6ND_NA(R=0, S=0, O=1, tgt=vip)/ICMPv6NDOptDstLLAddr(lladdr=mac)
    #[test]
    fn neighbor_advertisement_matches_scapy() {
        let expected = hex("333300000001 02005e100001 86dd
             60000000 0020 3a ff 20010db8000000000000000000000010 ff020000000000000000000000000001
             88 00 9afc 20000000 20010db8000000000000000000000010 0201 02005e100001");
        let vip: Ipv6Addr = "2001:db8::10".parse().unwrap();
        assert_eq!(unsolicited_neighbor_advertisement(MAC, vip), expected);
    }

    /// All-ones addresses force several carries out of the low 16 bits.
    #[test]
    fn neighbor_advertisement_checksum_with_many_carries_matches_scapy() {
        let expected = hex("333300000001 fefffffffffe 86dd
             60000000 0020 3a ff fdffffffffffffffffffffffffffff01 ff020000000000000000000000000001
             88 00 5d9d 20000000 fdffffffffffffffffffffffffffff01 0201 fefffffffffe");
        let mac = MacAddr([0xfe, 0xff, 0xff, 0xff, 0xff, 0xfe]);
        let vip: Ipv6Addr = "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ff01".parse().unwrap();
        assert_eq!(unsolicited_neighbor_advertisement(mac, vip), expected);
    }

    #[test]
    fn checksum_over_valid_message_is_zero() {
        let vip: Ipv6Addr = "2001:db8::10".parse().unwrap();
        let frame = unsolicited_neighbor_advertisement(MAC, vip);
        let message = &frame[ETHERNET_HEADER_LEN + IPV6_HEADER_LEN..];
        assert_eq!(icmpv6_checksum(vip, ALL_NODES, message), 0);
        let mut corrupted = message.to_vec();
        corrupted[10] ^= 0x01;
        assert_ne!(icmpv6_checksum(vip, ALL_NODES, &corrupted), 0);
    }

    /// RFC 1071 §3 worked example: words 0001 f203 f4f5 f6f7 sum to 2ddf0,
    /// which folds to ddf2.
    #[test]
    fn ones_complement_sum_matches_rfc1071_example() {
        let sum = ones_complement_add(0, &[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
        assert_eq!(sum, 0x2ddf0);
        assert_eq!(fold_carries(sum), 0xddf2);
    }

    #[test]
    fn odd_trailing_byte_is_padded_on_the_right() {
        assert_eq!(ones_complement_add(0, &[0x12, 0x34, 0xab]), 0x1234 + 0xab00);
    }

    #[test]
    fn announcement_frames_cover_both_arp_forms_or_one_na() {
        let v4 = announcement_frames(MAC, "192.0.2.10".parse().unwrap());
        assert_eq!(v4.len(), 2);
        assert_eq!(v4[0][21], ARP_OP_REQUEST as u8);
        assert_eq!(v4[1][21], ARP_OP_REPLY as u8);
        let v6 = announcement_frames(MAC, "2001:db8::10".parse().unwrap());
        assert_eq!(v6.len(), 1);
        assert_eq!(v6[0][12..14], ETHERTYPE_IPV6.to_be_bytes());
    }
}
