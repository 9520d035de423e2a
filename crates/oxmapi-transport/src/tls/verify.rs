//! The server-certificate verifiers behind the policies. Every one of them verifies the
//! handshake signatures (RFC 8446 §4.4.3, RFC 5246 §7.4.8) with webpki and the ring
//! provider's algorithms; they differ only in which certificate they accept.

use std::error::Error as StdError;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_name};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::server::ParsedCertificate;
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, SignatureScheme,
};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};

use super::hex;
use super::validity::validity;

tokio::task_local! {
    /// The leaf the server presented in the handshake being polled; see [`Presented`].
    static PRESENTED: Arc<Presented>;
}

/// The SHA-256 of the leaf certificate presented in one handshake, kept so a failed handshake
/// can still name the certificate it refused (rustls drops the connection and its chain).
#[derive(Debug, Default)]
pub(super) struct Presented(OnceLock<[u8; 32]>);

impl Presented {
    /// Runs the handshake `fut` so that the verifiers can note the presented leaf.
    pub(super) async fn observe<F: Future>(fut: F) -> (F::Output, Option<[u8; 32]>) {
        let presented = Arc::new(Self::default());
        let output = PRESENTED.scope(presented.clone(), fut).await;
        (output, presented.0.get().copied())
    }

    fn note(end_entity: &CertificateDer<'_>) {
        let digest: [u8; 32] = Sha256::digest(end_entity).into();
        let _ = PRESENTED.try_with(|p| p.0.set(digest));
    }
}

/// Wraps the policy's verifier to note the presented leaf (see [`Presented`]).
#[derive(Debug)]
pub(super) struct NotePresented(pub(super) Arc<dyn ServerCertVerifier>);

impl ServerCertVerifier for NotePresented {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Presented::note(end_entity);
        self.0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.0.requires_raw_public_keys()
    }

    fn root_hint_subjects(&self) -> Option<&[DistinguishedName]> {
        self.0.root_hint_subjects()
    }
}

/// Policy `ignore`: any certificate chain, but handshake signatures must still verify.
#[derive(Debug)]
pub(super) struct AnyCertificate(pub(super) Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Policy `pinned-sha256`: exactly the leaf whose SHA-256 over the DER is the pin. No chain,
/// name or date check: the pin is the identity. Handshake signatures as for `ignore`.
#[derive(Debug)]
pub(super) struct PinnedVerifier {
    pub(super) pin: [u8; 32],
    pub(super) signatures: AnyCertificate,
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented: [u8; 32] = Sha256::digest(end_entity).into();
        if presented == self.pin {
            return Ok(ServerCertVerified::assertion());
        }
        let mismatch = PinMismatch {
            expected: hex(&self.pin),
            presented: hex(&presented),
        };
        Err(CertificateError::Other(OtherError(Arc::new(mismatch))).into())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.signatures.supported_verify_schemes()
    }
}

/// The error [`PinnedVerifier`] hands rustls; found again by downcasting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PinMismatch {
    pub(super) expected: String,
    pub(super) presented: String,
}

impl fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "certificate sha256 {} is not the pinned {}",
            self.presented, self.expected
        )
    }
}

impl StdError for PinMismatch {}

/// Policies `verify` and `ca-file` with an expected principal: the chain as usual, but the
/// leaf is checked against the principal's name instead of the URL host.
#[derive(Debug)]
pub(super) struct PrincipalVerifier {
    pub(super) inner: Arc<WebPkiServerVerifier>,
    pub(super) name: ServerName<'static>,
}

impl ServerCertVerifier for PrincipalVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, &self.name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// How a `ca-file` verification succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CaFileTrust {
    /// RFC 5280 §6 path validation to one of the file's certificates (webpki).
    Chain,
    /// The leaf is byte for byte one of the file's certificates: the admin trusts it as is
    /// (what `curl --cacert` does for a self-signed server certificate, even `CA:TRUE`).
    /// Its names (RFC 6125 §6) and validity period (RFC 5280 §4.1.2.5) are still checked.
    ListedLeaf,
}

/// Policy `ca-file`: webpki against the file's certificates; when that fails and the leaf
/// is itself in the file, the leaf is trusted directly (see [`CaFileTrust::ListedLeaf`]).
///
/// Not checked on the direct path: key usage and extended key usage, which webpki checks
/// on a chain; a leaf the admin put in the file is trusted for what it is.
#[derive(Debug)]
pub(super) struct CaFileVerifier {
    pub(super) webpki: Arc<WebPkiServerVerifier>,
    /// Every certificate in the file, DER.
    pub(super) listed: Vec<CertificateDer<'static>>,
    /// The expected principal's name, checked instead of the URL host.
    pub(super) principal: Option<ServerName<'static>>,
}

impl CaFileVerifier {
    /// Verifies `end_entity` for `server_name` (or the principal), saying how it was trusted.
    pub(super) fn verify(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<CaFileTrust, rustls::Error> {
        let name = self.principal.as_ref().unwrap_or(server_name);
        match self
            .webpki
            .verify_server_cert(end_entity, intermediates, name, ocsp_response, now)
        {
            Ok(_) => Ok(CaFileTrust::Chain),
            Err(_) if self.lists(end_entity) => {
                verify_listed_leaf(end_entity, name, now).map(|()| CaFileTrust::ListedLeaf)
            }
            Err(e) => Err(e),
        }
    }

    /// Whether `cert` is byte for byte one of the file's certificates.
    pub(super) fn lists(&self, cert: &CertificateDer<'_>) -> bool {
        self.listed.iter().any(|c| c.as_ref() == cert.as_ref())
    }
}

/// Name and dates of a leaf trusted as is.
fn verify_listed_leaf(
    end_entity: &CertificateDer<'_>,
    name: &ServerName<'_>,
    now: UnixTime,
) -> Result<(), rustls::Error> {
    let parsed = ParsedCertificate::try_from(end_entity)?;
    let period = validity(end_entity).ok_or(CertificateError::BadEncoding)?;
    let at =
        |secs: i64| UnixTime::since_unix_epoch(Duration::from_secs(secs.max(0).unsigned_abs()));
    let time = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    if time < period.not_before {
        return Err(CertificateError::NotValidYetContext {
            time: now,
            not_before: at(period.not_before),
        }
        .into());
    }
    if time > period.not_after {
        return Err(CertificateError::ExpiredContext {
            time: now,
            not_after: at(period.not_after),
        }
        .into());
    }
    verify_server_name(&parsed, name)
}

impl ServerCertVerifier for CaFileVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.verify(end_entity, intermediates, server_name, ocsp_response, now)
            .map(|_| ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}
