//! Header builders for the generator: each appends one well-formed header (with correct
//! lengths and checksums) so mutations start from frames a real host would send.
use vip_model::checksum;

pub type Mac = [u8; 6];

pub fn ethernet(dst: Mac, src: Mac, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Inserts an 802.1Q or 802.1ad tag before the EtherType.
pub fn vlan_tag(frame: &[u8], tpid: u16, vlan: u16) -> Vec<u8> {
    let mut f = frame[..12].to_vec();
    f.extend_from_slice(&tpid.to_be_bytes());
    f.extend_from_slice(&(vlan & 0x0fff).to_be_bytes());
    f.extend_from_slice(&frame[12..]);
    f
}

pub struct ArpFields {
    pub op: u16,
    pub sender_mac: Mac,
    pub sender_ip: [u8; 4],
    pub target_mac: Mac,
    pub target_ip: [u8; 4],
}

pub fn arp(a: &ArpFields) -> Vec<u8> {
    let mut p = vec![0, 1, 0x08, 0x00, 6, 4];
    p.extend_from_slice(&a.op.to_be_bytes());
    p.extend_from_slice(&a.sender_mac);
    p.extend_from_slice(&a.sender_ip);
    p.extend_from_slice(&a.target_mac);
    p.extend_from_slice(&a.target_ip);
    p
}

pub struct Ipv4Fields<'a> {
    pub src: [u8; 4],
    pub dst: [u8; 4],
    pub protocol: u8,
    pub options: &'a [u8],
    pub flags_fragment: u16,
    pub ttl: u8,
}

/// An IPv4 packet; `options` must be a multiple of 4 bytes and at most 40.
pub fn ipv4(h: &Ipv4Fields, payload: &[u8]) -> Vec<u8> {
    let header_len = 20 + h.options.len();
    let mut p = vec![0x40 | (header_len / 4) as u8, 0];
    p.extend_from_slice(&((header_len + payload.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[0x12, 0x34]);
    p.extend_from_slice(&h.flags_fragment.to_be_bytes());
    p.extend_from_slice(&[h.ttl, h.protocol, 0, 0]);
    p.extend_from_slice(&h.src);
    p.extend_from_slice(&h.dst);
    p.extend_from_slice(h.options);
    let check = checksum::internet(&p);
    p[10..12].copy_from_slice(&check.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

pub fn ipv6(src: [u8; 16], dst: [u8; 16], next: u8, hop_limit: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    p.extend_from_slice(&[next, hop_limit]);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(payload);
    p
}

/// An IPv6 extension header (hop-by-hop, routing, destination options: 8-byte units)
/// carrying `next`, padded with PadN.
pub fn extension(next: u8, units: u8) -> Vec<u8> {
    let len = 8 * (usize::from(units) + 1);
    let mut h = vec![next, units, 1, (len - 4) as u8];
    h.resize(len, 0);
    h
}

/// An IPv6 fragment header (RFC 8200 §4.5).
pub fn fragment_header(next: u8, offset_flags: u16) -> Vec<u8> {
    let mut h = vec![next, 0];
    h.extend_from_slice(&offset_flags.to_be_bytes());
    h.extend_from_slice(&[0, 0, 0x12, 0x34]);
    h
}

/// A TCP segment with a correct checksum for the given addresses (4 or 16 bytes each).
pub fn tcp(src: &[u8], dst: &[u8], ports: (u16, u16), flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut s = Vec::with_capacity(20 + payload.len());
    s.extend_from_slice(&ports.0.to_be_bytes());
    s.extend_from_slice(&ports.1.to_be_bytes());
    s.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    s.extend_from_slice(payload);
    let check = checksum::upper_layer(src, dst, 6, &s);
    s[16..18].copy_from_slice(&check.to_be_bytes());
    s
}

pub fn udp(src: &[u8], dst: &[u8], ports: (u16, u16), payload: &[u8]) -> Vec<u8> {
    let mut d = Vec::with_capacity(8 + payload.len());
    d.extend_from_slice(&ports.0.to_be_bytes());
    d.extend_from_slice(&ports.1.to_be_bytes());
    d.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    d.extend_from_slice(payload);
    let check = checksum::upper_layer(src, dst, 17, &d);
    d[6..8].copy_from_slice(&check.to_be_bytes());
    d
}

/// An ICMP (`v6` = None) or ICMPv6 (pseudo-header addresses given) message.
pub fn icmp(
    kind: u8,
    code: u8,
    rest: [u8; 4],
    body: &[u8],
    v6: Option<([u8; 16], [u8; 16])>,
) -> Vec<u8> {
    let mut m = vec![kind, code, 0, 0];
    m.extend_from_slice(&rest);
    m.extend_from_slice(body);
    let check = match v6 {
        Some((src, dst)) => checksum::icmpv6(&src, &dst, &m),
        None => checksum::internet(&m),
    };
    m[2..4].copy_from_slice(&check.to_be_bytes());
    m
}

/// An NDP option: type, length in 8-byte units, value padded to fit.
pub fn ndp_option(kind: u8, units: u8, value: &[u8]) -> Vec<u8> {
    let mut o = vec![kind, units];
    o.extend_from_slice(value);
    o.resize((usize::from(units) * 8).max(2 + value.len()), 0);
    o
}
