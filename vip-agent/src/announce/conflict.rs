//! Detects received ARP / neighbour advertisement frames in which another host
//! claims one of our VIPs.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::frames::{
    icmpv6_checksum, ARP_HTYPE_ETHERNET, ARP_LEN, ARP_OP_REPLY, ARP_OP_REQUEST,
    ETHERNET_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6,
    ICMPV6_NEIGHBOR_ADVERTISEMENT, IPPROTO_ICMPV6, IPV6_HEADER_LEN, ND_HOP_LIMIT,
    ND_OPT_TARGET_LINK_LAYER_ADDR,
};
use super::MacAddr;

const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const MAX_VLAN_TAGS: usize = 2;
const NA_FIXED_LEN: usize = 24;

/// A VIP claimed by a MAC address that is not ours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressConflict {
    pub vip: IpAddr,
    pub claimed_by: MacAddr,
    pub kind: ClaimKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimKind {
    ArpRequest,
    ArpReply,
    NeighborAdvertisement,
}

/// Returns the conflict if `frame` is an ARP packet whose sender IP is one of `vips`,
/// or a valid neighbour advertisement whose target is one of `vips`, and the claimed
/// MAC differs from `own_mac`. Up to two VLAN tags are skipped.
pub fn detect_conflict(frame: &[u8], own_mac: MacAddr, vips: &[IpAddr]) -> Option<AddressConflict> {
    let ethernet_source = MacAddr(frame.get(6..12)?.try_into().ok()?);
    let (ethertype, payload) = strip_vlan_tags(frame)?;
    let (vip, claimed_by, kind) = match ethertype {
        ETHERTYPE_ARP => arp_claim(payload)?,
        ETHERTYPE_IPV6 => neighbor_advertisement_claim(payload, ethernet_source)?,
        _ => return None,
    };
    (claimed_by != own_mac && vips.contains(&vip)).then_some(AddressConflict {
        vip,
        claimed_by,
        kind,
    })
}

fn strip_vlan_tags(frame: &[u8]) -> Option<(u16, &[u8])> {
    let mut ethertype = read_u16(frame, 12)?;
    let mut payload = frame.get(ETHERNET_HEADER_LEN..)?;
    for _ in 0..MAX_VLAN_TAGS {
        if ethertype != ETHERTYPE_VLAN && ethertype != ETHERTYPE_QINQ {
            break;
        }
        ethertype = read_u16(payload, 2)?;
        payload = payload.get(4..)?;
    }
    Some((ethertype, payload))
}

/// Any ARP request or reply with our VIP as sender protocol address updates
/// neighbour caches, so both count as claims.
fn arp_claim(arp: &[u8]) -> Option<(IpAddr, MacAddr, ClaimKind)> {
    let arp = arp.get(..ARP_LEN)?;
    let is_ethernet_ipv4 = read_u16(arp, 0)? == ARP_HTYPE_ETHERNET
        && read_u16(arp, 2)? == ETHERTYPE_IPV4
        && arp[4] == 6
        && arp[5] == 4;
    if !is_ethernet_ipv4 {
        return None;
    }
    let kind = match read_u16(arp, 6)? {
        ARP_OP_REQUEST => ClaimKind::ArpRequest,
        ARP_OP_REPLY => ClaimKind::ArpReply,
        _ => return None,
    };
    let sender_mac = MacAddr(arp[8..14].try_into().ok()?);
    let sender_ip = Ipv4Addr::from(<[u8; 4]>::try_from(&arp[14..18]).ok()?);
    Some((IpAddr::V4(sender_ip), sender_mac, kind))
}

/// Applies the RFC 4861 §7.1.2 validity checks that matter for cache updates
/// (hop limit, code, checksum, option lengths), so forged or forwarded NAs that
/// receivers would drop are not reported.
fn neighbor_advertisement_claim(
    ipv6: &[u8],
    ethernet_source: MacAddr,
) -> Option<(IpAddr, MacAddr, ClaimKind)> {
    let header = ipv6.get(..IPV6_HEADER_LEN)?;
    if header[0] >> 4 != 6 || header[6] != IPPROTO_ICMPV6 || header[7] != ND_HOP_LIMIT {
        return None;
    }
    let payload_len = usize::from(read_u16(header, 4)?);
    let message = ipv6.get(IPV6_HEADER_LEN..IPV6_HEADER_LEN + payload_len)?;
    if message.len() < NA_FIXED_LEN
        || message[0] != ICMPV6_NEIGHBOR_ADVERTISEMENT
        || message[1] != 0
    {
        return None;
    }
    let source = Ipv6Addr::from(<[u8; 16]>::try_from(&header[8..24]).ok()?);
    let destination = Ipv6Addr::from(<[u8; 16]>::try_from(&header[24..40]).ok()?);
    if icmpv6_checksum(source, destination, message) != 0 {
        return None;
    }
    let target = Ipv6Addr::from(<[u8; 16]>::try_from(&message[8..24]).ok()?);
    // Without a target link-layer option the sender's Ethernet address is the claimant.
    let claimed_by =
        target_link_layer_address(&message[NA_FIXED_LEN..])?.unwrap_or(ethernet_source);
    Some((
        IpAddr::V6(target),
        claimed_by,
        ClaimKind::NeighborAdvertisement,
    ))
}

/// `None` for malformed options (the whole NA is invalid), `Some(None)` if absent.
fn target_link_layer_address(mut options: &[u8]) -> Option<Option<MacAddr>> {
    let mut found = None;
    while !options.is_empty() {
        let option_len = usize::from(*options.get(1)?) * 8;
        if option_len == 0 {
            return None;
        }
        let option = options.get(..option_len)?;
        if option[0] == ND_OPT_TARGET_LINK_LAYER_ADDR && found.is_none() {
            found = Some(MacAddr(option.get(2..8)?.try_into().ok()?));
        }
        options = &options[option_len..];
    }
    Some(found)
}

fn read_u16(bytes: &[u8], offset: usize) -> Option<u16> {
    Some(u16::from_be_bytes(
        bytes.get(offset..offset + 2)?.try_into().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::announce::frames::tests::MAC as OUR_MAC;
    use crate::announce::frames::{
        gratuitous_arp_reply, gratuitous_arp_request, unsolicited_neighbor_advertisement,
    };

    const FOREIGN: MacAddr = MacAddr([0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc]);
    const VIP4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);

    fn vip6() -> Ipv6Addr {
        "2001:db8::10".parse().unwrap()
    }

    fn vips() -> Vec<IpAddr> {
        vec![IpAddr::V4(VIP4), IpAddr::V6(vip6())]
    }

    fn conflict(vip: IpAddr, kind: ClaimKind) -> Option<AddressConflict> {
        Some(AddressConflict {
            vip,
            claimed_by: FOREIGN,
            kind,
        })
    }

    #[test]
    fn foreign_arp_request_and_reply_for_vip_are_conflicts() {
        let request = gratuitous_arp_request(FOREIGN, VIP4);
        let reply = gratuitous_arp_reply(FOREIGN, VIP4);
        assert_eq!(
            detect_conflict(&request, OUR_MAC, &vips()),
            conflict(VIP4.into(), ClaimKind::ArpRequest)
        );
        assert_eq!(
            detect_conflict(&reply, OUR_MAC, &vips()),
            conflict(VIP4.into(), ClaimKind::ArpReply)
        );
    }

    #[test]
    fn our_own_announcements_are_not_conflicts() {
        for frame in [
            gratuitous_arp_request(OUR_MAC, VIP4),
            gratuitous_arp_reply(OUR_MAC, VIP4),
            unsolicited_neighbor_advertisement(OUR_MAC, vip6()),
        ] {
            assert_eq!(detect_conflict(&frame, OUR_MAC, &vips()), None);
        }
    }

    #[test]
    fn claims_for_other_addresses_are_ignored() {
        let other = Ipv4Addr::new(192, 0, 2, 99);
        let frame = gratuitous_arp_request(FOREIGN, other);
        assert_eq!(detect_conflict(&frame, OUR_MAC, &vips()), None);
        let na = unsolicited_neighbor_advertisement(FOREIGN, "2001:db8::99".parse().unwrap());
        assert_eq!(detect_conflict(&na, OUR_MAC, &vips()), None);
    }

    #[test]
    fn arp_probe_without_sender_address_is_not_a_claim() {
        let mut probe = gratuitous_arp_request(FOREIGN, VIP4);
        probe[28..32].copy_from_slice(&[0, 0, 0, 0]);
        assert_eq!(detect_conflict(&probe, OUR_MAC, &vips()), None);
    }

    #[test]
    fn foreign_neighbor_advertisement_is_a_conflict() {
        let na = unsolicited_neighbor_advertisement(FOREIGN, vip6());
        assert_eq!(
            detect_conflict(&na, OUR_MAC, &vips()),
            conflict(vip6().into(), ClaimKind::NeighborAdvertisement)
        );
    }

    #[test]
    fn target_option_mac_is_the_claimant_not_the_ethernet_source() {
        let mut na = unsolicited_neighbor_advertisement(FOREIGN, vip6());
        na[6..12].copy_from_slice(&OUR_MAC.0);
        assert_eq!(
            detect_conflict(&na, OUR_MAC, &vips()),
            conflict(vip6().into(), ClaimKind::NeighborAdvertisement)
        );
    }

    #[test]
    fn invalid_neighbor_advertisements_are_ignored() {
        let valid = unsolicited_neighbor_advertisement(FOREIGN, vip6());
        let mut forwarded = valid.clone();
        forwarded[21] = 64; // hop limit
        let mut bad_checksum = valid.clone();
        bad_checksum[57] ^= 0xff;
        let mut zero_length_option = valid.clone();
        zero_length_option[79] = 0;
        let truncated = valid[..70].to_vec();
        for frame in [forwarded, bad_checksum, zero_length_option, truncated] {
            assert_eq!(detect_conflict(&frame, OUR_MAC, &vips()), None);
        }
    }

    #[test]
    fn vlan_tagged_claims_are_detected() {
        let untagged = gratuitous_arp_reply(FOREIGN, VIP4);
        let mut tagged = untagged[..12].to_vec();
        tagged.extend_from_slice(&[0x88, 0xa8, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x14]);
        tagged.extend_from_slice(&untagged[12..]);
        assert_eq!(
            detect_conflict(&tagged, OUR_MAC, &vips()),
            conflict(VIP4.into(), ClaimKind::ArpReply)
        );
    }

    #[test]
    fn truncated_and_unrelated_frames_are_ignored() {
        let arp = gratuitous_arp_request(FOREIGN, VIP4);
        for len in [0, 11, 13, 20, 41] {
            assert_eq!(
                detect_conflict(&arp[..len], OUR_MAC, &vips()),
                None,
                "len {len}"
            );
        }
        let mut ipv4 = arp.clone();
        ipv4[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        assert_eq!(detect_conflict(&ipv4, OUR_MAC, &vips()), None);
    }
}
