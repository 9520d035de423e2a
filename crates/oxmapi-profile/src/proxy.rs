//! The proxy map: which HTTPS front end (RPC proxy or MAPI/HTTP host) serves the
//! servers of a domain, with which authentication and certificate policy.
//!
//! This is our TOML form of what CDO 1.2.1 read from the `RPCHttpProxyMap` registry
//! value (see [`crate::rpc_proxy_map`] for the importer). Entries are keyed by a domain
//! suffix of the server name; the longest suffix wins, suffixes match on label
//! boundaries only, case-insensitively.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{FrontEndError, ProfileError};
use crate::info::check_host;

/// How the client authenticates to the front end.
///
/// TOML: `auth = "ntlm" | "negotiate" | "basic" | "bearer"` (case-insensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// NTLM over HTTP (`WWW-Authenticate: NTLM`).
    Ntlm,
    /// SPNEGO (`WWW-Authenticate: Negotiate`): Kerberos or NTLM.
    Negotiate,
    /// HTTP Basic (over TLS only).
    Basic,
    /// OAuth 2.0 bearer tokens (RFC 6750, `Authorization: Bearer <token>`), as Exchange
    /// Online wants; https only. The token comes from `--token-file` or `$OXMAPI_TOKEN`
    /// ([`crate::find_token`]), never from the config file.
    Bearer,
}

impl AuthMethod {
    /// The lower-case name used in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ntlm => "ntlm",
            Self::Negotiate => "negotiate",
            Self::Basic => "basic",
            Self::Bearer => "bearer",
        }
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for AuthMethod {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for AuthMethod {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(|bad: String| {
            serde::de::Error::custom(format!(
                "unknown authentication {bad:?}; expected \"ntlm\", \"negotiate\", \"basic\" or \"bearer\""
            ))
        })
    }
}

impl FromStr for AuthMethod {
    type Err = String;

    /// Case-insensitive `ntlm`, `negotiate`, `basic`, `bearer`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ntlm" => Ok(Self::Ntlm),
            "negotiate" => Ok(Self::Negotiate),
            "basic" => Ok(Self::Basic),
            "bearer" => Ok(Self::Bearer),
            _ => Err(s.trim().to_owned()),
        }
    }
}

/// What to do with the front end's TLS certificate.
///
/// TOML: `certificate = "verify"` (the default), `certificate = "ignore"`, or
/// `certificate = { ca_file = "/path/ca.pem" }`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "RawCertPolicy", into = "RawCertPolicy")]
pub enum CertPolicy {
    /// Verify against the platform/web roots and the host name (or expected principal).
    #[default]
    Verify,
    /// Verify against the CA certificates in this PEM file instead.
    CaFile(PathBuf),
    /// Accept any certificate (lab use; CDO's "ignore certificate errors").
    Ignore,
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum RawCertPolicy {
    Name(String),
    CaFile { ca_file: PathBuf },
}

impl TryFrom<RawCertPolicy> for CertPolicy {
    type Error = String;

    fn try_from(raw: RawCertPolicy) -> Result<Self, Self::Error> {
        match raw {
            RawCertPolicy::Name(name) => match name.to_ascii_lowercase().as_str() {
                "verify" => Ok(Self::Verify),
                "ignore" => Ok(Self::Ignore),
                _ => Err(format!(
                    "unknown certificate policy {name:?}; expected \"verify\", \"ignore\" or {{ ca_file = \"PATH\" }}"
                )),
            },
            RawCertPolicy::CaFile { ca_file } => Ok(Self::CaFile(ca_file)),
        }
    }
}

impl From<CertPolicy> for RawCertPolicy {
    fn from(policy: CertPolicy) -> Self {
        match policy {
            CertPolicy::Verify => Self::Name("verify".into()),
            CertPolicy::Ignore => Self::Name("ignore".into()),
            CertPolicy::CaFile(ca_file) => Self::CaFile { ca_file },
        }
    }
}

/// URL scheme of a front end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `https://` (port 443 by default).
    Https,
    /// `http://` (port 80 by default); only with `allow_http = true`.
    Http,
}

/// A front-end base URL: `https://host[:port][/path]` (or a bare host, meaning https).
///
/// INVARIANT: the host passes the host-name check; the path is empty or starts with `/`
/// and has no trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FrontEndUrl {
    scheme: Scheme,
    host: String,
    port: Option<u16>,
    path: String,
}

impl FrontEndUrl {
    /// Parses a front-end URL. A bare host (`mail.contoso.com`) means `https://`.
    /// This does not apply the https-only rule; [`ProxyEntry::new`] does.
    pub fn parse(text: &str) -> Result<Self, FrontEndError> {
        let text = text.trim();
        let invalid = |reason| FrontEndError::Invalid {
            url: text.to_owned(),
            reason,
        };
        let (scheme, rest) = match text.split_once("://") {
            Some((s, rest)) if s.eq_ignore_ascii_case("https") => (Scheme::Https, rest),
            Some((s, rest)) if s.eq_ignore_ascii_case("http") => (Scheme::Http, rest),
            Some(_) => return Err(invalid("the scheme must be https (or http for lab use)")),
            None => (Scheme::Https, text),
        };
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if path.contains(['?', '#']) {
            return Err(invalid("a query or fragment is not allowed"));
        }
        if authority.contains('@') {
            return Err(invalid("credentials in the url are not allowed"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => {
                let port: u16 = port
                    .parse()
                    .map_err(|_| invalid("the port is not a number from 1 to 65535"))?;
                if port == 0 {
                    return Err(invalid("the port is not a number from 1 to 65535"));
                }
                (host, Some(port))
            }
            None => (authority, None),
        };
        check_host(host).map_err(invalid)?;
        if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid(
                "the path contains whitespace or control characters",
            ));
        }
        Ok(Self {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
            path: path.trim_end_matches('/').to_owned(),
        })
    }

    /// `https` or `http`.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Whether the scheme is https.
    pub fn is_https(&self) -> bool {
        self.scheme == Scheme::Https
    }

    /// The host, lower-cased.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, explicit or the scheme's default.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.scheme {
            Scheme::Https => 443,
            Scheme::Http => 80,
        })
    }

    /// The base path (empty, or `/something` without a trailing `/`).
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl fmt::Display for FrontEndUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Https => "https",
            Scheme::Http => "http",
        };
        write!(f, "{scheme}://{}", self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        f.write_str(&self.path)
    }
}

impl FromStr for FrontEndUrl {
    type Err = FrontEndError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// One proxy map entry (`[proxy_map."<domain suffix>"]` in the config file).
///
/// INVARIANT: the URL is https unless `allow_http` is set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawProxyEntry", into = "RawProxyEntry")]
pub struct ProxyEntry {
    url: FrontEndUrl,
    auth: AuthMethod,
    certificate: CertPolicy,
    expected_principal: Option<String>,
    allow_http: bool,
}

/// Options of a [`ProxyEntry`] beyond URL and authentication.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyEntryOptions {
    /// Certificate policy (default: verify).
    pub certificate: CertPolicy,
    /// The name the certificate must carry, `msstd:mail.contoso.com` or `mail.contoso.com`.
    pub expected_principal: Option<String>,
    /// Permit an `http://` URL (lab use only).
    pub allow_http: bool,
}

impl ProxyEntry {
    /// Builds an entry, enforcing https unless `options.allow_http`.
    pub fn new(
        url: FrontEndUrl,
        auth: AuthMethod,
        options: ProxyEntryOptions,
    ) -> Result<Self, FrontEndError> {
        if !url.is_https() && !options.allow_http {
            return Err(FrontEndError::PlainHttp {
                url: url.to_string(),
            });
        }
        let expected_principal = options
            .expected_principal
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty());
        Ok(Self {
            url,
            auth,
            certificate: options.certificate,
            expected_principal,
            allow_http: options.allow_http,
        })
    }

    /// The front-end base URL.
    pub fn url(&self) -> &FrontEndUrl {
        &self.url
    }

    /// The authentication method.
    pub fn auth(&self) -> AuthMethod {
        self.auth
    }

    /// The certificate policy.
    pub fn certificate(&self) -> &CertPolicy {
        &self.certificate
    }

    /// The expected principal as written (`msstd:mail.contoso.com`).
    pub fn expected_principal(&self) -> Option<&str> {
        self.expected_principal.as_deref()
    }

    /// The certificate name the expected principal asks for (without `msstd:`).
    pub fn expected_certificate_name(&self) -> Option<&str> {
        self.expected_principal
            .as_deref()
            .map(|p| strip_msstd(p).unwrap_or(p))
    }

    /// Whether `http://` is permitted for this entry.
    pub fn allow_http(&self) -> bool {
        self.allow_http
    }
}

fn strip_msstd(text: &str) -> Option<&str> {
    let prefix = text.get(..6)?;
    prefix
        .eq_ignore_ascii_case("msstd:")
        .then(|| text.get(6..))
        .flatten()
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProxyEntry {
    url: String,
    auth: AuthMethod,
    #[serde(default, skip_serializing_if = "is_verify")]
    certificate: CertPolicy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expected_principal: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    allow_http: bool,
}

fn is_verify(policy: &CertPolicy) -> bool {
    *policy == CertPolicy::Verify
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl TryFrom<RawProxyEntry> for ProxyEntry {
    type Error = FrontEndError;

    fn try_from(raw: RawProxyEntry) -> Result<Self, Self::Error> {
        let options = ProxyEntryOptions {
            certificate: raw.certificate,
            expected_principal: raw.expected_principal,
            allow_http: raw.allow_http,
        };
        Self::new(FrontEndUrl::parse(&raw.url)?, raw.auth, options)
    }
}

impl From<ProxyEntry> for RawProxyEntry {
    fn from(entry: ProxyEntry) -> Self {
        Self {
            url: entry.url.to_string(),
            auth: entry.auth,
            certificate: entry.certificate,
            expected_principal: entry.expected_principal,
            allow_http: entry.allow_http,
        }
    }
}

/// Domain suffix → front end. Keys are stored lower-case without leading/trailing dots.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    try_from = "BTreeMap<String, ProxyEntry>",
    into = "BTreeMap<String, ProxyEntry>"
)]
pub struct ProxyMap {
    entries: BTreeMap<String, ProxyEntry>,
}

/// A proxy map hit: which key matched and its entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyMatch<'a> {
    /// The matching domain suffix (normalized).
    pub key: &'a str,
    /// Its entry.
    pub entry: &'a ProxyEntry,
}

impl ProxyMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces the entry for a domain suffix; returns the old entry.
    pub fn insert(
        &mut self,
        domain: &str,
        entry: ProxyEntry,
    ) -> Result<Option<ProxyEntry>, ProfileError> {
        let key = normalize_domain(domain)?;
        Ok(self.entries.insert(key, entry))
    }

    /// Removes the entry for a domain suffix.
    pub fn remove(&mut self, domain: &str) -> Option<ProxyEntry> {
        let key = normalize_domain(domain).ok()?;
        self.entries.remove(&key)
    }

    /// The entry stored under exactly this domain suffix.
    pub fn get(&self, domain: &str) -> Option<&ProxyEntry> {
        let key = normalize_domain(domain).ok()?;
        self.entries.get(&key)
    }

    /// Finds the entry for a server's domain or host: the longest key that equals
    /// `name` or is a suffix of it starting right after a `.`, ignoring case.
    pub fn lookup(&self, name: &str) -> Option<ProxyMatch<'_>> {
        let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
        let mut candidate = name.as_str();
        loop {
            if let Some((key, entry)) = self.entries.get_key_value(candidate) {
                return Some(ProxyMatch { key, entry });
            }
            candidate = candidate.split_once('.')?.1;
        }
    }

    /// All entries, ordered by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ProxyEntry)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds every entry of `other`, replacing entries with the same key.
    pub fn merge(&mut self, other: Self) {
        self.entries.extend(other.entries);
    }
}

impl TryFrom<BTreeMap<String, ProxyEntry>> for ProxyMap {
    type Error = ProfileError;

    fn try_from(raw: BTreeMap<String, ProxyEntry>) -> Result<Self, Self::Error> {
        let mut map = Self::new();
        for (domain, entry) in raw {
            let key = normalize_domain(&domain)?;
            if map.entries.insert(key.clone(), entry).is_some() {
                return Err(ProfileError::DuplicateProxyDomain { domain: key });
            }
        }
        Ok(map)
    }
}

impl From<ProxyMap> for BTreeMap<String, ProxyEntry> {
    fn from(map: ProxyMap) -> Self {
        map.entries
    }
}

/// Lower-cases a domain suffix and drops a leading `*.`/`.` and a trailing `.`.
pub(crate) fn normalize_domain(domain: &str) -> Result<String, ProfileError> {
    let trimmed = domain.trim();
    let stripped = trimmed
        .strip_prefix("*.")
        .or_else(|| trimmed.strip_prefix('.'))
        .unwrap_or(trimmed);
    check_host(stripped).map_err(|reason| ProfileError::InvalidProxyDomain {
        domain: domain.to_owned(),
        reason,
    })?;
    Ok(stripped.trim_end_matches('.').to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(url: &str) -> ProxyEntry {
        ProxyEntry::new(
            FrontEndUrl::parse(url).unwrap(),
            AuthMethod::Ntlm,
            ProxyEntryOptions::default(),
        )
        .unwrap()
    }

    fn map() -> ProxyMap {
        let mut map = ProxyMap::new();
        map.insert("contoso.com", entry("https://mail.contoso.com"))
            .unwrap();
        map.insert("EU.Contoso.com.", entry("https://eu.contoso.com"))
            .unwrap();
        map
    }

    #[test]
    fn longest_suffix_wins() {
        let map = map();
        let hit = map.lookup("x.eu.contoso.com").unwrap();
        assert_eq!(hit.key, "eu.contoso.com");
        assert_eq!(hit.entry.url().host(), "eu.contoso.com");
        assert_eq!(map.lookup("eu.contoso.com").unwrap().key, "eu.contoso.com");
        assert_eq!(map.lookup("us.contoso.com").unwrap().key, "contoso.com");
        assert_eq!(map.lookup("contoso.com").unwrap().key, "contoso.com");
    }

    #[test]
    fn suffix_matches_on_label_boundaries_only() {
        let map = map();
        assert_eq!(map.lookup("notcontoso.com"), None);
        assert_eq!(map.lookup("xeu.contoso.com").unwrap().key, "contoso.com");
        assert_eq!(map.lookup("com"), None);
        assert_eq!(map.lookup("contoso.com.evil.net"), None);
    }

    #[test]
    fn lookup_is_case_insensitive_and_ignores_trailing_dot() {
        let map = map();
        assert_eq!(map.lookup("MAIL.CONTOSO.COM.").unwrap().key, "contoso.com");
        assert_eq!(
            map.get("Contoso.COM"),
            Some(&entry("https://mail.contoso.com"))
        );
    }

    #[test]
    fn front_end_url_forms() {
        let url = FrontEndUrl::parse("https://Mail.Contoso.com:8443/rpc/").unwrap();
        assert_eq!(url.host(), "mail.contoso.com");
        assert_eq!(url.port(), 8443);
        assert_eq!(url.path(), "/rpc");
        assert_eq!(url.to_string(), "https://mail.contoso.com:8443/rpc");
        let bare = FrontEndUrl::parse("mail.contoso.com").unwrap();
        assert!(bare.is_https());
        assert_eq!(bare.port(), 443);
        assert_eq!(bare.to_string(), "https://mail.contoso.com");
        for bad in [
            "ftp://x",
            "https://",
            "https://a b",
            "https://x:0",
            "https://x:99999",
            "https://u:p@x",
            "https://x/?q",
        ] {
            assert!(FrontEndUrl::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn http_needs_allow_http() {
        let url = FrontEndUrl::parse("http://127.0.0.1:8080").unwrap();
        let err = ProxyEntry::new(url.clone(), AuthMethod::Basic, ProxyEntryOptions::default())
            .unwrap_err();
        assert!(err.to_string().contains("allow_http = true"), "{err}");
        let options = ProxyEntryOptions {
            allow_http: true,
            ..ProxyEntryOptions::default()
        };
        let entry = ProxyEntry::new(url, AuthMethod::Basic, options).unwrap();
        assert_eq!(entry.url().port(), 8080);
    }

    #[test]
    fn expected_principal_name() {
        let options = ProxyEntryOptions {
            expected_principal: Some("msstd:mail.contoso.com".into()),
            ..ProxyEntryOptions::default()
        };
        let e = ProxyEntry::new(
            FrontEndUrl::parse("mail.contoso.com").unwrap(),
            AuthMethod::Ntlm,
            options,
        )
        .unwrap();
        assert_eq!(e.expected_principal(), Some("msstd:mail.contoso.com"));
        assert_eq!(e.expected_certificate_name(), Some("mail.contoso.com"));
    }

    #[test]
    fn toml_forms_of_certificate_policy() {
        #[derive(Deserialize, Serialize)]
        struct Doc {
            proxy_map: ProxyMap,
        }
        let text = r#"
            [proxy_map."contoso.com"]
            url = "https://mail.contoso.com"
            auth = "NTLM"
            [proxy_map."lab.test"]
            url = "http://127.0.0.1:8080"
            auth = "basic"
            allow_http = true
            certificate = "ignore"
            [proxy_map."fabrikam.com"]
            url = "https://mail.fabrikam.com"
            auth = "negotiate"
            certificate = { ca_file = "/etc/fabrikam-ca.pem" }
            expected_principal = "msstd:mail.fabrikam.com"
        "#;
        let doc: Doc = toml::from_str(text).unwrap();
        assert_eq!(doc.proxy_map.len(), 3);
        assert_eq!(
            doc.proxy_map.get("contoso.com").unwrap().auth(),
            AuthMethod::Ntlm
        );
        let lab = doc.proxy_map.get("lab.test").unwrap();
        assert_eq!(lab.certificate(), &CertPolicy::Ignore);
        let fab = doc.proxy_map.get("fabrikam.com").unwrap();
        assert_eq!(
            fab.certificate(),
            &CertPolicy::CaFile("/etc/fabrikam-ca.pem".into())
        );
        let again: Doc = toml::from_str(&toml::to_string(&doc).unwrap()).unwrap();
        assert_eq!(again.proxy_map, doc.proxy_map);
    }

    #[test]
    fn toml_rejects_bad_entries() {
        #[derive(Debug, Deserialize)]
        struct Doc {
            #[allow(dead_code)]
            proxy_map: ProxyMap,
        }
        let cases = [
            (
                "[proxy_map.\"c.com\"]\nurl = \"http://x\"\nauth = \"ntlm\"",
                "allow_http",
            ),
            (
                "[proxy_map.\"c.com\"]\nurl = \"https://x\"\nauth = \"ntlm\"\ncertificate = \"maybe\"",
                "unknown certificate policy",
            ),
            (
                "[proxy_map.\"c.com\"]\nurl = \"https://x\"\nauth = \"ntlm\"\ntypo = 1",
                "typo",
            ),
            (
                "[proxy_map.\"C.com\"]\nurl = \"https://x\"\nauth = \"ntlm\"\n[proxy_map.\"c.com\"]\nurl = \"https://y\"\nauth = \"ntlm\"",
                "appears twice",
            ),
            (
                "[proxy_map.\"c.com\"]\nurl = \"https://x\"\nauth = \"kerberos\"",
                "unknown authentication \"kerberos\"",
            ),
            (
                "[proxy_map.\"a..b\"]\nurl = \"https://x\"\nauth = \"ntlm\"",
                "invalid proxy map domain",
            ),
        ];
        for (text, needle) in cases {
            let err = toml::from_str::<Doc>(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}\n=> {err}");
        }
    }
}

#[cfg(test)]
mod prop {
    use super::*;
    use proptest::prelude::*;

    fn labels() -> impl Strategy<Value = Vec<String>> {
        proptest::collection::vec(
            prop_oneof!["a", "b", "ab", "B"].prop_map(String::from),
            1..5,
        )
    }

    proptest! {
        /// `lookup` agrees with a naive oracle: the longest key k with name == k or
        /// name ending in "." + k, compared case-insensitively.
        #[test]
        fn lookup_matches_oracle(keys in proptest::collection::vec(labels(), 0..6), name in labels()) {
            let mut map = ProxyMap::new();
            let entry = ProxyEntry::new(
                FrontEndUrl::parse("x.test").unwrap(),
                AuthMethod::Ntlm,
                ProxyEntryOptions::default(),
            ).unwrap();
            for key in &keys {
                map.insert(&key.join("."), entry.clone()).unwrap();
            }
            let name = name.join(".");
            let lower = name.to_ascii_lowercase();
            let oracle = map
                .iter()
                .map(|(k, _)| k)
                .filter(|k| lower == *k || lower.ends_with(&format!(".{k}")))
                .max_by_key(|k| k.len());
            prop_assert_eq!(map.lookup(&name).map(|m| m.key), oracle);
        }

        #[test]
        fn importer_never_panics(text in "[a-z0-9=,;|+:.\\n /x-]{0,80}") {
            let _ = ProxyMap::import_rpc_http_proxy_map(&text);
        }

        #[test]
        fn reg_import_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = crate::reg::RegImport::from_bytes(&bytes);
        }
    }

    #[test]
    fn reg_import_every_prefix_is_handled() {
        let text = "Windows Registry Editor Version 5.00\r\n[K]\r\n\"RpcHttpProxyMap\"=\"a.com=x.a.com,ntlm,ssl|msstd:x.a.com\"\r\n\"Ignore No PF\"=dword:00000001\r\n\"B\"=hex(2):41,00,\\\r\n  00,00\r\n";
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let full = crate::reg::RegImport::from_bytes(&bytes).unwrap();
        assert_eq!(full.ignore_no_pf, Some(true));
        for n in 0..bytes.len() {
            // Must return (Ok with partial content, or a typed error), never panic.
            let _ = crate::reg::RegImport::from_bytes(&bytes[..n]);
        }
    }
}
