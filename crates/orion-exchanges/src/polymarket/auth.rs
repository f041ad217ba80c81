//! Polymarket authentication (protocols §7): the L1 `ClobAuth` wallet
//! signature that creates or derives API credentials, and the L2 HMAC headers
//! on every trading call.

use std::fmt;
use std::sync::LazyLock;

use base64::Engine;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use super::PolymarketError;
use super::contracts::{Chain, eip712_digest};
use super::primitives::{Address, U256, keccak256, keccak256_parts};
use super::wallet::PolymarketWallet;
use crate::secret::{SecretBytes, SecretString};

/// The fixed text a ClobAuth message attests.
pub const CLOB_AUTH_MESSAGE: &str = "This message attests that I control the given wallet";
const CLOB_AUTH_DOMAIN_TYPE: &str = "EIP712Domain(string name,string version,uint256 chainId)";
pub const CLOB_AUTH_TYPE: &str =
    "ClobAuth(address address,string timestamp,uint256 nonce,string message)";

static CLOB_AUTH_TYPEHASH: LazyLock<[u8; 32]> =
    LazyLock::new(|| keccak256(CLOB_AUTH_TYPE.as_bytes()));

/// The `ClobAuthDomain` separator (name "ClobAuthDomain", version "1", no
/// verifying contract).
pub fn clob_auth_domain_separator(chain: Chain) -> [u8; 32] {
    keccak256_parts(&[
        &keccak256(CLOB_AUTH_DOMAIN_TYPE.as_bytes()),
        &keccak256(b"ClobAuthDomain"),
        &keccak256(b"1"),
        &U256::from_u64(chain.id()).to_be_bytes(),
    ])
}

/// `hashStruct(ClobAuth)`; the timestamp is Unix seconds, signed as a string.
pub fn clob_auth_struct_hash(address: Address, timestamp_secs: u64, nonce: u64) -> [u8; 32] {
    keccak256_parts(&[
        CLOB_AUTH_TYPEHASH.as_slice(),
        &address.to_word(),
        &keccak256(timestamp_secs.to_string().as_bytes()),
        &U256::from_u64(nonce).to_be_bytes(),
        &keccak256(CLOB_AUTH_MESSAGE.as_bytes()),
    ])
}

/// The EIP-712 digest the wallet signs for L1.
pub fn clob_auth_digest(
    chain: Chain,
    address: Address,
    timestamp_secs: u64,
    nonce: u64,
) -> [u8; 32] {
    eip712_digest(
        &clob_auth_domain_separator(chain),
        &clob_auth_struct_hash(address, timestamp_secs, nonce),
    )
}

/// The L1 headers of `POST /auth/api-key` and `GET /auth/derive-api-key`.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct L1Headers {
    #[serde(rename = "POLY_ADDRESS")]
    pub address: String,
    #[serde(rename = "POLY_SIGNATURE")]
    pub signature: String,
    #[serde(rename = "POLY_TIMESTAMP")]
    pub timestamp: String,
    #[serde(rename = "POLY_NONCE")]
    pub nonce: String,
}

impl L1Headers {
    /// Header name and value pairs, in the order the official clients send them.
    pub fn pairs(&self) -> [(&'static str, &str); 4] {
        [
            ("POLY_ADDRESS", &self.address),
            ("POLY_SIGNATURE", &self.signature),
            ("POLY_TIMESTAMP", &self.timestamp),
            ("POLY_NONCE", &self.nonce),
        ]
    }
}

impl fmt::Debug for L1Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("L1Headers")
            .field("address", &self.address)
            .field("signature", &"***")
            .field("timestamp", &self.timestamp)
            .field("nonce", &self.nonce)
            .finish()
    }
}

/// Signs a ClobAuth message with the wallet and returns the L1 headers.
pub fn l1_headers(
    wallet: &PolymarketWallet,
    chain: Chain,
    timestamp_secs: u64,
    nonce: u64,
) -> Result<L1Headers, PolymarketError> {
    let address = wallet.address();
    let digest = clob_auth_digest(chain, address, timestamp_secs, nonce);
    let signature = wallet.sign_digest(&digest)?;
    Ok(L1Headers {
        address: address.to_checksum(),
        signature: format!("0x{}", hex::encode(signature)),
        timestamp: timestamp_secs.to_string(),
        nonce: nonce.to_string(),
    })
}

/// URL-safe base64 that accepts the secret with or without `=` padding (the
/// venue hands it out padded; a copy-paste may lose the padding).
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// L2 API credentials, as `create`/`derive-api-key` return them. The secret
/// is kept decoded; `Debug` masks both the secret and the passphrase.
#[derive(Clone)]
pub struct ApiCredentials {
    api_key: String,
    secret: SecretBytes,
    passphrase: SecretString,
}

impl ApiCredentials {
    /// `secret` is the base64url text the venue returned.
    pub fn new(
        api_key: impl Into<String>,
        secret: &str,
        passphrase: impl Into<String>,
    ) -> Result<ApiCredentials, PolymarketError> {
        let api_key = api_key.into();
        if api_key.is_empty() {
            return Err(PolymarketError::invalid("api key", "empty"));
        }
        Ok(ApiCredentials {
            api_key,
            secret: decode_secret(secret)?,
            passphrase: SecretString::new(passphrase),
        })
    }

    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    pub fn passphrase(&self) -> &SecretString {
        &self.passphrase
    }

    pub fn secret(&self) -> &SecretBytes {
        &self.secret
    }
}

impl fmt::Debug for ApiCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiCredentials")
            .field("api_key", &self.api_key)
            .field("secret", &self.secret)
            .field("passphrase", &self.passphrase)
            .finish()
    }
}

/// Decodes a base64url API secret into the HMAC key.
pub fn decode_secret(secret: &str) -> Result<SecretBytes, PolymarketError> {
    let bytes = URL_SAFE_LENIENT
        .decode(secret.trim())
        .map_err(|_| PolymarketError::invalid("api secret", "not URL-safe base64"))?;
    if bytes.is_empty() {
        return Err(PolymarketError::invalid("api secret", "empty"));
    }
    Ok(SecretBytes::new(bytes))
}

/// `base64url(HMAC-SHA256(key, timestamp + method + path + body))`, padded.
///
/// `method` is used verbatim (callers pass the upper-case HTTP method; the
/// official test vectors also sign a made-up `test-sign`), `path` has no
/// query string, and `body` is the exact bytes sent, if any. The official
/// PY/RS clients swap `'` for `"` before signing; a body with `'` would
/// therefore sign differently per client, so it is refused.
pub fn hmac_signature(
    key: &SecretBytes,
    timestamp: &str,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
) -> Result<String, PolymarketError> {
    if method.is_empty() {
        return Err(PolymarketError::invalid("method", "empty"));
    }
    if !path.starts_with('/') {
        return Err(PolymarketError::invalid("path", "must start with '/'"));
    }
    if path.contains('?') {
        return Err(PolymarketError::invalid(
            "path",
            "the signed path has no query string",
        ));
    }
    if body.is_some_and(|b| b.contains(&b'\'')) {
        return Err(PolymarketError::invalid(
            "body",
            "contains a single quote, which the official clients rewrite before signing",
        ));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(key.expose())
        .map_err(|_| PolymarketError::invalid("api secret", "unusable as an HMAC key"))?;
    mac.update(timestamp.as_bytes());
    mac.update(method.as_bytes());
    mac.update(path.as_bytes());
    if let Some(body) = body {
        mac.update(body);
    }
    Ok(base64::engine::general_purpose::URL_SAFE.encode(mac.finalize().into_bytes()))
}

/// The five L2 headers of a trading call.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct L2Headers {
    #[serde(rename = "POLY_ADDRESS")]
    pub address: String,
    #[serde(rename = "POLY_SIGNATURE")]
    pub signature: String,
    #[serde(rename = "POLY_TIMESTAMP")]
    pub timestamp: String,
    #[serde(rename = "POLY_API_KEY")]
    pub api_key: String,
    #[serde(rename = "POLY_PASSPHRASE")]
    pub passphrase: String,
}

impl L2Headers {
    pub fn pairs(&self) -> [(&'static str, &str); 5] {
        [
            ("POLY_ADDRESS", &self.address),
            ("POLY_SIGNATURE", &self.signature),
            ("POLY_TIMESTAMP", &self.timestamp),
            ("POLY_API_KEY", &self.api_key),
            ("POLY_PASSPHRASE", &self.passphrase),
        ]
    }
}

impl fmt::Debug for L2Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("L2Headers")
            .field("address", &self.address)
            .field("signature", &"***")
            .field("timestamp", &self.timestamp)
            .field("api_key", &self.api_key)
            .field("passphrase", &"***")
            .finish()
    }
}

/// L2 headers for one request. `address` is the signing EOA (sent EIP-55
/// checksummed); the API key must belong to it.
pub fn l2_headers(
    credentials: &ApiCredentials,
    address: Address,
    timestamp_secs: u64,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
) -> Result<L2Headers, PolymarketError> {
    let timestamp = timestamp_secs.to_string();
    let signature = hmac_signature(&credentials.secret, &timestamp, method, path, body)?;
    Ok(L2Headers {
        address: address.to_checksum(),
        signature,
        timestamp,
        api_key: credentials.api_key.clone(),
        passphrase: credentials.passphrase.expose().to_owned(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn official_hmac_example() {
        let key = decode_secret("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap();
        let sig = hmac_signature(
            &key,
            "1000000",
            "test-sign",
            "/orders",
            Some(br#"{"hash": "0x123"}"#),
        )
        .unwrap();
        assert_eq!(sig, "ZwAdJKvoYRlEKDkNMwd5BuwNNtg93kNaR_oU2HrfVvc=");
        // Unpadded secret decodes to the same key.
        let key2 = decode_secret("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
        assert_eq!(key2.expose(), key.expose());
    }

    #[test]
    fn refuses_bad_inputs() {
        assert!(decode_secret("not base64 !").is_err());
        assert!(decode_secret("").is_err());
        let key = decode_secret("AAAA").unwrap();
        assert!(hmac_signature(&key, "1", "GET", "orders", None).is_err());
        assert!(hmac_signature(&key, "1", "GET", "/orders?x=1", None).is_err());
        assert!(hmac_signature(&key, "1", "POST", "/order", Some(b"{'a':1}")).is_err());
        assert!(ApiCredentials::new("", "AAAA", "p").is_err());
    }

    #[test]
    fn debug_masks_credentials() {
        let c = ApiCredentials::new("key-id", "c2VjcmV0LXNlY3JldA==", "pass-phrase").unwrap();
        let shown = format!("{c:?}");
        assert!(shown.contains("key-id"));
        assert!(
            !shown.contains("pass-phrase") && !shown.contains("c2VjcmV0"),
            "{shown}"
        );
        let h = l2_headers(&c, Address::ZERO, 1, "GET", "/", None).unwrap();
        let shown = format!("{h:?}");
        assert!(
            !shown.contains("pass-phrase") && !shown.contains(&h.signature),
            "{shown}"
        );
    }
}
