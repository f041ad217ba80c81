//! The backtest binary's command line, run as a quant would.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use std::process::Command;

fn backtest() -> Command {
    Command::new(env!("CARGO_BIN_EXE_orion-backtest"))
}

const SAMPLE: &str = "{\"venue\":\"kalshi\",\"instrument\":\"KXFED-26DEC-T4.00\",\"type\":\"snapshot\",\"seq\":1,\"received_ns\":1789653600000000000,\"bids\":[[\"0.40\",\"10\"]],\"asks\":[[\"0.42\",\"5.5\"]]}\n\
{\"venue\":\"kalshi\",\"instrument\":\"KXFED-26DEC-T4.00\",\"type\":\"delta\",\"seq\":2,\"received_ns\":1789653601000000000,\"updates\":[{\"side\":\"bid\",\"price\":\"0.40\",\"change\":\"-3.5\"}]}\n";

#[test]
fn convert_round_trip_and_inspect() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("in.jsonl");
    std::fs::write(&jsonl, SAMPLE).unwrap();
    let orec = dir.path().join("out.orec");
    let out = backtest()
        .args(["convert", "--from"])
        .arg(&jsonl)
        .arg("--to")
        .arg(&orec)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("wrote 2 events"));

    let back = dir.path().join("back.jsonl");
    let out = backtest()
        .args(["convert", "--from"])
        .arg(&orec)
        .arg("--to")
        .arg(&back)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&back).unwrap(), SAMPLE);

    let out = backtest().arg("inspect").arg(&orec).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("events:      2 (1 snapshots, 1 deltas)"),
        "{text}"
    );
    assert!(text.contains("kalshi:KXFED-26DEC-T4.00  2"), "{text}");
}

#[test]
fn refuses_to_overwrite_and_reports_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("in.jsonl");
    std::fs::write(&jsonl, "{\"venue\":\"kalshi\"}\n").unwrap();
    let orec = dir.path().join("out.orec");
    let out = backtest()
        .args(["convert", "--from"])
        .arg(&jsonl)
        .arg("--to")
        .arg(&orec)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 1"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !orec.exists(),
        "a failed conversion must not leave a partial file"
    );
    std::fs::write(&orec, b"existing").unwrap();
    let out = backtest()
        .args(["convert", "--from"])
        .arg(&jsonl)
        .arg("--to")
        .arg(&orec)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("must not exist"));
    let out = backtest().arg("inspect").arg(&jsonl).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn generate_then_scan_finds_the_planted_edges() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("synth.orec");
    let pairs = dir.path().join("pairs.json");
    let out = backtest()
        .args(["generate", "--out"])
        .arg(&rec)
        .arg("--pairs-out")
        .arg(&pairs)
        .args([
            "--pairs",
            "8",
            "--events",
            "20000",
            "--seed",
            "5",
            "--planted",
            "2",
            "--fake",
            "2",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("wrote 20000 events for 8 pairs"));
    let report = dir.path().join("report.json");
    let out = backtest()
        .args(["scan", "--recording"])
        .arg(&rec)
        .arg("--pairs")
        .arg(&pairs)
        .arg("--out")
        .arg(&report)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("M events/s"));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["events"], 20000);
    assert_eq!(report["episodes"], 2, "{report}");
    // The same scan twice gives the same report, byte for byte.
    let again = dir.path().join("again.json");
    backtest()
        .args(["scan", "--recording"])
        .arg(&rec)
        .arg("--pairs")
        .arg(&pairs)
        .arg("--out")
        .arg(&again)
        .output()
        .unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("report.json")).unwrap(),
        std::fs::read(&again).unwrap()
    );
}
