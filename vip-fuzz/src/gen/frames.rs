//! Structure-aware frames to and around the VIPs: ARP, neighbour solicitations and
//! advertisements, TCP/UDP to services, ICMP errors about service flows, IPv6 extension
//! chains, IPv4 options and fragments, VLAN tags, multicast and broadcast addresses.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vip_model::{ModelState, Service};

use super::{
    build::{self, ArpFields, Ipv4Fields, Mac},
    state::client,
    universe::{
        backend_mac, BROADCAST, CLIENT_MAC, CLIENT_PORTS, NEAR4, NEAR6, OUR_MAC, SERVICE_PORTS,
        VIP4, VIP6,
    },
};
use crate::rng::Rng;

const ETH_IPV4: u16 = 0x0800;
const ETH_ARP: u16 = 0x0806;
const ETH_IPV6: u16 = 0x86dd;

pub fn frame(rng: &mut Rng, state: &ModelState) -> Vec<u8> {
    let f = match rng.below(100) {
        0..=14 => arp(rng, state),
        15..=29 => solicitation(rng),
        30..=34 => advertisement(rng, state),
        35..=64 => ip_transport(rng, state),
        65..=74 => icmp_error(rng, state),
        75..=84 => ipv6_extensions(rng, state),
        85..=94 => {
            let inner = ip_transport(rng, state);
            let tpid = if rng.chance(70) { 0x8100 } else { 0x88a8 };
            build::vlan_tag(&inner, tpid, rng.u16())
        }
        _ => {
            let mut payload = vec![0u8; rng.below(80)];
            rng.fill(&mut payload);
            build::ethernet(eth_dst(rng), CLIENT_MAC, rng.u16(), &payload)
        }
    };
    pad(rng, f)
}

/// Short frames are padded to the Ethernet minimum (60 bytes) by most senders.
fn pad(rng: &mut Rng, mut f: Vec<u8>) -> Vec<u8> {
    if f.len() < 60 && rng.chance(50) {
        f.resize(60, 0);
    }
    f
}

fn eth_dst(rng: &mut Rng) -> Mac {
    match rng.below(10) {
        0..=5 => OUR_MAC,
        6 => BROADCAST,
        7 => [0x01, 0x00, 0x5e, 0, 0, 1],
        8 => [0x33, 0x33, 0, 0, 0, 1],
        _ => backend_mac(1),
    }
}

fn eth_src(rng: &mut Rng) -> Mac {
    match rng.below(10) {
        0..=6 => CLIENT_MAC,
        7 | 8 => backend_mac(rng.below(4) as u32),
        _ => OUR_MAC,
    }
}

fn addr4(rng: &mut Rng, state: &ModelState) -> Ipv4Addr {
    let vips: Vec<Ipv4Addr> = state
        .vips
        .iter()
        .filter_map(|v| match v {
            IpAddr::V4(v4) => Some(*v4),
            IpAddr::V6(_) => None,
        })
        .collect();
    match rng.below(10) {
        0..=5 if !vips.is_empty() => *rng.pick(&vips),
        0..=6 => *rng.pick(&VIP4),
        7 | 8 => *rng.pick(&NEAR4),
        _ => Ipv4Addr::from(rng.next_u64() as u32),
    }
}

fn addr6(rng: &mut Rng, state: &ModelState) -> Ipv6Addr {
    let vips: Vec<Ipv6Addr> = state
        .vips
        .iter()
        .filter_map(|v| match v {
            IpAddr::V6(v6) => Some(*v6),
            IpAddr::V4(_) => None,
        })
        .collect();
    match rng.below(10) {
        0..=5 if !vips.is_empty() => *rng.pick(&vips),
        0..=6 => *rng.pick(&VIP6),
        7 | 8 => *rng.pick(&NEAR6),
        _ => Ipv6Addr::from(u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64())),
    }
}

fn arp(rng: &mut Rng, state: &ModelState) -> Vec<u8> {
    let sender_ip = match rng.below(4) {
        0 => [0, 0, 0, 0],
        1 => addr4(rng, state).octets(),
        _ => Ipv4Addr::new(10, 0, 0, 50).octets(),
    };
    let target_ip = addr4(rng, state).octets();
    let sender_mac = match rng.below(6) {
        0 => OUR_MAC,
        1 => BROADCAST,
        _ => CLIENT_MAC,
    };
    let fields = ArpFields {
        op: match rng.below(10) {
            0..=6 => 1,
            7 | 8 => 2,
            _ => rng.u16(),
        },
        sender_mac,
        // Gratuitous ARP: sender = target.
        sender_ip: if rng.chance(15) { target_ip } else { sender_ip },
        target_mac: if rng.chance(80) { [0; 6] } else { BROADCAST },
        target_ip,
    };
    let dst = if rng.chance(60) {
        BROADCAST
    } else {
        eth_dst(rng)
    };
    build::ethernet(dst, sender_mac, ETH_ARP, &build::arp(&fields))
}

fn solicited_node(target: &Ipv6Addr) -> [u8; 16] {
    let t = target.octets();
    [
        0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, t[13], t[14], t[15],
    ]
}

fn group_mac(group: &[u8; 16]) -> Mac {
    [0x33, 0x33, group[12], group[13], group[14], group[15]]
}

/// NDP options: usually one link-layer address, sometimes nonce, zero length, several,
/// or so many that the message reaches or passes the 128 bytes the program validates.
fn ndp_options(rng: &mut Rng, link_option: u8) -> Vec<u8> {
    let mut options = Vec::new();
    let count = *rng.pick(&[0, 1, 1, 1, 2, 3, 12, 13, 14]);
    for _ in 0..count {
        match rng.below(10) {
            0..=6 => options.extend(build::ndp_option(link_option, 1, &CLIENT_MAC)),
            7 => options.extend(build::ndp_option(14, 1, &[1, 2, 3, 4, 5, 6])),
            8 => options.extend(build::ndp_option(link_option, 0, &CLIENT_MAC)),
            _ => options.extend(build::ndp_option(rng.byte(), 1 + rng.below(2) as u8, &[])),
        }
    }
    options
}

fn solicitation(rng: &mut Rng) -> Vec<u8> {
    let target = if rng.chance(70) {
        *rng.pick(&VIP6)
    } else {
        *rng.pick(&NEAR6)
    };
    let group = solicited_node(&target);
    let src = match rng.below(10) {
        0 | 1 => [0; 16],
        2 => target.octets(),
        _ => rng.pick(&super::universe::CLIENT6).octets(),
    };
    let dst = match rng.below(10) {
        0..=6 => group,
        7 => target.octets(),
        8 => [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        _ => solicited_node(rng.pick(&VIP6)),
    };
    let mut body = target.octets().to_vec();
    body.extend(ndp_options(rng, 1));
    let code = if rng.chance(95) { 0 } else { rng.byte() };
    let message = build::icmp(135, code, [0; 4], &body, Some((src, dst)));
    let hop_limit = if rng.chance(90) { 255 } else { rng.byte() };
    let eth_dst = match rng.below(10) {
        0..=6 => group_mac(&dst),
        7 => OUR_MAC,
        8 => BROADCAST,
        _ => [0x33, 0x33, 0, 0, 0, 1],
    };
    build::ethernet(
        eth_dst,
        eth_src(rng),
        ETH_IPV6,
        &build::ipv6(src, dst, 58, hop_limit, &message),
    )
}

fn advertisement(rng: &mut Rng, state: &ModelState) -> Vec<u8> {
    let target = addr6(rng, state);
    let mac = match rng.below(3) {
        0 => OUR_MAC,
        _ => CLIENT_MAC,
    };
    let mut body = target.octets().to_vec();
    if rng.chance(85) {
        body.extend(build::ndp_option(2, 1, &mac));
    }
    body.extend(ndp_options(rng, 2));
    let src = target.octets();
    let dst = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let message = build::icmp(136, 0, [0x20, 0, 0, 0], &body, Some((src, dst)));
    build::ethernet(
        [0x33, 0x33, 0, 0, 0, 1],
        mac,
        ETH_IPV6,
        &build::ipv6(src, dst, 58, 255, &message),
    )
}

/// A service of the state (usually) or a made-up one on a VIP.
fn aim(rng: &mut Rng, state: &ModelState, v6: bool) -> (IpAddr, u16, u8) {
    let services: Vec<&Service> = state
        .services
        .keys()
        .filter(|s| s.vip.is_ipv6() == v6)
        .collect();
    if !services.is_empty() && rng.chance(75) {
        let s = *rng.pick(&services);
        return (s.vip, s.port, s.proto);
    }
    let vip = if v6 {
        IpAddr::V6(addr6(rng, state))
    } else {
        IpAddr::V4(addr4(rng, state))
    };
    let port = if rng.chance(80) {
        *rng.pick(&SERVICE_PORTS)
    } else {
        rng.u16()
    };
    (vip, port, *rng.pick(&[6, 6, 17, 1, 47]))
}

fn tcp_flags(rng: &mut Rng) -> u8 {
    let any = rng.byte();
    *rng.pick(&[
        0x02, 0x02, 0x12, 0x10, 0x10, 0x18, 0x11, 0x04, 0x14, 0x01, 0x03, 0x06, 0x00, any,
    ])
}

fn payload(rng: &mut Rng) -> Vec<u8> {
    let mut p = vec![0u8; *rng.pick(&[0, 0, 1, 7, 32, 200])];
    rng.fill(&mut p);
    p
}

/// The L4 message for (src, dst) of an address family (4 or 16 bytes).
fn l4(rng: &mut Rng, src: &[u8], dst: &[u8], proto: u8, port: u16) -> Vec<u8> {
    let ports = (*rng.pick(&CLIENT_PORTS), port);
    match proto {
        6 => build::tcp(src, dst, ports, tcp_flags(rng), &payload(rng)),
        17 => build::udp(src, dst, ports, &payload(rng)),
        _ => payload(rng),
    }
}

fn ipv4_options(rng: &mut Rng) -> Vec<u8> {
    match rng.below(10) {
        0..=6 => Vec::new(),
        // Router alert.
        7 => vec![0x94, 0x04, 0, 0],
        8 => vec![1, 1, 1, 0],
        _ => {
            let mut o = vec![0u8; 4 * (1 + rng.below(10))];
            rng.fill(&mut o);
            o
        }
    }
}

pub fn ip_transport(rng: &mut Rng, state: &ModelState) -> Vec<u8> {
    let v6 = rng.chance(40);
    let (vip, port, proto) = aim(rng, state, v6);
    let client = client(rng, v6);
    let packet = match (client, vip) {
        (IpAddr::V4(c), IpAddr::V4(v)) => {
            let message = l4(rng, &c.octets(), &v.octets(), proto, port);
            let options = ipv4_options(rng);
            let fields = Ipv4Fields {
                src: c.octets(),
                dst: v.octets(),
                protocol: proto,
                options: &options,
                flags_fragment: *rng.pick(&[0x4000, 0x4000, 0x4000, 0, 0x2000, 0x0001, 0x20b9]),
                ttl: 64,
            };
            build::ipv4(&fields, &message)
        }
        (IpAddr::V6(c), IpAddr::V6(v)) => {
            let message = l4(rng, &c.octets(), &v.octets(), proto, port);
            let next = if proto == 1 { 58 } else { proto };
            build::ipv6(c.octets(), v.octets(), next, 64, &message)
        }
        _ => unreachable!("client and VIP are drawn from one family"),
    };
    let ethertype = if v6 { ETH_IPV6 } else { ETH_IPV4 };
    build::ethernet(eth_dst(rng), eth_src(rng), ethertype, &packet)
}

/// ICMP "fragmentation needed" / ICMPv6 "packet too big" (or a neighbour of them) quoting
/// a packet sent from a VIP service to a client.
fn icmp_error(rng: &mut Rng, state: &ModelState) -> Vec<u8> {
    let v6 = rng.chance(40);
    let (vip, port, proto) = aim(rng, state, v6);
    let client = client(rng, v6);
    let quoted_proto = if proto == 17 {
        17
    } else {
        *rng.pick(&[6, 6, 17, 1])
    };
    let quoted_src = if rng.chance(85) { vip } else { client };
    let router4 = [10, 0, 0, 254];
    let router6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xfe).octets();
    let (ethertype, packet) = match (quoted_src, client, vip) {
        (IpAddr::V4(qs), IpAddr::V4(c), IpAddr::V4(v)) => {
            let mut inner_l4 = l4(rng, &qs.octets(), &c.octets(), quoted_proto, 0);
            inner_l4.resize(inner_l4.len().max(8), 0);
            inner_l4[..2].copy_from_slice(&port.to_be_bytes());
            let quoted_fields = Ipv4Fields {
                src: qs.octets(),
                dst: c.octets(),
                protocol: quoted_proto,
                options: &[],
                flags_fragment: 0x4000,
                ttl: 63,
            };
            let quoted = build::ipv4(&quoted_fields, &inner_l4);
            let cut = quoted.len().min(*rng.pick(&[28, 28, 48, 576, 23, 22]));
            let (kind, code) = *rng.pick(&[(3, 4), (3, 4), (3, 4), (3, 3), (11, 0), (8, 0)]);
            let message = build::icmp(kind, code, [0, 0, 0x05, 0xdc], &quoted[..cut], None);
            let outer = Ipv4Fields {
                src: router4,
                dst: v.octets(),
                protocol: 1,
                options: &[],
                flags_fragment: 0,
                ttl: 64,
            };
            (ETH_IPV4, build::ipv4(&outer, &message))
        }
        (IpAddr::V6(qs), IpAddr::V6(c), IpAddr::V6(v)) => {
            let mut inner_l4 = l4(rng, &qs.octets(), &c.octets(), quoted_proto, 0);
            inner_l4.resize(inner_l4.len().max(8), 0);
            inner_l4[..2].copy_from_slice(&port.to_be_bytes());
            let quoted = build::ipv6(qs.octets(), c.octets(), quoted_proto, 63, &inner_l4);
            let cut = quoted.len().min(*rng.pick(&[48, 48, 60, 1232, 43, 40]));
            let kind = *rng.pick(&[2, 2, 2, 1, 3, 128]);
            let message = build::icmp(
                kind,
                0,
                1280u32.to_be_bytes(),
                &quoted[..cut],
                Some((router6, v.octets())),
            );
            (ETH_IPV6, build::ipv6(router6, v.octets(), 58, 64, &message))
        }
        _ => return ip_transport(rng, state),
    };
    build::ethernet(eth_dst(rng), eth_src(rng), ethertype, &packet)
}

/// TCP/UDP to a VIP behind a chain of IPv6 extension headers.
fn ipv6_extensions(rng: &mut Rng, state: &ModelState) -> Vec<u8> {
    let (vip, port, proto) = aim(rng, state, true);
    let (IpAddr::V6(v), IpAddr::V6(c)) = (vip, client(rng, true)) else {
        return ip_transport(rng, state);
    };
    let proto = if proto == 6 || proto == 17 { proto } else { 6 };
    let mut chain = l4(rng, &c.octets(), &v.octets(), proto, port);
    let mut next = proto;
    for _ in 0..1 + rng.below(3) {
        let kind = *rng.pick(&[0u8, 43, 44, 60, 59]);
        let header = match kind {
            44 => build::fragment_header(next, *rng.pick(&[0, 1, 0x0008])),
            59 => Vec::new(),
            _ => build::extension(next, rng.below(2) as u8),
        };
        if kind == 59 {
            // "No next header" ends the chain whatever follows.
            next = 59;
            continue;
        }
        let mut h = header;
        h.extend_from_slice(&chain);
        chain = h;
        next = kind;
    }
    build::ethernet(
        eth_dst(rng),
        eth_src(rng),
        ETH_IPV6,
        &build::ipv6(c.octets(), v.octets(), next, 64, &chain),
    )
}
