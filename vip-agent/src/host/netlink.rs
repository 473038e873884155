//! rtnetlink connection plus the link and address queries the host setup needs.

use std::{io, net::IpAddr};

use futures_util::TryStreamExt;
use rtnetlink::packet_route::{
    address::{AddressAttribute, AddressMessage},
    link::LinkAttribute,
};
use rtnetlink::{AddressMessageBuilder, Handle};
use tokio::task::JoinHandle;

use super::{validate::validate_interface_name, HostError};

/// Positive errno values the kernel reports in netlink NACKs.
pub(super) const ENODEV: i32 = 19;
pub(super) const EEXIST: i32 = 17;
pub(super) const EADDRNOTAVAIL: i32 = 99;

/// The kernel's errno of a netlink NACK, if that is what `error` is.
pub(super) fn netlink_errno(error: &rtnetlink::Error) -> Option<i32> {
    match error {
        rtnetlink::Error::NetlinkError(message) => Some(message.raw_code().abs()),
        _ => None,
    }
}

/// Name, index and MAC address of a network interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceInfo {
    pub name: String,
    pub index: u32,
    pub mac: [u8; 6],
}

/// An rtnetlink connection bound to the network namespace of the thread that
/// opened it; its background task stops when this value is dropped.
pub struct Netlink {
    handle: Handle,
    connection: JoinHandle<()>,
}

impl Netlink {
    /// Opens a connection; must be called from within a tokio runtime, which
    /// then drives the connection.
    pub fn connect() -> Result<Self, HostError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|error| HostError::NetlinkConnect {
                source: io::Error::other(error),
            })?;
        let (connection, handle, _) =
            rtnetlink::new_connection().map_err(|source| HostError::NetlinkConnect { source })?;
        let connection = runtime.spawn(connection);
        Ok(Self { handle, connection })
    }

    pub(super) fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Looks an interface up by name.
    pub async fn interface(&self, name: &str) -> Result<InterfaceInfo, HostError> {
        validate_interface_name(name)?;
        let mut links = self.handle.link().get().match_name(name).execute();
        let link = match links.try_next().await {
            Ok(Some(link)) => link,
            Ok(None) => {
                return Err(HostError::InterfaceNotFound {
                    name: name.to_owned(),
                })
            }
            Err(error) if netlink_errno(&error) == Some(ENODEV) => {
                return Err(HostError::InterfaceNotFound {
                    name: name.to_owned(),
                })
            }
            Err(source) => {
                return Err(HostError::Netlink {
                    operation: "get link by name",
                    source,
                })
            }
        };
        let mac = link
            .attributes
            .iter()
            .find_map(|attribute| match attribute {
                LinkAttribute::Address(bytes) => <[u8; 6]>::try_from(bytes.as_slice()).ok(),
                _ => None,
            })
            .ok_or_else(|| HostError::NoEthernetAddress {
                name: name.to_owned(),
            })?;
        Ok(InterfaceInfo {
            name: name.to_owned(),
            index: link.header.index,
            mac,
        })
    }

    /// Local addresses of the node, optionally only those of one interface.
    pub async fn local_addresses(&self, ifindex: Option<u32>) -> Result<Vec<IpAddr>, HostError> {
        let mut request = self.handle.address().get();
        if let Some(ifindex) = ifindex {
            request = request.set_link_index_filter(ifindex);
        }
        let messages: Vec<AddressMessage> =
            request
                .execute()
                .try_collect()
                .await
                .map_err(|source| HostError::Netlink {
                    operation: "dump addresses",
                    source,
                })?;
        Ok(messages.iter().filter_map(local_address_of).collect())
    }

    /// Whether `ip` is configured on any interface of this node.
    pub async fn is_local_address(&self, ip: IpAddr) -> Result<bool, HostError> {
        Ok(self.local_addresses(None).await?.contains(&ip))
    }

    /// Adds `ip/prefix_len`; `Ok(false)` when the kernel already has it.
    pub(super) async fn add_address(
        &self,
        ifindex: u32,
        ip: IpAddr,
        prefix_len: u8,
    ) -> Result<bool, HostError> {
        match self
            .handle
            .address()
            .add(ifindex, ip, prefix_len)
            .execute()
            .await
        {
            Ok(()) => Ok(true),
            Err(error) if netlink_errno(&error) == Some(EEXIST) => Ok(false),
            Err(source) => Err(HostError::AddAddress {
                ip,
                prefix_len,
                ifindex,
                source,
            }),
        }
    }

    /// Removes `ip/prefix_len`; an address that is already gone is fine.
    pub(super) async fn remove_address(
        &self,
        ifindex: u32,
        ip: IpAddr,
        prefix_len: u8,
    ) -> Result<(), HostError> {
        let message = match ip {
            IpAddr::V4(v4) => AddressMessageBuilder::<std::net::Ipv4Addr>::new()
                .index(ifindex)
                .address(v4, prefix_len)
                .build(),
            IpAddr::V6(v6) => AddressMessageBuilder::<std::net::Ipv6Addr>::new()
                .index(ifindex)
                .address(v6, prefix_len)
                .build(),
        };
        match self.handle.address().del(message).execute().await {
            Ok(()) => Ok(()),
            Err(error) if netlink_errno(&error) == Some(EADDRNOTAVAIL) => {
                tracing::warn!(%ip, ifindex, "address was already removed by someone else");
                Ok(())
            }
            Err(source) => Err(HostError::RemoveAddress {
                ip,
                prefix_len,
                ifindex,
                source,
            }),
        }
    }
}

impl std::fmt::Debug for Netlink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Netlink").finish_non_exhaustive()
    }
}

impl Drop for Netlink {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

/// The node's own address in an address message. On point-to-point links
/// IFA_ADDRESS is the peer and IFA_LOCAL the local end, so IFA_LOCAL wins.
fn local_address_of(message: &AddressMessage) -> Option<IpAddr> {
    let mut address = None;
    for attribute in &message.attributes {
        match attribute {
            AddressAttribute::Local(local) => return Some(*local),
            AddressAttribute::Address(ip) => address = Some(*ip),
            _ => {}
        }
    }
    address
}

/// Whether `ip` is configured on any interface of this node (opens a
/// short-lived netlink connection; use [`Netlink::is_local_address`] to reuse
/// one).
pub async fn is_local_address(ip: IpAddr) -> Result<bool, HostError> {
    Netlink::connect()?.is_local_address(ip).await
}
