//! End to end as root: announce from one network namespace over a veth pair,
//! capture in the peer namespace, and check the peer's neighbour cache moved to us.

use std::fs::File;
use std::net::IpAddr;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use nix::sched::{setns, CloneFlags};
use pnet_datalink::{Channel, Config};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::frames::{ETHERTYPE_ARP, ETHERTYPE_IPV6, ICMPV6_NEIGHBOR_ADVERTISEMENT};
use super::{
    announcement_frames, AnnounceSchedule, Announcer, InterfaceSelector, InterfaceSender, MacAddr,
};

const SENDER_MAC: MacAddr = MacAddr([0x02, 0x00, 0x5e, 0x10, 0x00, 0x01]);
/// What the peer has cached for the VIPs before takeover: the previous leader.
const PREVIOUS_LEADER_MAC: &str = "02:00:5e:10:00:99";
const BURST_MS: [u64; 4] = [0, 50, 250, 1000];
const REFRESH_MS: u64 = 500;
/// Generous: the machine is small and shared with other builds.
const MAX_LATENESS: Duration = Duration::from_millis(250);

/// Announcement frames with their arrival time.
type CapturedFrames = Vec<(Instant, Vec<u8>)>;

/// Two namespaces joined by a veth pair; both are deleted on drop, which also
/// removes the veth ends inside them.
struct NetnsPair {
    sender_ns: String,
    receiver_ns: String,
    sender_if: String,
    receiver_if: String,
}

impl NetnsPair {
    fn create() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let tag = format!(
            "{}{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        // Guard first, so a failure halfway through setup still cleans up.
        let pair = NetnsPair {
            sender_ns: format!("vt-garp-a{tag}"),
            receiver_ns: format!("vt-garp-b{tag}"),
            sender_if: format!("vt-ga{tag}"),
            receiver_if: format!("vt-gb{tag}"),
        };
        let (a, b) = (&pair.sender_ns, &pair.receiver_ns);
        let (a_if, b_if) = (&pair.sender_if, &pair.receiver_if);
        run(&format!("ip netns add {a}"));
        run(&format!("ip netns add {b}"));
        run(&format!(
            "ip link add {a_if} netns {a} address {SENDER_MAC} type veth peer name {b_if} netns {b}"
        ));
        run(&format!("ip -n {a} link set {a_if} up"));
        run(&format!("ip -n {b} link set {b_if} up"));
        for vip in ["192.0.2.10", "2001:db8::10"] {
            run(&format!(
                "ip -n {b} neigh add {vip} lladdr {PREVIOUS_LEADER_MAC} dev {b_if} nud stale"
            ));
        }
        pair
    }

    fn cached_mac(&self, vip: &str) -> String {
        let (ns, interface) = (&self.receiver_ns, &self.receiver_if);
        run(&format!("ip -n {ns} neigh show {vip} dev {interface}"))
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        for ns in [&self.sender_ns, &self.receiver_ns] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Runs a whitespace-separated command line, panicking with its stderr on failure.
fn run(command_line: &str) -> String {
    let mut words = command_line.split_whitespace();
    let program = words.next().expect("empty command line");
    let output = Command::new(program)
        .args(words)
        .output()
        .expect("spawn command");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{command_line} failed: {stderr}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs `work` on a fresh thread moved into namespace `ns`; sockets it opens stay
/// in that namespace after the thread exits.
fn in_namespace<T: Send + 'static>(
    ns: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> JoinHandle<T> {
    let path = format!("/run/netns/{ns}");
    thread::spawn(move || {
        let netns = File::open(&path).expect("open netns handle");
        setns(&netns, CloneFlags::CLONE_NEWNET).expect("setns");
        work()
    })
}

fn is_announcement(frame: &[u8]) -> bool {
    let ethertype = u16::from_be_bytes([frame[12], frame[13]]);
    ethertype == ETHERTYPE_ARP
        || (ethertype == ETHERTYPE_IPV6 && frame.get(54) == Some(&ICMPV6_NEIGHBOR_ADVERTISEMENT))
}

/// Captures announcements from `SENDER_MAC` in the receiver namespace until `stop`
/// is set or a hard deadline passes, so a failed test never leaves it spinning.
fn start_capture(
    pair: &NetnsPair,
    stop: Arc<AtomicBool>,
) -> (JoinHandle<CapturedFrames>, mpsc::Receiver<()>) {
    let (ready_tx, ready_rx) = mpsc::channel();
    let interface = pair.receiver_if.clone();
    let handle = in_namespace(&pair.receiver_ns, move || {
        let interface = pnet_datalink::interfaces()
            .into_iter()
            .find(|candidate| candidate.name == interface)
            .expect("receiver veth visible");
        let config = Config {
            read_timeout: Some(Duration::from_millis(20)),
            promiscuous: false,
            ..Config::default()
        };
        let Ok(Channel::Ethernet(_tx, mut rx)) = pnet_datalink::channel(&interface, config) else {
            panic!("cannot open capture socket");
        };
        ready_tx.send(()).expect("test waits for capture");
        let mut captured = Vec::new();
        let give_up = Instant::now() + Duration::from_secs(30);
        while !stop.load(Ordering::Relaxed) && Instant::now() < give_up {
            match rx.next() {
                Ok(frame)
                    if frame.len() >= 14
                        && frame[6..12] == SENDER_MAC.0
                        && is_announcement(frame) =>
                {
                    captured.push((Instant::now(), frame.to_vec()))
                }
                Ok(_) => {}
                Err(error) if error.kind() == std::io::ErrorKind::TimedOut => {}
                Err(error) => panic!("capture failed: {error}"),
            }
        }
        captured
    });
    (handle, ready_rx)
}

/// Columns of /proc/net/packet: sk RefCnt Type Proto Iface R(unning) Rmem User Inode.
/// A socket with protocol 0 that is not running has no packet tap on the device.
fn assert_sender_sockets_do_not_receive(pair: &NetnsPair) {
    let table = in_namespace(&pair.sender_ns, || {
        std::fs::read_to_string("/proc/thread-self/net/packet").expect("read packet table")
    })
    .join()
    .expect("reader thread");
    let sockets: Vec<Vec<&str>> = table
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert!(!sockets.is_empty(), "no packet sockets listed: {table}");
    for socket in sockets {
        assert_eq!((socket[3], socket[5]), ("0000", "0"), "{table}");
    }
}

#[test]
fn takeover_announcements_reach_the_peer_on_schedule_and_move_its_cache() {
    let pair = NetnsPair::create();
    let by_name = InterfaceSelector::Name(pair.sender_if.clone());
    let sender = in_namespace(&pair.sender_ns, move || InterfaceSender::open(&by_name))
        .join()
        .expect("sender thread")
        .expect("open sender by name");
    assert_eq!(sender.mac(), SENDER_MAC);
    let by_index = InterfaceSelector::Index(sender.index());
    let reopened = in_namespace(&pair.sender_ns, move || InterfaceSender::open(&by_index))
        .join()
        .expect("sender thread")
        .expect("open sender by index");
    assert_eq!(reopened.name(), pair.sender_if);
    assert_sender_sockets_do_not_receive(&pair);

    let stop = Arc::new(AtomicBool::new(false));
    let (capture, ready) = start_capture(&pair, Arc::clone(&stop));
    ready
        .recv_timeout(Duration::from_secs(5))
        .expect("capture ready");

    let vips: Vec<IpAddr> = vec![
        "192.0.2.10".parse().unwrap(),
        "2001:db8::10".parse().unwrap(),
    ];
    let schedule = AnnounceSchedule {
        burst: BURST_MS.map(Duration::from_millis).to_vec(),
        refresh_interval: Some(Duration::from_millis(REFRESH_MS)),
    };
    let announcer = Announcer::new(sender, SENDER_MAC, &vips, schedule);
    let stats = announcer.stats();
    let round: Vec<Vec<u8>> = vips
        .iter()
        .flat_map(|vip| announcement_frames(SENDER_MAC, *vip))
        .collect();
    let expected_rounds = BURST_MS.len() + 1;
    let expected_frames = (expected_rounds * round.len()) as u64;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let takeover = runtime.block_on(async {
        let (leader, leader_rx) = watch::channel(false);
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(announcer.run(leader_rx, shutdown.clone()));
        tokio::time::sleep(Duration::from_millis(200)).await;
        let takeover = Instant::now();
        leader.send(true).unwrap();
        let deadline = takeover + Duration::from_secs(10);
        while stats.frames_sent() < expected_frames {
            assert!(
                Instant::now() < deadline,
                "only {} frames sent",
                stats.frames_sent()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        leader.send(false).unwrap();
        // Past the refresh that would follow (at about 2000 ms) had we stayed leader.
        tokio::time::sleep(Duration::from_millis(REFRESH_MS + 300)).await;
        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(1), task)
            .await
            .expect("announcer still running after shutdown")
            .unwrap();
        takeover
    });
    stop.store(true, Ordering::Relaxed);
    let captured = capture.join().expect("capture thread");

    assert_eq!(stats.frames_sent(), expected_frames);
    assert_eq!(stats.send_errors(), 0);
    assert_eq!(
        captured.len(),
        expected_frames as usize,
        "frames after leadership loss or lost frames"
    );
    let expected_offsets = BURST_MS.iter().copied().chain([BURST_MS[3] + REFRESH_MS]);
    for (received, expected_ms) in captured.chunks(round.len()).zip(expected_offsets) {
        let frames: Vec<Vec<u8>> = received.iter().map(|(_, frame)| frame.clone()).collect();
        assert_eq!(frames, round);
        let offset = received[0].0.duration_since(takeover);
        let expected = Duration::from_millis(expected_ms);
        assert!(
            offset >= expected && offset <= expected + MAX_LATENESS,
            "round due at {expected:?} arrived at {offset:?}"
        );
    }
    for vip in ["192.0.2.10", "2001:db8::10"] {
        let entry = pair.cached_mac(vip);
        assert!(
            entry.contains(&format!("lladdr {SENDER_MAC}")),
            "peer cache for {vip}: {entry}"
        );
    }
}
