//! Connection options shared by every mailbox command, and the logon report printer.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use oxmapi::{LogonParams, LogonReport, RetryPolicy};
use oxmapi_profile::{
    AuthMethod, Config, ConfigLocation, Overrides, PasswordSource, ProfileInfo, ProfileSelection,
    Secret, Transport, find_password_from_env, find_token_from_env, resolve,
};

/// How to reach the mailbox: a static profile or a dynamic ProfileInfo, plus credentials.
#[derive(Args, Debug, Clone)]
pub(crate) struct ConnArgs {
    /// A static profile from the config file.
    #[arg(long, conflicts_with = "profile_info")]
    pub(crate) profile: Option<String>,
    /// A dynamic profile, CDO's ProfileInfo: "<server>\n<mailbox>" (a real line feed or the
    /// two characters \n), e.g. "4f1c…@contoso.com\njdoe".
    #[arg(long, value_name = "SERVER\\nMAILBOX")]
    pub(crate) profile_info: Option<String>,
    /// Config file (default: $OXMAPI_CONFIG, else ~/.config/oxmapi/config.toml).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// User to authenticate as (`alice`, `CONTOSO\alice`, `alice@contoso.com`).
    #[arg(long)]
    pub(crate) user: Option<String>,
    /// Read the password from the first line of FILE (else $OXMAPI_PASSWORD, else a prompt).
    #[arg(long, value_name = "FILE")]
    pub(crate) password_file: Option<PathBuf>,
    /// With `auth = "bearer"` (Office 365): read the OAuth access token from the first line
    /// of FILE (else $OXMAPI_TOKEN; nothing is prompted for).
    #[arg(long, value_name = "FILE", conflicts_with = "password_file")]
    pub(crate) token_file: Option<PathBuf>,
    /// Log on even when the organization has no public folders (CDO's "Ignore No PF").
    #[arg(long)]
    pub(crate) ignore_no_public_folders: bool,
    /// Transport: mapihttp (MAPI over HTTP), rpchttp (RPC over HTTP v2, Outlook Anywhere), or
    /// auto (MAPI/HTTP, falling back to RPC/HTTP). Default: the profile's.
    #[arg(long, value_parser = parse_transport)]
    pub(crate) transport: Option<Transport>,
    /// Longest wait of one call for a server that asks the client to back off (RopBackoff,
    /// RPC_S_SERVER_TOO_BUSY) before it fails with MAPI_E_BUSY.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub(crate) backoff_budget: u64,
    /// After a send's answer was lost: how long to keep trying to reach the mailbox and find
    /// the message before reporting its fate as unknown.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub(crate) check_window: u64,
}

pub(crate) fn parse_transport(s: &str) -> Result<Transport, String> {
    match s.to_ascii_lowercase().as_str() {
        "mapihttp" | "mapi-http" => Ok(Transport::MapiHttp),
        "rpchttp" | "rpc-http" => Ok(Transport::RpcHttp),
        "auto" => Ok(Transport::Auto),
        _ => Err(format!(
            "unknown transport {s:?}: use mapihttp, rpchttp or auto"
        )),
    }
}

impl ConnArgs {
    pub(crate) fn load_config(&self) -> Result<Config> {
        let loc = ConfigLocation::from_env(self.config.clone())?;
        Config::load_or_default(&loc.path)
            .with_context(|| format!("reading config {}", loc.path.display()))
    }

    pub(crate) fn password(&self) -> Result<Secret> {
        match find_password_from_env(self.password_file.as_deref())? {
            PasswordSource::PromptNeeded => prompt_password(),
            other => other
                .secret()
                .cloned()
                .context("no password source produced a password"),
        }
    }

    pub(crate) fn logon_params(&self) -> Result<LogonParams> {
        if self.profile.is_none() && self.profile_info.is_none() {
            bail!("give --profile NAME or --profile-info \"<server>\\n<mailbox>\"");
        }
        let overrides = Overrides {
            user: self.user.clone(),
            ignore_no_public_folders: self.ignore_no_public_folders.then_some(true),
            transport: self.transport,
            ..Overrides::default()
        };
        // With bearer the token travels where the password would (LogonParams::password).
        let secret = if self.uses_bearer(&overrides) {
            self.token()?
        } else if self.token_file.is_some() {
            bail!(
                "--token-file is only used with auth = \"bearer\"; this profile's front end uses another scheme"
            );
        } else {
            self.password()?
        };
        Ok(LogonParams {
            profile_name: self.profile.clone(),
            profile_info: self.profile_info.clone(),
            password: Some(secret),
            overrides,
            retry: RetryPolicy {
                backoff_budget: Duration::from_secs(self.backoff_budget),
                check_window: Duration::from_secs(self.check_window),
            },
            ..LogonParams::default()
        })
    }

    /// Whether the profile resolves to `auth = "bearer"`. A profile that does not resolve is
    /// reported by the logon itself, with its step.
    fn uses_bearer(&self, overrides: &Overrides) -> bool {
        let Ok(config) = self.load_config() else {
            return false;
        };
        let selection = match (&self.profile, &self.profile_info) {
            (Some(name), _) => ProfileSelection::Named(name.clone()),
            (None, Some(info)) => match ProfileInfo::parse(info) {
                Ok(info) => ProfileSelection::Dynamic(info),
                Err(_) => return false,
            },
            (None, None) => return false,
        };
        resolve(&config, &selection, overrides).is_ok_and(|p| p.auth == AuthMethod::Bearer)
    }

    /// The bearer token: --token-file, else $OXMAPI_TOKEN; never a prompt.
    fn token(&self) -> Result<Secret> {
        match find_token_from_env(self.token_file.as_deref())? {
            Some(source) => {
                tracing::debug!(source = %source.describe(), "bearer token found");
                Ok(source.secret().clone())
            }
            None => bail!(
                "no bearer token: the front end uses auth = \"bearer\"; put the access token in a file and \
                 pass --token-file FILE, or set OXMAPI_TOKEN (see the README, \"Office 365 and bearer tokens\")"
            ),
        }
    }
}

fn prompt_password() -> Result<Secret> {
    if !std::io::stdin().is_terminal() {
        bail!("no password: set OXMAPI_PASSWORD or use --password-file FILE");
    }
    let p = rpassword::prompt_password("Password: ")?;
    Ok(Secret::new(p))
}

/// Prints the logon report as text.
pub(crate) fn print_report(r: &LogonReport) {
    let p = &r.profile;
    println!("oxmapi logon report");
    match &p.name {
        Some(n) => println!("  profile         static profile {n:?}"),
        None => println!("  profile         dynamic (ProfileInfo)"),
    }
    println!("  server          {}", p.server);
    println!("  mailbox         {}", p.mailbox);
    println!(
        "  proxy map       {}",
        p.proxy_map_entry
            .as_deref()
            .map(|k| format!("entry {k:?} -> {}", p.front_end))
            .unwrap_or_else(|| format!("(none) -> {}", p.front_end))
    );
    println!("  auth            {} as {}", p.auth, p.user);
    println!(
        "  Ignore No PF    {}",
        if p.ignore_no_public_folders {
            "set"
        } else {
            "not set"
        }
    );
    if let Some(t) = &r.tls {
        println!(
            "  tls             {} {} ; certificate policy {} for {}",
            t.version, t.cipher_suite, t.policy, t.checked_name
        );
        if let Some(fp) = &t.certificate_sha256 {
            println!("  certificate     sha256 {fp}");
        }
    } else {
        println!("  tls             (no connection made)");
    }
    if !r.transport.used.is_empty() {
        println!(
            "  transport       {} ({})",
            r.transport.used, r.transport.reason
        );
        println!("                  {}", r.transport.emsmdb_url);
    }
    println!("  steps");
    for s in &r.steps {
        println!(
            "    {} {:<15} {:>5} ms {:>3} round trips  {}",
            if s.ok { "ok  " } else { "FAIL" },
            s.name,
            s.elapsed_ms,
            s.http_round_trips,
            s.detail
        );
    }
    if let Some(m) = &r.mailbox {
        println!(
            "  mailbox owner   {} ({})",
            m.display_name,
            r.resolved.as_ref().map(|x| x.dn.as_str()).unwrap_or("")
        );
        println!("  mailbox guid    {}", m.mailbox_guid);
        if let Some(v) = &m.server_version {
            println!("  server version  {v}");
        }
        for (name, id) in &m.special_folders {
            println!("    {name:<26} {id}");
        }
    }
    if let Some(pf) = &r.public_folders {
        println!("  public folders  {pf}");
    }
    println!(
        "  total           {} ms, {} HTTP round trips",
        r.total_ms, r.total_http_round_trips
    );
    for w in &r.warnings {
        eprintln!("WARNING: {w}");
    }
    if let Some(e) = &r.error {
        println!(
            "  FAILED at step {}: {} {}: {}",
            e.step.as_deref().unwrap_or("?"),
            e.mapi_error,
            e.code,
            e.message
        );
        if let Some(h) = &e.hint {
            println!("  hint: {h}");
        }
    }
}
