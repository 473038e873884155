//! Userspace address announcements on takeover: gratuitous ARP for IPv4 VIPs and
//! unsolicited neighbour advertisements for IPv6 VIPs, sent over `AF_PACKET`, plus
//! detection of foreign hosts claiming our VIPs.

mod announcer;
mod conflict;
mod frames;
mod sender;

#[cfg(test)]
mod announcer_tests;
#[cfg(test)]
mod netns_test;

use std::fmt;
use std::io;

pub use announcer::{AnnounceSchedule, AnnounceStats, Announcer};
pub use conflict::{detect_conflict, AddressConflict, ClaimKind};
pub use frames::{
    announcement_frames, gratuitous_arp_reply, gratuitous_arp_request, icmpv6_checksum,
    unsolicited_neighbor_advertisement,
};
pub use sender::{FrameSink, InterfaceSelector, InterfaceSender};

/// An Ethernet MAC address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    pub const ZERO: MacAddr = MacAddr([0; 6]);
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AnnounceError {
    #[error("network interface {selector} not found")]
    InterfaceNotFound { selector: String },
    #[error("network interface {interface} has no MAC address")]
    NoMacAddress { interface: String },
    #[error("opening AF_PACKET socket on {interface}: {source}")]
    OpenSocket {
        interface: String,
        source: io::Error,
    },
    #[error("datalink backend returned a non-Ethernet channel for {interface}")]
    UnsupportedChannel { interface: String },
    #[error("sending {len}-byte frame on {interface}: {source}")]
    Send {
        interface: String,
        len: usize,
        source: io::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::MacAddr;

    #[test]
    fn mac_displays_as_lowercase_colon_hex() {
        let mac = MacAddr([0x02, 0x00, 0x5e, 0x10, 0xab, 0xff]);
        assert_eq!(mac.to_string(), "02:00:5e:10:ab:ff");
    }
}
