//! Bond slaves of the announcing interface. In native XDP mode the program attached to a
//! bond runs on each slave, so ARP and NDP arrive with a slave's ifindex; the XDP program
//! accepts those (and only those) besides the bond's own.
use std::path::{Path, PathBuf};

use vip_common::MAX_BOND_SLAVES;

/// Where the kernel lists network interfaces.
pub const SYS_CLASS_NET: &str = "/sys/class/net";

#[derive(Debug, thiserror::Error)]
pub enum BondError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} holds {text:?}, not an ifindex")]
    BadIfindex { path: PathBuf, text: String },
    #[error("bond {bond} has {count} slaves; the XDP program accepts at most {MAX_BOND_SLAVES}")]
    TooManySlaves { bond: String, count: usize },
}

fn read(path: PathBuf) -> Result<String, BondError> {
    std::fs::read_to_string(&path).map_err(|source| BondError::Read { path, source })
}

/// The ifindexes of `interface`'s bond slaves, from `<sys_class_net>/<interface>/bonding/
/// slaves`; empty when the interface is not a bond.
pub fn slave_ifindexes(sys_class_net: &Path, interface: &str) -> Result<Vec<u32>, BondError> {
    let list = sys_class_net.join(interface).join("bonding/slaves");
    if !list.exists() {
        return Ok(Vec::new());
    }
    let names = read(list)?;
    let slaves: Vec<&str> = names.split_whitespace().collect();
    if slaves.len() > MAX_BOND_SLAVES {
        return Err(BondError::TooManySlaves {
            bond: interface.to_owned(),
            count: slaves.len(),
        });
    }
    slaves
        .into_iter()
        .map(|slave| {
            let path = sys_class_net.join(slave).join("ifindex");
            let text = read(path.clone())?;
            text.trim()
                .parse()
                .map_err(|_| BondError::BadIfindex { path, text })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake sysfs: `bond0` with slaves eth0 (ifindex 2) and eth1 (ifindex 3), and a
    /// plain interface `eth2`.
    fn sysfs() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("bond0/bonding")).unwrap();
        std::fs::write(root.join("bond0/bonding/slaves"), "eth0 eth1\n").unwrap();
        for (name, index) in [("eth0", "2\n"), ("eth1", "3\n"), ("eth2", "4\n")] {
            std::fs::create_dir_all(root.join(name)).unwrap();
            std::fs::write(root.join(name).join("ifindex"), index).unwrap();
        }
        dir
    }

    #[test]
    fn bond_slaves_are_listed_by_ifindex() {
        let dir = sysfs();
        assert_eq!(slave_ifindexes(dir.path(), "bond0").unwrap(), vec![2, 3]);
    }

    #[test]
    fn a_plain_interface_has_no_slaves() {
        let dir = sysfs();
        assert_eq!(
            slave_ifindexes(dir.path(), "eth2").unwrap(),
            Vec::<u32>::new()
        );
    }

    #[test]
    fn an_empty_bond_has_no_slaves() {
        let dir = sysfs();
        std::fs::write(dir.path().join("bond0/bonding/slaves"), "\n").unwrap();
        assert_eq!(
            slave_ifindexes(dir.path(), "bond0").unwrap(),
            Vec::<u32>::new()
        );
    }

    #[test]
    fn too_many_slaves_is_an_error() {
        let dir = sysfs();
        let names: Vec<String> = (0..=MAX_BOND_SLAVES).map(|i| format!("eth{i}")).collect();
        std::fs::write(dir.path().join("bond0/bonding/slaves"), names.join(" ")).unwrap();
        assert!(matches!(
            slave_ifindexes(dir.path(), "bond0"),
            Err(BondError::TooManySlaves { count, .. }) if count == MAX_BOND_SLAVES + 1
        ));
    }

    #[test]
    fn a_missing_slave_is_an_error() {
        let dir = sysfs();
        std::fs::write(dir.path().join("bond0/bonding/slaves"), "eth0 gone0").unwrap();
        assert!(matches!(
            slave_ifindexes(dir.path(), "bond0"),
            Err(BondError::Read { .. })
        ));
    }
}
