use std::{net::IpAddr, time::Duration};

use super::netns::{ip, run_in_netns, TestNamespaces};
use crate::host::{is_local_address, resolve_mac, HostError, Netlink};

const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Node namespace with `veth0` (192.0.2.1, 2001:db8:1::1) wired to a peer
/// namespace's `veth1` (192.0.2.2, 2001:db8:1::2, MAC [`PEER_MAC`]).
fn node_with_peer() -> TestNamespaces {
    let namespaces = TestNamespaces::create(2);
    let (node, peer) = (namespaces.name(0), namespaces.name(1));
    ip(&[
        "-n", node, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1", "netns", peer,
    ]);
    ip(&[
        "-n",
        peer,
        "link",
        "set",
        "veth1",
        "address",
        "02:00:00:00:00:02",
    ]);
    for (netns, interface, v4, v6) in [
        (node, "veth0", "192.0.2.1/24", "2001:db8:1::1/64"),
        (peer, "veth1", "192.0.2.2/24", "2001:db8:1::2/64"),
    ] {
        ip(&["-n", netns, "addr", "add", v4, "dev", interface]);
        // nodad: the addresses are usable at once instead of after DAD.
        ip(&["-n", netns, "addr", "add", v6, "dev", interface, "nodad"]);
        ip(&["-n", netns, "link", "set", interface, "up"]);
    }
    namespaces
}

fn ip_of(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn resolves_peer_mac_by_triggering_then_from_cache() {
    let namespaces = node_with_peer();
    run_in_netns(namespaces.name(0), || async {
        let netlink = Netlink::connect().unwrap();
        let ifindex = netlink.interface("veth0").await.unwrap().index;
        for peer in ["192.0.2.2", "2001:db8:1::2"].map(ip_of) {
            assert_eq!(netlink.lookup_neighbour(peer, ifindex).await.unwrap(), None);
            let mac = netlink
                .resolve_mac(peer, ifindex, RESOLVE_TIMEOUT)
                .await
                .unwrap_or_else(|error| panic!("resolving {peer}: {error}"));
            assert_eq!(mac, PEER_MAC, "{peer}");

            // Cached now: resolve_mac answers from the table without a trigger.
            assert_eq!(
                netlink.lookup_neighbour(peer, ifindex).await.unwrap(),
                Some(PEER_MAC)
            );
            assert_eq!(
                resolve_mac(peer, ifindex, RESOLVE_TIMEOUT).await.unwrap(),
                PEER_MAC
            );
        }
    });
}

#[test]
fn unresolvable_and_local_addresses_are_reported() {
    let namespaces = node_with_peer();
    run_in_netns(namespaces.name(0), || async {
        let netlink = Netlink::connect().unwrap();
        let ifindex = netlink.interface("veth0").await.unwrap().index;

        let absent = ip_of("192.0.2.99");
        let timeout = Duration::from_millis(400);
        match netlink.resolve_mac(absent, ifindex, timeout).await {
            Err(HostError::NeighbourTimeout {
                ip,
                ifindex: index,
                timeout: waited,
            }) => {
                assert_eq!((ip, index, waited), (absent, ifindex, timeout));
            }
            other => panic!("expected a timeout for {absent}, got {other:?}"),
        }

        let own = ip_of("192.0.2.1");
        assert!(is_local_address(own).await.unwrap());
        assert!(!is_local_address(ip_of("192.0.2.2")).await.unwrap());
        match netlink.resolve_mac(own, ifindex, timeout).await {
            Err(HostError::AddressIsLocal { ip }) => assert_eq!(ip, own),
            other => panic!("expected AddressIsLocal for {own}, got {other:?}"),
        }

        let error = netlink.interface("vt-missing").await.unwrap_err();
        assert!(matches!(&error, HostError::InterfaceNotFound { name } if name == "vt-missing"));
    });
}
