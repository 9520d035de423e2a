//! Turns a profile selection plus the config into one [`ResolvedProfile`]: the server
//! and mailbox, the front end with its authentication and certificate policy, the
//! ignore-no-public-folders switch, the user, and an explanation of where each came from.

use crate::config::{Config, Profile, Transport};
use crate::error::ProfileError;
use crate::info::{ProfileInfo, ServerKind, ServerName};
use crate::proxy::{AuthMethod, CertPolicy, FrontEndUrl, ProxyEntry};
use crate::secret::split_user;

/// `CONNECT_IGNORE_NO_PF`: the profile connect flag that lets a logon succeed when the
/// organization has no public folders (set in `PR_PROFILE_CONNECT_FLAGS` of the global
/// profile section; S. Griffin, "MAPI and Exchange 2007", MSDN blog, 2007).
pub const CONNECT_IGNORE_NO_PF: u32 = 0x8000;

/// Which profile to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileSelection {
    /// A static profile from the config file (`--profile NAME`).
    Named(String),
    /// A dynamic profile (`--profile-info "server\nmailbox"`).
    Dynamic(ProfileInfo),
}

/// Command-line overrides; `None` keeps the profile's or config's value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// User name to authenticate as.
    pub user: Option<String>,
    /// Authentication domain.
    pub domain: Option<String>,
    /// Transport.
    pub transport: Option<Transport>,
    /// Ignore-no-public-folders switch.
    pub ignore_no_public_folders: Option<bool>,
    /// A front end instead of the profile's or the proxy map's.
    pub front_end: Option<ProxyEntry>,
}

/// Everything a logon needs except the password or bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedProfile {
    /// The server name (personalized or host).
    pub server_name: ServerName,
    /// The mailbox (alias).
    pub mailbox: String,
    /// The front end's base URL.
    pub front_end_url: FrontEndUrl,
    /// Authentication to the front end (`Bearer` only with an https front end).
    pub auth: AuthMethod,
    /// Certificate policy.
    pub cert_policy: CertPolicy,
    /// The host name the certificate must carry, when not the URL's host
    /// (from `msstd:<name>`, prefix removed).
    pub expected_principal: Option<String>,
    /// Whether to log on without public folders ([`CONNECT_IGNORE_NO_PF`]).
    pub ignore_no_public_folders: bool,
    /// User name (`DOMAIN\` prefix split off into `domain`).
    pub user: Option<String>,
    /// Authentication domain.
    pub domain: Option<String>,
    /// Transport.
    pub transport: Transport,
    /// The proxy map key used, if the front end came from the proxy map.
    pub proxy_entry_key: Option<String>,
    /// Human-readable account of where the settings came from, for the logon report.
    pub origin: String,
}

impl ResolvedProfile {
    /// [`CONNECT_IGNORE_NO_PF`] if set, else 0.
    pub fn connect_flags(&self) -> u32 {
        if self.ignore_no_public_folders {
            CONNECT_IGNORE_NO_PF
        } else {
            0
        }
    }
}

/// Resolves a selection against the config. Precedence: overrides, then the static
/// profile, then the config's global values; the front end comes from the overrides,
/// else the profile's `front_end`, else the longest matching proxy map entry.
pub fn resolve(
    config: &Config,
    selection: &ProfileSelection,
    overrides: &Overrides,
) -> Result<ResolvedProfile, ProfileError> {
    let (profile, what) = match selection {
        ProfileSelection::Named(name) => (
            config.require_profile(name)?.clone(),
            format!("static profile {name:?} from the config file"),
        ),
        ProfileSelection::Dynamic(info) => (
            Profile::new(info.server().clone(), info.mailbox()),
            "dynamic profile (profile info)".to_owned(),
        ),
    };
    let mut origin = vec![format!(
        "{what}: server {:?}, mailbox {:?}",
        profile.server.as_str(),
        profile.mailbox
    )];

    let (entry, proxy_entry_key, front_end_origin) = choose_front_end(config, &profile, overrides)?;
    if entry.auth() == AuthMethod::Bearer && !entry.url().is_https() {
        return Err(ProfileError::BearerWithoutTls {
            where_: front_end_origin,
            url: entry.url().to_string(),
        });
    }
    origin.push(format!("front end {} from {front_end_origin}", entry.url()));

    let (ignore, ignore_origin) = match (
        overrides.ignore_no_public_folders,
        profile.ignore_no_public_folders,
    ) {
        (Some(v), _) => (v, "the command line"),
        (None, Some(v)) => (v, "the profile"),
        (None, None) => (config.ignore_no_public_folders, "the global setting"),
    };
    origin.push(format!(
        "ignore no public folders = {ignore} from {ignore_origin}"
    ));

    let (user, domain) = user_and_domain(&profile, overrides);
    let transport = overrides.transport.unwrap_or(profile.transport);

    Ok(ResolvedProfile {
        server_name: profile.server,
        mailbox: profile.mailbox,
        front_end_url: entry.url().clone(),
        auth: entry.auth(),
        cert_policy: entry.certificate().clone(),
        expected_principal: entry.expected_certificate_name().map(str::to_owned),
        ignore_no_public_folders: ignore,
        user,
        domain,
        transport,
        proxy_entry_key,
        origin: origin.join("; "),
    })
}

fn choose_front_end(
    config: &Config,
    profile: &Profile,
    overrides: &Overrides,
) -> Result<(ProxyEntry, Option<String>, String), ProfileError> {
    if let Some(entry) = &overrides.front_end {
        return Ok((entry.clone(), None, "the command line".to_owned()));
    }
    if let Some(entry) = &profile.front_end {
        return Ok((entry.clone(), None, "the profile's front_end".to_owned()));
    }
    let looked_up = profile.server.lookup_name();
    let hit = config
        .proxy_map
        .lookup(looked_up)
        .ok_or_else(|| no_proxy_entry(&profile.server))?;
    let how = if hit
        .key
        .eq_ignore_ascii_case(looked_up.trim_end_matches('.'))
    {
        format!("proxy map entry {:?}", hit.key)
    } else {
        format!(
            "proxy map entry {:?} (longest suffix of {looked_up:?})",
            hit.key
        )
    };
    Ok((hit.entry.clone(), Some(hit.key.to_owned()), how))
}

fn user_and_domain(profile: &Profile, overrides: &Overrides) -> (Option<String>, Option<String>) {
    let user = overrides.user.clone().or_else(|| profile.user.clone());
    let explicit_domain = overrides.domain.clone().or_else(|| profile.domain.clone());
    match user {
        Some(user) => {
            let (name, split_domain) = split_user(&user);
            (Some(name), explicit_domain.or(split_domain))
        }
        None => (None, explicit_domain),
    }
}

fn no_proxy_entry(server: &ServerName) -> ProfileError {
    let looked_up = server
        .lookup_name()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let url = match server.kind() {
        ServerKind::Personalized { .. } => format!("https://mail.{looked_up}"),
        ServerKind::Host(_) => format!("https://{looked_up}"),
    };
    let snippet = format!(
        "[proxy_map.\"{looked_up}\"]\n\
         url = \"{url}\"   # the rpc proxy / mapi-over-http front end\n\
         auth = \"ntlm\"                # or \"negotiate\", \"basic\" or \"bearer\""
    );
    ProfileError::NoProxyEntry {
        server: server.as_str().to_owned(),
        looked_up,
        snippet,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AddMode;
    use crate::proxy::ProxyEntryOptions;
    use std::path::Path;

    const GUID: &str = "9a3c8e1b-4f2d-4c6a-8b7e-1d2f3a4b5c6d";

    fn config() -> Config {
        Config::from_toml(
            r#"
            [proxy_map."contoso.com"]
            url = "https://mail.contoso.com"
            auth = "ntlm"
            [proxy_map."eu.contoso.com"]
            url = "https://eu.contoso.com"
            auth = "basic"
            certificate = "ignore"
            expected_principal = "msstd:*.contoso.com"
            [proxy_map."o365.test"]
            url = "https://outlook.o365.test"
            auth = "bearer"
            [profiles.work]
            server = "9a3c8e1b-4f2d-4c6a-8b7e-1d2f3a4b5c6d@contoso.com"
            mailbox = "alice"
            user = "CONTOSO\\alice"
            ignore_no_public_folders = false
            transport = "auto"
            "#,
            Path::new("t.toml"),
        )
        .unwrap()
    }

    fn dynamic(server: &str, mailbox: &str) -> ProfileSelection {
        ProfileSelection::Dynamic(ProfileInfo::new(server, mailbox).unwrap())
    }

    #[test]
    fn dynamic_profile_uses_longest_suffix() {
        let r = resolve(
            &config(),
            &dynamic(&format!("{GUID}@EU.contoso.com"), "bob"),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(r.server_name.mailbox_guid(), Some(GUID));
        assert_eq!(r.mailbox, "bob");
        assert_eq!(r.front_end_url.to_string(), "https://eu.contoso.com");
        assert_eq!(r.auth, AuthMethod::Basic);
        assert_eq!(r.cert_policy, CertPolicy::Ignore);
        assert_eq!(r.expected_principal.as_deref(), Some("*.contoso.com"));
        assert_eq!(r.proxy_entry_key.as_deref(), Some("eu.contoso.com"));
        assert!(!r.ignore_no_public_folders, "global default is off");
        assert_eq!(r.connect_flags(), 0);
        assert_eq!(r.transport, Transport::MapiHttp);
        assert_eq!((r.user, r.domain), (None, None));
        assert!(r.origin.contains("dynamic profile"), "{}", r.origin);
        assert!(
            r.origin.contains("proxy map entry \"eu.contoso.com\""),
            "{}",
            r.origin
        );

        let r = resolve(
            &config(),
            &dynamic("mail.us.contoso.com", "bob"),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(r.proxy_entry_key.as_deref(), Some("contoso.com"));
        assert!(
            r.origin
                .contains("longest suffix of \"mail.us.contoso.com\""),
            "{}",
            r.origin
        );
    }

    #[test]
    fn named_profile_and_precedence() {
        let r = resolve(
            &config(),
            &ProfileSelection::Named("work".into()),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(r.user.as_deref(), Some("alice"));
        assert_eq!(r.domain.as_deref(), Some("CONTOSO"));
        assert!(!r.ignore_no_public_folders, "profile overrides global");
        assert_eq!(r.connect_flags(), 0);
        assert_eq!(r.transport, Transport::Auto);
        assert_eq!(r.auth, AuthMethod::Ntlm);
        assert!(r.origin.contains("static profile \"work\""), "{}", r.origin);
        assert!(r.origin.contains("from the profile"), "{}", r.origin);

        let overrides = Overrides {
            user: Some("bob@contoso.com".into()),
            domain: Some("FABRIKAM".into()),
            transport: Some(Transport::RpcHttp),
            ignore_no_public_folders: Some(true),
            front_end: Some(
                ProxyEntry::new(
                    FrontEndUrl::parse("other.contoso.com").unwrap(),
                    AuthMethod::Negotiate,
                    ProxyEntryOptions::default(),
                )
                .unwrap(),
            ),
        };
        let r = resolve(
            &config(),
            &ProfileSelection::Named("work".into()),
            &overrides,
        )
        .unwrap();
        assert_eq!(r.user.as_deref(), Some("bob@contoso.com"));
        assert_eq!(r.domain.as_deref(), Some("FABRIKAM"));
        assert_eq!(r.transport, Transport::RpcHttp);
        assert!(r.ignore_no_public_folders);
        assert_eq!(r.auth, AuthMethod::Negotiate);
        assert_eq!(r.proxy_entry_key, None);
        assert!(r.origin.contains("from the command line"), "{}", r.origin);
    }

    #[test]
    fn profile_front_end_beats_proxy_map() {
        let mut config = config();
        let mut p = Profile::new(ServerName::parse("exch01.contoso.com").unwrap(), "carol");
        p.front_end = Some(
            ProxyEntry::new(
                FrontEndUrl::parse("https://exch01.contoso.com:8443").unwrap(),
                AuthMethod::Basic,
                ProxyEntryOptions::default(),
            )
            .unwrap(),
        );
        config.add_profile("direct", p, AddMode::CreateNew).unwrap();
        let r = resolve(
            &config,
            &ProfileSelection::Named("direct".into()),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(r.front_end_url.port(), 8443);
        assert_eq!(r.proxy_entry_key, None);
        assert!(r.origin.contains("the profile's front_end"), "{}", r.origin);
    }

    #[test]
    fn no_entry_error_shows_domain_and_snippet() {
        let err = resolve(
            &config(),
            &dynamic(&format!("{GUID}@Fabrikam.com"), "dan"),
            &Overrides::default(),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("no proxy map entry matches \"fabrikam.com\""),
            "{msg}"
        );
        assert!(msg.contains("[proxy_map.\"fabrikam.com\"]"), "{msg}");
        assert!(msg.contains("url = \"https://mail.fabrikam.com\""), "{msg}");
        // The snippet must itself be a valid config.
        let ProfileError::NoProxyEntry { snippet, .. } = err else {
            panic!()
        };
        let fixed = Config::from_toml(&snippet, Path::new("snippet.toml")).unwrap();
        assert!(fixed.proxy_map.get("fabrikam.com").is_some());

        let msg = resolve(
            &config(),
            &dynamic("notcontoso.com", "x"),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(msg.contains("url = \"https://notcontoso.com\""), "{msg}");
    }

    #[test]
    fn bearer_is_resolved_over_https_only() {
        let r = resolve(
            &config(),
            &dynamic("x.o365.test", "eve"),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(r.auth, AuthMethod::Bearer);
        assert_eq!(r.front_end_url.to_string(), "https://outlook.o365.test");

        let mut config = config();
        let entry = ProxyEntry::new(
            FrontEndUrl::parse("http://127.0.0.1:8080").unwrap(),
            AuthMethod::Bearer,
            ProxyEntryOptions {
                allow_http: true,
                ..ProxyEntryOptions::default()
            },
        )
        .unwrap();
        config.proxy_map.insert("lab.test", entry).unwrap();
        let msg = resolve(&config, &dynamic("lab.test", "eve"), &Overrides::default())
            .unwrap_err()
            .to_string();
        assert_eq!(
            msg,
            "proxy map entry \"lab.test\" uses bearer authentication over plain http \
             (http://127.0.0.1:8080); bearer tokens are sent over https only"
        );
    }

    #[test]
    fn unknown_named_profile() {
        let msg = resolve(
            &config(),
            &ProfileSelection::Named("home".into()),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            msg,
            "no profile named \"home\" in the config file (known: work)"
        );
    }
}
