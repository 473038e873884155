//! One frame through the program and the model, and every way they can disagree.
use vip_common::Reason;
use vip_model::{
    decide,
    invariants::{self, Violation},
    Action, Decision, FlowChange, ModelState,
};

use crate::kernel::{self, Kernel, Outcome, PinView};

/// A frame on which the program and the model (or an invariant) disagree.
#[derive(Clone, Debug)]
pub struct Finding {
    pub state: ModelState,
    pub frame: Vec<u8>,
    pub model: Decision,
    pub program: Outcome,
    pub violation: Option<Violation>,
    /// Flow-table entry after the frame: (model, program), when they differ.
    pub pin: Option<(Option<PinView>, Option<PinView>)>,
}

impl Finding {
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if self.model.action != self.program.action || self.model.reason != self.program.reason {
            parts.push(format!(
                "model {:?}/{} but program {:?}/{}",
                self.model.action,
                self.model.reason.label(),
                self.program.action,
                self.program.reason.label()
            ));
        } else if self.model.output != self.program.output {
            parts.push(format!(
                "same verdict {:?}/{}, different output frame",
                self.model.action,
                self.model.reason.label()
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
        parts.join("; ")
    }
}

pub enum Compared {
    /// Program and model agree on this verdict, and no invariant failed.
    Agree(Action, Reason),
    Disagree(Box<Finding>),
}

/// Runs `frame` in `state`, then moves `state`'s flow table the way the model says the
/// frame moved it.
pub fn compare(
    kernel: &mut Kernel,
    state: &mut ModelState,
    frame: &[u8],
) -> kernel::Result<Compared> {
    let model = decide(frame, state);
    let program = kernel.run(frame, model.reason)?;
    let violation = invariants::check(frame, state, program.action, &program.output).err();
    let mut pin = None;
    let before = state.clone();
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
    let agree = model.action == program.action
        && model.reason == program.reason
        && model.output == program.output;
    if agree && violation.is_none() && pin.is_none() {
        return Ok(Compared::Agree(model.action, model.reason));
    }
    Ok(Compared::Disagree(Box::new(Finding {
        state: before,
        frame: frame.to_vec(),
        model,
        program,
        violation,
        pin,
    })))
}

/// Writes `state` and runs `frame` on it afresh.
pub fn replay(
    kernel: &mut Kernel,
    state: &ModelState,
    frame: &[u8],
) -> kernel::Result<Option<Finding>> {
    kernel.write(state)?;
    let mut scratch = state.clone();
    Ok(match compare(kernel, &mut scratch, frame)? {
        Compared::Agree(..) => None,
        Compared::Disagree(finding) => Some(*finding),
    })
}
