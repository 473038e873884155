//! The program under test: the XDP object loaded (not attached), its maps written from a
//! `ModelState`, frames run through BPF_PROG_TEST_RUN.
use std::collections::HashMap;
use std::net::IpAddr;

use nix::time::{clock_gettime, ClockId};
use vip_agent::dataplane::{Dataplane, DataplaneError, DesiredState, LoadOptions};
use vip_common::{
    backend_tag, Backend, Counter, FlowKey, FlowTarget, IpKey, Reason, ServiceKey, Settings, Stats,
    ANNOUNCE_ON, BACKEND_ACTIVE, BACKEND_LOCAL, MAX_BOND_SLAVES, PROTO_UDP,
};
use vip_model::{Action, Flow, ModelState, Pin, PinEvent};

use crate::gen::universe::RING_SIZE;

/// The interface BPF_PROG_TEST_RUN reports as ingress: `lo`.
const TEST_RUN_IFINDEX: u32 = 1;
const OTHER_IFINDEX: u32 = 7;
/// Far more than the flows one state sees, so the LRU never evicts during a run.
const MAX_FLOWS: u32 = 8192;
/// UDP pins idle longer than this are stale; a run of one state takes milliseconds.
const UDP_IDLE_NS: u64 = 30_000_000_000;
/// A closed new-pin guard: an empty bucket that earns a token every 2^62 ns.
const GUARD_CLOSED_INTERVAL_NS: u64 = 1 << 62;

#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    #[error("data plane: {0}")]
    Dataplane(#[from] DataplaneError),
    #[error("the program returned {code}, which is no XDP action")]
    UnknownAction { code: u32 },
    #[error("{count} reason counters moved for one frame, not 1")]
    ReasonsCounted { count: usize },
    #[error("{count} backend counters moved for one frame")]
    BackendsCounted { count: usize },
    #[error("reading CLOCK_MONOTONIC_COARSE: {0}")]
    Clock(nix::Error),
}

pub type Result<T> = std::result::Result<T, KernelError>;

/// What the program did with one frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub action: Action,
    pub reason: Reason,
    pub output: Vec<u8>,
    /// Frames the program sent to the conflict detector.
    pub reports: Vec<Vec<u8>>,
    /// The backend whose counter the frame moved.
    pub backend: Option<u32>,
}

pub struct Kernel {
    dataplane: Dataplane,
    /// Counter totals before the frame being run, to see which ones moved.
    counted: Box<Stats>,
}

pub fn ip_key(addr: IpAddr) -> IpKey {
    match addr {
        IpAddr::V4(v4) => IpKey::from_v4(v4.octets()),
        IpAddr::V6(v6) => IpKey::from_v6(v6.octets()),
    }
}

pub fn flow_key(flow: &Flow) -> FlowKey {
    FlowKey {
        client: ip_key(flow.client),
        vip: ip_key(flow.service.vip),
        client_port: flow.client_port,
        service_port: flow.service.port,
        proto: flow.service.proto,
        _pad: [0; 3],
    }
}

/// The interface settings: "on the announcing interface" is the interface itself or,
/// for half of the seeds, a bond whose slave the frame came in on.
fn interfaces(state: &ModelState) -> (u32, [u32; MAX_BOND_SLAVES]) {
    let mut slaves = [0; MAX_BOND_SLAVES];
    let bond = state.hash_seed & 1 == 1;
    if bond {
        slaves[..3].copy_from_slice(&[OTHER_IFINDEX + 1, OTHER_IFINDEX + 2, OTHER_IFINDEX + 3]);
    }
    match (state.on_announce_interface, bond) {
        (true, false) => (TEST_RUN_IFINDEX, slaves),
        (true, true) => {
            slaves[(state.hash_seed >> 1) as usize % 3] = TEST_RUN_IFINDEX;
            (OTHER_IFINDEX, slaves)
        }
        (false, _) => (OTHER_IFINDEX, slaves),
    }
}

fn desired(state: &ModelState) -> DesiredState {
    let (ifindex, bond_slaves) = interfaces(state);
    let settings = Settings {
        announce_deadline_ns: if state.deadline_passed { 0 } else { u64::MAX },
        ifindex,
        bond_slaves,
        udp_idle_ns: UDP_IDLE_NS,
        pin_interval_ns: if state.pin_guard_open {
            0
        } else {
            GUARD_CLOSED_INTERVAL_NS
        },
        pin_burst: 0,
        announcing: if state.announcing { ANNOUNCE_ON } else { 0 },
        hash_seed: state.hash_seed,
        ring_size: state.ring_size,
        mac: state.mac,
        ..Default::default()
    };
    let backends = state
        .backends
        .iter()
        .map(|(&id, b)| {
            let flags =
                if b.active { BACKEND_ACTIVE } else { 0 } | if b.local { BACKEND_LOCAL } else { 0 };
            let backend = Backend {
                addr: ip_key(b.server),
                mac: b.mac,
                flags,
                ..Default::default()
            };
            (id, backend)
        })
        .collect();
    let services = state
        .services
        .iter()
        .map(|(s, table)| {
            let key = ServiceKey {
                vip: ip_key(s.vip),
                port: s.port,
                proto: s.proto,
                _pad: 0,
            };
            (key, table.clone())
        })
        .collect();
    DesiredState {
        settings,
        vips: state.vips.iter().map(|v| ip_key(*v)).collect(),
        services,
        backends,
        peer_macs: state.peer_macs.clone(),
    }
}

impl Kernel {
    pub fn load() -> Result<Self> {
        let dataplane = Dataplane::load(LoadOptions {
            ring_size: RING_SIZE,
            max_flows: MAX_FLOWS,
        })?;
        let mut kernel = Self {
            dataplane,
            counted: Box::default(),
        };
        *kernel.counted = kernel.dataplane.stats_totals()?;
        Ok(kernel)
    }

    /// Writes every map from `state`, the flow table included.
    pub fn write(&mut self, state: &ModelState) -> Result<()> {
        self.dataplane.apply(&desired(state))?;
        self.dataplane.clear_flows()?;
        let now = coarse_now()?;
        for (flow, pin) in &state.flows {
            let seen_ns = match (flow.service.proto, pin.idle) {
                (PROTO_UDP, false) => now,
                (PROTO_UDP, true) => now.saturating_sub(2 * UDP_IDLE_NS),
                _ => 0,
            };
            let target = FlowTarget {
                backend_id: pin.backend_id,
                backend_tag: tag(pin.server),
                seen_ns,
            };
            self.dataplane.pin_flow(&flow_key(flow), target)?;
        }
        Ok(())
    }

    /// Runs `frame` and reads which reason and which backend counter it moved (one
    /// lookup of the per-CPU statistics).
    pub fn run(&mut self, frame: &[u8]) -> Result<Outcome> {
        let (code, output) = self.dataplane.test_run(frame)?;
        let action = Action::from_code(code).ok_or(KernelError::UnknownAction { code })?;
        let stats = self.dataplane.stats_totals()?;
        let moved = |now: &[Counter], before: &[Counter]| -> Vec<usize> {
            now.iter()
                .zip(before)
                .enumerate()
                .filter(|(_, (n, b))| n.packets != b.packets)
                .map(|(i, _)| i)
                .collect()
        };
        let reasons = moved(&stats.reasons, &self.counted.reasons);
        let backends = moved(&stats.backends, &self.counted.backends);
        *self.counted = stats;
        let [index] = reasons[..] else {
            return Err(KernelError::ReasonsCounted {
                count: reasons.len(),
            });
        };
        let reason = Reason::ALL[index];
        let backend = match backends[..] {
            [] => None,
            [id] => Some(id as u32),
            _ => {
                return Err(KernelError::BackendsCounted {
                    count: backends.len(),
                })
            }
        };
        let reports = self.dataplane.take_conflict_frames();
        Ok(Outcome {
            action,
            reason,
            output,
            reports,
            backend,
        })
    }

    pub fn pin_events(&self) -> Result<PinEvents> {
        let g = self.dataplane.flow_guard_totals()?;
        Ok(PinEvents {
            pinned: g.pinned,
            refused: g.refused,
            stale: g.stale,
            expired: g.expired,
        })
    }

    /// Every flow-table entry, as comparable with the model's flows.
    pub fn flow_table(&self) -> Result<HashMap<FlowKey, PinView>> {
        let now = coarse_now()?;
        Ok(self
            .dataplane
            .flow_entries()
            .into_iter()
            .map(|(key, target)| {
                let idle =
                    key.proto == PROTO_UDP && now.saturating_sub(target.seen_ns) > UDP_IDLE_NS;
                let view = PinView {
                    backend_id: target.backend_id,
                    tag: target.backend_tag,
                    idle,
                };
                (key, view)
            })
            .collect())
    }

    /// The flow table's entry for `flow`, in the model's terms where they can be told
    /// from the entry: backend slot, server tag, and for UDP whether it is idle.
    pub fn pinned(&self, flow: &Flow) -> Result<Option<PinView>> {
        let Some(target) = self.dataplane.flow_target(&flow_key(flow)) else {
            return Ok(None);
        };
        let idle = flow.service.proto == PROTO_UDP
            && coarse_now()?.saturating_sub(target.seen_ns) > UDP_IDLE_NS;
        Ok(Some(PinView {
            backend_id: target.backend_id,
            tag: target.backend_tag,
            idle,
        }))
    }
}

/// The flow guard's event counts, summed over CPUs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PinEvents {
    pub pinned: u64,
    pub refused: u64,
    pub stale: u64,
    pub expired: u64,
}

impl PinEvents {
    pub fn add(&mut self, event: Option<PinEvent>) {
        match event {
            Some(PinEvent::Pinned) => self.pinned += 1,
            Some(PinEvent::Refused) => self.refused += 1,
            Some(PinEvent::Stale) => self.stale += 1,
            Some(PinEvent::Expired) => self.expired += 1,
            None => {}
        }
    }

    /// Counts since `earlier`.
    pub fn since(&self, earlier: &PinEvents) -> PinEvents {
        PinEvents {
            pinned: self.pinned - earlier.pinned,
            refused: self.refused - earlier.refused,
            stale: self.stale - earlier.stale,
            expired: self.expired - earlier.expired,
        }
    }
}

/// A flow-table entry as comparable with the model's `Pin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PinView {
    pub backend_id: u32,
    pub tag: u32,
    pub idle: bool,
}

impl PinView {
    pub fn of(flow: &Flow, pin: &Pin) -> Self {
        Self {
            backend_id: pin.backend_id,
            tag: tag(pin.server),
            idle: flow.service.proto == PROTO_UDP && pin.idle,
        }
    }
}

/// The tag the agent writes for a server (the program copies it into pins).
fn tag(server: IpAddr) -> u32 {
    backend_tag(&ip_key(server))
}

/// The clock of `bpf_ktime_get_coarse_ns`.
fn coarse_now() -> Result<u64> {
    let now = clock_gettime(ClockId::CLOCK_MONOTONIC_COARSE).map_err(KernelError::Clock)?;
    Ok(now.tv_sec() as u64 * 1_000_000_000 + now.tv_nsec() as u64)
}
