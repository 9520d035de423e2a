//! `oxmapi serve` and `oxmapi server add-user|queue|issue-token|revoke-token`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use oxmapi_server::store::Store;
use oxmapi_server::{Limits, ServerConfig, serve};
use serde::Deserialize;

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
    /// Server config file (TOML): a `[limits]` section with timeouts, connection caps and
    /// quotas; see docs/server-limits.md.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
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
        /// The server config whose [limits] (max_message_size, mailbox_quota) apply, as for
        /// `oxmapi serve --config` (default: the default limits).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
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
    if let Some(path) = &args.config {
        cfg.limits = load_server_config(path)?;
    }
    let limits_line = non_default_limits(&cfg.limits);
    let server = serve(cfg).await.context("starting the server")?;
    println!("oxmapi server listening on https://{}", server.local_addr());
    println!("certificate sha256 {}", server.cert_fingerprint());
    println!("certificate file   {}", server.ca_path().display());
    println!("limits             {limits_line}");
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

/// The server config file: `[limits]` only for now; anything unknown is an error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerFile {
    #[serde(default)]
    limits: LimitsFile,
}

/// Declares the `[limits]` keys once: the file struct, how it maps onto [`Limits`], and the
/// key=value list `oxmapi serve` prints. Durations are whole milliseconds under the field
/// name plus `_ms`; counts and sizes (bytes) under the field name itself.
macro_rules! limits_file {
    (
        durations { $($field_ms:ident => $dfield:ident,)* }
        numbers { $($nfield:ident: $ty:ty,)* }
    ) => {
        /// `[limits]` of the server config file (docs/server-limits.md).
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct LimitsFile {
            $($field_ms: Option<u64>,)*
            $($nfield: Option<$ty>,)*
        }

        impl LimitsFile {
            /// Sets every key the file gives; the others keep their value in `limits`.
            fn apply(&self, limits: &mut Limits) {
                $(if let Some(ms) = self.$field_ms {
                    limits.$dfield = Duration::from_millis(ms);
                })*
                $(if let Some(n) = self.$nfield {
                    limits.$nfield = n;
                })*
            }
        }

        /// Every limit as (config key, value in the file's units).
        fn limit_entries(l: &Limits) -> Vec<(&'static str, String)> {
            vec![
                $((stringify!($field_ms), l.$dfield.as_millis().to_string()),)*
                $((stringify!($nfield), l.$nfield.to_string()),)*
            ]
        }

        /// The [`Limits`] fields the config file covers.
        #[cfg(test)]
        const LIMIT_FIELDS: &[&str] = &[$(stringify!($dfield),)* $(stringify!($nfield),)*];
    };
}

limits_file! {
    durations {
        tls_handshake_timeout_ms => tls_handshake_timeout,
        header_read_timeout_ms => header_read_timeout,
        body_read_timeout_ms => body_read_timeout,
        idle_timeout_ms => idle_timeout,
        write_stall_timeout_ms => write_stall_timeout,
        request_time_budget_ms => request_time_budget,
        backoff_ms => backoff,
        logon_base_delay_ms => logon_base_delay,
        logon_max_delay_ms => logon_max_delay,
        logon_lockout_ms => logon_lockout,
    }
    numbers {
        max_connections: usize,
        max_connections_per_ip: usize,
        max_objects_per_session: usize,
        max_tables_per_session: usize,
        max_stream_size: u64,
        max_message_size: u64,
        mailbox_quota: u64,
        logon_free_failures: u32,
        logon_lockout_after: u32,
    }
}

/// Keys whose value 0 would stop the server from serving anyone.
const NONZERO_KEYS: &[&str] = &[
    "tls_handshake_timeout_ms",
    "header_read_timeout_ms",
    "body_read_timeout_ms",
    "idle_timeout_ms",
    "write_stall_timeout_ms",
    "request_time_budget_ms",
    "max_connections",
    "max_connections_per_ip",
    "max_objects_per_session",
    "max_tables_per_session",
];

/// Parses a server config file's text into the limits it sets over the defaults.
fn parse_server_config(text: &str) -> Result<Limits> {
    let file: ServerFile = toml::from_str(text)?;
    let mut limits = Limits::default();
    file.limits.apply(&mut limits);
    for (key, value) in limit_entries(&limits) {
        if value == "0" && NONZERO_KEYS.contains(&key) {
            bail!("[limits] {key} must be at least 1");
        }
    }
    Ok(limits)
}

/// Reads `oxmapi serve --config FILE`.
fn load_server_config(path: &Path) -> Result<Limits> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the server config {}", path.display()))?;
    parse_server_config(&text).with_context(|| format!("in the server config {}", path.display()))
}

/// `key=value` for every limit that differs from its default, on one line.
fn non_default_limits(limits: &Limits) -> String {
    let defaults = limit_entries(&Limits::default());
    let changed: Vec<String> = limit_entries(limits)
        .into_iter()
        .zip(defaults)
        .filter(|((_, value), (_, default))| value != default)
        .map(|((key, value), _)| format!("{key}={value}"))
        .collect();
    if changed.is_empty() {
        "defaults (docs/server-limits.md)".to_owned()
    } else {
        format!("{} (others default)", changed.join(" "))
    }
}

pub(crate) fn server_cmd(cmd: ServerCommand) -> Result<ExitCode> {
    match cmd {
        ServerCommand::Import {
            data,
            user,
            config,
            path,
        } => {
            let limits = match &config {
                Some(file) => load_server_config(file)?,
                None => Limits::default(),
            };
            let store = Store::open(&data)?;
            let report = oxmapi_server::import::import_eml_within(&store, &user, &path, &limits)
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
    let lifetime = Duration::from_secs(a.expires_in);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_file_sets_limits_over_the_defaults() {
        let limits = parse_server_config(
            "[limits]\n\
             header_read_timeout_ms = 5000\n\
             max_connections_per_ip = 8\n\
             max_stream_size = 1048576\n\
             logon_base_delay_ms = 100\n",
        )
        .unwrap();
        let defaults = Limits::default();
        assert_eq!(limits.header_read_timeout, Duration::from_secs(5));
        assert_eq!(limits.max_connections_per_ip, 8);
        assert_eq!(limits.max_stream_size, 1 << 20);
        assert_eq!(limits.logon_base_delay, Duration::from_millis(100));
        assert_eq!(limits.body_read_timeout, defaults.body_read_timeout);
        assert_eq!(limits.max_connections, defaults.max_connections);
        assert_eq!(
            non_default_limits(&limits),
            "header_read_timeout_ms=5000 logon_base_delay_ms=100 max_connections_per_ip=8 \
             max_stream_size=1048576 (others default)"
        );
        // An empty file, or one without [limits], is all defaults.
        assert_eq!(parse_server_config("").unwrap(), defaults);
        assert_eq!(parse_server_config("[limits]\n").unwrap(), defaults);
        assert_eq!(
            non_default_limits(&defaults),
            "defaults (docs/server-limits.md)"
        );
    }

    #[test]
    fn config_file_refuses_unknown_keys_and_bad_values() {
        let e = parse_server_config("[limits]\nheader_timeout_ms = 5000\n").unwrap_err();
        assert!(format!("{e:#}").contains("header_timeout_ms"), "{e:#}");
        // The duration fields exist only with their unit.
        let e = parse_server_config("[limits]\nidle_timeout = 5\n").unwrap_err();
        assert!(format!("{e:#}").contains("idle_timeout"), "{e:#}");
        let e = parse_server_config("[server]\nlisten = \"x\"\n").unwrap_err();
        assert!(format!("{e:#}").contains("server"), "{e:#}");
        let e = parse_server_config("[limits]\nmax_connections = -1\n").unwrap_err();
        assert!(format!("{e:#}").contains("max_connections"), "{e:#}");
        let e = parse_server_config("[limits]\nmax_connections = \"many\"\n").unwrap_err();
        assert!(format!("{e:#}").contains("max_connections"), "{e:#}");
        let e = parse_server_config("[limits]\nbody_read_timeout_ms = 0\n").unwrap_err();
        assert!(
            format!("{e:#}").contains("body_read_timeout_ms must be at least 1"),
            "{e:#}"
        );
    }

    #[test]
    fn config_file_covers_every_limit() {
        // Limits is #[non_exhaustive]: its Debug output names every field, so a field added
        // to the server without a config key fails here.
        let debug = format!("{:?}", Limits::default());
        let body = debug
            .trim_start_matches("Limits {")
            .trim_end_matches('}')
            .trim();
        let fields: Vec<&str> = body
            .split(", ")
            .filter_map(|kv| kv.split_once(": ").map(|(k, _)| k.trim()))
            .collect();
        assert!(fields.len() >= 18, "{debug}");
        for f in &fields {
            assert!(LIMIT_FIELDS.contains(f), "no config key for Limits::{f}");
        }
        assert_eq!(fields.len(), LIMIT_FIELDS.len());
    }
}
