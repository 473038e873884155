//! Pinning under bpffs, so a restarted agent adopts the running data plane: the maps keep
//! their flows, rings and backends, and the XDP link is switched to the new program with
//! one atomic `bpf_link_update` instead of a detach/attach gap.
use std::path::{Path, PathBuf};

use aya::maps::{HashMap as AyaHashMap, Map, MapData};
use aya::programs::{links::FdLink, xdp::XdpLink, XdpMode};
use tracing::{info, warn};
use vip_common::map_names as names;
use vip_common::{FlowKey, FlowTarget};

use super::layouts::{link_target, open_link, pinned_dataplanes, LinkTarget, PinnedDataplane};
use super::{program_error, Dataplane, DataplaneError, LoadOptions, Result};

fn remove_pin(path: &Path) -> Result<()> {
    std::fs::remove_file(path).map_err(|source| DataplaneError::Unpin {
        path: path.to_owned(),
        source,
    })
}

fn remove_dir(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(DataplaneError::Unpin {
            path: dir.to_owned(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Bumped whenever a map's layout changes: pins of another layout are never adopted.
pub const PIN_LAYOUT_VERSION: u32 = 4;

pub const PINNED_MAPS: [&str; 10] = [
    names::SETTINGS,
    names::VIPS,
    names::SERVICES,
    names::RING,
    names::BACKENDS,
    names::PEER_MACS,
    names::FLOWS,
    names::STATS,
    names::FLOW_GUARD,
    names::CONFLICTS,
];
/// File name of the pinned XDP link in the pin directory.
pub const LINK_PIN: &str = "link";

/// `<base>/v<layout>-m<ring>-f<flows>`: map sizes are part of the name because an adopted
/// map keeps the size it was created with.
pub fn pin_dir(base: &Path, options: &LoadOptions) -> PathBuf {
    base.join(format!(
        "v{PIN_LAYOUT_VERSION}-m{}-f{}",
        options.ring_size, options.max_flows
    ))
}

/// How the program got onto the interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attachment {
    /// A pinned link of a previous agent now runs this program.
    Adopted,
    Attached,
    /// A previous agent's link of another pin layout runs on the interface and keeps
    /// forwarding with its own maps until [`Dataplane::take_over`] switches it to this
    /// program, once this agent's maps are filled.
    Pending(PinnedDataplane),
}

impl Dataplane {
    /// Adopts the pinned link in the pin directory; or, when another layout's link runs
    /// on the interface, leaves it running for [`Dataplane::take_over`]; or attaches and
    /// pins a new link. Links whose interface is gone are stale: their pins are removed.
    pub fn attach_pinned(
        &mut self,
        interface: &str,
        ifindex: u32,
        mode: XdpMode,
    ) -> Result<Attachment> {
        let dir = self.pin_dir.clone().ok_or(DataplaneError::NotPinned)?;
        let base = dir.parent().map(Path::to_owned).unwrap_or_default();
        let link_path = dir.join(LINK_PIN);
        if link_path.exists() {
            match link_target(&link_path)? {
                LinkTarget::Interface(index) if index == ifindex => {
                    let link = open_link(&link_path)?;
                    let link = XdpLink::try_from(link).map_err(|source| DataplaneError::Link {
                        path: link_path.clone(),
                        source,
                    })?;
                    self.program()?
                        .attach_to_link(link)
                        .map_err(program_error)?;
                    info!(path = %link_path.display(), "adopted the pinned XDP link");
                    return Ok(Attachment::Adopted);
                }
                target => {
                    warn!(path = %link_path.display(), ?target, interface,
                        "the pinned XDP link is not on the interface (gone or recreated): stale, replacing it");
                    remove_pin(&link_path)?;
                }
            }
        }
        let mut predecessor = None;
        for other in pinned_dataplanes(&base)
            .into_iter()
            .filter(|p| p.dir != dir)
        {
            match link_target(&other.link_path()) {
                Ok(LinkTarget::Interface(index)) if index == ifindex => {
                    predecessor.get_or_insert(other);
                }
                Ok(LinkTarget::Interface(_)) => {}
                Ok(LinkTarget::Detached) | Err(_) => {
                    warn!(dir = %other.dir.display(), "removing stale pins of a detached XDP link");
                    remove_dir(&other.dir)?;
                }
            }
        }
        if let Some(predecessor) = predecessor {
            info!(old = %predecessor.dir.display(), layout = ?predecessor.layout, new = %dir.display(),
                "another pin layout forwards on the interface; taking over once the maps are filled");
            return Ok(Attachment::Pending(predecessor));
        }
        let program = self.program()?;
        let id = program.attach(interface, mode).map_err(program_error)?;
        let link = program.take_link(id).map_err(program_error)?;
        self.pin_link(FdLink::try_from(link), &link_path)?;
        Ok(Attachment::Attached)
    }

    /// Switches the predecessor's link to this program in one `bpf_link_update` (the
    /// interface never runs without a program), pins it here, and retires the old pins.
    pub fn take_over(&mut self, predecessor: &PinnedDataplane) -> Result<()> {
        let dir = self.pin_dir.clone().ok_or(DataplaneError::NotPinned)?;
        let old_link = predecessor.link_path();
        let link =
            XdpLink::try_from(open_link(&old_link)?).map_err(|source| DataplaneError::Link {
                path: old_link.clone(),
                source,
            })?;
        // Flows pinned by the old program keep their backend (copied again after the
        // switch, for connections it pinned meanwhile).
        let copied = self.import_flows(predecessor);
        let program = self.program()?;
        let id = program.attach_to_link(link).map_err(program_error)?;
        let link = program.take_link(id).map_err(program_error)?;
        self.pin_link(FdLink::try_from(link), &dir.join(LINK_PIN))?;
        let copied = copied + self.import_flows(predecessor);
        info!(flows = copied, "flow entries carried over");
        remove_dir(&predecessor.dir)?;
        info!(old = %predecessor.dir.display(), new = %dir.display(),
            "took over the XDP link from the previous pin layout and removed its pins");
        Ok(())
    }

    /// Copies the predecessor's flow table when it has this release's key and value
    /// layout (aya checks both sizes); otherwise none, and flows whose ring slot moved
    /// get another backend. Returns how many entries were new here.
    fn import_flows(&mut self, predecessor: &PinnedDataplane) -> usize {
        let path = predecessor.dir.join(names::FLOWS);
        let old = MapData::from_pin(&path)
            .and_then(Map::from_map_data)
            .and_then(AyaHashMap::<MapData, FlowKey, FlowTarget>::try_from);
        let old = match old {
            Ok(old) => old,
            Err(error) => {
                info!(path = %path.display(), %error,
                    "the previous flow table has another layout: not carried over");
                return 0;
            }
        };
        let mut copied = 0;
        for (key, target) in old.iter().filter_map(|entry| entry.ok()) {
            if self.flows.get(&key, 0).is_err() && self.flows.insert(key, target, 0).is_ok() {
                copied += 1;
            }
        }
        copied
    }

    fn pin_link(
        &self,
        link: std::result::Result<FdLink, aya::programs::links::LinkError>,
        path: &Path,
    ) -> Result<()> {
        let link = link.map_err(|source| DataplaneError::Link {
            path: path.to_owned(),
            source,
        })?;
        link.pin(path).map_err(|source| DataplaneError::Pin {
            path: path.to_owned(),
            source,
        })?;
        Ok(())
    }

    /// Detaches the pinned link and removes the pin directory (maps, link and anything the
    /// agent saved beside them); the kernel frees program and maps once this `Dataplane`
    /// is dropped.
    pub fn unpin_all(&self) -> Result<()> {
        let Some(dir) = &self.pin_dir else {
            return Ok(());
        };
        match std::fs::remove_dir_all(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(DataplaneError::Unpin {
                path: dir.clone(),
                source: e,
            }),
            _ => Ok(()),
        }
    }

    pub fn pinned_at(&self) -> Option<&Path> {
        self.pin_dir.as_deref()
    }
}
