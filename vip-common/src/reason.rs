//! Every XDP verdict carries one named reason; each reason has a per-CPU counter.

macro_rules! reasons {
    ($($(#[doc = $doc:literal])* $name:ident = $value:literal => $label:literal,)*) => {
        /// Why the XDP program returned what it returned. Index of `Stats::reasons`.
        #[repr(u32)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Reason {
            $($(#[doc = $doc])* $name = $value,)*
        }

        impl Reason {
            /// All reasons, in counter-index order.
            pub const ALL: &'static [Reason] = &[$(Reason::$name,)*];

            /// Stable snake_case label, used in metrics and `vip-agent status`.
            pub const fn label(self) -> &'static str {
                match self {
                    $(Reason::$name => $label,)*
                }
            }

            pub const fn from_index(index: u32) -> Option<Reason> {
                match index {
                    $($value => Some(Reason::$name),)*
                    _ => None,
                }
            }
        }
    };
}

reasons! {
    /// Shorter than an Ethernet header.
    EthTruncated = 0 => "eth_truncated",
    /// 802.1Q / 802.1AD tagged: passed untouched (VLAN VIPs are served by the stack).
    VlanTagged = 1 => "vlan_tagged",
    /// Neither ARP, IPv4 nor IPv6.
    OtherEtherType = 2 => "other_ethertype",
    ArpTruncated = 3 => "arp_truncated",
    /// Not Ethernet/IPv4 ARP (htype 1, ptype 0x0800, hlen 6, plen 4).
    ArpMalformed = 4 => "arp_malformed",
    /// Neither request nor reply.
    ArpOtherOp = 5 => "arp_other_op",
    /// About an address that is not a VIP.
    ArpNotVip = 6 => "arp_not_vip",
    /// A request for a VIP while this node is not the announcer.
    ArpNotAnnouncing = 7 => "arp_not_announcing",
    /// The announcer's liveness deadline passed: the agent stopped refreshing it.
    ArpDeadlinePassed = 8 => "arp_deadline_passed",
    ArpWrongInterface = 9 => "arp_wrong_interface",
    /// Ethernet destination neither broadcast nor our MAC.
    ArpNotForUs = 10 => "arp_not_for_us",
    /// Answered with XDP_TX.
    ArpReplied = 11 => "arp_replied",
    /// A foreign MAC claims a VIP (gratuitous ARP or reply) while we announce it.
    ArpConflict = 12 => "arp_conflict",
    /// A foreign MAC claims a VIP while we do not announce (normal on followers).
    ArpClaimSeen = 13 => "arp_claim_seen",
    /// An ARP reply about a VIP from our own MAC, or any other ARP traffic for a VIP.
    ArpPassed = 14 => "arp_passed",
    Ipv4Truncated = 15 => "ipv4_truncated",
    /// Version not 4 or header length below 20 bytes.
    Ipv4BadHeader = 16 => "ipv4_bad_header",
    /// Destination is not a VIP.
    NotVip = 17 => "not_vip",
    /// A fragment to a VIP: the local stack reassembles it (the VIP is on `lo`).
    Ipv4Fragment = 18 => "ipv4_fragment",
    Ipv6Truncated = 19 => "ipv6_truncated",
    /// Extension headers, fragments or other upper protocols to a VIP: local stack.
    Ipv6OtherNextHeader = 20 => "ipv6_other_next_header",
    /// A VIP packet that is neither TCP, UDP nor a handled ICMP message.
    VipOtherProtocol = 21 => "vip_other_protocol",
    /// The TCP/UDP header does not fit in the frame.
    L4Truncated = 22 => "l4_truncated",
    /// VIP and protocol match no configured port.
    NoService = 23 => "no_service",
    /// Sent by a peer node that already balanced it: local stack.
    FromPeer = 24 => "from_peer",
    /// The ring has no backend for this flow: local stack.
    NoBackend = 25 => "no_backend",
    /// The chosen backend is this node: XDP_PASS.
    LocalBackend = 26 => "local_backend",
    /// MAC rewritten to the chosen backend, XDP_TX.
    Forwarded = 27 => "forwarded",
    /// ICMP/ICMPv6 to a VIP other than "fragmentation needed" / "packet too big".
    IcmpOther = 28 => "icmp_other",
    /// The quoted header in an ICMP error does not fit or is not a VIP flow.
    IcmpBadInner = 29 => "icmp_bad_inner",
    NdpTruncated = 30 => "ndp_truncated",
    /// Fails RFC 4861 §7.1.1: hop limit, code, checksum, length, options, target or
    /// destination.
    NdpMalformed = 31 => "ndp_malformed",
    NdpNotVip = 32 => "ndp_not_vip",
    NdpNotAnnouncing = 33 => "ndp_not_announcing",
    NdpDeadlinePassed = 34 => "ndp_deadline_passed",
    NdpWrongInterface = 35 => "ndp_wrong_interface",
    /// The frame could not be resized to hold the advertisement.
    NdpNoRoom = 36 => "ndp_no_room",
    /// Answered with a neighbour advertisement, XDP_TX.
    NdpAdvertised = 37 => "ndp_advertised",
    NdpConflict = 38 => "ndp_conflict",
    NdpClaimSeen = 39 => "ndp_claim_seen",
    /// Missing settings: the program passes everything.
    NotConfigured = 40 => "not_configured",
    /// A VIP packet whose Ethernet destination is not our MAC (flooded by a switch).
    NotOurMac = 41 => "not_our_mac",
    /// A neighbour solicitation sent to neither our MAC nor the target's solicited-node group.
    NdpNotForUs = 42 => "ndp_not_for_us",
    /// Any other neighbour discovery traffic about a VIP (e.g. our own advertisement).
    NdpPassed = 43 => "ndp_passed",
    /// A solicitation longer than the program validates: left to the kernel.
    NdpTooLong = 44 => "ndp_too_long",
}

/// Number of reasons, the length of `Stats::reasons`.
pub const REASON_COUNT: u32 = 45;

const _: () = assert!(Reason::ALL.len() as u32 == REASON_COUNT);
