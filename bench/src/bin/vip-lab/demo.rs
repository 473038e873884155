//! `vip-lab demo`: the VIP, the leader, the spread of requests, then a leader crash and
//! the outage a client measures.
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use vip_lab::arp::ArpProber;
use vip_lab::lab::read_lease_holder;
use vip_lab::probe::{first_success_from, outage, spread, Until};
use vip_lab::topology::{format_mac, ETH};
use vip_lab::{node_name, Lab, VIP4, VIP6};

use crate::updown::{config, describe};
use crate::LabArgs;

const PROBE_EVERY: Duration = Duration::from_millis(10);
const PROBE_TIMEOUT: Duration = Duration::from_millis(100);

pub fn run(args: LabArgs) -> anyhow::Result<()> {
    println!("bringing the lab up…");
    let mut lab = Lab::start(config(args, false)?)?;
    describe(&lab);

    let mut arp = ArpProber::open(&lab.topology().client, ETH)?;
    let macs = arp.who_has(VIP4, Duration::from_millis(300))?;
    for mac in &macs {
        let node = lab
            .topology()
            .node_by_mac(mac)
            .map_or("?".to_owned(), node_name);
        println!(
            "ARP who-has {VIP4}: answered by {} ({node})",
            format_mac(mac)
        );
    }

    let samples = lab.vip_requests("/version", 30, Duration::from_secs(1));
    println!(
        "30 requests via the VIP, each on a new connection: {}",
        shares(&samples)
    );
    if args.ipv6 {
        let samples = lab.vip6_requests("/version", 30, Duration::from_secs(1));
        println!(
            "30 requests via the IPv6 VIP [{VIP6}]:6443: {}",
            shares(&samples)
        );
    }

    let [leader] = lab.leaders()[..] else {
        bail!("expected exactly one leader")
    };
    let name = node_name(leader);
    println!("\ncrashing the leader {name}: link cut, agent and stand-in killed with -9");
    println!(
        "probing https://{VIP4}:6443/version every 10 ms, new connection each, 100 ms timeout…"
    );
    let event = Instant::now();
    lab.set_link(leader, false)?;
    lab.kill_agent(leader)?;
    lab.kill_apiserver(leader)?;
    let spec = lab.vip_probe("/version", PROBE_EVERY, PROBE_TIMEOUT);
    let stop = CancellationToken::new();
    let probes = lab.start_probing(
        spec,
        Until::Cancelled(stop.clone()),
        Duration::from_secs(15),
    );
    let stopper = stop.clone();
    lab.client().spawn(async move {
        // Long enough to see failures end, and the Lease mirror follow (every 1 s).
        tokio::time::sleep(Duration::from_millis(2500)).await;
        stopper.cancel();
    });
    let old = name.clone();
    let holder = lab.client().spawn(async move {
        let deadline = event + Duration::from_millis(2500);
        while Instant::now() < deadline {
            match read_lease_holder().await {
                Some(holder) if holder != old => return Some((Instant::now(), holder)),
                _ => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
        None
    });
    let samples = lab.client().run(probes).context("probe task")?;
    let holder = lab.client().run(holder).context("lease watcher")?;

    println!("\ntimeline (ms after the crash):");
    println!("  {:>6}  {name} crashed", 0);
    if let Some(first) = first_success_from(&samples, event) {
        let served = first.outcome.clone().unwrap_or_default();
        println!(
            "  {:>6}  first good request via the VIP (served by {served})",
            ms(first.done.duration_since(event))
        );
    }
    let last_failed = samples
        .iter()
        .filter(|s| !s.ok() && s.sent >= event)
        .map(|s| s.sent.duration_since(event))
        .max();
    if let Some(last) = last_failed {
        println!("  {:>6}  last failed request sent", ms(last));
    }
    match &holder {
        Some((at, node)) => println!(
            "  {:>6}  the Lease mirror names {node} (written by the new leader; nothing waits on it)",
            ms(at.duration_since(event))
        ),
        None => println!("  ------  the Lease mirror did not move"),
    }
    let failed = samples.iter().filter(|s| !s.ok()).count();
    let timeline: String = samples
        .iter()
        .filter(|s| s.sent >= event)
        .map(|s| if s.ok() { '.' } else { 'x' })
        .collect();
    println!("\nprobes after the crash, 10 ms apart (x failed): {timeline}");
    match outage(&samples, event) {
        Some(outage) => {
            let leaders: Vec<String> = lab.leaders().into_iter().map(node_name).collect();
            println!(
                "outage (to the first good request after the last failed one): {:.3} s \
                 ({failed} probes failed); leader now: {}",
                outage.as_secs_f64(),
                leaders.join(", ")
            );
        }
        None => println!("requests via the VIP did not recover ({failed} probes failed)"),
    }
    println!("tearing the lab down…");
    drop(lab);
    println!("done: namespaces, processes and the bpffs mount are gone");
    Ok(())
}

/// "n1: 10, n2: 9, …", plus failures if any.
fn shares(samples: &[vip_lab::probe::Sample]) -> String {
    let mut parts: Vec<String> = spread(samples)
        .iter()
        .map(|(n, c)| format!("{n}: {c}"))
        .collect();
    let failed = samples.iter().filter(|s| !s.ok()).count();
    if failed > 0 {
        parts.push(format!("failed: {failed}"));
    }
    parts.join(", ")
}

fn ms(duration: Duration) -> u128 {
    duration.as_millis()
}
