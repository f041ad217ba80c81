//! The vault itself: open, read, change, save, rotate.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::rand_core::RngCore;
use chacha20poly1305::aead::{Aead, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::format::{
    HEADER_LEN, Header, HeaderProblem, KdfParams, NONCE_LEN, OFF_KEY_CHECK, SALT_LEN, TAG_LEN,
    key_check, verify_key_check,
};
use crate::names::known_secret;
use crate::password::check_new_password;
use crate::write::{FaultHook, write_atomic};
use crate::{Result, SecretBytes, SecretString, VaultError, payload};

/// Files larger than this are refused before being read: no real vault gets
/// near it, and it bounds what a wrong `--vault` path can make us load.
pub const MAX_FILE_LEN: u64 = 16 * 1024 * 1024;

/// What opening (and creating) accepts beyond the production rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenPolicy {
    allow_insecure_kdf: bool,
}

impl OpenPolicy {
    /// Production: key-derivation parameters below [`KdfParams::MINIMUM`]
    /// are refused.
    pub fn strict() -> Self {
        Self::default()
    }

    /// Tests only: accept [`KdfParams::insecure_for_tests`]-grade parameters.
    pub fn allow_insecure_kdf() -> Self {
        Self {
            allow_insecure_kdf: true,
        }
    }

    pub fn allows_insecure_kdf(&self) -> bool {
        self.allow_insecure_kdf
    }
}

/// The two keys derived from the password: one encrypts, one proves the
/// password right before decryption is attempted. Wiped on drop.
struct Keys {
    enc: Zeroizing<[u8; 32]>,
    check: Zeroizing<[u8; 32]>,
}

fn derive_keys(password: &SecretString, salt: &[u8; SALT_LEN], params: KdfParams) -> Result<Keys> {
    let p = Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        Some(64),
    )
    .map_err(|e| VaultError::Kdf(e.to_string()))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, p);
    let mut out = Zeroizing::new([0u8; 64]);
    argon
        .hash_password_into(password.expose().as_bytes(), salt, &mut out[..])
        .map_err(|e| VaultError::Kdf(e.to_string()))?;
    let mut enc = Zeroizing::new([0u8; 32]);
    let mut check = Zeroizing::new([0u8; 32]);
    enc.copy_from_slice(&out[..32]);
    check.copy_from_slice(&out[32..]);
    Ok(Keys { enc, check })
}

fn check_params(params: KdfParams, policy: &OpenPolicy) -> Result<()> {
    params.check_ceiling()?;
    if !params.meets_minimum() && !policy.allow_insecure_kdf {
        return Err(VaultError::InvalidKdfParams {
            params,
            reason: "below the minimum",
        });
    }
    Ok(())
}

/// An open vault: the decrypted secrets, and the key to write them back.
///
/// Changes ([`Vault::set`], [`Vault::remove`]) stay in memory until
/// [`Vault::save`]. `Debug` shows the path, parameters and names, never a
/// value or a key.
pub struct Vault {
    path: PathBuf,
    params: KdfParams,
    salt: [u8; SALT_LEN],
    keys: Keys,
    secrets: BTreeMap<String, SecretBytes>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("path", &self.path)
            .field("params", &self.params)
            .field("names", &self.secrets.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// Creates a new, empty vault at `path` (mode 0600). Refuses to replace an
    /// existing file.
    pub fn create(
        path: impl AsRef<Path>,
        password: &SecretString,
        params: KdfParams,
    ) -> Result<Vault> {
        Self::create_with(path, password, params, &OpenPolicy::strict())
    }

    pub fn create_with(
        path: impl AsRef<Path>,
        password: &SecretString,
        params: KdfParams,
        policy: &OpenPolicy,
    ) -> Result<Vault> {
        let path = path.as_ref().to_owned();
        check_params(params, policy)?;
        check_new_password(password)?;
        if path.exists() {
            return Err(VaultError::AlreadyExists { path });
        }
        let mut salt = [0u8; SALT_LEN];
        OsRng.fill_bytes(&mut salt);
        let keys = derive_keys(password, &salt, params)?;
        let vault = Vault {
            path,
            params,
            salt,
            keys,
            secrets: BTreeMap::new(),
        };
        let bytes = vault.seal()?;
        write_atomic(&vault.path, &bytes, true, &mut |_| Ok(())).map_err(|f| f.error)?;
        Ok(vault)
    }

    /// Opens and decrypts the vault at `path`, refusing weak parameters.
    pub fn open(path: impl AsRef<Path>, password: &SecretString) -> Result<Vault> {
        Self::open_with(path, password, &OpenPolicy::strict())
    }

    pub fn open_with(
        path: impl AsRef<Path>,
        password: &SecretString,
        policy: &OpenPolicy,
    ) -> Result<Vault> {
        let path = path.as_ref().to_owned();
        let bytes = read_private_file(&path)?;
        let header = Header::parse(&bytes).map_err(|problem| match problem {
            HeaderProblem::TooShort => VaultError::TooShort {
                path: path.clone(),
                len: bytes.len(),
                min: HEADER_LEN,
            },
            HeaderProblem::BadMagic => VaultError::BadMagic { path: path.clone() },
            HeaderProblem::Corrupted => VaultError::HeaderCorrupted { path: path.clone() },
            HeaderProblem::UnsupportedVersion(found) => VaultError::UnsupportedVersion {
                path: path.clone(),
                found,
                supported: crate::format::FORMAT_VERSION,
            },
            HeaderProblem::UnsupportedKdf(id) => VaultError::UnsupportedAlgorithm {
                path: path.clone(),
                what: "key-derivation",
                id,
            },
            HeaderProblem::UnsupportedAead(id) => VaultError::UnsupportedAlgorithm {
                path: path.clone(),
                what: "encryption",
                id,
            },
        })?;

        let found = bytes.len() as u64;
        let expected = (HEADER_LEN as u64).saturating_add(header.ciphertext_len);
        if found != expected {
            return Err(VaultError::LengthMismatch {
                path,
                expected,
                found,
            });
        }

        let params = header.params;
        params.check_ceiling()?;
        if !params.meets_minimum() && !policy.allow_insecure_kdf {
            return Err(VaultError::WeakKdfParams {
                path,
                params,
                minimum: KdfParams::MINIMUM,
            });
        }

        let keys = derive_keys(password, &header.salt, params)?;
        if !verify_key_check(&keys.check[..], &bytes[..OFF_KEY_CHECK], &header.key_check) {
            return Err(VaultError::WrongPasswordOrModified { path });
        }

        // The key is exactly 32 bytes by construction, so this cannot fail.
        let cipher =
            XChaCha20Poly1305::new_from_slice(&keys.enc[..]).map_err(|_| VaultError::Encrypt)?;
        let plaintext = cipher
            .decrypt(
                &XNonce::from(header.nonce),
                Payload {
                    msg: &bytes[HEADER_LEN..],
                    aad: &bytes[..HEADER_LEN],
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| VaultError::BodyModified { path: path.clone() })?;
        let secrets =
            payload::decode(&plaintext).map_err(|detail| VaultError::PayloadUnreadable {
                path: path.clone(),
                detail,
            })?;

        Ok(Vault {
            path,
            params,
            salt: header.salt,
            keys,
            secrets,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn params(&self) -> KdfParams {
        self.params
    }

    pub fn get(&self, name: &str) -> Option<&SecretBytes> {
        self.secrets.get(name)
    }

    /// The secret `name`, or an error naming it and the command that sets it.
    /// Meant for the engine's start-up checks.
    pub fn require(&self, name: &str) -> Result<&SecretBytes> {
        self.secrets
            .get(name)
            .ok_or_else(|| VaultError::MissingSecret {
                name: name.to_owned(),
                description: known_secret(name).map_or("a custom secret", |k| k.description),
                path: self.path.clone(),
            })
    }

    /// Checks that every name in `needed` is present, reporting all missing
    /// ones at once so an operator fixes them in one go rather than one
    /// start-up at a time.
    pub fn require_all<'a>(&self, needed: impl IntoIterator<Item = &'a str>) -> Result<()> {
        let missing: Vec<String> = needed
            .into_iter()
            .filter(|n| !self.secrets.contains_key(*n))
            .map(str::to_owned)
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(VaultError::MissingSecrets {
                names: missing,
                path: self.path.clone(),
            })
        }
    }

    /// As [`Vault::require`], as UTF-8 text.
    pub fn require_str(&self, name: &str) -> Result<&str> {
        self.require(name)?
            .expose_str()
            .ok_or_else(|| VaultError::NotUtf8 {
                name: name.to_owned(),
            })
    }

    pub fn contains(&self, name: &str) -> bool {
        self.secrets.contains_key(name)
    }

    /// Names of the stored secrets, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.secrets.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// Stores `value` under `name` in memory (call [`Vault::save`]). Checks
    /// only the spelling of the name; whether unknown names are welcome is the
    /// caller's policy (see [`crate::names::check_settable`]).
    pub fn set(&mut self, name: &str, value: SecretBytes) -> Result<Option<SecretBytes>> {
        crate::names::validate_name(name)?;
        Ok(self.secrets.insert(name.to_owned(), value))
    }

    /// Removes `name` in memory (call [`Vault::save`]). Returns whether it
    /// was there.
    pub fn remove(&mut self, name: &str) -> bool {
        self.secrets.remove(name).is_some()
    }

    /// Writes the vault back atomically, under a fresh nonce.
    pub fn save(&mut self) -> Result<()> {
        self.save_with_hook(&mut |_| Ok(()))
    }

    /// [`Vault::save`] with a fault hook, for crash tests.
    pub fn save_with_hook(&mut self, hook: FaultHook<'_>) -> Result<()> {
        let bytes = self.seal()?;
        write_atomic(&self.path, &bytes, false, hook).map_err(|f| f.error)
    }

    /// Re-encrypts every secret under `new_password` with a new salt and
    /// `params`, replacing the file atomically: until the rename, the file on
    /// disk is the old one and opens with the old password. Whatever happens,
    /// the key kept in memory is the one that opens the file now on disk, so a
    /// later [`Vault::save`] never reverts a completed rename.
    pub fn rotate(&mut self, new_password: &SecretString, params: KdfParams) -> Result<()> {
        self.rotate_with(new_password, params, &OpenPolicy::strict(), &mut |_| Ok(()))
    }

    /// [`Vault::rotate`] with a policy and a fault hook, for tests.
    pub fn rotate_with(
        &mut self,
        new_password: &SecretString,
        params: KdfParams,
        policy: &OpenPolicy,
        hook: FaultHook<'_>,
    ) -> Result<()> {
        check_params(params, policy)?;
        check_new_password(new_password)?;
        let mut salt = [0u8; SALT_LEN];
        OsRng.fill_bytes(&mut salt);
        let keys = derive_keys(new_password, &salt, params)?;
        let bytes = seal(params, &salt, &keys, &self.secrets)?;
        let result = write_atomic(&self.path, &bytes, false, hook);
        if result.as_ref().is_ok() || result.as_ref().is_err_and(|f| f.renamed) {
            self.params = params;
            self.salt = salt;
            self.keys = keys;
        }
        result.map_err(|f| f.error)
    }

    fn seal(&self) -> Result<Vec<u8>> {
        seal(self.params, &self.salt, &self.keys, &self.secrets)
    }
}

fn seal(
    params: KdfParams,
    salt: &[u8; SALT_LEN],
    keys: &Keys,
    secrets: &BTreeMap<String, SecretBytes>,
) -> Result<Vec<u8>> {
    let plaintext = payload::encode(secrets).map_err(|_| VaultError::Encrypt)?;
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let header = Header {
        params,
        salt: *salt,
        nonce,
        ciphertext_len: (plaintext.len() + TAG_LEN) as u64,
        key_check: [0; 32],
    };
    let mut bytes = header.prefix_bytes();
    let check = key_check(&keys.check[..], &bytes);
    bytes.extend_from_slice(&check);
    // The key is exactly 32 bytes by construction, so this cannot fail.
    let cipher =
        XChaCha20Poly1305::new_from_slice(&keys.enc[..]).map_err(|_| VaultError::Encrypt)?;
    let ciphertext = cipher
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: &plaintext,
                aad: &bytes,
            },
        )
        .map_err(|_| VaultError::Encrypt)?;
    bytes.extend_from_slice(&ciphertext);
    Ok(bytes)
}

/// Reads the vault file after checking that it is a regular file private to
/// its owner. Permissions are checked on the open handle, so the file checked
/// is the file read.
fn read_private_file(path: &Path) -> Result<Vec<u8>> {
    let file = File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => VaultError::NotFound {
            path: path.to_owned(),
        },
        _ => VaultError::io("open", path, e),
    })?;
    let meta = file
        .metadata()
        .map_err(|e| VaultError::io("read the metadata of", path, e))?;
    if !meta.is_file() {
        return Err(VaultError::NotARegularFile {
            path: path.to_owned(),
        });
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(VaultError::InsecurePermissions {
            path: path.to_owned(),
            mode,
        });
    }
    if meta.len() > MAX_FILE_LEN {
        return Err(VaultError::TooLarge {
            path: path.to_owned(),
            size: meta.len(),
            max: MAX_FILE_LEN,
        });
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| VaultError::io("read", path, e))?;
    Ok(bytes)
}
