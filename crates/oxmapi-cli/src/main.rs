//! `oxmapi`: log on to Exchange mailboxes over MAPI/HTTP, run the embedded test server, and
//! decode captured MAPI traffic.

#![forbid(unsafe_code)]

mod conn;
mod debugjson;
mod demo;
mod inspect;
mod logon_cmd;
mod profile_cmd;
mod server_cmd;

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
    /// Log on (static --profile or dynamic --profile-info) and print a step-by-step report.
    Logon(logon_cmd::LogonArgs),
    /// Start the embedded server, add a user, and log on with a dynamic profile like CDO's.
    Demo(demo::DemoArgs),
    /// Run the embedded Exchange-protocol server.
    Serve(server_cmd::ServeArgs),
    /// Administer the embedded server's store.
    #[command(subcommand)]
    Server(server_cmd::ServerCommand),
    /// Manage static profiles in the config file.
    Profile(profile_cmd::ProfileArgs),
    /// Decode captured MAPI bytes (hex string, file, or stdin) and print them as a tree or JSON.
    Inspect(inspect::InspectArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    if let Command::Inspect(args) = cli.command {
        return inspect::run(args);
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("oxmapi: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Command::Logon(a) => logon_cmd::run(a).await,
            Command::Demo(a) => demo::run(a).await,
            Command::Serve(a) => server_cmd::serve_cmd(a).await,
            Command::Server(c) => server_cmd::server_cmd(c),
            Command::Profile(a) => profile_cmd::run(a),
            Command::Inspect(_) => Ok(ExitCode::SUCCESS),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("oxmapi: {e:#}");
            ExitCode::FAILURE
        }
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
