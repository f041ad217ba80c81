//! Runs the built `orion-admin` against temporary databases: `db backup`
//! (rotation, beside a running engine), `db check`, `db restore` (refused
//! while the engine holds the lock), `breaker status` and `breaker reset`
//! (audited, idempotent, refused while the engine holds the lock). The
//! "engine" is this test process holding `orion_storage::Database::open`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

use orion_core::{Cash, Fraction, Timestamp};
use orion_risk::{BreakerLimits, BreakerState, CircuitBreaker, PerVenue};
use orion_storage::{AuditEntry, BreakerRecord, Database};

/// The tests run one at a time. A child process forked by a parallel test
/// inherits this process's descriptors until it execs, including the lock
/// file a test has just closed, so a reopen right after could see the lock
/// still held by that child. One test at a time removes the race; the
/// binary itself spawns nothing.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn admin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_orion-admin"));
    c.env("USER", "tester").env_remove("LOGNAME");
    c
}

fn run(args: &[&str]) -> Output {
    admin().args(args).output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Stdout of a command that must succeed.
fn ok(args: &[&str]) -> String {
    let o = run(args);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{args:?} failed:\n{out}\n{err}");
    out
}

/// Stderr of a command that must fail with status 1.
fn fails(args: &[&str]) -> String {
    let o = run(args);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{args:?}:\n{out}\n{err}");
    err
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    db: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("orion.db");
    // Create and migrate it, as the engine's first start does.
    Database::open(&db)
        .unwrap()
        .audit(&entry("created"))
        .unwrap();
    Fixture {
        dir: dir.path().to_owned(),
        db,
        _dir: dir,
    }
}

fn entry(detail: &str) -> AuditEntry {
    AuditEntry {
        at: Timestamp::from_secs(1_790_000_000),
        actor: "test".into(),
        action: "test.marker".into(),
        detail: detail.into(),
    }
}

fn details(db: &Path) -> Vec<String> {
    Database::open_read_only(db)
        .unwrap()
        .audit_log(100)
        .unwrap()
        .into_iter()
        .map(|e| e.detail)
        .collect()
}

/// Saves a breaker halted by a daily loss, as the engine would.
fn save_halted(db: &Path) {
    let limits = BreakerLimits {
        daily_loss_limit: Fraction::parse("0.02").unwrap(),
        max_drawdown: Fraction::parse("0.05").unwrap(),
        max_consecutive_failures: 3,
        max_unwind_loss: Cash::parse("25").unwrap(),
    };
    let mut b = CircuitBreaker::new(limits, BreakerState::new());
    let t0 = Timestamp::from_secs(1_795_000_000);
    let eq = |k: &str| {
        PerVenue::new(
            Some(Cash::parse(k).unwrap()),
            Some(Cash::parse("500").unwrap()),
        )
    };
    b.observe_equity(&eq("500"), t0);
    let _ = b.record_execution_failure(t0);
    let trip = b
        .observe_equity(&eq("470"), Timestamp::from_secs(1_795_000_060))
        .trip
        .unwrap();
    let state = b.state();
    let mut database = Database::open(db).unwrap();
    database
        .save_breaker(
            &BreakerRecord {
                state: state.state_name().into(),
                data: state.snapshot().unwrap(),
                updated_at: trip.at,
            },
            None,
        )
        .unwrap();
}

fn stored_state(db: &Path) -> BreakerState {
    let record = Database::open_read_only(db)
        .unwrap()
        .load_breaker()
        .unwrap()
        .unwrap();
    BreakerState::restore(&record.data).unwrap()
}

#[test]
fn every_command_has_help_with_an_example() {
    let _serial = serial();
    for cmd in [
        &["breaker"][..],
        &["breaker", "status"],
        &["breaker", "reset"],
        &["db"],
        &["db", "backup"],
        &["db", "restore"],
        &["db", "check"],
    ] {
        let mut args = cmd.to_vec();
        args.push("--help");
        let out = ok(&args);
        assert!(out.contains("Example"), "{cmd:?} --help:\n{out}");
        assert!(out.contains("orion-admin "), "{cmd:?}");
    }
}

#[test]
fn location_is_required_and_must_exist() {
    let _serial = serial();
    let err = fails(&["db", "check"]);
    assert!(
        err.contains("--config FILE") && err.contains("--db PATH"),
        "{err}"
    );
    let f = fixture();
    let missing = f.dir.join("nope.db");
    for args in [
        &["db", "check", "--db", s(&missing)][..],
        &["db", "backup", "--db", s(&missing)],
        &["breaker", "status", "--db", s(&missing)],
        &["breaker", "reset", "--db", s(&missing), "--reason", "x"],
    ] {
        let err = fails(args);
        assert!(err.contains("no database at"), "{args:?}: {err}");
    }
    assert!(!missing.exists(), "no command creates a database");
    // Both options at once are refused by the parser.
    let o = run(&["db", "check", "--db", s(&f.db), "--config", "x.toml"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn backup_rotates_and_runs_beside_the_engine() {
    let _serial = serial();
    let f = fixture();
    let dir = f.dir.join("bk");
    fs::create_dir_all(&dir).unwrap();
    // Three older backups (rotation goes by the timestamp in the name).
    for stamp in ["20200101T000000Z", "20210101T000000Z", "20220101T000000Z"] {
        fs::copy(&f.db, dir.join(format!("orion-{stamp}.backup.db"))).unwrap();
    }
    // Someone else's file in the directory is never touched.
    fs::write(dir.join("notes.txt"), "keep me").unwrap();

    // The "engine" holds the database and keeps writing.
    let engine = Database::open(&f.db).unwrap();
    engine.audit(&entry("while running")).unwrap();

    let out = ok(&[
        "db",
        "backup",
        "--db",
        s(&f.db),
        "--to",
        s(&dir),
        "--keep",
        "2",
    ]);
    assert!(out.contains("backup written:"), "{out}");
    assert!(out.contains("integrity ok"), "{out}");
    assert!(out.contains("rotated out"), "{out}");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names.len(), 3, "{names:?}");
    assert_eq!(names[0], "notes.txt");
    assert_eq!(names[1], "orion-20220101T000000Z.backup.db", "{names:?}");
    let newest = dir.join(&names[2]);
    assert!(out.contains(&names[2]), "{out}");
    drop(engine);

    // The new backup is sound and holds what the engine had committed.
    let out = ok(&["db", "check", s(&newest)]);
    assert!(out.starts_with("ok:"), "{out}");
    assert!(details(&newest).contains(&"while running".to_string()));

    // --keep out of range is a usage error.
    let o = run(&["db", "backup", "--db", s(&f.db), "--keep", "0"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn backup_defaults_come_from_the_config() {
    let _serial = serial();
    let f = fixture();
    let data = f.dir.join("data");
    fs::create_dir_all(&data).unwrap();
    let config = f.dir.join("orion.toml");
    fs::write(
        &config,
        format!(
            "[engine]\ndata_dir = \"{}\"\n\n[storage]\ndatabase = \"main.db\"\nbackup_dir = \"snapshots\"\nbackup_keep = 3\n",
            s(&data)
        ),
    )
    .unwrap();
    Database::open(&data.join("main.db")).unwrap();
    let out = ok(&["db", "backup", "--config", s(&config)]);
    assert!(out.contains("keeping the newest 3"), "{out}");
    let made: Vec<_> = fs::read_dir(data.join("snapshots")).unwrap().collect();
    assert_eq!(made.len(), 1);
    ok(&["db", "check", "--config", s(&config)]);
    // With the configuration, status also shows the limits in force.
    save_halted(&data.join("main.db"));
    let out = ok(&["breaker", "status", "--config", s(&config)]);
    assert!(out.contains("HALTED"), "{out}");
    assert!(
        out.contains(
            "limits:               daily loss 0.02, drawdown 0.05, 3 consecutive failures"
        ),
        "{out}"
    );

    // A broken configuration says what is wrong and what to do.
    fs::write(&config, "[storage]\nbackup_keep = \"many\"\n").unwrap();
    let err = fails(&["db", "check", "--config", s(&config)]);
    assert!(
        err.contains("storage.backup_keep") && err.contains("--db PATH"),
        "{err}"
    );
}

#[test]
fn check_reports_damage() {
    let _serial = serial();
    let f = fixture();
    ok(&["db", "check", "--db", s(&f.db)]);
    let junk = f.dir.join("junk.backup.db");
    fs::write(&junk, vec![0x5a; 8192]).unwrap();
    let err = fails(&["db", "check", s(&junk)]);
    assert!(
        err.contains("is damaged") && err.contains("another backup"),
        "{err}"
    );
    let err = fails(&["db", "check", "--db", s(&junk)]);
    assert!(err.contains("orion-admin db restore"), "{err}");
}

#[test]
fn restore_replaces_the_database_and_is_refused_while_running() {
    let _serial = serial();
    let f = fixture();
    let dir = f.dir.join("bk");
    Database::open(&f.db)
        .unwrap()
        .audit(&entry("in backup"))
        .unwrap();
    ok(&["db", "backup", "--db", s(&f.db), "--to", s(&dir)]);
    let backup = fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
    Database::open(&f.db)
        .unwrap()
        .audit(&entry("after backup"))
        .unwrap();

    // While the engine holds the database: refused, nothing changes.
    let engine = Database::open(&f.db).unwrap();
    let err = fails(&["db", "restore", "--db", s(&f.db), s(&backup)]);
    assert!(err.contains("stop the engine"), "{err}");
    drop(engine);
    assert!(details(&f.db).contains(&"after backup".to_string()));

    // A damaged backup is refused before anything is touched.
    let junk = f.dir.join("junk.backup.db");
    fs::write(&junk, vec![0x11; 4096]).unwrap();
    let err = fails(&["db", "restore", "--db", s(&f.db), s(&junk)]);
    assert!(err.contains("nothing was changed"), "{err}");
    let err = fails(&[
        "db",
        "restore",
        "--db",
        s(&f.db),
        s(&f.dir.join("absent.db")),
    ]);
    assert!(err.contains("no backup at"), "{err}");
    assert!(details(&f.db).contains(&"after backup".to_string()));

    let out = ok(&["db", "restore", "--db", s(&f.db), s(&backup)]);
    assert!(out.contains("pre-restore.bak"), "{out}");
    let now = details(&f.db);
    assert!(now.contains(&"in backup".to_string()), "{now:?}");
    assert!(!now.contains(&"after backup".to_string()), "{now:?}");
    // The replaced database was kept.
    let kept = f.dir.join("orion.db.pre-restore.bak");
    assert!(details(&kept).contains(&"after backup".to_string()));
    ok(&["db", "check", "--db", s(&f.db)]);
}

#[test]
fn breaker_status_reads_while_the_engine_runs() {
    let _serial = serial();
    let f = fixture();
    let out = ok(&["breaker", "status", "--db", s(&f.db)]);
    assert!(out.contains("active (no breaker state saved yet)"), "{out}");

    save_halted(&f.db);
    let _engine = Database::open(&f.db).unwrap();
    let out = ok(&["breaker", "status", "--db", s(&f.db)]);
    assert!(out.contains("HALTED"), "{out}");
    assert!(out.contains("daily loss $30"), "{out}");
    assert!(out.contains("since:"), "{out}");
    assert!(out.contains("consecutive failures: 1"), "{out}");
    assert!(out.contains("peak equity:          $1000.00"), "{out}");
    let json = ok(&["breaker", "status", "--db", s(&f.db), "--json"]);
    assert!(BreakerState::restore(json.trim()).unwrap().is_halted());
}

#[test]
fn breaker_reset_is_refused_while_the_engine_holds_the_lock() {
    let _serial = serial();
    let f = fixture();
    save_halted(&f.db);
    let engine = Database::open(&f.db).unwrap();
    let err = fails(&[
        "breaker",
        "reset",
        "--db",
        s(&f.db),
        "--reason",
        "looked into it",
    ]);
    assert!(
        err.contains("authenticated dashboard control path"),
        "{err}"
    );
    drop(engine);
    assert!(stored_state(&f.db).is_halted(), "nothing changed");
}

#[test]
fn breaker_reset_requires_a_reason_and_an_actor_and_is_audited() {
    let _serial = serial();
    let f = fixture();
    save_halted(&f.db);
    // No --reason: a usage error naming the option.
    let o = run(&["breaker", "reset", "--db", s(&f.db)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("--reason"));
    let err = fails(&["breaker", "reset", "--db", s(&f.db), "--reason", "  "]);
    assert!(err.contains("reason is empty"), "{err}");
    // No actor anywhere.
    let o = admin()
        .env_remove("USER")
        .args(["breaker", "reset", "--db", s(&f.db), "--reason", "ok"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("--actor"), "{}", text(&o).1);
    assert!(stored_state(&f.db).is_halted());

    // $USER is the default actor.
    let out = ok(&[
        "breaker",
        "reset",
        "--db",
        s(&f.db),
        "--reason",
        "stale balance; reconciled",
    ]);
    assert!(out.contains("breaker reset by tester"), "{out}");
    assert!(out.contains("daily loss"), "{out}");
    let state = stored_state(&f.db);
    assert!(state.allows_new_trades());
    assert_eq!(state.consecutive_failures(), 0);
    assert_eq!(state.last_reset().unwrap().actor, "tester");
    let log = Database::open_read_only(&f.db)
        .unwrap()
        .audit_log(10)
        .unwrap();
    assert_eq!(log[0].action, "breaker.reset");
    assert_eq!(log[0].actor, "tester");
    assert!(
        log[0].detail.contains("stale balance; reconciled"),
        "{}",
        log[0].detail
    );

    // Again: idempotent, no new audit entry.
    let out = ok(&[
        "breaker",
        "reset",
        "--db",
        s(&f.db),
        "--reason",
        "again",
        "--actor",
        "dora",
    ]);
    assert!(out.contains("already active; nothing changed"), "{out}");
    let after = Database::open_read_only(&f.db)
        .unwrap()
        .audit_log(10)
        .unwrap();
    assert_eq!(after.len(), log.len());

    let out = ok(&["breaker", "status", "--db", s(&f.db)]);
    assert!(out.contains("state:                active"), "{out}");
    assert!(
        out.contains("last reset:") && out.contains("by tester"),
        "{out}"
    );
    assert!(out.contains("breaker.reset by tester"), "{out}");
}

#[test]
fn breaker_reset_recovers_an_unreadable_state() {
    let _serial = serial();
    let f = fixture();
    Database::open(&f.db)
        .unwrap()
        .save_breaker(
            &BreakerRecord {
                state: "halted".into(),
                data: "{\"version\":99}".into(),
                updated_at: Timestamp::from_secs(1),
            },
            None,
        )
        .unwrap();
    let err = fails(&["breaker", "status", "--db", s(&f.db)]);
    assert!(
        err.contains("unreadable") && err.contains("breaker reset"),
        "{err}"
    );
    let out = ok(&[
        "breaker",
        "reset",
        "--db",
        s(&f.db),
        "--reason",
        "rewrite",
        "--actor",
        "eve",
    ]);
    assert!(out.contains("wrote a fresh active state"), "{out}");
    assert!(stored_state(&f.db).allows_new_trades());
}
