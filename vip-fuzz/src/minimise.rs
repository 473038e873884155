//! Shrinks a finding to a small reproducer: the shortest frame prefix, bytes zeroed where
//! they do not matter, and state entries removed where they do not matter. A smaller
//! candidate is kept only when it disagrees in the same way.
use vip_model::ModelState;

use crate::{
    compare::{replay, Finding},
    gen::mutate::MIN_FRAME,
    kernel::{self, Kernel},
};

/// What kind of disagreement a finding is: both verdicts, and which checks failed.
fn signature(f: &Finding) -> impl PartialEq {
    (
        f.model.action,
        f.model.reason,
        f.program.action,
        f.program.reason,
        f.violation,
        f.pin.is_some(),
    )
}

fn same_kind(
    kernel: &mut Kernel,
    of: &Finding,
    state: &ModelState,
    frame: &[u8],
) -> kernel::Result<Option<Finding>> {
    Ok(replay(kernel, state, frame)?.filter(|f| signature(f) == signature(of)))
}

pub fn minimise(kernel: &mut Kernel, finding: Finding) -> kernel::Result<Finding> {
    let mut best = finding;
    for len in MIN_FRAME..best.frame.len() {
        let prefix = best.frame[..len].to_vec();
        if let Some(f) = same_kind(kernel, &best, &best.state.clone(), &prefix)? {
            best = f;
            break;
        }
    }
    for at in (0..best.frame.len()).rev() {
        if best.frame[at] == 0 {
            continue;
        }
        let mut frame = best.frame.clone();
        frame[at] = 0;
        if let Some(f) = same_kind(kernel, &best, &best.state.clone(), &frame)? {
            best = f;
        }
    }
    'shrink: loop {
        for candidate in smaller_states(&best.state) {
            if let Some(f) = same_kind(kernel, &best, &candidate, &best.frame.clone())? {
                best = f;
                continue 'shrink;
            }
        }
        return Ok(best);
    }
}

/// `state` with one entry removed, for each removable entry.
fn smaller_states(state: &ModelState) -> Vec<ModelState> {
    let mut out = Vec::new();
    for flow in state.flows.keys() {
        let mut s = state.clone();
        s.flows.remove(flow);
        out.push(s);
    }
    for mac in &state.peer_macs {
        let mut s = state.clone();
        s.peer_macs.remove(mac);
        out.push(s);
    }
    for service in state.services.keys() {
        let mut s = state.clone();
        s.services.remove(service);
        s.flows.retain(|f, _| f.service != *service);
        out.push(s);
    }
    for id in state.backends.keys() {
        let mut s = state.clone();
        s.backends.remove(id);
        out.push(s);
    }
    out
}
