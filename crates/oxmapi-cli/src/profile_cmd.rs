//! `oxmapi profile add|list|show|remove|import-reg`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use oxmapi_profile::{AddMode, Config, ConfigLocation, Profile, RegImport, ServerName};

/// `oxmapi profile ...`.
#[derive(Args, Debug)]
pub(crate) struct ProfileArgs {
    /// Config file (default: $OXMAPI_CONFIG, else ~/.config/oxmapi/config.toml).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    cmd: ProfileCommand,
}

#[derive(Subcommand, Debug)]
enum ProfileCommand {
    /// Add (or with --replace, replace) a static profile.
    Add {
        /// Profile name.
        name: String,
        /// Server: personalized server name (<mailbox GUID>@<domain>) or host.
        #[arg(long)]
        server: String,
        /// Mailbox (alias).
        #[arg(long)]
        mailbox: String,
        /// User to authenticate as.
        #[arg(long)]
        user: Option<String>,
        /// Ignore No PF for this profile.
        #[arg(long)]
        ignore_no_public_folders: Option<bool>,
        /// Replace an existing profile.
        #[arg(long)]
        replace: bool,
    },
    /// List profiles.
    List,
    /// Show one profile as TOML.
    Show {
        /// Profile name.
        name: String,
    },
    /// Remove a profile.
    Remove {
        /// Profile name.
        name: String,
    },
    /// Import RPCHttpProxyMap and Ignore No PF from a Windows .reg export.
    ImportReg {
        /// The .reg file (UTF-16LE with BOM as regedit writes it, or UTF-8).
        file: PathBuf,
    },
}

pub(crate) fn run(args: ProfileArgs) -> Result<ExitCode> {
    let loc = ConfigLocation::from_env(args.config)?;
    let mut config = Config::load_or_default(&loc.path)?;
    match args.cmd {
        ProfileCommand::Add {
            name,
            server,
            mailbox,
            user,
            ignore_no_public_folders,
            replace,
        } => {
            let mut p = Profile::new(ServerName::parse(&server)?, mailbox);
            p.user = user;
            p.ignore_no_public_folders = ignore_no_public_folders;
            let mode = if replace {
                AddMode::Replace
            } else {
                AddMode::CreateNew
            };
            config.add_profile(&name, p, mode)?;
            config.save(&loc.path)?;
            println!("profile {name:?} saved in {}", loc.path.display());
        }
        ProfileCommand::List => {
            for (name, p) in config.profiles() {
                println!("{name:<20} {} / {}", p.server.as_str(), p.mailbox);
            }
        }
        ProfileCommand::Show { name } => {
            let p = config.require_profile(&name)?;
            println!("[profiles.{name}]\n{}", toml::to_string(p)?);
        }
        ProfileCommand::Remove { name } => {
            config.remove_profile(&name)?;
            config.save(&loc.path)?;
            println!("profile {name:?} removed from {}", loc.path.display());
        }
        ProfileCommand::ImportReg { file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let import = RegImport::from_bytes(&bytes)?;
            println!(
                "found: proxy map {}, Ignore No PF {}",
                if import.proxy_map.is_some() {
                    "yes"
                } else {
                    "no"
                },
                import
                    .ignore_no_pf
                    .map(|b| b.to_string())
                    .unwrap_or_else(|| "not set".into())
            );
            config.apply_reg_import(import);
            config.save(&loc.path)?;
            println!("merged into {}", loc.path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
