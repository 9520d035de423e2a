//! `oxmapi`: log on to Exchange mailboxes over MAPI/HTTP, run the embedded test server, and
//! decode captured MAPI traffic.

#![forbid(unsafe_code)]

mod conn;
mod debugjson;
mod demo;
mod demo_mail;
mod export;
mod inspect;
mod logon_cmd;
mod profile_cmd;
mod read_cmds;
mod server_cmd;
mod write_cmds;

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
    /// Print the folder tree with message counts.
    Folders(read_cmds::FoldersArgs),
    /// List the messages of a folder (filters, sort, limit).
    Ls(read_cmds::LsArgs),
    /// Show one message (headers, recipients, attachments, body).
    Show(read_cmds::ShowArgs),
    /// Save the attachments of a message into a directory.
    SaveAttachments(read_cmds::SaveArgs),
    /// Export a folder as one .eml file per message.
    Export(export::ExportArgs),
    /// Send a message (recipients are resolved and files checked before anything is created).
    Send(write_cmds::SendArgs),
    /// Reply (or --all: reply to all) to a message, quoting it.
    Reply(write_cmds::ReplyArgs),
    /// Forward a message with its attachments.
    Forward(write_cmds::ForwardArgs),
    /// Resolve a name in the address book (exactly one entry, ambiguous, or not found).
    Resolve(write_cmds::ResolveArgs),
    /// List the Global Address List.
    Gal(write_cmds::GalArgs),
    /// Move a message to a folder.
    Mv(write_cmds::MoveArgs),
    /// Copy a message to a folder.
    Cp(write_cmds::MoveArgs),
    /// Delete a message (to Deleted Items, or --hard).
    Rm(write_cmds::RmArgs),
    /// Mark a message read or unread.
    Mark(write_cmds::MarkArgs),
    /// Create a folder.
    Mkdir(write_cmds::FolderArgs),
    /// Delete a folder with its contents.
    Rmdir(write_cmds::FolderArgs),
}

impl Command {
    /// Whether the command was asked for `--json` output: its errors are then JSON too.
    fn json(&self) -> bool {
        match self {
            Self::Logon(a) => a.json,
            Self::Demo(a) => a.json,
            Self::Folders(a) => a.json,
            Self::Ls(a) => a.json,
            Self::Show(a) => a.json,
            Self::Send(a) => a.json,
            Self::Reply(a) => a.json,
            Self::Forward(a) => a.json,
            Self::Resolve(a) => a.json,
            Self::Gal(a) => a.json,
            Self::Server(server_cmd::ServerCommand::Queue { json, .. }) => *json,
            _ => false,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let json = cli.command.json();
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
            Command::Folders(a) => read_cmds::folders(a).await,
            Command::Ls(a) => read_cmds::ls(a).await,
            Command::Show(a) => read_cmds::show(a).await,
            Command::SaveAttachments(a) => read_cmds::save_attachments(a).await,
            Command::Export(a) => export::run(a).await,
            Command::Send(a) => write_cmds::send(a).await,
            Command::Reply(a) => write_cmds::reply(a).await,
            Command::Forward(a) => write_cmds::forward(a).await,
            Command::Resolve(a) => write_cmds::resolve(a).await,
            Command::Gal(a) => write_cmds::gal(a).await,
            Command::Mv(a) => write_cmds::move_copy(a, false).await,
            Command::Cp(a) => write_cmds::move_copy(a, true).await,
            Command::Rm(a) => write_cmds::rm(a).await,
            Command::Mark(a) => write_cmds::mark(a).await,
            Command::Mkdir(a) => write_cmds::mkdir(a).await,
            Command::Rmdir(a) => write_cmds::rmdir(a).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            if json {
                println!("{}", error_json(&e));
            }
            let text = format!("{e:#}");
            eprintln!("oxmapi: {text}");
            if let Some(hint) = mapi_error(&e).and_then(oxmapi::Error::hint)
                && !text.contains(hint)
            {
                eprintln!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}

/// The session error in `e`'s chain, if there is one.
fn mapi_error(e: &anyhow::Error) -> Option<&oxmapi::Error> {
    e.chain().find_map(as_mapi)
}

fn as_mapi<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a oxmapi::Error> {
    e.downcast_ref::<read_cmds::Explained>()
        .map(|x| &x.0)
        .or_else(|| e.downcast_ref::<oxmapi::Error>())
}

/// A failure as the JSON object `--json` prints on stdout: `{"error": {...}}` with the MAPI
/// error name and code (null for failures that are not MAPI errors), its kind, the failing
/// step, the message, the hint, and the drafts a failed send or save left behind.
fn error_json(e: &anyhow::Error) -> serde_json::Value {
    let mut parts = Vec::new();
    let mut mapi = None;
    for cause in e.chain() {
        if let Some(m) = as_mapi(cause) {
            parts.push(m.to_string());
            mapi = Some(m);
            break;
        }
        parts.push(cause.to_string());
    }
    let message = parts.join(": ");
    let error = match mapi {
        Some(m) => serde_json::json!({
            "name": m.mapi_name(),
            "code": format!("0x{:08X}", m.code().0),
            "kind": format!("{:?}", m.kind()),
            "step": m.step(),
            "message": message,
            "hint": m.hint(),
            "drafts": m.drafts(),
        }),
        None => serde_json::json!({
            "name": null,
            "code": null,
            "kind": null,
            "step": null,
            "message": message,
            "hint": null,
            "drafts": [],
        }),
    };
    serde_json::json!({ "error": error })
}

/// Logs on stderr: `-v` info, `-vv` debug, `-vvv` trace, or the directives of `$OXMAPI_LOG`.
///
/// Whatever the directives say, [`carries_credentials`] targets are never shown: a hard
/// filter sits on top of the user's, so `-vvv` or `OXMAPI_LOG=trace` cannot re-enable them.
fn init_tracing(verbose: u8) {
    use tracing_subscriber::filter::{FilterExt as _, filter_fn};
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    use tracing_subscriber::{EnvFilter, Layer as _};

    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let user = EnvFilter::try_from_env("OXMAPI_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    let no_secrets = filter_fn(|meta| !carries_credentials(meta.target()));
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(user.and(no_secrets)),
        )
        .try_init();
}

/// True for the log targets that print credential material at some level: the `sspi` crate
/// (its NTLM and SPNEGO messages, whose type 3 answer can be cracked offline for the
/// password, the identity buffers and the plaintext of sealed RPC PDUs) and the `picky*`
/// crates under its Negotiate/Kerberos code. Spans are targets too, so their fields go with
/// them.
fn carries_credentials(target: &str) -> bool {
    let krate = target.split("::").next().unwrap_or(target);
    krate == "sspi" || krate.starts_with("picky")
}

#[cfg(test)]
mod tests {
    use super::carries_credentials;

    #[test]
    fn credential_targets_are_recognised() {
        for t in [
            "sspi",
            "sspi::ntlm",
            "sspi::negotiate::client",
            "picky_krb::messages",
        ] {
            assert!(carries_credentials(t), "{t}");
        }
        for t in [
            "oxmapi",
            "oxmapi_transport::http",
            "rustls::conn",
            "sspix",
            "hyper",
        ] {
            assert!(!carries_credentials(t), "{t}");
        }
    }
}
