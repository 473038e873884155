//! Flow-hit cost against flow-table occupancy (issue 12 goal 4): the table is filled with
//! pins to about 1 %, 50 % and 100 % of its 262144 entries, then one pinned flow is timed
//! in single BPF_PROG_TEST_RUN calls next to the empty program. Needs root. Prints a
//! markdown table: `cargo run --release -p vip-agent --example bench_flows`.
use std::net::Ipv4Addr;

use anyhow::{ensure, Context, Result};
use aya::{
    programs::{TestRun, TestRunOptions, Xdp},
    EbpfLoader,
};
use vip_agent::{
    dataplane::{object, Dataplane, DesiredState, LoadOptions},
    testing::{fixture::*, frames::*},
};
use vip_common::{
    backend_tag, map_names, FlowKey, FlowTarget, DEFAULT_MAX_FLOWS, DEFAULT_RING_SIZE,
    EMPTY_PROGRAM_NAME, PROTO_TCP,
};

const CALLS: u32 = 50_000;
const ROUNDS: usize = 5;

fn key(client: Ipv4Addr, port: u16) -> FlowKey {
    FlowKey {
        client: ip_key(client.into()),
        vip: ip_key(VIP4.into()),
        client_port: port,
        service_port: SERVICE_PORT,
        proto: PROTO_TCP,
        _pad: [0; 3],
    }
}

fn mean_ns(program: &Xdp, frame: &[u8], expect_action: u32) -> Result<f64> {
    let mut out = vec![0u8; frame.len() + 256];
    let mut total = 0u128;
    for _ in 0..CALLS {
        let result = program.test_run(TestRunOptions {
            data_in: Some(frame),
            data_out: Some(&mut out),
            repeat: 1,
            ..Default::default()
        })?;
        ensure!(result.return_value == expect_action, "unexpected action");
        total += result.duration.as_nanos();
    }
    Ok(total as f64 / f64::from(CALLS))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<()> {
    let fixture = Fixture::new().context("load (needs root)")?;
    let mut dataplane = Dataplane::load(LoadOptions::default())?;
    let mut desired: DesiredState = fixture.default_state();
    desired.settings.ring_size = DEFAULT_RING_SIZE;
    // Every slot to backend 1, so the timed flow's pin (to backend 2) proves a hit.
    for table in desired.services.values_mut() {
        *table = vec![1; DEFAULT_RING_SIZE as usize];
    }
    dataplane.apply(&desired)?;
    let bytes = object::bytes().context("built without the XDP object")?;
    let mut empty = EbpfLoader::new()
        .map_max_entries(map_names::RING, 2)
        .map_max_entries(map_names::FLOWS, 2)
        .load(bytes)?;
    let empty: &mut Xdp = empty
        .program_mut(EMPTY_PROGRAM_NAME)
        .context("no vip_empty")?
        .try_into()?;
    empty.load()?;
    let tag = backend_tag(&ip_key(BACKENDS[2].0.into()));
    let pin = FlowTarget {
        backend_id: 2,
        backend_tag: tag,
        seen_ns: 0,
    };
    let timed_port = 40_000;
    let frame = eth(
        OUR_MAC,
        CLIENT_MAC,
        ETH_IPV4,
        &ipv4(CLIENT4, VIP4, 6, &tcp(timed_port, SERVICE_PORT, TCP_ACK)),
    );
    println!(
        "| target occupancy | entries held | flow hit ns | empty ns | × empty | × empty spread |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    let mut filled = 0u32;
    for percent in [1u32, 50, 100] {
        let target = DEFAULT_MAX_FLOWS / 100 * percent;
        while filled < target {
            // Distinct clients 172.16.0.0/12 on one port: keys the timed flow never uses.
            let client = Ipv4Addr::from(0xac10_0000 + filled);
            dataplane.pin_flow(&key(client, 50_000), pin)?;
            filled += 1;
        }
        dataplane.pin_flow(&key(CLIENT4, timed_port), pin)?;
        let held = dataplane.flow_entries().len();
        let mut ratios = Vec::new();
        let mut hits = Vec::new();
        let mut empties = Vec::new();
        for _ in 0..ROUNDS {
            let hit = mean_ns(dataplane.program_ref()?, &frame, 3)?;
            let base = mean_ns(empty, &frame, 2)?;
            ensure!(
                dataplane.flow(&key(CLIENT4, timed_port)) == Some(2),
                "the timed flow lost its pin"
            );
            ratios.push(hit / base);
            hits.push(hit);
            empties.push(base);
        }
        let (lo, hi) = ratios
            .iter()
            .fold((f64::MAX, 0.0f64), |(l, h), r| (l.min(*r), h.max(*r)));
        println!(
            "| {percent} % | {held} | {:.1} | {:.1} | {:.2}× | {lo:.2}–{hi:.2}× |",
            median(hits),
            median(empties),
            median(ratios)
        );
    }
    println!();
    println!(
        "Flow table: LRU hash, {DEFAULT_MAX_FLOWS} entries, per-CPU LRU lists. Entries are \
         inserted from userspace (one CPU), so \"entries held\" is what the table kept. Each \
         figure: median of {ROUNDS} rounds of {CALLS} single-run calls; the forwarded frame \
         must leave with action TX (backend 2's pin; the ring sends every new flow to 1)."
    );
    Ok(())
}
