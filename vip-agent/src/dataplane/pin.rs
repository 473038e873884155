//! Pinning under bpffs, so a restarted agent adopts the running data plane: the maps keep
//! their flows, rings and backends, and the XDP link is switched to the new program with
//! one atomic `bpf_link_update` instead of a detach/attach gap.
use std::path::{Path, PathBuf};

use aya::programs::{links::FdLink, links::PinnedLink, xdp::XdpLink, XdpMode};
use tracing::info;
use vip_common::map_names as names;

use super::{program_error, Dataplane, DataplaneError, LoadOptions, Result};

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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attachment {
    /// A pinned link of a previous agent now runs this program.
    Adopted,
    Attached,
}

impl Dataplane {
    /// Adopts the pinned link in the pin directory, or attaches and pins a new one.
    pub fn attach_pinned(&mut self, interface: &str, mode: XdpMode) -> Result<Attachment> {
        let dir = self.pin_dir.clone().ok_or(DataplaneError::NotPinned)?;
        let link_path = dir.join(LINK_PIN);
        if link_path.exists() {
            let pinned =
                PinnedLink::from_pin(&link_path).map_err(|source| DataplaneError::Link {
                    path: link_path.clone(),
                    source,
                })?;
            let link =
                XdpLink::try_from(FdLink::from(pinned)).map_err(|source| DataplaneError::Link {
                    path: link_path.clone(),
                    source,
                })?;
            self.program()?
                .attach_to_link(link)
                .map_err(program_error)?;
            info!(path = %link_path.display(), "adopted the pinned XDP link");
            return Ok(Attachment::Adopted);
        }
        let program = self.program()?;
        let id = program.attach(interface, mode).map_err(program_error)?;
        let link = program.take_link(id).map_err(program_error)?;
        let fd_link = FdLink::try_from(link).map_err(|source| DataplaneError::Link {
            path: link_path.clone(),
            source,
        })?;
        fd_link
            .pin(&link_path)
            .map_err(|source| DataplaneError::Pin {
                path: link_path.clone(),
                source,
            })?;
        Ok(Attachment::Attached)
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
