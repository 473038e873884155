//! Who takes part in the election: this node, the backend set (static or discovered),
//! and nodes learned from authenticated heartbeats. A discovered set is remembered on
//! the host, so an agent restarted while the API is down still knows its peers.
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tracing::{info, warn};

#[derive(Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
struct Stored {
    peers: BTreeSet<IpAddr>,
}

/// Where the peer set of the agent pinned under `bpffs_dir` is remembered: beside its
/// host record.
pub fn remembered_path(bpffs_dir: &Path) -> PathBuf {
    let name = bpffs_dir
        .to_string_lossy()
        .trim_matches('/')
        .replace('/', "_");
    Path::new(crate::agent::HOST_RECORD_DIR).join(format!("{name}.peers.json"))
}

/// Reads the remembered peer set; `None` when absent or unreadable.
pub fn load_remembered(path: &Path) -> Option<BTreeSet<IpAddr>> {
    let stored: Stored = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    Some(stored.peers)
}

#[derive(Debug)]
pub struct Membership {
    own: IpAddr,
    configured: BTreeSet<IpAddr>,
    learned: BTreeSet<IpAddr>,
    /// Where the set is remembered; `None` for a static list (it is on the command line).
    store: Option<PathBuf>,
}

impl Membership {
    pub fn new(own: IpAddr, store: Option<PathBuf>) -> Self {
        Self {
            own,
            configured: BTreeSet::new(),
            learned: BTreeSet::new(),
            store,
        }
    }

    pub fn own(&self) -> IpAddr {
        self.own
    }

    /// Everyone, this node included, in rank order.
    pub fn members(&self) -> BTreeSet<IpAddr> {
        let mut all: BTreeSet<IpAddr> = self.configured.union(&self.learned).copied().collect();
        all.insert(self.own);
        all
    }

    pub fn peers(&self) -> impl Iterator<Item = IpAddr> {
        let own = self.own;
        self.members().into_iter().filter(move |&m| m != own)
    }

    /// Nodes remembered from an earlier run: members until the backend set says otherwise.
    pub fn add_remembered(&mut self, nodes: &BTreeSet<IpAddr>) {
        let known = self.members();
        self.learned
            .extend(nodes.iter().filter(|node| !known.contains(node)));
    }

    /// A new backend set. An empty set (discovery has not answered yet) keeps the current
    /// one. The configured set is authoritative: what was learned and is in it moves
    /// there, the rest of what was learned stays.
    pub fn set_configured(&mut self, backends: &[IpAddr]) {
        let next: BTreeSet<IpAddr> = backends.iter().copied().collect();
        if next.is_empty() || next == self.configured {
            return;
        }
        self.learned.retain(|node| !next.contains(node));
        info!(peers = ?next, "peer set from the backends");
        self.configured = next;
        self.remember();
    }

    /// A valid heartbeat from a node not in the set: it joins. Returns whether it was new.
    pub fn learn(&mut self, node: IpAddr) -> bool {
        if node == self.own || self.configured.contains(&node) || !self.learned.insert(node) {
            return false;
        }
        info!(peer = %node, "new peer learned from its heartbeat");
        self.remember();
        true
    }

    fn remember(&self) {
        let Some(path) = &self.store else { return };
        let stored = Stored {
            peers: self.members(),
        };
        let body = serde_json::to_vec_pretty(&stored).expect("a peer set serializes");
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| {
                let temporary = path.with_extension("tmp");
                std::fs::write(&temporary, body)?;
                std::fs::rename(&temporary, path)
            });
        if let Err(error) = written {
            warn!(path = %path.display(), %error, "remembering the peer set failed");
        }
    }
}
