//! DCE/RPC NTLM security (RPC_C_AUTHN_WINNT, MS-RPCE 2.2.1.1.7) on top of `sspi`: the three
//! legs of the bind (NEGOTIATE in bind, CHALLENGE in bind_ack, AUTHENTICATE in rpc_auth3) and
//! the per-PDU protection of MS-RPCE 3.3.1.5.2 (sealing at PKT_PRIVACY, signing at
//! PKT_INTEGRITY, 16-byte NTLMSSP signature in `auth_value`).

use oxmapi_wire::dcerpc::{AuthLayout, AuthLevel};
use sspi::ntlm::NtlmConfig;
use sspi::{
    AuthIdentity, BufferType, ClientRequestFlags, CredentialUse, DataRepresentation,
    EncryptionFlags, Ntlm, SecurityBuffer, SecurityBufferFlags, SecurityBufferRef, SecurityStatus,
    Sspi, SspiImpl, Username,
};

use super::error::RpcError;
use crate::config::Credentials;

/// MS-NLMP 2.2.2.9.1: an NTLMSSP_MESSAGE_SIGNATURE is 16 bytes.
pub(crate) const SIGNATURE_LEN: usize = 16;

/// The client's NTLM context for one association.
pub(crate) struct RpcSecurity {
    ntlm: Box<Ntlm>,
    handle: <Ntlm as SspiImpl>::CredentialsHandle,
    level: AuthLevel,
    target: String,
}

impl std::fmt::Debug for RpcSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcSecurity")
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

impl RpcSecurity {
    /// A fresh context for `credentials`; `server` names the target (SPN `host/<server>`).
    pub(crate) fn new(
        credentials: &Credentials,
        level: AuthLevel,
        server: &str,
    ) -> Result<Self, RpcError> {
        let identity = identity(credentials)?;
        let mut ntlm = Box::new(Ntlm::with_config(NtlmConfig::new("OXMAPI".to_owned())));
        let handle = ntlm
            .acquire_credentials_handle()
            .with_credential_use(CredentialUse::Outbound)
            .with_auth_data(&identity)
            .execute(ntlm.as_mut())
            .map_err(sec)?
            .credentials_handle;
        Ok(Self {
            ntlm,
            handle,
            level,
            target: format!("host/{server}"),
        })
    }

    pub(crate) fn level(&self) -> AuthLevel {
        self.level
    }

    /// The NEGOTIATE message for the bind (no input) or the AUTHENTICATE message for
    /// rpc_auth3 (the bind_ack's CHALLENGE as input).
    pub(crate) fn step(&mut self, input: Option<&[u8]>) -> Result<Vec<u8>, RpcError> {
        let mut flags = ClientRequestFlags::USE_DCE_STYLE
            | ClientRequestFlags::INTEGRITY
            | ClientRequestFlags::ALLOCATE_MEMORY;
        if self.level == AuthLevel::PKT_PRIVACY {
            flags |= ClientRequestFlags::CONFIDENTIALITY;
        }
        let mut input = input
            .map(|t| vec![SecurityBuffer::new(t.to_vec(), BufferType::Token)])
            .unwrap_or_default();
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let mut builder = self
            .ntlm
            .initialize_security_context()
            .with_credentials_handle(&mut self.handle)
            .with_context_requirements(flags)
            .with_target_data_representation(DataRepresentation::Native)
            .with_target_name(&self.target)
            .with_input(&mut input)
            .with_output(&mut output);
        let status = self
            .ntlm
            .initialize_security_context_impl(&mut builder)
            .map_err(sec)?
            .resolve_to_result()
            .map_err(sec)?
            .status;
        if matches!(
            status,
            SecurityStatus::CompleteAndContinue | SecurityStatus::CompleteNeeded
        ) {
            self.ntlm.complete_auth_token(&mut output).map_err(sec)?;
        }
        Ok(output
            .into_iter()
            .next()
            .map(|b| b.buffer)
            .unwrap_or_default())
    }

    /// Seals (PKT_PRIVACY) or signs (PKT_INTEGRITY) an encoded request fragment in place and
    /// writes the signature into its `auth_value` (MS-RPCE 3.3.1.5.2.2). With header signing
    /// the header and sec_trailer are part of the checksum.
    pub(crate) fn protect(&mut self, frag: &mut [u8], header_sign: bool) -> Result<(), RpcError> {
        let layout = AuthLayout::of(frag)?;
        let privacy = self.level == AuthLevel::PKT_PRIVACY;
        let mut parts = Parts::split(frag, &layout)?;
        let mut buffers = parts.buffers(privacy, header_sign);
        self.ntlm
            .encrypt_message(EncryptionFlags::empty(), &mut buffers)
            .map_err(sec)?;
        Ok(())
    }

    /// Verifies (and at PKT_PRIVACY unseals in place) a received response fragment; the stub
    /// range of `AuthLayout::of(frag)` then holds the plain stub.
    pub(crate) fn unprotect(&mut self, frag: &mut [u8], header_sign: bool) -> Result<(), RpcError> {
        let layout = AuthLayout::of(frag)?;
        if layout.auth_value.len() != SIGNATURE_LEN {
            return Err(RpcError::BadVerifier {
                pdu: "response",
                reason: format!(
                    "auth_value is {} bytes, an NTLM signature is {SIGNATURE_LEN}",
                    layout.auth_value.len()
                ),
            });
        }
        let privacy = self.level == AuthLevel::PKT_PRIVACY;
        let mut parts = Parts::split(frag, &layout)?;
        let mut buffers = parts.buffers(privacy, header_sign);
        self.ntlm
            .decrypt_message(&mut buffers)
            .map_err(|e| RpcError::BadVerifier {
                pdu: "response",
                reason: e.to_string(),
            })?;
        Ok(())
    }
}

/// The four disjoint regions of a fragment: header (up to the stub), stub + pad, sec_trailer,
/// auth_value.
struct Parts<'a> {
    header: &'a mut [u8],
    body: &'a mut [u8],
    trailer: &'a mut [u8],
    token: &'a mut [u8],
}

impl<'a> Parts<'a> {
    fn split(frag: &'a mut [u8], l: &AuthLayout) -> Result<Self, RpcError> {
        let bad = || RpcError::Protocol("auth verifier layout out of bounds".to_owned());
        let frag = frag.get_mut(..l.auth_value.end).ok_or_else(bad)?;
        let (rest, token) = frag.split_at_mut(l.auth_value.start);
        let (rest, trailer) = rest.split_at_mut(l.sec_trailer.start);
        let trailer = trailer.get_mut(..l.sec_trailer.len()).ok_or_else(bad)?;
        let (header, body) = rest.split_at_mut(l.stub_and_pad.start);
        Ok(Self {
            header,
            body,
            trailer,
            token,
        })
    }

    fn buffers(&mut self, privacy: bool, header_sign: bool) -> Vec<SecurityBufferRef<'_>> {
        let ro = SecurityBufferFlags::SECBUFFER_READONLY_WITH_CHECKSUM;
        let mut out = Vec::with_capacity(4);
        if header_sign {
            out.push(SecurityBufferRef::data_buf(self.header).with_flags(ro));
        }
        let body = SecurityBufferRef::data_buf(self.body);
        out.push(if privacy { body } else { body.with_flags(ro) });
        if header_sign {
            out.push(SecurityBufferRef::data_buf(self.trailer).with_flags(ro));
        }
        out.push(SecurityBufferRef::token_buf(self.token));
        out
    }
}

fn identity(credentials: &Credentials) -> Result<AuthIdentity, RpcError> {
    let username = match credentials.domain.as_deref() {
        Some(domain) if !domain.is_empty() => Username::new(&credentials.user, Some(domain)),
        _ => Username::parse(&credentials.user),
    }
    .map_err(|e| RpcError::Security(e.to_string()))?;
    Ok(AuthIdentity {
        username,
        password: credentials.password.expose().to_owned().into(),
    })
}

fn sec(e: sspi::Error) -> RpcError {
    RpcError::Security(e.to_string())
}
