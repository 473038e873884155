//! The decision: which EtherType, then which protocol handler.
mod arp;
mod balance;
mod ipv4;
mod ipv6;
mod ndp;

use vip_common::Reason;

use crate::{
    decision::{Action, Decision},
    state::ModelState,
    wire::ethernet::{
        self, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, TPID_8021AD, TPID_8021Q,
    },
};

/// What the program does with `frame` in `state`.
pub fn decide(frame: &[u8], state: &ModelState) -> Decision {
    if !state.configured {
        return pass(frame, Reason::NotConfigured);
    }
    let Some(eth) = ethernet::parse(frame) else {
        return pass(frame, Reason::EthTruncated);
    };
    match eth.ethertype {
        ETHERTYPE_ARP => arp::decide(frame, &eth, state),
        ETHERTYPE_IPV4 => ipv4::decide(frame, &eth, state),
        ETHERTYPE_IPV6 => ipv6::decide(frame, &eth, state),
        // VLAN interfaces are served by the stack; the program is not attached to them.
        TPID_8021Q | TPID_8021AD => pass(frame, Reason::VlanTagged),
        _ => pass(frame, Reason::OtherEtherType),
    }
}

fn pass(frame: &[u8], reason: Reason) -> Decision {
    Decision {
        action: Action::Pass,
        reason,
        output: frame.to_vec(),
        flow: None,
        report: None,
        pin_event: None,
        backend: None,
    }
}

fn tx(output: Vec<u8>, reason: Reason) -> Decision {
    Decision {
        action: Action::Tx,
        reason,
        output,
        flow: None,
        report: None,
        pin_event: None,
        backend: None,
    }
}

/// A passed frame whose first `len` bytes go to the conflict detector.
fn pass_reported(frame: &[u8], reason: Reason, len: usize) -> Decision {
    Decision {
        report: frame.get(..len).map(<[u8]>::to_vec),
        ..pass(frame, reason)
    }
}

/// Why the announcer may not answer ARP/NDP right now, if it may not.
enum Refusal {
    NotAnnouncing,
    WrongInterface,
    DeadlinePassed,
}

fn announce_refusal(state: &ModelState) -> Option<Refusal> {
    if !state.announcing {
        Some(Refusal::NotAnnouncing)
    } else if !state.on_announce_interface {
        Some(Refusal::WrongInterface)
    } else if state.deadline_passed {
        Some(Refusal::DeadlinePassed)
    } else {
        None
    }
}
