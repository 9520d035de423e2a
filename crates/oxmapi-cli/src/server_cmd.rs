//! `oxmapi serve` and `oxmapi server add-user`.

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
}

/// `oxmapi server ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum ServerCommand {
    /// Add a user and their mailbox; prints the personalized server name and DN.
    AddUser(AddUserArgs),
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

pub(crate) async fn serve_cmd(args: ServeArgs) -> Result<ExitCode> {
    let mut cfg = ServerConfig::new(&args.data);
    cfg.listen = args.listen;
    cfg.public_folders = args.public_folders;
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
