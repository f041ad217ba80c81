//! `orion-admin db ...`: online backups with rotation, restore, and the
//! integrity check, all done by `orion-storage`. Also the database location
//! options (`--config` or `--db`) shared with `orion-admin breaker`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use orion_config::Config;
use orion_core::{Clock, StoreError, SystemClock};
use orion_storage::{Database, integrity_check, list_backups, restore_from};

/// Where the database is: from the engine's configuration, or given directly.
#[derive(Debug, Args)]
pub struct DbLocation {
    /// The engine's configuration file: the database is `storage.database`
    /// under `engine.data_dir`, backups go to `storage.backup_dir`.
    #[arg(long, value_name = "FILE", conflicts_with = "db")]
    pub config: Option<PathBuf>,
    /// The database file itself (backups then default to a `backups`
    /// directory beside it).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

/// A resolved location.
#[derive(Debug)]
pub struct Located {
    pub db: PathBuf,
    pub backup_dir: PathBuf,
    pub backup_keep: u32,
    /// Present when read from `--config`.
    pub config: Option<Config>,
}

impl DbLocation {
    pub fn resolve(&self) -> Result<Located, String> {
        match (&self.config, &self.db) {
            (Some(path), _) => {
                let config = Config::load(path).map_err(|e| {
                    format!("{e}fix the configuration, or pass the database with --db PATH")
                })?;
                let storage = &config.storage;
                // Relative paths in [storage] resolve against the data
                // directory, as the engine resolves them.
                let backup_dir = config.engine.data_dir.join(&storage.backup_dir);
                Ok(Located {
                    db: config.database_path(),
                    backup_dir,
                    backup_keep: storage.backup_keep,
                    config: Some(config),
                })
            }
            (None, Some(db)) => {
                let parent = db
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                Ok(Located {
                    db: db.clone(),
                    backup_dir: parent.join("backups"),
                    backup_keep: Config::defaults().storage.backup_keep,
                    config: None,
                })
            }
            (None, None) => Err(
                "which database? pass --config FILE (the engine's configuration) or --db PATH"
                    .into(),
            ),
        }
    }
}

/// A database that must already exist (commands never create one by accident).
pub fn require_existing(db: &Path) -> Result<(), String> {
    if db.exists() {
        Ok(())
    } else {
        Err(format!(
            "no database at {}: check --config/--db (the engine creates the database on its first start)",
            db.display()
        ))
    }
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Copy the database to a timestamped backup while the engine runs;
    /// keeps the newest N.
    #[command(after_help = BACKUP_EXAMPLE)]
    Backup(BackupArgs),
    /// Replace the database with a backup (the engine must be stopped).
    #[command(after_help = RESTORE_EXAMPLE)]
    Restore(RestoreArgs),
    /// Run SQLite's integrity and foreign-key checks on the database or a backup.
    #[command(after_help = CHECK_EXAMPLE)]
    Check(CheckArgs),
}

pub const DB_EXAMPLE: &str = "\
Example:
  orion-admin db backup --config orion.toml --keep 14";

const BACKUP_EXAMPLE: &str = "\
Uses SQLite's online backup API on a read-only connection, so it works while
the engine runs; the copy is integrity-checked before it is kept. Files are
named STEM-YYYYMMDDTHHMMSSZ.backup.db; older ones beyond --keep are deleted.

Example:
  orion-admin db backup --config orion.toml --to /srv/orion/backups --keep 14";

const RESTORE_EXAMPLE: &str = "\
The backup is checked first; the current database is kept as
DB.pre-restore.bak; an older backup is migrated to the current schema.
Refused while the engine holds the database: stop the engine first.

Example:
  orion-admin db restore --db orion-data/orion.db \\
      orion-data/backups/orion-20261124T030000Z.backup.db";

const CHECK_EXAMPLE: &str = "\
Read-only; safe while the engine runs. Exit status 1 when a problem is found.

Example:
  orion-admin db check --config orion.toml
  orion-admin db check orion-data/backups/orion-20261124T030000Z.backup.db";

#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    location: DbLocation,
    /// Backup directory [default: storage.backup_dir, or `backups` beside --db].
    #[arg(long, value_name = "DIR")]
    to: Option<PathBuf>,
    /// Backups to keep, newest first [default: storage.backup_keep, or 7].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    keep: Option<u32>,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    location: DbLocation,
    /// The backup file to restore.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    location: DbLocation,
    /// Check this file (a backup, say) instead of the configured database.
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

pub fn run(cmd: DbCommand) -> Result<(), String> {
    match cmd {
        DbCommand::Backup(args) => backup(&args),
        DbCommand::Restore(args) => restore(&args),
        DbCommand::Check(args) => check(&args),
    }
}

fn backup(args: &BackupArgs) -> Result<(), String> {
    let at = args.location.resolve()?;
    require_existing(&at.db)?;
    let dir = args.to.clone().unwrap_or(at.backup_dir);
    let keep = args.keep.unwrap_or(at.backup_keep);
    // Read-only: no writer's lock needed, so this runs beside the engine.
    let db = Database::open_read_only(&at.db).map_err(|e| open_error(&at.db, &e))?;
    let before = list_backups(&dir, &at.db).unwrap_or_default();
    let info = db
        .backup(&dir, keep, SystemClock.now())
        .map_err(|e| match e {
            StoreError::Corrupt(detail) => format!(
                "the backup copy failed its integrity check ({detail}); the database may be damaged: run `orion-admin db check`"
            ),
            other => format!(
                "backup into {} failed: {other}; check that the directory is writable and has space",
                dir.display()
            ),
        })?;
    let after = list_backups(&dir, &at.db).unwrap_or_default();
    println!(
        "backup written: {} ({} bytes, integrity ok)",
        info.path.display(),
        info.bytes
    );
    let removed: Vec<&PathBuf> = before.iter().filter(|p| !after.contains(p)).collect();
    for path in &removed {
        println!("rotated out: {}", path.display());
    }
    println!(
        "{} backup(s) in {} (keeping the newest {keep})",
        after.len(),
        dir.display()
    );
    Ok(())
}

fn restore(args: &RestoreArgs) -> Result<(), String> {
    let at = args.location.resolve()?;
    if !args.file.exists() {
        return Err(format!(
            "no backup at {}: list the backup directory ({}) and pass one of its files",
            args.file.display(),
            at.backup_dir.display()
        ));
    }
    restore_from(&args.file, &at.db).map_err(|e| match e {
        StoreError::Locked(_) => format!(
            "{} is in use (the engine is running): stop the engine, then run this again; a restore replaces the database under it",
            at.db.display()
        ),
        StoreError::Corrupt(detail) => format!(
            "{} is not a sound database ({detail}); nothing was changed: pick another backup",
            args.file.display()
        ),
        StoreError::SchemaTooNew { found, supported } => format!(
            "{} has schema version {found}, newer than this orion-admin ({supported}); nothing was changed: use the orion-admin that wrote it",
            args.file.display()
        ),
        other => format!("restore failed: {other}"),
    })?;
    let mut safety = at.db.as_os_str().to_owned();
    safety.push(".pre-restore.bak");
    println!(
        "restored {} from {}; the previous database is kept as {}",
        at.db.display(),
        args.file.display(),
        PathBuf::from(safety).display()
    );
    Ok(())
}

fn check(args: &CheckArgs) -> Result<(), String> {
    let path = match &args.file {
        Some(file) => file.clone(),
        None => args.location.resolve()?.db,
    };
    require_existing(&path)?;
    match integrity_check(&path) {
        Ok(()) => {
            println!(
                "ok: {} passed SQLite's integrity and foreign-key checks",
                path.display()
            );
            Ok(())
        }
        Err(StoreError::Corrupt(detail)) if args.file.is_some() => Err(format!(
            "{} is damaged: {detail}\ndo not restore from it; check another backup",
            path.display()
        )),
        Err(StoreError::Corrupt(detail)) => Err(format!(
            "{} is damaged: {detail}\nstop the engine and restore the newest good backup: orion-admin db restore --db {} FILE",
            path.display(),
            path.display()
        )),
        Err(other) => Err(format!("cannot check {}: {other}", path.display())),
    }
}

/// Explains a failure to open the database for reading.
pub fn open_error(db: &Path, e: &StoreError) -> String {
    match e {
        StoreError::NotFound(_) => format!(
            "no database at {}: check --config/--db (the engine creates the database on its first start)",
            db.display()
        ),
        StoreError::SchemaTooNew { found, supported } => format!(
            "{} has schema version {found}, newer than this orion-admin ({supported}): use a matching orion-admin",
            db.display()
        ),
        other => format!("cannot open {}: {other}", db.display()),
    }
}
