//! Durable state in SQLite.
//!
//! This crate owns Orion's database: versioned migrations (with a backup copy
//! of an existing database before it is migrated), the execution journal
//! (WAL with `synchronous=FULL`, so a committed journal entry survives power
//! loss), pairs and their review status, opportunities, orders, fills,
//! positions, settlements, balance snapshots, circuit-breaker state and the
//! audit log — money as integer micro-units, times as integer nanoseconds;
//! online backups through SQLite's backup API with rotation, restore, and
//! integrity checks. It implements the `Store` port of `orion-core`. One
//! process at a time may hold a database for writing: [`Database::open`]
//! takes an exclusive lock file next to it.

mod backup;
pub mod dashboard_queries;
mod halts;
mod ledger;
pub mod schema;

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use orion_core::{
    ClientOrderId, IntentOutcome, JournaledIntent, LegEvent, OrderRequest, Store, StoreError,
    Timestamp, TradeIntent,
};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::{Deserialize, Serialize};

pub use backup::{
    BackupInfo, backup_to, integrity_check, list_backups, restore_from, rotate_backups,
};
pub use halts::{ENGINE_HALT_ID, HaltRecord};
pub use ledger::{JournalRecord, PositionRecord, SettlementRecord};
pub use schema::LATEST as SCHEMA_VERSION;

fn sql_err(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::DatabaseBusy
                || f.code == rusqlite::ErrorCode::DatabaseLocked =>
        {
            StoreError::Locked(e.to_string())
        }
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::DatabaseCorrupt
                || f.code == rusqlite::ErrorCode::NotADatabase =>
        {
            StoreError::Corrupt(e.to_string())
        }
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict(e.to_string())
        }
        rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound(e.to_string()),
        _ => StoreError::Io(e.to_string()),
    }
}

fn json_err(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(format!("stored JSON does not decode: {e}"))
}

fn io_err(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Io(format!("{}: {e}", path.display()))
}

/// Where a pair stands in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PairStatus {
    Proposed,
    Confirmed,
    Rejected,
}

impl PairStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PairStatus::Proposed => "proposed",
            PairStatus::Confirmed => "confirmed",
            PairStatus::Rejected => "rejected",
        }
    }

    fn parse(s: &str) -> Result<PairStatus, StoreError> {
        match s {
            "proposed" => Ok(PairStatus::Proposed),
            "confirmed" => Ok(PairStatus::Confirmed),
            "rejected" => Ok(PairStatus::Rejected),
            other => Err(StoreError::Corrupt(format!(
                "unknown pair status {other:?}"
            ))),
        }
    }
}

/// A stored pair of equivalent markets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairRecord {
    pub pair_id: String,
    pub kalshi_ticker: String,
    pub polymarket_condition_id: String,
    /// The Polymarket token that pays exactly when Kalshi YES pays (its
    /// "No" token when the pair is inverted).
    pub polymarket_yes_token: String,
    /// The Polymarket token that pays exactly when Kalshi NO pays.
    pub polymarket_no_token: String,
    /// Whether Kalshi YES corresponds to Polymarket's "No" side (for review;
    /// the two token fields above are already aligned with Kalshi).
    pub inverted: bool,
    pub score_bps: u32,
    pub flags: Vec<String>,
    pub reasons: Vec<String>,
    pub status: PairStatus,
    pub decided_by: Option<String>,
    pub decided_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// A detected opportunity as stored (the JSON is the detector's own record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpportunityRecord {
    pub pair_id: String,
    pub direction: String,
    pub quantity: orion_core::Quantity,
    pub total_cost: orion_core::Cash,
    pub net_profit: orion_core::Cash,
    pub detected_at: Timestamp,
    pub acted: bool,
    pub data: String,
}

/// One line of the audit log of control actions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

/// A persisted circuit-breaker state: its name and an opaque JSON document
/// owned by `orion-risk`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerRecord {
    pub state: String,
    pub data: String,
    pub updated_at: Timestamp,
}

/// An open Orion database, held exclusively by this process.
#[derive(Debug)]
pub struct Database {
    conn: Connection,
    path: PathBuf,
    // Held for the lifetime of the database: dropping it releases the lock.
    _lock: Option<File>,
    /// Intent ids starting with this are simulated (dry-run): flagged so
    /// when journaled, and their fills go to the simulated positions.
    simulated_prefix: Option<String>,
}

fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(sql_err)?;
    // WAL lets readers (the dashboard, `orion-admin db backup`) run beside the
    // writer; FULL makes every committed journal entry durable before we send.
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(sql_err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Io(format!(
            "could not enable WAL (journal_mode is {mode})"
        )));
    }
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
        .map_err(sql_err)?;
    Ok(())
}

fn user_version(conn: &Connection) -> Result<u32, StoreError> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sql_err)
}

impl Database {
    /// Opens (creating if needed) the database at `path` for writing, takes
    /// its lock, and migrates it to the latest schema. An existing database
    /// is copied to `PATH.pre-vN.bak` before any migration.
    pub fn open(path: &Path) -> Result<Database, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        }
        let lock_file_path = lock_path(path);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_file_path)
            .map_err(|e| io_err(&lock_file_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Locked(format!(
                    "{} is in use by another Orion process (the engine?); stop it or use its control path",
                    path.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_err(&lock_file_path, e)),
        }
        let conn = Connection::open(path).map_err(sql_err)?;
        configure(&conn)?;
        let mut db = Database {
            conn,
            path: path.to_path_buf(),
            _lock: Some(lock),
            simulated_prefix: None,
        };
        db.migrate()?;
        Ok(db)
    }

    /// Opens an existing database read-only, without the writer's lock (for
    /// status reads while the engine runs).
    pub fn open_read_only(path: &Path) -> Result<Database, StoreError> {
        if !path.exists() {
            return Err(StoreError::NotFound(format!(
                "no database at {}",
                path.display()
            )));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sql_err)?;
        let version = user_version(&conn)?;
        if version > schema::LATEST {
            return Err(StoreError::SchemaTooNew {
                found: version,
                supported: schema::LATEST,
            });
        }
        Ok(Database {
            conn,
            path: path.to_path_buf(),
            _lock: None,
            simulated_prefix: None,
        })
    }

    /// Whether another process holds the writer's lock on `path`.
    pub fn is_locked(path: &Path) -> bool {
        let Ok(file) = OpenOptions::new().write(true).open(lock_path(path)) else {
            return false;
        };
        matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn schema_version(&self) -> Result<u32, StoreError> {
        user_version(&self.conn)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let current = user_version(&self.conn)?;
        if current > schema::LATEST {
            return Err(StoreError::SchemaTooNew {
                found: current,
                supported: schema::LATEST,
            });
        }
        if current == schema::LATEST {
            return Ok(());
        }
        if current > 0 {
            let mut name = self.path.as_os_str().to_owned();
            name.push(format!(".pre-v{}.bak", schema::LATEST));
            backup::backup_to(&self.conn, Path::new(&name))?;
        }
        for (index, sql) in schema::MIGRATIONS.iter().enumerate().skip(current as usize) {
            let target = index as u32 + 1;
            let tx = self.conn.transaction().map_err(sql_err)?;
            tx.execute_batch(sql).map_err(sql_err)?;
            if target == 3 && current > 0 {
                ledger::backfill_positions(&tx)?;
            }
            tx.pragma_update(None, "user_version", target)
                .map_err(sql_err)?;
            tx.commit().map_err(sql_err)?;
        }
        Ok(())
    }

    /// The underlying connection, for crates that keep their own tables.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Marks intents whose id starts with `prefix` as simulated from the
    /// moment they are journaled (the dry-run executor's ids), so their
    /// fills are kept apart from real positions.
    pub fn set_simulated_prefix(&mut self, prefix: Option<String>) {
        self.simulated_prefix = prefix;
    }

    fn is_simulated_id(&self, intent_id: &str) -> bool {
        self.simulated_prefix
            .as_deref()
            .is_some_and(|p| !p.is_empty() && intent_id.starts_with(p))
    }

    // ------------------------------------------------------------ pairs

    /// Inserts a proposal, or refreshes an existing pair's score, flags and
    /// reasons while keeping its review decision.
    pub fn upsert_proposal(&self, pair: &PairRecord) -> Result<(), StoreError> {
        let flags = serde_json::to_string(&pair.flags).map_err(json_err)?;
        let reasons = serde_json::to_string(&pair.reasons).map_err(json_err)?;
        self.conn
            .execute(
                "INSERT INTO pairs (pair_id, kalshi_ticker, polymarket_condition_id, polymarket_yes_token,
                    polymarket_no_token, inverted, score_bps, flags, reasons, status, created_at_ns)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'proposed', ?10)
                 ON CONFLICT (pair_id) DO UPDATE SET
                    score_bps = excluded.score_bps, flags = excluded.flags, reasons = excluded.reasons,
                    polymarket_yes_token = excluded.polymarket_yes_token,
                    polymarket_no_token = excluded.polymarket_no_token,
                    -- A changed orientation invalidates an earlier decision.
                    status = CASE WHEN pairs.inverted = excluded.inverted THEN pairs.status ELSE 'proposed' END,
                    inverted = excluded.inverted",
                params![
                    pair.pair_id,
                    pair.kalshi_ticker,
                    pair.polymarket_condition_id,
                    pair.polymarket_yes_token,
                    pair.polymarket_no_token,
                    pair.inverted,
                    pair.score_bps,
                    flags,
                    reasons,
                    pair.created_at.nanos(),
                ],
            )
            .map_err(sql_err)?;
        Ok(())
    }

    /// Records a review decision, with who made it, and audits it.
    pub fn set_pair_status(
        &mut self,
        pair_id: &str,
        status: PairStatus,
        actor: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction().map_err(sql_err)?;
        let changed = tx
            .execute(
                "UPDATE pairs SET status = ?2, decided_by = ?3, decided_at_ns = ?4 WHERE pair_id = ?1",
                params![pair_id, status.as_str(), actor, at.nanos()],
            )
            .map_err(sql_err)?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("no pair {pair_id:?}")));
        }
        tx.execute(
            "INSERT INTO audit_log (at_ns, actor, action, detail) VALUES (?1, ?2, ?3, ?4)",
            params![
                at.nanos(),
                actor,
                format!("pair.{}", status.as_str()),
                pair_id
            ],
        )
        .map_err(sql_err)?;
        tx.commit().map_err(sql_err)
    }

    /// Pairs, optionally of one status, by id.
    pub fn pairs(&self, status: Option<PairStatus>) -> Result<Vec<PairRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT pair_id, kalshi_ticker, polymarket_condition_id, polymarket_yes_token, polymarket_no_token,
                        inverted, score_bps, flags, reasons, status, decided_by, decided_at_ns, created_at_ns
                 FROM pairs WHERE (?1 IS NULL OR status = ?1) ORDER BY pair_id",
            )
            .map_err(sql_err)?;
        let rows = stmt
            .query_map(params![status.map(PairStatus::as_str)], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, bool>(5)?,
                    r.get::<_, u32>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, String>(8)?,
                    r.get::<_, String>(9)?,
                    r.get::<_, Option<String>>(10)?,
                    r.get::<_, Option<i64>>(11)?,
                    r.get::<_, i64>(12)?,
                ))
            })
            .map_err(sql_err)?;
        let mut out = Vec::new();
        for row in rows {
            let (
                pair_id,
                kalshi_ticker,
                polymarket_condition_id,
                yes,
                no,
                inverted,
                score_bps,
                flags,
                reasons,
                status,
                decided_by,
                decided_at,
                created,
            ) = row.map_err(sql_err)?;
            out.push(PairRecord {
                pair_id,
                kalshi_ticker,
                polymarket_condition_id,
                polymarket_yes_token: yes,
                polymarket_no_token: no,
                inverted,
                score_bps,
                flags: serde_json::from_str(&flags).map_err(json_err)?,
                reasons: serde_json::from_str(&reasons).map_err(json_err)?,
                status: PairStatus::parse(&status)?,
                decided_by,
                decided_at: decided_at.map(Timestamp::from_nanos),
                created_at: Timestamp::from_nanos(created),
            });
        }
        Ok(out)
    }

    // ------------------------------------------------------------ audit

    pub fn audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO audit_log (at_ns, actor, action, detail) VALUES (?1, ?2, ?3, ?4)",
                params![entry.at.nanos(), entry.actor, entry.action, entry.detail],
            )
            .map_err(sql_err)?;
        Ok(())
    }

    /// The most recent audit entries, newest first.
    pub fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT at_ns, actor, action, detail FROM audit_log ORDER BY id DESC LIMIT ?1")
            .map_err(sql_err)?;
        let rows = stmt
            .query_map(params![limit], |r| {
                Ok(AuditEntry {
                    at: Timestamp::from_nanos(r.get(0)?),
                    actor: r.get(1)?,
                    action: r.get(2)?,
                    detail: r.get(3)?,
                })
            })
            .map_err(sql_err)?;
        rows.collect::<Result<_, _>>().map_err(sql_err)
    }

    // ------------------------------------------------------------ breaker

    pub fn load_breaker(&self) -> Result<Option<BreakerRecord>, StoreError> {
        self.conn
            .query_row(
                "SELECT state, data, updated_at_ns FROM breaker_state WHERE id = 1",
                [],
                |r| {
                    Ok(BreakerRecord {
                        state: r.get(0)?,
                        data: r.get(1)?,
                        updated_at: Timestamp::from_nanos(r.get(2)?),
                    })
                },
            )
            .optional()
            .map_err(sql_err)
    }

    /// Saves the breaker state; with `audit`, records the control action in
    /// the same transaction.
    pub fn save_breaker(
        &mut self,
        record: &BreakerRecord,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction().map_err(sql_err)?;
        tx.execute(
            "INSERT INTO breaker_state (id, state, data, updated_at_ns) VALUES (1, ?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET state = excluded.state, data = excluded.data, updated_at_ns = excluded.updated_at_ns",
            params![record.state, record.data, record.updated_at.nanos()],
        )
        .map_err(sql_err)?;
        if let Some(entry) = audit {
            tx.execute(
                "INSERT INTO audit_log (at_ns, actor, action, detail) VALUES (?1, ?2, ?3, ?4)",
                params![entry.at.nanos(), entry.actor, entry.action, entry.detail],
            )
            .map_err(sql_err)?;
        }
        tx.commit().map_err(sql_err)
    }

    // ------------------------------------------------------------ ledger

    pub fn record_balance(&self, balance: &orion_core::Balance) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO balance_snapshots (venue, available_micros, portfolio_value_micros, at_ns) VALUES (?1, ?2, ?3, ?4)",
                params![
                    balance.venue.as_str(),
                    balance.available.micros(),
                    balance.portfolio_value.map(orion_core::Cash::micros),
                    balance.as_of.nanos()
                ],
            )
            .map_err(sql_err)?;
        Ok(())
    }

    /// Records a fill once: the same venue fill id is ignored the second time.
    /// Returns whether it was new.
    pub fn record_fill(
        &self,
        fill: &orion_core::Fill,
        simulated: bool,
    ) -> Result<bool, StoreError> {
        let n = self
            .conn
            .execute(
                "INSERT OR IGNORE INTO fills (venue, fill_id, venue_order_id, client_order_id, instrument, outcome, side,
                    price_micros, quantity_micros, fee_micros, is_taker, simulated, ts_ns)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    fill.instrument.venue.as_str(),
                    fill.fill_id,
                    fill.venue_order_id,
                    fill.client_order_id.as_ref().map(ClientOrderId::as_str),
                    fill.instrument.symbol.as_ref(),
                    fill.outcome.as_str(),
                    fill.side.as_str(),
                    fill.price.micros(),
                    i64::try_from(fill.quantity.micros()).map_err(|_| StoreError::Conflict("quantity too large".into()))?,
                    fill.fee.micros(),
                    fill.is_taker,
                    simulated,
                    fill.ts.nanos(),
                ],
            )
            .map_err(sql_err)?;
        Ok(n == 1)
    }

    /// Records a detected opportunity; returns its row id.
    pub fn record_opportunity(&self, o: &OpportunityRecord) -> Result<i64, StoreError> {
        self.conn
            .execute(
                "INSERT INTO opportunities (pair_id, direction, quantity_micros, total_cost_micros, net_profit_micros, detected_at_ns, acted, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    o.pair_id,
                    o.direction,
                    i64::try_from(o.quantity.micros()).map_err(|_| StoreError::Conflict("quantity too large".into()))?,
                    o.total_cost.micros(),
                    o.net_profit.micros(),
                    o.detected_at.nanos(),
                    o.acted,
                    o.data
                ],
            )
            .map_err(sql_err)?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Intents recorded as simulated (dry-run) or real.
    pub fn set_intent_simulated(&self, intent_id: &str, simulated: bool) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE intents SET simulated = ?2 WHERE intent_id = ?1",
                params![intent_id, simulated],
            )
            .map_err(sql_err)?;
        Ok(())
    }

    /// Runs SQLite's integrity check; `Ok(())` when the database is sound.
    pub fn integrity_check(&self) -> Result<(), StoreError> {
        backup::check_connection(&self.conn)
    }

    /// An online backup of this database into `dir`, keeping the newest `keep`.
    pub fn backup(&self, dir: &Path, keep: u32, at: Timestamp) -> Result<BackupInfo, StoreError> {
        let info = backup::backup_into_dir(&self.conn, &self.path, dir, at)?;
        rotate_backups(dir, &self.path, keep)?;
        Ok(info)
    }
}

fn request_json(req: &OrderRequest) -> Result<String, StoreError> {
    serde_json::to_string(req).map_err(json_err)
}

impl Store for Database {
    fn record_intent(&mut self, intent: &TradeIntent) -> Result<(), StoreError> {
        let simulated = self.is_simulated_id(&intent.intent_id);
        let tx = self.conn.transaction().map_err(sql_err)?;
        tx.execute(
            "INSERT INTO intents (intent_id, pair_id, expected_profit_micros, simulated, created_at_ns) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![intent.intent_id, intent.pair_id, intent.expected_profit.micros(), simulated, intent.created_at.nanos()],
        )
        .map_err(sql_err)?;
        for (index, leg) in intent.legs.iter().enumerate() {
            let r = &leg.request;
            tx.execute(
                "INSERT INTO orders (client_order_id, intent_id, leg_index, venue, market, instrument, outcome, side,
                    limit_price_micros, quantity_micros, time_in_force, venue_order_id, request, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    r.client_order_id.as_str(),
                    intent.intent_id,
                    index as i64,
                    r.instrument.venue.as_str(),
                    r.market.symbol.as_ref(),
                    r.instrument.symbol.as_ref(),
                    r.outcome.as_str(),
                    r.side.as_str(),
                    r.limit_price.micros(),
                    i64::try_from(r.quantity.micros()).map_err(|_| StoreError::Conflict("quantity too large".into()))?,
                    serde_json::to_string(&r.time_in_force).map_err(json_err)?,
                    leg.venue_order_id,
                    request_json(r)?,
                    leg.body,
                ],
            )
            .map_err(sql_err)?;
        }
        tx.commit().map_err(sql_err)
    }

    fn record_leg_event(
        &mut self,
        intent_id: &str,
        client_order_id: &ClientOrderId,
        event: &LegEvent,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(event).map_err(json_err)?;
        self.conn
            .execute(
                "INSERT INTO order_events (intent_id, client_order_id, at_ns, event) VALUES (?1, ?2, ?3, ?4)",
                params![intent_id, client_order_id.as_str(), at.nanos(), json],
            )
            .map_err(sql_err)?;
        if let LegEvent::Report(report) = event
            && let Some(id) = &report.venue_order_id
        {
            self.conn
                .execute(
                    "UPDATE orders SET venue_order_id = ?2 WHERE client_order_id = ?1 AND venue_order_id IS NULL",
                    params![client_order_id.as_str(), id],
                )
                .map_err(sql_err)?;
        }
        Ok(())
    }

    fn finish_intent(
        &mut self,
        intent_id: &str,
        outcome: &IntentOutcome,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(outcome).map_err(json_err)?;
        let prefixed = self.is_simulated_id(intent_id);
        // One transaction: the intent is finished exactly when its fills are
        // in the positions, so no crash can leave one without the other.
        let tx = self.conn.transaction().map_err(sql_err)?;
        let n = tx
            .execute(
                "UPDATE intents SET finished_at_ns = ?2, outcome = ?3 WHERE intent_id = ?1 AND finished_at_ns IS NULL",
                params![intent_id, at.nanos(), json],
            )
            .map_err(sql_err)?;
        if n == 0 {
            return Err(StoreError::NotFound(format!(
                "no unfinished intent {intent_id:?}"
            )));
        }
        let flagged: bool = tx
            .query_row(
                "SELECT simulated FROM intents WHERE intent_id = ?1",
                params![intent_id],
                |r| r.get(0),
            )
            .map_err(sql_err)?;
        ledger::apply_intent_positions(&tx, intent_id, flagged || prefixed, at)?;
        #[cfg(test)]
        fault::hit("finish_intent.before_commit")?;
        tx.commit().map_err(sql_err)
    }

    fn unfinished_intents(&self) -> Result<Vec<JournaledIntent>, StoreError> {
        let mut heads_stmt = self
            .conn
            .prepare(
                "SELECT intent_id, pair_id, expected_profit_micros, created_at_ns FROM intents
                 WHERE finished_at_ns IS NULL ORDER BY created_at_ns, intent_id",
            )
            .map_err(sql_err)?;
        let heads = heads_stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .map_err(sql_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(sql_err)?;
        heads
            .into_iter()
            .map(|(intent_id, pair_id, profit, created)| {
                self.journal_of(&intent_id, pair_id, profit, created)
            })
            .collect()
    }
}

/// Test-only fault points: an armed point fails the write it sits in, as a
/// crash there would (an uncommitted SQLite transaction is rolled back).
#[cfg(test)]
mod fault {
    use std::cell::RefCell;

    use orion_core::StoreError;

    thread_local! {
        static ARMED: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
    }

    pub(crate) fn arm(point: &'static str) {
        ARMED.with(|a| a.borrow_mut().push(point));
    }

    pub(crate) fn hit(point: &'static str) -> Result<(), StoreError> {
        let armed = ARMED.with(|a| {
            let mut a = a.borrow_mut();
            let found = a.iter().position(|p| *p == point);
            found.map(|i| a.remove(i)).is_some()
        });
        if armed {
            Err(StoreError::Io(format!("injected fault at {point}")))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use orion_core::{
        Cash, InstrumentId, MarketId, OrderReport, OrderStatus, Outcome, PreparedOrder, Price,
        Quantity, Side, TimeInForce, Venue,
    };

    fn leg(coid: &str, venue: Venue, symbol: &str, outcome: Outcome, side: Side) -> PreparedOrder {
        PreparedOrder {
            request: OrderRequest {
                client_order_id: ClientOrderId::new(coid).unwrap(),
                market: MarketId::new(venue, &format!("{symbol}-market")).unwrap(),
                instrument: InstrumentId::new(venue, symbol).unwrap(),
                outcome,
                side,
                limit_price: Price::parse("0.45").unwrap(),
                quantity: Quantity::from_contracts(10).unwrap(),
                time_in_force: TimeInForce::FillOrKill,
            },
            venue_order_id: None,
            body: b"{}".to_vec(),
        }
    }

    fn report(coid: &str, filled: u64, price: &str, fees: i64) -> LegEvent {
        LegEvent::Report(OrderReport {
            client_order_id: ClientOrderId::new(coid).unwrap(),
            venue_order_id: Some(format!("v-{coid}")),
            status: OrderStatus::Filled,
            filled: Quantity::from_contracts(filled).unwrap(),
            average_price: Some(Price::parse(price).unwrap()),
            fees: Cash::from_micros(fees),
            reason: None,
            updated_at: Timestamp::from_secs(2),
        })
    }

    /// A two-leg intent whose legs both filled 10 contracts, journaled.
    fn filled_intent(db: &mut Database, id: &str) {
        db.record_intent(&TradeIntent {
            intent_id: id.into(),
            pair_id: "pair-1".into(),
            legs: vec![
                leg(
                    &format!("{id}-k"),
                    Venue::Kalshi,
                    "KX",
                    Outcome::Yes,
                    Side::Buy,
                ),
                leg(
                    &format!("{id}-p"),
                    Venue::Polymarket,
                    "123",
                    Outcome::No,
                    Side::Buy,
                ),
            ],
            expected_profit: Cash::from_micros(100_000),
            created_at: Timestamp::from_secs(1),
        })
        .unwrap();
        for (coid, price, fees) in [
            (format!("{id}-k"), "0.42", 70_000),
            (format!("{id}-p"), "0.55", 0),
        ] {
            let c = ClientOrderId::new(&coid).unwrap();
            db.record_leg_event(
                id,
                &c,
                &LegEvent::Sending { attempt: 1 },
                Timestamp::from_secs(1),
            )
            .unwrap();
            db.record_leg_event(
                id,
                &c,
                &report(&coid, 10, price, fees),
                Timestamp::from_secs(2),
            )
            .unwrap();
        }
    }

    #[test]
    fn finishing_an_intent_and_its_positions_is_one_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orion.db");
        let mut db = Database::open(&path).unwrap();
        filled_intent(&mut db, "i1");
        // A failure after the positions were written but before the commit
        // (where a crash between two separate writes used to be): nothing
        // of it is kept.
        fault::arm("finish_intent.before_commit");
        assert!(
            db.finish_intent("i1", &IntentOutcome::Completed, Timestamp::from_secs(3))
                .is_err()
        );
        drop(db);
        let mut db = Database::open(&path).unwrap();
        assert_eq!(db.unfinished_intents().unwrap().len(), 1, "still open");
        assert!(
            db.positions(false).unwrap().is_empty(),
            "no half-written holding"
        );

        // The same finish without the fault: both at once.
        db.finish_intent("i1", &IntentOutcome::Completed, Timestamp::from_secs(3))
            .unwrap();
        assert!(db.unfinished_intents().unwrap().is_empty());
        let held = db.positions(false).unwrap();
        assert_eq!(held.len(), 2);
        let k = held.iter().find(|p| p.venue == Venue::Kalshi).unwrap();
        assert_eq!(k.quantity, Quantity::from_contracts(10).unwrap());
        // 10 × $0.42 + $0.07 fees.
        assert_eq!(k.cost, Cash::from_micros(4_270_000));
        assert_eq!(k.pair_id.as_deref(), Some("pair-1"));
        assert_eq!(k.market, "KX-market");
        let p = held.iter().find(|p| p.venue == Venue::Polymarket).unwrap();
        assert_eq!(
            (p.outcome, p.cost),
            (Outcome::No, Cash::from_micros(5_500_000))
        );
        // Finishing twice is refused and changes nothing.
        assert!(
            db.finish_intent("i1", &IntentOutcome::Completed, Timestamp::from_secs(4))
                .is_err()
        );
        assert_eq!(db.positions(false).unwrap(), held);
    }

    #[test]
    fn sales_reduce_holdings_and_simulated_intents_stay_apart() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Database::open(&dir.path().join("orion.db")).unwrap();
        db.set_simulated_prefix(Some("paper-".into()));
        filled_intent(&mut db, "i1");
        db.finish_intent("i1", &IntentOutcome::Completed, Timestamp::from_secs(3))
            .unwrap();
        // An unwind child sells 4 of the Kalshi contracts at $0.40, $0.01 fee.
        let child = "i1/repair-1";
        db.record_intent(&TradeIntent {
            intent_id: child.into(),
            pair_id: "pair-1".into(),
            legs: vec![leg("c-sell", Venue::Kalshi, "KX", Outcome::Yes, Side::Sell)],
            expected_profit: Cash::ZERO,
            created_at: Timestamp::from_secs(4),
        })
        .unwrap();
        let c = ClientOrderId::new("c-sell").unwrap();
        db.record_leg_event(
            child,
            &c,
            &report("c-sell", 4, "0.40", 10_000),
            Timestamp::from_secs(4),
        )
        .unwrap();
        db.finish_intent(child, &IntentOutcome::Completed, Timestamp::from_secs(5))
            .unwrap();
        let k = db
            .positions(false)
            .unwrap()
            .into_iter()
            .find(|p| p.venue == Venue::Kalshi)
            .unwrap();
        assert_eq!(k.quantity, Quantity::from_contracts(6).unwrap());
        // 4.27 paid − (1.60 − 0.01) received.
        assert_eq!(k.cost, Cash::from_micros(2_680_000));

        // A dry-run intent: flagged simulated when journaled, held apart.
        filled_intent(&mut db, "paper-1");
        db.finish_intent(
            "paper-1",
            &IntentOutcome::Completed,
            Timestamp::from_secs(6),
        )
        .unwrap();
        assert_eq!(db.positions(true).unwrap().len(), 2);
        assert_eq!(
            db.positions(false)
                .unwrap()
                .iter()
                .find(|p| p.venue == Venue::Kalshi)
                .unwrap()
                .quantity,
            Quantity::from_contracts(6).unwrap(),
            "real holdings untouched by the simulated trade"
        );
    }
}
