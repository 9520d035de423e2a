//! The server side of NTLM (MS-NLMP 3.2.5) through `sspi`, shared by the `NTLM` and
//! `Negotiate` schemes of [`super`]: accepting a NEGOTIATE or AUTHENTICATE message, verifying
//! an AUTHENTICATE against the claimed user's NT hash, and reading the name an
//! AUTHENTICATE message claims (MS-NLMP 2.2.1.3) for the throttle and the log.

use sspi::{
    AuthIdentity, AuthIdentityBuffers, BufferType, DataRepresentation, Ntlm, SecurityBuffer,
    SecurityStatus, ServerRequestFlags, Sspi, SspiEx, SspiImpl,
};

use super::attempt::{Account, Attempt, Leg};
use crate::store::UserRecord;

/// MS-NLMP 2.2.1: the MessageType field at offset 8 of every NTLM message.
pub(super) fn ntlm_message_type(message: &[u8]) -> Option<u32> {
    let field: [u8; 4] = message.get(8..12)?.try_into().ok()?;
    Some(u32::from_le_bytes(field))
}

/// MS-NLMP 2.2.1.3 AUTHENTICATE_MESSAGE: the `DOMAIN\user` (or `user`) it claims, read before
/// anything is verified, for the throttle and the log when the message fails early.
fn claimed_user(message: &[u8]) -> Option<String> {
    /// MS-NLMP 2.2.2.5 NTLMSSP_NEGOTIATE_UNICODE (flag A).
    const NEGOTIATE_UNICODE: u32 = 0x0000_0001;
    let u16_at = |at: usize| -> Option<u16> {
        let b: [u8; 2] = message.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(u16::from_le_bytes(b))
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = message.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(u32::from_le_bytes(b))
    };
    if message.get(..8) != Some(b"NTLMSSP\0".as_slice()) || ntlm_message_type(message) != Some(3) {
        return None;
    }
    let flags = u32_at(60)?;
    // A `*Fields` descriptor at `at`: Len (2), MaxLen (2), BufferOffset (4).
    let field = |at: usize| -> Option<String> {
        let len = usize::from(u16_at(at)?);
        let offset = usize::try_from(u32_at(at + 4)?).ok()?;
        let bytes = message.get(offset..offset.checked_add(len)?)?;
        Some(if flags & NEGOTIATE_UNICODE != 0 {
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        } else {
            bytes.iter().copied().map(char::from).collect()
        })
    };
    let domain = field(28)?; // DomainNameFields
    let user = field(36)?; // UserNameFields
    Some(if domain.is_empty() {
        user
    } else {
        format!("{domain}\\{user}")
    })
}

/// An AUTHENTICATE (or a Negotiate continuation) without a handshake in progress on the
/// connection: a failed logon, counted for the account the message claims if it names one.
pub(super) fn orphan_authenticate(attempt: &Attempt<'_>, message: Option<&[u8]>) -> Leg {
    let claimed = message.and_then(claimed_user);
    if attempt.locked(None) {
        return Leg::Locked(claimed.as_deref().map(Account::unresolved));
    }
    Leg::Failed(
        claimed
            .as_deref()
            .map(|name| Account::from_login(attempt.state, name)),
    )
}

/// Reads an AUTHENTICATE message and verifies it against the user's NT hash, unless the
/// account or the address is locked out. `Ok` gives the user and the account it named, `Err`
/// the leg's outcome.
pub(super) fn finish_ntlm(
    attempt: &Attempt<'_>,
    ntlm: &mut Ntlm,
    input: Vec<u8>,
) -> Result<(UserRecord, Account), Box<Leg>> {
    let claimed = claimed_user(&input);
    if attempt.locked(None) {
        let account = claimed.as_deref().map(Account::unresolved);
        return Err(Box::new(Leg::Locked(account)));
    }
    let failed = || {
        let account = claimed
            .as_ref()
            .map(|n| Account::from_login(attempt.state, n));
        Box::new(Leg::Failed(account))
    };
    let status = accept(ntlm, input).map_err(|_| failed())?.0;
    if !matches!(
        status,
        SecurityStatus::CompleteNeeded | SecurityStatus::CompleteAndContinue | SecurityStatus::Ok
    ) {
        return Err(failed());
    }
    // Reading the message checked nothing yet: the names are what the client claims.
    let names = ntlm.query_context_names().map_err(|_| failed())?;
    let name = names.username.account_name();
    let user = match attempt.state.store.user_by_alias(name) {
        Ok(user) => user,
        Err(e) => {
            tracing::warn!("ntlm auth: {e}");
            return Err(Box::new(Leg::Unavailable));
        }
    };
    let account = Account {
        given: names.username.inner().to_owned(),
        key: user.as_ref().map_or(name, |u| u.alias.as_str()).to_owned(),
    };
    if attempt.locked(Some(&account)) {
        return Err(Box::new(Leg::Locked(Some(account))));
    }
    let Some(user) = user else {
        return Err(Box::new(Leg::Failed(Some(account))));
    };
    let Some(hash) = attempt.state.store.nt_hash_of(user.id).ok().flatten() else {
        return Err(Box::new(Leg::Failed(Some(account))));
    };
    let hex: String = hash.0.iter().map(|b| format!("{b:02x}")).collect();
    let identity = AuthIdentity {
        username: names.username.clone(),
        password: format!("{}{hex}", sspi::NTLM_HASH_PREFIX).into(),
    };
    let verified = ntlm
        .custom_set_auth_identity(identity)
        .and_then(|()| ntlm.complete_auth_token(&mut []));
    match verified {
        Ok(_) => Ok((user, account)),
        Err(_) => Err(Box::new(Leg::Failed(Some(account)))),
    }
}

/// One server leg of NTLM (AcceptSecurityContext): the status and the token to send back.
/// Used by HTTP authentication and by the DCE/RPC security layer of RPC over HTTP.
pub(crate) fn accept(ntlm: &mut Ntlm, input: Vec<u8>) -> sspi::Result<(SecurityStatus, Vec<u8>)> {
    let mut creds: Option<AuthIdentityBuffers> = None;
    let mut input = vec![SecurityBuffer::new(input, BufferType::Token)];
    let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
    let builder = ntlm
        .accept_security_context()
        .with_credentials_handle(&mut creds)
        .with_context_requirements(ServerRequestFlags::ALLOCATE_MEMORY)
        .with_target_data_representation(DataRepresentation::Native)
        .with_input(&mut input)
        .with_output(&mut output);
    let result = ntlm
        .accept_security_context_impl(builder)?
        .resolve_to_result()?;
    let out = output
        .into_iter()
        .next()
        .map(|b| b.buffer)
        .unwrap_or_default();
    Ok((result.status, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3) with only the fields `claimed_user` reads:
    /// DomainNameFields at 28, UserNameFields at 36, NegotiateFlags at 60, payload at 64.
    fn authenticate_message(domain: &str, user: &str, unicode: bool) -> Vec<u8> {
        let encode = |s: &str| -> Vec<u8> {
            if unicode {
                s.encode_utf16().flat_map(u16::to_le_bytes).collect()
            } else {
                s.bytes().collect()
            }
        };
        let (d, u) = (encode(domain), encode(user));
        let mut m = vec![0u8; 64];
        m[..8].copy_from_slice(b"NTLMSSP\0");
        m[8] = 3;
        let mut put = |at: usize, len: usize, offset: usize| {
            m[at..at + 2].copy_from_slice(&(len as u16).to_le_bytes());
            m[at + 2..at + 4].copy_from_slice(&(len as u16).to_le_bytes());
            m[at + 4..at + 8].copy_from_slice(&(offset as u32).to_le_bytes());
        };
        put(28, d.len(), 64);
        put(36, u.len(), 64 + d.len());
        m[60..64].copy_from_slice(&u32::from(unicode).to_le_bytes());
        m.extend_from_slice(&d);
        m.extend_from_slice(&u);
        m
    }

    #[test]
    fn claimed_user_of_an_authenticate_message() {
        let m = authenticate_message("TESTDOM", "alice", true);
        assert_eq!(claimed_user(&m).as_deref(), Some("TESTDOM\\alice"));
        let m = authenticate_message("", "Zoë", true);
        assert_eq!(claimed_user(&m).as_deref(), Some("Zoë"));
        let m = authenticate_message("DOM", "bob", false);
        assert_eq!(claimed_user(&m).as_deref(), Some("DOM\\bob"));
        // Every truncation, a wrong type and a field pointing past the end give nothing.
        let m = authenticate_message("TESTDOM", "alice", true);
        for n in 0..m.len() {
            assert_eq!(claimed_user(&m[..n]), None, "prefix {n}");
        }
        let mut wrong = m.clone();
        wrong[8] = 1;
        assert_eq!(claimed_user(&wrong), None);
        let mut past = m.clone();
        past[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(claimed_user(&past), None);
    }

    #[test]
    fn ntlm_message_types() {
        assert_eq!(ntlm_message_type(b"NTLMSSP\0\x01\0\0\0rest"), Some(1));
        assert_eq!(ntlm_message_type(b"NTLMSSP\0\x03\0\0\0"), Some(3));
        assert_eq!(ntlm_message_type(b"NTLMSSP\0\x03\0\0"), None);
        assert_eq!(ntlm_message_type(b""), None);
    }
}
