//! Crash-safe replacement of the vault file: write a temporary file in the
//! same directory (so the rename cannot cross file systems), fsync it, rename
//! it over the old file, fsync the directory so the rename itself is durable.
//! At every instant the path names either the complete old file or the
//! complete new one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::OsRng;
use chacha20poly1305::aead::rand_core::RngCore;

use crate::{Result, VaultError};

/// The steps of a write at which a test can simulate a crash. The hook is
/// called when the named step has just completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultPoint {
    /// The temporary file exists, still empty.
    TempCreated,
    /// The new contents are written to the temporary file, not yet fsynced.
    TempWritten,
    /// The temporary file is fsynced.
    TempSynced,
    /// Just before the rename over the vault.
    BeforeRename,
    /// The rename is done; the directory is not yet fsynced.
    Renamed,
    /// The directory is fsynced: the write is complete and durable.
    DirSynced,
}

impl FaultPoint {
    pub const ALL: [FaultPoint; 6] = [
        FaultPoint::TempCreated,
        FaultPoint::TempWritten,
        FaultPoint::TempSynced,
        FaultPoint::BeforeRename,
        FaultPoint::Renamed,
        FaultPoint::DirSynced,
    ];
}

/// Called at each [`FaultPoint`]; returning `Err` stops the write right there
/// without any clean-up, as a crash would.
pub type FaultHook<'a> = &'a mut dyn FnMut(FaultPoint) -> std::result::Result<(), ()>;

pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "vault".to_owned());
    let tag = OsRng.next_u64();
    parent_dir(path).join(format!(".{name}.tmp-{tag:016x}"))
}

fn hook_at(
    hook: &mut dyn FnMut(FaultPoint) -> std::result::Result<(), ()>,
    point: FaultPoint,
) -> Result<()> {
    hook(point).map_err(|()| VaultError::Interrupted { point })
}

/// A failed write, and whether the new file had already replaced the old one
/// (so the caller knows which key now matches the disk).
#[derive(Debug)]
pub(crate) struct WriteFailure {
    pub error: VaultError,
    pub renamed: bool,
}

/// Writes `bytes` to `path` atomically with mode 0600. `create_only` refuses
/// to replace an existing file (used by `init`).
pub(crate) fn write_atomic(
    path: &Path,
    bytes: &[u8],
    create_only: bool,
    hook: FaultHook<'_>,
) -> std::result::Result<(), WriteFailure> {
    let before = |error| WriteFailure {
        error,
        renamed: false,
    };
    let after = |error| WriteFailure {
        error,
        renamed: true,
    };
    let dir = parent_dir(path);
    let tmp = temp_path(path);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| before(VaultError::io("create a temporary file in", dir, e)))?;
    hook_at(hook, FaultPoint::TempCreated).map_err(before)?;

    // From here an I/O error removes the temporary file; a simulated crash
    // (the hook) deliberately leaves it, to test that leftovers are harmless.
    let outcome = (|| -> Result<()> {
        file.write_all(bytes)
            .map_err(|e| VaultError::io("write the temporary file", &tmp, e))?;
        hook_at(hook, FaultPoint::TempWritten)?;
        file.sync_all()
            .map_err(|e| VaultError::io("fsync the temporary file", &tmp, e))?;
        hook_at(hook, FaultPoint::TempSynced)?;
        drop(file);
        hook_at(hook, FaultPoint::BeforeRename)?;
        if create_only {
            // hard_link fails if the target exists, so a concurrent `init`
            // cannot be silently overwritten.
            fs::hard_link(&tmp, path).map_err(|e| match e.kind() {
                io::ErrorKind::AlreadyExists => VaultError::AlreadyExists {
                    path: path.to_owned(),
                },
                _ => VaultError::io("create", path, e),
            })?;
            fs::remove_file(&tmp)
                .map_err(|e| VaultError::io("remove the temporary file", &tmp, e))?;
        } else {
            fs::rename(&tmp, path)
                .map_err(|e| VaultError::io("rename the temporary file over", path, e))?;
        }
        Ok(())
    })();
    match outcome {
        Ok(()) => {}
        Err(e @ VaultError::Interrupted { .. }) => return Err(before(e)),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(before(e));
        }
    }
    hook_at(hook, FaultPoint::Renamed).map_err(after)?;
    sync_dir(dir).map_err(after)?;
    hook_at(hook, FaultPoint::DirSynced).map_err(after)?;
    Ok(())
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| VaultError::io("fsync the directory", dir, e))
}

/// Temporary files left behind by an interrupted write next to `path`.
pub fn leftover_temp_files(path: &Path) -> io::Result<Vec<PathBuf>> {
    let Some(name) = path.file_name() else {
        return Ok(Vec::new());
    };
    let prefix = format!(".{}.tmp-", name.to_string_lossy());
    let mut out = Vec::new();
    for entry in fs::read_dir(parent_dir(path))? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}
