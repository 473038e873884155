//! Item 12 of issue 10: on a bond in native mode the program runs on the slaves, so ARP
//! and NDP arrive with a slave's ifindex. They are answered when that slave belongs to
//! the announcing bond, and still refused from any other interface. BPF_PROG_TEST_RUN
//! reports `lo` (TEST_IFINDEX) as the ingress interface, which stands in for a slave
//! here; this kernel has no bonding driver, so a real bond was not run. Needs root.
mod support;

use support::{arp_request, case, run_table, PASS, TX};
use vip_agent::testing::{fixture::*, frames::*};
use vip_common::Reason;

/// The bond's own ifindex: never the ingress interface of a frame in native mode.
const BOND_IFINDEX: u32 = 999;

fn arp_reply() -> Vec<u8> {
    eth(
        CLIENT_MAC,
        OUR_MAC,
        ETH_ARP,
        &arp(2, OUR_MAC, VIP4, CLIENT_MAC, CLIENT4),
    )
}

fn solicitation() -> Vec<u8> {
    let (group, group_mac) = solicited_node(VIP6);
    ns_frame(
        group_mac,
        CLIENT_MAC,
        CLIENT6,
        group,
        VIP6,
        &lladdr_option(1, CLIENT_MAC),
    )
}

fn advertisement() -> Vec<u8> {
    na_frame(CLIENT_MAC, OUR_MAC, VIP6, CLIENT6, 0x60, VIP6, OUR_MAC)
}

#[test]
fn item12_bond_slaves_are_the_announcing_interface() {
    let mut fixture = Fixture::new().expect("load the XDP program (needs root)");
    run_table(
        &mut fixture,
        vec![
            case(
                "arp on a slave of the bond",
                arp_request(),
                TX,
                Reason::ArpReplied,
                Some(arp_reply()),
            )
            .with(|d| {
                d.settings.ifindex = BOND_IFINDEX;
                d.settings.bond_slaves = [7, TEST_IFINDEX, 0, 0, 0, 0, 0, 0];
            }),
            case(
                "ns on a slave of the bond",
                solicitation(),
                TX,
                Reason::NdpAdvertised,
                Some(advertisement()),
            )
            .with(|d| {
                d.settings.ifindex = BOND_IFINDEX;
                d.settings.bond_slaves = [TEST_IFINDEX, 0, 0, 0, 0, 0, 0, 0];
            }),
            case(
                "arp on an interface outside the bond",
                arp_request(),
                PASS,
                Reason::ArpWrongInterface,
                None,
            )
            .with(|d| {
                d.settings.ifindex = BOND_IFINDEX;
                d.settings.bond_slaves = [7, 8, 0, 0, 0, 0, 0, 0];
            }),
            case(
                "ns on an interface outside the bond",
                solicitation(),
                PASS,
                Reason::NdpWrongInterface,
                None,
            )
            .with(|d| {
                d.settings.ifindex = BOND_IFINDEX;
                d.settings.bond_slaves = [7, 0, 0, 0, 0, 0, 0, 0];
            }),
        ],
    );
}
