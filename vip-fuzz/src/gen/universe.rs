//! The addresses frames and states are drawn from: the VIPs, addresses next to them (one
//! bit off, the same solicited-node group, IPv4-mapped forms), clients and backends, so
//! that random frames keep hitting the interesting comparisons.
use std::net::{Ipv4Addr, Ipv6Addr};

use super::build::Mac;

/// RING_SIZE is small so a state change rewrites little; any prime works.
pub const RING_SIZE: u32 = 13;
pub const OUR_MAC: Mac = [0x02, 0, 0, 0, 0, 0x0a];
pub const CLIENT_MAC: Mac = [0x02, 0, 0, 0, 0, 0xc1];
pub const BROADCAST: Mac = [0xff; 6];

pub const VIP4: [Ipv4Addr; 3] = [
    Ipv4Addr::new(10, 0, 0, 100),
    Ipv4Addr::new(10, 0, 0, 101),
    Ipv4Addr::new(192, 168, 7, 1),
];
pub const VIP6: [Ipv6Addr; 3] = [
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100),
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x101),
    Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x7),
];
/// Not VIPs, but near one.
pub const NEAR4: [Ipv4Addr; 4] = [
    Ipv4Addr::new(10, 0, 0, 102),
    Ipv4Addr::new(10, 0, 0, 228),
    Ipv4Addr::new(0, 0, 0, 0),
    Ipv4Addr::new(255, 255, 255, 255),
];
pub const NEAR6: [Ipv6Addr; 6] = [
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x102),
    // Same low 24 bits as the first VIP: the same solicited-node group.
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 1, 0x100),
    // The IPv4 VIP, IPv4-mapped (RFC 4291 §2.5.5.2) and IPv4-compatible.
    Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0064),
    Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0x0a00, 0x0064),
    Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
    Ipv6Addr::UNSPECIFIED,
];
pub const CLIENT4: [Ipv4Addr; 3] = [
    Ipv4Addr::new(10, 0, 0, 50),
    Ipv4Addr::new(10, 0, 0, 51),
    Ipv4Addr::new(198, 51, 100, 9),
];
pub const CLIENT6: [Ipv6Addr; 3] = [
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x50),
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x1234),
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x51),
];
pub const CLIENT_PORTS: [u16; 5] = [40000, 40001, 51234, 1024, 65535];
pub const SERVICE_PORTS: [u16; 4] = [6443, 443, 53, 2379];

/// The MAC of backend `id` (never ours).
pub fn backend_mac(id: u32) -> Mac {
    [0x02, 0, 0, 0, 1, id as u8]
}
