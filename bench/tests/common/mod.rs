//! A lab per test, one test at a time (timings are measured: labs must not compete for
//! the two CPUs), with the ARP and probe helpers the end-to-end tests share.
use std::collections::BTreeSet;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use vip_lab::arp::ArpProber;
use vip_lab::lab::{build_agent, AgentSettings, Profile};
use vip_lab::topology::{format_mac, Mac, ETH};
use vip_lab::{Binaries, Lab, LabConfig, TopologySpec, RUN_DIR, VIP4};

/// A lab that holds the one-test-at-a-time lock; dropped before the lock is released.
pub struct TestLab {
    pub lab: Lab,
    _serial: MutexGuard<'static, ()>,
}

impl Deref for TestLab {
    type Target = Lab;
    fn deref(&self) -> &Lab {
        &self.lab
    }
}

impl DerefMut for TestLab {
    fn deref_mut(&mut self) -> &mut Lab {
        &mut self.lab
    }
}

fn agent_binary() -> PathBuf {
    static AGENT: OnceLock<PathBuf> = OnceLock::new();
    AGENT
        .get_or_init(|| build_agent(Profile::Debug).expect("build vip-agent"))
        .clone()
}

/// Three nodes with the Lease election, a 1 s lease (renew 0.5 s, retry 0.2 s), ready:
/// one leader, every backend healthy everywhere, the VIP answering.
pub fn start_lab() -> TestLab {
    start_lab_with(AgentSettings::fast_lease())
}

/// [`start_lab`] with other agent settings.
pub fn start_lab_with(agent: AgentSettings) -> TestLab {
    static SERIAL: Mutex<()> = Mutex::new(());
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let prefix = format!(
        "vt-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let binaries = Binaries {
        agent: agent_binary(),
        apiserver: env!("CARGO_BIN_EXE_vip-lab-apiserver").into(),
        lab: env!("CARGO_BIN_EXE_vip-lab").into(),
    };
    let config = LabConfig {
        topology: TopologySpec {
            run_dir: Path::new(RUN_DIR).join(&prefix),
            prefix,
            nodes: 3,
            ipv6: false,
            state_file: None,
        },
        binaries,
        agent,
        detached: false,
        ready_timeout: Duration::from_secs(30),
    };
    let lab = Lab::start(config).expect("start the lab (needs root, iproute2, bpf)");
    TestLab {
        lab,
        _serial: serial,
    }
}

impl TestLab {
    /// The one node whose agent says it leads.
    pub fn leader(&self) -> usize {
        match self.leaders()[..] {
            [leader] => leader,
            ref many => panic!("expected one leader, got {many:?}"),
        }
    }

    pub fn mac(&self, node: usize) -> Mac {
        self.topology().nodes[node].mac
    }

    pub fn arp(&self) -> ArpProber {
        ArpProber::open(&self.topology().client, ETH).expect("raw socket in the client namespace")
    }

    /// Every node that answered `tries` who-has requests for the VIP.
    pub fn arp_responders(&self, prober: &mut ArpProber, tries: usize) -> BTreeSet<String> {
        let mut macs = BTreeSet::new();
        for _ in 0..tries {
            macs.extend(
                prober
                    .who_has(VIP4, Duration::from_millis(100))
                    .expect("ARP probe"),
            );
        }
        macs.iter().map(|mac| self.describe_mac(mac)).collect()
    }

    pub fn describe_mac(&self, mac: &Mac) -> String {
        match self.topology().node_by_mac(mac) {
            Some(node) => vip_lab::node_name(node),
            None => format!("foreign {}", format_mac(mac)),
        }
    }
}

/// Asks who has the VIP every ~20 ms until a MAC other than `old` answers; returns how
/// long after `from` that was, and the MAC.
pub fn wait_for_new_responder(
    prober: &mut ArpProber,
    old: Mac,
    from: Instant,
    timeout: Duration,
) -> Option<(Duration, Mac)> {
    while from.elapsed() < timeout {
        let macs = prober
            .who_has(VIP4, Duration::from_millis(20))
            .expect("ARP probe");
        if let Some(mac) = macs.into_iter().find(|mac| *mac != old) {
            return Some((from.elapsed(), mac));
        }
    }
    None
}
