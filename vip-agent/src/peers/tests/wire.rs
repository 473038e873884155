//! The datagram layout and the key derivation against values written by hand (the HKDF
//! and HMAC vectors come from Python's hmac/hashlib, a second implementation).
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::peers::auth::{normalized_secret, PeerKey};
use crate::peers::wire::{
    decode_body, encode_unsigned, frame, Body, Claim, Echo, Header, WireError, TAG_LEN,
};

fn header() -> Header {
    Header {
        cluster_id: 0x0102_0304_0506_0708,
        boot_id: 0x1111_1111_1111_1111,
        seq: 5,
        sent_unix_ms: 1000,
    }
}

#[test]
fn a_resignation_is_laid_out_as_documented() {
    let body = Body::Resign {
        claim: Claim {
            sender: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            term: 7,
            leader: None,
        },
    };
    let mut expected = b"VIPP".to_vec();
    expected.extend_from_slice(&[1, 2, 0, 42]);
    expected.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    expected.extend_from_slice(&[0x11; 8]);
    expected.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 5]);
    expected.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0x03, 0xe8]);
    expected.extend_from_slice(&[4, 10, 0, 0, 1]);
    expected.extend_from_slice(&[0; 12]);
    expected.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 7]);
    expected.extend_from_slice(&[0; 17]);
    assert_eq!(encode_unsigned(&header(), &body), expected);
}

fn signed(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out.extend_from_slice(&[0xaa; TAG_LEN]);
    out
}

#[test]
fn a_heartbeat_round_trips_with_ipv6_addresses() {
    let body = Body::Heartbeat {
        claim: Claim {
            sender: IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2)),
            term: u64::MAX,
            leader: Some(IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1))),
        },
        echo: Echo {
            sent_mono_ns: 1,
            echoed_mono_ns: 2,
            held_ns: 3,
        },
    };
    let datagram = signed(&encode_unsigned(&header(), &body));
    let framed = frame(&datagram).unwrap();
    assert_eq!(framed.header, header());
    assert_eq!(framed.tag, &[0xaa; TAG_LEN]);
    assert_eq!(decode_body(&framed).unwrap(), body);
}

#[test]
fn fields_appended_by_a_later_minor_version_are_ignored() {
    let body = Body::Resign {
        claim: Claim {
            sender: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            term: 7,
            leader: None,
        },
    };
    let mut unsigned = encode_unsigned(&header(), &body);
    unsigned.extend_from_slice(&[9; 10]);
    unsigned[6..8].copy_from_slice(&52u16.to_be_bytes());
    let datagram = signed(&unsigned);
    assert_eq!(decode_body(&frame(&datagram).unwrap()).unwrap(), body);
}

#[test]
fn broken_datagrams_are_named() {
    let good = signed(&encode_unsigned(
        &header(),
        &Body::Resign {
            claim: Claim {
                sender: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
                term: 1,
                leader: None,
            },
        },
    ));
    let with = |at: usize, byte: u8| {
        let mut d = good.clone();
        d[at] = byte;
        d
    };
    assert_eq!(frame(&good[..50]).err(), Some(WireError::Short { len: 50 }));
    assert_eq!(frame(&with(0, b'X')).err(), Some(WireError::BadMagic));
    assert_eq!(
        frame(&with(4, 2)).err(),
        Some(WireError::Version { version: 2 })
    );
    assert_eq!(
        frame(&with(7, 41)).err(),
        Some(WireError::Length { declared: 41 })
    );
    let unknown = with(5, 9);
    assert_eq!(
        decode_body(&frame(&unknown).unwrap()).err(),
        Some(WireError::UnknownKind { kind: 9 })
    );
    let bad_family = with(40, 5);
    assert_eq!(
        decode_body(&frame(&bad_family).unwrap()).err(),
        Some(WireError::Family { family: 5 })
    );
}

#[test]
fn key_derivation_matches_an_independent_hkdf() {
    let key = PeerKey::derive(b"0123456789abcdef0123456789abcdef", "test");
    assert_eq!(key.cluster_id, 0xdf5a_c9c8_935b_83fd);
    let tag = key.tag(b"hello peers");
    let expected = "e77274c0e62dff6670acd5f97bac595345fc2e24ee4bfa7ef934f11c03fd402e";
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, expected);
    assert!(key.verify(b"hello peers", &tag));
    assert!(!key.verify(b"hello peerz", &tag));
}

#[test]
fn pem_copies_that_differ_in_layout_give_the_same_secret() {
    let unix = b"-----BEGIN RSA PRIVATE KEY-----\nQUJD\nREVG\n-----END RSA PRIVATE KEY-----\n";
    let dos = b"-----BEGIN RSA PRIVATE KEY-----\r\nQUJD\r\nREVG  \r\n-----END RSA PRIVATE KEY-----";
    assert_eq!(normalized_secret(unix), b"QUJDREVG");
    assert_eq!(normalized_secret(dos), b"QUJDREVG");
    assert_eq!(normalized_secret(b"raw\nbytes\n"), b"raw\nbytes\n");
}
