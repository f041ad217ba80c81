//! The dashboard login password, stored in the vault as an argon2id PHC
//! string under [`crate::names::DASHBOARD_PASSWORD_HASH`]. Only the hash is
//! kept: the vault's own key protects it at rest, and the hash protects the
//! password if the engine's memory or the decrypted vault leaks.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::OsRng;
use chacha20poly1305::aead::rand_core::RngCore;

use crate::{KdfParams, Result, SecretString, VaultError};

/// Hashes `password` with argon2id at `params` into a PHC string
/// (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`).
pub fn hash_dashboard_password(password: &SecretString, params: KdfParams) -> Result<SecretString> {
    params.check_ceiling()?;
    let argon = argon2_for(params)?;
    let mut salt_bytes = [0u8; 16];
    OsRng.fill_bytes(&mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| VaultError::Kdf(e.to_string()))?;
    let hash = argon
        .hash_password(password.expose().as_bytes(), &salt)
        .map_err(|e| VaultError::Kdf(e.to_string()))?;
    Ok(SecretString::new(hash.to_string()))
}

/// Checks `candidate` against a stored PHC string. `Ok(false)` is a wrong
/// password; `Err` means the stored hash itself is unusable (not argon2id,
/// malformed, or weaker than [`KdfParams::MINIMUM`] unless `allow_weak`).
pub fn verify_dashboard_password(hash: &str, candidate: &[u8]) -> Result<bool> {
    verify_with(hash, candidate, false)
}

/// As [`verify_dashboard_password`], accepting weak parameters when
/// `allow_weak` is set (tests only).
pub fn verify_with(hash: &str, candidate: &[u8], allow_weak: bool) -> Result<bool> {
    let invalid = |detail: String| VaultError::InvalidPasswordHash { detail };
    let parsed = PasswordHash::new(hash).map_err(|e| invalid(e.to_string()))?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(invalid(format!(
            "algorithm is {}, not argon2id",
            parsed.algorithm
        )));
    }
    let params = Params::try_from(&parsed).map_err(|e| invalid(e.to_string()))?;
    let kdf = KdfParams {
        memory_kib: params.m_cost(),
        iterations: params.t_cost(),
        parallelism: params.p_cost(),
    };
    kdf.check_ceiling()
        .map_err(|_| invalid(format!("parameters {kdf} exceed the maximum")))?;
    if !allow_weak && !kdf.meets_minimum() {
        return Err(invalid(format!("parameters {kdf} are below the minimum")));
    }
    let argon = argon2_for(kdf)?;
    match argon.verify_password(candidate, &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(e) => Err(invalid(e.to_string())),
    }
}

fn argon2_for(params: KdfParams) -> Result<Argon2<'static>> {
    let p = Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        None,
    )
    .map_err(|e| VaultError::Kdf(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, p))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn pw(s: &str) -> SecretString {
        SecretString::new(s.to_owned())
    }

    #[test]
    fn hash_then_verify() {
        let hash = hash_dashboard_password(&pw("dashboard pass 1"), KdfParams::MINIMUM).unwrap();
        assert!(hash.expose().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(!hash.expose().contains("dashboard pass 1"));
        assert!(verify_dashboard_password(hash.expose(), b"dashboard pass 1").unwrap());
        assert!(!verify_dashboard_password(hash.expose(), b"dashboard pass 2").unwrap());
    }

    #[test]
    fn weak_and_foreign_hashes_are_refused() {
        let weak =
            hash_dashboard_password(&pw("dashboard pass 1"), KdfParams::insecure_for_tests())
                .unwrap();
        assert!(verify_dashboard_password(weak.expose(), b"dashboard pass 1").is_err());
        assert!(verify_with(weak.expose(), b"dashboard pass 1", true).unwrap());
        for bad in [
            "",
            "plaintext",
            "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        ] {
            let err = verify_dashboard_password(bad, b"x").unwrap_err();
            assert!(err.to_string().contains("dashboard set-password"), "{err}");
        }
    }
}
