use std::net::{IpAddr, Ipv6Addr};

use super::netns::{has_multicast_group, ip, run_in_netns, TestNamespaces};
use crate::host::{
    solicited_node_group,
    sysctl::{ipv4_conf_path, ipv6_conf_path, read_sysctl, write_sysctl},
    HostConfig, HostError, HostSetup, Netlink,
};

const INTERFACE: &str = "veth0";
const INTERFACE_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const PRESENT_VIP: &str = "192.0.2.10";
const NEW_VIP: &str = "198.51.100.7";
const NEW_VIP6: &str = "2001:db8::1:2345:6789";

/// (all arp_ignore, iface arp_ignore, all arp_announce, iface arp_announce).
fn arp_sysctls(interface: &str) -> [i64; 4] {
    let read = |scope: &str, key: &str| read_sysctl(&ipv4_conf_path(scope, key)).unwrap();
    [
        read("all", "arp_ignore"),
        read(interface, "arp_ignore"),
        read("all", "arp_announce"),
        read(interface, "arp_announce"),
    ]
}

fn set_arp_sysctls(interface: &str, values: [i64; 4]) {
    let paths = [
        ipv4_conf_path("all", "arp_ignore"),
        ipv4_conf_path(interface, "arp_ignore"),
        ipv4_conf_path("all", "arp_announce"),
        ipv4_conf_path(interface, "arp_announce"),
    ];
    for (path, value) in paths.iter().zip(values) {
        write_sysctl(path, value).unwrap();
    }
}

async fn loopback_addresses(netlink: &Netlink) -> Vec<IpAddr> {
    let lo = netlink.interface("lo").await.unwrap();
    netlink.local_addresses(Some(lo.index)).await.unwrap()
}

fn ip_of(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn group_of(text: &str) -> Ipv6Addr {
    solicited_node_group(text.parse().unwrap())
}

/// `INTERFACE` with MAC `INTERFACE_MAC` in `netns`; veth because the dummy
/// driver may be missing, its peer stays in the same namespace.
fn add_interface(netns: &str) {
    let link_add = [
        "-n",
        netns,
        "link",
        "add",
        INTERFACE,
        "address",
        "02:00:00:00:00:01",
    ];
    ip(&[&link_add[..], &["type", "veth", "peer", "name", "veth0p"]].concat());
    ip(&["-n", netns, "link", "set", INTERFACE, "up"]);
}

#[test]
fn apply_then_cleanup_restores_the_namespace() {
    let root_arp_announce = read_sysctl(&ipv4_conf_path("all", "arp_announce")).unwrap();
    let namespaces = TestNamespaces::create(1);
    let node = namespaces.name(0).to_owned();
    add_interface(&node);

    run_in_netns(&node, || async {
        // A stricter arp_ignore on `all` must be left alone; the rest raised.
        set_arp_sysctls(INTERFACE, [2, 0, 0, 1]);
        let netlink = Netlink::connect().unwrap();
        let lo = netlink.interface("lo").await.unwrap();
        assert!(netlink
            .add_address(lo.index, ip_of(PRESENT_VIP), 32)
            .await
            .unwrap());

        let config = HostConfig {
            interface: INTERFACE.to_owned(),
            vips: [PRESENT_VIP, NEW_VIP, NEW_VIP6, NEW_VIP]
                .map(ip_of)
                .to_vec(),
        };
        let mut setup = HostSetup::apply(&config).await.unwrap();

        assert_eq!(setup.interface().mac, INTERFACE_MAC);
        assert_eq!(setup.added_vips(), vec![ip_of(NEW_VIP), ip_of(NEW_VIP6)]);
        let on_lo = loopback_addresses(&netlink).await;
        for vip in [PRESENT_VIP, NEW_VIP, NEW_VIP6] {
            assert!(
                on_lo.contains(&ip_of(vip)),
                "{vip} missing on lo: {on_lo:?}"
            );
        }
        assert_eq!(arp_sysctls(INTERFACE), [2, 1, 2, 2]);
        assert!(has_multicast_group(INTERFACE, group_of(NEW_VIP6)));
        assert!(netlink.is_local_address(ip_of(NEW_VIP)).await.unwrap());

        setup.cleanup().await.unwrap();

        let on_lo = loopback_addresses(&netlink).await;
        assert!(
            on_lo.contains(&ip_of(PRESENT_VIP)),
            "pre-existing VIP was removed"
        );
        assert!(!on_lo.contains(&ip_of(NEW_VIP)));
        assert!(!on_lo.contains(&ip_of(NEW_VIP6)));
        assert_eq!(arp_sysctls(INTERFACE), [2, 0, 0, 1]);
        assert!(!has_multicast_group(INTERFACE, group_of(NEW_VIP6)));
        assert!(!netlink.is_local_address(ip_of(NEW_VIP)).await.unwrap());
        assert!(setup.added_vips().is_empty());
        setup.cleanup().await.unwrap();
    });

    let root_after = read_sysctl(&ipv4_conf_path("all", "arp_announce")).unwrap();
    assert_eq!(root_after, root_arp_announce, "root namespace was touched");
}

/// What a failed apply must leave exactly as it was.
#[derive(Debug, PartialEq)]
struct Snapshot {
    loopback: Vec<IpAddr>,
    arp: [i64; 4],
    joined_group: bool,
}

async fn snapshot(netlink: &Netlink) -> Snapshot {
    Snapshot {
        loopback: loopback_addresses(netlink).await,
        arp: arp_sysctls(INTERFACE),
        joined_group: has_multicast_group(INTERFACE, group_of(NEW_VIP6)),
    }
}

async fn apply_expecting_error(interface: &str, vips: &[&str]) -> HostError {
    let config = HostConfig {
        interface: interface.to_owned(),
        vips: vips.iter().map(|vip| ip_of(vip)).collect(),
    };
    match HostSetup::apply(&config).await {
        Ok(setup) => panic!("apply of {config:?} succeeded: {setup:?}"),
        Err(error) => error,
    }
}

#[test]
fn failed_validation_changes_nothing() {
    let namespaces = TestNamespaces::create(1);
    let node = namespaces.name(0).to_owned();
    add_interface(&node);

    run_in_netns(&node, || async {
        let netlink = Netlink::connect().unwrap();
        let before = snapshot(&netlink).await;

        let error = apply_expecting_error("vt-missing", &[NEW_VIP]).await;
        assert!(
            matches!(&error, HostError::InterfaceNotFound { name } if name == "vt-missing"),
            "{error:?}"
        );
        assert!(error.to_string().contains("vt-missing"));

        let error = apply_expecting_error("../eth0", &[NEW_VIP]).await;
        assert!(
            matches!(error, HostError::InvalidInterfaceName { .. }),
            "{error:?}"
        );

        let error = apply_expecting_error(INTERFACE, &[NEW_VIP, NEW_VIP6, "224.0.0.5"]).await;
        assert!(
            matches!(error, HostError::InvalidVip { ip, .. } if ip == ip_of("224.0.0.5")),
            "{error:?}"
        );

        write_sysctl(&ipv6_conf_path(INTERFACE, "disable_ipv6"), 1).unwrap();
        let error = apply_expecting_error(INTERFACE, &[NEW_VIP, NEW_VIP6]).await;
        assert!(
            matches!(&error, HostError::Ipv6Disabled { interface, .. } if interface == INTERFACE),
            "{error:?}"
        );
        write_sysctl(&ipv6_conf_path(INTERFACE, "disable_ipv6"), 0).unwrap();

        assert_eq!(snapshot(&netlink).await, before);
    });
}
