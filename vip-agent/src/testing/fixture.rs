//! A loaded data plane with a fixed, known configuration: two VIPs, three services, three
//! backends (one local). Tests change one thing at a time and look at the verdict.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vip_common::{
    Backend, Counter, IpKey, Reason, ServiceKey, Settings, ANNOUNCE_ON, BACKEND_ACTIVE,
    BACKEND_LOCAL, PROTO_TCP, PROTO_UDP,
};

use super::frames::Mac;
use crate::{
    dataplane::{Dataplane, DesiredState, LoadOptions, Result},
    maglev,
};

pub const OUR_MAC: Mac = [0x02, 0, 0, 0, 0, 0x0a];
pub const CLIENT_MAC: Mac = [0x02, 0, 0, 0, 0, 0xc1];
pub const FOREIGN_MAC: Mac = [0x02, 0, 0, 0, 0, 0xee];
pub const VIP4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
pub const VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100);
pub const CLIENT4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 50);
pub const CLIENT6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x50);
pub const OTHER4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 77);
pub const SERVICE_PORT: u16 = 6443;
/// Backends by id: 0 is this node, 1 and 2 are peers.
pub const BACKENDS: [(Ipv4Addr, Mac); 3] = [
    (Ipv4Addr::new(10, 0, 0, 1), OUR_MAC),
    (Ipv4Addr::new(10, 0, 0, 2), [0x02, 0, 0, 0, 0, 0xb1]),
    (Ipv4Addr::new(10, 0, 0, 3), [0x02, 0, 0, 0, 0, 0xb2]),
];
/// A small prime keeps the fixture fast; the agent's default is 65537.
pub const RING_SIZE: u32 = 251;
pub const SEED: u32 = 7;
/// Client ports whose new flow lands on backend 0, 1 and 2 of the default (full) ring:
/// golden values from a second implementation of the flow hash and of Maglev
/// (scripts/reference/flow_hash_maglev.py), never from the code under test. The tests
/// that use them are a compatibility contract: a change breaks failover between versions.
pub const TCP4_PORTS: [u16; 3] = [30001, 30002, 30000];
pub const UDP4_PORTS: [u16; 3] = [30005, 30001, 30000];
pub const TCP6_PORTS: [u16; 3] = [30004, 30000, 30002];
/// The ifindex of `lo`, which BPF_PROG_TEST_RUN reports as the ingress interface.
pub const TEST_IFINDEX: u32 = 1;
/// UDP pins of the fixture live 30 s unless a test shortens it; the new-pin guard is off.
pub const FIXTURE_UDP_IDLE_NS: u64 = 30_000_000_000;

pub struct Fixture {
    pub dataplane: Dataplane,
    pub desired: DesiredState,
}

pub fn service(vip: IpAddr, proto: u8) -> ServiceKey {
    ServiceKey {
        vip: ip_key(vip),
        port: SERVICE_PORT,
        proto,
        _pad: 0,
    }
}

pub fn ip_key(ip: IpAddr) -> IpKey {
    match ip {
        IpAddr::V4(v4) => IpKey::from_v4(v4.octets()),
        IpAddr::V6(v6) => IpKey::from_v6(v6.octets()),
    }
}

impl Fixture {
    pub fn new() -> Result<Self> {
        let dataplane = Dataplane::load(LoadOptions {
            ring_size: RING_SIZE,
            max_flows: 1024,
        })?;
        let mut fixture = Self {
            dataplane,
            desired: DesiredState::default(),
        };
        fixture.desired = fixture.default_state();
        fixture.dataplane.apply(&fixture.desired)?;
        Ok(fixture)
    }

    pub fn default_state(&self) -> DesiredState {
        let mut d = DesiredState {
            settings: Settings {
                announce_deadline_ns: u64::MAX,
                ifindex: TEST_IFINDEX,
                announcing: ANNOUNCE_ON,
                hash_seed: SEED,
                ring_size: RING_SIZE,
                mac: OUR_MAC,
                udp_idle_ns: FIXTURE_UDP_IDLE_NS,
                ..Default::default()
            },
            ..Default::default()
        };
        d.vips.insert(ip_key(VIP4.into()));
        d.vips.insert(ip_key(VIP6.into()));
        for (id, (ip, mac)) in BACKENDS.iter().enumerate() {
            let flags = if id == 0 {
                BACKEND_ACTIVE | BACKEND_LOCAL
            } else {
                BACKEND_ACTIVE
            };
            d.backends.insert(
                id as u32,
                Backend {
                    addr: ip_key((*ip).into()),
                    mac: *mac,
                    flags,
                    ..Default::default()
                },
            );
            if id != 0 {
                d.peer_macs.insert(*mac);
            }
        }
        let table = ring(&[0, 1, 2]);
        for key in [
            service(VIP4.into(), PROTO_TCP),
            service(VIP4.into(), PROTO_UDP),
            service(VIP6.into(), PROTO_TCP),
        ] {
            d.services.insert(key, table.clone());
        }
        d
    }

    /// Applies `change` to the default state and writes it.
    pub fn with(&mut self, change: impl FnOnce(&mut DesiredState)) -> Result<()> {
        let mut d = self.default_state();
        change(&mut d);
        self.desired = d;
        self.dataplane.apply(&self.desired)
    }

    /// Runs one frame; returns the action, the output frame and the reason it counted.
    pub fn run(&self, frame: &[u8]) -> Result<(u32, Vec<u8>, Vec<Reason>)> {
        let before = self.dataplane.reason_totals()?;
        let (action, out) = self.dataplane.test_run(frame)?;
        let after = self.dataplane.reason_totals()?;
        let counted = before
            .iter()
            .zip(&after)
            .filter(|((_, b), (_, a))| a.packets != b.packets)
            .map(|((reason, _), _)| *reason)
            .collect();
        Ok((action, out, counted))
    }

    pub fn backend_counter(&self, id: u32) -> Result<Counter> {
        self.dataplane.backend_total(id)
    }
}

/// The Maglev table over backend ids of the fixture.
pub fn ring(ids: &[u32]) -> Vec<u32> {
    let backends: Vec<maglev::Backend> = ids
        .iter()
        .map(|&id| maglev::Backend {
            key: BACKENDS[id as usize].0.into(),
            id,
        })
        .collect();
    maglev::build(&backends, RING_SIZE, SEED).expect("valid fixture ring")
}
