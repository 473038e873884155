//! The reconcile loop: every change of leadership, health or backend location (and a
//! steady tick that refreshes the announce deadline) recomputes the desired map contents
//! and writes what differs.
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};
use vip_common::{Backend, BACKEND_ACTIVE, BACKEND_LOCAL};

use super::{
    backends::{Location, Locations},
    clock::monotonic_ns,
    takeover,
};
use crate::{
    announce::{detect_conflict, AnnounceStats, MacAddr},
    dataplane::{layouts::PinnedDataplane, Dataplane},
    health::{BackendHealth, HealthMap},
    host::HostSetup,
    http::{AgentStatus, Metrics},
    reconcile::{
        desired_state, loopback_vips_wanted, BackendIds, BackendView, NodeConfig, Observed,
    },
};

const TICK: Duration = Duration::from_millis(250);
/// How long the XDP program keeps answering ARP/NDP without a refresh: a wedged agent
/// gives the VIP up by itself after this.
pub const ANNOUNCE_LEASE: Duration = Duration::from_secs(2);
/// How often the deadline keeper extends the lease while this node leads.
pub const DEADLINE_REFRESH: Duration = Duration::from_millis(250);

pub struct Inputs {
    pub leader: watch::Receiver<bool>,
    pub backends: watch::Receiver<Vec<IpAddr>>,
    pub health: watch::Receiver<HealthMap>,
    pub locations: watch::Receiver<Locations>,
    /// Peers the peer election declared dead (and whose API server did not answer):
    /// out of the ring at once, without waiting for the health checks.
    pub ring_down: watch::Receiver<BTreeSet<IpAddr>>,
}

pub struct ControlLoop {
    pub dataplane: Dataplane,
    pub node: NodeConfig,
    pub metrics: Metrics,
    pub status: Arc<AgentStatus>,
    pub announce_stats: Arc<AnnounceStats>,
    /// Health thresholds, to tell when the checker's view of a backend is settled.
    pub rise: u32,
    pub fall: u32,
    /// Another pin layout's link forwards on the interface until this agent's maps
    /// hold its settled view (see [`takeover`]).
    pub pending_takeover: Option<PinnedDataplane>,
}

impl ControlLoop {
    /// Runs until `shutdown`; returns the data plane so the caller decides how to leave it.
    pub async fn run(
        mut self,
        mut inputs: Inputs,
        host: &mut HostSetup,
        shutdown: CancellationToken,
    ) -> Dataplane {
        // An adopted data plane keeps serving with its previous view of each backend until
        // this agent has settled its own: no empty ring while the first probes run.
        let adopted_at_start = self.dataplane.adopted_backends();
        let mut adopted = adopted_at_start.clone();
        let mut id_allocator =
            BackendIds::seeded(adopted.iter().map(|(ip, (id, _))| (*ip, *id)).collect());
        let mut ids = BTreeMap::new();
        let mut tick = tokio::time::interval(TICK);
        let mut was_leader = false;
        let mut reported = Reported::default();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = inputs.leader.changed() => {}
                _ = inputs.health.changed() => {}
                _ = inputs.locations.changed() => {}
                _ = inputs.backends.changed() => {}
                Ok(()) = inputs.ring_down.changed() => {}
                _ = tick.tick() => {
                    self.report_conflicts();
                    self.export_counters(&ids, &inputs.health.borrow(), &mut reported);
                }
            }
            let started = Instant::now();
            let listed: BTreeSet<IpAddr> = inputs.backends.borrow().iter().copied().collect();
            if listed.len() != ids.len() || !listed.iter().all(|ip| ids.contains_key(ip)) {
                for gone in ids.keys().filter(|ip| !listed.contains(ip)) {
                    self.metrics.remove_backend(*gone);
                }
                ids = id_allocator.assign(&listed);
                info!(backends = ?ids, "backend set changed");
            }
            let is_leader = *inputs.leader.borrow();
            let observed = Observed {
                is_leader,
                announce_deadline_ns: monotonic_ns() + ANNOUNCE_LEASE.as_nanos() as u64,
                backends: self.backend_views(
                    &ids,
                    &inputs.health.borrow(),
                    &inputs.locations.borrow(),
                    &inputs.ring_down.borrow(),
                    &mut adopted,
                    &adopted_at_start,
                ),
            };
            // While another layout's program still forwards, its flows count on the VIPs
            // being on lo; this agent's own view of its API server is not settled yet.
            let vips_on_lo = loopback_vips_wanted(&observed) || self.pending_takeover.is_some();
            place_loopback_vips(host, vips_on_lo).await;
            match desired_state(&self.node, &observed) {
                Ok(desired) => {
                    let rings_changed = self.dataplane.applied_rings() != Some(&desired.services);
                    match self.dataplane.apply(&desired) {
                        Ok(()) => {
                            if rings_changed {
                                self.metrics.maglev_rebuilds_total.inc();
                            }
                            self.status.mark_reconciled();
                            let settled = takeover::view_settled(
                                &listed,
                                &inputs.health.borrow(),
                                self.rise,
                                self.fall,
                            );
                            takeover::complete_when_settled(
                                &mut self.dataplane,
                                &mut self.pending_takeover,
                                settled,
                            );
                        }
                        Err(e) => error!(error = %e, "writing the XDP maps failed"),
                    }
                }
                Err(e) => error!(error = %e, "computing the desired state failed"),
            }
            if is_leader != was_leader {
                self.metrics.is_leader.set(i64::from(is_leader));
                self.metrics.leader_transitions_total.inc();
                if is_leader {
                    self.metrics
                        .last_failover_seconds
                        .set(started.elapsed().as_secs_f64());
                }
                info!(is_leader, programmed_in = ?started.elapsed(), "leadership changed");
                was_leader = is_leader;
            }
            self.metrics.reconcile_total.inc();
            self.status.heartbeat();
        }
        // Stop answering ARP/NDP now rather than when the deadline lapses: the elector
        // is releasing the lease and a peer is about to announce.
        if let Err(e) = self.dataplane.stop_announcing() {
            error!(error = %e, "clearing the announce flag failed");
        }
        self.dataplane
    }

    fn backend_views(
        &self,
        ids: &BTreeMap<IpAddr, u32>,
        health: &HealthMap,
        locations: &Locations,
        ring_down: &BTreeSet<IpAddr>,
        adopted: &mut BTreeMap<IpAddr, (u32, Backend)>,
        adopted_at_start: &BTreeMap<IpAddr, (u32, Backend)>,
    ) -> BTreeMap<IpAddr, BackendView> {
        let settled = |h: &BackendHealth| {
            h.consecutive_successes >= self.rise || h.consecutive_failures >= self.fall
        };
        adopted.retain(|ip, _| !health.get(ip).is_some_and(settled));
        ids.iter()
            .map(|(&ip, &id)| {
                let inherited = adopted.get(&ip).map(|(_, b)| *b);
                let healthy = !ring_down.contains(&ip)
                    && match inherited {
                        Some(b) => b.flags & BACKEND_ACTIVE != 0,
                        None => health.get(&ip).is_some_and(|h| h.is_healthy()),
                    };
                let location = locations.get(&ip).copied().or_else(|| {
                    adopted_at_start.get(&ip).map(|(_, b)| {
                        let local = b.flags & BACKEND_LOCAL != 0;
                        Location {
                            local,
                            mac: (!local).then_some(b.mac),
                        }
                    })
                });
                let location = location.unwrap_or_default();
                let view = BackendView {
                    id,
                    mac: location.mac,
                    local: location.local,
                    healthy,
                };
                (ip, view)
            })
            .collect()
    }

    /// Runs every frame the XDP program flagged as a claim on a VIP through the conflict
    /// detector, which validates it and names the VIP and the claiming MAC.
    fn report_conflicts(&mut self) {
        for frame in self.dataplane.take_conflict_frames() {
            if let Some(conflict) = detect_conflict(&frame, MacAddr(self.node.mac), &self.node.vips)
            {
                warn!(
                    vip = %conflict.vip,
                    claimed_by = %conflict.claimed_by,
                    kind = ?conflict.kind,
                    "another host claims a VIP this node announces"
                );
                self.metrics.arp_conflicts_total.inc();
            }
        }
    }

    fn export_counters(
        &self,
        ids: &BTreeMap<IpAddr, u32>,
        health: &HealthMap,
        reported: &mut Reported,
    ) {
        if let Ok(totals) = self.dataplane.reason_totals() {
            for (reason, counter) in totals {
                self.metrics
                    .set_xdp_verdict_total(reason.label(), counter.packets);
            }
        }
        if let Ok(guard) = self.dataplane.flow_guard_totals() {
            self.metrics.set_flow_pins(&guard);
        }
        for (&ip, &id) in ids {
            if let Ok(c) = self.dataplane.backend_total(id) {
                self.metrics.set_backend_traffic(ip, c.packets, c.bytes);
            }
            self.metrics
                .set_backend_healthy(ip, health.get(&ip).is_some_and(|h| h.is_healthy()));
        }
        let sent = self.announce_stats.frames_sent();
        self.metrics
            .garp_sent_total
            .inc_by(sent.saturating_sub(reported.garp));
        reported.garp = sent;
    }
}

/// Totals already exported, so counters advance by the difference.
#[derive(Default)]
struct Reported {
    garp: u64,
}

async fn place_loopback_vips(host: &mut HostSetup, wanted: bool) {
    if wanted == host.loopback_vips_present() {
        return;
    }
    let result = match wanted {
        true => host.restore_loopback_vips().await,
        false => host.withdraw_loopback_vips().await,
    };
    if let Err(e) = result {
        error!(error = %e, wanted, "moving the VIPs on lo failed; retrying on the next tick");
    }
}
