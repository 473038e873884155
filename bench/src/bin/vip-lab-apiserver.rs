//! `vip-lab-apiserver`: the kube-apiserver stand-in of a vip-lab node (TLS on :6443;
//! `/readyz`, `/livez`, `/version`, `/download?bytes=N`, `/stream`; `X-Node` on every
//! answer). Not an API server: it only looks like one to health checks and probes.
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use tokio_util::sync::CancellationToken;
use vip_lab::apiserver::{serve, StandInConfig};

#[derive(Parser)]
#[command(version, about = "API-server stand-in for vip-lab nodes")]
struct Args {
    /// Node name, sent back in X-Node and in /version
    #[arg(long)]
    node: String,
    #[arg(long, default_value = "0.0.0.0:6443")]
    listen: SocketAddr,
    /// IP subject alternative names of the self-signed certificate (node IP, VIP)
    #[arg(long)]
    san: Vec<IpAddr>,
    /// /readyz answers 500 while this file exists
    #[arg(long)]
    unready_file: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let config = StandInConfig {
        node: args.node,
        listen: args.listen,
        sans: args.san,
        unready_file: args.unready_file,
    };
    runtime.block_on(async move {
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            use tokio::signal::unix::{signal, SignalKind};
            if let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) {
                tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
                stop.cancel();
            }
        });
        eprintln!(
            "vip-lab-apiserver {} listening on {}",
            config.node, config.listen
        );
        serve(config, shutdown).await.context("API-server stand-in")
    })
}
