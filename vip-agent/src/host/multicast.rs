//! Solicited-node multicast membership for IPv6 VIPs.
//!
//! NDP needs no sysctl: the kernel only answers Neighbour Solicitations for
//! addresses configured on the receiving interface (no proxy_ndp here), so a
//! VIP on `lo` is never announced by the kernel and the leader's XDP program
//! answers instead. But the NS for a VIP is sent to its solicited-node group,
//! which a real NIC filters out unless someone joined it on that interface;
//! the kernel joins it only for addresses on the interface itself.

use std::net::{Ipv6Addr, UdpSocket};

use super::HostError;

/// `ff02::1:ffXX:XXXX` for the low 24 bits of `ip` (RFC 4291 §2.7.1).
pub fn solicited_node_group(ip: Ipv6Addr) -> Ipv6Addr {
    let low_24_bits = u128::from(ip) & 0x00ff_ffff;
    let prefix: u128 = 0xff02_0000_0000_0000_0000_0001_ff00_0000;
    Ipv6Addr::from(prefix | low_24_bits)
}

/// Membership of `group` on one interface, held by an open socket: closing
/// the socket (dropping this value) makes the kernel leave the group.
#[derive(Debug)]
pub(super) struct MulticastMembership {
    group: Ipv6Addr,
    ifindex: u32,
    socket: UdpSocket,
}

impl MulticastMembership {
    pub fn join(group: Ipv6Addr, ifindex: u32) -> Result<Self, HostError> {
        let join_error = |source| HostError::MulticastJoin {
            group,
            ifindex,
            source,
        };
        let socket = UdpSocket::bind((Ipv6Addr::UNSPECIFIED, 0)).map_err(join_error)?;
        socket
            .join_multicast_v6(&group, ifindex)
            .map_err(join_error)?;
        Ok(Self {
            group,
            ifindex,
            socket,
        })
    }

    pub fn group(&self) -> Ipv6Addr {
        self.group
    }

    /// Leaves the group now; if the explicit leave fails the socket is still
    /// closed, which leaves the group too.
    pub fn leave(self) {
        if let Err(error) = self.socket.leave_multicast_v6(&self.group, self.ifindex) {
            tracing::debug!(group = %self.group, ifindex = self.ifindex, %error,
                "explicit multicast leave failed, closing the socket instead");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_keeps_the_low_24_bits() {
        let vip: Ipv6Addr = "2001:db8::1:2345:6789".parse().unwrap();
        assert_eq!(
            solicited_node_group(vip),
            "ff02::1:ff45:6789".parse::<Ipv6Addr>().unwrap()
        );
    }

    #[test]
    fn group_of_rfc_example_and_edges() {
        // RFC 4291 example: 4037::01:800:200E:8C6C -> FF02::1:FF0E:8C6C.
        let cases = [
            ("4037::1:800:200e:8c6c", "ff02::1:ff0e:8c6c"),
            ("2001:db8::", "ff02::1:ff00:0"),
            ("fd00::ffff:ffff", "ff02::1:ffff:ffff"),
        ];
        for (vip, group) in cases {
            let vip: Ipv6Addr = vip.parse().unwrap();
            assert_eq!(
                solicited_node_group(vip),
                group.parse::<Ipv6Addr>().unwrap(),
                "{vip}"
            );
        }
    }
}
