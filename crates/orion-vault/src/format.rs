//! The on-disk format, version 1 (see `docs/adr/0002-vault-format.md`).
//!
//! ```text
//! offset size  field
//!      0    8  magic "ORIONVLT"
//!      8    2  format version (u16, big endian) = 1
//!     10    1  KDF id: 1 = argon2id v1.3
//!     11    1  AEAD id: 1 = XChaCha20-Poly1305
//!     12    4  argon2 memory in KiB (u32 BE)
//!     16    4  argon2 iterations (u32 BE)
//!     20    4  argon2 parallelism (u32 BE)
//!     24   32  salt (random per installation; renewed on password rotation)
//!     56   24  nonce (random, fresh on every write)
//!     80    8  ciphertext length in bytes, tag included (u64 BE)
//!     88   32  header checksum: SHA-256 of bytes 0..88
//!    120   32  key check: HMAC-SHA256(check key, bytes 0..120)
//!    152    n  ciphertext || 16-byte Poly1305 tag, associated data = bytes 0..152
//! ```
//!
//! The unkeyed checksum lets a damaged header be reported as damage before
//! any key is derived; the keyed check then separates "wrong password" from
//! "contents modified", which the AEAD tag alone cannot do.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub const MAGIC: [u8; 8] = *b"ORIONVLT";
pub const FORMAT_VERSION: u16 = 1;
pub const KDF_ARGON2ID_V13: u8 = 1;
pub const AEAD_XCHACHA20POLY1305: u8 = 1;

pub const SALT_LEN: usize = 32;
pub const NONCE_LEN: usize = 24;
pub const TAG_LEN: usize = 16;
pub const CHECKSUM_LEN: usize = 32;
pub const KEY_CHECK_LEN: usize = 32;

pub(crate) const OFF_VERSION: usize = 8;
pub(crate) const OFF_KDF: usize = 10;
pub(crate) const OFF_AEAD: usize = 11;
pub(crate) const OFF_MEMORY: usize = 12;
pub(crate) const OFF_ITERATIONS: usize = 16;
pub(crate) const OFF_PARALLELISM: usize = 20;
pub(crate) const OFF_SALT: usize = 24;
pub(crate) const OFF_NONCE: usize = OFF_SALT + SALT_LEN;
pub(crate) const OFF_CT_LEN: usize = OFF_NONCE + NONCE_LEN;
pub(crate) const OFF_CHECKSUM: usize = OFF_CT_LEN + 8;
pub(crate) const OFF_KEY_CHECK: usize = OFF_CHECKSUM + CHECKSUM_LEN;
/// Length of the whole version-1 header, which is also the associated data.
pub const HEADER_LEN: usize = OFF_KEY_CHECK + KEY_CHECK_LEN;

/// Argon2id cost parameters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl KdfParams {
    /// The floor enforced when opening and creating a vault: OWASP's argon2id
    /// baseline (19 MiB, 2 passes, 1 lane).
    pub const MINIMUM: KdfParams = KdfParams {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
    };

    /// Ceilings: the header is not secret, so a modified file must not be able
    /// to make opening allocate or compute without bound.
    pub const MAX_MEMORY_KIB: u32 = 2 * 1024 * 1024;
    pub const MAX_ITERATIONS: u32 = 32;
    pub const MAX_PARALLELISM: u32 = 16;

    /// Parameters at or above [`KdfParams::MINIMUM`], or an error saying which
    /// bound was crossed.
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> crate::Result<Self> {
        let params = Self {
            memory_kib,
            iterations,
            parallelism,
        };
        params.check_ceiling()?;
        if !params.meets_minimum() {
            return Err(crate::VaultError::InvalidKdfParams {
                params,
                reason: "below the minimum",
            });
        }
        Ok(params)
    }

    /// Cheap parameters for tests only. A vault written with them opens only
    /// through [`crate::OpenPolicy::allow_insecure_kdf`].
    pub fn insecure_for_tests() -> Self {
        Self {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        }
    }

    pub fn meets_minimum(&self) -> bool {
        self.memory_kib >= Self::MINIMUM.memory_kib
            && self.iterations >= Self::MINIMUM.iterations
            && self.parallelism >= Self::MINIMUM.parallelism
    }

    pub(crate) fn check_ceiling(&self) -> crate::Result<()> {
        let reason = if self.memory_kib > Self::MAX_MEMORY_KIB {
            "memory above the maximum"
        } else if self.iterations > Self::MAX_ITERATIONS {
            "iterations above the maximum"
        } else if self.parallelism > Self::MAX_PARALLELISM {
            "parallelism above the maximum"
        } else if self.iterations == 0 || self.parallelism == 0 {
            "iterations and parallelism must be at least 1"
        } else if u64::from(self.memory_kib) < 8 * u64::from(self.parallelism) {
            "argon2 needs at least 8 KiB of memory per lane"
        } else {
            return Ok(());
        };
        Err(crate::VaultError::InvalidKdfParams {
            params: *self,
            reason,
        })
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::MINIMUM
    }
}

impl fmt::Debug for KdfParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for KdfParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "argon2id m={} KiB, t={}, p={}",
            self.memory_kib, self.iterations, self.parallelism
        )
    }
}

/// A parsed version-1 header. Holds no secret: salt and nonce are public.
#[derive(Debug, Clone, PartialEq, Eq)]
#[doc(hidden)] // public for the fuzz target only
pub struct Header {
    pub params: KdfParams,
    pub salt: [u8; SALT_LEN],
    pub nonce: [u8; NONCE_LEN],
    pub ciphertext_len: u64,
    pub key_check: [u8; KEY_CHECK_LEN],
}

/// Why a header could not be parsed; the caller adds the path.
#[derive(Debug, PartialEq, Eq)]
#[doc(hidden)] // public for the fuzz target only
pub enum HeaderProblem {
    TooShort,
    BadMagic,
    Corrupted,
    UnsupportedVersion(u16),
    UnsupportedKdf(u8),
    UnsupportedAead(u8),
}

pub(crate) fn checksum(prefix: &[u8]) -> [u8; CHECKSUM_LEN] {
    Sha256::digest(prefix).into()
}

pub(crate) fn key_check(check_key: &[u8], prefix: &[u8]) -> [u8; KEY_CHECK_LEN] {
    // HMAC accepts keys of any length, so this cannot fail; falling back to an
    // all-zero value would only make every open report a wrong password.
    match <Hmac<Sha256> as Mac>::new_from_slice(check_key) {
        Ok(mut mac) => {
            mac.update(prefix);
            mac.finalize().into_bytes().into()
        }
        Err(_) => [0; KEY_CHECK_LEN],
    }
}

pub(crate) fn verify_key_check(check_key: &[u8], prefix: &[u8], expected: &[u8]) -> bool {
    match <Hmac<Sha256> as Mac>::new_from_slice(check_key) {
        Ok(mut mac) => {
            mac.update(prefix);
            // Constant-time comparison.
            mac.verify_slice(expected).is_ok()
        }
        Err(_) => false,
    }
}

fn u16_at(b: &[u8], off: usize) -> u16 {
    let mut a = [0; 2];
    a.copy_from_slice(&b[off..off + 2]);
    u16::from_be_bytes(a)
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut a = [0; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_be_bytes(a)
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut a = [0; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_be_bytes(a)
}

impl Header {
    /// Bytes 0..OFF_KEY_CHECK: everything the key check covers. The caller
    /// appends the key check to complete the header.
    pub fn prefix_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
        out.push(KDF_ARGON2ID_V13);
        out.push(AEAD_XCHACHA20POLY1305);
        out.extend_from_slice(&self.params.memory_kib.to_be_bytes());
        out.extend_from_slice(&self.params.iterations.to_be_bytes());
        out.extend_from_slice(&self.params.parallelism.to_be_bytes());
        out.extend_from_slice(&self.salt);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.ciphertext_len.to_be_bytes());
        let sum = checksum(&out);
        out.extend_from_slice(&sum);
        debug_assert_eq!(out.len(), OFF_KEY_CHECK);
        out
    }

    /// Parses and checks the header at the start of `file`. Checks run in an
    /// order that makes every single damaged byte land on a specific error:
    /// magic, then checksum (so a damaged version field reads as damage, not
    /// as a newer format), then version and algorithm ids.
    pub fn parse(file: &[u8]) -> Result<Header, HeaderProblem> {
        if file.len() < MAGIC.len() || file[..MAGIC.len()] != MAGIC {
            return Err(if file.len() < MAGIC.len() {
                HeaderProblem::TooShort
            } else {
                HeaderProblem::BadMagic
            });
        }
        if file.len() < HEADER_LEN {
            return Err(HeaderProblem::TooShort);
        }
        let checksum_ok = checksum(&file[..OFF_CHECKSUM])[..] == file[OFF_CHECKSUM..OFF_KEY_CHECK];
        let version = u16_at(file, OFF_VERSION);
        if !checksum_ok {
            return Err(HeaderProblem::Corrupted);
        }
        if version != FORMAT_VERSION {
            // Only reached when the version-1 checksum happens to hold, which
            // a future format need not arrange: a newer file with a different
            // layout usually reports as Corrupted. Documented in the ADR.
            return Err(HeaderProblem::UnsupportedVersion(version));
        }
        if file[OFF_KDF] != KDF_ARGON2ID_V13 {
            return Err(HeaderProblem::UnsupportedKdf(file[OFF_KDF]));
        }
        if file[OFF_AEAD] != AEAD_XCHACHA20POLY1305 {
            return Err(HeaderProblem::UnsupportedAead(file[OFF_AEAD]));
        }
        let mut salt = [0; SALT_LEN];
        salt.copy_from_slice(&file[OFF_SALT..OFF_SALT + SALT_LEN]);
        let mut nonce = [0; NONCE_LEN];
        nonce.copy_from_slice(&file[OFF_NONCE..OFF_NONCE + NONCE_LEN]);
        let mut key_check = [0; KEY_CHECK_LEN];
        key_check.copy_from_slice(&file[OFF_KEY_CHECK..HEADER_LEN]);
        Ok(Header {
            params: KdfParams {
                memory_kib: u32_at(file, OFF_MEMORY),
                iterations: u32_at(file, OFF_ITERATIONS),
                parallelism: u32_at(file, OFF_PARALLELISM),
            },
            salt,
            nonce,
            ciphertext_len: u64_at(file, OFF_CT_LEN),
            key_check,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header {
            params: KdfParams::MINIMUM,
            salt: [7; SALT_LEN],
            nonce: [9; NONCE_LEN],
            ciphertext_len: 1234,
            key_check: [3; KEY_CHECK_LEN],
        }
    }

    fn encode(h: &Header) -> Vec<u8> {
        let mut b = h.prefix_bytes();
        b.extend_from_slice(&h.key_check);
        b
    }

    #[test]
    fn header_round_trips() {
        let h = sample();
        let bytes = encode(&h);
        assert_eq!(bytes.len(), HEADER_LEN);
        assert_eq!(Header::parse(&bytes), Ok(h));
    }

    #[test]
    fn every_header_byte_before_key_check_is_covered() {
        let bytes = encode(&sample());
        for i in 0..OFF_KEY_CHECK {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                let got = Header::parse(&b);
                let expected = if i < MAGIC.len() {
                    HeaderProblem::BadMagic
                } else {
                    HeaderProblem::Corrupted
                };
                assert_eq!(got, Err(expected), "byte {i} bit {bit}");
            }
        }
    }

    #[test]
    fn newer_version_with_valid_checksum_is_reported_as_such() {
        let mut b = encode(&sample());
        b[OFF_VERSION..OFF_VERSION + 2].copy_from_slice(&2u16.to_be_bytes());
        let sum = checksum(&b[..OFF_CHECKSUM]);
        b[OFF_CHECKSUM..OFF_KEY_CHECK].copy_from_slice(&sum);
        assert_eq!(Header::parse(&b), Err(HeaderProblem::UnsupportedVersion(2)));
    }

    #[test]
    fn short_inputs_are_rejected() {
        let bytes = encode(&sample());
        for len in 0..HEADER_LEN {
            let got = Header::parse(&bytes[..len]);
            assert_eq!(got, Err(HeaderProblem::TooShort), "len {len}");
        }
        assert_eq!(
            Header::parse(b"not a vault at all, just some text"),
            Err(HeaderProblem::BadMagic)
        );
    }

    #[test]
    fn params_bounds() {
        assert!(KdfParams::new(19_456, 2, 1).is_ok());
        assert!(KdfParams::new(65_536, 3, 4).is_ok());
        assert!(KdfParams::new(19_455, 2, 1).is_err());
        assert!(KdfParams::new(19_456, 1, 1).is_err());
        assert!(KdfParams::new(19_456, 2, 0).is_err());
        assert!(KdfParams::new(KdfParams::MAX_MEMORY_KIB + 1, 2, 1).is_err());
        assert!(KdfParams::new(19_456, 33, 1).is_err());
        assert!(KdfParams::new(19_456, 2, 17).is_err());
        assert!(!KdfParams::insecure_for_tests().meets_minimum());
        assert!(KdfParams::insecure_for_tests().check_ceiling().is_ok());
    }
}
