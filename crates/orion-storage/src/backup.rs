//! Online backups through SQLite's backup API, rotation, restore, and
//! integrity checks. A backup is taken page by page while the engine keeps
//! writing; it is a consistent snapshot, checked before it is kept.

use std::path::{Path, PathBuf};
use std::time::Duration;

use orion_core::time_fmt::civil_from_days;
use orion_core::{StoreError, Timestamp};
use rusqlite::backup::Backup;
use rusqlite::{Connection, OpenFlags};

use crate::{Database, io_err, sql_err};

/// A backup written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    pub path: PathBuf,
    pub bytes: u64,
}

/// Copies the open database `src` into a new file at `dest`, then checks it.
pub fn backup_to(src: &Connection, dest: &Path) -> Result<BackupInfo, StoreError> {
    if dest.exists() {
        return Err(StoreError::Conflict(format!(
            "{} already exists",
            dest.display()
        )));
    }
    let mut out = Connection::open(dest).map_err(sql_err)?;
    {
        let backup = Backup::new(src, &mut out).map_err(sql_err)?;
        // 256 pages per step with a short pause lets the writer proceed.
        backup
            .run_to_completion(256, Duration::from_millis(1), None)
            .map_err(sql_err)?;
    }
    check_connection(&out)?;
    drop(out);
    let bytes = std::fs::metadata(dest).map_err(|e| io_err(dest, e))?.len();
    Ok(BackupInfo {
        path: dest.to_path_buf(),
        bytes,
    })
}

fn stem(db: &Path) -> String {
    db.file_stem()
        .map_or_else(|| "orion".to_string(), |s| s.to_string_lossy().into_owned())
}

fn stamp(t: Timestamp) -> String {
    let secs = t.secs();
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Writes `DIR/STEM-YYYYMMDDTHHMMSSZ.backup.db`.
pub(crate) fn backup_into_dir(
    src: &Connection,
    db: &Path,
    dir: &Path,
    at: Timestamp,
) -> Result<BackupInfo, StoreError> {
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let base = format!("{}-{}", stem(db), stamp(at));
    for n in 0..1000u32 {
        let name = if n == 0 {
            format!("{base}.backup.db")
        } else {
            format!("{base}-{n}.backup.db")
        };
        let path = dir.join(name);
        if !path.exists() {
            return backup_to(src, &path);
        }
    }
    Err(StoreError::Conflict(
        "too many backups with the same timestamp".into(),
    ))
}

/// The backups of `db` in `dir`, oldest first.
pub fn list_backups(dir: &Path, db: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let prefix = format!("{}-", stem(db));
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io_err(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".backup.db"))
        })
        .collect();
    // Names sort by time, then by the collision counter: "…Z-1" must come
    // after "…Z", which plain text order gets wrong ('-' sorts before '.').
    let key = |p: &PathBuf| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let rest = name
            .strip_prefix(&prefix)
            .unwrap_or(name)
            .trim_end_matches(".backup.db");
        match rest.split_once('-') {
            Some((time, n)) => (time.to_string(), n.parse::<u32>().unwrap_or(u32::MAX)),
            None => (rest.to_string(), 0),
        }
    };
    found.sort_by_key(key);
    Ok(found)
}

/// Deletes all but the newest `keep` backups of `db` in `dir`.
pub fn rotate_backups(dir: &Path, db: &Path, keep: u32) -> Result<Vec<PathBuf>, StoreError> {
    let all = list_backups(dir, db)?;
    let excess = all.len().saturating_sub(keep.max(1) as usize);
    let mut removed = Vec::new();
    for path in all.into_iter().take(excess) {
        std::fs::remove_file(&path).map_err(|e| io_err(&path, e))?;
        removed.push(path);
    }
    Ok(removed)
}

pub(crate) fn check_connection(conn: &Connection) -> Result<(), StoreError> {
    let mut stmt = conn.prepare("PRAGMA integrity_check").map_err(sql_err)?;
    let problems: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(sql_err)?
        .collect::<Result<_, _>>()
        .map_err(sql_err)?;
    if problems != ["ok"] {
        return Err(StoreError::Corrupt(problems.join("; ")));
    }
    let mut fk = conn.prepare("PRAGMA foreign_key_check").map_err(sql_err)?;
    let violations = fk
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(sql_err)?
        .count();
    if violations > 0 {
        return Err(StoreError::Corrupt(format!(
            "{violations} foreign-key violations"
        )));
    }
    Ok(())
}

/// Checks a database file (or backup) without modifying it.
pub fn integrity_check(path: &Path) -> Result<(), StoreError> {
    if !path.exists() {
        return Err(StoreError::NotFound(format!(
            "no database at {}",
            path.display()
        )));
    }
    let conn =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sql_err)?;
    check_connection(&conn)
}

/// Replaces the database at `db` with the backup `from`: the backup is checked
/// first, the current database is kept as `DB.pre-restore.bak`, and nothing
/// happens while another process holds the database.
pub fn restore_from(from: &Path, db: &Path) -> Result<(), StoreError> {
    integrity_check(from)?;
    let source_version: u32 = Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|c| c.query_row("PRAGMA user_version", [], |r| r.get(0)))
        .map_err(sql_err)?;
    if source_version > crate::schema::LATEST {
        return Err(StoreError::SchemaTooNew {
            found: source_version,
            supported: crate::schema::LATEST,
        });
    }
    // Taking the writer's lock proves no engine is using the database.
    let mut target = Database::open(db)?;
    let mut safety = db.as_os_str().to_owned();
    safety.push(".pre-restore.bak");
    let safety = PathBuf::from(safety);
    if safety.exists() {
        std::fs::remove_file(&safety).map_err(|e| io_err(&safety, e))?;
    }
    backup_to(&target.conn, &safety)?;
    let source =
        Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sql_err)?;
    {
        let backup = Backup::new(&source, &mut target.conn).map_err(sql_err)?;
        backup
            .run_to_completion(256, Duration::from_millis(1), None)
            .map_err(sql_err)?;
    }
    // An older backup is brought up to the current schema.
    target.migrate()?;
    target.integrity_check()
}
