//! The database: migrations, locking, the journal, pairs, breaker, backups.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use std::path::Path;

use orion_core::{
    Balance, Cash, ClientOrderId, Fill, InstrumentId, IntentOutcome, LegEvent, MarketId,
    OrderReport, OrderRequest, OrderStatus, Outcome, PreparedOrder, Price, Quantity, Side, Store,
    StoreError, TimeInForce, Timestamp, TradeIntent, Venue,
};
use orion_storage::schema::{LATEST, MIGRATIONS};
use orion_storage::{
    AuditEntry, BreakerRecord, Database, OpportunityRecord, PairRecord, PairStatus,
    integrity_check, list_backups, restore_from,
};
use rusqlite::Connection;

fn leg(coid: &str, venue: Venue, symbol: &str, outcome: Outcome) -> PreparedOrder {
    PreparedOrder {
        request: OrderRequest {
            client_order_id: ClientOrderId::new(coid).unwrap(),
            market: MarketId::new(venue, symbol).unwrap(),
            instrument: InstrumentId::new(venue, symbol).unwrap(),
            outcome,
            side: Side::Buy,
            limit_price: Price::parse("0.41").unwrap(),
            quantity: Quantity::parse("10").unwrap(),
            time_in_force: TimeInForce::FillOrKill,
        },
        venue_order_id: (venue == Venue::Polymarket).then(|| "0xabc".to_string()),
        body: format!("{{\"coid\":\"{coid}\"}}").into_bytes(),
    }
}

fn intent(id: &str) -> TradeIntent {
    TradeIntent {
        intent_id: id.into(),
        pair_id: "P1".into(),
        legs: vec![
            leg(&format!("{id}-k"), Venue::Kalshi, "KXFED", Outcome::Yes),
            leg(&format!("{id}-p"), Venue::Polymarket, "222", Outcome::No),
        ],
        expected_profit: Cash::parse("0.73").unwrap(),
        created_at: Timestamp::from_secs(1_000),
    }
}

fn pragma(db: &Database, name: &str) -> String {
    db.connection()
        .query_row(&format!("PRAGMA {name}"), [], |r| {
            r.get::<_, rusqlite::types::Value>(0)
        })
        .map(|v| match v {
            rusqlite::types::Value::Integer(i) => i.to_string(),
            rusqlite::types::Value::Text(t) => t,
            other => format!("{other:?}"),
        })
        .unwrap()
}

#[test]
fn fresh_database_is_durable_and_current() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(&dir.path().join("data/orion.db")).unwrap();
    assert_eq!(pragma(&db, "journal_mode"), "wal");
    assert_eq!(pragma(&db, "synchronous"), "2", "synchronous must be FULL");
    assert_eq!(pragma(&db, "foreign_keys"), "1");
    assert_eq!(db.schema_version().unwrap(), LATEST);
    db.integrity_check().unwrap();
}

#[test]
fn one_writer_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orion.db");
    let db = Database::open(&path).unwrap();
    assert!(Database::is_locked(&path));
    match Database::open(&path) {
        Err(StoreError::Locked(msg)) => assert!(msg.contains("in use"), "{msg}"),
        other => panic!("expected Locked, got {other:?}"),
    }
    // Readers are fine while the writer holds it.
    Database::open_read_only(&path)
        .unwrap()
        .pairs(None)
        .unwrap();
    drop(db);
    assert!(!Database::is_locked(&path));
    Database::open(&path).unwrap();
}

#[test]
fn each_migration_applies_and_existing_databases_are_backed_up_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orion.db");
    // A database left at version 1, with data in it.
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO audit_log (at_ns, actor, action, detail) VALUES (1, 'admin', 'test', 'before migration')",
            [],
        )
        .unwrap();
    }
    let db = Database::open(&path).unwrap();
    assert_eq!(db.schema_version().unwrap(), LATEST);
    assert_eq!(db.audit_log(10).unwrap()[0].detail, "before migration");
    let backup = dir.path().join(format!("orion.db.pre-v{LATEST}.bak"));
    let old = Connection::open(&backup).unwrap();
    let v: u32 = old
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 1, "the backup holds the database as it was");
    let n: i64 = old
        .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    // Every migration step on its own leaves a sound database.
    for upto in 1..=MIGRATIONS.len() {
        let conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..upto] {
            conn.execute_batch(sql).unwrap();
        }
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok", "after migration {upto}");
    }
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orion.db");
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    assert!(matches!(
        Database::open(&path),
        Err(StoreError::SchemaTooNew { found: 99, .. })
    ));
}

#[test]
fn journal_round_trip_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orion.db");
    {
        let mut db = Database::open(&path).unwrap();
        db.record_intent(&intent("i1")).unwrap();
        db.record_intent(&intent("i2")).unwrap();
        let coid = ClientOrderId::new("i1-k").unwrap();
        db.record_leg_event(
            "i1",
            &coid,
            &LegEvent::Sending { attempt: 1 },
            Timestamp::from_secs(1_001),
        )
        .unwrap();
        let report = OrderReport {
            client_order_id: coid.clone(),
            venue_order_id: Some("K-123".into()),
            status: OrderStatus::Filled,
            filled: Quantity::parse("10").unwrap(),
            average_price: Some(Price::parse("0.41").unwrap()),
            fees: Cash::parse("0.17").unwrap(),
            reason: None,
            updated_at: Timestamp::from_secs(1_002),
        };
        db.record_leg_event(
            "i1",
            &coid,
            &LegEvent::Report(report),
            Timestamp::from_secs(1_002),
        )
        .unwrap();
        db.record_leg_event(
            "i1",
            &ClientOrderId::new("i1-p").unwrap(),
            &LegEvent::Unknown {
                detail: "timeout".into(),
            },
            Timestamp::from_secs(1_003),
        )
        .unwrap();
        db.finish_intent(
            "i2",
            &IntentOutcome::NothingFilled,
            Timestamp::from_secs(1_004),
        )
        .unwrap();
        assert!(matches!(
            db.finish_intent("i2", &IntentOutcome::Completed, Timestamp::ZERO),
            Err(StoreError::NotFound(_))
        ));
        // A leg event for an order that was never journaled violates the foreign key.
        let err = db.record_leg_event(
            "i1",
            &ClientOrderId::new("ghost").unwrap(),
            &LegEvent::Sending { attempt: 1 },
            Timestamp::ZERO,
        );
        assert!(matches!(err, Err(StoreError::Conflict(_))), "{err:?}");
        // The same intent twice is a conflict, never a silent duplicate.
        assert!(matches!(
            db.record_intent(&intent("i1")),
            Err(StoreError::Conflict(_))
        ));
    }
    let db = Database::open(&path).unwrap();
    let open = db.unfinished_intents().unwrap();
    assert_eq!(open.len(), 1);
    let j = &open[0];
    let mut expected = intent("i1");
    // The venue's order id, learned from the report, is kept with the leg.
    expected.legs[0].venue_order_id = Some("K-123".into());
    assert_eq!(j.intent, expected);
    assert_eq!(j.events.len(), 3);
    assert!(matches!(j.events[0].1, LegEvent::Sending { attempt: 1 }));
    assert!(matches!(&j.events[1].1, LegEvent::Report(r) if r.status == OrderStatus::Filled));
    assert_eq!(j.events[2].0.as_str(), "i1-p");
}

fn pair(id: &str, inverted: bool) -> PairRecord {
    PairRecord {
        pair_id: id.into(),
        kalshi_ticker: format!("KX-{id}"),
        polymarket_condition_id: format!("0x{id}"),
        polymarket_yes_token: "111".into(),
        polymarket_no_token: "222".into(),
        inverted,
        score_bps: 9_400,
        flags: vec!["close_time_differs".into()],
        reasons: vec!["same threshold".into()],
        status: PairStatus::Proposed,
        decided_by: None,
        decided_at: None,
        created_at: Timestamp::from_secs(5),
    }
}

#[test]
fn pair_review_is_recorded_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Database::open(&dir.path().join("orion.db")).unwrap();
    db.upsert_proposal(&pair("a", false)).unwrap();
    db.upsert_proposal(&pair("b", false)).unwrap();
    db.set_pair_status(
        "a",
        PairStatus::Confirmed,
        "alice",
        Timestamp::from_secs(10),
    )
    .unwrap();
    assert!(matches!(
        db.set_pair_status("zzz", PairStatus::Confirmed, "alice", Timestamp::ZERO),
        Err(StoreError::NotFound(_))
    ));
    let confirmed = db.pairs(Some(PairStatus::Confirmed)).unwrap();
    assert_eq!(confirmed.len(), 1);
    assert_eq!(confirmed[0].decided_by.as_deref(), Some("alice"));
    assert_eq!(confirmed[0].flags, vec!["close_time_differs".to_string()]);
    // A refreshed proposal keeps the decision ...
    let mut again = pair("a", false);
    again.score_bps = 9_500;
    db.upsert_proposal(&again).unwrap();
    assert_eq!(
        db.pairs(Some(PairStatus::Confirmed)).unwrap()[0].score_bps,
        9_500
    );
    // ... unless its orientation changed, which needs a fresh review.
    db.upsert_proposal(&pair("a", true)).unwrap();
    assert!(db.pairs(Some(PairStatus::Confirmed)).unwrap().is_empty());
    let audit = db.audit_log(10).unwrap();
    assert_eq!(audit[0].action, "pair.confirmed");
    assert_eq!(audit[0].actor, "alice");
}

#[test]
fn breaker_state_and_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orion.db");
    {
        let mut db = Database::open(&path).unwrap();
        assert_eq!(db.load_breaker().unwrap(), None);
        let rec = BreakerRecord {
            state: "halted".into(),
            data: "{\"reason\":\"daily loss\"}".into(),
            updated_at: Timestamp::from_secs(9),
        };
        let audit = AuditEntry {
            at: Timestamp::from_secs(9),
            actor: "engine".into(),
            action: "breaker.trip".into(),
            detail: "daily loss".into(),
        };
        db.save_breaker(&rec, Some(&audit)).unwrap();
        let fill = Fill {
            fill_id: "f1".into(),
            venue_order_id: "K-1".into(),
            client_order_id: Some(ClientOrderId::new("c1").unwrap()),
            instrument: InstrumentId::new(Venue::Kalshi, "KXFED").unwrap(),
            outcome: Outcome::Yes,
            side: Side::Buy,
            price: Price::parse("0.41").unwrap(),
            quantity: Quantity::parse("10").unwrap(),
            fee: Cash::parse("0.17").unwrap(),
            is_taker: true,
            ts: Timestamp::from_secs(9),
        };
        assert!(db.record_fill(&fill, false).unwrap());
        assert!(
            !db.record_fill(&fill, false).unwrap(),
            "a fill is recorded once"
        );
        assert!(
            db.record_fill(&fill, true).unwrap(),
            "simulated fills are kept apart"
        );
        db.record_balance(&Balance {
            venue: Venue::Kalshi,
            available: Cash::parse("1000").unwrap(),
            portfolio_value: None,
            as_of: Timestamp::from_secs(9),
        })
        .unwrap();
        db.record_opportunity(&OpportunityRecord {
            pair_id: "P1".into(),
            direction: "kalshi_yes".into(),
            quantity: Quantity::parse("10").unwrap(),
            total_cost: Cash::parse("9.27").unwrap(),
            net_profit: Cash::parse("0.73").unwrap(),
            detected_at: Timestamp::from_secs(9),
            acted: false,
            data: "{}".into(),
        })
        .unwrap();
    }
    let db = Database::open(&path).unwrap();
    let rec = db.load_breaker().unwrap().unwrap();
    assert_eq!(rec.state, "halted");
    assert_eq!(db.audit_log(1).unwrap()[0].action, "breaker.trip");
}

fn count_audit(path: &Path) -> i64 {
    Connection::open(path)
        .unwrap()
        .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn online_backup_rotation_and_restore() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orion.db");
    let backups = dir.path().join("backups");
    let db = Database::open(&path).unwrap();
    for i in 0..4 {
        db.audit(&AuditEntry {
            at: Timestamp::from_secs(i),
            actor: "t".into(),
            action: "a".into(),
            detail: i.to_string(),
        })
        .unwrap();
        db.backup(&backups, 3, Timestamp::from_secs(1_789_000_000 + i))
            .unwrap();
    }
    let kept = list_backups(&backups, &path).unwrap();
    assert_eq!(kept.len(), 3, "rotation keeps the newest three");
    assert!(
        kept[2]
            .to_string_lossy()
            .ends_with("orion-20260910T002643Z.backup.db"),
        "{kept:?}"
    );
    for b in &kept {
        integrity_check(b).unwrap();
    }
    assert_eq!(count_audit(&kept[0]), 2);
    // Restore refuses while the engine (this handle) holds the database.
    assert!(matches!(
        restore_from(&kept[0], &path),
        Err(StoreError::Locked(_))
    ));
    drop(db);
    restore_from(&kept[0], &path).unwrap();
    let db = Database::open(&path).unwrap();
    assert_eq!(db.audit_log(10).unwrap().len(), 2);
    drop(db);
    let mut safety = path.as_os_str().to_owned();
    safety.push(".pre-restore.bak");
    assert_eq!(
        count_audit(Path::new(&safety)),
        4,
        "the replaced database is kept"
    );
}

#[test]
fn backups_in_the_same_second_rotate_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orion.db");
    let backups = dir.path().join("b");
    let db = Database::open(&path).unwrap();
    let at = Timestamp::from_secs(1_789_000_000);
    for _ in 0..12 {
        db.backup(&backups, 100, at).unwrap();
    }
    let names: Vec<String> = list_backups(&backups, &path)
        .unwrap()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names[0], "orion-20260910T002640Z.backup.db");
    assert_eq!(names[1], "orion-20260910T002640Z-1.backup.db");
    assert_eq!(names[11], "orion-20260910T002640Z-11.backup.db");
    // Keeping one keeps the newest.
    let newest = db.backup(&backups, 1, at).unwrap();
    assert_eq!(list_backups(&backups, &path).unwrap(), vec![newest.path]);
}

#[test]
fn corrupt_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orion.db");
    {
        let db = Database::open(&path).unwrap();
        for i in 0..200 {
            db.audit(&AuditEntry {
                at: Timestamp::from_secs(i),
                actor: "t".into(),
                action: "a".into(),
                detail: "x".repeat(200),
            })
            .unwrap();
        }
        db.backup(&dir.path().join("b"), 1, Timestamp::ZERO)
            .unwrap();
    }
    let backup = list_backups(&dir.path().join("b"), &path)
        .unwrap()
        .pop()
        .unwrap();
    let mut bytes = std::fs::read(&backup).unwrap();
    // Scribble over a page in the middle of the file.
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 512] {
        *b = 0xA5;
    }
    let broken = dir.path().join("broken.db");
    std::fs::write(&broken, &bytes).unwrap();
    assert!(integrity_check(&broken).is_err());
    assert!(restore_from(&broken, &path).is_err());
    std::fs::write(&broken, b"not a database at all, just text").unwrap();
    assert!(integrity_check(&broken).is_err());
    assert!(integrity_check(&dir.path().join("missing.db")).is_err());
}

#[test]
fn a_version_2_database_migrates_to_halts_and_keeps_its_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orion.db");
    // A database as version 2 left it, with an open intent in its journal.
    {
        let conn = Connection::open(&path).unwrap();
        for sql in &MIGRATIONS[..2] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 2).unwrap();
        conn.execute(
            "INSERT INTO intents (intent_id, pair_id, expected_profit_micros, created_at_ns) VALUES ('old', 'P1', 5, 7)",
            [],
        )
        .unwrap();
    }
    // A trade finished under version 2 (no ledger then): journaled with the
    // release's own writer, its version stamp put back to 2.
    {
        let mut db = Database::open(&path).unwrap();
        db.connection()
            .execute_batch("DROP TABLE pair_halts")
            .unwrap();
        db.record_intent(&intent("done")).unwrap();
        for (coid, filled) in [("done-k", "10"), ("done-p", "10")] {
            let coid = ClientOrderId::new(coid).unwrap();
            let report = OrderReport {
                client_order_id: coid.clone(),
                venue_order_id: Some("v".into()),
                status: OrderStatus::Filled,
                filled: Quantity::parse(filled).unwrap(),
                average_price: Some(Price::parse("0.41").unwrap()),
                fees: Cash::ZERO,
                reason: None,
                updated_at: Timestamp::from_secs(1_001),
            };
            db.record_leg_event(
                "done",
                &coid,
                &LegEvent::Report(report),
                Timestamp::from_secs(1_001),
            )
            .unwrap();
        }
        db.connection()
            .execute(
                "UPDATE intents SET finished_at_ns = 1, outcome = '\"Completed\"' WHERE intent_id = 'done'",
                [],
            )
            .unwrap();
        db.connection()
            .execute("DELETE FROM positions", [])
            .unwrap();
        db.connection()
            .pragma_update(None, "user_version", 2)
            .unwrap();
    }
    // (That open migrated and backed up once; the test's migration is the next.)
    std::fs::remove_file(dir.path().join("orion.db.pre-v3.bak")).unwrap();
    let mut db = Database::open(&path).unwrap();
    assert_eq!(db.schema_version().unwrap(), 3);
    assert_eq!(LATEST, 3);
    assert_eq!(db.unfinished_intents().unwrap()[0].intent.intent_id, "old");
    // The trade finished before the ledger existed is in it now.
    let held = db.positions(false).unwrap();
    assert_eq!(held.len(), 2, "{held:?}");
    assert!(
        held.iter()
            .all(|p| p.quantity == Quantity::parse("10").unwrap())
    );
    assert!(held.iter().all(|p| p.cost == Cash::parse("4.10").unwrap()));
    let backup = dir.path().join("orion.db.pre-v3.bak");
    let old = Connection::open(&backup).unwrap();
    let v: u32 = old
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 2, "the backup is the version 2 database");

    // Halts: recorded once (the first reason wins), listed, audited.
    let halt = |pair: &str, reason: &str| orion_storage::HaltRecord {
        pair_id: pair.into(),
        reason: reason.into(),
        source: "execution".into(),
        halted_at: Timestamp::from_secs(10),
    };
    assert!(db.halt_pair(&halt("P1", "legged beyond bounds")).unwrap());
    assert!(!db.halt_pair(&halt("P1", "again")).unwrap());
    assert!(db.halt_pair(&halt("P2", "operator")).unwrap());
    drop(db);
    let mut db = Database::open(&path).unwrap();
    let halts = db.halted_pairs().unwrap();
    assert_eq!(halts.len(), 2, "halts survive a reopen");
    assert_eq!(halts[0].reason, "legged beyond bounds");
    assert!(
        !db.resume_pair("P3", "alice", "not halted", Timestamp::from_secs(11))
            .unwrap()
    );
    assert!(
        db.resume_pair("P1", "alice", "flattened by hand", Timestamp::from_secs(11))
            .unwrap()
    );
    assert_eq!(db.halted_pairs().unwrap().len(), 1);
    let log = db.audit_log(10).unwrap();
    assert_eq!(log[0].action, "pair.resume");
    assert_eq!(log[0].actor, "alice");
    assert_eq!(log[0].detail, "P1: flattened by hand");
    assert_eq!(
        log.iter().filter(|e| e.action == "pair.halt").count(),
        2,
        "{log:?}"
    );
}

#[test]
fn settling_a_position_records_pnl_once_and_closes_the_holding() {
    use orion_storage::{PositionRecord, SettlementRecord};
    let dir = tempfile::tempdir().unwrap();
    let mut db = Database::open(&dir.path().join("orion.db")).unwrap();
    db.upsert_position(&PositionRecord {
        venue: Venue::Kalshi,
        instrument: "KXFED".into(),
        market: "KXFED".into(),
        outcome: Outcome::Yes,
        pair_id: Some("P1".into()),
        quantity: Quantity::parse("10").unwrap(),
        cost: Cash::parse("4.20").unwrap(),
        simulated: false,
        updated_at: Timestamp::from_secs(1),
    })
    .unwrap();
    let record = SettlementRecord {
        pair_id: Some("P1".into()),
        venue: Venue::Kalshi,
        market: "KXFED".into(),
        winning_outcome: Outcome::Yes,
        quantity: Quantity::parse("10").unwrap(),
        payout: Cash::parse("10").unwrap(),
        cost: Cash::parse("4.20").unwrap(),
        realized_pnl: Cash::parse("5.80").unwrap(),
        simulated: false,
        settled_at: Timestamp::from_secs(2),
    };
    assert!(db.settle_position(&record, "KXFED").unwrap());
    assert!(db.positions(false).unwrap().is_empty());
    // A second pass finds the holding gone and records nothing.
    assert!(!db.settle_position(&record, "KXFED").unwrap());
    assert_eq!(db.settlements(None).unwrap().len(), 1);
    assert_eq!(
        db.realized_pnl(false).unwrap(),
        Cash::parse("5.80").unwrap()
    );
    assert_eq!(db.realized_pnl(true).unwrap(), Cash::ZERO);
    assert_eq!(
        db.settled_markets(false).unwrap(),
        [(Venue::Kalshi, "KXFED".to_string())].into_iter().collect()
    );
    assert!(db.settled_markets(true).unwrap().is_empty());
}
