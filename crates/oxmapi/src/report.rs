//! The logon report: what each step did, how long it took, how many HTTP round trips it
//! needed. Data only; the CLI prints it as text or JSON.

use serde::Serialize;

/// A step-by-step account of one logon.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LogonReport {
    /// How the profile was resolved.
    pub profile: ProfileReport,
    /// The TLS connection to the front end (from the first endpoint used).
    pub tls: Option<TlsReport>,
    /// The HTTP authentication scheme used.
    pub auth_scheme: Option<String>,
    /// The transport used (`mapihttp`), and why.
    pub transport: TransportReport,
    /// Each step in order; the last one failed if the logon failed.
    pub steps: Vec<StepReport>,
    /// The address-book entry the mailbox name resolved to.
    pub resolved: Option<ResolvedName>,
    /// The mailbox, once RopLogon succeeded.
    pub mailbox: Option<MailboxReport>,
    /// Public folders: `present`, `absent (ignored: Ignore No PF is set)`, `absent`.
    pub public_folders: Option<String>,
    /// Warnings a person must see (certificate not verified, ...).
    pub warnings: Vec<String>,
    /// Whole logon, milliseconds.
    pub total_ms: u64,
    /// Whole logon, HTTP round trips (including authentication legs).
    pub total_http_round_trips: u64,
    /// The failure, when the logon failed.
    pub error: Option<ErrorReport>,
}

/// The resolved profile.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProfileReport {
    /// `dynamic` (ProfileInfo) or `static`.
    pub kind: String,
    /// Static profile name.
    pub name: Option<String>,
    /// The server name (personalized server name on Exchange 2013+).
    pub server: String,
    /// The mailbox name (alias).
    pub mailbox: String,
    /// The proxy-map entry chosen (domain suffix), if any.
    pub proxy_map_entry: Option<String>,
    /// The front end URL.
    pub front_end: String,
    /// HTTP authentication configured.
    pub auth: String,
    /// Certificate policy configured.
    pub certificate_policy: String,
    /// Whether Ignore No PF is set.
    pub ignore_no_public_folders: bool,
    /// The user authenticating.
    pub user: String,
    /// Where each setting came from.
    pub origin: String,
}

/// TLS details.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TlsReport {
    /// Protocol version.
    pub version: String,
    /// Cipher suite.
    pub cipher_suite: String,
    /// SHA-256 of the server certificate.
    pub certificate_sha256: Option<String>,
    /// Policy applied.
    pub policy: String,
    /// The name checked.
    pub checked_name: String,
    /// True when the certificate was not verified.
    pub verification_skipped: bool,
}

/// Which transport and why.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TransportReport {
    /// `mapihttp` or `rpchttp`.
    pub used: String,
    /// Why this one.
    pub reason: String,
    /// The mailbox endpoint URL.
    pub emsmdb_url: String,
    /// The address-book endpoint URL.
    pub nspi_url: String,
}

/// One step of the logon.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StepReport {
    /// Step name (`nspi-bind`, `nspi-resolve`, `emsmdb-connect`, `rop-logon`, `public-folders`).
    pub name: String,
    /// Whether it succeeded.
    pub ok: bool,
    /// Elapsed milliseconds.
    pub elapsed_ms: u64,
    /// HTTP round trips, including 401 authentication legs.
    pub http_round_trips: u64,
    /// What happened, for a person.
    pub detail: String,
}

/// The address-book entry of the mailbox owner.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ResolvedName {
    /// Display name.
    pub display_name: String,
    /// Legacy Exchange DN (ESSDN).
    pub dn: String,
    /// SMTP address, if the server returned one.
    pub smtp_address: Option<String>,
    /// Account (alias), if returned.
    pub account: Option<String>,
    /// Minimal entry ID.
    pub mid: u32,
}

/// The mailbox after RopLogon.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MailboxReport {
    /// Display name from Connect.
    pub display_name: String,
    /// DN prefix from Connect.
    pub dn_prefix: String,
    /// Server application (`X-ServerApplication`), i.e. the server version.
    pub server_version: Option<String>,
    /// Mailbox GUID.
    pub mailbox_guid: String,
    /// The 13 special folder IDs of MS-OXCSTOR 2.2.1.1.3, by name.
    pub special_folders: Vec<(String, String)>,
    /// Whether the organization advertises public folders (AUX EXORGINFO), when known.
    pub org_public_folders: Option<bool>,
}

/// A failure, as reported.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ErrorReport {
    /// Failing step.
    pub step: Option<String>,
    /// MAPI error name.
    pub mapi_error: String,
    /// Code in hex.
    pub code: String,
    /// Message.
    pub message: String,
    /// What to do.
    pub hint: Option<String>,
}

impl From<&crate::Error> for ErrorReport {
    fn from(e: &crate::Error) -> Self {
        Self {
            step: e.step().map(str::to_owned),
            mapi_error: e.mapi_name().to_owned(),
            code: format!("0x{:08X}", e.code().0),
            message: e.message().to_owned(),
            hint: e.hint().map(str::to_owned),
        }
    }
}
