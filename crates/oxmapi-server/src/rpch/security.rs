//! The DCE/RPC NTLM security context of one association (MS-RPCE 3.3.1.5.2 with auth_type
//! RPC_C_AUTHN_WINNT, MS-NLMP 3.4): the bind carries NEGOTIATE, the bind_ack CHALLENGE, the
//! rpc_auth3 AUTHENTICATE; afterwards every request and response is signed
//! (RPC_C_AUTHN_LEVEL_PKT_INTEGRITY) or sealed and signed (RPC_C_AUTHN_LEVEL_PKT_PRIVACY).
//!
//! The signature covers the whole fragment but the auth_value: header and sec_trailer are
//! `SECBUFFER_READONLY_WITH_CHECKSUM` buffers, the stub plus its padding is the data buffer that
//! is sealed in place (MS-RPCE 3.3.1.5.2.2, sspi's `test_rpc_request_encryption`).

use oxmapi_wire::dcerpc::{AuthLayout, AuthLevel};
use sspi::{
    AuthIdentity, EncryptionFlags, Ntlm, SecurityBufferFlags, SecurityBufferRef, SecurityStatus,
    Sspi, SspiEx,
};

use crate::auth::ntlm::accept;
use crate::store::{Store, UserRecord};

/// Size of an NTLM signature (MS-NLMP 2.2.2.9.1), the auth_value of a protected PDU.
pub(crate) const SIGNATURE_SIZE: usize = 16;

/// Why a security step failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SecurityError {
    /// The NTLM token was rejected (bad message, wrong password, unknown user).
    #[error("ntlm: {0}")]
    Ntlm(String),
    /// A protected PDU came before the context was established.
    #[error("no established security context")]
    NotEstablished,
    /// The PDU's layout does not allow verification.
    #[error("malformed auth verifier: {0}")]
    Layout(#[from] oxmapi_wire::DecodeError),
    /// The signature did not verify or the sequence number was wrong.
    #[error("signature check failed: {0}")]
    BadSignature(String),
}

enum State {
    /// NEGOTIATE not seen yet.
    Initial,
    /// CHALLENGE sent, waiting for AUTHENTICATE.
    ChallengeSent,
    /// Authenticated as this user.
    Established,
}

/// The server side of one NTLM security context.
pub(crate) struct NtlmContext {
    ntlm: Ntlm,
    state: State,
}

impl std::fmt::Debug for NtlmContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NtlmContext").finish_non_exhaustive()
    }
}

impl NtlmContext {
    /// A fresh context.
    pub(crate) fn new() -> Self {
        Self {
            ntlm: Ntlm::new(),
            state: State::Initial,
        }
    }

    /// True once AUTHENTICATE was accepted.
    pub(crate) fn is_established(&self) -> bool {
        matches!(self.state, State::Established)
    }

    /// NEGOTIATE in, CHALLENGE out (it carries MsvAvNbComputerName, MS-NLMP 2.2.2.1).
    pub(crate) fn challenge(&mut self, negotiate: Vec<u8>) -> Result<Vec<u8>, SecurityError> {
        if !matches!(self.state, State::Initial) {
            return Err(SecurityError::Ntlm("NEGOTIATE out of sequence".into()));
        }
        match accept(&mut self.ntlm, negotiate) {
            Ok((SecurityStatus::ContinueNeeded, out)) => {
                self.state = State::ChallengeSent;
                Ok(out)
            }
            Ok((status, _)) => Err(SecurityError::Ntlm(format!("unexpected status {status:?}"))),
            Err(e) => Err(SecurityError::Ntlm(e.to_string())),
        }
    }

    /// AUTHENTICATE in: checks the response against the user's NT hash from the store and
    /// derives the session keys. Returns the authenticated user.
    pub(crate) fn authenticate(
        &mut self,
        store: &Store,
        token: Vec<u8>,
    ) -> Result<UserRecord, SecurityError> {
        if !matches!(self.state, State::ChallengeSent) {
            return Err(SecurityError::Ntlm("AUTHENTICATE out of sequence".into()));
        }
        let fail = |m: &str| SecurityError::Ntlm(m.to_owned());
        let (status, _) =
            accept(&mut self.ntlm, token).map_err(|e| SecurityError::Ntlm(e.to_string()))?;
        if !matches!(
            status,
            SecurityStatus::CompleteNeeded
                | SecurityStatus::CompleteAndContinue
                | SecurityStatus::Ok
        ) {
            return Err(fail("AUTHENTICATE not accepted"));
        }
        let names = self
            .ntlm
            .query_context_names()
            .map_err(|e| SecurityError::Ntlm(e.to_string()))?;
        let user = store
            .user_by_alias(names.username.account_name())
            .ok()
            .flatten()
            .ok_or_else(|| fail("unknown user"))?;
        let hash = store
            .nt_hash_of(user.id)
            .ok()
            .flatten()
            .ok_or_else(|| fail("user has no password"))?;
        let hex: String = hash.0.iter().map(|b| format!("{b:02x}")).collect();
        let identity = AuthIdentity {
            username: names.username.clone(),
            password: format!("{}{hex}", sspi::NTLM_HASH_PREFIX).into(),
        };
        self.ntlm
            .custom_set_auth_identity(identity)
            .map_err(|e| SecurityError::Ntlm(e.to_string()))?;
        self.ntlm
            .complete_auth_token(&mut [])
            .map_err(|e| SecurityError::Ntlm(e.to_string()))?;
        self.state = State::Established;
        Ok(user)
    }

    /// Verifies (PKT_INTEGRITY) or unseals and verifies (PKT_PRIVACY) an encoded fragment in
    /// place. After this the stub bytes of `frag` are plaintext.
    pub(crate) fn unprotect(
        &mut self,
        frag: &mut [u8],
        level: AuthLevel,
    ) -> Result<(), SecurityError> {
        if !self.is_established() {
            return Err(SecurityError::NotEstablished);
        }
        let layout = AuthLayout::of(frag)?;
        let mut parts = Parts::split(frag, &layout)?;
        let mut buffers = parts.buffers(level == AuthLevel::PKT_PRIVACY);
        self.ntlm
            .decrypt_message(&mut buffers)
            .map_err(|e| SecurityError::BadSignature(e.to_string()))?;
        Ok(())
    }

    /// Signs (PKT_INTEGRITY) or seals and signs (PKT_PRIVACY) an encoded fragment in place;
    /// its auth_value must be [`SIGNATURE_SIZE`] bytes.
    pub(crate) fn protect(
        &mut self,
        frag: &mut [u8],
        level: AuthLevel,
    ) -> Result<(), SecurityError> {
        if !self.is_established() {
            return Err(SecurityError::NotEstablished);
        }
        let layout = AuthLayout::of(frag)?;
        let mut parts = Parts::split(frag, &layout)?;
        let mut buffers = parts.buffers(level == AuthLevel::PKT_PRIVACY);
        self.ntlm
            .encrypt_message(EncryptionFlags::empty(), &mut buffers)
            .map_err(|e| SecurityError::BadSignature(e.to_string()))?;
        Ok(())
    }
}

/// The four disjoint regions of a protected fragment.
struct Parts<'a> {
    header: &'a mut [u8],
    body: &'a mut [u8],
    trailer: &'a mut [u8],
    token: &'a mut [u8],
}

impl<'a> Parts<'a> {
    fn split(frag: &'a mut [u8], l: &AuthLayout) -> Result<Self, SecurityError> {
        let bad = || {
            SecurityError::Layout(oxmapi_wire::DecodeError::invalid(
                "auth_value",
                l.auth_value.start,
                "not a 16-byte NTLM signature",
            ))
        };
        if l.auth_value.len() != SIGNATURE_SIZE || frag.len() < l.auth_value.end {
            return Err(bad());
        }
        let (rest, _) = frag.split_at_mut(l.auth_value.end);
        let (rest, token) = rest.split_at_mut(l.auth_value.start);
        let (rest, trailer) = rest.split_at_mut(l.sec_trailer.start);
        let (header, body) = rest.split_at_mut(l.stub_and_pad.start);
        Ok(Self {
            header,
            body,
            trailer,
            token,
        })
    }

    fn buffers(&mut self, seal: bool) -> Vec<SecurityBufferRef<'_>> {
        let ro = SecurityBufferFlags::SECBUFFER_READONLY_WITH_CHECKSUM;
        let body = SecurityBufferRef::data_buf(self.body);
        vec![
            SecurityBufferRef::data_buf(self.header).with_flags(ro),
            if seal { body } else { body.with_flags(ro) },
            SecurityBufferRef::data_buf(self.trailer).with_flags(ro),
            SecurityBufferRef::token_buf(self.token),
        ]
    }
}
