//! Errors of this crate. Messages are lower-case, actionable, and never hold a password.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while reading, editing or resolving profiles.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The dynamic profile string or a server name is malformed.
    #[error(transparent)]
    ProfileInfo(#[from] ProfileInfoError),
    /// The config file could not be read.
    #[error("cannot read config file {}: {source}", path.display())]
    ConfigRead {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The config file is not valid TOML or does not match the schema.
    #[error("config file {} is not valid: {message}", path.display())]
    ConfigParse {
        /// The file.
        path: PathBuf,
        /// What the TOML parser said (with line and column).
        message: String,
    },
    /// The config file could not be written.
    #[error("cannot write config file {}: {source}", path.display())]
    ConfigWrite {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The config could not be serialized (should not happen).
    #[error("cannot serialize the config: {message}")]
    ConfigSerialize {
        /// What the TOML serializer said.
        message: String,
    },
    /// No explicit path, no `OXMAPI_CONFIG`, and no home directory to derive a default from.
    #[error(
        "cannot find a config directory; pass a config path or set OXMAPI_CONFIG to the config file"
    )]
    NoConfigLocation,
    /// `add_profile` without replace, on a name already taken.
    #[error("profile {name:?} already exists; remove it first or ask to replace it")]
    ProfileExists {
        /// The profile name.
        name: String,
    },
    /// No profile has this name.
    #[error("no profile named {name:?} in the config file ({})", known_list(known))]
    ProfileNotFound {
        /// The name looked up.
        name: String,
        /// The names that exist.
        known: Vec<String>,
    },
    /// A profile name that cannot be used as a TOML table key on the command line.
    #[error(
        "invalid profile name {name:?}: use 1 to 64 letters, digits, `.`, `_` or `-`, starting with a letter or digit"
    )]
    InvalidProfileName {
        /// The rejected name.
        name: String,
    },
    /// A proxy map key that is not a domain suffix.
    #[error("invalid proxy map domain {domain:?}: {reason}")]
    InvalidProxyDomain {
        /// The rejected key.
        domain: String,
        /// Why.
        reason: &'static str,
    },
    /// Two proxy map keys that are the same domain after normalization.
    #[error("proxy map domain {domain:?} appears twice (keys are case-insensitive)")]
    DuplicateProxyDomain {
        /// The normalized domain.
        domain: String,
    },
    /// The front-end URL of a proxy map entry is not acceptable.
    #[error(transparent)]
    FrontEnd(#[from] FrontEndError),
    /// An `RPCHttpProxyMap` value does not follow the accepted grammar.
    #[error(transparent)]
    RpcHttpProxyMap(#[from] ProxyMapImportError),
    /// A `.reg` export could not be imported.
    #[error(transparent)]
    RegImport(#[from] RegImportError),
    /// No proxy map entry covers the server of the selected profile.
    #[error(
        "no proxy map entry matches {looked_up:?} (server {server:?}); add one to the config file, for example:\n\n{snippet}"
    )]
    NoProxyEntry {
        /// The server name of the profile.
        server: String,
        /// The domain or host the proxy map was searched with.
        looked_up: String,
        /// A TOML snippet to paste into the config file.
        snippet: String,
    },
    /// The chosen front end wants bearer (OAuth) authentication over plain http: a
    /// bearer token is sent over TLS only (RFC 6750 5.3).
    #[error(
        "{where_} uses bearer authentication over plain http ({url}); bearer tokens are sent over https only"
    )]
    BearerWithoutTls {
        /// Which entry (for example `proxy map entry "contoso.com"`).
        where_: String,
        /// The front-end URL.
        url: String,
    },
    /// The token file could not be used. Never holds the file's content.
    #[error("token file {}: {problem}", path.display())]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: TokenFileProblem,
    },
    /// `$OXMAPI_TOKEN` could not be used. Never holds its value.
    #[error("$OXMAPI_TOKEN: {problem}")]
    TokenEnv {
        /// What is wrong with it.
        problem: TokenFileProblem,
    },
    /// The password file could not be used. Never holds the file's content.
    #[error("password file {}: {problem}", path.display())]
    PasswordFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: PasswordFileProblem,
    },
}

/// Why a bearer token (file or `$OXMAPI_TOKEN`) was refused. Never holds the token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenFileProblem {
    /// It could not be read.
    #[error("cannot read it: {0}")]
    Read(io::Error),
    /// Nothing but whitespace.
    #[error("it is empty; write the access token on the first line")]
    Empty,
    /// It is not UTF-8.
    #[error("it is not utf-8 text")]
    NotUtf8,
    /// Not an RFC 6750 `b64token` (for example a `Bearer ` prefix, or several words).
    #[error(
        "it is not one bearer token (letters, digits and -._~+/ only, then optional =); give the bare access token, without \"Bearer \""
    )]
    NotAToken,
}

/// Why a password file was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordFileProblem {
    /// It could not be read.
    #[error("cannot read it: {0}")]
    Read(io::Error),
    /// Its first line is empty.
    #[error("its first line is empty; write the password on the first line")]
    Empty,
    /// It is not UTF-8.
    #[error("it is not utf-8 text")]
    NotUtf8,
}

/// A malformed dynamic profile (`server` LF `mailbox`) or server name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileInfoError {
    /// Nothing but whitespace.
    #[error("profile info is empty; expected <server> newline <mailbox>")]
    Empty,
    /// One part only.
    #[error(
        "profile info has no mailbox part after server {server:?}; separate server and mailbox with a newline (or a literal \\n)"
    )]
    MissingMailbox {
        /// The only part given.
        server: String,
    },
    /// A part is empty after trimming.
    #[error("profile info has an empty {part} part; expected <server> newline <mailbox>")]
    EmptyPart {
        /// Which one.
        part: ProfileInfoPart,
    },
    /// Three or more parts.
    #[error("profile info has {count} parts; expected exactly two: <server> newline <mailbox>")]
    TooManyParts {
        /// How many.
        count: usize,
    },
    /// The server part is not a host name or `<GUID>@<domain>`.
    #[error("invalid server name {name:?}: {reason}")]
    InvalidServer {
        /// The rejected name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// The mailbox part is unusable.
    #[error("invalid mailbox {mailbox:?}: {reason}")]
    InvalidMailbox {
        /// The rejected mailbox.
        mailbox: String,
        /// Why.
        reason: &'static str,
    },
}

/// The two parts of a dynamic profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileInfoPart {
    /// `<server>`.
    Server,
    /// `<mailbox>`.
    Mailbox,
}

impl fmt::Display for ProfileInfoPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Server => "server",
            Self::Mailbox => "mailbox",
        })
    }
}

/// A front-end URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrontEndError {
    /// Not `https://host[:port][/path]` or a bare host.
    #[error("invalid front-end url {url:?}: {reason}")]
    Invalid {
        /// The rejected text.
        url: String,
        /// Why.
        reason: &'static str,
    },
    /// `http://` without `allow_http = true`.
    #[error(
        "front-end url {url:?} is plain http; use https, or set allow_http = true on that entry (lab use only)"
    )]
    PlainHttp {
        /// The rejected URL.
        url: String,
    },
}

/// An `RPCHttpProxyMap` entry the importer could not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rpchttpproxymap entry {index} {entry:?}: {kind}")]
pub struct ProxyMapImportError {
    /// 1-based index of the entry among the non-empty entries.
    pub index: usize,
    /// The entry's text, trimmed.
    pub entry: String,
    /// What is wrong with it.
    pub kind: ProxyMapImportErrorKind,
}

/// What is wrong with an `RPCHttpProxyMap` entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyMapImportErrorKind {
    /// No `=` between domain and the rest.
    #[error("expected <domain>=<front end>,<auth>[,<flags>]")]
    MissingEquals,
    /// The domain is not a domain suffix.
    #[error("invalid domain: {0}")]
    InvalidDomain(&'static str),
    /// No front end before the first comma.
    #[error("the front end is missing; expected <domain>=<front end>,<auth>[,<flags>]")]
    MissingFrontEnd,
    /// No authentication field.
    #[error("the authentication is missing; expected <domain>=<front end>,<auth>[,<flags>]")]
    MissingAuth,
    /// An authentication word we do not know.
    #[error("unknown authentication {0:?}; expected ntlm, negotiate, basic or 1, 2, 0x10")]
    UnknownAuth(String),
    /// A numeric RPC_C_HTTP_AUTHN_SCHEME we cannot use.
    #[error(
        "authentication scheme {0:#x} is not supported; expected 1 (basic), 2 (ntlm) or 0x10 (negotiate)"
    )]
    UnsupportedAuthScheme(u32),
    /// A flag we do not know.
    #[error("unknown flag {0:?}; expected ssl, ignorecert, ignore_cert_cn or msstd:<name>")]
    UnknownFlag(String),
    /// `msstd:` with nothing after it.
    #[error("msstd: needs a name, for example msstd:mail.contoso.com")]
    EmptyPrincipal,
    /// The front end is not a host or an https URL.
    #[error("{0}")]
    FrontEnd(FrontEndError),
    /// The same domain mapped twice.
    #[error("domain already mapped by entry {first}")]
    Duplicate {
        /// Index of the earlier entry.
        first: usize,
    },
}

/// A `.reg` export the importer could not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegImportError {
    /// Neither UTF-8 nor UTF-16 with a byte order mark.
    #[error(
        "the .reg file is not text: {0}; export it again with regedit (utf-16le with bom or utf-8)"
    )]
    Encoding(&'static str),
    /// A line that is not valid `.reg` syntax.
    #[error(".reg line {line}: {message}")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: &'static str,
    },
    /// One of our values has the wrong registry type.
    #[error(".reg line {line}: value {name:?} must be {expected}")]
    WrongType {
        /// 1-based line number.
        line: usize,
        /// The value name.
        name: String,
        /// The type wanted.
        expected: &'static str,
    },
    /// The `RPCHttpProxyMap` value itself is malformed.
    #[error(".reg line {line}: {source}")]
    ProxyMap {
        /// 1-based line number.
        line: usize,
        /// The grammar error.
        source: ProxyMapImportError,
    },
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        "there are none; add one with `oxmapi profile add`".to_owned()
    } else {
        format!("known: {}", known.join(", "))
    }
}
