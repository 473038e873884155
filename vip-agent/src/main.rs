//! vip-agent: the control-plane VIP daemon (`run`), its inspector (`status`) and its
//! manifest generator (`manifest`).
use std::process::ExitCode;

use tracing_subscriber::{fmt, EnvFilter};
use vip_agent::config::{Cli, CliCommand, LogFormat, LogLevel, OutputFormat, EXIT_USAGE};

fn init_tracing(format: LogFormat, level: LogLevel) {
    let default = match level {
        LogLevel::Error => "error",
        LogLevel::Warn => "warn",
        LogLevel::Info => "info",
        LogLevel::Debug => "debug",
        LogLevel::Trace => "trace",
    };
    let filter = EnvFilter::try_from_env("VIP_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn main() -> ExitCode {
    let parsed = match Cli::parse_from_process() {
        Ok(parsed) => parsed,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            return ExitCode::from(code as u8);
        }
    };
    match parsed.cli.command {
        CliCommand::Run(args) => {
            let config = match args.to_run_config() {
                Ok(config) => config,
                Err(e) => {
                    eprintln!("vip-agent: {e}");
                    return ExitCode::from(EXIT_USAGE as u8);
                }
            };
            init_tracing(config.log_format, config.log_level);
            parsed.warnings.iter().for_each(|w| tracing::warn!("{w}"));
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    eprintln!("vip-agent: starting the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(vip_agent::agent::run(config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e}");
                    ExitCode::from(e.exit_code())
                }
            }
        }
        CliCommand::Manifest(args) => match vip_agent::manifest::render(&args) {
            Ok(yaml) => {
                print!("{yaml}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("vip-agent: {e}");
                ExitCode::from(EXIT_USAGE as u8)
            }
        },
        CliCommand::Cleanup(args) => {
            init_tracing(LogFormat::Text, LogLevel::Info);
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            match runtime.map(|rt| rt.block_on(vip_agent::agent::cleanup::run(&args.bpffs_dir))) {
                Ok(Ok(())) => ExitCode::SUCCESS,
                Ok(Err(e)) => {
                    eprintln!("vip-agent: {e}");
                    ExitCode::FAILURE
                }
                Err(e) => {
                    eprintln!("vip-agent: starting the runtime: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        CliCommand::Status(args) => match vip_agent::status::read(&args.bpffs_dir) {
            Ok(status) => {
                match args.format {
                    OutputFormat::Text => print!("{}", vip_agent::status::text(&status)),
                    OutputFormat::Json => println!("{}", vip_agent::status::json(&status)),
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("vip-agent: {e}");
                ExitCode::FAILURE
            }
        },
    }
}
