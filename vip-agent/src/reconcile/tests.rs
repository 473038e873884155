use std::net::Ipv4Addr;

use super::*;
use vip_common::NO_BACKEND;

const MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];

fn config() -> NodeConfig {
    NodeConfig {
        vips: vec![Ipv4Addr::new(10, 0, 0, 100).into()],
        service_ports: vec![6443, 9345],
        ring_size: 257,
        hash_seed: 3,
        ifindex: 4,
        bond_slaves: vec![5, 6],
        mac: MAC,
    }
}

fn ip(last: u8) -> IpAddr {
    Ipv4Addr::new(10, 0, 0, last).into()
}

fn view(id: u32, healthy: bool, local: bool, mac: Option<u8>) -> BackendView {
    BackendView {
        id,
        healthy,
        local,
        mac: mac.map(|m| [2, 0, 0, 0, 0, m]),
    }
}

fn observed(is_leader: bool, backends: &[(u8, BackendView)]) -> Observed {
    Observed {
        is_leader,
        announce_deadline_ns: 1_000,
        backends: backends.iter().map(|(last, v)| (ip(*last), *v)).collect(),
    }
}

fn ring_members(d: &DesiredState) -> BTreeSet<u32> {
    d.services
        .values()
        .next()
        .unwrap()
        .iter()
        .copied()
        .collect()
}

#[test]
fn leader_announces_and_follower_does_not() {
    let backends = [(1, view(0, true, true, None))];
    let leader = desired_state(&config(), &observed(true, &backends)).unwrap();
    let follower = desired_state(&config(), &observed(false, &backends)).unwrap();
    assert_eq!(leader.settings.announcing, ANNOUNCE_ON);
    assert_eq!(follower.settings.announcing, 0);
    // Forwarding is identical: only answering ARP/NDP depends on leadership.
    assert_eq!(leader.services, follower.services);
    assert_eq!(leader.settings.announce_deadline_ns, 1_000);
}

#[test]
fn one_service_per_vip_and_port_with_the_same_ring() {
    let d = desired_state(
        &config(),
        &observed(true, &[(1, view(0, true, true, None))]),
    )
    .unwrap();
    assert_eq!(d.services.len(), 2);
    assert!(d.services.keys().all(|k| k.proto == PROTO_TCP));
    assert_eq!(d.vips.len(), 1);
}

#[test]
fn unhealthy_and_unresolved_backends_leave_the_ring_but_keep_their_slot() {
    let d = desired_state(
        &config(),
        &observed(
            true,
            &[
                (1, view(0, true, true, None)),
                (2, view(1, false, false, Some(2))),
                (3, view(2, true, false, None)),
            ],
        ),
    )
    .unwrap();
    assert_eq!(ring_members(&d), BTreeSet::from([0]));
    assert_eq!(d.backends[&0].flags, BACKEND_ACTIVE | BACKEND_LOCAL);
    assert_eq!(d.backends[&0].mac, MAC);
    assert_eq!(d.backends[&1].flags, 0);
    assert_eq!(d.backends[&2].flags, 0);
    assert_eq!(d.peer_macs, BTreeSet::from([[2, 0, 0, 0, 0, 2]]));
}

#[test]
fn no_healthy_backend_means_an_empty_ring() {
    let d = desired_state(
        &config(),
        &observed(true, &[(1, view(0, false, true, None))]),
    )
    .unwrap();
    assert_eq!(ring_members(&d), BTreeSet::from([NO_BACKEND]));
}

#[test]
fn every_node_builds_the_same_ring() {
    // Node A sees backend 1 as local, node B sees it as remote: the rings still agree.
    let a = [
        (1, view(0, true, true, None)),
        (2, view(1, true, false, Some(2))),
        (3, view(2, true, false, Some(3))),
    ];
    let b = [
        (1, view(0, true, false, Some(1))),
        (2, view(1, true, true, None)),
        (3, view(2, true, false, Some(3))),
    ];
    let da = desired_state(&config(), &observed(true, &a)).unwrap();
    let db = desired_state(&config(), &observed(false, &b)).unwrap();
    assert_eq!(da.services, db.services);
    assert_eq!(ring_members(&da), BTreeSet::from([0, 1, 2]));
}

#[test]
fn backend_ids_are_stable_and_reused() {
    let mut ids = BackendIds::default();
    let first = ids.assign(&BTreeSet::from([ip(1), ip(2), ip(3)]));
    assert_eq!(first.values().copied().collect::<Vec<_>>(), vec![0, 1, 2]);
    let second = ids.assign(&BTreeSet::from([ip(1), ip(3)]));
    assert_eq!((second[&ip(1)], second[&ip(3)]), (0, 2));
    let third = ids.assign(&BTreeSet::from([ip(1), ip(3), ip(4)]));
    assert_eq!(third[&ip(4)], 1);
}

#[test]
fn vips_stay_on_lo_unless_only_other_api_servers_are_healthy() {
    let wanted = |backends: &[(u8, BackendView)]| loopback_vips_wanted(&observed(false, backends));
    // Bootstrap: nothing healthy yet.
    assert!(wanted(&[(1, view(0, false, true, None))]));
    assert!(wanted(&[]));
    // Our API server is healthy.
    assert!(wanted(&[
        (1, view(0, true, true, None)),
        (2, view(1, true, false, Some(2)))
    ]));
    // Joining node: the cluster is healthy, ours is not (yet).
    assert!(!wanted(&[
        (1, view(0, false, true, None)),
        (2, view(1, true, false, Some(2)))
    ]));
    // A healthy peer we cannot reach does not count.
    assert!(wanted(&[
        (1, view(0, false, true, None)),
        (2, view(1, true, false, None))
    ]));
}

#[test]
fn leader_keeps_vip_on_lo_while_local_api_unready() {
    // The leader answers ARP for the VIP: it must also accept VIP traffic itself (the
    // XDP program passes flows for the local backend up the stack, and the node's own
    // clients reach the cluster through the VIP), whatever its own API server's health.
    let joining_node_view = [
        (1, view(0, false, true, None)),
        (2, view(1, true, false, Some(2))),
    ];
    assert!(loopback_vips_wanted(&observed(true, &joining_node_view)));
    // A follower in the same situation still leaves lo to the cluster.
    assert!(!loopback_vips_wanted(&observed(false, &joining_node_view)));
}
