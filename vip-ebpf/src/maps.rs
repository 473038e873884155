//! The program's maps. Sizes here are defaults; the agent resizes `RING` and `FLOWS` at load.
use aya_ebpf::{
    macros::map,
    maps::{Array, HashMap, LruHashMap, PerCpuArray, RingBuf},
};
use vip_common::{
    ring_chunks, Backend, FlowGuard, FlowKey, FlowTarget, IpKey, MacKey, RingChunk, ServiceInfo,
    ServiceKey, Settings, Stats, VipInfo, CONFLICT_RING_BYTES, DEFAULT_MAX_FLOWS,
    DEFAULT_RING_SIZE, MAX_BACKENDS, MAX_SERVICES, MAX_VIPS,
};

#[map]
pub static SETTINGS: Array<Settings> = Array::with_max_entries(1, 0);

#[map]
pub static VIPS: HashMap<IpKey, VipInfo> = HashMap::with_max_entries(MAX_VIPS, 0);

#[map]
pub static SERVICES: HashMap<ServiceKey, ServiceInfo> = HashMap::with_max_entries(MAX_SERVICES, 0);

/// Two Maglev tables per service (active and standby), each `Settings::ring_chunks` chunks
/// of `RING_CHUNK_SLOTS` slots.
#[map]
pub static RING: Array<RingChunk> =
    Array::with_max_entries(MAX_SERVICES * 2 * ring_chunks(DEFAULT_RING_SIZE), 0);

#[map]
pub static BACKENDS: Array<Backend> = Array::with_max_entries(MAX_BACKENDS, 0);

#[map]
pub static PEER_MACS: HashMap<MacKey, u32> = HashMap::with_max_entries(MAX_BACKENDS, 0);

#[map]
pub static FLOWS: LruHashMap<FlowKey, FlowTarget> =
    LruHashMap::with_max_entries(DEFAULT_MAX_FLOWS, BPF_F_NO_COMMON_LRU);

/// Per-CPU LRU lists: storing a new flow takes no lock shared by all CPUs.
const BPF_F_NO_COMMON_LRU: u32 = 1 << 1;

/// Every counter of this CPU in one value (one lookup per packet).
#[map]
pub static STATS: PerCpuArray<Stats> = PerCpuArray::with_max_entries(1, 0);

/// The new-pin token bucket of each CPU and its counts (one entry).
#[map]
pub static FLOW_GUARD: PerCpuArray<FlowGuard> = PerCpuArray::with_max_entries(1, 0);

/// Frames in which a foreign host claims a VIP we announce, for the agent's conflict
/// detector (which validates and reports them).
#[map]
pub static CONFLICTS: RingBuf = RingBuf::with_byte_size(CONFLICT_RING_BYTES, 0);
