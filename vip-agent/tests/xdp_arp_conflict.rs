//! Item 15 of issue 10: a foreign host sending ARP from a VIP (sender address = VIP) claims
//! it, whatever it asks for: counted as a conflict by the XDP program. Needs root.
mod support;

use support::{case, run_table, PASS};
use vip_agent::{
    announce::{detect_conflict, AddressConflict, ClaimKind, MacAddr},
    testing::{fixture::*, frames::*},
};
use vip_common::Reason;

/// A request from `sha` with sender address VIP4 asking for another host (the gateway).
fn request_from_vip(sha: Mac) -> Vec<u8> {
    eth(BROADCAST, sha, ETH_ARP, &arp(1, sha, VIP4, [0; 6], OTHER4))
}

#[test]
fn item15_arp_request_from_the_vip_is_a_conflict() {
    let mut fixture = Fixture::new().expect("load the XDP program (needs root)");
    run_table(
        &mut fixture,
        vec![
            case(
                "foreign request from the vip, announcing",
                request_from_vip(FOREIGN_MAC),
                PASS,
                Reason::ArpConflict,
                None,
            ),
            case(
                "foreign request from the vip, follower",
                request_from_vip(FOREIGN_MAC),
                PASS,
                Reason::ArpClaimSeen,
                None,
            )
            .with(|d| d.settings.announcing = 0),
            case(
                "our own request from the vip",
                request_from_vip(OUR_MAC),
                PASS,
                Reason::ArpPassed,
                None,
            ),
        ],
    );
}

/// Item 15: the claims the program counts as conflicts reach the agent's conflict
/// detector, which names the VIP and the claiming MAC; a follower reports nothing.
#[test]
fn item15_claims_reach_the_userspace_conflict_detector() {
    let mut f = Fixture::new().expect("load the XDP program (needs root)");
    let all_nodes = std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
    let claim6 = na_frame(
        [0x33, 0x33, 0, 0, 0, 1],
        FOREIGN_MAC,
        VIP6,
        all_nodes,
        0x20,
        VIP6,
        FOREIGN_MAC,
    );
    for frame in [
        request_from_vip(FOREIGN_MAC),
        request_from_vip(OUR_MAC),
        claim6.clone(),
    ] {
        f.run(&frame).expect("test_run");
    }
    let vips = [VIP4.into(), VIP6.into()];
    let detected: Vec<AddressConflict> = f
        .dataplane
        .take_conflict_frames()
        .iter()
        .filter_map(|frame| detect_conflict(frame, MacAddr(OUR_MAC), &vips))
        .collect();
    assert_eq!(
        detected,
        vec![
            AddressConflict {
                vip: VIP4.into(),
                claimed_by: MacAddr(FOREIGN_MAC),
                kind: ClaimKind::ArpRequest,
            },
            AddressConflict {
                vip: VIP6.into(),
                claimed_by: MacAddr(FOREIGN_MAC),
                kind: ClaimKind::NeighborAdvertisement,
            },
        ]
    );
    f.with(|d| d.settings.announcing = 0).expect("apply");
    f.run(&request_from_vip(FOREIGN_MAC)).expect("test_run");
    f.run(&claim6).expect("test_run");
    assert!(f.dataplane.take_conflict_frames().is_empty());
}
