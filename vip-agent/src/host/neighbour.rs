//! Backend MAC discovery through the kernel's neighbour table.

use std::{
    io::ErrorKind,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6, UdpSocket},
    time::Duration,
};

use futures_util::TryStreamExt;
use rtnetlink::packet_route::{
    neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState},
    AddressFamily,
};
use tokio::time::Instant;

use super::{netlink::Netlink, HostError};

/// UDP discard port: a datagram there makes the kernel resolve the address
/// and is dropped (or answered by an ICMP error) by the backend.
const DISCARD_PORT: u16 = 9;
const FIRST_POLL_INTERVAL: Duration = Duration::from_millis(10);
const MAX_POLL_INTERVAL: Duration = Duration::from_millis(200);
/// The kernel gives up after a few probes (FAILED); a new datagram restarts it.
const TRIGGER_INTERVAL: Duration = Duration::from_secs(1);

/// States whose link-layer address is usable. INCOMPLETE and FAILED have none
/// worth trusting; NOARP entries (e.g. on `lo`) carry no real MAC.
fn state_has_mac(state: NeighbourState) -> bool {
    matches!(
        state,
        NeighbourState::Reachable
            | NeighbourState::Stale
            | NeighbourState::Delay
            | NeighbourState::Probe
            | NeighbourState::Permanent
    )
}

fn entry_mac(entry: &NeighbourMessage, ip: IpAddr, ifindex: u32) -> Option<[u8; 6]> {
    if entry.header.ifindex != ifindex || !state_has_mac(entry.header.state) {
        return None;
    }
    let mut destination_matches = false;
    let mut mac = None;
    for attribute in &entry.attributes {
        match attribute {
            NeighbourAttribute::Destination(NeighbourAddress::Inet(v4)) => {
                destination_matches = IpAddr::V4(*v4) == ip;
            }
            NeighbourAttribute::Destination(NeighbourAddress::Inet6(v6)) => {
                destination_matches = IpAddr::V6(*v6) == ip;
            }
            NeighbourAttribute::LinkLayerAddress(bytes) => {
                mac = <[u8; 6]>::try_from(bytes.as_slice()).ok();
            }
            _ => {}
        }
    }
    mac.filter(|_| destination_matches)
}

impl Netlink {
    /// The MAC of `ip` on interface `ifindex` if the neighbour table has a usable
    /// entry; never triggers resolution.
    pub async fn lookup_neighbour(
        &self,
        ip: IpAddr,
        ifindex: u32,
    ) -> Result<Option<[u8; 6]>, HostError> {
        let family = match ip {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        };
        let mut entries = self
            .handle()
            .neighbours()
            .get()
            .set_address_family(family)
            .execute();
        while let Some(entry) = entries
            .try_next()
            .await
            .map_err(|source| HostError::Netlink {
                operation: "dump neighbours",
                source,
            })?
        {
            if let Some(mac) = entry_mac(&entry, ip, ifindex) {
                return Ok(Some(mac));
            }
        }
        Ok(None)
    }

    /// Finds the MAC address of `ip` on interface `ifindex`: from the neighbour
    /// table if present, else by making the kernel ARP/NDP for it and polling the
    /// table until `timeout`. The address must be routed through `ifindex`.
    pub async fn resolve_mac(
        &self,
        ip: IpAddr,
        ifindex: u32,
        timeout: Duration,
    ) -> Result<[u8; 6], HostError> {
        if let Some(mac) = self.lookup_neighbour(ip, ifindex).await? {
            return Ok(mac);
        }
        if self.is_local_address(ip).await? {
            return Err(HostError::AddressIsLocal { ip });
        }
        let deadline = Instant::now() + timeout;
        let mut poll_interval = FIRST_POLL_INTERVAL;
        let mut next_trigger = Instant::now();
        loop {
            let now = Instant::now();
            if now >= next_trigger {
                tracing::debug!(%ip, ifindex, "triggering neighbour resolution");
                trigger_resolution(ip, ifindex)?;
                next_trigger = now + TRIGGER_INTERVAL;
            }
            if now >= deadline {
                return Err(HostError::NeighbourTimeout {
                    ip,
                    ifindex,
                    timeout,
                });
            }
            tokio::time::sleep_until(deadline.min(now + poll_interval)).await;
            poll_interval = (poll_interval * 2).min(MAX_POLL_INTERVAL);
            if let Some(mac) = self.lookup_neighbour(ip, ifindex).await? {
                return Ok(mac);
            }
        }
    }
}

/// Sends one datagram to `ip`'s discard port so the kernel resolves it on the
/// interface its route points to (`ifindex` selects the link of an IPv6
/// link-local address).
fn trigger_resolution(ip: IpAddr, ifindex: u32) -> Result<(), HostError> {
    let (bind, target): (SocketAddr, SocketAddr) = match ip {
        IpAddr::V4(v4) => ((Ipv4Addr::UNSPECIFIED, 0).into(), (v4, DISCARD_PORT).into()),
        IpAddr::V6(v6) => (
            (Ipv6Addr::UNSPECIFIED, 0).into(),
            SocketAddrV6::new(v6, DISCARD_PORT, 0, ifindex).into(),
        ),
    };
    let trigger_error = |source| HostError::NeighbourTrigger { ip, source };
    let socket = UdpSocket::bind(bind).map_err(trigger_error)?;
    match socket.send_to(&[], target) {
        Ok(_) => Ok(()),
        // No route: resolution can never succeed, say so now.
        Err(error) if error.kind() == ErrorKind::NetworkUnreachable => Err(trigger_error(error)),
        Err(error) => {
            tracing::debug!(%ip, %error, "neighbour trigger datagram not sent, will retry");
            Ok(())
        }
    }
}

/// [`Netlink::resolve_mac`] over a short-lived netlink connection.
pub async fn resolve_mac(
    ip: IpAddr,
    ifindex: u32,
    timeout: Duration,
) -> Result<[u8; 6], HostError> {
    Netlink::connect()?.resolve_mac(ip, ifindex, timeout).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x07];

    fn entry(state: NeighbourState, ifindex: u32, ip: IpAddr, lladdr: &[u8]) -> NeighbourMessage {
        let mut entry = NeighbourMessage::default();
        entry.header.state = state;
        entry.header.ifindex = ifindex;
        let destination = match ip {
            IpAddr::V4(v4) => NeighbourAddress::Inet(v4),
            IpAddr::V6(v6) => NeighbourAddress::Inet6(v6),
        };
        entry.attributes = vec![
            NeighbourAttribute::Destination(destination),
            NeighbourAttribute::LinkLayerAddress(lladdr.to_vec()),
        ];
        entry
    }

    #[test]
    fn usable_states_yield_the_mac() {
        let ip: IpAddr = "192.0.2.2".parse().unwrap();
        for state in [
            NeighbourState::Reachable,
            NeighbourState::Stale,
            NeighbourState::Delay,
            NeighbourState::Probe,
            NeighbourState::Permanent,
        ] {
            assert_eq!(
                entry_mac(&entry(state, 3, ip, &MAC), ip, 3),
                Some(MAC),
                "{state:?}"
            );
        }
    }

    #[test]
    fn unusable_or_foreign_entries_are_skipped() {
        let ip: IpAddr = "2001:db8::2".parse().unwrap();
        for state in [
            NeighbourState::Incomplete,
            NeighbourState::Failed,
            NeighbourState::Noarp,
            NeighbourState::None,
        ] {
            assert_eq!(
                entry_mac(&entry(state, 3, ip, &MAC), ip, 3),
                None,
                "{state:?}"
            );
        }
        let reachable = entry(NeighbourState::Reachable, 3, ip, &MAC);
        assert_eq!(entry_mac(&reachable, ip, 4), None, "other interface");
        assert_eq!(
            entry_mac(&reachable, "2001:db8::3".parse().unwrap(), 3),
            None,
            "other ip"
        );
        let short = entry(NeighbourState::Reachable, 3, ip, &MAC[..4]);
        assert_eq!(entry_mac(&short, ip, 3), None, "not an Ethernet address");
    }
}
