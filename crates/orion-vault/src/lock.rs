//! Serialises writers. Two admin commands that each read the vault, change it
//! and write it back would otherwise race, and the later rename would drop
//! the earlier change. Readers (the engine) need no lock: a rename is atomic.

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::write::parent_dir;
use crate::{Result, VaultError};

/// An exclusive advisory lock on `.NAME.lock` next to the vault, held until
/// dropped. The lock file itself is left in place: removing it would let a
/// third process lock a fresh file while a second still holds the old one.
#[derive(Debug)]
pub struct WriteLock {
    _file: File,
    path: PathBuf,
}

impl WriteLock {
    /// Takes the lock or fails at once, naming the vault that is busy.
    pub fn acquire(vault_path: &Path) -> Result<WriteLock> {
        let name = vault_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "vault".to_owned());
        let path = parent_dir(vault_path).join(format!(".{name}.lock"));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| VaultError::io("create the lock file", &path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(WriteLock { _file: file, path }),
            Err(TryLockError::WouldBlock) => Err(VaultError::Busy {
                path: vault_path.to_owned(),
            }),
            Err(TryLockError::Error(e)) => Err(VaultError::io("lock", &path, e)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}
