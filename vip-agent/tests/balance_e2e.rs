//! End-to-end balancing: three backend namespaces (the VIP on lo, a TCP server on :6443,
//! the XDP program on eth0) and a client on one bridge; n1 announces the VIP and balances,
//! forwarding by MAC rewrite (L2 DSR) to n2 and n3. Checks the spread of new connections
//! and that established connections keep their backend across table rebuilds. Needs root
//! and iproute2.
mod support;

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader, ErrorKind, Write},
    net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    thread::JoinHandle,
    time::Duration,
};
use support::netns::{attach, in_netns, ip, write_sysctl, Lab};

use socket2::{Domain, Protocol, Socket, Type};
use vip_agent::{
    dataplane::{Dataplane, DesiredState, LoadOptions},
    host::InterfaceInfo,
    maglev,
};
use vip_common::{
    hash::flow_hash, Backend, FlowKey, IpKey, ServiceKey, Settings, ANNOUNCE_ON, BACKEND_ACTIVE,
    BACKEND_LOCAL, PROTO_TCP,
};

type Mac = [u8; 6];

/// Backend id = index. n1 announces; every node balances with the same ring.
const NODES: [(&str, Ipv4Addr, Mac); 3] = [
    ("n1", Ipv4Addr::new(10, 77, 0, 1), mac(0x01)),
    ("n2", Ipv4Addr::new(10, 77, 0, 2), mac(0x02)),
    ("n3", Ipv4Addr::new(10, 77, 0, 3), mac(0x03)),
];
const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 50);
const CLIENT_MAC: Mac = mac(0x50);
const VIP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 100);
const SERVICE_PORT: u16 = 6443;
const RING_SIZE: u32 = 251;
const SEED: u32 = 7;
const CONNECTIONS: u16 = 600;
const TIMEOUT: Duration = Duration::from_secs(5);

const fn mac(last: u8) -> Mac {
    [0x02, 0x77, 0, 0, 0, last]
}

#[test]
fn connections_spread_evenly_and_stay_on_their_backend() {
    let mut lab = Lab::new();
    let client = lab.port("client", CLIENT_MAC);
    ip(&format!("-n {client} addr add {CLIENT}/24 dev eth0"));
    let mut nodes = Vec::new();
    for (name, addr, mac) in NODES {
        let netns = lab.port(name, mac);
        ip(&format!("-n {netns} addr add {addr}/24 dev eth0"));
        ip(&format!("-n {netns} addr add {VIP}/32 dev lo"));
        // Only n1's XDP program may answer ARP for the VIP, never a node's kernel.
        in_netns(&netns, || {
            for conf in ["all", "eth0"] {
                write_sysctl(&format!("net/ipv4/conf/{conf}/arp_ignore"), "1");
                write_sysctl(&format!("net/ipv4/conf/{conf}/arp_announce"), "2");
            }
        });
        nodes.push(netns);
    }
    let full = ring(&[0, 1, 2]);
    let mut cluster = Cluster::attach(&nodes, &full);
    // Declared after the lab: dropped (stopped) before the namespaces go.
    let _servers: Vec<Server> = nodes
        .iter()
        .zip(NODES)
        .map(|(netns, (name, ..))| Server::start(netns, name))
        .collect();

    // Fixed client ports make the spread deterministic (ephemeral ports would make a
    // ±15 % bound fail now and then) and let every landing be checked against Maglev.
    let counts = new_connections(&client, 20000..20000 + CONNECTIONS, &full);
    println!("{CONNECTIONS} connections: {counts:?}");
    let even = f64::from(CONNECTIONS) / 3.0;
    for (name, ..) in NODES {
        let got = counts.get(name).copied().unwrap_or(0) as f64;
        assert!(
            (got - even).abs() <= 0.15 * even,
            "{name} got {got} of {CONNECTIONS} connections, not within 15 % of {even}: {counts:?}"
        );
    }

    // A long-lived connection on n2 (so n1 forwards it), from a port whose Maglev pick
    // moves when n3 leaves: only the flow table can keep it on n2 then.
    let (b, c) = (1, 2);
    let without_c = ring(&[0, 1]);
    let port = (30000..40000)
        .find(|&p| pick(&full, p) == b && pick(&without_c, p) != b)
        .expect("a port on n2 that Maglev moves when n3 leaves");
    let mut long = in_netns(&client, || connect(port));
    assert_eq!(ask(&mut long), "n2");

    cluster.apply(&without_c);
    assert_eq!(ask(&mut long), "n2", "after n3 left the ring");
    let counts = new_connections(&client, 21000..21060, &without_c);
    assert!(
        !counts.contains_key(NODES[c].0),
        "new flows reached n3: {counts:?}"
    );

    // n2 leaves the ring but stays healthy (ACTIVE): its pinned flow stays, new flows
    // never reach it. n3 is back.
    let without_b = ring(&[0, 2]);
    cluster.apply(&without_b);
    assert_eq!(cluster.dataplanes[0].flow(&flow(port)), Some(b));
    assert_eq!(ask(&mut long), "n2", "after n2 left the ring");
    let counts = new_connections(&client, 22000..22060, &without_b);
    println!("new connections with n2 out of the ring: {counts:?}");
    assert!(!counts.contains_key(NODES[b as usize].0), "{counts:?}");
    assert_eq!(ask(&mut long), "n2");
}

/// Opens one connection per client port, asks each which node answers, and checks that
/// it is the node Maglev picks in `ring`. Returns how many landed on each node.
fn new_connections(
    client: &str,
    ports: std::ops::Range<u16>,
    ring: &[u32],
) -> BTreeMap<String, usize> {
    let answers: Vec<(u16, String)> = in_netns(client, || {
        ports.map(|port| (port, ask(&mut connect(port)))).collect()
    });
    let mut counts = BTreeMap::new();
    let mut wrong = Vec::new();
    for (port, answer) in answers {
        let expected = NODES[pick(ring, port) as usize].0;
        if answer != expected {
            wrong.push(format!("port {port}: {answer}, expected {expected}"));
        }
        *counts.entry(answer).or_insert(0) += 1;
    }
    assert!(
        wrong.is_empty(),
        "connections off their Maglev pick:\n{wrong:?}"
    );
    counts
}

/// Connects to the VIP from `port`; call on a thread in the client namespace.
fn connect(port: u16) -> TcpStream {
    let try_connect = || -> std::io::Result<TcpStream> {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
        socket.bind(&SocketAddrV4::new(CLIENT, port).into())?;
        socket.connect_timeout(&SocketAddrV4::new(VIP, SERVICE_PORT).into(), TIMEOUT)?;
        let stream = TcpStream::from(socket);
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.set_write_timeout(Some(TIMEOUT))?;
        Ok(stream)
    };
    try_connect().unwrap_or_else(|e| panic!("connect from port {port}: {e}"))
}

/// Sends a line and returns the name of the node that answered it.
fn ask(stream: &mut TcpStream) -> String {
    stream.write_all(b"who\n").expect("send a line");
    let mut line = String::new();
    BufReader::new(&*stream)
        .read_line(&mut line)
        .expect("read the answer");
    line.trim_end().to_owned()
}

fn pick(ring: &[u32], client_port: u16) -> u32 {
    let client = IpKey::from_v4(CLIENT.octets());
    let hash = flow_hash(&client, client_port, SERVICE_PORT, PROTO_TCP, SEED);
    ring[(hash % RING_SIZE) as usize]
}

fn flow(client_port: u16) -> FlowKey {
    FlowKey {
        client: IpKey::from_v4(CLIENT.octets()),
        vip: IpKey::from_v4(VIP.octets()),
        client_port,
        service_port: SERVICE_PORT,
        proto: PROTO_TCP,
        _pad: [0; 3],
    }
}

fn ring(ids: &[u32]) -> Vec<u32> {
    let backends: Vec<maglev::Backend> = ids
        .iter()
        .map(|&id| maglev::Backend {
            key: NODES[id as usize].1.into(),
            id,
        })
        .collect();
    maglev::build(&backends, RING_SIZE, SEED).expect("maglev table")
}

/// One data plane per node, each attached to the node's eth0.
struct Cluster {
    dataplanes: Vec<Dataplane>,
    interfaces: Vec<InterfaceInfo>,
}

impl Cluster {
    fn attach(nodes: &[String], ring: &[u32]) -> Self {
        let (dataplanes, interfaces) = nodes
            .iter()
            .enumerate()
            .map(|(node, netns)| {
                attach(
                    netns,
                    LoadOptions {
                        ring_size: RING_SIZE,
                        max_flows: 4096,
                    },
                    |eth0| state(node, eth0, ring),
                )
            })
            .unzip();
        Cluster {
            dataplanes,
            interfaces,
        }
    }

    /// Publishes `ring` on every node, as the agents would after a health change.
    fn apply(&mut self, ring: &[u32]) {
        for (node, dataplane) in self.dataplanes.iter_mut().enumerate() {
            let desired = state(node, &self.interfaces[node], ring);
            dataplane.apply(&desired).expect("apply");
        }
    }
}

/// Node `node`'s view: every backend healthy, its own one local, the others' MACs peers.
fn state(node: usize, eth0: &InterfaceInfo, ring: &[u32]) -> DesiredState {
    let vip = IpKey::from_v4(VIP.octets());
    let mut desired = DesiredState {
        settings: Settings {
            // No deadline: this test is about balancing, not about a wedged agent.
            announce_deadline_ns: u64::MAX,
            ifindex: eth0.index,
            announcing: if node == 0 { ANNOUNCE_ON } else { 0 },
            hash_seed: SEED,
            ring_size: RING_SIZE,
            mac: eth0.mac,
            ..Default::default()
        },
        vips: [vip].into(),
        ..Default::default()
    };
    let service = ServiceKey {
        vip,
        port: SERVICE_PORT,
        proto: PROTO_TCP,
        _pad: 0,
    };
    desired.services.insert(service, ring.to_vec());
    for (id, (_, addr, mac)) in NODES.into_iter().enumerate() {
        let local = if id == node { BACKEND_LOCAL } else { 0 };
        let backend = Backend {
            addr: IpKey::from_v4(addr.octets()),
            mac,
            flags: BACKEND_ACTIVE | local,
            ..Default::default()
        };
        desired.backends.insert(id as u32, backend);
        if id != node {
            desired.peer_macs.insert(mac);
        }
    }
    desired
}

/// A TCP server on 0.0.0.0:6443 of a namespace that answers every line with its node's
/// name. Stops accepting when dropped.
struct Server {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(netns: &str, name: &'static str) -> Self {
        // Bound in the namespace; the socket stays there whichever thread serves it.
        let listener = in_netns(netns, || TcpListener::bind(("0.0.0.0", SERVICE_PORT)))
            .unwrap_or_else(|e| panic!("listen in {netns}: {e}"));
        // Non-blocking, so the accept loop sees `stop`.
        listener.set_nonblocking(true).expect("non-blocking");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        std::thread::spawn(move || answer(stream, name));
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    // Transient (e.g. a connection reset before accept): keep serving.
                    Err(e) => eprintln!("accept in {name}: {e}"),
                }
            }
        });
        Server {
            stop,
            thread: Some(thread),
        }
    }
}

fn answer(stream: TcpStream, name: &str) {
    // Bounded: an idle or vanished client ends the handler.
    let ready = stream
        .set_nonblocking(false)
        .and_then(|()| stream.set_read_timeout(Some(Duration::from_secs(30))));
    if ready.is_err() {
        return;
    }
    let mut writer = &stream;
    for line in BufReader::new(&stream).lines() {
        if line.is_err() || writer.write_all(format!("{name}\n").as_bytes()).is_err() {
            return;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
