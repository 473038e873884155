//! Forged, foreign, replayed and relayed datagrams are refused and change nothing.
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use crate::peers::auth::PeerKey;
use crate::peers::metrics::Rejection;
use crate::peers::receive::admit_datagram;
use crate::peers::replay::{admit, ReplayRejection, ReplayState, WINDOW_MS};
use crate::peers::wire::{encode_unsigned, Body, Claim, Echo, Header};
use crate::peers::{own_address, KeySource};

const NOW_MS: u64 = 1_700_000_000_000;

fn sender() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))
}

fn key() -> PeerKey {
    PeerKey::derive(b"cluster one secret material", "test")
}

fn heartbeat(key: &PeerKey, boot_id: u64, seq: u64, sent_unix_ms: u64, term: u64) -> Vec<u8> {
    let header = Header {
        cluster_id: key.cluster_id,
        boot_id,
        seq,
        sent_unix_ms,
    };
    let body = Body::Heartbeat {
        claim: Claim {
            sender: sender(),
            term,
            leader: Some(sender()),
        },
        echo: Echo::default(),
    };
    let mut datagram = encode_unsigned(&header, &body);
    let tag = key.tag(&datagram);
    datagram.extend_from_slice(&tag);
    datagram
}

#[test]
fn each_kind_of_bad_datagram_is_refused_for_its_reason() {
    let key = key();
    let mut replay = BTreeMap::new();
    let good = heartbeat(&key, 1, 10, NOW_MS, 3);
    assert!(admit_datagram(&good, sender(), &key, &mut replay, NOW_MS).is_ok());
    let state_after_good = replay.clone();

    let foreign_key = PeerKey::derive(b"cluster two secret material", "test");
    let foreign = heartbeat(&foreign_key, 1, 11, NOW_MS, 99);
    let mut forged = heartbeat(&key, 1, 11, NOW_MS, 99);
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let mut tampered = heartbeat(&key, 1, 11, NOW_MS, 3);
    tampered[60] ^= 0x80; // inside the term
    let stale = heartbeat(&key, 1, 11, NOW_MS - WINDOW_MS - 1, 3);
    let cases: [(&str, Vec<u8>, IpAddr, Rejection); 7] = [
        ("replayed", good.clone(), sender(), Rejection::Replayed),
        (
            "foreign cluster",
            foreign,
            sender(),
            Rejection::ForeignCluster,
        ),
        ("forged tag", forged, sender(), Rejection::BadMac),
        ("tampered body", tampered, sender(), Rejection::BadMac),
        (
            "outside the window",
            stale,
            sender(),
            Rejection::OutsideWindow,
        ),
        (
            "relayed from another address",
            heartbeat(&key, 1, 12, NOW_MS, 3),
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 99)),
            Rejection::SourceMismatch,
        ),
        ("garbage", vec![0u8; 100], sender(), Rejection::Malformed),
    ];
    for (name, datagram, source, expected) in cases {
        let result = admit_datagram(&datagram, source, &key, &mut replay, NOW_MS);
        assert_eq!(result.err(), Some(expected), "{name}");
        assert_eq!(replay, state_after_good, "{name} changed the replay state");
    }
}

#[test]
fn replay_rules_per_boot() {
    let header = |boot_id, seq, sent_unix_ms| Header {
        cluster_id: 0,
        boot_id,
        seq,
        sent_unix_ms,
    };
    let mut state: Option<ReplayState> = None;
    let steps = [
        ("first datagram", header(1, 5, NOW_MS), Ok(())),
        (
            "same seq",
            header(1, 5, NOW_MS + 1),
            Err(ReplayRejection::Replayed),
        ),
        (
            "older seq",
            header(1, 4, NOW_MS + 1),
            Err(ReplayRejection::Replayed),
        ),
        ("next seq", header(1, 6, NOW_MS + 50), Ok(())),
        (
            "new boot, sent before the old boot's last",
            header(2, 1, NOW_MS + 49),
            Err(ReplayRejection::Replayed),
        ),
        ("new boot, later", header(2, 1, NOW_MS + 300), Ok(())),
        (
            "old boot again",
            header(1, 7, NOW_MS + 100),
            Err(ReplayRejection::Replayed),
        ),
        (
            "too far in the future",
            header(2, 2, NOW_MS + WINDOW_MS + 1),
            Err(ReplayRejection::OutsideWindow),
        ),
    ];
    for (name, h, expected) in steps {
        assert_eq!(admit(&mut state, &h, NOW_MS), expected, "{name}");
    }
}

#[test]
fn own_address_prefers_the_backend_on_the_interface() {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let interface = [ip("fe80::1"), ip("192.168.1.5"), ip("10.0.0.2")];
    assert_eq!(
        own_address(None, &interface, &[ip("10.0.0.1"), ip("10.0.0.2")]),
        Some(ip("10.0.0.2"))
    );
    assert_eq!(own_address(None, &interface, &[]), Some(ip("192.168.1.5")));
    assert_eq!(
        own_address(None, &[ip("fe80::1"), ip("fd00::5")], &[]),
        Some(ip("fd00::5"))
    );
    assert_eq!(own_address(None, &[ip("fe80::1")], &[]), None);
    assert_eq!(
        own_address(Some(ip("10.9.9.9")), &interface, &[]),
        Some(ip("10.9.9.9"))
    );
}

#[test]
fn no_key_file_means_no_start() {
    let missing = KeySource::FirstOf(vec!["/nonexistent/ca.key".into()]);
    let error = PeerKey::load(&missing).unwrap_err().to_string();
    assert!(error.contains("--peer-key-file"), "{error}");
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short");
    std::fs::write(&short, "tiny").unwrap();
    let error = PeerKey::load(&KeySource::File(short))
        .unwrap_err()
        .to_string();
    assert!(error.contains("at least 16"), "{error}");
}
