//! The server's resource limits: what one connection, request, session, mailbox or client
//! address may take before the server refuses, slows down or answers with back-off.
//!
//! Every field has a safe default ([`Limits::default`]) and can be set from the server
//! config file (`oxmapi serve --config server.toml`, section `[limits]`, see
//! `docs/server-limits.md`). The defaults follow what an Exchange server allows a single
//! client, scaled to a test server.

use std::time::Duration;

/// Limits applied by the embedded server. `Default` gives the documented safe values.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    // --- connections -------------------------------------------------------------------
    /// A TCP connection must finish its TLS handshake within this time.
    pub tls_handshake_timeout: Duration,
    /// A request's header block must arrive within this time (hyper's header read
    /// timeout); also bounds a keep-alive connection waiting for its next request.
    pub header_read_timeout: Duration,
    /// A request body (MAPI/HTTP, RPC/HTTP echo, CONN/A1) must arrive whole within this time
    /// after its headers. On an RPC/HTTP IN channel each PDU must complete within it once
    /// started; between PDUs of an established channel (which stays open between calls) the
    /// longer of this and the advertised ConnectionTimeout plus slack applies.
    pub body_read_timeout: Duration,
    /// A connection with no request in flight is closed after this time.
    pub idle_timeout: Duration,
    /// A response write (or flush) that makes no progress for this long ends the connection:
    /// a client that stops reading its responses cannot hold the connection open.
    pub write_stall_timeout: Duration,
    /// Most TCP connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// Most TCP connections from one client IP address at once; further ones are closed
    /// right after accept.
    pub max_connections_per_ip: usize,

    // --- sessions and requests -----------------------------------------------------------
    /// Most Server objects (logons, folders, messages, tables, streams, attachments) one
    /// session context holds at once.
    pub max_objects_per_session: usize,
    /// Most table objects one session context holds at once.
    pub max_tables_per_session: usize,
    /// Store work one request may do before the server stops it and answers with the
    /// protocol's back-off (RopBackoff / ecServerBusy) instead of holding other users.
    pub request_time_budget: Duration,
    /// Back-off the server asks a client to wait after [`Limits::request_time_budget`]
    /// was exceeded.
    pub backoff: Duration,

    // --- store ------------------------------------------------------------------------------
    /// Largest property stream (RopSetStreamSize, RopSeekStream + RopWriteStream).
    pub max_stream_size: u64,
    /// Largest message (all its properties, recipients and attachments).
    pub max_message_size: u64,
    /// Total size one mailbox may hold.
    pub mailbox_quota: u64,

    // --- logon ------------------------------------------------------------------------------
    /// Failed logons (per account, and per client address) accepted without delay.
    pub logon_free_failures: u32,
    /// First delay after [`Limits::logon_free_failures`]; it doubles with each further
    /// failure up to [`Limits::logon_max_delay`].
    pub logon_base_delay: Duration,
    /// Longest delay before a failed logon is answered.
    pub logon_max_delay: Duration,
    /// Failures (per account, or per client address) after which logons are refused
    /// without checking the password for [`Limits::logon_lockout`].
    pub logon_lockout_after: u32,
    /// How long a lockout lasts; after it the right password works again.
    pub logon_lockout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            tls_handshake_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(15),
            body_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(120),
            write_stall_timeout: Duration::from_secs(60),
            max_connections: 512,
            max_connections_per_ip: 64,
            max_objects_per_session: 2048,
            max_tables_per_session: 128,
            request_time_budget: Duration::from_secs(5),
            backoff: Duration::from_secs(2),
            max_stream_size: 64 << 20,
            max_message_size: 64 << 20,
            mailbox_quota: 2 << 30,
            logon_free_failures: 5,
            logon_base_delay: Duration::from_millis(250),
            logon_max_delay: Duration::from_secs(4),
            logon_lockout_after: 20,
            logon_lockout: Duration::from_secs(300),
        }
    }
}
