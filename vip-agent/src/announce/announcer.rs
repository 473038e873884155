//! Announces every VIP on takeover (a short burst) and refreshes the announcements
//! periodically while this node stays leader.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::frames::announcement_frames;
use super::{FrameSink, MacAddr};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnnounceSchedule {
    /// Offsets from takeover at which every VIP is announced.
    pub burst: Vec<Duration>,
    /// Period of the announcements that follow the burst; `None` disables them.
    pub refresh_interval: Option<Duration>,
}

impl Default for AnnounceSchedule {
    fn default() -> Self {
        AnnounceSchedule {
            burst: [0, 50, 250, 1000].map(Duration::from_millis).to_vec(),
            refresh_interval: Some(Duration::from_secs(10)),
        }
    }
}

/// Counters shared with the metrics exporter.
#[derive(Debug, Default)]
pub struct AnnounceStats {
    frames_sent: AtomicU64,
    send_errors: AtomicU64,
}

impl AnnounceStats {
    /// Frames handed to the interface; exported as `garp_sent_total`.
    pub fn frames_sent(&self) -> u64 {
        self.frames_sent.load(Ordering::Relaxed)
    }

    pub fn send_errors(&self) -> u64 {
        self.send_errors.load(Ordering::Relaxed)
    }
}

enum TermEnd {
    LeadershipLost,
    Stopped,
}

pub struct Announcer<S> {
    sink: Arc<Mutex<S>>,
    frames: Arc<[Vec<u8>]>,
    schedule: AnnounceSchedule,
    stats: Arc<AnnounceStats>,
}

impl<S: FrameSink + 'static> Announcer<S> {
    pub fn new(
        sink: S,
        source_mac: MacAddr,
        vips: &[IpAddr],
        mut schedule: AnnounceSchedule,
    ) -> Self {
        schedule.burst.sort_unstable();
        let frames = vips
            .iter()
            .flat_map(|vip| announcement_frames(source_mac, *vip))
            .collect();
        Announcer {
            sink: Arc::new(Mutex::new(sink)),
            frames,
            schedule,
            stats: Arc::default(),
        }
    }

    pub fn stats(&self) -> Arc<AnnounceStats> {
        Arc::clone(&self.stats)
    }

    /// Announces whenever `leader` turns true, stops as soon as it turns false, and
    /// returns when `shutdown` is cancelled or the leadership sender is dropped.
    /// Repeated `true` notifications while leading do not restart the burst.
    pub async fn run(self, mut leader: watch::Receiver<bool>, shutdown: CancellationToken) {
        loop {
            let became_leader = tokio::select! {
                biased;
                () = shutdown.cancelled() => false,
                sender_alive = leadership_becomes(&mut leader, true) => sender_alive,
            };
            if !became_leader {
                return;
            }
            match self.announce_while_leader(&mut leader, &shutdown).await {
                TermEnd::LeadershipLost => info!("leadership lost; VIP announcements stopped"),
                TermEnd::Stopped => return,
            }
        }
    }

    async fn announce_while_leader(
        &self,
        leader: &mut watch::Receiver<bool>,
        shutdown: &CancellationToken,
    ) -> TermEnd {
        let takeover = Instant::now();
        info!(
            frames_per_round = self.frames.len(),
            "took over VIPs; announcing"
        );
        let mut burst = self.schedule.burst.iter();
        let mut next_send = burst
            .next()
            .map(|offset| takeover + *offset)
            .or_else(|| self.refresh_after(takeover));
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return TermEnd::Stopped,
                sender_alive = leadership_becomes(leader, false) => {
                    return if sender_alive { TermEnd::LeadershipLost } else { TermEnd::Stopped };
                }
                () = sleep_until_if_some(next_send) => {
                    self.send_round().await;
                    // Refreshes are timed from the actual send so a stalled process
                    // does not catch up with back-to-back rounds.
                    next_send = burst
                        .next()
                        .map(|offset| takeover + *offset)
                        .or_else(|| self.refresh_after(Instant::now()));
                }
            }
        }
    }

    fn refresh_after(&self, instant: Instant) -> Option<Instant> {
        self.schedule
            .refresh_interval
            .map(|interval| instant + interval)
    }

    /// Sends every frame once on the blocking pool: a socket send may wait up to the
    /// sink's write timeout and must not stall the async runtime.
    async fn send_round(&self) {
        let sink = Arc::clone(&self.sink);
        let frames = Arc::clone(&self.frames);
        let stats = Arc::clone(&self.stats);
        let round = tokio::task::spawn_blocking(move || {
            let mut sink = sink.lock().unwrap_or_else(PoisonError::into_inner);
            for frame in frames.iter() {
                match sink.send_frame(frame) {
                    Ok(()) => stats.frames_sent.fetch_add(1, Ordering::Relaxed),
                    Err(error) => {
                        warn!(%error, "VIP announcement frame not sent");
                        stats.send_errors.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
        });
        match round.await {
            Ok(()) => debug!(frames = self.frames.len(), "VIP announcement round sent"),
            Err(error) => warn!(%error, "VIP announcement round did not complete"),
        }
    }
}

/// Waits until the leadership flag equals `wanted`; false if the sender is gone.
async fn leadership_becomes(leader: &mut watch::Receiver<bool>, wanted: bool) -> bool {
    let observed = leader.wait_for(|is_leader| *is_leader == wanted).await;
    observed.is_ok()
}

async fn sleep_until_if_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
