//! Integer sysctls under `/proc/sys`, and the ARP settings DSR needs.
//!
//! `/proc/sys/net` shows the network namespace of the calling thread, so these
//! functions act on the same namespace as a netlink socket opened there.

use std::path::{Path, PathBuf};

use super::HostError;

const PROC_SYS: &str = "/proc/sys";

/// `net.ipv4.conf.<scope>.arp_ignore = 1`: only answer ARP for addresses
/// configured on the interface the request arrived on. The VIP lives on `lo`,
/// so the kernel stays silent and only the leader's XDP program answers.
const ARP_IGNORE: (&str, i64) = ("arp_ignore", 1);

/// `net.ipv4.conf.<scope>.arp_announce = 2`: always pick the best local
/// address of the outgoing interface as ARP sender, never the VIP on `lo`,
/// which would poison the neighbours' caches with this node's MAC.
const ARP_ANNOUNCE: (&str, i64) = ("arp_announce", 2);

/// An integer sysctl value to enforce, with the value it replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SysctlChange {
    pub path: PathBuf,
    pub previous: i64,
    pub wanted: i64,
}

/// `/proc/sys/net/ipv4/conf/<scope>/<key>`; `scope` is a validated interface
/// name, `all` or `default`.
pub(super) fn ipv4_conf_path(scope: &str, key: &str) -> PathBuf {
    Path::new(PROC_SYS)
        .join("net/ipv4/conf")
        .join(scope)
        .join(key)
}

/// `/proc/sys/net/ipv6/conf/<scope>/<key>`.
pub(super) fn ipv6_conf_path(scope: &str, key: &str) -> PathBuf {
    Path::new(PROC_SYS)
        .join("net/ipv6/conf")
        .join(scope)
        .join(key)
}

/// Parses the content of an integer sysctl file (`"1\n"`).
pub(super) fn parse_sysctl_int(content: &str) -> Option<i64> {
    content.trim().parse().ok()
}

pub(super) fn read_sysctl(path: &Path) -> Result<i64, HostError> {
    let content = std::fs::read_to_string(path).map_err(|source| HostError::SysctlRead {
        path: path.to_owned(),
        source,
    })?;
    parse_sysctl_int(&content).ok_or_else(|| HostError::SysctlParse {
        path: path.to_owned(),
        content,
    })
}

pub(super) fn write_sysctl(path: &Path, value: i64) -> Result<(), HostError> {
    std::fs::write(path, format!("{value}\n")).map_err(|source| HostError::SysctlWrite {
        path: path.to_owned(),
        value,
        source,
    })
}

/// Reads the ARP sysctls of `all` and `interface` and returns the writes
/// needed so that each is at least the DSR value; reads only, changes nothing.
///
/// The kernel uses max(conf/all, conf/<iface>) for both arp_ignore and
/// arp_announce. Setting `all` is needed because the VIP on `lo` is a local
/// address for every interface: any other NIC left at arp_ignore=0 would
/// answer ARP for the VIP and steal its traffic. Setting the announcing
/// interface too keeps it correct if someone later lowers `all`. A value that
/// is already higher is left alone: it is stricter and the effective value is
/// the maximum anyway.
pub(super) fn plan_arp_sysctls(interface: &str) -> Result<Vec<SysctlChange>, HostError> {
    let mut changes = Vec::new();
    for scope in ["all", interface] {
        for (key, wanted) in [ARP_IGNORE, ARP_ANNOUNCE] {
            let path = ipv4_conf_path(scope, key);
            let previous = read_sysctl(&path)?;
            if previous < wanted {
                changes.push(SysctlChange {
                    path,
                    previous,
                    wanted,
                });
            }
        }
    }
    Ok(changes)
}

/// Whether IPv6 is usable on `interface` (its conf directory exists and
/// `disable_ipv6` is 0).
pub(super) fn ipv6_enabled(interface: &str) -> Result<bool, HostError> {
    let path = ipv6_conf_path(interface, "disable_ipv6");
    match read_sysctl(&path) {
        Ok(disabled) => Ok(disabled == 0),
        Err(HostError::SysctlRead { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            Ok(false)
        }
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctl_values_parse_with_surrounding_whitespace() {
        assert_eq!(parse_sysctl_int("1\n"), Some(1));
        assert_eq!(parse_sysctl_int(" 2 \n"), Some(2));
        assert_eq!(parse_sysctl_int("-1\n"), Some(-1));
        assert_eq!(parse_sysctl_int("0"), Some(0));
    }

    #[test]
    fn non_integer_sysctl_values_are_rejected() {
        assert_eq!(parse_sysctl_int(""), None);
        assert_eq!(parse_sysctl_int("\n"), None);
        assert_eq!(parse_sysctl_int("1 2\n"), None);
        assert_eq!(parse_sysctl_int("enabled"), None);
    }

    #[test]
    fn conf_paths_keep_dotted_interface_names() {
        assert_eq!(
            ipv4_conf_path("eth0.100", "arp_ignore"),
            PathBuf::from("/proc/sys/net/ipv4/conf/eth0.100/arp_ignore")
        );
        assert_eq!(
            ipv6_conf_path("all", "disable_ipv6"),
            PathBuf::from("/proc/sys/net/ipv6/conf/all/disable_ipv6")
        );
    }
}
