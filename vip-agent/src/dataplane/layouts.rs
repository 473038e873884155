//! Data planes pinned by earlier agents, whatever their layout: every directory under
//! the pin base that holds a pinned XDP link. Only the link and the directory name
//! (`v<layout>-…`) are read, never the maps, so an agent can take over from any
//! older layout: it replaces the program through the existing link (no detach gap)
//! and then retires the old pins.
use std::path::{Path, PathBuf};

use aya::programs::links::{FdLink, PinnedLink};

use super::{DataplaneError, Result, LINK_PIN};

/// One pin directory holding a link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinnedDataplane {
    pub dir: PathBuf,
    /// The layout version from the directory name, when it has one.
    pub layout: Option<u32>,
}

impl PinnedDataplane {
    pub fn link_path(&self) -> PathBuf {
        self.dir.join(LINK_PIN)
    }
}

/// Where a pinned link runs, as the kernel reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkTarget {
    /// Attached to the interface with this index.
    Interface(u32),
    /// Its interface is gone (deleted, re-plugged, namespace rebuilt): stale.
    Detached,
}

/// Every directory below `base` with a pinned link, sorted by path.
pub fn pinned_dataplanes(base: &Path) -> Vec<PinnedDataplane> {
    let Ok(entries) = std::fs::read_dir(base) else {
        return Vec::new();
    };
    let mut found: Vec<PinnedDataplane> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|dir| dir.join(LINK_PIN).exists())
        .map(|dir| PinnedDataplane {
            layout: layout_of(&dir),
            dir,
        })
        .collect();
    found.sort_by(|a, b| a.dir.cmp(&b.dir));
    found
}

/// `v3-m65537-f262144` → 3.
fn layout_of(dir: &Path) -> Option<u32> {
    let name = dir.file_name()?.to_str()?;
    let version = name.strip_prefix('v')?.split('-').next()?;
    version.parse().ok()
}

/// Opens the link pinned at `path`.
pub fn open_link(path: &Path) -> Result<FdLink> {
    let pinned = PinnedLink::from_pin(path).map_err(|source| DataplaneError::Link {
        path: path.to_owned(),
        source,
    })?;
    Ok(FdLink::from(pinned))
}

/// The interface the link pinned at `path` is attached to. The kernel shows an XDP
/// link's `ifindex` in the fdinfo of its file descriptor (0 once the interface is
/// gone); the descriptor is found by the link id, which aya does expose.
pub fn link_target(path: &Path) -> Result<LinkTarget> {
    let link = open_link(path)?;
    let info = link.info().map_err(|source| DataplaneError::Link {
        path: path.to_owned(),
        source,
    })?;
    let wanted = format!("link_id:\t{}", info.id());
    let fdinfo =
        std::fs::read_dir("/proc/self/fdinfo").map_err(|source| DataplaneError::LinkInfo {
            path: path.to_owned(),
            reason: format!("reading /proc/self/fdinfo: {source}"),
        })?;
    for entry in fdinfo.filter_map(|entry| entry.ok()) {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        if !text.lines().any(|line| line == wanted) {
            continue;
        }
        let ifindex = text
            .lines()
            .find_map(|line| line.strip_prefix("ifindex:"))
            .and_then(|value| value.trim().parse::<u32>().ok());
        return match ifindex {
            Some(0) => Ok(LinkTarget::Detached),
            Some(index) => Ok(LinkTarget::Interface(index)),
            None => Err(DataplaneError::LinkInfo {
                path: path.to_owned(),
                reason: "the kernel shows no ifindex for this link (not an XDP link?)".into(),
            }),
        };
    }
    drop(link);
    Err(DataplaneError::LinkInfo {
        path: path.to_owned(),
        reason: format!("no file descriptor shows link id {}", info.id()),
    })
}
