//! TLS for every outbound connection: rustls with the ring provider, the
//! webpki root store, and optional certificate pinning by SPKI SHA-256.
//!
//! Pinning is a second check on top of the normal chain validation, never a
//! replacement: the chain must verify against the roots *and* some
//! certificate in it must carry a pinned public key. Pinning the key (SPKI)
//! rather than the certificate survives the venue's routine re-issuance.

use std::fmt;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};

/// A SHA-256 of a certificate's DER SubjectPublicKeyInfo.
pub type SpkiPin = [u8; 32];

/// Parses a pin written as 64 hex digits or standard base64 (the forms
/// `openssl ... | openssl dgst -sha256` and HPKP tooling print).
pub fn parse_pin(text: &str) -> Result<SpkiPin, String> {
    use base64::Engine;
    let t = text.trim();
    let mut pin = [0u8; 32];
    if t.len() == 64 && hex::decode_to_slice(t, &mut pin).is_ok() {
        return Ok(pin);
    }
    match base64::engine::general_purpose::STANDARD.decode(t) {
        Ok(bytes) if bytes.len() == 32 => {
            pin.copy_from_slice(&bytes);
            Ok(pin)
        }
        _ => Err("an SPKI pin is 32 bytes as 64 hex digits or base64".into()),
    }
}

/// The SPKI SHA-256 of a DER certificate.
pub fn spki_sha256(cert: &CertificateDer<'_>) -> Result<SpkiPin, rustls::Error> {
    let parsed = ParsedCertificate::try_from(cert)?;
    Ok(Sha256::digest(parsed.subject_public_key_info().as_ref()).into())
}

/// The ring provider: the only one Orion builds (no aws-lc, no OpenSSL).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn roots() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// Chain validation by webpki, then the pin check.
pub struct PinnedVerifier {
    inner: Arc<WebPkiServerVerifier>,
    pins: Vec<SpkiPin>,
}

impl fmt::Debug for PinnedVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinnedVerifier")
            .field("pins", &self.pins.len())
            .finish()
    }
}

impl PinnedVerifier {
    pub fn new(
        roots: RootCertStore,
        provider: Arc<CryptoProvider>,
        pins: Vec<SpkiPin>,
    ) -> Result<PinnedVerifier, String> {
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| format!("building the certificate verifier: {e}"))?;
        Ok(PinnedVerifier { inner, pins })
    }

    fn pinned(&self, cert: &CertificateDer<'_>) -> bool {
        spki_sha256(cert).is_ok_and(|h| self.pins.contains(&h))
    }
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        if self.pinned(end_entity) || intermediates.iter().any(|c| self.pinned(c)) {
            Ok(verified)
        } else {
            Err(rustls::Error::General(
                "no certificate in the chain matches a pinned SPKI hash".into(),
            ))
        }
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

/// A client config: webpki roots, pinned when `pins` is non-empty, with
/// ALPN for HTTP/2 when `http2` (HTTP/1.1 always offered).
pub fn client_config(pins: &[SpkiPin], alpn: &[&[u8]]) -> Result<ClientConfig, String> {
    client_config_with_roots(roots(), pins, alpn)
}

/// [`client_config`] with another root store (tests, private CAs).
pub fn client_config_with_roots(
    roots: RootCertStore,
    pins: &[SpkiPin],
    alpn: &[&[u8]],
) -> Result<ClientConfig, String> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS protocol versions: {e}"))?;
    let mut config = if pins.is_empty() {
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        let verifier = PinnedVerifier::new(roots, provider, pins.to_vec())?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth()
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(config)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_from_hex_and_base64() {
        let hex_pin = "00".repeat(31) + "ff";
        assert_eq!(parse_pin(&hex_pin).unwrap()[31], 0xff);
        let b64 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAP8=";
        assert_eq!(parse_pin(b64).unwrap()[31], 0xff);
        assert!(parse_pin("abc").is_err());
        assert!(parse_pin(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn configs_build_with_and_without_pins() {
        assert!(client_config(&[], &[b"h2", b"http/1.1"]).is_ok());
        let c = client_config(&[[7u8; 32]], &[b"http/1.1"]).unwrap();
        assert_eq!(c.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    use rustls::pki_types::PrivateKeyDer;
    use rustls::pki_types::pem::PemObject;

    fn fixture(name: &str) -> std::path::PathBuf {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name)
    }

    /// A TLS server on loopback with the test leaf (signed by the test CA);
    /// returns its port. Accepts connections until the test ends.
    async fn server() -> u16 {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(fixture("tls_test_leaf.pem"))
                .unwrap()
                .map(Result::unwrap)
                .collect();
        let key = PrivateKeyDer::from_pem_file(fixture("tls_test_leaf_key.pem")).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let _ = acceptor.accept(tcp).await;
                });
            }
        });
        port
    }

    async fn handshake(port: u16, config: ClientConfig) -> Result<(), String> {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn test_roots() -> RootCertStore {
        let mut roots = RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(fixture("tls_test_ca.pem")).unwrap() {
            roots.add(c.unwrap()).unwrap();
        }
        roots
    }

    #[tokio::test]
    async fn pinning_over_a_real_handshake() {
        let port = server().await;
        let leaf = CertificateDer::pem_file_iter(fixture("tls_test_leaf.pem"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let pin = spki_sha256(&leaf).unwrap();
        // Same value as `openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256`.
        assert_eq!(
            hex::encode(pin),
            "269721fd2ec689222afef018068b5751a465aeada1df2a3ef70bd8abaf3f512f"
        );
        // Chain only; chain plus the right pin: accepted.
        handshake(
            port,
            client_config_with_roots(test_roots(), &[], &[]).unwrap(),
        )
        .await
        .unwrap();
        handshake(
            port,
            client_config_with_roots(test_roots(), &[[0u8; 32], pin], &[]).unwrap(),
        )
        .await
        .unwrap();
        // A valid chain with the wrong pin: refused.
        let e = handshake(
            port,
            client_config_with_roots(test_roots(), &[[9u8; 32]], &[]).unwrap(),
        )
        .await
        .unwrap_err();
        assert!(e.contains("pinned"), "{e}");
        // The right pin never rescues an untrusted chain (webpki roots only).
        assert!(
            handshake(port, client_config(&[pin], &[]).unwrap())
                .await
                .is_err()
        );
        assert!(
            handshake(port, client_config(&[], &[]).unwrap())
                .await
                .is_err()
        );
    }

    #[test]
    fn garbage_certificate_has_no_spki() {
        assert!(spki_sha256(&CertificateDer::from(vec![1u8, 2, 3])).is_err());
    }
}
