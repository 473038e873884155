//! Loading the XDP program and keeping its maps equal to a `DesiredState`.
mod apply;
mod deadline;
mod desired;
mod error;
pub mod layouts;
pub mod object;
mod pin;
mod test_run;
pub use pin::{pin_dir, Attachment, LINK_PIN, PINNED_MAPS, PIN_LAYOUT_VERSION};

use aya::{
    maps::{Array, HashMap, MapData, PerCpuArray, RingBuf},
    programs::{Xdp, XdpMode},
    Ebpf, EbpfLoader,
};
pub use deadline::DeadlineKeeper;
pub use desired::DesiredState;
use error::map_err;
pub use error::{DataplaneError, Result};
use vip_common::{
    map_names as names, ring_chunks, Backend, Counter, FlowGuard, FlowKey, FlowTarget, IpKey,
    MacKey, Reason, RingChunk, ServiceInfo, ServiceKey, Stats, VipInfo, DEFAULT_MAX_FLOWS,
    DEFAULT_RING_SIZE, MAX_SERVICES, PROGRAM_NAME,
};

/// Sizes chosen at load time.
#[derive(Clone, Copy, Debug)]
pub struct LoadOptions {
    /// Maglev table size M; prime.
    pub ring_size: u32,
    pub max_flows: u32,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            ring_size: DEFAULT_RING_SIZE,
            max_flows: DEFAULT_MAX_FLOWS,
        }
    }
}

/// The largest ring the `RING` map can hold per service half.
pub const MAX_RING_SIZE: u32 = 1 << 20;

pub struct Dataplane {
    ebpf: Ebpf,
    ring_size: u32,
    settings: deadline::SharedSettings,
    vips: HashMap<MapData, IpKey, VipInfo>,
    services: HashMap<MapData, ServiceKey, ServiceInfo>,
    ring: Array<MapData, RingChunk>,
    backends: Array<MapData, Backend>,
    peer_macs: HashMap<MapData, MacKey, u32>,
    flows: HashMap<MapData, FlowKey, FlowTarget>,
    stats: PerCpuArray<MapData, Stats>,
    flow_guard: PerCpuArray<MapData, FlowGuard>,
    conflicts: RingBuf<MapData>,
    /// What each service's active ring holds, to skip rewriting unchanged tables.
    published: std::collections::BTreeMap<ServiceKey, (ServiceInfo, Vec<u32>)>,
    /// The last state written, to skip unchanged maps on the steady tick.
    applied: Option<DesiredState>,
    pin_dir: Option<std::path::PathBuf>,
}

fn take<T>(ebpf: &mut Ebpf, name: &'static str) -> Result<T>
where
    T: TryFrom<aya::maps::Map, Error = aya::maps::MapError>,
{
    let map = ebpf
        .take_map(name)
        .ok_or(DataplaneError::MapMissing { name })?;
    T::try_from(map).map_err(map_err(name))
}

impl Dataplane {
    /// Loads the embedded object and the program into the kernel (not attached).
    pub fn load(options: LoadOptions) -> Result<Self> {
        Self::load_pinned(options, None)
    }

    /// Loads with every map pinned under a versioned directory below `pin_base`, reusing
    /// maps a previous agent pinned there.
    pub fn load_pinned(options: LoadOptions, pin_base: Option<&std::path::Path>) -> Result<Self> {
        let bytes = object::bytes().ok_or(DataplaneError::ObjectMissing)?;
        let ring_size = options.ring_size;
        if !(3..=MAX_RING_SIZE).contains(&ring_size) || !crate::maglev::is_prime(ring_size) {
            return Err(DataplaneError::RingSize {
                size: ring_size,
                max: MAX_RING_SIZE,
            });
        }
        let pins = pin_base.map(|base| pin_dir(base, &options));
        // Pins this load creates are removed again if it fails; adopted ones are live.
        let fresh_pins = pins.as_ref().filter(|dir| !dir.exists()).cloned();
        let result = Self::load_into(bytes, options, pins);
        if let (Err(_), Some(dir)) = (&result, fresh_pins) {
            let _ = std::fs::remove_dir_all(dir);
        }
        result
    }

    fn load_into(
        bytes: &[u8],
        options: LoadOptions,
        pins: Option<std::path::PathBuf>,
    ) -> Result<Self> {
        let LoadOptions {
            ring_size,
            max_flows,
        } = options;
        let paths: Vec<(&str, std::path::PathBuf)> = match &pins {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|source| DataplaneError::PinDir {
                    path: dir.clone(),
                    source,
                })?;
                PINNED_MAPS
                    .iter()
                    .map(|name| (*name, dir.join(name)))
                    .collect()
            }
            None => Vec::new(),
        };
        let mut loader = EbpfLoader::new();
        loader
            .map_max_entries(names::RING, MAX_SERVICES * 2 * ring_chunks(ring_size))
            .map_max_entries(names::FLOWS, max_flows);
        for (name, path) in &paths {
            loader.map_pin_path(name, path.as_path());
        }
        let mut ebpf = loader.load(bytes)?;
        let program: &mut Xdp = program_mut(&mut ebpf)?;
        program.load().map_err(program_error)?;
        let dataplane = Self {
            ring_size,
            settings: deadline::shared(take(&mut ebpf, names::SETTINGS)?),
            vips: take(&mut ebpf, names::VIPS)?,
            services: take(&mut ebpf, names::SERVICES)?,
            ring: take(&mut ebpf, names::RING)?,
            backends: take(&mut ebpf, names::BACKENDS)?,
            peer_macs: take(&mut ebpf, names::PEER_MACS)?,
            flows: take(&mut ebpf, names::FLOWS)?,
            stats: take(&mut ebpf, names::STATS)?,
            flow_guard: take(&mut ebpf, names::FLOW_GUARD)?,
            conflicts: take(&mut ebpf, names::CONFLICTS)?,
            published: Default::default(),
            applied: None,
            pin_dir: pins,
            ebpf,
        };
        Ok(dataplane.adopt_services())
    }

    /// Services already in the (adopted) maps keep their ids; their next table goes to the
    /// standby half, so adoption never rewrites the ring a packet may be reading.
    fn adopt_services(mut self) -> Self {
        let existing: Vec<(ServiceKey, ServiceInfo)> =
            self.services.iter().filter_map(|e| e.ok()).collect();
        for (key, info) in existing {
            self.published.insert(key, (info, Vec::new()));
        }
        self
    }

    /// Backends found in adopted maps, by address: their ids keep flows meaningful, and
    /// their flags and MACs stand in until the agent has observed them itself.
    pub fn adopted_backends(&self) -> std::collections::BTreeMap<std::net::IpAddr, (u32, Backend)> {
        self.backends
            .iter()
            .enumerate()
            .filter_map(|(id, b)| b.ok().map(|b| (id as u32, b)))
            .filter(|(_, b)| b.addr != IpKey::default())
            .map(|(id, b)| (ip_addr(&b.addr), (id, b)))
            .collect()
    }

    /// The Maglev tables last written, by service.
    pub fn applied_rings(&self) -> Option<&std::collections::BTreeMap<ServiceKey, Vec<u32>>> {
        self.applied.as_ref().map(|d| &d.services)
    }

    /// A handle that refreshes the announce deadline independently of `apply`.
    pub fn deadline_keeper(&self) -> DeadlineKeeper {
        DeadlineKeeper::new(self.settings.clone())
    }

    pub fn ring_size(&self) -> u32 {
        self.ring_size
    }

    pub fn program(&mut self) -> Result<&mut Xdp> {
        program_mut(&mut self.ebpf)
    }

    /// Attaches to `interface`; the link lives as long as this `Dataplane`.
    pub fn attach(&mut self, interface: &str, mode: XdpMode) -> Result<()> {
        self.program()?
            .attach(interface, mode)
            .map(drop)
            .map_err(program_error)
    }

    /// Every counter summed over all CPUs.
    pub fn stats_totals(&self) -> Result<Stats> {
        let values = self.stats.get(&0, 0).map_err(map_err(names::STATS))?;
        Ok(stats_sum(&values))
    }

    /// Totals over all CPUs of every reason counter.
    pub fn reason_totals(&self) -> Result<Vec<(Reason, Counter)>> {
        let totals = self.stats_totals()?;
        Reason::ALL
            .iter()
            .map(|&reason| Ok((reason, totals.reasons[reason as usize])))
            .collect()
    }

    /// Totals over all CPUs of one backend's counter.
    pub fn backend_total(&self, id: u32) -> Result<Counter> {
        let totals = self.stats_totals()?;
        Ok(totals
            .backends
            .get(id as usize)
            .copied()
            .unwrap_or_default())
    }

    /// The backend the flow table holds for a flow, if any.
    pub fn flow(&self, key: &FlowKey) -> Option<u32> {
        self.flows.get(key, 0).ok().map(|t| t.backend_id)
    }

    /// The new-pin guard's counts summed over all CPUs (the token fields are summed too).
    pub fn flow_guard_totals(&self) -> Result<FlowGuard> {
        let values = self
            .flow_guard
            .get(&0, 0)
            .map_err(map_err(names::FLOW_GUARD))?;
        Ok(values
            .iter()
            .fold(FlowGuard::default(), |acc, g| FlowGuard {
                tokens: acc.tokens + g.tokens,
                credited_ns: acc.credited_ns.max(g.credited_ns),
                pinned: acc.pinned + g.pinned,
                refused: acc.refused + g.refused,
                stale: acc.stale + g.stale,
                expired: acc.expired + g.expired,
            }))
    }

    /// Frames the program copied because a foreign host claimed a VIP it announces,
    /// oldest first; each is returned once.
    pub fn take_conflict_frames(&mut self) -> Vec<Vec<u8>> {
        let mut frames = Vec::new();
        while let Some(item) = self.conflicts.next() {
            frames.push(item.to_vec());
        }
        frames
    }

    /// Removes one flow entry; `Ok(false)` if there was none.
    pub fn remove_flow(&mut self, key: &FlowKey) -> Result<bool> {
        match self.flows.remove(key) {
            Ok(()) => Ok(true),
            Err(aya::maps::MapError::KeyNotFound) => Ok(false),
            Err(e) => Err(map_err(names::FLOWS)(e)),
        }
    }

    pub fn clear_flows(&mut self) -> Result<()> {
        let keys: Vec<FlowKey> = self.flows.keys().filter_map(|k| k.ok()).collect();
        for key in keys {
            self.flows.remove(&key).map_err(map_err(names::FLOWS))?;
        }
        Ok(())
    }
}

pub fn ip_addr(key: &IpKey) -> std::net::IpAddr {
    match key.as_v4() {
        Some(v4) => std::net::Ipv4Addr::from(v4).into(),
        None => std::net::Ipv6Addr::from(key.addr).into(),
    }
}

fn program_mut(ebpf: &mut Ebpf) -> Result<&mut Xdp> {
    let program = ebpf.program_mut(PROGRAM_NAME).ok_or_else(program_missing)?;
    program.try_into().map_err(program_error)
}

pub(super) fn program_missing() -> DataplaneError {
    program_error(aya::programs::ProgramError::NotLoaded)
}

pub(super) fn program_error(source: aya::programs::ProgramError) -> DataplaneError {
    DataplaneError::Program {
        name: PROGRAM_NAME,
        source,
    }
}

/// Every counter summed over all CPUs.
pub fn stats_sum(values: &[Stats]) -> Stats {
    let mut total = Stats::default();
    for cpu in values {
        for (sum, c) in total.reasons.iter_mut().zip(&cpu.reasons) {
            sum.packets += c.packets;
            sum.bytes += c.bytes;
        }
        for (sum, c) in total.backends.iter_mut().zip(&cpu.backends) {
            sum.packets += c.packets;
            sum.bytes += c.bytes;
        }
    }
    total
}
