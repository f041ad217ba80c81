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
