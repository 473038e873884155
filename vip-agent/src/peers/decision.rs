//! The election rule, as one pure function of what this node knows.
//!
//! - Rank: lower node address ranks first (every node orders the same set the same way).
//! - A claim is (term, leader) as a node last announced it. Of the claims this node holds
//!   (its own and those of the peers it hears), the one with the highest term wins, then
//!   the better-ranked leader; a claim naming a leader that is dead or resigned is void.
//! - Sticky: while the winning claim's leader lives, nobody else takes over, and a node
//!   that returns follows it (no preemption).
//! - With no valid claim, the best-ranked live node claims the next term; the others
//!   wait for its claim.
//! - A node announces only while it leads and sees a strict majority of the members,
//!   itself included. N = 1 therefore leads at once; N = 2 needs both nodes.
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// What this node last heard from one peer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeerState {
    /// Last valid heartbeat; `None`: never heard since this node started.
    pub last_heard: Option<Instant>,
    /// The peer sent a resignation and nothing since.
    pub resigned: bool,
    pub term: u64,
    pub leader: Option<IpAddr>,
}

/// This node's side of the election.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Own {
    pub address: IpAddr,
    pub started: Instant,
    pub term: u64,
    /// The claim this node announces; `None` while undecided.
    pub leader: Option<IpAddr>,
    /// The last leader this node followed, kept while undecided, to name the cause of
    /// the next change.
    pub last_leader: Option<IpAddr>,
}

impl Own {
    pub fn new(address: IpAddr, started: Instant) -> Self {
        Self {
            address,
            started,
            term: 0,
            leader: None,
            last_leader: None,
        }
    }

    /// This node's state after `decision`.
    pub fn after(&self, decision: &Decision) -> Self {
        Self {
            term: decision.term,
            leader: decision.leader,
            last_leader: decision.leader.or(self.last_leader),
            ..*self
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Liveness {
    Alive,
    /// Silent for longer than the dead interval.
    Dead,
    Resigned,
    /// Not heard yet, and this node started less than one dead interval ago.
    Unknown,
}

/// Why the leader this node follows changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cause {
    /// No leader was known before.
    Bootstrap,
    /// The previous leader went silent.
    Crash,
    /// The previous leader resigned.
    Resign,
    /// A claim with a higher term (or better rank) replaced a live leader: the two sides
    /// of a partition met again.
    Partition,
}

impl Cause {
    pub fn label(self) -> &'static str {
        match self {
            Self::Bootstrap => "bootstrap",
            Self::Crash => "crash",
            Self::Resign => "resign",
            Self::Partition => "partition",
        }
    }
}

/// What this node does now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Leading,
    Following,
    /// Leading by claim but without a majority: not announcing.
    LeadingWithoutMajority,
    /// No valid claim, and this node started less than one dead interval ago: it listens
    /// for a leader before it claims, so a returning node never preempts one.
    Starting,
    /// No valid claim; this node lacks a majority to elect anyone.
    NoMajority,
    /// No valid claim; waiting for this better-ranked live node to claim.
    AwaitingClaim(IpAddr),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub term: u64,
    pub leader: Option<IpAddr>,
    pub role: Role,
    /// Members alive, this node included.
    pub alive: usize,
    pub members: usize,
    /// Set when `leader` changed to a new node.
    pub change: Option<Cause>,
}

impl Decision {
    pub fn announces(&self) -> bool {
        self.role == Role::Leading
    }
}

pub fn liveness(
    own: &Own,
    peers: &BTreeMap<IpAddr, PeerState>,
    node: IpAddr,
    now: Instant,
    dead_after: Duration,
) -> Liveness {
    if node == own.address {
        return Liveness::Alive;
    }
    let state = peers.get(&node).copied().unwrap_or_default();
    if state.resigned {
        return Liveness::Resigned;
    }
    match state.last_heard {
        Some(heard) if now.saturating_duration_since(heard) <= dead_after => Liveness::Alive,
        Some(_) => Liveness::Dead,
        None if now.saturating_duration_since(own.started) <= dead_after => Liveness::Unknown,
        None => Liveness::Dead,
    }
}

/// `members` must contain `own.address`.
pub fn decide(
    own: &Own,
    members: &BTreeSet<IpAddr>,
    peers: &BTreeMap<IpAddr, PeerState>,
    now: Instant,
    dead_after: Duration,
) -> Decision {
    let live = |node| liveness(own, peers, node, now, dead_after);
    let alive = members
        .iter()
        .filter(|&&m| live(m) == Liveness::Alive)
        .count();
    let majority = alive * 2 > members.len();
    let heard = peers
        .iter()
        .filter(|(&node, _)| node != own.address && live(node) == Liveness::Alive)
        .map(|(_, state)| (state.term, state.leader));
    let claims = std::iter::once((own.term, own.leader)).chain(heard);
    let highest_term = claims.clone().map(|(term, _)| term).max().unwrap_or(0);
    // Highest term first; within a term the lower address (better rank).
    let winner = claims
        .filter_map(|(term, leader)| Some((term, leader?)))
        .filter(|&(_, leader)| matches!(live(leader), Liveness::Alive | Liveness::Unknown))
        .max_by_key(|&(term, leader)| (term, std::cmp::Reverse(leader)));
    let (term, leader, role) = match winner {
        Some((term, leader)) if leader == own.address => {
            let role = match majority {
                true => Role::Leading,
                false => Role::LeadingWithoutMajority,
            };
            (term, Some(leader), role)
        }
        Some((term, leader)) => (term, Some(leader), Role::Following),
        None if !majority => (highest_term, None, Role::NoMajority),
        None if now.saturating_duration_since(own.started) <= dead_after => {
            (highest_term, None, Role::Starting)
        }
        None => {
            let candidate = members
                .iter()
                .copied()
                .find(|&m| live(m) == Liveness::Alive)
                .expect("a majority has a live member");
            match candidate == own.address {
                true => (highest_term + 1, Some(own.address), Role::Leading),
                false => (highest_term, None, Role::AwaitingClaim(candidate)),
            }
        }
    };
    let change = match (own.last_leader, leader) {
        (_, None) => None,
        (previous, Some(new)) if previous == Some(new) => None,
        (None, Some(_)) => Some(Cause::Bootstrap),
        (Some(previous), Some(_)) => Some(match live(previous) {
            Liveness::Resigned => Cause::Resign,
            Liveness::Dead => Cause::Crash,
            Liveness::Alive | Liveness::Unknown => Cause::Partition,
        }),
    };
    Decision {
        term,
        leader,
        role,
        alive,
        members: members.len(),
        change,
    }
}
