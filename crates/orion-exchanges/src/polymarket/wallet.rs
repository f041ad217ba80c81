//! The signing EOA: a secp256k1 private key, its address, and recoverable
//! RFC 6979 signatures in Ethereum's `r ‖ s ‖ v` form.

use std::fmt;

use k256::ecdsa::SigningKey;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use super::PolymarketError;
use super::order::MAX_SALT;
use super::primitives::{Address, keccak256};

/// A Polymarket signing key. `Debug` shows only the address; the key is
/// zeroized on drop (k256's `SigningKey` wipes its scalar).
#[derive(Clone)]
pub struct PolymarketWallet {
    key: SigningKey,
    address: Address,
}

impl PolymarketWallet {
    /// From a hex private key (64 digits, optional `0x`, surrounding
    /// whitespace such as a file's trailing newline ignored).
    pub fn from_hex(text: &str) -> Result<PolymarketWallet, PolymarketError> {
        let trimmed = text.trim();
        let hex_part = trimmed
            .strip_prefix("0x")
            .or_else(|| trimmed.strip_prefix("0X"))
            .unwrap_or(trimmed);
        if hex_part.len() != 64 {
            // Never echo any of the key text in the error.
            return Err(PolymarketError::invalid(
                "private key",
                "expected 64 hex digits (32 bytes), optionally prefixed by 0x",
            ));
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(hex_part, bytes.as_mut_slice())
            .map_err(|_| PolymarketError::invalid("private key", "not hexadecimal"))?;
        let key = SigningKey::from_slice(bytes.as_slice()).map_err(|_| {
            PolymarketError::invalid("private key", "not a valid secp256k1 scalar (zero or >= n)")
        })?;
        Ok(PolymarketWallet::from_signing_key(key))
    }

    pub fn from_signing_key(key: SigningKey) -> PolymarketWallet {
        let point = key.verifying_key().to_encoded_point(false);
        // Uncompressed SEC1 is 0x04 ‖ X ‖ Y; the address is the last 20 bytes
        // of keccak256(X ‖ Y).
        let hash = keccak256(&point.as_bytes()[1..]);
        let mut address = [0u8; 20];
        address.copy_from_slice(&hash[12..]);
        PolymarketWallet {
            key,
            address: Address::from_bytes(address),
        }
    }

    /// The EOA's address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// Signs a 32-byte digest: RFC 6979 deterministic, low-s, and returned as
    /// 65 bytes `r ‖ s ‖ v` with `v` = 27 or 28 as Ethereum expects.
    pub fn sign_digest(&self, digest: &[u8; 32]) -> Result<[u8; 65], PolymarketError> {
        let (signature, recovery) = self
            .key
            .sign_prehash_recoverable(digest)
            .map_err(|e| PolymarketError::Signing(e.to_string()))?;
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&signature.to_bytes());
        out[64] = 27 + recovery.to_byte();
        Ok(out)
    }
}

impl fmt::Debug for PolymarketWallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolymarketWallet")
            .field("address", &self.address)
            .field("key", &"***")
            .finish()
    }
}

/// A random order salt in `0..=2^53-1`: the server reads `salt` as a JSON
/// number, so it must survive a round trip through an IEEE double.
pub fn random_salt() -> Result<u64, PolymarketError> {
    let mut bytes = [0u8; 8];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| PolymarketError::Signing("the system random generator failed".into()))?;
    Ok(u64::from_be_bytes(bytes) & MAX_SALT)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const HARDHAT_0: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    #[test]
    fn derives_the_hardhat_address() {
        let w = PolymarketWallet::from_hex(HARDHAT_0).unwrap();
        assert_eq!(
            w.address().to_string(),
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        );
        let w2 = PolymarketWallet::from_hex(&format!("{}\n", &HARDHAT_0[2..])).unwrap();
        assert_eq!(w2.address(), w.address());
    }

    #[test]
    fn debug_hides_the_key() {
        let w = PolymarketWallet::from_hex(HARDHAT_0).unwrap();
        let shown = format!("{w:?}");
        assert!(shown.contains("***"), "{shown}");
        assert!(!shown.to_lowercase().contains("ac0974bec"), "{shown}");
    }

    #[test]
    fn rejects_bad_keys_without_echoing_them() {
        for bad in [
            "",
            "0x12",
            &"0".repeat(64),
            &"g".repeat(64),
            &"f".repeat(64),
        ] {
            let err = PolymarketWallet::from_hex(bad).unwrap_err().to_string();
            assert!(err.contains("private key"), "{err}");
            assert!(!err.contains("gggg") && !err.contains("ffff"), "{err}");
        }
    }

    #[test]
    fn salts_fit_a_json_number() {
        for _ in 0..32 {
            assert!(random_salt().unwrap() <= MAX_SALT);
        }
    }
    proptest::proptest! {
        #[test]
        fn key_parsing_never_panics(text in "\\PC{0,80}") {
            let _ = PolymarketWallet::from_hex(&text);
        }
    }
}
