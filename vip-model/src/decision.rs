//! What the model predicts for one frame.
use vip_common::Reason;

use crate::state::{Flow, Pin};

/// XDP actions (values of `enum xdp_action`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Drop,
    Pass,
    Tx,
}

impl Action {
    pub const fn code(self) -> u32 {
        match self {
            Action::Drop => 1,
            Action::Pass => 2,
            Action::Tx => 3,
        }
    }

    pub const fn from_code(code: u32) -> Option<Action> {
        match code {
            1 => Some(Action::Drop),
            2 => Some(Action::Pass),
            3 => Some(Action::Tx),
            _ => None,
        }
    }
}

/// How the frame changes the flow table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowChange {
    /// The flow's entry is now this pin.
    Pin(Pin),
    /// The flow has no entry afterwards.
    Unpin,
}

/// What the frame adds to the flow-guard counts (`vip_flow_pin_events_total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinEvent {
    /// A pin was created on a miss.
    Pinned,
    /// A miss that would have pinned was refused by the new-pin guard.
    Refused,
    /// A pin was ignored: its slot is inactive or holds another server.
    Stale,
    /// A UDP pin was ignored: idle too long.
    Expired,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub action: Action,
    pub reason: Reason,
    /// The frame after the program: the input unchanged unless `action` is `Tx`.
    pub output: Vec<u8>,
    /// The flow the frame belongs to, when it reached the flow table, and what happened to
    /// its entry (`None`: left as it was).
    pub flow: Option<(Flow, Option<FlowChange>)>,
    /// The bytes reported to the agent's conflict detector, for a foreign claim on a VIP
    /// this node announces.
    pub report: Option<Vec<u8>>,
    pub pin_event: Option<PinEvent>,
    /// The backend whose per-backend counter the frame moves (forwarded or local).
    pub backend: Option<u32>,
}
