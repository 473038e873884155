//! The election rule as a table: every expected value written by hand.
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use crate::peers::decision::{decide, Cause, Own, PeerState, Role};

const DEAD_AFTER: Duration = Duration::from_millis(150);

fn node(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, n))
}

#[derive(Clone, Copy)]
enum Heard {
    /// Last heartbeat this many ms before now.
    MsAgo(u64),
    Never,
    Resigned,
}

/// (peer, how it was heard, its claimed term, its claimed leader)
type Peer = (u8, Heard, u64, Option<u8>);

struct Case {
    name: &'static str,
    members: &'static [u8],
    own: u8,
    /// This node's term, claim and last followed leader before the decision.
    own_term: u64,
    own_leader: Option<u8>,
    last_leader: Option<u8>,
    started_ms_ago: u64,
    peers: &'static [Peer],
    role: Role,
    term: u64,
    leader: Option<u8>,
    change: Option<Cause>,
}

const ALIVE: Heard = Heard::MsAgo(20);
const DEAD: Heard = Heard::MsAgo(400);
const LONG_AGO: u64 = 10_000;

fn run(case: &Case) {
    let now = Instant::now() + Duration::from_secs(60);
    let own = Own {
        address: node(case.own),
        started: now - Duration::from_millis(case.started_ms_ago),
        term: case.own_term,
        leader: case.own_leader.map(node),
        last_leader: case.last_leader.map(node),
    };
    let members: BTreeSet<IpAddr> = case.members.iter().map(|&n| node(n)).collect();
    let peers: BTreeMap<IpAddr, PeerState> = case
        .peers
        .iter()
        .map(|&(n, heard, term, leader)| {
            let (last_heard, resigned) = match heard {
                Heard::MsAgo(ms) => (Some(now - Duration::from_millis(ms)), false),
                Heard::Never => (None, false),
                Heard::Resigned => (Some(now - Duration::from_millis(10)), true),
            };
            let state = PeerState {
                last_heard,
                resigned,
                term,
                leader: leader.map(node),
            };
            (node(n), state)
        })
        .collect();
    let decision = decide(&own, &members, &peers, now, DEAD_AFTER);
    assert_eq!(decision.role, case.role, "{}: role", case.name);
    assert_eq!(decision.term, case.term, "{}: term", case.name);
    assert_eq!(
        decision.leader,
        case.leader.map(node),
        "{}: leader",
        case.name
    );
    assert_eq!(decision.change, case.change, "{}: change", case.name);
    assert_eq!(
        decision.announces(),
        case.role == Role::Leading,
        "{}: announces",
        case.name
    );
}

const fn case(name: &'static str, members: &'static [u8], own: u8) -> Case {
    Case {
        name,
        members,
        own,
        own_term: 0,
        own_leader: None,
        last_leader: None,
        started_ms_ago: LONG_AGO,
        peers: &[],
        role: Role::Starting,
        term: 0,
        leader: None,
        change: None,
    }
}

#[test]
fn n1_a_single_node_leads_once_it_has_listened_for_one_dead_interval() {
    for c in [
        Case {
            started_ms_ago: 200,
            role: Role::Leading,
            term: 1,
            leader: Some(1),
            change: Some(Cause::Bootstrap),
            ..case("alone, started 200 ms ago", &[1], 1)
        },
        Case {
            started_ms_ago: 50,
            role: Role::Starting,
            ..case("alone, started 50 ms ago", &[1], 1)
        },
        Case {
            own_term: 1,
            own_leader: Some(1),
            last_leader: Some(1),
            role: Role::Leading,
            term: 1,
            leader: Some(1),
            ..case("alone, already leading", &[1], 1)
        },
    ] {
        run(&c);
    }
}

#[test]
fn n2_needs_both_nodes() {
    for c in [
        Case {
            peers: &[(2, ALIVE, 0, None)],
            role: Role::Leading,
            term: 1,
            leader: Some(1),
            change: Some(Cause::Bootstrap),
            ..case("both alive, first ranked claims", &[1, 2], 1)
        },
        Case {
            peers: &[(1, ALIVE, 0, None)],
            role: Role::AwaitingClaim(node(1)),
            ..case("both alive, second ranked waits", &[1, 2], 2)
        },
        Case {
            own_term: 3,
            own_leader: Some(1),
            last_leader: Some(1),
            peers: &[(1, DEAD, 3, Some(1))],
            role: Role::NoMajority,
            term: 3,
            ..case("leader dead: one of two is no majority", &[1, 2], 2)
        },
        Case {
            own_term: 2,
            own_leader: Some(1),
            last_leader: Some(1),
            peers: &[(2, ALIVE, 2, Some(1))],
            role: Role::Leading,
            term: 2,
            leader: Some(1),
            ..case("leader with its peer", &[1, 2], 1)
        },
        Case {
            own_term: 2,
            own_leader: Some(1),
            last_leader: Some(1),
            peers: &[(2, DEAD, 2, Some(1))],
            role: Role::LeadingWithoutMajority,
            term: 2,
            leader: Some(1),
            ..case("leader alone of two stops announcing", &[1, 2], 1)
        },
    ] {
        run(&c);
    }
}

#[test]
fn n3_takeover_is_by_rank_with_a_higher_term() {
    for c in [
        Case {
            own_term: 5,
            own_leader: Some(1),
            last_leader: Some(1),
            peers: &[(1, DEAD, 5, Some(1)), (3, ALIVE, 5, Some(1))],
            role: Role::Leading,
            term: 6,
            leader: Some(2),
            change: Some(Cause::Crash),
            ..case("leader crashed, next ranked takes over", &[1, 2, 3], 2)
        },
        Case {
            own_term: 5,
            own_leader: Some(1),
            last_leader: Some(1),
            peers: &[(1, DEAD, 5, Some(1)), (2, ALIVE, 5, Some(1))],
            role: Role::AwaitingClaim(node(2)),
            term: 5,
            ..case(
                "leader crashed, third ranked waits for the second",
                &[1, 2, 3],
                3,
            )
        },
        Case {
            own_term: 5,
            own_leader: None,
            last_leader: Some(1),
            peers: &[(1, DEAD, 5, Some(1)), (2, ALIVE, 6, Some(2))],
            role: Role::Following,
            term: 6,
            leader: Some(2),
            change: Some(Cause::Crash),
            ..case("the second's claim arrives", &[1, 2, 3], 3)
        },
        Case {
            own_term: 5,
            own_leader: Some(1),
            last_leader: Some(1),
            peers: &[(1, Heard::Resigned, 5, None), (3, ALIVE, 5, Some(1))],
            role: Role::Leading,
            term: 6,
            leader: Some(2),
            change: Some(Cause::Resign),
            ..case("leader resigned", &[1, 2, 3], 2)
        },
        Case {
            peers: &[(2, ALIVE, 7, Some(3)), (3, ALIVE, 7, Some(3))],
            role: Role::Following,
            term: 7,
            leader: Some(3),
            change: Some(Cause::Bootstrap),
            ..case("first ranked returns and does not preempt", &[1, 2, 3], 1)
        },
        Case {
            started_ms_ago: 50,
            peers: &[(2, ALIVE, 5, Some(1)), (1, Heard::Never, 0, None)],
            role: Role::Following,
            term: 5,
            leader: Some(1),
            change: Some(Cause::Bootstrap),
            ..case(
                "starting: a leader not heard yet is followed",
                &[1, 2, 3],
                3,
            )
        },
        Case {
            own_term: 4,
            own_leader: Some(2),
            last_leader: Some(2),
            peers: &[(1, ALIVE, 4, Some(1)), (3, ALIVE, 4, Some(2))],
            role: Role::Following,
            term: 4,
            leader: Some(1),
            change: Some(Cause::Partition),
            ..case("same term: the better rank wins", &[1, 2, 3], 2)
        },
        Case {
            own_term: 4,
            own_leader: Some(1),
            last_leader: Some(1),
            peers: &[(2, ALIVE, 4, Some(1)), (3, ALIVE, 5, Some(3))],
            role: Role::Following,
            term: 5,
            leader: Some(3),
            change: Some(Cause::Partition),
            ..case("a higher term beats a better rank", &[1, 2, 3], 1)
        },
        Case {
            own_term: 4,
            own_leader: Some(2),
            last_leader: Some(2),
            peers: &[(1, ALIVE, 9, Some(3)), (3, DEAD, 9, Some(3))],
            role: Role::Leading,
            term: 4,
            leader: Some(2),
            ..case("a claim naming a dead leader is void", &[1, 2, 3], 2)
        },
        Case {
            own_term: 4,
            own_leader: Some(1),
            last_leader: Some(1),
            peers: &[(2, DEAD, 4, Some(1)), (3, DEAD, 4, Some(1))],
            role: Role::LeadingWithoutMajority,
            term: 4,
            leader: Some(1),
            ..case("partitioned leader stops announcing", &[1, 2, 3], 1)
        },
        Case {
            own_term: 4,
            own_leader: Some(1),
            last_leader: Some(1),
            peers: &[(2, ALIVE, 5, Some(2)), (3, ALIVE, 5, Some(2))],
            role: Role::Following,
            term: 5,
            leader: Some(2),
            change: Some(Cause::Partition),
            ..case("partition heals: the old leader follows", &[1, 2, 3], 1)
        },
    ] {
        run(&c);
    }
}

#[test]
fn n5_majority_is_three() {
    let dead_1_2: &[Peer] = &[
        (1, DEAD, 8, Some(1)),
        (2, DEAD, 8, Some(1)),
        (3, ALIVE, 8, Some(1)),
        (4, ALIVE, 8, Some(1)),
        (5, ALIVE, 8, Some(1)),
    ];
    for c in [
        Case {
            own_term: 8,
            own_leader: Some(1),
            last_leader: Some(1),
            peers: dead_1_2,
            role: Role::AwaitingClaim(node(3)),
            term: 8,
            ..case(
                "three of five: the fourth waits for the third",
                &[1, 2, 3, 4, 5],
                4,
            )
        },
        Case {
            own_term: 8,
            own_leader: Some(1),
            last_leader: Some(1),
            peers: dead_1_2,
            role: Role::Leading,
            term: 9,
            leader: Some(3),
            change: Some(Cause::Crash),
            ..case("three of five: the third takes over", &[1, 2, 3, 4, 5], 3)
        },
        Case {
            own_term: 8,
            own_leader: Some(1),
            last_leader: Some(1),
            peers: &[
                (1, DEAD, 8, Some(1)),
                (2, DEAD, 8, Some(1)),
                (3, DEAD, 8, Some(1)),
                (5, ALIVE, 8, Some(1)),
            ],
            role: Role::NoMajority,
            term: 8,
            ..case("two of five elect nobody", &[1, 2, 3, 4, 5], 4)
        },
        Case {
            own_term: 8,
            own_leader: Some(1),
            last_leader: Some(1),
            peers: &[
                (2, ALIVE, 8, Some(1)),
                (3, ALIVE, 8, Some(1)),
                (4, DEAD, 8, Some(1)),
                (5, DEAD, 8, Some(1)),
            ],
            role: Role::Leading,
            term: 8,
            leader: Some(1),
            ..case("leader with three of five", &[1, 2, 3, 4, 5], 1)
        },
        Case {
            own_term: 8,
            own_leader: Some(1),
            last_leader: Some(1),
            peers: &[
                (2, ALIVE, 8, Some(1)),
                (3, DEAD, 8, Some(1)),
                (4, DEAD, 8, Some(1)),
                (5, DEAD, 8, Some(1)),
            ],
            role: Role::LeadingWithoutMajority,
            term: 8,
            leader: Some(1),
            ..case("leader with two of five", &[1, 2, 3, 4, 5], 1)
        },
    ] {
        run(&c);
    }
}
