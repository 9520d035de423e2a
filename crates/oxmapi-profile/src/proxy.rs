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
/// TOML: `certificate = "verify"` (the default), `certificate = "ignore"`,
/// `certificate = { ca_file = "/path/ca.pem" }` or
/// `certificate = { sha256 = "<fingerprint>" }`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum CertPolicy {
    /// Verify against the platform/web roots and the host name (or expected principal).
    #[default]
    Verify,
    /// Verify against the certificates in this PEM file instead. A file may hold CA
    /// certificates or the server's own (self-signed) certificate.
    CaFile(PathBuf),
    /// Accept exactly the certificate with this SHA-256 fingerprint, whatever its chain,
    /// names or dates (the pin is the identity); handshake signatures are still checked.
    PinnedSha256(CertFingerprint),
    /// Accept any certificate (lab use; CDO's "ignore certificate errors").
    Ignore,
}

/// The SHA-256 fingerprint of a certificate: the digest of its DER encoding, as
/// `openssl x509 -noout -fingerprint -sha256` prints it and the logon report shows it.
///
/// Parses 64 hex digits in either case, bare (`3f9a…`) or as 32 `:`-separated pairs
/// (`3F:9A:…`), optionally after openssl's `sha256 Fingerprint=`; displays 64 lower-case
/// hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CertFingerprint([u8; 32]);

impl CertFingerprint {
    /// Wraps a SHA-256 digest.
    pub fn from_bytes(digest: [u8; 32]) -> Self {
        Self(digest)
    }

    /// The digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for CertFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for CertFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertFingerprint({self})")
    }
}

impl FromStr for CertFingerprint {
    type Err = String;

    /// `3f9a…` (64 hex digits) or `3F:9A:…` (32 pairs); the error says what is wrong.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let text = match text.split_once('=') {
            Some((label, rest)) if label.trim().eq_ignore_ascii_case("sha256 fingerprint") => {
                rest.trim()
            }
            _ => text,
        };
        if let Some(bad) = text.chars().find(|c| !c.is_ascii_hexdigit() && *c != ':') {
            return Err(format!("{bad:?} is not a hex digit"));
        }
        if text.contains(':') && text.split(':').any(|pair| pair.len() != 2) {
            return Err("the `:`-separated form needs 32 pairs of two hex digits".to_owned());
        }
        let digits: Vec<u8> = text.bytes().filter(|&b| b != b':').collect();
        if digits.len() != 64 {
            return Err(format!(
                "a sha-256 fingerprint has 64 hex digits, this one has {}",
                digits.len()
            ));
        }
        let mut digest = [0u8; 32];
        for (byte, pair) in digest.iter_mut().zip(digits.chunks_exact(2)) {
            *byte = (hex_value(pair[0]) << 4) | hex_value(pair[1]);
        }
        Ok(Self(digest))
    }
}

/// INVARIANT: `digit` is an ASCII hex digit (the caller checked); anything else gives 0.
fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        b'A'..=b'F' => digit - b'A' + 10,
        _ => 0,
    }
}

const CERT_POLICY_EXPECTED: &str =
    "\"verify\", \"ignore\", { ca_file = \"PATH\" } or { sha256 = \"FINGERPRINT\" }";

impl Serialize for CertPolicy {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Self::Verify => serializer.serialize_str("verify"),
            Self::Ignore => serializer.serialize_str("ignore"),
            Self::CaFile(path) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("ca_file", path)?;
                map.end()
            }
            Self::PinnedSha256(pin) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("sha256", &pin.to_string())?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for CertPolicy {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CertPolicyVisitor)
    }
}

/// Reads the string and table forms by hand, so each mistake gets its own message
/// (an untagged enum would only say "did not match any variant").
struct CertPolicyVisitor;

impl<'de> serde::de::Visitor<'de> for CertPolicyVisitor {
    type Value = CertPolicy;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a certificate policy: {CERT_POLICY_EXPECTED}")
    }

    fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<CertPolicy, E> {
        match name.to_ascii_lowercase().as_str() {
            "verify" => Ok(CertPolicy::Verify),
            "ignore" => Ok(CertPolicy::Ignore),
            _ => Err(E::custom(format!(
                "unknown certificate policy {name:?}; expected {CERT_POLICY_EXPECTED}"
            ))),
        }
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<CertPolicy, A::Error> {
        use serde::de::Error as _;
        let mut policy = None;
        while let Some(key) = map.next_key::<String>()? {
            let value = match key.as_str() {
                "ca_file" => CertPolicy::CaFile(map.next_value()?),
                "sha256" => {
                    let text: String = map.next_value()?;
                    let pin = text.parse().map_err(|why| {
                        A::Error::custom(format!(
                            "invalid `certificate = {{ sha256 = ... }}` value {text:?}: {why}"
                        ))
                    })?;
                    CertPolicy::PinnedSha256(pin)
                }
                _ => {
                    return Err(A::Error::custom(format!(
                        "unknown key `{key}` in `certificate = {{ ... }}`; expected `ca_file` or `sha256`"
                    )));
                }
            };
            if policy.replace(value).is_some() {
                return Err(A::Error::custom(
                    "give `certificate` one of `ca_file` or `sha256`, not both",
                ));
            }
        }
        policy.ok_or_else(|| {
            A::Error::custom(format!(
                "empty `certificate = {{}}`; expected {CERT_POLICY_EXPECTED}"
            ))
        })
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

    const PIN: &str = "3f9a0b1c2d3e4f5061728394a5b6c7d8e9fa0b1c2d3e4f5061728394a5b6c7d8";

    fn policy_of(certificate: &str) -> Result<CertPolicy, String> {
        #[derive(Deserialize)]
        struct Doc {
            certificate: CertPolicy,
        }
        toml::from_str::<Doc>(&format!("certificate = {certificate}"))
            .map(|d| d.certificate)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn fingerprint_forms() {
        let pin: CertFingerprint = PIN.parse().unwrap();
        assert_eq!(pin.to_string(), PIN);
        assert_eq!(pin.as_bytes()[..2], [0x3f, 0x9a]);
        let upper = PIN.to_ascii_uppercase();
        let pairs = upper
            .as_bytes()
            .chunks(2)
            .map(|p| std::str::from_utf8(p).unwrap())
            .collect::<Vec<_>>()
            .join(":");
        for text in [
            upper.clone(),
            pairs.clone(),
            pairs.to_ascii_lowercase(),
            format!("  {pairs}\n"),
            format!("sha256 Fingerprint={pairs}"),
            format!("SHA256 Fingerprint={PIN}"),
        ] {
            assert_eq!(text.parse::<CertFingerprint>(), Ok(pin), "{text:?}");
        }
        assert_eq!(CertFingerprint::from_bytes(*pin.as_bytes()), pin);
        assert_eq!(format!("{pin:?}"), format!("CertFingerprint({PIN})"));
    }

    #[test]
    fn malformed_fingerprints_say_why() {
        let cases = [
            ("", "has 0"),
            (&PIN[..62], "has 62"),
            (&format!("{PIN}00"), "has 66"),
            (&PIN.replace('f', "g"), "'g' is not a hex digit"),
            (&format!("{}:{}", &PIN[..2], &PIN[2..]), "32 pairs"),
            ("3f:9a:", "32 pairs"),
            ("sha1 Fingerprint=3f", "'s' is not a hex digit"),
            ("3fé", "'é' is not a hex digit"),
        ];
        for (text, needle) in cases {
            let err = text.parse::<CertFingerprint>().unwrap_err();
            assert!(err.contains(needle), "{text:?} => {err}");
        }
    }

    #[test]
    fn toml_sha256_pin() {
        let pin = PIN.parse().unwrap();
        assert_eq!(
            policy_of(&format!("{{ sha256 = \"{PIN}\" }}")),
            Ok(CertPolicy::PinnedSha256(pin))
        );
        let openssl =
            PIN.to_ascii_uppercase()
                .as_bytes()
                .chunks(2)
                .fold(String::new(), |mut s, p| {
                    if !s.is_empty() {
                        s.push(':');
                    }
                    s.push_str(std::str::from_utf8(p).unwrap());
                    s
                });
        assert_eq!(
            policy_of(&format!("{{ sha256 = \"{openssl}\" }}")),
            Ok(CertPolicy::PinnedSha256(pin))
        );
        assert_eq!(policy_of("\"Verify\""), Ok(CertPolicy::Verify));
        assert_eq!(
            policy_of("{ ca_file = \"/etc/ca.pem\" }"),
            Ok(CertPolicy::CaFile("/etc/ca.pem".into()))
        );
    }

    #[test]
    fn toml_bad_certificate_tables_name_the_key() {
        let cases = [
            (
                "{ sha256 = \"12ab\" }",
                "invalid `certificate = { sha256 = ... }`",
            ),
            ("{ sha256 = \"12ab\" }", "has 4"),
            ("{ sha256 = 12 }", "string"),
            ("{ ca_flie = \"/x\" }", "unknown key `ca_flie`"),
            (
                &format!("{{ ca_file = \"/x\", sha256 = \"{PIN}\" }}"),
                "not both",
            ),
            ("{}", "empty `certificate = {}`"),
            ("3", "certificate policy"),
        ];
        for (text, needle) in cases {
            let err = policy_of(text).unwrap_err();
            assert!(err.contains(needle), "{text}\n=> {err}");
        }
    }

    #[test]
    fn malformed_pin_is_a_config_error_naming_the_key() {
        let text = "[proxy_map.\"lab.test\"]\nurl = \"https://127.0.0.1:10443\"\nauth = \"basic\"\n\
                    certificate = { sha256 = \"AB:CD:EF\" }\n";
        let err = crate::Config::from_toml(text, std::path::Path::new("lab.toml")).unwrap_err();
        let ProfileError::ConfigParse { path, message } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(path, std::path::Path::new("lab.toml"));
        for needle in [
            "line 4",
            "certificate = { sha256 = ... }",
            "\"AB:CD:EF\"",
            "has 6",
        ] {
            assert!(message.contains(needle), "{needle}: {message}");
        }
    }

    #[test]
    fn toml_pin_round_trips_in_a_proxy_map() {
        #[derive(Debug, Deserialize, Serialize, PartialEq)]
        struct Doc {
            proxy_map: ProxyMap,
        }
        let text = format!(
            "[proxy_map.\"lab.test\"]\nurl = \"https://127.0.0.1:10443\"\nauth = \"basic\"\n\
             certificate = {{ sha256 = \"{}\" }}\n",
            PIN.to_ascii_uppercase()
        );
        let doc: Doc = toml::from_str(&text).unwrap();
        let lab = doc.proxy_map.get("lab.test").unwrap();
        assert_eq!(
            lab.certificate(),
            &CertPolicy::PinnedSha256(PIN.parse().unwrap())
        );
        for written in [
            toml::to_string(&doc).unwrap(),
            toml::to_string_pretty(&doc).unwrap(),
        ] {
            assert!(written.contains(PIN), "{written}");
            assert_eq!(toml::from_str::<Doc>(&written).unwrap(), doc);
        }
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
