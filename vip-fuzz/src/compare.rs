//! One frame through the program and the model, and every way they can disagree.
use std::collections::{HashMap, HashSet};

use vip_common::{FlowKey, Reason};
use vip_model::{
    decide,
    invariants::{self, Violation},
    Action, Decision, FlowChange, ModelState, PinEvent,
};

use crate::kernel::{self, flow_key, Kernel, Outcome, PinEvents, PinView};

/// A flow-table key whose entry differs: (key, model's entry, program's entry).
pub type TableDifference = (FlowKey, Option<PinView>, Option<PinView>);

/// A frame on which the program and the model (or an invariant) disagree.
#[derive(Clone, Debug)]
pub struct Finding {
    pub state: ModelState,
    pub frame: Vec<u8>,
    pub model: Decision,
    pub program: Outcome,
    pub violation: Option<Violation>,
    /// Flow-table entry of the frame's flow after the frame: (model, program), when they
    /// differ.
    pub pin: Option<(Option<PinView>, Option<PinView>)>,
    /// Entries elsewhere in the flow table that differ.
    pub table: Vec<TableDifference>,
    /// Flow-guard counts the frame added: (model, program), when they differ.
    pub pin_events: Option<(PinEvents, PinEvents)>,
}

impl Finding {
    pub fn summary(&self) -> String {
        let (model, program) = (&self.model, &self.program);
        let mut parts = Vec::new();
        if model.action != program.action || model.reason != program.reason {
            parts.push(format!(
                "model {:?}/{} but program {:?}/{}",
                model.action,
                model.reason.label(),
                program.action,
                program.reason.label()
            ));
        } else if model.output != program.output {
            parts.push(format!(
                "same verdict {:?}/{}, different output frame",
                model.action,
                model.reason.label()
            ));
        }
        if model.report.iter().ne(program.reports.iter()) {
            parts.push(format!(
                "conflict reports: model {}, program {}",
                usize::from(model.report.is_some()),
                program.reports.len()
            ));
        }
        if model.backend != program.backend {
            parts.push(format!(
                "backend counted: model {:?}, program {:?}",
                model.backend, program.backend
            ));
        }
        if let Some(v) = self.violation {
            parts.push(format!("invariant violated: {v:?}"));
        }
        if let Some((model, program)) = self.pin {
            parts.push(format!(
                "flow entry after the frame: model {model:?}, program {program:?}"
            ));
        }
        if let Some((model, program)) = self.pin_events {
            parts.push(format!(
                "flow-guard counts: model {model:?}, program {program:?}"
            ));
        }
        for (key, model, program) in &self.table {
            parts.push(format!(
                "flow table {key:?}: model {model:?}, program {program:?}"
            ));
        }
        parts.join("; ")
    }
}

pub enum Compared {
    /// Program and model agree on this verdict, and no invariant failed; the flow-guard
    /// event the model predicts, for the per-state check.
    Agree(Action, Reason, Option<PinEvent>),
    Disagree(Box<Finding>),
}

/// Runs `frame` in `state`, then moves `state`'s flow table the way the model says the
/// frame moved it. `thorough` also compares every flow-table entry (not only the
/// frame's own) and the flow-guard counts the frame added.
pub fn compare(
    kernel: &mut Kernel,
    state: &mut ModelState,
    frame: &[u8],
    thorough: bool,
) -> kernel::Result<Compared> {
    let model = decide(frame, state);
    let events_before = if thorough {
        Some(kernel.pin_events()?)
    } else {
        None
    };
    let program = kernel.run(frame)?;
    let mut pin_events = None;
    if let Some(before) = events_before {
        let mut expected = PinEvents::default();
        expected.add(model.pin_event);
        let actual = kernel.pin_events()?.since(&before);
        if actual != expected {
            pin_events = Some((expected, actual));
        }
    }
    let violation = invariants::check(frame, state, program.action, &program.output).err();
    let before = state.clone();
    let mut pin = None;
    if let Some((flow, change)) = model.flow {
        let expected = match change {
            Some(FlowChange::Pin(p)) => Some(p),
            Some(FlowChange::Unpin) => None,
            None => state.flows.get(&flow).copied(),
        };
        let expected_view = expected.as_ref().map(|p| PinView::of(&flow, p));
        let actual = kernel.pinned(&flow)?;
        if actual != expected_view {
            pin = Some((expected_view, actual));
        }
        match expected {
            Some(p) => state.flows.insert(flow, p),
            None => state.flows.remove(&flow),
        };
    }
    let table = if thorough {
        table_differences(kernel, state)?
    } else {
        Vec::new()
    };
    let agree = model.action == program.action
        && model.reason == program.reason
        && model.output == program.output
        && model.report.iter().eq(program.reports.iter())
        && model.backend == program.backend;
    if agree && violation.is_none() && pin.is_none() && table.is_empty() && pin_events.is_none() {
        return Ok(Compared::Agree(model.action, model.reason, model.pin_event));
    }
    Ok(Compared::Disagree(Box::new(Finding {
        state: before,
        frame: frame.to_vec(),
        model,
        program,
        violation,
        pin,
        table,
        pin_events,
    })))
}

/// Entries where the program's flow table and the model's differ.
pub fn table_differences(
    kernel: &Kernel,
    state: &ModelState,
) -> kernel::Result<Vec<TableDifference>> {
    let program = kernel.flow_table()?;
    let model: HashMap<FlowKey, PinView> = state
        .flows
        .iter()
        .map(|(flow, pin)| (flow_key(flow), PinView::of(flow, pin)))
        .collect();
    let keys: HashSet<&FlowKey> = model.keys().chain(program.keys()).collect();
    Ok(keys
        .into_iter()
        .filter(|key| model.get(key) != program.get(key))
        .map(|key| (*key, model.get(key).copied(), program.get(key).copied()))
        .collect())
}

/// Writes `state` and runs `frame` on it afresh, checking the whole flow table after.
pub fn replay(
    kernel: &mut Kernel,
    state: &ModelState,
    frame: &[u8],
) -> kernel::Result<Option<Finding>> {
    kernel.write(state)?;
    let mut scratch = state.clone();
    Ok(match compare(kernel, &mut scratch, frame, true)? {
        Compared::Agree(..) => None,
        Compared::Disagree(finding) => Some(*finding),
    })
}
