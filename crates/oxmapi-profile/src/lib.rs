//! Profiles for oxmapi: which Exchange server and mailbox to open, through which front
//! end, with which credentials.
//!
//! What this crate does:
//! - parses CDO 1.2.1's dynamic profile string `server` LF `mailbox` ([`ProfileInfo`]),
//!   and recognises personalized server names `<mailbox GUID>@<domain>` ([`ServerName`]);
//! - reads and writes the TOML config file ([`Config`], [`ConfigLocation`]) with static
//!   profiles, the global `ignore_no_public_folders` switch (CDO's `Ignore No PF`) and
//!   the proxy map ([`ProxyMap`]: domain suffix → front end, auth, certificate policy);
//! - imports the `RPCHttpProxyMap` registry value ([`ProxyMap::import_rpc_http_proxy_map`])
//!   and Windows `.reg` exports ([`import_reg_file`], [`RegImport::from_bytes`]);
//! - finds the password (file, then `$OXMAPI_PASSWORD`, else prompt) or the bearer token
//!   (`--token-file`, then `$OXMAPI_TOKEN`; [`find_token`]) into a redacting [`Secret`];
//! - resolves all of that into one [`ResolvedProfile`] ([`resolve`]).
//!
//! What it does not do: any network I/O, prompting, or authentication. Unlike CDO's
//! dynamic profiles, ours carry credentials, so Basic-only proxies and Office 365 work.
//!
//! ```
//! use oxmapi_profile::{Config, Overrides, ProfileInfo, ProfileSelection, resolve};
//! use std::path::Path;
//!
//! let config = Config::from_toml(
//!     r#"
//!     [proxy_map."contoso.com"]
//!     url = "https://mail.contoso.com"
//!     auth = "ntlm"
//!     "#,
//!     Path::new("example.toml"),
//! )?;
//! let info = ProfileInfo::parse("9a3c8e1b-4f2d-4c6a-8b7e-1d2f3a4b5c6d@eu.contoso.com\nalice")?;
//! let resolved = resolve(&config, &ProfileSelection::Dynamic(info), &Overrides::default())?;
//! assert_eq!(resolved.front_end_url.to_string(), "https://mail.contoso.com");
//! assert_eq!(resolved.proxy_entry_key.as_deref(), Some("contoso.com"));
//! assert!(!resolved.ignore_no_public_folders); // CDO's default: "Ignore No PF" is off
//! # Ok::<(), oxmapi_profile::ProfileError>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod config;
mod error;
mod info;
mod proxy;
mod reg;
mod resolve;
pub mod rpc_proxy_map;
mod secret;

pub use config::{AddMode, CONFIG_ENV, Config, ConfigLocation, ConfigSource, Profile, Transport};
pub use error::{
    FrontEndError, PasswordFileProblem, ProfileError, ProfileInfoError, ProfileInfoPart,
    ProxyMapImportError, ProxyMapImportErrorKind, RegImportError, TokenFileProblem,
};
pub use info::{ProfileInfo, ServerKind, ServerName};
pub use proxy::{
    AuthMethod, CertFingerprint, CertPolicy, FrontEndUrl, ProxyEntry, ProxyEntryOptions, ProxyMap,
    ProxyMatch, Scheme,
};
pub use reg::{
    IGNORE_NO_PF_VALUE, RPC_HTTP_PROXY_MAP_VALUE, RegImport, RegValueRef, import_reg_file,
};
pub use resolve::{CONNECT_IGNORE_NO_PF, Overrides, ProfileSelection, ResolvedProfile, resolve};
pub use secret::{
    PASSWORD_ENV, PasswordSource, Secret, TOKEN_ENV, TokenSource, find_password,
    find_password_from_env, find_token, find_token_from_env, split_user,
};
