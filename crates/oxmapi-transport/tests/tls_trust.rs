//! Certificate policies `ca-file` and `pinned-sha256` over real loopback TLS: a self-signed
//! `CA:TRUE` server certificate in `ca_file` (what `openssl req -x509` makes), CA-signed
//! leaves, several certificates in one file, pins, impostors without the key, and every way
//! a `ca_file` can be unusable.

use std::convert::Infallible;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use oxmapi_transport::*;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, date_time_ymd};
use rustls::SupportedProtocolVersion;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;

/// A certificate and its PEM, with the key that signs for it.
struct Cert {
    der: CertificateDer<'static>,
    pem: String,
    key: KeyPair,
}

impl Cert {
    fn sha256(&self) -> String {
        hex(&Sha256::digest(&self.der))
    }

    fn pin(&self) -> [u8; 32] {
        Sha256::digest(&self.der).into()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn params(cn: &str, names: &[&str]) -> CertificateParams {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut params = CertificateParams::new(names).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params
}

fn ca_true(mut params: CertificateParams) -> CertificateParams {
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
}

fn self_signed(params: &CertificateParams) -> Cert {
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    Cert {
        der: cert.der().clone(),
        pem: cert.pem(),
        key,
    }
}

/// What `openssl req -x509 -newkey ... -subj /CN=localhost -addext subjectAltName=...` makes:
/// self-signed, `basicConstraints CA:TRUE`.
fn openssl_style(names: &[&str]) -> Cert {
    self_signed(&ca_true(params("localhost", names)))
}

/// A private CA and a `CA:FALSE` leaf it signed.
fn ca_and_leaf(leaf_params: &CertificateParams) -> (Cert, Cert) {
    let ca_params = ca_true(params("Test Private CA", &[]));
    let ca = self_signed(&ca_params);
    let leaf_key = KeyPair::generate().unwrap();
    let issuer = Issuer::from_params(&ca_params, &ca.key);
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
    let leaf = Cert {
        der: leaf.der().clone(),
        pem: leaf.pem(),
        key: leaf_key,
    };
    (ca, leaf)
}

fn pem_file(parts: &[&str]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    for part in parts {
        file.write_all(part.as_bytes()).unwrap();
    }
    file
}

/// Always presents `chain`, signing the handshake with `key` (which an impostor does not
/// have: then it is some other key).
#[derive(Debug)]
struct Present(Arc<CertifiedKey>);

impl ResolvesServerCert for Present {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

const TLS13: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];
const TLS12: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];

/// A loopback HTTPS server answering every request with a minimal MAPI/HTTP success whose
/// response body is `hello`; returns its port.
async fn serve(
    chain: Vec<CertificateDer<'static>>,
    key: &KeyPair,
    versions: &[&'static SupportedProtocolVersion],
) -> u16 {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let signer = provider.key_provider.load_private_key(key_der).unwrap();
    let resolver = Present(Arc::new(CertifiedKey::new(chain, signer)));
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service_fn(answer))
                    .await;
            });
        }
    });
    port
}

async fn answer(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let request_id = req.headers().get("x-requestid").cloned();
    let mut response = Response::builder()
        .header("X-ResponseCode", "0")
        .header("Content-Type", "application/mapi-http")
        .header("Set-Cookie", "MapiContext=ctx-1; path=/mapi/; HttpOnly");
    if let Some(id) = request_id {
        response = response.header("X-RequestId", id);
    }
    let body = "PROCESSING\r\nDONE\r\nX-ElapsedTime: 1\r\nX-StartTime: now\r\n\r\nhello";
    Ok(response.body(Full::new(Bytes::from(body))).unwrap())
}

fn config(host: &str, port: u16, policy: TlsPolicy) -> TransportConfig {
    let mut config = TransportConfig::new(format!("https://{host}:{port}"));
    config.tls.policy = policy;
    config.timeouts = Timeouts {
        connect: Duration::from_secs(5),
        response_headers: Duration::from_secs(5),
        body_idle: Duration::from_secs(5),
    };
    config
}

fn ca_file(file: &tempfile::NamedTempFile) -> TlsPolicy {
    TlsPolicy::CaFile(file.path().to_owned())
}

/// One MAPI/HTTP request; the TLS facts of its connection.
async fn connect(config: TransportConfig) -> Result<TlsInfo, TransportError> {
    let client = MapiHttpClient::new(config)?;
    let mut session = client.session(Endpoint::Emsmdb, "mbx@example.test");
    let response = session.post("Execute", b"ping".to_vec()).await?;
    assert_eq!(response.body, b"hello");
    Ok(session.stats().tls.expect("a tls connection"))
}

fn failure(err: &TransportError) -> &TlsFailure {
    match err {
        TransportError::Tls { failure, .. } => failure,
        other => panic!("not a tls error: {other:?}"),
    }
}

#[tokio::test]
async fn self_signed_ca_true_leaf_in_ca_file_is_trusted_with_its_names() {
    let cert = openssl_style(&["localhost", "127.0.0.1"]);
    let port = serve(vec![cert.der.clone()], &cert.key, TLS13).await;
    let file = pem_file(&[&cert.pem]);
    for host in ["localhost", "127.0.0.1"] {
        let tls = connect(config(host, port, ca_file(&file))).await.unwrap();
        assert_eq!(tls.policy, CA_FILE_LISTED_LEAF, "{host}");
        assert_eq!(tls.policy, "ca-file (leaf in ca_file)");
        assert!(!tls.verification_skipped);
        assert_eq!(
            tls.peer_cert_sha256.as_deref(),
            Some(cert.sha256().as_str())
        );
        assert_eq!(tls.checked_name, host);
    }
}

#[tokio::test]
async fn listed_leaf_over_tls12_too() {
    let cert = openssl_style(&["localhost"]);
    let port = serve(vec![cert.der.clone()], &cert.key, TLS12).await;
    let file = pem_file(&[&cert.pem]);
    let tls = connect(config("localhost", port, ca_file(&file)))
        .await
        .unwrap();
    assert_eq!(
        (tls.version.as_str(), tls.policy),
        ("TLSv1_2", CA_FILE_LISTED_LEAF)
    );
}

#[tokio::test]
async fn listed_leaf_still_needs_the_right_name() {
    let cert = openssl_style(&["mail.test.local"]);
    let port = serve(vec![cert.der.clone()], &cert.key, TLS13).await;
    let file = pem_file(&[&cert.pem]);
    let err = connect(config("localhost", port, ca_file(&file)))
        .await
        .unwrap_err();
    assert_eq!(
        failure(&err),
        &TlsFailure::NameMismatch {
            presented_sha256: Some(cert.sha256())
        }
    );
    let text = with_hint(&err);
    assert!(
        text.contains("not valid for the name \"localhost\""),
        "{text}"
    );
    assert!(text.contains("expected_principal"), "{text}");

    // The expected principal is the name checked instead of the URL host.
    let mut by_principal = config("127.0.0.1", port, ca_file(&file));
    by_principal.tls.expected_principal = Some("msstd:mail.test.local".into());
    let tls = connect(by_principal).await.unwrap();
    assert_eq!(
        (tls.policy, tls.checked_name.as_str()),
        (CA_FILE_LISTED_LEAF, "mail.test.local")
    );
}

#[tokio::test]
async fn listed_leaf_still_needs_to_be_in_its_validity_period() {
    let mut expired = ca_true(params("localhost", &["localhost"]));
    expired.not_before = date_time_ymd(2001, 1, 1);
    expired.not_after = date_time_ymd(2002, 1, 1);
    let mut future = ca_true(params("localhost", &["localhost"]));
    future.not_before = date_time_ymd(2090, 1, 1);
    future.not_after = date_time_ymd(2099, 1, 1);
    for (params, needle) in [(expired, "expired"), (future, "not valid yet")] {
        let cert = self_signed(&params);
        let port = serve(vec![cert.der.clone()], &cert.key, TLS13).await;
        let file = pem_file(&[&cert.pem]);
        let err = connect(config("localhost", port, ca_file(&file)))
            .await
            .unwrap_err();
        assert_eq!(
            failure(&err),
            &TlsFailure::NotValidNow {
                presented_sha256: Some(cert.sha256())
            }
        );
        let text = with_hint(&err);
        assert!(text.contains(needle), "{text}");
        assert!(text.contains("validity period"), "{text}");
    }
}

#[tokio::test]
async fn any_certificate_of_a_multi_certificate_file_may_be_the_leaf() {
    let other_a = self_signed(&ca_true(params("Unrelated CA A", &[])));
    let other_b = openssl_style(&["other.example"]);
    let cert = openssl_style(&["localhost"]);
    let port = serve(vec![cert.der.clone()], &cert.key, TLS13).await;
    for order in [
        [&other_a.pem, &cert.pem, &other_b.pem],
        [&cert.pem, &other_a.pem, &other_b.pem],
        [&other_a.pem, &other_b.pem, &cert.pem],
    ] {
        let file = pem_file(&order.map(String::as_str));
        let tls = connect(config("localhost", port, ca_file(&file)))
            .await
            .unwrap();
        assert_eq!(tls.policy, CA_FILE_LISTED_LEAF);
    }
}

#[tokio::test]
async fn ca_signed_leaf_with_the_ca_in_the_file_is_a_chain_as_before() {
    let (ca, leaf) = ca_and_leaf(&params("localhost", &["localhost"]));
    let other = openssl_style(&["other.example"]);
    let port = serve(vec![leaf.der.clone(), ca.der.clone()], &leaf.key, TLS13).await;
    for file in [
        pem_file(&[&ca.pem]),
        pem_file(&[&other.pem, &ca.pem]),
        pem_file(&[&leaf.pem, &ca.pem]),
    ] {
        let tls = connect(config("localhost", port, ca_file(&file)))
            .await
            .unwrap();
        assert_eq!(tls.policy, "ca-file");
    }
    // The CA does not make other names valid.
    let err = connect(config("127.0.0.1", port, ca_file(&pem_file(&[&ca.pem]))))
        .await
        .unwrap_err();
    assert!(
        matches!(failure(&err), TlsFailure::NameMismatch { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn a_ca_true_leaf_that_is_not_listed_is_still_refused() {
    // Chains to the listed CA, but is itself a CA certificate: RFC 5280 §4.2.1.9 / webpki
    // refuse it as an end entity, and only a leaf the admin listed is trusted as is.
    let (ca, leaf) = ca_and_leaf(&ca_true(params("localhost", &["localhost"])));
    let port = serve(vec![leaf.der.clone(), ca.der.clone()], &leaf.key, TLS13).await;
    let err = connect(config("localhost", port, ca_file(&pem_file(&[&ca.pem]))))
        .await
        .unwrap_err();
    assert_eq!(
        failure(&err),
        &TlsFailure::Untrusted {
            presented_sha256: Some(leaf.sha256())
        }
    );
    let text = with_hint(&err);
    assert!(text.contains("basicConstraints CA:TRUE"), "{text}");
    assert!(text.contains(&leaf.sha256()), "{text}");
}

#[tokio::test]
async fn an_impostor_presenting_a_listed_or_pinned_leaf_without_its_key_is_refused() {
    let cert = openssl_style(&["localhost"]);
    let file = pem_file(&[&cert.pem]);
    let wrong_key = KeyPair::generate().unwrap();
    for versions in [TLS13, TLS12] {
        let port = serve(vec![cert.der.clone()], &wrong_key, versions).await;
        for policy in [ca_file(&file), TlsPolicy::PinnedSha256(cert.pin())] {
            let err = connect(config("localhost", port, policy.clone()))
                .await
                .unwrap_err();
            assert!(
                matches!(err, TransportError::Tls { .. }),
                "{policy:?}: {err:?}"
            );
            assert!(err.to_string().contains("signature"), "{policy:?}: {err}");
        }
    }
}

#[tokio::test]
async fn a_pin_accepts_exactly_its_certificate_whatever_the_name() {
    let cert = openssl_style(&["mail.test.local"]);
    for versions in [TLS13, TLS12] {
        let port = serve(vec![cert.der.clone()], &cert.key, versions).await;
        for host in ["localhost", "127.0.0.1"] {
            let tls = connect(config(host, port, TlsPolicy::PinnedSha256(cert.pin())))
                .await
                .unwrap();
            assert_eq!(tls.policy, "pinned-sha256");
            assert!(!tls.verification_skipped);
            assert_eq!(tls.peer_cert_sha256, Some(cert.sha256()));
        }
    }
}

#[tokio::test]
async fn a_wrong_pin_names_both_fingerprints_and_the_key_to_change() {
    let cert = openssl_style(&["localhost"]);
    let port = serve(vec![cert.der.clone()], &cert.key, TLS13).await;
    let pin = [0xab; 32];
    let err = connect(config("localhost", port, TlsPolicy::PinnedSha256(pin)))
        .await
        .unwrap_err();
    let expected = "ab".repeat(32);
    assert_eq!(
        failure(&err),
        &TlsFailure::PinMismatch {
            expected: expected.clone(),
            presented: cert.sha256()
        }
    );
    assert_eq!(
        failure(&err).presented_sha256(),
        Some(cert.sha256().as_str())
    );
    let TransportError::Tls { policy, .. } = &err else {
        unreachable!()
    };
    assert_eq!(*policy, "pinned-sha256");
    let text = with_hint(&err);
    assert!(text.contains(&expected), "{text}");
    assert!(
        text.contains(&format!(
            "certificate = {{ sha256 = \"{}\" }}",
            cert.sha256()
        )),
        "{text}"
    );
}

#[tokio::test]
async fn untrusted_certificate_hint_offers_the_presented_fingerprint() {
    let cert = openssl_style(&["localhost"]);
    let port = serve(vec![cert.der.clone()], &cert.key, TLS13).await;
    let err = connect(config("localhost", port, TlsPolicy::Verify))
        .await
        .unwrap_err();
    assert_eq!(
        failure(&err),
        &TlsFailure::Untrusted {
            presented_sha256: Some(cert.sha256())
        }
    );
    let text = with_hint(&err);
    for needle in [
        "certificate = { ca_file = \"/path/to/ca.pem\" }".to_owned(),
        format!("certificate = {{ sha256 = \"{}\" }}", cert.sha256()),
        "certificate = \"ignore\"".to_owned(),
    ] {
        assert!(text.contains(&needle), "{needle}\n{text}");
    }
    assert!(!text.contains("ca-file ="), "{text}");
    assert!(!text.contains("cert = "), "{text}");
}

#[tokio::test]
async fn unusable_ca_files_are_typed_errors_before_connecting() {
    let cert = openssl_style(&["localhost"]);
    let body = cert
        .pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>();
    let key_only = cert.key.serialize_pem();
    let not_a_cert = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        "AAECAwQFBgcICQ=="
    );
    let cases: Vec<(Vec<u8>, CaFileProblem, &str)> = vec![
        (b"".to_vec(), CaFileProblem::Empty, "empty"),
        (b" \n\t\n".to_vec(), CaFileProblem::Empty, "empty"),
        (
            b"hello, world\n".to_vec(),
            CaFileProblem::NoCertificates,
            "no certificates",
        ),
        (
            cert.der.to_vec(),
            CaFileProblem::NoCertificates,
            "openssl x509 -inform der",
        ),
        (
            key_only.into_bytes(),
            CaFileProblem::NoCertificates,
            "only other pem blocks",
        ),
        (
            format!("-----BEGIN CERTIFICATE-----\n{body}\n").into_bytes(),
            CaFileProblem::BadPem,
            "bad pem",
        ),
        (
            b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n".to_vec(),
            CaFileProblem::BadPem,
            "bad pem",
        ),
        (
            format!("{}{not_a_cert}", cert.pem).into_bytes(),
            CaFileProblem::BadCertificate,
            "certificate 2 of 2",
        ),
    ];
    for (content, want, needle) in cases {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), &content).unwrap();
        let err = MapiHttpClient::new(config("localhost", 443, ca_file(&file)))
            .err()
            .unwrap();
        let TransportError::CaFile { path, problem, .. } = &err else {
            panic!("{needle}: {err:?}")
        };
        assert_eq!(
            (path.as_path(), *problem),
            (file.path(), want),
            "{needle}: {err}"
        );
        let text = with_hint(&err);
        assert!(text.contains(needle), "{needle}: {text}");
        assert!(text.contains(&file.path().display().to_string()), "{text}");
    }

    let missing = std::path::Path::new("/nonexistent/oxmapi-test/ca.pem");
    let err = MapiHttpClient::new(config("localhost", 443, TlsPolicy::CaFile(missing.into())))
        .err()
        .unwrap();
    assert!(
        matches!(
            err,
            TransportError::CaFile {
                problem: CaFileProblem::Unreadable,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("/nonexistent/oxmapi-test/ca.pem"),
        "{err}"
    );
}

/// The error's message followed by its hint (the session layer shows the hint on its own line).
fn with_hint(err: &TransportError) -> String {
    match err {
        TransportError::Tls { hint, .. } => format!("{err}\nhint: {hint}"),
        other => other.to_string(),
    }
}
