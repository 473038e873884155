//! IEEE 802.3 Ethernet II header: destination, source, EtherType (or a VLAN TPID).
use super::{array, be16, Mac};

pub const HEADER_LEN: usize = 14;
pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// IEEE 802.1Q customer tag and 802.1ad service tag.
pub const TPID_8021Q: u16 = 0x8100;
pub const TPID_8021AD: u16 = 0x88a8;
pub const BROADCAST: Mac = [0xff; 6];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ethernet {
    pub dst: Mac,
    pub src: Mac,
    pub ethertype: u16,
}

pub fn parse(frame: &[u8]) -> Option<Ethernet> {
    Some(Ethernet {
        dst: array(frame, 0)?,
        src: array(frame, 6)?,
        ethertype: be16(frame, 12)?,
    })
}
