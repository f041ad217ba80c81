//! The configuration's bad-input matrix: one row per malformed document
//! (truncated, wrong types, missing and unknown keys, huge and negative
//! numbers, too many decimals, out of range, non-ASCII, very long strings),
//! each naming the key path the problem must carry and a fragment of its
//! message. Every row is an error value, never a panic, and the problem
//! names the right key.

use orion_config::Config;

/// (name, TOML text, key of the problem, fragment of its message)
type Row = (&'static str, String, &'static str, &'static str);

fn rows() -> Vec<Row> {
    let long = "a".repeat(100_000);
    vec![
        (
            "truncated string",
            "[engine]\nmode = \"dry".into(),
            "line 2",
            "TOML syntax error",
        ),
        (
            "truncated table header",
            "[engine\nmode = \"dry-run\"\n".into(),
            "line 1",
            "TOML syntax error",
        ),
        (
            "duplicate key",
            "[engine]\nmode = \"live\"\nmode = \"dry-run\"\n".into(),
            // The parser points at the first definition.
            "line 2",
            "duplicate key",
        ),
        (
            "string for an integer",
            "[risk]\nmax_open_positions = \"20\"\n".into(),
            "risk.max_open_positions",
            "integer",
        ),
        (
            "float for money",
            "[detection]\nmin_edge = 0.01\n".into(),
            "detection.min_edge",
            "quoted decimal string",
        ),
        (
            "integer for a boolean",
            "[engine]\nauto_execute = 1\n".into(),
            "engine.auto_execute",
            "true or false",
        ),
        (
            "table for a string",
            "[engine]\nmode = { a = 1 }\n".into(),
            "engine.mode",
            "dry-run",
        ),
        (
            "unknown key",
            "[risk]\nmax_open_position = 3\n".into(),
            "risk.max_open_position",
            "unknown",
        ),
        (
            "unknown section",
            "[riks]\nmax_open_positions = 3\n".into(),
            "riks",
            "unknown",
        ),
        (
            "missing key a choice requires",
            "[vault]\npassword_source = \"fd\"\n".into(),
            "vault.password_fd",
            "required",
        ),
        (
            "integer beyond i64",
            "[risk]\nmax_open_positions = 99999999999999999999\n".into(),
            "line 2",
            "TOML syntax error",
        ),
        (
            "integer beyond u32",
            "[engine]\nproposal_min_score_bps = 4294967296\n".into(),
            "engine.proposal_min_score_bps",
            "",
        ),
        (
            "negative timeout",
            "[venues.kalshi]\nrequest_timeout_ms = -1\n".into(),
            "venues.kalshi.request_timeout_ms",
            "",
        ),
        (
            "negative money",
            "[risk]\nmax_exposure_per_event = \"-5\"\n".into(),
            "risk.max_exposure_per_event",
            "",
        ),
        (
            "too many decimals",
            "[detection]\nmin_edge = \"0.0000001\"\n".into(),
            "detection.min_edge",
            "decimal",
        ),
        (
            "price above $1",
            "[detection]\nmin_edge = \"1.5\"\n".into(),
            "detection.min_edge",
            "",
        ),
        (
            "fraction above 1",
            "[risk]\nmax_drawdown = \"1.5\"\n".into(),
            "risk.max_drawdown",
            "",
        ),
        (
            "score above 10000 bps",
            "[engine]\nproposal_min_score_bps = 10001\n".into(),
            "engine.proposal_min_score_bps",
            "",
        ),
        (
            "zero where at least 1 is needed",
            "[storage]\nbackup_keep = 0\n".into(),
            "storage.backup_keep",
            "",
        ),
        (
            "non-ASCII choice",
            "[engine]\nmode = \"dry-rün\"\n".into(),
            "engine.mode",
            "dry-run",
        ),
        (
            "non-ASCII digits in money",
            "[detection]\nmin_profit = \"٢.50\"\n".into(),
            "detection.min_profit",
            "",
        ),
        (
            "very long choice",
            format!("[engine]\nmode = \"{long}\"\n"),
            "engine.mode",
            "dry-run",
        ),
        (
            "very long money string",
            format!("[detection]\nmin_profit = \"1.{long}\"\n"),
            "detection.min_profit",
            "",
        ),
        (
            "not a URL",
            "[venues.kalshi]\nrest_url = \"external-api.kalshi.com\"\n".into(),
            "venues.kalshi.rest_url",
            "expected a URL",
        ),
        (
            "very long URL",
            format!("[venues.kalshi]\nrest_url = \"{long}\"\n"),
            "venues.kalshi.rest_url",
            "expected a URL",
        ),
        (
            "very long address",
            format!("[telemetry]\nlisten = \"{long}\"\n"),
            "telemetry.listen",
            "IP address and port",
        ),
        (
            "not an address",
            "[telemetry]\nlisten = \"localhost:port\"\n".into(),
            "telemetry.listen",
            "",
        ),
    ]
}

#[test]
fn bad_configuration_rows_name_their_key() {
    let mut failures = Vec::new();
    let rows = rows();
    for (name, text, key, fragment) in &rows {
        let parsed = std::panic::catch_unwind(|| Config::parse(text, "bad.toml"));
        let err = match parsed {
            Err(_) => {
                failures.push(format!("{name}: panicked"));
                continue;
            }
            Ok(Ok(_)) => {
                failures.push(format!("{name}: accepted"));
                continue;
            }
            Ok(Err(e)) => e,
        };
        match err.problems.iter().find(|p| p.key == *key) {
            None => failures.push(format!("{name}: no problem at {key}: {err}")),
            Some(p) if !p.message.contains(fragment) => {
                failures.push(format!("{name}: {key}: message lacks {fragment:?}: {p}"))
            }
            Some(p) if p.message.len() > 2_000 => failures.push(format!(
                "{name}: message echoes the input: {} bytes",
                p.message.len()
            )),
            Some(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
