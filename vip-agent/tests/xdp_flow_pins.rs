//! BPF_PROG_TEST_RUN fixtures for the flow table's life cycle (issue 10, items 9-11): which
//! packet creates a pin, which removes it, and when a pin is ignored. Rings are written by
//! hand (every slot the same backend), so every expectation is independent of Maglev and
//! of the flow hash. Needs root.
mod support;

use support::{tcp4, PASS, TX};
use vip_agent::testing::{fixture::*, frames::*};
use vip_common::{FlowKey, PROTO_TCP, PROTO_UDP};

const PORT: u16 = 40123;

/// A ring whose every slot holds `backend`: Maglev's choice is known without hashing.
fn all_to(backend: u32) -> Vec<u32> {
    vec![backend; RING_SIZE as usize]
}

fn udp4(port: u16) -> Vec<u8> {
    eth(
        OUR_MAC,
        CLIENT_MAC,
        ETH_IPV4,
        &ipv4(CLIENT4, VIP4, 17, &udp(port, SERVICE_PORT, b"ping")),
    )
}

fn flow(client_port: u16, proto: u8) -> FlowKey {
    FlowKey {
        client: ip_key(CLIENT4.into()),
        vip: ip_key(VIP4.into()),
        client_port,
        service_port: SERVICE_PORT,
        proto,
        _pad: [0; 3],
    }
}

/// The MAC a frame leaves with, or `None` when it went to the local stack.
fn sent_to(f: &Fixture, frame: &[u8]) -> Option<Mac> {
    let (action, out, _) = f.run(frame).expect("test_run");
    match action {
        TX => Some(out[..6].try_into().unwrap()),
        PASS => None,
        other => panic!("unexpected action {other}"),
    }
}

fn mac_of(backend: usize) -> Option<Mac> {
    Some(BACKENDS[backend].1)
}

fn fixture_all_to(backend: u32) -> Fixture {
    let mut f = Fixture::new().expect("load the XDP program (needs root)");
    set_ring(&mut f, backend);
    f
}

fn set_ring(f: &mut Fixture, backend: u32) {
    f.with(|d| d.services.values_mut().for_each(|t| *t = all_to(backend)))
        .expect("apply");
}

/// Item 9: after a failover the new leader holds no pins. The first mid-connection packet
/// of a flow must pin it, so a later ring change does not move the connection.
#[test]
fn item9_mid_connection_miss_pins_the_flow() {
    let mut f = fixture_all_to(1);
    assert_eq!(sent_to(&f, &tcp4(PORT, TCP_ACK)), mac_of(1));
    assert_eq!(f.dataplane.flow(&flow(PORT, PROTO_TCP)), Some(1));
    set_ring(&mut f, 2);
    // The connection stays on backend 1; a new connection follows the new ring.
    assert_eq!(sent_to(&f, &tcp4(PORT, TCP_ACK | TCP_PSH)), mac_of(1));
    assert_eq!(sent_to(&f, &tcp4(PORT + 1, TCP_SYN)), mac_of(2));
}

/// Item 9: a SYN never creates an entry, so a SYN flood cannot evict the pins of
/// established connections (the fixture's flow table holds 1024 entries).
#[test]
fn item9_syn_flood_does_not_evict_established_pins() {
    let mut f = fixture_all_to(1);
    sent_to(&f, &tcp4(PORT, TCP_ACK));
    for port in 1000..4000 {
        f.dataplane
            .test_run(&tcp4(port, TCP_SYN))
            .expect("test_run");
    }
    assert_eq!(f.dataplane.flow(&flow(1000, PROTO_TCP)), None, "SYN pinned");
    assert_eq!(f.dataplane.flow(&flow(PORT, PROTO_TCP)), Some(1));
    set_ring(&mut f, 2);
    assert_eq!(sent_to(&f, &tcp4(PORT, TCP_ACK)), mac_of(1));
}

/// Item 9: SYN on an existing key is a new connection on a reused port: it follows the
/// ring, and its first ACK pins the new choice.
#[test]
fn item9_syn_on_a_pinned_port_follows_the_ring() {
    let mut f = fixture_all_to(1);
    sent_to(&f, &tcp4(PORT, TCP_ACK));
    set_ring(&mut f, 2);
    assert_eq!(sent_to(&f, &tcp4(PORT, TCP_SYN)), mac_of(2));
    assert_eq!(sent_to(&f, &tcp4(PORT, TCP_ACK)), mac_of(2));
    assert_eq!(f.dataplane.flow(&flow(PORT, PROTO_TCP)), Some(2));
}

/// Item 10: the client's FIN does not unpin: its final ACK, a half-closed download's ACKs
/// and a retransmitted FIN still reach the connection's backend. Only RST unpins.
#[test]
fn item10_fin_keeps_the_pin_and_rst_removes_it() {
    let mut f = fixture_all_to(2);
    sent_to(&f, &tcp4(PORT, TCP_SYN));
    sent_to(&f, &tcp4(PORT, TCP_ACK));
    assert_eq!(sent_to(&f, &tcp4(PORT, TCP_FIN | TCP_ACK)), mac_of(2));
    assert_eq!(f.dataplane.flow(&flow(PORT, PROTO_TCP)), Some(2));
    set_ring(&mut f, 1);
    assert_eq!(sent_to(&f, &tcp4(PORT, TCP_ACK)), mac_of(2), "last ACK");
    assert_eq!(sent_to(&f, &tcp4(PORT, TCP_FIN | TCP_ACK)), mac_of(2));
    // RST still reaches the pinned backend, then the entry is gone.
    assert_eq!(sent_to(&f, &tcp4(PORT, TCP_RST | TCP_ACK)), mac_of(2));
    assert_eq!(f.dataplane.flow(&flow(PORT, PROTO_TCP)), None);
    // A RST on a miss creates nothing.
    sent_to(&f, &tcp4(PORT + 1, TCP_RST));
    assert_eq!(f.dataplane.flow(&flow(PORT + 1, PROTO_TCP)), None);
}

/// Item 11: backend ids are reused lowest first. A pin to a slot that now holds another
/// server is stale: ignored and re-pinned by the ring.
#[test]
fn item11_pin_to_a_reused_backend_slot_is_stale() {
    let mut f = fixture_all_to(1);
    sent_to(&f, &tcp4(PORT, TCP_SYN));
    sent_to(&f, &tcp4(PORT, TCP_ACK));
    assert_eq!(f.dataplane.flow(&flow(PORT, PROTO_TCP)), Some(1));
    let new_server_mac: Mac = [0x02, 0, 0, 0, 0, 0xb9];
    f.with(|d| {
        let slot = d.backends.get_mut(&1).unwrap();
        slot.addr = ip_key(std::net::Ipv4Addr::new(10, 0, 0, 9).into());
        slot.mac = [0x02, 0, 0, 0, 0, 0xb9];
        d.services.values_mut().for_each(|t| *t = all_to(2));
    })
    .expect("apply");
    let to = sent_to(&f, &tcp4(PORT, TCP_ACK));
    assert_ne!(
        to,
        Some(new_server_mac),
        "stale pin followed to a new server"
    );
    assert_eq!(to, mac_of(2));
    assert_eq!(f.dataplane.flow(&flow(PORT, PROTO_TCP)), Some(2));
}

/// Item 10: UDP has no end; a datagram flow is pinned on its first packet and its pin is
/// honoured while packets keep coming.
#[test]
fn item10_udp_pins_on_first_datagram() {
    let mut f = fixture_all_to(1);
    assert_eq!(sent_to(&f, &udp4(PORT)), mac_of(1));
    set_ring(&mut f, 2);
    assert_eq!(sent_to(&f, &udp4(PORT)), mac_of(1));
    assert_eq!(f.dataplane.flow(&flow(PORT, PROTO_UDP)), Some(1));
}

/// Keeps the calling thread on CPU 0, so every test run uses the same per-CPU guard.
fn stay_on_cpu0() {
    let mut cpus = nix::sched::CpuSet::new();
    cpus.set(0).expect("cpu 0");
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &cpus).expect("affinity");
}

/// Item 9: the new-pin guard. With a burst of 3 and no refill within the test, a CPU pins
/// three missing flows; the others are still forwarded by the ring, unpinned and counted.
#[test]
fn item9_new_pin_guard_limits_pins_per_cpu() {
    stay_on_cpu0();
    let mut f = Fixture::new().expect("load the XDP program (needs root)");
    f.with(|d| {
        d.settings.pin_interval_ns = 3_600_000_000_000;
        d.settings.pin_burst = 3;
        d.services.values_mut().for_each(|t| *t = all_to(1));
    })
    .expect("apply");
    for port in 0..10 {
        assert_eq!(sent_to(&f, &tcp4(PORT + port, TCP_ACK)), mac_of(1));
    }
    let pinned: Vec<u16> = (0..10)
        .filter(|p| f.dataplane.flow(&flow(PORT + p, PROTO_TCP)).is_some())
        .collect();
    assert_eq!(pinned, vec![0, 1, 2]);
    let guard = f.dataplane.flow_guard_totals().expect("guard counters");
    assert_eq!((guard.pinned, guard.refused), (3, 7));
    // A pinned flow is followed without spending a token.
    assert_eq!(sent_to(&f, &tcp4(PORT, TCP_ACK)), mac_of(1));
    assert_eq!(f.dataplane.flow_guard_totals().unwrap().refused, 7);
}

/// Item 10: UDP pins expire after `udp_idle_ns` without a packet; the next datagram is
/// decided by the ring again.
#[test]
fn item10_idle_udp_pins_expire() {
    let mut f = Fixture::new().expect("load the XDP program (needs root)");
    let idle_2s = |d: &mut vip_agent::dataplane::DesiredState, backend: u32| {
        d.settings.udp_idle_ns = 2_000_000_000;
        d.services.values_mut().for_each(|t| *t = all_to(backend));
    };
    f.with(|d| idle_2s(d, 1)).expect("apply");
    assert_eq!(sent_to(&f, &udp4(PORT)), mac_of(1));
    f.with(|d| idle_2s(d, 2)).expect("apply");
    assert_eq!(sent_to(&f, &udp4(PORT)), mac_of(1), "within the idle time");
    std::thread::sleep(std::time::Duration::from_millis(3000));
    assert_eq!(sent_to(&f, &udp4(PORT)), mac_of(2), "after the idle time");
    assert_eq!(f.dataplane.flow(&flow(PORT, PROTO_UDP)), Some(2));
    assert_eq!(f.dataplane.flow_guard_totals().unwrap().expired, 1);
}
