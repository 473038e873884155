//! Sends raw Ethernet frames out of one interface through an `AF_PACKET` socket.

use std::fmt;
use std::os::fd::IntoRawFd;
use std::time::Duration;

use pnet_datalink::{Channel, ChannelType, Config, DataLinkSender, NetworkInterface};
use socket2::{Domain, Socket, Type};

use super::{AnnounceError, MacAddr};

/// Bounds how long one send may wait for room in the device queue.
const WRITE_TIMEOUT: Duration = Duration::from_millis(100);
/// Binding to protocol 0 registers no packet tap, so the socket never receives (or
/// clones) any of the interface's traffic; the kernel still parses the protocol of
/// each sent frame from its Ethernet header.
const SEND_ONLY_PROTOCOL: u16 = 0;

/// Destination for announcement frames; implemented by [`InterfaceSender`] and by
/// test doubles.
pub trait FrameSink: Send {
    fn send_frame(&mut self, frame: &[u8]) -> Result<(), AnnounceError>;
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InterfaceSelector {
    Name(String),
    Index(u32),
}

impl fmt::Display for InterfaceSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InterfaceSelector::Name(name) => write!(f, "{name:?}"),
            InterfaceSelector::Index(index) => write!(f, "with index {index}"),
        }
    }
}

/// A send-only `AF_PACKET` socket bound to one interface. The socket lives in the
/// network namespace of the thread that opened it.
pub struct InterfaceSender {
    name: String,
    index: u32,
    mac: MacAddr,
    tx: Box<dyn DataLinkSender>,
}

impl InterfaceSender {
    pub fn open(selector: &InterfaceSelector) -> Result<Self, AnnounceError> {
        let interface = find_interface(selector)?;
        // Loopback and similar devices report an all-zero address, which cannot be announced.
        let mac = interface
            .mac
            .map(|mac| MacAddr(mac.octets()))
            .filter(|mac| *mac != MacAddr::ZERO)
            .ok_or_else(|| AnnounceError::NoMacAddress {
                interface: interface.name.clone(),
            })?;
        let open_error = |source| AnnounceError::OpenSocket {
            interface: interface.name.clone(),
            source,
        };
        // Created here rather than by pnet so the socket starts with protocol 0.
        let socket = Socket::new(Domain::PACKET, Type::RAW, None).map_err(open_error)?;
        let config = Config {
            write_timeout: Some(WRITE_TIMEOUT),
            channel_type: ChannelType::Layer3(SEND_ONLY_PROTOCOL),
            promiscuous: false,
            socket_fd: Some(socket.into_raw_fd()),
            ..Config::default()
        };
        let tx = match pnet_datalink::channel(&interface, config).map_err(open_error)? {
            Channel::Ethernet(tx, _rx) => tx,
            _ => {
                return Err(AnnounceError::UnsupportedChannel {
                    interface: interface.name,
                })
            }
        };
        Ok(InterfaceSender {
            name: interface.name,
            index: interface.index,
            mac,
            tx,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn index(&self) -> u32 {
        self.index
    }

    pub fn mac(&self) -> MacAddr {
        self.mac
    }
}

impl FrameSink for InterfaceSender {
    fn send_frame(&mut self, frame: &[u8]) -> Result<(), AnnounceError> {
        let send_error = |source| AnnounceError::Send {
            interface: self.name.clone(),
            len: frame.len(),
            source,
        };
        match self.tx.send_to(frame, None) {
            Some(result) => result.map_err(send_error),
            // pnet's Linux backend always returns Some; None would mean nothing was sent.
            None => Err(send_error(std::io::Error::from(
                std::io::ErrorKind::InvalidInput,
            ))),
        }
    }
}

fn find_interface(selector: &InterfaceSelector) -> Result<NetworkInterface, AnnounceError> {
    pnet_datalink::interfaces()
        .into_iter()
        .find(|interface| match selector {
            InterfaceSelector::Name(name) => interface.name == *name,
            InterfaceSelector::Index(index) => interface.index == *index,
        })
        .ok_or_else(|| AnnounceError::InterfaceNotFound {
            selector: selector.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_interface_is_reported_with_its_selector() {
        let selector = InterfaceSelector::Name("vt-garp-absent".to_string());
        match InterfaceSender::open(&selector) {
            Err(AnnounceError::InterfaceNotFound { selector }) => {
                assert_eq!(selector, "\"vt-garp-absent\"")
            }
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("opened a nonexistent interface"),
        }
    }

    #[test]
    fn loopback_without_mac_is_rejected() {
        match InterfaceSender::open(&InterfaceSelector::Name("lo".to_string())) {
            Err(AnnounceError::NoMacAddress { interface }) => assert_eq!(interface, "lo"),
            Err(other) => panic!("unexpected error {other}"),
            Ok(sender) => panic!("lo reported MAC {}", sender.mac()),
        }
    }
}
