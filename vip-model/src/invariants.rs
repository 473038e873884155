//! Properties every verdict must have, whatever the model decides: checked on the
//! program's actual result, from the frame and the state alone.
use std::net::{IpAddr, Ipv4Addr};

use crate::{
    decision::Action,
    state::{ModelState, Service},
    wire::{
        arp,
        ethernet::{self, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, HEADER_LEN},
        ipv4, ipv6, transport,
    },
};

/// Size of the neighbour advertisement frame the announcer sends.
pub const ADVERTISEMENT_FRAME_LEN: usize = HEADER_LEN + ipv6::HEADER_LEN + 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Violation {
    /// XDP_TX of a frame that is neither ARP/NDP for a VIP nor traffic to a VIP service.
    TxOfForeignFrame,
    /// An ARP/NDP answer from a follower, past the deadline or on another interface.
    AnswerWhileNotAnnouncing,
    /// A forwarded frame whose bytes after the Ethernet addresses changed.
    ForwardChangedPayload,
    /// Output length differs from input length (other than the advertisement resize).
    LengthChanged,
    /// XDP_PASS or XDP_DROP with a modified frame.
    PassedFrameModified,
}

/// What kind of frame the input is, for the invariants.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    ArpRequestForVip,
    SolicitationForVip,
    ToVipService,
    Other,
}

pub fn check(
    frame: &[u8],
    state: &ModelState,
    action: Action,
    output: &[u8],
) -> Result<(), Violation> {
    if action != Action::Tx {
        return if output == frame {
            Ok(())
        } else {
            Err(Violation::PassedFrameModified)
        };
    }
    match classify(frame, state) {
        Kind::Other => Err(Violation::TxOfForeignFrame),
        Kind::ArpRequestForVip | Kind::SolicitationForVip
            if !state.announcing || state.deadline_passed || !state.on_announce_interface =>
        {
            Err(Violation::AnswerWhileNotAnnouncing)
        }
        Kind::SolicitationForVip if output.len() != ADVERTISEMENT_FRAME_LEN => {
            Err(Violation::LengthChanged)
        }
        Kind::SolicitationForVip => Ok(()),
        _ if output.len() != frame.len() => Err(Violation::LengthChanged),
        Kind::ToVipService if output[12..] != frame[12..] => Err(Violation::ForwardChangedPayload),
        _ => Ok(()),
    }
}

fn classify(frame: &[u8], state: &ModelState) -> Kind {
    let Some(eth) = ethernet::parse(frame) else {
        return Kind::Other;
    };
    let service = |vip: IpAddr, port: u16, proto: u8| {
        state.services.contains_key(&Service { vip, port, proto })
    };
    match eth.ethertype {
        ETHERTYPE_ARP => match arp::parse(frame, HEADER_LEN) {
            Some(a)
                if a.op == arp::OP_REQUEST && state.is_vip(Ipv4Addr::from(a.target_ip).into()) =>
            {
                Kind::ArpRequestForVip
            }
            _ => Kind::Other,
        },
        ETHERTYPE_IPV4 => {
            let Some(ip) = ipv4::parse(frame, HEADER_LEN) else {
                return Kind::Other;
            };
            let vip = IpAddr::V4(Ipv4Addr::from(ip.dst));
            let l4 = HEADER_LEN + ip.header_len;
            let direct =
                transport::ports(frame, l4).is_some_and(|p| service(vip, p.dst, ip.protocol));
            // An ICMP error quoting a packet sent from a service.
            let quoted = ipv4::parse(frame, l4 + 8).is_some_and(|q| {
                transport::ports(frame, l4 + 8 + q.header_len).is_some_and(|p| {
                    IpAddr::V4(q.src.into()) == vip && service(vip, p.src, q.protocol)
                })
            });
            if state.is_vip(vip) && (direct || quoted) {
                Kind::ToVipService
            } else {
                Kind::Other
            }
        }
        ETHERTYPE_IPV6 => {
            let Some(ip) = ipv6::parse(frame, HEADER_LEN) else {
                return Kind::Other;
            };
            let l4 = HEADER_LEN + ipv6::HEADER_LEN;
            let vip = state.ipv6_address(ip.dst);
            let icmp = transport::icmp(frame, l4);
            if ip.next_header == ipv6::NEXT_ICMPV6 && icmp.is_some_and(|i| i.kind == 135) {
                let target = crate::wire::array::<16>(frame, l4 + 8);
                return match target {
                    Some(t) if state.is_vip(state.ipv6_address(t)) => Kind::SolicitationForVip,
                    _ => Kind::Other,
                };
            }
            let direct =
                transport::ports(frame, l4).is_some_and(|p| service(vip, p.dst, ip.next_header));
            let quoted = ipv6::parse(frame, l4 + 8).is_some_and(|q| {
                transport::ports(frame, l4 + 8 + ipv6::HEADER_LEN).is_some_and(|p| {
                    state.ipv6_address(q.src) == vip && service(vip, p.src, q.next_header)
                })
            });
            if state.is_vip(vip) && (direct || quoted) {
                Kind::ToVipService
            } else {
                Kind::Other
            }
        }
        _ => Kind::Other,
    }
}
