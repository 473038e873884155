//! The model on hand-written frames: every expected byte is written out here, checksums
//! were computed separately (Python, RFC 1071).
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vip_common::Reason;
use vip_model::{
    decide,
    invariants::{check, Violation},
    Action, BackendSlot, Flow, FlowChange, ModelState, Pin, Service,
};

const OUR_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
const BACKEND_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xb1];
const VIP4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
const VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100);

fn state() -> ModelState {
    let tcp = |vip: IpAddr| Service {
        vip,
        port: 6443,
        proto: 6,
    };
    ModelState {
        configured: true,
        announcing: true,
        deadline_passed: false,
        on_announce_interface: true,
        pin_guard_open: true,
        mac: OUR_MAC,
        hash_seed: 7,
        ring_size: 3,
        vips: BTreeSet::from([VIP4.into(), VIP6.into()]),
        // Every slot holds backend 1: the pick does not depend on the hash.
        services: BTreeMap::from([
            (tcp(VIP4.into()), vec![1; 3]),
            (tcp(VIP6.into()), vec![1; 3]),
        ]),
        backends: BTreeMap::from([(
            1,
            BackendSlot {
                server: Ipv4Addr::new(10, 0, 0, 2).into(),
                mac: BACKEND_MAC,
                active: true,
                local: false,
            },
        )]),
        peer_macs: BTreeSet::new(),
        flows: BTreeMap::new(),
        mimic: Default::default(),
    }
}

fn hex(s: &str) -> Vec<u8> {
    let digits: String = s.split_whitespace().collect();
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
        .collect()
}

const ARP_REQUEST: &str = "ffffffffffff 0200000000c1 0806 0001 0800 06 04 0001
    0200000000c1 0a000032 000000000000 0a000064";

#[test]
fn arp_request_for_the_vip_is_answered_in_place() {
    let d = decide(&hex(ARP_REQUEST), &state());
    let reply = hex("0200000000c1 02000000000a 0806 0001 0800 06 04 0002
         02000000000a 0a000064 0200000000c1 0a000032");
    assert_eq!((d.action, d.reason), (Action::Tx, Reason::ArpReplied));
    assert_eq!(d.output, reply);
}

#[test]
fn followers_and_stale_leaders_do_not_answer_arp() {
    let mut s = state();
    s.announcing = false;
    assert_eq!(
        decide(&hex(ARP_REQUEST), &s).reason,
        Reason::ArpNotAnnouncing
    );
    s.announcing = true;
    s.deadline_passed = true;
    let d = decide(&hex(ARP_REQUEST), &s);
    assert_eq!(
        (d.action, d.reason),
        (Action::Pass, Reason::ArpDeadlinePassed)
    );
    assert_eq!(d.output, hex(ARP_REQUEST));
}

#[test]
fn arp_with_ipv6_protocol_type_is_malformed() {
    let frame = hex(&ARP_REQUEST.replace("0001 0800 06 04", "0001 86dd 06 04"));
    assert_eq!(decide(&frame, &state()).reason, Reason::ArpMalformed);
}

const NS: &str = "3333ff000100 0200000000c1 86dd 60000000 0020 3a ff
    20010db8000000000000000000000050 ff0200000000000000000001ff000100
    87 00 191c 00000000 20010db8000000000000000000000100 01 01 0200000000c1";

#[test]
fn solicitation_for_the_vip_gets_a_solicited_advertisement() {
    let d = decide(&hex(NS), &state());
    let advert = hex("0200000000c1 02000000000a 86dd 60000000 0020 3a ff
         20010db8000000000000000000000100 20010db8000000000000000000000050
         88 00 881e 60000000 20010db8000000000000000000000100 02 01 02000000000a");
    assert_eq!((d.action, d.reason), (Action::Tx, Reason::NdpAdvertised));
    assert_eq!(d.output, advert);
}

#[test]
fn duplicate_address_detection_is_answered_to_all_nodes() {
    let frame = hex("3333ff000100 0200000000c1 86dd 60000000 0018 3a ff
         00000000000000000000000000000000 ff0200000000000000000001ff000100
         87 00 4aef 00000000 20010db8000000000000000000000100");
    let advert = hex("333300000001 02000000000a 86dd 60000000 0020 3a ff
         20010db8000000000000000000000100 ff020000000000000000000000000001
         88 00 f723 20000000 20010db8000000000000000000000100 02 01 02000000000a");
    assert_eq!(decide(&frame, &state()).output, advert);
}

#[test]
fn solicitations_failing_rfc4861_validation_are_not_answered() {
    let bad_checksum = hex(&NS.replace("87 00 191c", "87 00 191d"));
    assert_eq!(decide(&bad_checksum, &state()).reason, Reason::NdpMalformed);
    // Duplicate address detection must not carry a source link-layer address option.
    let dad_with_option = hex("3333ff000100 0200000000c1 86dd 60000000 0020 3a ff
         00000000000000000000000000000000 ff0200000000000000000001ff000100
         87 00 0000 00000000 20010db8000000000000000000000100 01 01 0200000000c1");
    assert_eq!(
        decide(&dad_with_option, &state()).reason,
        Reason::NdpMalformed
    );
    // Payload length beyond the frame.
    let short = hex(&NS.replace("60000000 0020 3a ff", "60000000 0028 3a ff"));
    assert_eq!(decide(&short, &state()).reason, Reason::NdpTruncated);
    let zero_length_option = hex(&NS.replace("01 01 0200000000c1", "01 00 0200000000c1"));
    assert_eq!(
        decide(&zero_length_option, &state()).reason,
        Reason::NdpMalformed
    );
}

const SYN4: &str = "02000000000a 0200000000c1 0800 45 00 0028 0000 4000 40 06 0000
    0a000032 0a000064 9c40 192b 00000000 00000000 50 02 ffff 0000 0000";

#[test]
fn syn_is_forwarded_unpinned_and_the_next_segment_pins() {
    let d = decide(&hex(SYN4), &state());
    let mut expected = hex(SYN4);
    expected[..12].copy_from_slice(&hex("0200000000b1 02000000000a"));
    assert_eq!((d.action, d.reason), (Action::Tx, Reason::Forwarded));
    assert_eq!(d.output, expected);
    let flow = Flow {
        client: Ipv4Addr::new(10, 0, 0, 50).into(),
        client_port: 40000,
        service: Service {
            vip: VIP4.into(),
            port: 6443,
            proto: 6,
        },
    };
    assert_eq!(d.flow, Some((flow, None)));
    let ack = hex(&SYN4.replace("50 02 ffff", "50 10 ffff"));
    let pin = Pin {
        backend_id: 1,
        server: Ipv4Addr::new(10, 0, 0, 2).into(),
        idle: false,
    };
    assert_eq!(
        decide(&ack, &state()).flow,
        Some((flow, Some(FlowChange::Pin(pin))))
    );
    let mut guarded = state();
    guarded.pin_guard_open = false;
    let d = decide(&ack, &guarded);
    assert_eq!((d.reason, d.flow), (Reason::Forwarded, Some((flow, None))));
}

#[test]
fn ipv4_fragment_and_foreign_mac_go_to_the_stack() {
    let fragment = hex(&SYN4.replace("0000 4000 40 06", "0000 2000 40 06"));
    assert_eq!(decide(&fragment, &state()).reason, Reason::Ipv4Fragment);
    let flooded = hex(&SYN4.replacen("02000000000a", "02000000000b", 1));
    assert_eq!(decide(&flooded, &state()).reason, Reason::NotOurMac);
}

#[test]
fn ipv4_mapped_ipv6_destination_is_not_the_ipv4_vip() {
    // RFC 4291 §2.5.5.2: ::ffff:10.0.0.100 on the wire is not the IPv4 VIP.
    let frame = hex("02000000000a 0200000000c1 86dd 60000000 0014 06 40
         20010db8000000000000000000000050 00000000000000000000ffff0a000064
         9c40 192b 00000000 00000000 50 02 ffff 0000 0000");
    assert_eq!(decide(&frame, &state()).reason, Reason::NotVip);
}

#[test]
fn vlan_tagged_frames_pass() {
    let tagged = hex("02000000000a 0200000000c1 8100 0064 0800 45");
    assert_eq!(decide(&tagged, &state()).reason, Reason::VlanTagged);
}

#[test]
fn invariants_catch_a_changed_payload_and_foreign_tx() {
    let s = state();
    let frame = hex(SYN4);
    let mut rewritten = frame.clone();
    rewritten[22] -= 1; // TTL
    assert_eq!(
        check(&frame, &s, Action::Tx, &rewritten),
        Err(Violation::ForwardChangedPayload)
    );
    let not_vip = hex(&SYN4.replace("0a000032 0a000064", "0a000032 0a000065"));
    assert_eq!(
        check(&not_vip, &s, Action::Tx, &not_vip),
        Err(Violation::TxOfForeignFrame)
    );
    let mut follower = s.clone();
    follower.announcing = false;
    let request = hex(ARP_REQUEST);
    assert_eq!(
        check(&request, &follower, Action::Tx, &request),
        Err(Violation::AnswerWhileNotAnnouncing)
    );
    assert_eq!(
        check(&frame, &s, Action::Pass, &rewritten),
        Err(Violation::PassedFrameModified)
    );
}
