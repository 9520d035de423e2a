//! `oxmapi demo`: the source's scenario on one machine — an Exchange 2013-style
//! organization without public folders, a dynamic profile "<personalized server>\n<alias>",
//! a proxy-map entry (RPCHttpProxyMap) and Ignore No PF — against the embedded server.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use oxmapi::{LogonParams, Session};
use oxmapi_profile::{Config, Overrides, Secret};
use oxmapi_server::{ServerConfig, serve};

use crate::conn::print_report;

/// HTTP authentication for the demo.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum DemoAuth {
    /// NTLM (what CDO used with a Windows logon).
    Ntlm,
    /// Basic (a Basic-only proxy, which CDO could not use with a dynamic profile).
    Basic,
}

/// Arguments of `oxmapi demo`.
#[derive(Args, Debug)]
pub(crate) struct DemoArgs {
    /// Authentication to use.
    #[arg(long, value_enum, default_value = "ntlm")]
    auth: DemoAuth,
    /// Give the organization public folders.
    #[arg(long)]
    public_folders: bool,
    /// Do not set Ignore No PF (shows the MAPI_E_FAILONEPROVIDER failure without public folders).
    #[arg(long)]
    no_ignore_no_pf: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// Transport: mapihttp (default), rpchttp (RPC over HTTP v2, what CDO used with
    /// Exchange 2013), or auto.
    #[arg(long, value_parser = crate::conn::parse_transport)]
    transport: Option<oxmapi_profile::Transport>,
    /// Address for the embedded server (default: a free loopback port), e.g. to capture it.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: std::net::SocketAddr,
}

pub(crate) async fn run(args: DemoArgs) -> Result<ExitCode> {
    let dir = tempfile::tempdir().context("creating a temporary data directory")?;
    let mut cfg = ServerConfig::new(dir.path());
    cfg.listen = args.listen;
    cfg.public_folders = args.public_folders;
    let server = serve(cfg).await.context("starting the embedded server")?;
    let password = random_password();
    let user = server
        .store()
        .add_user("jdoe", "John Doe", &password)
        .context("adding the demo user")?;
    oxmapi_server::import::seed_demo_mailbox(server.store(), &user.alias)
        .context("seeding the demo mailbox")?;
    let port = server.local_addr().port();
    let auth = match args.auth {
        DemoAuth::Ntlm => "ntlm",
        DemoAuth::Basic => "basic",
    };
    let toml = format!(
        "ignore_no_public_folders = {ignore}\n\n[proxy_map.\"{domain}\"]\nurl = \"https://127.0.0.1:{port}\"\nauth = \"{auth}\"\ncertificate = {{ ca_file = {ca:?} }}\n",
        ignore = !args.no_ignore_no_pf,
        domain = oxmapi_server::DEFAULT_DOMAIN,
        ca = server.ca_path().display().to_string(),
    );
    let config = Config::from_toml(&toml, std::path::Path::new("demo.toml"))?;
    let profile_info = format!("{}\n{}", user.personalized_server_name, user.alias);
    if !args.json {
        eprintln!(
            "embedded Exchange-protocol server on https://{} (certificate sha256 {})",
            server.local_addr(),
            server.cert_fingerprint()
        );
        eprintln!(
            "organization {:?}, public folders: {}; user {} <{}>",
            oxmapi_server::DEFAULT_ORG_NAME,
            if args.public_folders { "yes" } else { "none" },
            user.display_name,
            user.smtp
        );
        eprintln!(
            "config (RPCHttpProxyMap and Ignore No PF):\n{}",
            indent(&toml)
        );
        eprintln!(
            "CDO: objSession.Logon , , False, True, , True, \"{}\" & vbLf & \"{}\"\n",
            user.personalized_server_name, user.alias
        );
    }
    let params = LogonParams {
        profile_info: Some(profile_info),
        password: Some(Secret::new(password)),
        overrides: Overrides {
            transport: args.transport,
            ..Overrides::default()
        },
        ..LogonParams::default()
    };
    let (mut result, report) = Session::logon_with_report(&config, params).await;
    let mail = match result.as_mut() {
        Ok(s) => {
            Some(crate::demo_mail::send_and_read_back(&server, &config, s, args.transport).await?)
        }
        Err(_) => None,
    };
    if args.json {
        println!(
            "{}",
            crate::demo_mail::json_with_mail(&report, mail.as_ref())?
        );
    } else {
        print_report(&report);
    }
    let code = match result {
        Ok(mut session) => {
            if !args.json {
                crate::read_cmds::demo_tour(&mut session).await?;
            }
            if let (Some(m), false) = (&mail, args.json) {
                crate::demo_mail::print(m);
            }
            session.logoff().await?;
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("oxmapi demo: logon failed: {e}");
            ExitCode::from(1)
        }
    };
    server.shutdown().await;
    Ok(code)
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("    {l}\n")).collect()
}

fn random_password() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
