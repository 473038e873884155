//! Shared by the integration tests: fixture tables (every case gets a fresh state, one
//! frame and exact expectations) and throwaway network namespaces.
#![allow(dead_code)] // each test binary uses a different part

pub mod agent;
pub mod netns;
use vip_agent::dataplane::DesiredState;
use vip_agent::testing::{fixture::*, frames::*};
use vip_common::Reason;

pub const PASS: u32 = 2;
pub const TX: u32 = 3;

pub fn no_change(_: &mut DesiredState) {}

/// A broadcast ARP request from the client for VIP4.
pub fn arp_request() -> Vec<u8> {
    eth(
        BROADCAST,
        CLIENT_MAC,
        ETH_ARP,
        &arp(1, CLIENT_MAC, CLIENT4, [0; 6], VIP4),
    )
}

/// A TCP segment with `flags` from the fixture's client port `port` to VIP4's service.
pub fn tcp4(port: u16, flags: u8) -> Vec<u8> {
    eth(
        OUR_MAC,
        CLIENT_MAC,
        ETH_IPV4,
        &ipv4(CLIENT4, VIP4, 6, &tcp(port, SERVICE_PORT, flags)),
    )
}

pub struct Case {
    pub name: &'static str,
    pub tweak: fn(&mut DesiredState),
    pub frame: Vec<u8>,
    pub action: u32,
    pub reason: Reason,
    /// `None`: the frame must come back unchanged.
    pub output: Option<Vec<u8>>,
}

pub fn case(
    name: &'static str,
    frame: Vec<u8>,
    action: u32,
    reason: Reason,
    output: Option<Vec<u8>>,
) -> Case {
    Case {
        name,
        tweak: no_change,
        frame,
        action,
        reason,
        output,
    }
}

impl Case {
    pub fn with(mut self, tweak: fn(&mut DesiredState)) -> Self {
        self.tweak = tweak;
        self
    }
}

/// Runs every case and reports all failures at once.
pub fn run_table(fixture: &mut Fixture, cases: Vec<Case>) {
    let mut failures = Vec::new();
    let total = cases.len();
    for c in cases {
        fixture.with(c.tweak).expect("apply state");
        let (action, out, counted) = fixture.run(&c.frame).expect("test_run");
        let expected = c.output.clone().unwrap_or_else(|| c.frame.clone());
        if action != c.action {
            failures.push(format!(
                "{}: action {action}, expected {}",
                c.name, c.action
            ));
        }
        if counted != [c.reason] {
            failures.push(format!(
                "{}: counted {counted:?}, expected [{:?}]",
                c.name, c.reason
            ));
        }
        if out != expected {
            failures.push(format!(
                "{}: frame\n  got      {}\n  expected {}",
                c.name,
                hex(&out),
                hex(&expected)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!("{total} fixture cases passed");
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
