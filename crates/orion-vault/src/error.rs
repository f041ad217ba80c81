//! Every error names what went wrong and what the operator should do next.
//! None of them carries a secret or a password: they are safe to log.

use std::io;
use std::path::PathBuf;

use crate::format::KdfParams;
use crate::write::FaultPoint;

pub type Result<T, E = VaultError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    #[error(
        "no vault at {path}: create one with `orion-admin secrets init --vault {path}`, or point --vault (or ORION_VAULT) at the existing file"
    )]
    NotFound { path: PathBuf },

    #[error(
        "a vault already exists at {path}; refusing to overwrite it. To change its password use `orion-admin secrets rotate`; to start over, move the old file away first"
    )]
    AlreadyExists { path: PathBuf },

    #[error("could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error(
        "{path} is accessible by group or others (mode {mode:03o}); a vault must be private to its owner: run `chmod 600 {path}` and try again"
    )]
    InsecurePermissions { path: PathBuf, mode: u32 },

    #[error("{path} is not a regular file; point --vault at the vault file itself")]
    NotARegularFile { path: PathBuf },

    #[error(
        "{path} is {size} bytes, far larger than any vault ({max} bytes at most): it is not a vault file; check the --vault path"
    )]
    TooLarge { path: PathBuf, size: u64, max: u64 },

    #[error(
        "{path} is only {len} bytes, shorter than a vault header ({min} bytes): the file is truncated or is not a vault; restore it from a backup"
    )]
    TooShort {
        path: PathBuf,
        len: usize,
        min: usize,
    },

    #[error(
        "{path} does not start with the Orion vault signature: it is not a vault, or its first bytes were damaged; check the --vault path or restore from a backup"
    )]
    BadMagic { path: PathBuf },

    #[error(
        "the header of {path} is damaged (its checksum does not match): the file was modified or corrupted on disk; restore it from a backup"
    )]
    HeaderCorrupted { path: PathBuf },

    #[error(
        "{path} is vault format version {found}, but this build reads version {supported}: upgrade Orion to open it"
    )]
    UnsupportedVersion {
        path: PathBuf,
        found: u16,
        supported: u16,
    },

    #[error(
        "{path} names an unknown {what} algorithm (id {id}): it was written by a newer Orion; upgrade Orion to open it"
    )]
    UnsupportedAlgorithm {
        path: PathBuf,
        what: &'static str,
        id: u8,
    },

    #[error(
        "{path} is {found} bytes but its header says {expected}: the file is truncated or has extra bytes (an interrupted copy?); restore it from a backup"
    )]
    LengthMismatch {
        path: PathBuf,
        expected: u64,
        found: u64,
    },

    #[error(
        "{path} asks for key-derivation parameters weaker than the minimum ({params}; minimum {minimum}): refusing to open it. Either it was created by a test build, or its header was changed to weaken it; restore it from a backup"
    )]
    WeakKdfParams {
        path: PathBuf,
        params: KdfParams,
        minimum: KdfParams,
    },

    #[error(
        "key-derivation parameters {params} are out of range: {reason}. Choose memory of at least 19456 KiB and at most 2097152 KiB, 2 to 32 iterations and parallelism 1 to 16"
    )]
    InvalidKdfParams {
        params: KdfParams,
        reason: &'static str,
    },

    #[error(
        "wrong password for {path}, or the file's key-check field was modified (the two cannot be told apart): check the password and where it comes from (--password-env / --password-fd / prompt); if it is certainly right, restore the vault from a backup"
    )]
    WrongPasswordOrModified { path: PathBuf },

    #[error(
        "the password for {path} is right but its encrypted contents fail authentication: the file was modified or corrupted after it was written; restore it from a backup"
    )]
    BodyModified { path: PathBuf },

    #[error(
        "the contents of {path} decrypted and authenticated but could not be read ({detail}): it was written by an incompatible Orion build; please report this"
    )]
    PayloadUnreadable { path: PathBuf, detail: &'static str },

    #[error("key derivation failed: {0}; check the key-derivation parameters")]
    Kdf(String),

    #[error("encryption failed; nothing was written (this is a bug, please report it)")]
    Encrypt,

    #[error(
        "`{name}` is not a valid secret name ({reason}): use lowercase letters, digits and `._-`, for example `kalshi.key_id`"
    )]
    InvalidName { name: String, reason: &'static str },

    #[error(
        "`{name}` is not a known secret name; run `orion-admin secrets set --help` for the list, or pass --custom to store it under this name anyway"
    )]
    UnknownName { name: String },

    #[error(
        "the vault {path} has no secret `{name}` ({description}): set it with `orion-admin secrets set {name} --vault {path}`"
    )]
    MissingSecret {
        name: String,
        description: &'static str,
        path: PathBuf,
    },

    #[error(
        "the vault {path} lacks {count} secret(s) this configuration needs: {names}; set each with `orion-admin secrets set NAME --vault {path}`",
        count = names.len(),
        names = names.join(", ")
    )]
    MissingSecrets { names: Vec<String>, path: PathBuf },

    #[error(
        "the secret `{name}` is not valid UTF-8 text; set it again with `orion-admin secrets set {name}`"
    )]
    NotUtf8 { name: String },

    #[error("the password is empty; a vault password must have at least {min} characters")]
    EmptyPassword { min: usize },

    #[error("the new password is too short ({len} characters); use at least {min}")]
    PasswordTooShort { len: usize, min: usize },

    #[error("the two passwords typed do not match; nothing was changed, try again")]
    PasswordMismatch,

    #[error(
        "the environment variable {var} is not set (or is not valid UTF-8): export it, or use --password-fd N or the interactive prompt instead"
    )]
    PasswordEnvMissing { var: String },

    #[error(
        "could not read the password from file descriptor {fd} ({source}): open it in the calling shell, e.g. `3< password-file`, and pass --password-fd 3"
    )]
    PasswordFd {
        fd: u32,
        #[source]
        source: io::Error,
    },

    #[error("the password read from {origin} is not valid UTF-8 text")]
    PasswordNotUtf8 { origin: String },

    #[error(
        "could not prompt for the password ({source}): there is no terminal to type it on; pass --password-env VAR or --password-fd N instead"
    )]
    Prompt {
        #[source]
        source: io::Error,
    },

    #[error(
        "the dashboard password hash is not a valid argon2id PHC string ({detail}): set it again with `orion-admin dashboard set-password`"
    )]
    InvalidPasswordHash { detail: String },

    #[error(
        "another orion-admin command is changing {path} right now; wait for it to finish and try again"
    )]
    Busy { path: PathBuf },

    /// Only produced by the fault hook of [`crate::Vault::save_with_hook`]
    /// and [`crate::Vault::rotate_with_hook`], to simulate a crash.
    #[error("write interrupted at {point:?} (simulated crash)")]
    Interrupted { point: FaultPoint },
}

impl VaultError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// True for the errors that mean "this file is damaged or was modified, or
    /// the password is wrong", as opposed to set-up mistakes (wrong path,
    /// permissions) or I/O failures.
    pub fn is_integrity_failure(&self) -> bool {
        matches!(
            self,
            Self::TooShort { .. }
                | Self::BadMagic { .. }
                | Self::HeaderCorrupted { .. }
                | Self::LengthMismatch { .. }
                | Self::WrongPasswordOrModified { .. }
                | Self::BodyModified { .. }
                | Self::PayloadUnreadable { .. }
        )
    }
}
