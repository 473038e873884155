//! The election task: heartbeats out every interval, datagrams in, one decision after
//! each, leadership published on the same `watch<bool>` the reconcile loop reads.
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant, SystemTime};

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::auth::{random_u64, PeerKey};
use super::decision::{decide, liveness, Decision, Liveness, Own, PeerState, Role};
use super::membership::Membership;
use super::metrics::PeerMetrics;
use super::receive::{admit_datagram, canonical};
use super::replay::ReplayState;
use super::status::{PeerReport, PeerView};
use super::wire::{encode_unsigned, Body, Claim, Echo, Header, MAX_DATAGRAM};
use super::PeerSettings;

/// Copies of the resignation sent on SIGTERM, a few ms apart, against a lost datagram.
const RESIGN_COPIES: usize = 3;
const RESIGN_SPACING: Duration = Duration::from_millis(5);

/// Per-peer bookkeeping beyond what the decision needs.
#[derive(Clone, Copy, Debug, Default)]
struct Link {
    /// The peer's monotonic send time in its last heartbeat, and when we got it.
    last_echo: Option<(u64, Instant)>,
    rtt: Option<Duration>,
    /// Start of the last TCP connect to the peer's API server that succeeded.
    api_answered: Option<Instant>,
    probing: bool,
}

pub struct PeerElector {
    socket: UdpSocket,
    key: PeerKey,
    settings: PeerSettings,
    membership: Membership,
    own: Own,
    peers: BTreeMap<IpAddr, PeerState>,
    links: BTreeMap<IpAddr, Link>,
    replay: BTreeMap<IpAddr, ReplayState>,
    boot_id: u64,
    seq: u64,
    clock_origin: Instant,
    metrics: PeerMetrics,
    leader: watch::Sender<bool>,
    ring_down: watch::Sender<BTreeSet<IpAddr>>,
    view: watch::Sender<PeerView>,
    last: Option<Decision>,
}

/// What the rest of the agent reads from the election.
pub struct PeerOutputs {
    pub leader: watch::Receiver<bool>,
    /// Peers declared dead whose API server did not answer since: out of the ring.
    pub ring_down: watch::Receiver<BTreeSet<IpAddr>>,
    pub view: watch::Receiver<PeerView>,
}

impl PeerElector {
    pub async fn bind(
        settings: PeerSettings,
        key: PeerKey,
        membership: Membership,
        metrics: PeerMetrics,
    ) -> std::io::Result<(Self, PeerOutputs)> {
        let own = membership.own();
        let socket = UdpSocket::bind(SocketAddr::new(own, settings.port)).await?;
        let (leader, leader_rx) = watch::channel(false);
        let (ring_down, ring_down_rx) = watch::channel(BTreeSet::new());
        let (view, view_rx) = watch::channel(PeerView::default());
        let now = Instant::now();
        let elector = Self {
            socket,
            key,
            settings,
            membership,
            own: Own::new(own, now),
            peers: BTreeMap::new(),
            links: BTreeMap::new(),
            replay: BTreeMap::new(),
            boot_id: random_u64(),
            seq: 0,
            clock_origin: now,
            metrics,
            leader,
            ring_down,
            view,
            last: None,
        };
        let outputs = PeerOutputs {
            leader: leader_rx,
            ring_down: ring_down_rx,
            view: view_rx,
        };
        Ok((elector, outputs))
    }

    pub async fn run(
        mut self,
        mut backends: watch::Receiver<Vec<IpAddr>>,
        shutdown: CancellationToken,
    ) {
        info!(
            address = %self.own.address, port = self.settings.port,
            interval = ?self.settings.interval, dead_after = ?self.settings.dead_after(),
            key = ?self.key, "peer election started"
        );
        self.membership
            .set_configured(&backends.borrow_and_update());
        let mut tick = tokio::time::interval(self.settings.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let (probe_tx, mut probe_rx) = mpsc::channel(64);
        let mut buffer = vec![0u8; MAX_DATAGRAM];
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                received = self.socket.recv_from(&mut buffer) => match received {
                    Ok((len, from)) => {
                        let datagram = buffer[..len].to_vec();
                        self.on_datagram(&datagram, canonical(from.ip()));
                        self.evaluate();
                    }
                    Err(error) => debug!(%error, "receiving on the peer socket"),
                },
                Some((peer, started, answered)) = probe_rx.recv() => {
                    let link = self.links.entry(peer).or_default();
                    link.probing = false;
                    if answered {
                        link.api_answered = Some(started);
                    }
                    self.evaluate();
                }
                () = tokio::time::sleep_until(self.next_death().into()) => self.evaluate(),
                changed = backends.changed() => match changed {
                    Ok(()) => {
                        let list = backends.borrow_and_update().clone();
                        self.membership.set_configured(&list);
                        self.evaluate();
                    }
                    Err(_) => break,
                },
                _ = tick.tick() => {
                    self.evaluate();
                    self.send_all(false).await;
                    self.probe_silent_peers(&probe_tx);
                }
            }
        }
        self.leader.send_replace(false);
        self.send_all(true).await;
        info!("peer election stopped; resignation sent");
    }

    fn on_datagram(&mut self, datagram: &[u8], source: IpAddr) {
        let now_ms = unix_ms();
        let admitted = match admit_datagram(datagram, source, &self.key, &mut self.replay, now_ms) {
            Ok(admitted) => admitted,
            Err(reason) => {
                self.metrics.reject(reason);
                debug!(%source, reason = reason.label(), "peer datagram ignored");
                return;
            }
        };
        let now = Instant::now();
        let now_mono = self.mono_ns();
        let claim = *admitted.body.claim();
        if self.membership.learn(claim.sender) {
            self.metrics
                .peers_configured
                .set(self.membership.members().len() as i64);
        }
        let state = self.peers.entry(claim.sender).or_default();
        state.term = claim.term;
        state.leader = claim.leader;
        match admitted.body {
            Body::Resign { .. } => {
                info!(peer = %claim.sender, "peer resigned");
                state.resigned = true;
            }
            Body::Heartbeat { echo, .. } => {
                self.metrics.heartbeats_received_total.inc();
                state.resigned = false;
                state.last_heard = Some(now);
                let link = self.links.entry(claim.sender).or_default();
                link.last_echo = Some((echo.sent_mono_ns, now));
                if echo.echoed_mono_ns != 0 {
                    let rtt = now_mono
                        .saturating_sub(echo.echoed_mono_ns)
                        .saturating_sub(echo.held_ns);
                    let rtt = Duration::from_nanos(rtt);
                    link.rtt = Some(rtt);
                    self.metrics
                        .heartbeat_rtt_seconds
                        .observe(rtt.as_secs_f64());
                }
            }
        }
    }

    fn evaluate(&mut self) {
        let now = Instant::now();
        let members = self.membership.members();
        let dead_after = self.settings.dead_after();
        let decision = decide(&self.own, &members, &self.peers, now, dead_after);
        if let Some(cause) = decision.change {
            self.metrics.leader_changed(cause.label());
            info!(
                leader = ?decision.leader, term = decision.term, cause = cause.label(),
                alive = decision.alive, members = decision.members, "leader changed"
            );
        }
        let was_leading = self.last.is_some_and(|d| d.announces());
        if was_leading && decision.role == Role::LeadingWithoutMajority {
            self.metrics.majority_lost_total.inc();
            warn!(
                alive = decision.alive,
                members = decision.members,
                "lost the majority of peers: no longer announcing"
            );
        }
        self.own = self.own.after(&decision);
        let announces = decision.announces();
        self.leader
            .send_if_modified(|current| std::mem::replace(current, announces) != announces);
        let down: BTreeSet<IpAddr> = members
            .iter()
            .copied()
            .filter(|&peer| self.out_of_ring(peer, now))
            .collect();
        self.ring_down.send_if_modified(|current| {
            let changed = *current != down;
            if changed {
                info!(peers = ?down, "peers out of the Maglev ring (dead, API server silent)");
                *current = down;
            }
            changed
        });
        self.metrics.term.set(decision.term as i64);
        self.metrics.peers_alive.set(decision.alive as i64 - 1);
        self.metrics.peers_configured.set(members.len() as i64);
        self.publish_view(&decision, &members, now);
        self.last = Some(decision);
    }

    /// When the next live peer is declared dead if nothing arrives: the decision runs
    /// then, not on the next tick.
    fn next_death(&self) -> Instant {
        let dead_after = self.settings.dead_after();
        let grace = Duration::from_millis(1);
        self.peers
            .values()
            .filter(|state| !state.resigned)
            .filter_map(|state| state.last_heard)
            .map(|heard| heard + dead_after + grace)
            .filter(|&death| death > Instant::now())
            .min()
            .unwrap_or_else(|| Instant::now() + self.settings.interval)
    }

    /// A dead peer leaves the ring at once unless a connect to its API server that began
    /// after its last heartbeat succeeded (then only its agent died, and the health
    /// checks decide).
    fn out_of_ring(&self, peer: IpAddr, now: Instant) -> bool {
        let dead_after = self.settings.dead_after();
        if liveness(&self.own, &self.peers, peer, now, dead_after) != Liveness::Dead {
            return false;
        }
        let heard = self.peers.get(&peer).and_then(|s| s.last_heard);
        let answered = self.links.get(&peer).and_then(|l| l.api_answered);
        match (answered, heard) {
            (Some(answered), Some(heard)) => answered < heard,
            (Some(_), None) => false,
            (None, _) => true,
        }
    }

    /// A TCP connect to the API server of every peer silent for over one interval, so
    /// the answer is known by the time the peer is declared dead.
    fn probe_silent_peers(&mut self, results: &mpsc::Sender<(IpAddr, Instant, bool)>) {
        let now = Instant::now();
        for peer in self.membership.peers() {
            let heard = self.peers.get(&peer).and_then(|s| s.last_heard);
            let silent = heard.is_none_or(|h| now - h > self.settings.interval);
            let link = self.links.entry(peer).or_default();
            if !silent || link.probing {
                continue;
            }
            link.probing = true;
            let target = SocketAddr::new(peer, self.settings.backend_port);
            let timeout = self.settings.dead_after();
            let results = results.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let connect = tokio::net::TcpStream::connect(target);
                let answered = matches!(tokio::time::timeout(timeout, connect).await, Ok(Ok(_)));
                let _ = results.send((peer, started, answered)).await;
            });
        }
    }

    async fn send_all(&mut self, resign: bool) {
        let copies = if resign { RESIGN_COPIES } else { 1 };
        for copy in 0..copies {
            if copy > 0 {
                tokio::time::sleep(RESIGN_SPACING).await;
            }
            for peer in self.membership.peers() {
                let datagram = self.datagram(peer, resign);
                let target = SocketAddr::new(peer, self.settings.port);
                match self.socket.send_to(&datagram, target).await {
                    Ok(_) if !resign => self.metrics.heartbeats_sent_total.inc(),
                    Ok(_) => {}
                    Err(error) => debug!(%peer, %error, "sending to a peer failed"),
                }
            }
        }
    }

    fn datagram(&mut self, peer: IpAddr, resign: bool) -> Vec<u8> {
        self.seq += 1;
        let header = Header {
            cluster_id: self.key.cluster_id,
            boot_id: self.boot_id,
            seq: self.seq,
            sent_unix_ms: unix_ms(),
        };
        let claim = Claim {
            sender: self.own.address,
            term: self.own.term,
            leader: if resign { None } else { self.own.leader },
        };
        let body = match resign {
            true => Body::Resign { claim },
            false => {
                let (echoed_mono_ns, held_ns) = self
                    .links
                    .get(&peer)
                    .and_then(|l| l.last_echo)
                    .map_or((0, 0), |(sent, at)| (sent, at.elapsed().as_nanos() as u64));
                let echo = Echo {
                    sent_mono_ns: self.mono_ns(),
                    echoed_mono_ns,
                    held_ns,
                };
                Body::Heartbeat { claim, echo }
            }
        };
        let mut datagram = encode_unsigned(&header, &body);
        let tag = self.key.tag(&datagram);
        datagram.extend_from_slice(&tag);
        datagram
    }

    /// Nanoseconds since this elector started, never 0 (0 means "nothing to echo").
    fn mono_ns(&self) -> u64 {
        self.clock_origin.elapsed().as_nanos() as u64 + 1
    }

    fn publish_view(&self, decision: &Decision, members: &BTreeSet<IpAddr>, now: Instant) {
        let dead_after = self.settings.dead_after();
        let peers = members
            .iter()
            .filter(|&&m| m != self.own.address)
            .map(|&address| {
                let state = self.peers.get(&address).copied().unwrap_or_default();
                let link = self.links.get(&address).copied().unwrap_or_default();
                PeerReport {
                    address,
                    state: liveness(&self.own, &self.peers, address, now, dead_after).into(),
                    last_heard_ms_ago: state.last_heard.map(|h| (now - h).as_millis() as u64),
                    rtt_us: link.rtt.map(|r| r.as_micros() as u64),
                    term: state.term,
                    leader: state.leader,
                    in_ring: !self.out_of_ring(address, now),
                }
            })
            .collect();
        self.view.send_replace(PeerView {
            address: Some(self.own.address),
            term: decision.term,
            leader: decision.leader,
            role: decision.role.into(),
            alive: decision.alive,
            members: decision.members,
            peers,
        });
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
