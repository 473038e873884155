//! The program under test: the XDP object loaded (not attached), its maps written from a
//! `ModelState`, frames run through BPF_PROG_TEST_RUN.
use std::net::IpAddr;

use vip_agent::dataplane::{Dataplane, DataplaneError, DesiredState, LoadOptions};
use vip_common::{
    Backend, FlowKey, IpKey, Reason, ServiceKey, Settings, ANNOUNCE_ON, BACKEND_ACTIVE,
    BACKEND_LOCAL,
};
use vip_model::{Action, Flow, ModelState};

use crate::gen::universe::RING_SIZE;

/// The interface BPF_PROG_TEST_RUN reports as ingress: `lo`.
const TEST_RUN_IFINDEX: u32 = 1;
const OTHER_IFINDEX: u32 = 7;
/// Far more than the flows one state sees, so the LRU never evicts during a run.
const MAX_FLOWS: u32 = 8192;

#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    #[error("data plane: {0}")]
    Dataplane(#[from] DataplaneError),
    #[error("the program returned {code}, which is no XDP action")]
    UnknownAction { code: u32 },
    #[error("no reason counter moved for the frame")]
    NoReasonCounted,
}

pub type Result<T> = std::result::Result<T, KernelError>;

/// What the program did with one frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub action: Action,
    pub reason: Reason,
    pub output: Vec<u8>,
}

pub struct Kernel {
    dataplane: Dataplane,
    /// Reason counter totals before the frame being run, to see which one moved.
    counted: Vec<u64>,
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

fn desired(state: &ModelState) -> DesiredState {
    let settings = Settings {
        announce_deadline_ns: if state.deadline_passed { 0 } else { u64::MAX },
        ifindex: if state.on_announce_interface {
            TEST_RUN_IFINDEX
        } else {
            OTHER_IFINDEX
        },
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
            let addr = IpKey::from_v4([10, 1, (id >> 8) as u8, id as u8]);
            (
                id,
                Backend {
                    addr,
                    mac: b.mac,
                    flags,
                },
            )
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
            counted: Vec::new(),
        };
        kernel.counted = kernel.reason_packets()?;
        Ok(kernel)
    }

    /// Writes every map from `state`, the flow table included.
    pub fn write(&mut self, state: &ModelState) -> Result<()> {
        self.dataplane.apply(&desired(state))?;
        self.dataplane.clear_flows()?;
        for (flow, &id) in &state.flows {
            self.dataplane.pin_flow(&flow_key(flow), id)?;
        }
        Ok(())
    }

    fn reason_packets(&self) -> Result<Vec<u64>> {
        Ok(self
            .dataplane
            .reason_totals()?
            .iter()
            .map(|(_, c)| c.packets)
            .collect())
    }

    /// Runs `frame`. `expected` is the reason to look at first: one counter lookup when
    /// it moved, a scan of all of them otherwise.
    pub fn run(&mut self, frame: &[u8], expected: Reason) -> Result<Outcome> {
        let (code, output) = self.dataplane.test_run(frame)?;
        let action = Action::from_code(code).ok_or(KernelError::UnknownAction { code })?;
        let index = expected as usize;
        let now = self.dataplane.reason_total(expected)?.packets;
        let reason = if now == self.counted[index] + 1 {
            self.counted[index] = now;
            expected
        } else {
            let totals = self.reason_packets()?;
            let moved = Reason::ALL
                .iter()
                .zip(totals.iter().zip(&self.counted))
                .find(|(_, (now, before))| now != before)
                .map(|(r, _)| *r);
            self.counted = totals;
            moved.ok_or(KernelError::NoReasonCounted)?
        };
        Ok(Outcome {
            action,
            reason,
            output,
        })
    }

    /// The backend the flow table holds for `flow`.
    pub fn pinned(&self, flow: &Flow) -> Option<u32> {
        self.dataplane.flow(&flow_key(flow))
    }
}
