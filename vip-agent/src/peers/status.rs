//! The election as `vip-agent status` shows it: written by the agent to a file beside
//! the host record about once a second, read by the status command.
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::decision::{Liveness, Role};

const WRITE_EVERY: Duration = Duration::from_secs(1);

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerView {
    /// This node's address in the election.
    pub address: Option<IpAddr>,
    pub term: u64,
    pub leader: Option<IpAddr>,
    /// leading, following, leading-without-majority, no-majority, starting, awaiting-claim
    pub role: String,
    /// Members alive, this node included.
    pub alive: usize,
    pub members: usize,
    pub peers: Vec<PeerReport>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerReport {
    pub address: IpAddr,
    /// alive, dead, resigned, unknown
    pub state: String,
    pub last_heard_ms_ago: Option<u64>,
    pub rtt_us: Option<u64>,
    /// The term and leader the peer last claimed.
    pub term: u64,
    pub leader: Option<IpAddr>,
    /// Whether its API server may take new flows as far as peer liveness goes.
    pub in_ring: bool,
}

/// What the status command reads: the view and when it was written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredView {
    pub written_unix_ms: u64,
    pub view: PeerView,
}

impl From<Liveness> for String {
    fn from(liveness: Liveness) -> Self {
        match liveness {
            Liveness::Alive => "alive",
            Liveness::Dead => "dead",
            Liveness::Resigned => "resigned",
            Liveness::Unknown => "unknown",
        }
        .to_owned()
    }
}

impl From<Role> for String {
    fn from(role: Role) -> Self {
        match role {
            Role::Leading => "leading".to_owned(),
            Role::Following => "following".to_owned(),
            Role::LeadingWithoutMajority => "leading-without-majority".to_owned(),
            Role::Starting => "starting".to_owned(),
            Role::NoMajority => "no-majority".to_owned(),
            Role::AwaitingClaim(node) => format!("awaiting-claim-from-{node}"),
        }
    }
}

/// Path of the view file for the agent pinned under `bpffs_dir`.
pub fn view_path(record_dir: &Path, bpffs_dir: &Path) -> PathBuf {
    let name = bpffs_dir
        .to_string_lossy()
        .trim_matches('/')
        .replace('/', "_");
    record_dir.join(format!("{name}.peers-view.json"))
}

/// The election section of `vip-agent status`.
pub fn text(stored: &StoredView) -> String {
    use std::fmt::Write as _;
    let view = &stored.view;
    let mut out = String::new();
    let leader = view.leader.map_or("none".to_owned(), |l| l.to_string());
    let address = view.address.map_or("?".to_owned(), |a| a.to_string());
    let _ = writeln!(
        out,
        "Election     peers: term {}, leader {leader}, this node {address} {} ({} of {} alive)",
        view.term, view.role, view.alive, view.members
    );
    let age = unix_ms().saturating_sub(stored.written_unix_ms);
    if age > 3 * WRITE_EVERY.as_millis() as u64 {
        let _ = writeln!(out, "  (written {age} ms ago: is the agent running?)");
    }
    let _ = writeln!(
        out,
        "  {:<40} {:<9} {:>10} {:>9} {:>6} {:<40} {:<4}",
        "peer", "state", "heard", "rtt", "term", "follows", "ring"
    );
    for peer in &view.peers {
        let heard = peer
            .last_heard_ms_ago
            .map_or("never".to_owned(), |ms| format!("{ms} ms"));
        let rtt = peer.rtt_us.map_or("-".to_owned(), |us| format!("{us} us"));
        let follows = peer.leader.map_or("-".to_owned(), |l| l.to_string());
        let _ = writeln!(
            out,
            "  {:<40} {:<9} {:>10} {:>9} {:>6} {:<40} {:<4}",
            peer.address,
            peer.state,
            heard,
            rtt,
            peer.term,
            follows,
            if peer.in_ring { "in" } else { "out" }
        );
    }
    out
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub fn read_view(path: &Path) -> Option<StoredView> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Writes the view every second until `shutdown`, and removes the file then.
pub async fn write_views(
    path: PathBuf,
    view: watch::Receiver<PeerView>,
    shutdown: CancellationToken,
) {
    let mut every = tokio::time::interval(WRITE_EVERY);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = every.tick() => {}
        }
        let stored = StoredView {
            written_unix_ms: unix_ms(),
            view: view.borrow().clone(),
        };
        let body = serde_json::to_vec_pretty(&stored).expect("a peer view serializes");
        let temporary = path.with_extension("tmp");
        let written =
            std::fs::write(&temporary, body).and_then(|()| std::fs::rename(&temporary, &path));
        if let Err(error) = written {
            debug!(path = %path.display(), %error, "writing the peer view failed");
        }
    }
    let _ = std::fs::remove_file(&path);
}
