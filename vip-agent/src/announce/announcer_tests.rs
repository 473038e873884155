//! Schedule and leadership behaviour of [`Announcer`] on a paused tokio clock.

use std::io;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{sleep, Instant};
use tokio_util::sync::CancellationToken;

use super::frames::tests::MAC;
use super::{
    announcement_frames, AnnounceError, AnnounceSchedule, AnnounceStats, Announcer, FrameSink,
};

type SentLog = Arc<Mutex<Vec<(Instant, Vec<u8>)>>>;

struct RecordingSink {
    sent: SentLog,
    fail: bool,
}

impl FrameSink for RecordingSink {
    fn send_frame(&mut self, frame: &[u8]) -> Result<(), AnnounceError> {
        if self.fail {
            return Err(AnnounceError::Send {
                interface: "test".to_string(),
                len: frame.len(),
                source: io::Error::from(io::ErrorKind::NetworkDown),
            });
        }
        self.sent
            .lock()
            .unwrap()
            .push((Instant::now(), frame.to_vec()));
        Ok(())
    }
}

struct Harness {
    leader: watch::Sender<bool>,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
    sent: SentLog,
    stats: Arc<AnnounceStats>,
}

fn vips() -> Vec<IpAddr> {
    vec![
        "192.0.2.10".parse().unwrap(),
        "2001:db8::10".parse().unwrap(),
    ]
}

fn start(schedule: AnnounceSchedule, fail: bool) -> Harness {
    let sent = SentLog::default();
    let sink = RecordingSink {
        sent: Arc::clone(&sent),
        fail,
    };
    let announcer = Announcer::new(sink, MAC, &vips(), schedule);
    let stats = announcer.stats();
    let (leader, leader_rx) = watch::channel(false);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(announcer.run(leader_rx, shutdown.clone()));
    Harness {
        leader,
        shutdown,
        task,
        sent,
        stats,
    }
}

fn schedule(burst_ms: &[u64], refresh_ms: Option<u64>) -> AnnounceSchedule {
    AnnounceSchedule {
        burst: burst_ms
            .iter()
            .copied()
            .map(Duration::from_millis)
            .collect(),
        refresh_interval: refresh_ms.map(Duration::from_millis),
    }
}

/// Send times of each round (in ms after `origin`), checking every round carries
/// exactly the frames for all VIPs in order.
fn round_offsets_ms(sent: &SentLog, origin: Instant) -> Vec<u128> {
    let expected_round: Vec<Vec<u8>> = vips()
        .into_iter()
        .flat_map(|vip| announcement_frames(MAC, vip))
        .collect();
    let sent = sent.lock().unwrap();
    assert_eq!(sent.len() % expected_round.len(), 0, "partial round sent");
    sent.chunks(expected_round.len())
        .map(|round| {
            let frames: Vec<Vec<u8>> = round.iter().map(|(_, frame)| frame.clone()).collect();
            assert_eq!(frames, expected_round);
            round[0].0.duration_since(origin).as_millis()
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn follower_sends_nothing_then_leader_follows_burst_and_refresh() {
    let harness = start(schedule(&[0, 50, 250, 1000], Some(1000)), false);
    sleep(Duration::from_secs(5)).await;
    assert!(harness.sent.lock().unwrap().is_empty());

    let takeover = Instant::now();
    harness.leader.send(true).unwrap();
    sleep(Duration::from_millis(3500)).await;
    assert_eq!(
        round_offsets_ms(&harness.sent, takeover),
        [0, 50, 250, 1000, 2000, 3000]
    );
    assert_eq!(harness.stats.frames_sent(), 6 * 3);
    assert_eq!(harness.stats.send_errors(), 0);
}

#[tokio::test(start_paused = true)]
async fn losing_leadership_stops_and_regaining_restarts_the_burst() {
    let harness = start(schedule(&[0, 50, 250, 1000], Some(1000)), false);
    let first_takeover = Instant::now();
    harness.leader.send(true).unwrap();
    sleep(Duration::from_millis(100)).await;
    harness.leader.send(false).unwrap();
    sleep(Duration::from_secs(30)).await;
    assert_eq!(round_offsets_ms(&harness.sent, first_takeover), [0, 50]);

    harness.sent.lock().unwrap().clear();
    let second_takeover = Instant::now();
    harness.leader.send(true).unwrap();
    sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        round_offsets_ms(&harness.sent, second_takeover),
        [0, 50, 250, 1000]
    );
}

#[tokio::test(start_paused = true)]
async fn repeated_true_notifications_do_not_restart_the_burst() {
    let harness = start(schedule(&[0, 50, 250, 1000], None), false);
    let takeover = Instant::now();
    harness.leader.send(true).unwrap();
    for _ in 0..10 {
        sleep(Duration::from_millis(30)).await;
        harness.leader.send(true).unwrap();
    }
    sleep(Duration::from_secs(10)).await;
    assert_eq!(
        round_offsets_ms(&harness.sent, takeover),
        [0, 50, 250, 1000]
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_ends_the_task_promptly_while_leading() {
    let harness = start(AnnounceSchedule::default(), false);
    harness.leader.send(true).unwrap();
    sleep(Duration::from_millis(60)).await;
    let cancelled_at = Instant::now();
    harness.shutdown.cancel();
    harness.task.await.unwrap();
    assert_eq!(
        Instant::now(),
        cancelled_at,
        "task waited for a timer after shutdown"
    );
    assert_eq!(
        round_offsets_ms(&harness.sent, cancelled_at - Duration::from_millis(60)),
        [0, 50]
    );
}

#[tokio::test(start_paused = true)]
async fn dropping_the_leadership_sender_ends_the_task() {
    let harness = start(AnnounceSchedule::default(), false);
    harness.leader.send(true).unwrap();
    sleep(Duration::from_millis(10)).await;
    drop(harness.leader);
    tokio::time::timeout(Duration::from_millis(1), harness.task)
        .await
        .expect("task still running after the leadership sender was dropped")
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn send_errors_are_counted_and_do_not_stop_announcing() {
    let harness = start(schedule(&[0, 50], Some(100)), true);
    harness.leader.send(true).unwrap();
    sleep(Duration::from_millis(260)).await;
    // Rounds at 0, 50, 150, 250 ms, three frames each.
    assert_eq!(harness.stats.send_errors(), 4 * 3);
    assert_eq!(harness.stats.frames_sent(), 0);
    assert!(!harness.task.is_finished());
}

#[tokio::test(start_paused = true)]
async fn unsorted_burst_offsets_are_sent_in_time_order() {
    let harness = start(schedule(&[250, 0, 50], None), false);
    let takeover = Instant::now();
    harness.leader.send(true).unwrap();
    sleep(Duration::from_secs(1)).await;
    assert_eq!(round_offsets_ms(&harness.sent, takeover), [0, 50, 250]);
}
