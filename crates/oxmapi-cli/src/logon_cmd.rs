//! `oxmapi logon`: log on and print the step-by-step connectivity report.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use oxmapi::Session;

use crate::conn::{ConnArgs, print_report};

/// Arguments of `oxmapi logon`.
#[derive(Args, Debug)]
pub(crate) struct LogonArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) async fn run(args: LogonArgs) -> Result<ExitCode> {
    let config = args.conn.load_config()?;
    let params = args.conn.logon_params()?;
    let (result, report) = Session::logon_with_report(&config, params).await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        for w in &report.warnings {
            eprintln!("WARNING: {w}");
        }
    } else {
        print_report(&report);
    }
    match result {
        Ok(session) => {
            session.logoff().await?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if !args.json {
                eprintln!("oxmapi: logon failed: {e}");
                if let Some(h) = e.hint() {
                    eprintln!("hint: {h}");
                }
            }
            Ok(ExitCode::from(1))
        }
    }
}
