//! `vip-agent status`: what the running data plane holds, read from its pinned maps, in
//! the spirit of `ipvsadm -Ln`.
mod render;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use aya::maps::{Array, HashMap, Map, MapData, PerCpuArray};
use vip_common::{
    map_names as names, ring_chunks, Backend, IpKey, Reason, RingChunk, ServiceInfo, ServiceKey,
    Settings, Stats, VipInfo, ANNOUNCE_ON, BACKEND_ACTIVE, BACKEND_LOCAL, MAX_BACKENDS, PROTO_TCP,
    RING_CHUNK_SLOTS,
};

pub use render::{json, text};

use crate::{
    agent::clock::monotonic_ns,
    dataplane::{ip_addr, stats_sum},
};

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("no pinned data plane under {dir} (is vip-agent running with --bpffs-dir {dir}?)")]
    NotRunning { dir: PathBuf },
    #[error("reading pinned map {path}: {source}")]
    Map {
        path: PathBuf,
        source: aya::maps::MapError,
    },
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Status {
    pub pin_dir: PathBuf,
    pub announcing: bool,
    /// Seconds until the announce deadline lapses (negative: lapsed).
    pub announce_deadline_in_s: f64,
    pub ifindex: u32,
    pub mac: String,
    pub ring_size: u32,
    pub vips: Vec<IpAddr>,
    pub services: Vec<ServiceStatus>,
    pub verdicts: Vec<VerdictCount>,
    /// The peer election as the agent last wrote it; `None` in other election modes or
    /// when the agent is not running.
    pub election: Option<crate::peers::status::StoredView>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ServiceStatus {
    pub vip: IpAddr,
    pub port: u16,
    pub protocol: &'static str,
    pub backends: Vec<BackendStatus>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct BackendStatus {
    pub id: u32,
    pub address: IpAddr,
    pub mac: String,
    pub local: bool,
    /// Healthy and reachable: takes new flows.
    pub active: bool,
    /// Share of the active Maglev table.
    pub slots: u32,
    pub packets: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct VerdictCount {
    pub reason: &'static str,
    pub packets: u64,
    pub bytes: u64,
}

/// The newest versioned pin directory below `base`.
fn find_pin_dir(base: &Path) -> Result<PathBuf, StatusError> {
    let not_running = || StatusError::NotRunning {
        dir: base.to_owned(),
    };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(base)
        .map_err(|_| not_running())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(names::SETTINGS).exists())
        .collect();
    dirs.sort();
    dirs.pop().ok_or_else(not_running)
}

fn open<T: TryFrom<Map, Error = aya::maps::MapError>>(
    dir: &Path,
    name: &str,
) -> Result<T, StatusError> {
    let path = dir.join(name);
    let map_err = |source| StatusError::Map {
        path: path.clone(),
        source,
    };
    let data = MapData::from_pin(&path).map_err(map_err)?;
    let map = Map::from_map_data(data).map_err(map_err)?;
    T::try_from(map).map_err(map_err)
}

pub fn read(base: &Path) -> Result<Status, StatusError> {
    let dir = find_pin_dir(base)?;
    let settings: Array<MapData, Settings> = open(&dir, names::SETTINGS)?;
    let vips: HashMap<MapData, IpKey, VipInfo> = open(&dir, names::VIPS)?;
    let services: HashMap<MapData, ServiceKey, ServiceInfo> = open(&dir, names::SERVICES)?;
    let ring: Array<MapData, RingChunk> = open(&dir, names::RING)?;
    let backends: Array<MapData, Backend> = open(&dir, names::BACKENDS)?;
    let stats: PerCpuArray<MapData, Stats> = open(&dir, names::STATS)?;
    let stats = stats
        .get(&0, 0)
        .map(|values| stats_sum(&values))
        .unwrap_or_default();

    let s = settings.get(&0, 0).unwrap_or_default();
    let known: BTreeMap<u32, Backend> = (0..MAX_BACKENDS)
        .filter_map(|id| backends.get(&id, 0).ok().map(|b| (id, b)))
        .filter(|(_, b)| b.addr != IpKey::default())
        .collect();
    let mut service_list = Vec::new();
    for (key, info) in services.iter().filter_map(|e| e.ok()) {
        let base = info.ring_base(ring_chunks(s.ring_size));
        let mut slots: BTreeMap<u32, u32> = BTreeMap::new();
        for index in 0..ring_chunks(s.ring_size) {
            if let Ok(chunk) = ring.get(&(base + index), 0) {
                let first = index * RING_CHUNK_SLOTS;
                let used = s.ring_size.saturating_sub(first).min(RING_CHUNK_SLOTS) as usize;
                for &id in &chunk.slots[..used] {
                    *slots.entry(id).or_default() += 1;
                }
            }
        }
        let backends = known
            .iter()
            .map(|(&id, b)| {
                let c = stats.backends.get(id as usize).copied().unwrap_or_default();
                BackendStatus {
                    id,
                    address: ip_addr(&b.addr),
                    mac: crate::agent::format_mac(b.mac),
                    local: b.flags & BACKEND_LOCAL != 0,
                    active: b.flags & BACKEND_ACTIVE != 0,
                    slots: slots.get(&id).copied().unwrap_or(0),
                    packets: c.packets,
                    bytes: c.bytes,
                }
            })
            .collect();
        service_list.push(ServiceStatus {
            vip: ip_addr(&key.vip),
            port: key.port,
            protocol: if key.proto == PROTO_TCP { "tcp" } else { "udp" },
            backends,
        });
    }
    service_list.sort_by_key(|svc| (svc.vip, svc.port));
    let mut vip_list: Vec<IpAddr> = vips
        .keys()
        .filter_map(|k| k.ok())
        .map(|k| ip_addr(&k))
        .collect();
    vip_list.sort();
    let verdicts = Reason::ALL
        .iter()
        .map(|&r| {
            let c = stats.reasons[r as usize];
            VerdictCount {
                reason: r.label(),
                packets: c.packets,
                bytes: c.bytes,
            }
        })
        .filter(|v| v.packets > 0)
        .collect();
    Ok(Status {
        pin_dir: dir,
        announcing: s.announcing == ANNOUNCE_ON,
        announce_deadline_in_s: (s.announce_deadline_ns as f64 - monotonic_ns() as f64) / 1e9,
        ifindex: s.ifindex,
        mac: crate::agent::format_mac(s.mac),
        ring_size: s.ring_size,
        vips: vip_list,
        services: service_list,
        verdicts,
        election: crate::peers::status::read_view(&crate::peers::status::view_path(
            Path::new(crate::agent::HOST_RECORD_DIR),
            base,
        )),
    })
}
