//! Errors of the RPC over HTTP transport: the HTTP layer's [`TransportError`] plus what can go
//! wrong in the virtual connection (MS-RPCH) and in DCE/RPC (C706, MS-RPCE).

use oxmapi_wire::data::ErrorCode;
use oxmapi_wire::dcerpc::FaultStatus;
use oxmapi_wire::{DecodeError, EncodeError};

use crate::error::TransportError;

/// Everything that can go wrong on an RPC/HTTP channel.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RpcError {
    /// The HTTP layer failed (connect, TLS, HTTP authentication, timeouts, HTTP status).
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// MS-RPCH 2.1.2.1.3: the RPC proxy refused the channel (`HTTP/1.0 503 RPC Error: <hex>`).
    #[error("rpc proxy {url} refused the {channel} channel: http {status} {reason}")]
    Proxy {
        /// `RPC_IN_DATA` or `RPC_OUT_DATA`.
        channel: &'static str,
        /// The HTTP status.
        status: u16,
        /// The reason phrase (`RPC Error: 6ba`), as sent.
        reason: String,
        /// The URL requested.
        url: String,
    },
    /// The server answered a call with a fault PDU (C706 12.6.4.7, MS-RPCE 2.2.2.9).
    #[error("rpc fault {} ({:#010x}) on opnum {opnum}", fault_name(*.status), .status.0)]
    Fault {
        /// The fault status.
        status: FaultStatus,
        /// The opnum of the call.
        opnum: u16,
    },
    /// The server rejected the bind (bind_nak, or the presentation context was not accepted).
    #[error("bind to {interface} rejected: {reason}")]
    BindRejected {
        /// The interface (`EMSMDB`, `NSPI`, `RFR`).
        interface: &'static str,
        /// What the server said.
        reason: String,
    },
    /// A response's auth verifier is missing, has the wrong level, or fails to verify.
    #[error("bad rpc verifier on {pdu}: {reason}")]
    BadVerifier {
        /// The PDU it was found on.
        pdu: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// The security package failed to produce a token or to seal a PDU.
    #[error("rpc ntlm security context error: {0}")]
    Security(String),
    /// The virtual connection ended (a channel was closed or its HTTP request failed).
    #[error("rpc/http virtual connection closed: {0}")]
    Closed(String),
    /// The peer broke the RPC/HTTP or DCE/RPC rules.
    #[error("rpc/http protocol error: {0}")]
    Protocol(String),
    /// A PDU or stub could not be decoded.
    #[error("malformed rpc data: {0}")]
    Decode(#[from] DecodeError),
    /// A PDU or stub could not be encoded.
    #[error("cannot encode rpc data: {0}")]
    Encode(#[from] EncodeError),
    /// A wait on the OUT channel exceeded its limit.
    #[error("timed out after {after_ms} ms waiting for {waiting_for}")]
    Timeout {
        /// What was awaited.
        waiting_for: &'static str,
        /// The limit.
        after_ms: u128,
    },
    /// The remote operation returned a non-zero MAPI/NSPI error code.
    #[error("{call} returned {code}")]
    Call {
        /// The operation (`EcDoConnectEx`, `NspiBind`, ...).
        call: &'static str,
        /// The return value.
        code: ErrorCode,
    },
}

impl RpcError {
    /// True for rejected credentials, at the HTTP or the RPC level.
    pub fn is_auth_failed(&self) -> bool {
        match self {
            Self::Transport(e) => e.is_auth_failed(),
            Self::Fault { status, .. } => *status == FaultStatus::NCA_S_FAULT_ACCESS_DENIED,
            Self::BindRejected { reason, .. } => reason.contains("authentication"),
            _ => false,
        }
    }

    /// The fault status of a [`RpcError::Fault`].
    pub fn fault(&self) -> Option<FaultStatus> {
        match self {
            Self::Fault { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The C706 name of a fault status in lower case (`nca_op_rng_error`), or `unknown fault`.
pub fn fault_name(status: FaultStatus) -> String {
    match status.name() {
        Some(name) => name.to_ascii_lowercase(),
        None => "unknown fault".to_owned(),
    }
}
