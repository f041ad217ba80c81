#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `orion-backtest run` and `sweep` from the command line: reports written,
//! the same bytes for the same seed, the best sweep row marked.

use std::path::Path;
use std::process::Command;

fn backtest() -> Command {
    Command::new(env!("CARGO_BIN_EXE_orion-backtest"))
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn generate(dir: &Path) {
    ok(&backtest()
        .args([
            "generate", "--pairs", "10", "--events", "20000", "--seed", "5",
        ])
        .args(["--planted", "3", "--fake", "3", "--out"])
        .arg(dir.join("s.orec"))
        .arg("--pairs-out")
        .arg(dir.join("p.json"))
        .output()
        .unwrap());
}

fn run(dir: &Path, out: &str, extra: &[&str]) -> String {
    ok(&backtest()
        .arg("run")
        .arg("--recording")
        .arg(dir.join("s.orec"))
        .arg("--pairs")
        .arg(dir.join("p.json"))
        .arg("--out")
        .arg(dir.join(out))
        .args(extra)
        .output()
        .unwrap())
}

#[test]
fn run_writes_the_same_report_for_the_same_seed() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path());
    let args = [
        "--seed",
        "3",
        "--kalshi-latency-ms",
        "40:30",
        "--partial-fill-prob",
        "0.3",
        "--reject-prob",
        "0.05",
    ];
    let printed = run(dir.path(), "a", &args);
    run(dir.path(), "b", &args);
    assert!(printed.contains("throughput:"), "{printed}");
    for name in ["summary.txt", "trades.csv", "report.html"] {
        let a = std::fs::read(dir.path().join("a").join(name)).unwrap();
        let b = std::fs::read(dir.path().join("b").join(name)).unwrap();
        assert!(!a.is_empty(), "{name} is empty");
        assert!(a == b, "{name} differs between two runs of one seed");
    }
    let trades = std::fs::read_to_string(dir.path().join("a/trades.csv")).unwrap();
    assert!(trades.lines().count() > 1, "no trades: {trades}");
    // The summary printed is the summary written.
    let summary = std::fs::read_to_string(dir.path().join("a/summary.txt")).unwrap();
    assert!(printed.starts_with(&summary));

    let bad = backtest()
        .arg("run")
        .arg("--recording")
        .arg(dir.path().join("s.orec"))
        .arg("--pairs")
        .arg(dir.path().join("p.json"))
        .args(["--out", "x", "--reject-prob", "1.5"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--reject-prob"));
}

#[test]
fn sweep_tabulates_every_combination_and_marks_the_best() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path());
    let printed = ok(&backtest()
        .arg("sweep")
        .arg("--recording")
        .arg(dir.path().join("s.orec"))
        .arg("--pairs")
        .arg(dir.path().join("p.json"))
        .arg("--out")
        .arg(dir.path().join("sw"))
        .args([
            "--grid",
            "min_edge=0.01,0.5;kalshi_latency_ms=20,100",
            "--threads",
            "2",
        ])
        .output()
        .unwrap());
    let table = std::fs::read_to_string(dir.path().join("sw/sweep.txt")).unwrap();
    assert!(printed.contains(&table));
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.contains("0.01 ") || l.contains("0.5 "))
        .collect();
    assert_eq!(rows.len(), 4, "{table}");
    // An edge threshold of $0.50 finds nothing; the best row is a 0.01 one.
    let best: Vec<&&str> = rows.iter().filter(|l| l.starts_with('*')).collect();
    assert_eq!(best.len(), 1, "{table}");
    assert!(best[0].contains("0.01"), "{table}");
    assert!(dir.path().join("sw/sweep.html").exists());
    assert!(dir.path().join("sw/sweep.csv").exists());
}

/// The pair ids of `generate`'s pairs file, and of its real planted edges.
fn generated_ids(dir: &Path) -> (Vec<String>, Vec<String>) {
    let generated: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("p.json")).unwrap()).unwrap();
    let ids = |list: &serde_json::Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|p| p["pair_id"].as_str().unwrap().to_string())
            .collect()
    };
    let planted: Vec<serde_json::Value> = generated["planted"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["real"] == true)
        .cloned()
        .collect();
    (
        ids(&generated["pairs"]),
        ids(&serde_json::Value::from(planted)),
    )
}

/// A database with `confirmed` pairs confirmed and `proposed` left proposed.
fn pairs_db(path: &Path, confirmed: &[&str], proposed: &[&str]) {
    let mut db = orion_storage::Database::open(path).unwrap();
    let at = orion_core::Timestamp::from_secs(1_800_000_000);
    for id in confirmed.iter().chain(proposed) {
        db.upsert_proposal(&orion_storage::PairRecord {
            pair_id: (*id).to_string(),
            kalshi_ticker: format!("K-{id}"),
            polymarket_condition_id: format!("0x{id}"),
            polymarket_yes_token: format!("{id}-yes"),
            polymarket_no_token: format!("{id}-no"),
            inverted: false,
            score_bps: 9_000,
            flags: vec![],
            reasons: vec![],
            status: orion_storage::PairStatus::Proposed,
            decided_by: None,
            decided_at: None,
            created_at: at,
        })
        .unwrap();
    }
    for id in confirmed {
        db.set_pair_status(id, orion_storage::PairStatus::Confirmed, "test", at)
            .unwrap();
    }
}

/// `scan --out` over the generated recording: the pairs with detections.
fn scanned(dir: &Path, name: &str, extra: &[&str]) -> (Vec<String>, String) {
    let out = backtest()
        .arg("scan")
        .arg("--recording")
        .arg(dir.join("s.orec"))
        .arg("--pairs")
        .arg(dir.join("p.json"))
        .arg("--out")
        .arg(dir.join(name))
        .args(extra)
        .output()
        .unwrap();
    ok(&out);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap();
    let pairs = report["pairs"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, f)| f["detections"].as_u64().unwrap() > 0)
        .map(|(id, _)| id.clone())
        .collect();
    (pairs, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn db_keeps_only_confirmed_pairs_and_names_a_confirmed_pair_without_a_spec() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path());
    let (all, mut planted) = generated_ids(dir.path());
    planted.sort();
    planted.dedup();
    assert!(planted.len() >= 2, "{planted:?}");
    let (keep, drop) = (planted[0].as_str(), planted[1].as_str());

    // Without --db both planted pairs are found.
    let (found, _) = scanned(dir.path(), "all.json", &[]);
    assert!(found.iter().any(|p| p == keep) && found.iter().any(|p| p == drop));

    let db = dir.path().join("orion.db");
    pairs_db(&db, &[keep], &[drop]);
    let db_arg = db.to_str().unwrap();
    let (found, stderr) = scanned(dir.path(), "confirmed.json", &["--db", db_arg]);
    assert_eq!(found, vec![keep.to_string()]);
    assert!(
        stderr.contains(&format!("{} pair spec(s) skipped", all.len() - 1)),
        "{stderr}"
    );
    assert!(stderr.contains(drop), "{stderr}");

    // The same restriction in `run`: trades only on the confirmed pair
    // (without --db the other one trades too).
    run(dir.path(), "bt-all", &[]);
    let trades = std::fs::read_to_string(dir.path().join("bt-all/trades.csv")).unwrap();
    assert!(trades.contains(drop), "{trades}");
    run(dir.path(), "bt", &["--db", db_arg]);
    let trades = std::fs::read_to_string(dir.path().join("bt/trades.csv")).unwrap();
    assert!(trades.lines().count() > 1, "{trades}");
    assert!(!trades.contains(drop), "{trades}");

    // A confirmed pair the pairs file does not specify is an error naming it.
    let db2 = dir.path().join("other.db");
    pairs_db(&db2, &[keep, "KX-MISSING-PAIR"], &[]);
    let out = backtest()
        .arg("run")
        .arg("--recording")
        .arg(dir.path().join("s.orec"))
        .arg("--pairs")
        .arg(dir.path().join("p.json"))
        .arg("--db")
        .arg(&db2)
        .arg("--out")
        .arg(dir.path().join("never"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("KX-MISSING-PAIR"), "{stderr}");
    assert!(
        !stderr.contains(keep),
        "only the missing pair is named: {stderr}"
    );
    assert!(!dir.path().join("never").exists());
}

#[test]
fn a_recording_directory_with_pairs_json_needs_no_pairs_flag() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path());
    let rec = dir.path().join("recordings");
    std::fs::create_dir(&rec).unwrap();
    std::fs::rename(dir.path().join("s.orec"), rec.join("orion-1.orec")).unwrap();
    let replay = |out: &str| {
        backtest()
            .arg("run")
            .arg("--recording")
            .arg(&rec)
            .arg("--out")
            .arg(dir.path().join(out))
            .output()
            .unwrap()
    };

    // Without pairs.json (and without --pairs) there is nothing to replay.
    let out = replay("none");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--pairs is required"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The engine writes a plain array of specs.
    let generated: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("p.json")).unwrap()).unwrap();
    std::fs::write(rec.join("pairs.json"), generated["pairs"].to_string()).unwrap();
    let out = replay("bt");
    ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("pairs.json"),
        "says where the pairs came from"
    );
    let from_dir = std::fs::read(dir.path().join("bt/trades.csv")).unwrap();
    assert!(String::from_utf8_lossy(&from_dir).lines().count() > 1);

    // The same report as with the pairs given explicitly.
    ok(&backtest()
        .arg("run")
        .arg("--recording")
        .arg(&rec)
        .arg("--pairs")
        .arg(dir.path().join("p.json"))
        .arg("--out")
        .arg(dir.path().join("explicit"))
        .output()
        .unwrap());
    let explicit = std::fs::read(dir.path().join("explicit/trades.csv")).unwrap();
    assert!(from_dir == explicit, "trades differ");
}
