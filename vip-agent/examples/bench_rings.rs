//! Maglev build time and ring write time (`Dataplane::apply` of changed tables, chunked
//! map updates) for N backends and ring sizes M = 65537 and 1048573 (the largest prime
//! below 2^20). Needs root (it loads the XDP program to write its maps). Prints a markdown
//! table; bench/results/rings.md records it with the command:
//! `cargo run --release -p vip-agent --example bench_rings`.
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use vip_agent::{
    dataplane::{Dataplane, DesiredState, LoadOptions},
    maglev,
    testing::fixture::{ip_key, service, Fixture, VIP4},
};
use vip_common::{Backend, ServiceKey, BACKEND_ACTIVE, PROTO_TCP};

const SIZES: [u32; 2] = [65_537, 1_048_573];
const BACKENDS: [u32; 6] = [3, 5, 7, 16, 32, 64];
const ROUNDS: usize = 5;

fn backends(n: u32) -> Vec<maglev::Backend> {
    (0..n)
        .map(|id| maglev::Backend {
            key: Ipv4Addr::from(0x0a00_0001 + id).into(),
            id,
        })
        .collect()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

/// `services` services on VIP4 (ports 6443, 6444, ...) all using `table`.
fn state(base: &DesiredState, n: u32, services: u16, table: &[u32]) -> DesiredState {
    let mut d = DesiredState {
        settings: base.settings,
        vips: base.vips.clone(),
        ..Default::default()
    };
    for id in 0..n {
        let addr = ip_key(Ipv4Addr::from(0x0a00_0001 + id).into());
        let mac = [0x02, 0, 0, 0, (id >> 8) as u8, id as u8];
        let backend = Backend {
            addr,
            mac,
            flags: BACKEND_ACTIVE,
            ..Default::default()
        };
        d.backends.insert(id, backend);
    }
    for offset in 0..services {
        let key = ServiceKey {
            port: 6443 + offset,
            ..service(VIP4.into(), PROTO_TCP)
        };
        d.services.insert(key, table.to_vec());
    }
    d
}

fn main() -> Result<()> {
    let base = Fixture::new().context("load (needs root)")?.default_state();
    println!("| M | N | Maglev build ms | write 1 service ms | write 16 services ms |");
    println!("|---:|---:|---:|---:|---:|");
    for size in SIZES {
        let mut dataplane = Dataplane::load(LoadOptions {
            ring_size: size,
            max_flows: 1024,
        })?;
        let mut settings = base.clone();
        settings.settings.ring_size = size;
        for n in BACKENDS {
            let mut builds = Vec::new();
            let mut tables = Vec::new();
            for round in 0..ROUNDS {
                let started = Instant::now();
                // Two seeds, so consecutive applies always change every slot's table.
                tables.push(maglev::build(&backends(n), size, round as u32 % 2)?);
                builds.push(started.elapsed());
            }
            let mut write = |services: u16| -> Result<Duration> {
                let mut times = Vec::new();
                for table in &tables {
                    let desired = state(&settings, n, services, table);
                    let started = Instant::now();
                    dataplane.apply(&desired)?;
                    times.push(started.elapsed());
                }
                Ok(median(times))
            };
            let one = write(1)?;
            let sixteen = write(16)?;
            println!(
                "| {size} | {n} | {} | {} | {} |",
                ms(median(builds)),
                ms(one),
                ms(sixteen)
            );
        }
    }
    println!();
    println!(
        "Medians of {ROUNDS} rounds. Build: `maglev::build` of backends 10.0.0.1..N. Write: \
         `Dataplane::apply` of a state whose tables all changed (two seeds alternate), i.e. \
         the standby half of every service written in chunks of 1024 slots, then the settings \
         write that flips them; before issue 10 item 14 a table took one syscall per slot."
    );
    Ok(())
}
