//! Asking "who has the VIP?" from the client, and hearing every MAC that answers.
//!
//! The requests come from an address and MAC of their own ([`PROBER4`], [`PROBER_MAC`]):
//! replies then go to a MAC the client's kernel does not own, so they never update its
//! ARP cache, and the probe does not speed up the failover the client's requests see.
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use pnet_datalink::{Channel, Config, DataLinkReceiver, DataLinkSender};

use crate::netns::in_netns;
use crate::topology::Mac;
use crate::LabError;

/// Sender address of ARP probes: on the lab subnet, used by nobody.
pub const PROBER4: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 51);
/// Sender MAC of ARP probes.
pub const PROBER_MAC: Mac = [0x02, 0x77, 0, 0, 0, 0x51];

/// A raw socket on the client's interface; usable from any thread once opened.
pub struct ArpProber {
    tx: Box<dyn DataLinkSender>,
    rx: Box<dyn DataLinkReceiver>,
    mac: Mac,
    ip: Ipv4Addr,
}

impl ArpProber {
    /// Opens `interface` of `netns`, asking as [`PROBER4`] / [`PROBER_MAC`].
    pub fn open(netns: &str, interface: &str) -> Result<Self, LabError> {
        in_netns(netns, || {
            let iface = pnet_datalink::interfaces()
                .into_iter()
                .find(|i| i.name == interface)
                .ok_or_else(|| LabError::Arp(format!("no interface {interface} in {netns}")))?;
            let config = Config {
                read_timeout: Some(Duration::from_millis(5)),
                // Frames to PROBER_MAC reach packet sockets without it.
                promiscuous: false,
                ..Config::default()
            };
            let (mac, ip) = (PROBER_MAC, PROBER4);
            match pnet_datalink::channel(&iface, config) {
                Ok(Channel::Ethernet(tx, rx)) => Ok(Self { tx, rx, mac, ip }),
                Ok(_) => Err(LabError::Arp("unexpected channel type".to_owned())),
                Err(e) => Err(LabError::Arp(format!("raw socket on {interface}: {e}"))),
            }
        })?
    }

    /// Broadcasts one request for `target` and returns every MAC that answered within
    /// `wait`.
    pub fn who_has(&mut self, target: Ipv4Addr, wait: Duration) -> Result<BTreeSet<Mac>, LabError> {
        // Replies to an earlier request must not count for this one.
        let drain_until = Instant::now() + Duration::from_millis(1);
        while Instant::now() < drain_until && self.rx.next().is_ok() {}
        let frame = request(self.mac, self.ip, target);
        match self.tx.send_to(&frame, None) {
            Some(Ok(())) => {}
            Some(Err(e)) => return Err(LabError::Arp(format!("send: {e}"))),
            None => return Err(LabError::Arp("send: no buffer".to_owned())),
        }
        let deadline = Instant::now() + wait;
        let mut macs = BTreeSet::new();
        while Instant::now() < deadline {
            if let Ok(frame) = self.rx.next() {
                if let Some(mac) = reply_from(frame, target, self.ip) {
                    macs.insert(mac);
                }
            }
        }
        Ok(macs)
    }
}

/// An Ethernet broadcast ARP request (who has `target`? tell `ip`).
fn request(mac: Mac, ip: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let mut frame = Vec::with_capacity(42);
    frame.extend_from_slice(&[0xff; 6]);
    frame.extend_from_slice(&mac);
    frame.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    frame.extend_from_slice(&mac);
    frame.extend_from_slice(&ip.octets());
    frame.extend_from_slice(&[0; 6]);
    frame.extend_from_slice(&target.octets());
    frame
}

/// The sender MAC of an ARP reply from `target` to `ip`.
fn reply_from(frame: &[u8], target: Ipv4Addr, ip: Ipv4Addr) -> Option<Mac> {
    let arp = frame.get(14..42)?;
    let is_reply = frame.get(12..14)? == [0x08, 0x06] && arp[6..8] == [0, 2];
    (is_reply && arp[14..18] == target.octets() && arp[24..28] == ip.octets())
        .then(|| arp[8..14].try_into().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_is_recognised_and_a_request_is_not() {
        let (client, vip) = (Ipv4Addr::new(10, 77, 0, 50), Ipv4Addr::new(10, 77, 0, 100));
        let ours = [2, 0x77, 0, 0, 0, 0x50];
        let theirs = [2, 0x77, 0, 0, 0, 1];
        let asked = request(ours, client, vip);
        assert_eq!(reply_from(&asked, vip, client), None);
        let mut answer = asked.clone();
        answer[0..6].copy_from_slice(&ours);
        answer[6..12].copy_from_slice(&theirs);
        answer[20..22].copy_from_slice(&[0, 2]);
        answer[22..28].copy_from_slice(&theirs);
        answer[28..32].copy_from_slice(&vip.octets());
        answer[32..38].copy_from_slice(&ours);
        answer[38..42].copy_from_slice(&client.octets());
        assert_eq!(reply_from(&answer, vip, client), Some(theirs));
    }
}
