//! `orion-vault` owns Orion's secrets at rest: one encrypted file holding the
//! venue credentials, alerting tokens and the dashboard password hash. It
//! derives keys from the master password with argon2id (per-installation
//! random salt, parameters recorded in the file and never below the OWASP
//! baseline), encrypts with XChaCha20-Poly1305 under a fresh random nonce per
//! write with the whole header as associated data, replaces the file
//! atomically with mode 0600, and keeps secrets in types that are wiped on
//! drop and print as `***`. It also knows the secret names Orion uses, reads
//! the master password from a prompt, an environment variable or a file
//! descriptor, and hashes/verifies the dashboard password.
//!
//! The engine's use at start-up:
//!
//! ```no_run
//! use orion_vault::{PasswordSource, Vault, names};
//! # fn main() -> orion_vault::Result<()> {
//! let password = PasswordSource::Fd(3).read("Vault password: ")?;
//! let vault = Vault::open("orion.vault", &password)?;
//! let key_id = vault.require_str(names::KALSHI_KEY_ID)?;
//! let pem = vault.require(names::KALSHI_PRIVATE_KEY_PEM)?;
//! # let _ = (key_id, pem);
//! # Ok(())
//! # }
//! ```
//!
//! The file format is described in `format` and in
//! `docs/adr/0002-vault-format.md`; operating it in `docs/vault.md`.

mod dashboard;
mod error;
pub mod format;
mod lock;
pub mod names;
mod password;
mod payload;
mod secret;
mod vault;
mod write;

pub use dashboard::{
    hash_dashboard_password, verify_dashboard_password,
    verify_with as verify_dashboard_password_with,
};
pub use error::{Result, VaultError};
pub use format::KdfParams;
pub use lock::WriteLock;
pub use names::{KNOWN_SECRETS, KnownSecret, known_secret};
pub use password::{MIN_NEW_PASSWORD_CHARS, PasswordSource, check_new_password};
pub use secret::{SecretBytes, SecretString};
pub use vault::{MAX_FILE_LEN, OpenPolicy, Vault};
pub use write::{FaultHook, FaultPoint, leftover_temp_files};
