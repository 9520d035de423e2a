//! `oxmapi`: log on to Exchange mailboxes over MAPI/HTTP, run the embedded test server, and
//! decode captured MAPI traffic.

#![forbid(unsafe_code)]

mod inspect;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// oxmapi — an Exchange MAPI/CDO client stack and test server.
#[derive(Parser)]
#[command(name = "oxmapi", version, about, long_about = None)]
struct Cli {
    /// More log output on stderr (repeat for more); never shows passwords.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode captured MAPI bytes (hex string, file, or stdin) and print them as a tree or JSON.
    Inspect(inspect::InspectArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    match cli.command {
        Command::Inspect(args) => inspect::run(args),
    }
}

fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("OXMAPI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
