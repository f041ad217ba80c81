//! The engine binary's command line, run as an operator would.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use std::path::PathBuf;
use std::process::Command;

fn repo_file(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn engine() -> Command {
    Command::new(env!("CARGO_BIN_EXE_orion-engine"))
}

#[test]
fn check_config_accepts_the_example() {
    let out = engine()
        .args(["check-config", "--config"])
        .arg(repo_file("config/orion.example.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok (mode dry-run"));
}

#[test]
fn check_config_reports_all_three_mistakes() {
    let out = engine()
        .args(["check-config", "--config"])
        .arg(repo_file(
            "crates/orion-config/tests/fixtures/three_mistakes.toml",
        ))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("3 problems"), "{stderr}");
    for key in [
        "engine.mode:",
        "risk.max_open_positions:",
        "detection.min_edgee:",
    ] {
        assert!(stderr.contains(key), "missing {key} in {stderr}");
    }
}

#[test]
fn help_lists_subcommands() {
    let out = engine().arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("check-config"));
}

#[test]
fn demo_runs_detects_trades_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let out = engine()
        .args([
            "demo",
            "--duration",
            "8",
            "--telemetry",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("telemetry:"), "{stdout}");
    let all = format!("{stdout}{stderr}");
    assert!(all.contains("opportunity detected"), "{all}");
    assert!(all.contains("traded"), "{all}");
    assert!(stdout.contains("summary:"), "{stdout}");
    assert!(dir.path().join("orion.db").exists());
}

#[test]
fn run_refuses_live_without_acknowledgement() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("live.toml");
    std::fs::write(&config, "[engine]\nmode = \"live\"\nauto_execute = true\n").unwrap();
    let out = engine()
        .args(["run", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("live_acknowledged"), "{stderr}");
}

#[test]
fn sigint_stops_the_demo_gracefully() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = engine()
        .args(["demo", "--telemetry", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Running: the telemetry line is printed once everything has started.
    for line in lines.by_ref() {
        if line.unwrap().starts_with("telemetry:") {
            break;
        }
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}: {rest:?}");
    assert!(rest.iter().any(|l| l.starts_with("stopping:")), "{rest:?}");
    assert!(rest.iter().any(|l| l.starts_with("summary:")), "{rest:?}");
}
