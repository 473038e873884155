//! The Lease mirror against the in-tree API stand-in, and the remembered peer set.
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::lease_test_server::{write_kubeconfig, LeaseTestServer};
use crate::peers::lease_mirror::{mirror, MirrorConfig};
use crate::peers::membership::{load_remembered, Membership};

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[tokio::test]
async fn the_leader_writes_itself_into_the_lease_and_an_outage_does_not_block_it() {
    let server = LeaseTestServer::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    write_kubeconfig(&kubeconfig, &server.url()).unwrap();
    let client = crate::election::client_from(Some(&kubeconfig))
        .await
        .unwrap();
    let config = MirrorConfig {
        name: "vip-agent-lock".into(),
        namespace: "kube-system".into(),
        identity: "cp-2".into(),
        period: Duration::from_millis(100),
        duration: Duration::from_secs(5),
    };
    let (leader, rx) = watch::channel(false);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(mirror(client, config, rx, shutdown.clone()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        server.lease("kube-system", "vip-agent-lock").is_none(),
        "a follower writes nothing"
    );
    leader.send_replace(true);
    let holder = || {
        server
            .lease("kube-system", "vip-agent-lock")
            .and_then(|l| l.spec?.holder_identity)
    };
    for _ in 0..50 {
        if holder().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(holder().as_deref(), Some("cp-2"));
    // During an outage the mirror keeps trying on its own; shutting down is not delayed.
    server.set_outage(true);
    tokio::time::sleep(Duration::from_millis(250)).await;
    shutdown.cancel();
    tokio::time::timeout(Duration::from_millis(500), task)
        .await
        .expect("the mirror stops at once")
        .unwrap();
}

#[test]
fn the_peer_set_is_remembered_and_learned_nodes_join_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("peers.json");
    let mut membership = Membership::new(ip("10.0.0.2"), Some(path.clone()));
    membership.set_configured(&[ip("10.0.0.1"), ip("10.0.0.2")]);
    assert_eq!(
        load_remembered(&path),
        Some(BTreeSet::from([ip("10.0.0.1"), ip("10.0.0.2")]))
    );
    assert!(membership.learn(ip("10.0.0.3")));
    assert!(!membership.learn(ip("10.0.0.3")), "learned once");
    assert_eq!(
        load_remembered(&path),
        Some(BTreeSet::from([
            ip("10.0.0.1"),
            ip("10.0.0.2"),
            ip("10.0.0.3")
        ]))
    );
    // An empty set (discovery not answered yet) keeps what is known.
    membership.set_configured(&[]);
    assert_eq!(membership.members().len(), 3);
    // A restarted agent starts from the remembered set.
    let mut restarted = Membership::new(ip("10.0.0.2"), Some(path.clone()));
    restarted.add_remembered(&load_remembered(&path).unwrap());
    assert_eq!(
        restarted.peers().collect::<Vec<_>>(),
        [ip("10.0.0.1"), ip("10.0.0.3")]
    );
}

#[test]
fn status_shows_the_term_and_each_peer() {
    use crate::peers::status::{text, PeerReport, PeerView, StoredView};
    let stored = StoredView {
        written_unix_ms: u64::MAX / 2,
        view: PeerView {
            address: Some(ip("10.0.0.2")),
            term: 7,
            leader: Some(ip("10.0.0.1")),
            role: "following".into(),
            alive: 2,
            members: 3,
            peers: vec![
                PeerReport {
                    address: ip("10.0.0.1"),
                    state: "alive".into(),
                    last_heard_ms_ago: Some(12),
                    rtt_us: Some(85),
                    term: 7,
                    leader: Some(ip("10.0.0.1")),
                    in_ring: true,
                },
                PeerReport {
                    address: ip("10.0.0.3"),
                    state: "dead".into(),
                    last_heard_ms_ago: None,
                    rtt_us: None,
                    term: 0,
                    leader: None,
                    in_ring: false,
                },
            ],
        },
    };
    let shown = text(&stored);
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(
        lines[0],
        "Election     peers: term 7, leader 10.0.0.1, this node 10.0.0.2 following (2 of 3 alive)"
    );
    let words = |line: &str| {
        line.split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        words(lines[2]),
        ["10.0.0.1", "alive", "12", "ms", "85", "us", "7", "10.0.0.1", "in"]
    );
    assert_eq!(
        words(lines[3]),
        ["10.0.0.3", "dead", "never", "-", "0", "-", "out"]
    );
}
