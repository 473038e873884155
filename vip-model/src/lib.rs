//! A reference model of the XDP program's decision, for differential fuzzing. It parses
//! frames byte by byte from the RFCs (Ethernet, ARP, IPv4, IPv6, TCP, UDP, ICMP, ICMPv6)
//! and decides from a plain description of the map state; it shares no code with
//! vip-ebpf or the agent's frame builders, only the counter names of vip-common.
pub mod checksum;
mod decide;
pub mod decision;
pub mod hash;
pub mod invariants;
pub mod state;
pub mod wire;

pub use decide::decide;
pub use decision::{Action, Decision, FlowChange, PinEvent};
pub use state::{BackendSlot, Flow, ModelState, OpenBugs, Pin, Service};
