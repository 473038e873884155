//! Where each backend is: whether it is this node, and its MAC once the neighbour table
//! has it. Resolution retries in the background until every backend is known.
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::host::Netlink;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Location {
    pub local: bool,
    pub mac: Option<[u8; 6]>,
}

pub type Locations = BTreeMap<IpAddr, Location>;

const RESOLVE_TIMEOUT: Duration = Duration::from_secs(1);
const RETRY: Duration = Duration::from_secs(2);
/// Known MACs are re-read this often, so a replaced node's new MAC is picked up.
const REFRESH: Duration = Duration::from_secs(30);

/// Keeps `locations` current for the `backends` on `ifindex` until `shutdown`.
pub async fn track(
    netlink: Netlink,
    ifindex: u32,
    mut backend_list: watch::Receiver<Vec<IpAddr>>,
    locations: watch::Sender<Locations>,
    shutdown: CancellationToken,
) {
    loop {
        let backends = backend_list.borrow_and_update().clone();
        locations.send_if_modified(|l| {
            let before = l.len();
            l.retain(|ip, _| backends.contains(ip));
            l.len() != before
        });
        let mut all_known = true;
        for &ip in &backends {
            let current = locations.borrow().get(&ip).copied().unwrap_or_default();
            let next = match netlink.is_local_address(ip).await {
                Ok(true) => Location {
                    local: true,
                    mac: None,
                },
                Ok(false) => match netlink.resolve_mac(ip, ifindex, RESOLVE_TIMEOUT).await {
                    Ok(mac) => Location {
                        local: false,
                        mac: Some(mac),
                    },
                    Err(error) => {
                        all_known = false;
                        debug!(backend = %ip, %error, "backend MAC not resolved yet");
                        Location {
                            local: false,
                            mac: current.mac,
                        }
                    }
                },
                Err(error) => {
                    all_known = false;
                    warn!(backend = %ip, %error, "cannot tell whether the backend is local");
                    current
                }
            };
            if next != current {
                info!(backend = %ip, local = next.local, mac = ?next.mac.map(format_mac), "backend located");
                locations.send_modify(|l| {
                    l.insert(ip, next);
                });
            }
        }
        let wait = if all_known { REFRESH } else { RETRY };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
            changed = backend_list.changed() => if changed.is_err() { return },
        }
    }
}

pub fn format_mac(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}
