//! The config file: global settings, the proxy map and static profiles (TOML).
//!
//! Location: an explicit path, else `$OXMAPI_CONFIG`, else `config.toml` in the XDG
//! config directory (`~/.config/oxmapi/config.toml` on Linux), see [`ConfigLocation`].
//! Saving rewrites the whole file atomically (temporary file + rename); TOML comments
//! are not preserved, unknown top-level tables are (other tools may keep settings there).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::ProfileError;
use crate::info::ServerName;
use crate::proxy::{ProxyEntry, ProxyMap};
use crate::reg::RegImport;

/// The environment variable that names the config file.
pub const CONFIG_ENV: &str = "OXMAPI_CONFIG";

/// Which transport a profile asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// MAPI over HTTP (MS-OXCMAPIHTTP). The default: every Exchange from 2013 SP1 and
    /// Exchange Online speak it, and it needs no long-lived RPC channels.
    #[default]
    MapiHttp,
    /// RPC over HTTP (MS-OXCRPC over MS-RPCH), what CDO 1.2.1 used.
    RpcHttp,
    /// Try MAPI/HTTP, fall back to RPC/HTTP.
    Auto,
}

impl Transport {
    /// The config-file name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MapiHttp => "mapihttp",
            Self::RpcHttp => "rpchttp",
            Self::Auto => "auto",
        }
    }
}

/// A static profile (`[profiles.<name>]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The server name: `<mailbox GUID>@<domain>` or a host.
    pub server: ServerName,
    /// The mailbox (alias).
    pub mailbox: String,
    /// The user name to authenticate as (`alice`, `CONTOSO\alice` or `alice@contoso.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The authentication domain, when not part of `user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Transport (default `mapihttp`).
    #[serde(default)]
    pub transport: Transport,
    /// Overrides the global `ignore_no_public_folders`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_no_public_folders: Option<bool>,
    /// A front end for this profile only, instead of the proxy map.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub front_end: Option<ProxyEntry>,
}

impl Profile {
    /// A profile with only server and mailbox; everything else default.
    pub fn new(server: ServerName, mailbox: impl Into<String>) -> Self {
        Self {
            server,
            mailbox: mailbox.into(),
            user: None,
            domain: None,
            transport: Transport::default(),
            ignore_no_public_folders: None,
            front_end: None,
        }
    }
}

/// Whether [`Config::add_profile`] may replace an existing profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddMode {
    /// Fail if the name is taken.
    CreateNew,
    /// Replace a profile of the same name.
    Replace,
}

/// The whole config file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Log on even when the organization has no public folders (CDO's `Ignore No PF`,
    /// `CONNECT_IGNORE_NO_PF`). Default `false`, as for a CDO 1.2.1 dynamic profile: the
    /// source scenario needs the setting turned on for an Exchange 2013+ organization
    /// without public folders, and an explicit setting keeps that visible.
    #[serde(default)]
    pub ignore_no_public_folders: bool,
    /// The proxy map.
    #[serde(default, skip_serializing_if = "ProxyMap::is_empty")]
    pub proxy_map: ProxyMap,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    profiles: BTreeMap<String, Profile>,
    /// Unknown top-level keys, kept as they were.
    #[serde(flatten)]
    other: toml::Table,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            ignore_no_public_folders: false,
            proxy_map: ProxyMap::new(),
            profiles: BTreeMap::new(),
            other: toml::Table::new(),
        }
    }
}

impl Config {
    /// Parses config text; `path` only names the file in errors.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ProfileError> {
        let config: Self = toml::from_str(text).map_err(|e| ProfileError::ConfigParse {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        for name in config.profiles.keys() {
            check_profile_name(name).map_err(|e| ProfileError::ConfigParse {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
        }
        Ok(config)
    }

    /// Serializes to TOML text.
    pub fn to_toml(&self) -> Result<String, ProfileError> {
        toml::to_string_pretty(self).map_err(|e| ProfileError::ConfigSerialize {
            message: e.to_string(),
        })
    }

    /// Reads and parses the file.
    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        let text = fs::read_to_string(path).map_err(|source| ProfileError::ConfigRead {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text, path)
    }

    /// Like [`Config::load`], but a missing file gives the default config.
    pub fn load_or_default(path: &Path) -> Result<Self, ProfileError> {
        match Self::load(path) {
            Err(ProfileError::ConfigRead { source, .. })
                if source.kind() == io::ErrorKind::NotFound =>
            {
                Ok(Self::default())
            }
            other => other,
        }
    }

    /// Writes the file atomically: a temporary file in the same directory, flushed to
    /// disk, then renamed over `path`. Creates the parent directory if needed.
    pub fn save(&self, path: &Path) -> Result<(), ProfileError> {
        let text = self.to_toml()?;
        write_atomically(path, text.as_bytes()).map_err(|source| ProfileError::ConfigWrite {
            path: path.to_owned(),
            source,
        })
    }

    /// Adds a profile. With [`AddMode::CreateNew`] an existing name is an error;
    /// with [`AddMode::Replace`] the old profile is returned.
    pub fn add_profile(
        &mut self,
        name: &str,
        profile: Profile,
        mode: AddMode,
    ) -> Result<Option<Profile>, ProfileError> {
        check_profile_name(name)?;
        if mode == AddMode::CreateNew && self.profiles.contains_key(name) {
            return Err(ProfileError::ProfileExists {
                name: name.to_owned(),
            });
        }
        Ok(self.profiles.insert(name.to_owned(), profile))
    }

    /// Removes a profile, returning it.
    pub fn remove_profile(&mut self, name: &str) -> Result<Profile, ProfileError> {
        self.profiles
            .remove(name)
            .ok_or_else(|| self.not_found(name))
    }

    /// All profiles, ordered by name.
    pub fn profiles(&self) -> impl Iterator<Item = (&str, &Profile)> {
        self.profiles.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// One profile by name.
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(name)
    }

    /// One profile by name, or an error listing the known names.
    pub fn require_profile(&self, name: &str) -> Result<&Profile, ProfileError> {
        self.profiles.get(name).ok_or_else(|| self.not_found(name))
    }

    /// Applies what a `.reg` import found: its proxy map entries are added (replacing
    /// same-domain entries) and `Ignore No PF` sets the global switch.
    pub fn apply_reg_import(&mut self, import: RegImport) {
        if let Some(map) = import.proxy_map {
            self.proxy_map.merge(map);
        }
        if let Some(ignore) = import.ignore_no_pf {
            self.ignore_no_public_folders = ignore;
        }
    }

    fn not_found(&self, name: &str) -> ProfileError {
        ProfileError::ProfileNotFound {
            name: name.to_owned(),
            known: self.profiles.keys().cloned().collect(),
        }
    }
}

/// Where the config file is, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigLocation {
    /// The file path.
    pub path: PathBuf,
    /// Which rule chose it.
    pub source: ConfigSource,
}

/// Which rule chose the config path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// Given explicitly (for example `--config`).
    Explicit,
    /// From `$OXMAPI_CONFIG`.
    Environment,
    /// The XDG default.
    Default,
}

impl ConfigLocation {
    /// Resolves the path: `explicit`, else a non-empty `env_value` (the caller passes
    /// `std::env::var_os(CONFIG_ENV)`), else the default.
    pub fn resolve(
        explicit: Option<PathBuf>,
        env_value: Option<OsString>,
    ) -> Result<Self, ProfileError> {
        if let Some(path) = explicit {
            return Ok(Self {
                path,
                source: ConfigSource::Explicit,
            });
        }
        if let Some(value) = env_value.filter(|v| !v.is_empty()) {
            return Ok(Self {
                path: PathBuf::from(value),
                source: ConfigSource::Environment,
            });
        }
        let path = Self::default_path().ok_or(ProfileError::NoConfigLocation)?;
        Ok(Self {
            path,
            source: ConfigSource::Default,
        })
    }

    /// [`ConfigLocation::resolve`] with the real `$OXMAPI_CONFIG`.
    pub fn from_env(explicit: Option<PathBuf>) -> Result<Self, ProfileError> {
        Self::resolve(explicit, std::env::var_os(CONFIG_ENV))
    }

    /// `config.toml` in the platform config directory for "oxmapi", if a home is known.
    pub fn default_path() -> Option<PathBuf> {
        directories::ProjectDirs::from("", "", "oxmapi").map(|d| d.config_dir().join("config.toml"))
    }
}

/// Profile names: 1–64 ASCII letters, digits, `.`, `_`, `-`, starting alphanumeric.
fn check_profile_name(name: &str) -> Result<(), ProfileError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ProfileError::InvalidProfileName {
            name: name.to_owned(),
        })
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)?;
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"))?;
    let mut tmp_name = OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::{AuthMethod, CertPolicy};

    const SAMPLE: &str = r#"
ignore_no_public_folders = false

[proxy_map."contoso.com"]
url = "https://mail.contoso.com"
auth = "ntlm"
expected_principal = "msstd:mail.contoso.com"

[proxy_map."lab.test"]
url = "http://127.0.0.1:8080"
auth = "basic"
allow_http = true
certificate = "ignore"

[profiles.work]
server = "9a3c8e1b-4f2d-4c6a-8b7e-1d2f3a4b5c6d@contoso.com"
mailbox = "alice"
user = "CONTOSO\\alice"
transport = "rpchttp"
ignore_no_public_folders = true

[profiles.lab]
server = "exch01.lab.test"
mailbox = "bob"

[profiles.lab.front_end]
url = "https://exch01.lab.test"
auth = "negotiate"
certificate = { ca_file = "/etc/lab-ca.pem" }

[cli]
color = "never"
"#;

    fn path() -> &'static Path {
        Path::new("test.toml")
    }

    #[test]
    fn parses_sample() {
        let config = Config::from_toml(SAMPLE, path()).unwrap();
        assert!(!config.ignore_no_public_folders);
        assert_eq!(config.proxy_map.len(), 2);
        let work = config.profile("work").unwrap();
        assert_eq!(work.transport, Transport::RpcHttp);
        assert_eq!(work.user.as_deref(), Some("CONTOSO\\alice"));
        assert_eq!(work.ignore_no_public_folders, Some(true));
        assert!(work.server.is_personalized());
        let lab = config.profile("lab").unwrap();
        assert_eq!(lab.transport, Transport::MapiHttp, "default transport");
        let fe = lab.front_end.as_ref().unwrap();
        assert_eq!(fe.auth(), AuthMethod::Negotiate);
        assert_eq!(
            fe.certificate(),
            &CertPolicy::CaFile("/etc/lab-ca.pem".into())
        );
        let names: Vec<&str> = config.profiles().map(|(n, _)| n).collect();
        assert_eq!(names, ["lab", "work"]);
    }

    #[test]
    fn toml_round_trip_keeps_everything() {
        let config = Config::from_toml(SAMPLE, path()).unwrap();
        let text = config.to_toml().unwrap();
        let again = Config::from_toml(&text, path()).unwrap();
        assert_eq!(again, config);
        assert!(text.contains("[cli]"), "unknown tables are kept:\n{text}");
        assert_eq!(
            again
                .other
                .get("cli")
                .and_then(|t| t.get("color"))
                .and_then(|v| v.as_str()),
            Some("never")
        );
    }

    #[test]
    fn empty_file_is_default() {
        let config = Config::from_toml("", path()).unwrap();
        assert_eq!(config, Config::default());
        assert!(!config.ignore_no_public_folders);
        let again = Config::from_toml(&config.to_toml().unwrap(), path()).unwrap();
        assert_eq!(again, config);
    }

    #[test]
    fn parse_errors_name_the_file_and_problem() {
        let cases = [
            ("[profiles.x]\nserver = \"exch01\"\n", "mailbox"),
            (
                "[profiles.x]\nserver = \"exch01\"\nmailbox = \"a\"\ntransprot = \"auto\"\n",
                "transprot",
            ),
            (
                "[profiles.x]\nserver = \"alice@contoso.com\"\nmailbox = \"a\"\n",
                "smtp address",
            ),
            (
                "[profiles.x]\nserver = \"exch01\"\nmailbox = \"a\"\ntransport = \"tcp\"\n",
                "tcp",
            ),
            (
                "[profiles.\"bad name\"]\nserver = \"exch01\"\nmailbox = \"a\"\n",
                "invalid profile name",
            ),
            (
                "ignore_no_public_folders = \"yes\"\n",
                "ignore_no_public_folders",
            ),
            (
                "[proxy_map.\"c.com\"]\nurl = \"http://x\"\nauth = \"ntlm\"\n",
                "allow_http",
            ),
        ];
        for (text, needle) in cases {
            let err = Config::from_toml(text, path()).unwrap_err().to_string();
            assert!(
                err.starts_with("config file test.toml is not valid: "),
                "{err}"
            );
            assert!(err.contains(needle), "{text:?} => {err}");
        }
    }

    fn profile(server: &str) -> Profile {
        Profile::new(ServerName::parse(server).unwrap(), "alice")
    }

    #[test]
    fn add_list_show_remove() {
        let mut config = Config::default();
        assert_eq!(
            config
                .add_profile("a", profile("exch01"), AddMode::CreateNew)
                .unwrap(),
            None
        );
        let err = config
            .add_profile("a", profile("exch02"), AddMode::CreateNew)
            .unwrap_err();
        assert!(matches!(err, ProfileError::ProfileExists { .. }));
        assert!(err.to_string().contains("already exists"), "{err}");
        assert_eq!(config.profile("a").unwrap().server.as_str(), "exch01");
        let old = config
            .add_profile("a", profile("exch02"), AddMode::Replace)
            .unwrap();
        assert_eq!(old.unwrap().server.as_str(), "exch01");
        assert_eq!(config.profile("a").unwrap().server.as_str(), "exch02");
        config
            .add_profile("b", profile("exch03"), AddMode::CreateNew)
            .unwrap();
        assert_eq!(config.profiles().count(), 2);

        let err = config.remove_profile("zzz").unwrap_err().to_string();
        assert_eq!(
            err,
            "no profile named \"zzz\" in the config file (known: a, b)"
        );
        assert_eq!(
            config.remove_profile("a").unwrap().server.as_str(),
            "exch02"
        );
        assert!(config.profile("a").is_none());
        config.remove_profile("b").unwrap();
        let err = config.require_profile("b").unwrap_err().to_string();
        assert!(err.contains("there are none"), "{err}");

        for bad in ["", "-x", "a b", "a/b", &"x".repeat(65)] {
            assert!(
                matches!(
                    config.add_profile(bad, profile("exch01"), AddMode::CreateNew),
                    Err(ProfileError::InvalidProfileName { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn save_and_load_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("config.toml");
        assert_eq!(Config::load_or_default(&path).unwrap(), Config::default());
        assert!(matches!(
            Config::load(&path),
            Err(ProfileError::ConfigRead { .. })
        ));

        let mut config = Config::from_toml(SAMPLE, &path).unwrap();
        config.save(&path).unwrap();
        assert_eq!(Config::load(&path).unwrap(), config);

        config.remove_profile("lab").unwrap();
        config.save(&path).unwrap();
        assert_eq!(Config::load(&path).unwrap(), config);
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            leftovers,
            [OsString::from("config.toml")],
            "no temp files left"
        );
    }

    #[test]
    fn save_to_unwritable_place_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        fs::write(&file, "x").unwrap();
        let err = Config::default()
            .save(&file.join("config.toml"))
            .unwrap_err();
        assert!(matches!(err, ProfileError::ConfigWrite { .. }), "{err}");
    }

    #[test]
    fn config_location_order() {
        let explicit =
            ConfigLocation::resolve(Some("/x.toml".into()), Some("/env.toml".into())).unwrap();
        assert_eq!(explicit.path, PathBuf::from("/x.toml"));
        assert_eq!(explicit.source, ConfigSource::Explicit);

        let env = ConfigLocation::resolve(None, Some("/env.toml".into())).unwrap();
        assert_eq!(env.path, PathBuf::from("/env.toml"));
        assert_eq!(env.source, ConfigSource::Environment);

        if let Some(default) = ConfigLocation::default_path() {
            let loc = ConfigLocation::resolve(None, Some(OsString::new())).unwrap();
            assert_eq!(loc.source, ConfigSource::Default, "empty env is ignored");
            assert_eq!(loc.path, default);
            assert!(
                default.ends_with("oxmapi/config.toml"),
                "{}",
                default.display()
            );
        }
    }

    #[test]
    fn apply_reg_import_merges() {
        let mut config = Config::from_toml(SAMPLE, path()).unwrap();
        let import = crate::reg::import_reg_file(
            "[K]\n\"RpcHttpProxyMap\"=\"contoso.com=new.contoso.com,basic;fabrikam.com=f.fabrikam.com,ntlm\"\n\"Ignore No PF\"=dword:1\n",
        )
        .unwrap();
        config.apply_reg_import(import);
        assert!(config.ignore_no_public_folders);
        assert_eq!(config.proxy_map.len(), 3);
        assert_eq!(
            config.proxy_map.get("contoso.com").unwrap().url().host(),
            "new.contoso.com"
        );
    }
}

#[cfg(test)]
mod sample_file {
    use super::*;

    #[test]
    fn sample_config_parses_and_round_trips() {
        let path = Path::new("config.sample.toml");
        let config = Config::from_toml(include_str!("../config.sample.toml"), path).unwrap();
        assert_eq!(config.proxy_map.len(), 3);
        assert_eq!(config.profiles().count(), 2);
        let again = Config::from_toml(&config.to_toml().unwrap(), path).unwrap();
        assert_eq!(again, config);
    }
}
