//! Types and constants shared by the XDP program (`vip-ebpf`) and the agent.
//!
//! Every map key and value is `#[repr(C)]` with explicit padding and no `bool`, so the
//! kernel and userspace agree on the layout byte for byte. Sizes are asserted at compile
//! time. Addresses are stored in network byte order as 16 bytes, IPv4 as IPv4-mapped IPv6
//! (`::ffff:a.b.c.d`), so one key type serves both families.
#![no_std]

pub mod checksum;
pub mod hash;
pub mod reason;

pub use reason::Reason;

/// Map names, as the agent finds them in the object file.
pub mod map_names {
    pub const SETTINGS: &str = "SETTINGS";
    pub const VIPS: &str = "VIPS";
    pub const SERVICES: &str = "SERVICES";
    pub const RING: &str = "RING";
    pub const BACKENDS: &str = "BACKENDS";
    pub const PEER_MACS: &str = "PEER_MACS";
    pub const FLOWS: &str = "FLOWS";
    pub const STATS: &str = "STATS";
    pub const FLOW_GUARD: &str = "FLOW_GUARD";
    pub const CONFLICTS: &str = "CONFLICTS";
}

/// Name of the XDP program in the object file.
pub const PROGRAM_NAME: &str = "vip_xdp";
/// An empty XDP program in the same object: the baseline of the data-path benchmark.
pub const EMPTY_PROGRAM_NAME: &str = "vip_empty";

pub const MAX_VIPS: u32 = 16;
/// IPv4 VIPs kept inline in `Settings`.
pub const MAX_VIP4: usize = 8;
/// Bond slaves kept inline in `Settings`.
pub const MAX_BOND_SLAVES: usize = 8;
/// Peer MACs kept inline in `Settings`; more peers are looked up in `PEER_MACS` too.
pub const MAX_INLINE_PEERS: usize = 8;
pub const MAX_SERVICES: u32 = 16;
pub const MAX_BACKENDS: u32 = 256;
/// Size of the `CONFLICTS` ring buffer (a power of two, a multiple of the page size).
pub const CONFLICT_RING_BYTES: u32 = 16 * 1024;
/// Bytes of a reported ARP frame: Ethernet and ARP headers.
pub const CONFLICT_ARP_FRAME_LEN: usize = 42;
/// Bytes of a reported neighbour advertisement: Ethernet, IPv6, the advertisement and
/// its target link-layer address option.
pub const CONFLICT_NA_FRAME_LEN: usize = 86;
/// Default Maglev table size M (prime). The agent may load the program with another prime.
pub const DEFAULT_RING_SIZE: u32 = 65537;
/// Default capacity of the LRU flow table.
pub const DEFAULT_MAX_FLOWS: u32 = 262_144;
/// Ring entry meaning "no backend": the packet goes to the local stack.
pub const NO_BACKEND: u32 = u32::MAX;

/// `Settings::announcing` value when this node answers ARP/NDP for the VIPs.
pub const ANNOUNCE_ON: u32 = 1;

/// Node-wide settings, the only entry (index 0) of the `SETTINGS` array.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// `bpf_ktime_get_ns` (CLOCK_MONOTONIC) after which ARP/NDP answering stops even while
    /// `announcing` is set: a wedged agent stops claiming the VIP by itself.
    pub announce_deadline_ns: u64,
    /// New-pin guard: each CPU earns one pin per this many ns (0: no limit). A packet that
    /// misses the flow table while the CPU has no pin left is forwarded by Maglev unpinned.
    pub pin_interval_ns: u64,
    /// A UDP pin idle for longer than this is decided again by Maglev.
    pub udp_idle_ns: u64,
    /// Interface on which ARP/NDP is answered.
    pub ifindex: u32,
    /// `ANNOUNCE_ON` on the leader, 0 elsewhere.
    pub announcing: u32,
    /// Seed of the flow hash; identical on every node.
    pub hash_seed: u32,
    /// Maglev table size M of every service's ring.
    pub ring_size: u32,
    /// New-pin guard: the most pins a CPU may create in a burst.
    pub pin_burst: u32,
    /// `RING` entries per table: `ring_chunks(ring_size)`, written by the agent.
    pub ring_chunks: u32,
    /// MAC of `ifindex`: the ARP/NDP answer and the source of forwarded frames.
    pub mac: [u8; 6],
    /// Number of used entries of `vip4`.
    pub vip4_count: u16,
    /// The IPv4 VIPs, inline: a few compares on the hot path cost less than a hash lookup.
    /// Written by the agent from the VIP set; the `VIPS` map holds them too.
    pub vip4: [[u8; 4]; MAX_VIP4],
    /// When `ifindex` is a bond: its slaves' ifindexes (0 = unused). In native mode the
    /// program runs on the slaves, so their frames arrive with a slave's ifindex.
    pub bond_slaves: [u32; MAX_BOND_SLAVES],
    /// Used entries of `services`.
    pub service_count: u32,
    /// Number of peer MACs; above `MAX_INLINE_PEERS` the rest are only in `PEER_MACS`.
    pub peer_count: u32,
    /// The services with their active ring half, inline: one settings read per packet
    /// replaces a hash lookup. The `SERVICES` map holds them too (for `status` and a
    /// restarted agent).
    pub services: [ServiceSlot; MAX_SERVICES as usize],
    /// The first `MAX_INLINE_PEERS` peer MACs.
    pub peer_macs: [[u8; 6]; MAX_INLINE_PEERS],
}

/// A service and its ring pair, as kept inline in `Settings`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServiceSlot {
    pub key: ServiceKey,
    pub info: ServiceInfo,
}

impl Settings {
    /// Whether a frame that arrived on `ingress` arrived on the announcing interface:
    /// `ifindex` itself or one of its bond slaves.
    #[inline(always)]
    pub fn is_announcing_interface(&self, ingress: u32) -> bool {
        if ingress == self.ifindex {
            return true;
        }
        let mut i = 0;
        while i < MAX_BOND_SLAVES {
            if ingress != 0 && self.bond_slaves[i] == ingress {
                return true;
            }
            i += 1;
        }
        false
    }

    /// The ring pair of the service `key`, from the inline list.
    #[inline(always)]
    pub fn service(&self, key: &ServiceKey) -> Option<ServiceInfo> {
        let mut i = 0;
        while i < MAX_SERVICES as usize {
            if i >= self.service_count as usize {
                return None;
            }
            let slot = &self.services[i];
            if slot.key.port == key.port && slot.key.proto == key.proto && slot.key.vip == key.vip {
                return Some(slot.info);
            }
            i += 1;
        }
        None
    }

    /// Whether `mac` is one of the inline peer MACs.
    #[inline(always)]
    pub fn is_inline_peer(&self, mac: &[u8; 6]) -> bool {
        let mut i = 0;
        while i < MAX_INLINE_PEERS {
            if i >= self.peer_count as usize {
                return false;
            }
            if self.peer_macs[i] == *mac {
                return true;
            }
            i += 1;
        }
        false
    }

    /// Whether `addr` is one of the inline IPv4 VIPs.
    #[inline(always)]
    pub fn is_vip4(&self, addr: [u8; 4]) -> bool {
        let wanted = u32::from_ne_bytes(addr);
        let mut i = 0;
        while i < MAX_VIP4 {
            if i < self.vip4_count as usize && u32::from_ne_bytes(self.vip4[i]) == wanted {
                return true;
            }
            i += 1;
        }
        false
    }
}

/// An IPv4-mapped or IPv6 address in network byte order.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IpKey {
    pub addr: [u8; 16],
}

impl IpKey {
    pub const fn from_v4(octets: [u8; 4]) -> Self {
        let [a, b, c, d] = octets;
        Self {
            addr: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d],
        }
    }

    pub const fn from_v6(octets: [u8; 16]) -> Self {
        Self { addr: octets }
    }

    /// The IPv4 octets when this is an IPv4-mapped address.
    pub fn as_v4(&self) -> Option<[u8; 4]> {
        let a = &self.addr;
        if self.is_v4_mapped() {
            Some([a[12], a[13], a[14], a[15]])
        } else {
            None
        }
    }

    /// Whether this is an IPv4-mapped address (`::ffff:0:0/96`). Byte compares only, so
    /// the XDP program can use it.
    #[inline(always)]
    pub const fn is_v4_mapped(&self) -> bool {
        let a = &self.addr;
        let mut i = 0;
        while i < 10 {
            if a[i] != 0 {
                return false;
            }
            i += 1;
        }
        a[10] == 0xff && a[11] == 0xff
    }
}

/// Value of `VIPS` (key: `IpKey`). Present entries are VIPs this cluster serves.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VipInfo {
    /// Reserved for per-VIP flags; written as 0.
    pub flags: u32,
}

pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;

/// Key of `SERVICES`: a VIP, a port (host byte order) and an IP protocol.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceKey {
    pub vip: IpKey,
    pub port: u16,
    pub proto: u8,
    pub _pad: u8,
}

/// `ServiceInfo::flags` bit: the second half of the service's ring pair is active.
pub const SERVICE_RING_B: u32 = 1;

/// Value of `SERVICES`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServiceInfo {
    /// Index of the service's ring pair in `RING` (0..MAX_SERVICES).
    pub id: u32,
    /// `SERVICE_RING_B` selects the active half: the agent fills the inactive half, then
    /// flips this bit, so a table change is one atomic map update.
    pub flags: u32,
}

impl ServiceInfo {
    /// Index in `RING` of the first chunk of this service's active table.
    pub const fn ring_base(&self, ring_chunks: u32) -> u32 {
        let half = if self.flags & SERVICE_RING_B != 0 {
            1
        } else {
            0
        };
        (self.id * 2 + half) * ring_chunks
    }
}

/// Slots per `RING` entry. Tables are stored in chunks so that writing a table of 2^20
/// slots takes 1024 map updates instead of a million.
pub const RING_CHUNK_SLOTS: u32 = 1024;

/// Value of `RING`: `RING_CHUNK_SLOTS` consecutive slots of a Maglev table (backend ids;
/// the last chunk of a table is padded with `NO_BACKEND`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingChunk {
    pub slots: [u32; RING_CHUNK_SLOTS as usize],
}

impl Default for RingChunk {
    fn default() -> Self {
        Self {
            slots: [NO_BACKEND; RING_CHUNK_SLOTS as usize],
        }
    }
}

/// `RING` entries one table of `ring_size` slots takes.
pub const fn ring_chunks(ring_size: u32) -> u32 {
    ring_size.div_ceil(RING_CHUNK_SLOTS)
}

/// `Backend::flags`: the backend takes flows (allocated and healthy). Flow-table entries
/// pointing at a backend without it are re-hashed.
pub const BACKEND_ACTIVE: u16 = 1;
/// `Backend::flags`: the backend is this node; its packets go to the local stack.
pub const BACKEND_LOCAL: u16 = 2;

/// Value of `BACKENDS` (an array indexed by backend id). Ids are stable for a backend
/// address so that flow-table entries keep meaning the same server.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backend {
    /// The backend's address, so a restarted agent can recover its id allocation.
    pub addr: IpKey,
    pub mac: [u8; 6],
    pub flags: u16,
    /// `backend_tag(&addr)`, written by the agent. A pin carries the tag of the server it
    /// chose, so a pin to a slot that was since given to another server is detected.
    pub tag: u32,
    pub _pad: u32,
}

/// The tag of the backend at `addr`: FNV-1a (32 bit) over the 16 address bytes. It depends
/// on the address only, so every node and every agent version computes the same tag and
/// a pin copied from a peer keeps its meaning.
pub const fn backend_tag(addr: &IpKey) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    let mut i = 0;
    while i < 16 {
        hash = (hash ^ addr.addr[i] as u32).wrapping_mul(0x0100_0193);
        i += 1;
    }
    hash
}

/// Key of `PEER_MACS`: a backend's MAC, padded to 8 bytes. Frames from these MACs were
/// already balanced by a peer and go to the local stack, so nodes never bounce a flow.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MacKey {
    pub mac: [u8; 6],
    pub _pad: [u8; 2],
}

/// Key of the LRU `FLOWS` table: the client side of a connection to a service.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub client: IpKey,
    pub vip: IpKey,
    pub client_port: u16,
    pub service_port: u16,
    pub proto: u8,
    pub _pad: [u8; 3],
}

/// Value of `FLOWS`: a pin, self-contained (slot and the tag of the server in it) so that a
/// peer can store it as is.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowTarget {
    pub backend_id: u32,
    /// `Backend::tag` of the slot when the pin was made; a mismatch makes the pin stale.
    pub backend_tag: u32,
    /// Coarse monotonic ns of the last packet (UDP only; 0 for TCP).
    pub seen_ns: u64,
}

/// Per-CPU value of `FLOW_GUARD` (index 0): the new-pin token bucket and what it did.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowGuard {
    /// Pins this CPU may still create.
    pub tokens: u64,
    /// Coarse monotonic ns up to which tokens were credited.
    pub credited_ns: u64,
    /// Pins created on a flow-table miss.
    pub pinned: u64,
    /// Misses forwarded by Maglev without a pin because the CPU had no token.
    pub refused: u64,
    /// Pins ignored because their slot now holds another server or is inactive.
    pub stale: u64,
    /// UDP pins ignored because they were idle too long.
    pub expired: u64,
}

/// Packet and byte counts of one verdict reason or one backend.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counter {
    pub packets: u64,
    pub bytes: u64,
}

/// Per-CPU value of `STATS` (one entry): every counter of the program, so a packet costs
/// one map lookup for its verdict and its backend together.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats {
    /// By `Reason`.
    pub reasons: [Counter; reason::REASON_COUNT as usize],
    /// By backend id: packets balanced to the backend.
    pub backends: [Counter; MAX_BACKENDS as usize],
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            reasons: [Counter::default(); reason::REASON_COUNT as usize],
            backends: [Counter::default(); MAX_BACKENDS as usize],
        }
    }
}

const _: () = {
    assert!(core::mem::size_of::<Settings>() == 624);
    assert!(core::mem::size_of::<ServiceSlot>() == 28);
    assert!(core::mem::size_of::<IpKey>() == 16);
    assert!(core::mem::size_of::<VipInfo>() == 4);
    assert!(core::mem::size_of::<ServiceKey>() == 20);
    assert!(core::mem::size_of::<ServiceInfo>() == 8);
    assert!(core::mem::size_of::<Backend>() == 32);
    assert!(core::mem::size_of::<MacKey>() == 8);
    assert!(core::mem::size_of::<FlowKey>() == 40);
    assert!(core::mem::size_of::<FlowTarget>() == 16);
    assert!(core::mem::size_of::<FlowGuard>() == 48);
    assert!(core::mem::size_of::<Counter>() == 16);
    assert!(core::mem::size_of::<RingChunk>() == 4096);
    assert!(core::mem::size_of::<Stats>() == 16 * (reason::REASON_COUNT as usize + 256));
};

#[cfg(feature = "user")]
mod pod {
    // SAFETY: every type is `#[repr(C)]`, `Copy`, built only of integers and byte arrays
    // with explicit padding fields, so any bit pattern is valid and there are no hidden
    // padding bytes (sizes asserted above).
    unsafe impl aya::Pod for super::Settings {}
    unsafe impl aya::Pod for super::IpKey {}
    unsafe impl aya::Pod for super::VipInfo {}
    unsafe impl aya::Pod for super::ServiceKey {}
    unsafe impl aya::Pod for super::ServiceInfo {}
    unsafe impl aya::Pod for super::ServiceSlot {}
    unsafe impl aya::Pod for super::Backend {}
    unsafe impl aya::Pod for super::MacKey {}
    unsafe impl aya::Pod for super::FlowKey {}
    unsafe impl aya::Pod for super::FlowTarget {}
    unsafe impl aya::Pod for super::FlowGuard {}
    unsafe impl aya::Pod for super::Counter {}
    unsafe impl aya::Pod for super::RingChunk {}
    unsafe impl aya::Pod for super::Stats {}
}
