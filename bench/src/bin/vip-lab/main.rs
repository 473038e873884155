//! `vip-lab up | down | demo`: three control-plane nodes in network namespaces, each
//! running vip-agent and an API-server stand-in, a client, and the Lease test server.
mod bench;
mod demo;
mod updown;

use std::net::SocketAddr;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(version, about = "vip-agent lab in network namespaces (needs root)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone, Copy)]
pub struct LabArgs {
    /// Also give the nodes, the client and the VIP IPv6 addresses (VIP fd77::100)
    #[arg(long)]
    ipv6: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Build the lab and leave it running (state in /run/vip-lab/state.json)
    Up(LabArgs),
    /// Tear down a lab left by `up` (or by an interrupted `demo`)
    Down,
    /// Bring a lab up, show the VIP, the leader and the spread of requests, crash the
    /// leader, measure the outage, and tear it all down
    Demo(LabArgs),
    /// Failover trials (crash, graceful, agent-only crash) against vip-agent and
    /// keepalived + haproxy in the same lab, the data path of both, and a report
    Bench(bench::BenchArgs),
    /// Run the Lease test server (used inside the lab's bridge namespace)
    #[command(hide = true)]
    LeaseServer {
        #[arg(long)]
        listen: SocketAddr,
    },
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Up(args) => updown::up(args),
        Command::Down => updown::down(),
        Command::Demo(args) => demo::run(args),
        Command::Bench(args) => bench::run(args),
        Command::LeaseServer { listen } => lease_server(listen),
    };
    if let Err(error) = result {
        if vip_lab::cleanup::interrupted() {
            // The signal handler is tearing down and exits with 130.
            loop {
                std::thread::park();
            }
        }
        eprintln!("vip-lab: {error:#}");
        std::process::exit(1);
    }
}

fn lease_server(listen: SocketAddr) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let shutdown = CancellationToken::new();
        let (mut term, mut int) = (
            signal(SignalKind::terminate())?,
            signal(SignalKind::interrupt())?,
        );
        let stop = shutdown.clone();
        tokio::spawn(async move {
            tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
            stop.cancel();
        });
        eprintln!(
            "Lease test server (a test stand-in, not a Kubernetes API server) on http://{listen}"
        );
        vip_agent::lease_test_server::serve(listen, shutdown)
            .await
            .context("Lease test server")
    })
}
