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
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS protocol versions: {e}"))?;
    let mut config = if pins.is_empty() {
        builder
            .with_root_certificates(roots())
            .with_no_client_auth()
    } else {
        let verifier = PinnedVerifier::new(roots(), provider, pins.to_vec())?;
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

    #[test]
    fn garbage_certificate_has_no_spki() {
        assert!(spki_sha256(&CertificateDer::from(vec![1u8, 2, 3])).is_err());
    }
}
