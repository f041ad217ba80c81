//! Kalshi request signing (protocols `kalshi.md` §2).
//!
//! `KALSHI-ACCESS-SIGNATURE` is the base64 RSASSA-PSS-SHA256 signature of
//! the concatenation of timestamp (ms), upper-case method and path, with
//! MGF1-SHA-256 and a 32-byte salt (ring's `RSA_PSS_SHA256` is exactly
//! that). The path starts at the host root, includes `/trade-api/v2` (or
//! `/trade-api/ws/v2`) and stops before the query string; the body is not
//! signed. PSS is randomized: the same request signs differently each time,
//! so tests verify rather than compare.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PSS_SHA256, RsaKeyPair};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use serde::Serialize;
use zeroize::Zeroizing;

/// A Kalshi signing step failed; the variant says which input is at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KalshiAuthError {
    #[error("invalid key: {0}")]
    Key(String),
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("RSA signing failed")]
    Signing,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> KalshiAuthError {
    KalshiAuthError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// The three `KALSHI-ACCESS-*` headers of one request.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct KalshiAuthHeaders {
    #[serde(rename = "KALSHI-ACCESS-KEY")]
    pub access_key: String,
    #[serde(rename = "KALSHI-ACCESS-TIMESTAMP")]
    pub timestamp: String,
    #[serde(rename = "KALSHI-ACCESS-SIGNATURE")]
    pub signature: String,
}

impl KalshiAuthHeaders {
    pub fn pairs(&self) -> [(&'static str, &str); 3] {
        [
            ("KALSHI-ACCESS-KEY", &self.access_key),
            ("KALSHI-ACCESS-TIMESTAMP", &self.timestamp),
            ("KALSHI-ACCESS-SIGNATURE", &self.signature),
        ]
    }
}

impl fmt::Debug for KalshiAuthHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Signatures are masked wherever headers may be logged.
        f.debug_struct("KalshiAuthHeaders")
            .field("access_key", &self.access_key)
            .field("timestamp", &self.timestamp)
            .field("signature", &"***")
            .finish()
    }
}

/// The path Kalshi signs: a full URL loses its scheme and host (the official
/// clients accept either), and the query string (and any fragment) is cut.
pub fn signing_path(path_or_url: &str) -> Result<&str, KalshiAuthError> {
    let path = match path_or_url.find("://") {
        Some(scheme_end) => {
            let after = &path_or_url[scheme_end + 3..];
            match after.find('/') {
                Some(slash) => &after[slash..],
                None => "/",
            }
        }
        None => path_or_url,
    };
    let end = path.find(['?', '#']).unwrap_or(path.len());
    let path = &path[..end];
    if !path.starts_with('/') {
        return Err(invalid(
            "path",
            "must start with '/' (the path from the host root)",
        ));
    }
    if path
        .chars()
        .any(|c| c.is_ascii_whitespace() || c.is_control())
    {
        return Err(invalid("path", "contains whitespace or control characters"));
    }
    Ok(path)
}

/// `timestamp + METHOD + path`: the exact text that is signed.
pub fn signed_message(
    timestamp_ms: u64,
    method: &str,
    path_or_url: &str,
) -> Result<String, KalshiAuthError> {
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(invalid(
            "method",
            "expected an HTTP method such as GET or POST",
        ));
    }
    let path = signing_path(path_or_url)?;
    Ok(format!(
        "{timestamp_ms}{}{path}",
        method.to_ascii_uppercase()
    ))
}

/// A Kalshi API key: its id and its RSA private key, parsed once.
///
/// `Debug` shows the key id only. (ring keeps the private key in its own
/// allocation and does not expose it; the PEM and DER copies we make while
/// parsing are zeroized.)
pub struct KalshiSigner {
    key_id: String,
    key_pair: RsaKeyPair,
    rng: SystemRandom,
}

impl KalshiSigner {
    /// From the key id and a PEM private key, PKCS#1 (`BEGIN RSA PRIVATE
    /// KEY`) or PKCS#8 (`BEGIN PRIVATE KEY`).
    pub fn from_pem(
        key_id: impl Into<String>,
        pem: &[u8],
    ) -> Result<KalshiSigner, KalshiAuthError> {
        let key_id = key_id.into();
        if key_id.trim().is_empty() {
            return Err(invalid("key id", "empty"));
        }
        if key_id.chars().any(|c| c.is_control()) {
            return Err(invalid("key id", "contains control characters"));
        }
        // The PEM parser's error text can quote input lines; a key file's
        // lines are secret, so only the kind of failure is reported.
        let der = Zeroizing::new(PrivateKeyDer::from_pem_slice(pem).map_err(|e| {
            KalshiAuthError::Key(match e {
                rustls_pki_types::pem::Error::NoItemsFound => {
                    "no BEGIN RSA PRIVATE KEY or BEGIN PRIVATE KEY block found".to_owned()
                }
                _ => "malformed PEM".to_owned(),
            })
        })?);
        let key_pair = match &*der {
            PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
            PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
            _ => {
                return Err(KalshiAuthError::Key(
                    "expected an RSA key in PKCS#1 or PKCS#8 PEM, found another kind".into(),
                ));
            }
        }
        .map_err(|e| KalshiAuthError::Key(format!("not a usable RSA private key ({e})")))?;
        Ok(KalshiSigner {
            key_id,
            key_pair,
            rng: SystemRandom::new(),
        })
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The PKCS#1 `RSAPublicKey` DER (what ring's verifier takes).
    pub fn public_key_der(&self) -> &[u8] {
        self.key_pair.public().as_ref()
    }

    /// RSA-PSS-SHA256 signature of raw bytes.
    pub fn sign_message(&self, message: &[u8]) -> Result<Vec<u8>, KalshiAuthError> {
        let mut signature = vec![0u8; self.key_pair.public().modulus_len()];
        self.key_pair
            .sign(&RSA_PSS_SHA256, &self.rng, message, &mut signature)
            .map_err(|_| KalshiAuthError::Signing)?;
        Ok(signature)
    }

    /// The headers for one request. `path` may carry a query string or be a
    /// full URL; only the path is signed.
    pub fn sign(
        &self,
        timestamp_ms: u64,
        method: &str,
        path: &str,
    ) -> Result<KalshiAuthHeaders, KalshiAuthError> {
        let message = signed_message(timestamp_ms, method, path)?;
        let signature = self.sign_message(message.as_bytes())?;
        Ok(KalshiAuthHeaders {
            access_key: self.key_id.clone(),
            timestamp: timestamp_ms.to_string(),
            signature: STANDARD.encode(signature),
        })
    }
}

impl fmt::Debug for KalshiSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KalshiSigner")
            .field("key_id", &self.key_id)
            .field("key", &"***")
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn messages_follow_the_documented_table() {
        let t = 1_703_123_456_789;
        let cases = [
            (
                "GET",
                "/trade-api/v2/portfolio/balance",
                "1703123456789GET/trade-api/v2/portfolio/balance",
            ),
            (
                "get",
                "/trade-api/v2/portfolio/orders?limit=5",
                "1703123456789GET/trade-api/v2/portfolio/orders",
            ),
            (
                "DELETE",
                "https://external-api.kalshi.com/trade-api/v2/portfolio/events/orders/X?market_ticker=Y",
                "1703123456789DELETE/trade-api/v2/portfolio/events/orders/X",
            ),
            (
                "GET",
                "wss://api.elections.kalshi.com/trade-api/ws/v2",
                "1703123456789GET/trade-api/ws/v2",
            ),
        ];
        for (method, path, expected) in cases {
            assert_eq!(signed_message(t, method, path).unwrap(), expected);
        }
    }

    #[test]
    fn refuses_bad_requests() {
        assert!(signed_message(1, "", "/a").is_err());
        assert!(signed_message(1, "G E T", "/a").is_err());
        assert!(signed_message(1, "GET", "trade-api/v2").is_err());
        assert!(signed_message(1, "GET", "/a b").is_err());
    }

    #[test]
    fn refuses_bad_keys() {
        assert!(KalshiSigner::from_pem("id", b"not a pem").is_err());
        let ec = b"-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n";
        assert!(KalshiSigner::from_pem("id", ec).is_err());
        let junk = b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        assert!(KalshiSigner::from_pem("id", junk).is_err());
    }
    proptest::proptest! {
        /// Hostile paths and methods are errors or messages, never panics,
        /// and a message never contains the query string.
        #[test]
        fn message_building_never_panics(method in "\\PC{0,10}", path in "\\PC{0,80}") {
            if let Ok(m) = signed_message(1, &method, &path) {
                proptest::prop_assert!(!m.contains('?'));
                proptest::prop_assert!(m.starts_with('1'));
            }
        }
    }
}
