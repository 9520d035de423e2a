//! `oxmapi serve` and `oxmapi server add-user|queue|issue-token|revoke-token`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use oxmapi_server::store::Store;
use oxmapi_server::{ServerConfig, serve};

/// Arguments of `oxmapi serve`.
#[derive(Args, Debug)]
pub(crate) struct ServeArgs {
    /// Data directory (SQLite store, TLS certificate).
    #[arg(long)]
    data: PathBuf,
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// The organization has public folders.
    #[arg(long)]
    public_folders: bool,
    /// Serve RPC over HTTP only, like Exchange 2013 before SP1 (no MAPI over HTTP).
    #[arg(long)]
    rpc_http_only: bool,
}

/// `oxmapi server ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum ServerCommand {
    /// Add a user and their mailbox; prints the personalized server name and DN.
    AddUser(AddUserArgs),
    /// Issue a bearer (OAuth-style) access token for a user; prints the token once on stdout.
    IssueToken(IssueTokenArgs),
    /// Revoke a bearer token (--token-file) or all tokens of a user (--alias).
    RevokeToken(RevokeTokenArgs),
    /// Import `.eml` files (a file or a directory of them) into a user's Inbox.
    Import {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// The mailbox owner's alias.
        #[arg(long)]
        user: String,
        /// An .eml file or a directory of .eml files.
        path: PathBuf,
    },
    /// List the outbound queue: messages submitted to recipients outside the organization.
    Queue {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `oxmapi server add-user`.
#[derive(Args, Debug)]
pub(crate) struct AddUserArgs {
    /// Data directory.
    #[arg(long)]
    data: PathBuf,
    /// The alias (mailbox name).
    #[arg(long)]
    alias: String,
    /// Display name.
    #[arg(long)]
    display_name: String,
    /// Mail domain for a new organization.
    #[arg(long, default_value = oxmapi_server::DEFAULT_DOMAIN)]
    domain: String,
}

/// Arguments of `oxmapi server issue-token`.
#[derive(Args, Debug)]
pub(crate) struct IssueTokenArgs {
    /// Data directory.
    #[arg(long)]
    data: PathBuf,
    /// The user (alias) the token is for.
    #[arg(long)]
    alias: String,
    /// Lifetime in seconds (Entra ID's access tokens live about an hour).
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    expires_in: u64,
}

/// Arguments of `oxmapi server revoke-token`.
#[derive(Args, Debug)]
pub(crate) struct RevokeTokenArgs {
    /// Data directory.
    #[arg(long)]
    data: PathBuf,
    /// Revoke the token in the first line of FILE.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "alias",
        conflicts_with = "alias"
    )]
    token_file: Option<PathBuf>,
    /// Revoke every token of this user.
    #[arg(long)]
    alias: Option<String>,
}

pub(crate) async fn serve_cmd(args: ServeArgs) -> Result<ExitCode> {
    let mut cfg = ServerConfig::new(&args.data);
    cfg.listen = args.listen;
    cfg.public_folders = args.public_folders;
    cfg.mapi_http = !args.rpc_http_only;
    let server = serve(cfg).await.context("starting the server")?;
    println!("oxmapi server listening on https://{}", server.local_addr());
    println!("certificate sha256 {}", server.cert_fingerprint());
    println!("certificate file   {}", server.ca_path().display());
    for u in server.store().all_users()? {
        println!(
            "user {:<12} {}  {}",
            u.alias, u.personalized_server_name, u.legacy_dn
        );
    }
    println!("press Ctrl-C to stop");
    tokio::signal::ctrl_c().await?;
    server.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn server_cmd(cmd: ServerCommand) -> Result<ExitCode> {
    match cmd {
        ServerCommand::Import { data, user, path } => {
            let store = Store::open(&data)?;
            let report = oxmapi_server::import::import_eml(&store, &user, &path)
                .with_context(|| format!("importing {} into {user}'s Inbox", path.display()))?;
            println!(
                "imported {} message(s) into {user}'s Inbox",
                report.imported.len()
            );
            for (p, why) in &report.skipped {
                eprintln!("skipped {}: {why}", p.display());
            }
            Ok(if report.skipped.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        ServerCommand::Queue { data, json } => {
            let store = Store::open(&data)?;
            let queue = oxmapi_server::queue::list_queue(&store)?;
            if json {
                let rows: Vec<serde_json::Value> = queue
                    .iter()
                    .map(|q| {
                        serde_json::json!({
                            "id": q.id, "sender": q.sender, "recipient": q.recipient,
                            "subject": q.subject, "queued_at": q.queued_at, "mid": q.mid,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if queue.is_empty() {
                println!("outbound queue is empty");
            } else {
                for q in &queue {
                    println!(
                        "{:>5}  {:<20} -> {:<30} {}",
                        q.id,
                        q.sender.as_deref().unwrap_or("?"),
                        q.recipient,
                        q.subject.as_deref().unwrap_or("")
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ServerCommand::IssueToken(a) => issue_token(&a),
        ServerCommand::RevokeToken(a) => revoke_token(&a),
        ServerCommand::AddUser(a) => {
            let password = match std::env::var("OXMAPI_PASSWORD") {
                Ok(p) if !p.is_empty() => p,
                _ => {
                    let p = rpassword::prompt_password("Password for the new user: ")
                        .context("no OXMAPI_PASSWORD and no terminal to prompt on")?;
                    if p.is_empty() {
                        bail!("empty password");
                    }
                    p
                }
            };
            let store = Store::open(&a.data)?;
            let org = oxmapi_server::default_org(&a.domain);
            store.init_org(&org.name, &org.domain, org.public_folders)?;
            let u = store.add_user(&a.alias, &a.display_name, &password)?;
            println!("alias                      {}", u.alias);
            println!("personalized server name   {}", u.personalized_server_name);
            println!("legacy DN                  {}", u.legacy_dn);
            println!("SMTP                       {}", u.smtp);
            println!(
                "ProfileInfo                \"{}\\n{}\"",
                u.personalized_server_name, u.alias
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Prints the token alone on stdout (so `> token.txt` captures it) and the details on stderr.
fn issue_token(a: &IssueTokenArgs) -> Result<ExitCode> {
    let store = Store::open(&a.data)?;
    let lifetime = std::time::Duration::from_secs(a.expires_in);
    let Some(t) = store.issue_token(&a.alias, lifetime)? else {
        bail!("no user {:?} in {}", a.alias, a.data.display());
    };
    println!("{}", t.token());
    let expires = time::OffsetDateTime::from_unix_timestamp(t.expires_at)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.expires_at.to_string());
    eprintln!(
        "token {} for {} expires {expires}; it is shown only this once",
        t.id, t.alias
    );
    Ok(ExitCode::SUCCESS)
}

fn revoke_token(a: &RevokeTokenArgs) -> Result<ExitCode> {
    let store = Store::open(&a.data)?;
    if let Some(alias) = &a.alias {
        let Some(n) = store.revoke_tokens_of(alias)? else {
            bail!("no user {alias:?} in {}", a.data.display());
        };
        println!("revoked {n} token(s) of {alias}");
        return Ok(ExitCode::SUCCESS);
    }
    let path = a
        .token_file
        .as_deref()
        .context("give --token-file or --alias")?;
    let source =
        oxmapi_profile::find_token(Some(path), None)?.context("no token in the token file")?;
    if !store.revoke_token(source.secret().expose())? {
        bail!("this server never issued the token in {}", path.display());
    }
    println!("token revoked");
    Ok(ExitCode::SUCCESS)
}
