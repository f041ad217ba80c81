//! The configuration written back as TOML: every key of the schema, in
//! configuration syntax, and parsed back to the same configuration.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use std::collections::BTreeSet;
use std::path::PathBuf;

use orion_config::{
    Config, KalshiLegTif, KalshiTier, LogFormat, Mode, PairSource, PasswordSource,
    PolymarketLegType,
};
use orion_core::{Cash, Fraction, Price, Quantity};

fn repo_file(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn round_trips(config: &Config) {
    let text = config.to_toml_string();
    let back = Config::parse(&text, "rendered").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(&back, config, "{text}");
}

#[test]
fn defaults_and_the_example_round_trip() {
    round_trips(&Config::defaults());
    let example = Config::load(&repo_file("config/orion.example.toml")).unwrap();
    round_trips(&example);
}

#[test]
fn every_schema_key_is_rendered_once() {
    let config = Config::defaults();
    let rendered: Vec<String> = config.rendered_keys().iter().map(|k| k.path()).collect();
    let unique: BTreeSet<String> = rendered.iter().cloned().collect();
    assert_eq!(unique.len(), rendered.len(), "a key twice: {rendered:?}");
    // The schema lists tables too (`venues`, `venues.kalshi`): keep leaves.
    let all = Config::schema_keys();
    let schema: BTreeSet<String> = all
        .iter()
        .filter(|k| !all.iter().any(|o| o.starts_with(&format!("{k}."))))
        .cloned()
        .collect();
    assert_eq!(unique, schema);
}

#[test]
fn values_are_written_as_an_operator_writes_them() {
    let text = Config::defaults().to_toml_string();
    for line in [
        "[engine]\nmode = \"dry-run\"\n",
        "pairs = \"confirmed\"",
        "[venues.kalshi]\nenabled = true\n",
        "tier = \"basic\"",
        "pin_spki_sha256 = []",
        "[detection]\nmin_edge = \"0.01\"\nmin_profit = \"0.50\"\nslippage = \"0.005\"\n",
        "max_drawdown = \"0.05\"",
        "max_exposure_per_pair = \"250.00\"",
        "min_trade_contracts = \"1.00\"",
        "kalshi_time_in_force = \"fill_or_kill\"",
        "polymarket_order_type = \"FOK\"",
        "listen = \"127.0.0.1:8080\"",
        "password_fd = -1",
    ] {
        assert!(text.contains(line), "{line:?} not in\n{text}");
    }
    assert!(!text.contains("DryRun") && !text.contains('$'), "{text}");
}

/// Every field away from its default (and still valid), so a field
/// rendered from the wrong place or in the wrong form cannot pass.
#[test]
fn a_config_unlike_the_defaults_round_trips() {
    let mut c = Config::defaults();
    c.engine.mode = Mode::Live;
    c.engine.live_acknowledged = true;
    c.engine.auto_execute = true;
    c.engine.data_dir = PathBuf::from("/var/lib/orion \"quoted\"\\dir");
    c.engine.pairs = PairSource::Confirmed;
    c.engine.proposal_min_score_bps = 9_500;
    c.kalshi.rest_url = "http://127.0.0.1:1/trade-api/v2".into();
    c.kalshi.ws_url = "ws://127.0.0.1:2/ws".into();
    c.kalshi.tier = KalshiTier::Prime;
    c.kalshi.key_id_secret = "k.id".into();
    c.kalshi.private_key_secret = "k.pem".into();
    c.kalshi.request_timeout_ms = 1_234;
    c.kalshi.max_book_age_ms = 4_321;
    c.kalshi.pin_spki_sha256 = vec!["A".repeat(43) + "="];
    c.polymarket.clob_url = "https://clob.example".into();
    c.polymarket.ws_url = "wss://ws.example/market".into();
    c.polymarket.gamma_url = "https://gamma.example".into();
    c.polymarket.chain_id = 80002;
    c.polymarket.signature_type = 2;
    c.polymarket.private_key_secret = "p.key".into();
    c.polymarket.api_key_secret = "p.api".into();
    c.polymarket.api_secret_secret = "p.secret".into();
    c.polymarket.api_passphrase_secret = "p.pass".into();
    c.polymarket.funder_secret = "p.funder".into();
    c.polymarket.request_timeout_ms = 999;
    c.polymarket.max_book_age_ms = 777;
    c.polymarket.pin_spki_sha256 = vec!["B".repeat(43) + "=", "C".repeat(43) + "="];
    c.detection.min_edge = Price::parse("0.015").unwrap();
    c.detection.min_profit = Cash::parse("1.234567").unwrap();
    c.detection.slippage = Price::parse("0.000001").unwrap();
    c.detection.horizon_days = 3_650;
    c.detection.min_edge_beyond_horizon = Price::parse("0.5").unwrap();
    c.matching.close_time_tolerance_hours = 1;
    c.matching.min_score_bps = 10_000;
    c.risk.daily_loss_limit = Fraction::parse("0.333333").unwrap();
    c.risk.max_drawdown = Fraction::parse("0.1").unwrap();
    c.risk.max_consecutive_failures = 7;
    c.risk.max_unwind_loss = Cash::parse("12.34").unwrap();
    c.risk.reserve_fraction = Fraction::parse("0").unwrap();
    c.risk.max_trade_fraction = Fraction::parse("0.25").unwrap();
    c.risk.min_trade_contracts = Quantity::parse("5.5").unwrap();
    c.risk.max_open_positions = 3;
    c.risk.max_exposure_per_event = Cash::parse("4000").unwrap();
    c.risk.max_exposure_per_pair = Cash::parse("2000.01").unwrap();
    c.risk.max_days_to_resolution = 3_650;
    c.execution.leg_timeout_ms = 60_000;
    c.execution.max_repair_attempts = 0;
    c.execution.max_unwind_loss_per_trade = Cash::parse("0.01").unwrap();
    c.execution.kalshi_time_in_force = KalshiLegTif::ImmediateOrCancel;
    c.execution.polymarket_order_type = PolymarketLegType::Fak;
    c.storage.database = PathBuf::from("db/orion.sqlite");
    c.storage.backup_dir = PathBuf::from("b");
    c.storage.backup_keep = 1;
    c.telemetry.listen = "[::1]:9999".parse().unwrap();
    c.telemetry.log_format = LogFormat::Json;
    c.telemetry.log_level = "trace".into();
    c.dashboard.enabled = false;
    c.dashboard.listen = "127.0.0.1:0".parse().unwrap();
    c.dashboard.allow_non_loopback = true;
    c.dashboard.session_idle_timeout_s = 60;
    c.dashboard.session_absolute_timeout_s = 60;
    c.alerts.telegram_enabled = true;
    c.alerts.telegram_token_secret = "t.tok".into();
    c.alerts.telegram_chat_id_secret = "t.chat".into();
    c.alerts.webhook_enabled = true;
    c.alerts.webhook_url_secret = "w.url".into();
    c.alerts.coalesce_window_s = 0;
    c.alerts.max_per_minute = 600;
    c.alerts.telegram_api_url = "http://127.0.0.1:3".into();
    c.alerts.telegram_commands_enabled = false;
    c.alerts.telegram_error_chat_id_secret = "t.err".into();
    c.alerts.webhook_error_url_secret = "w.err".into();
    c.recording.enabled = false;
    c.recording.dir = PathBuf::from("rec");
    c.recording.rotate_mb = 1;
    c.recording.rotate_minutes = 10_080;
    c.vault.path = PathBuf::from("v.vault");
    c.vault.password_source = PasswordSource::Fd;
    c.vault.password_env = "X".into();
    c.vault.password_fd = Some(3);
    // Still a valid configuration (else the round trip proves nothing).
    let text = c.to_toml_string();
    Config::parse(&text, "changed").unwrap_or_else(|e| panic!("{e}\n{text}"));
    round_trips(&c);
    // And every rendered value differs from the default's.
    let defaults = Config::defaults().rendered_keys();
    for (mine, default) in c.rendered_keys().iter().zip(&defaults) {
        // Live allows only confirmed pairs; both venues must be enabled.
        if [
            "engine.pairs",
            "venues.kalshi.enabled",
            "venues.polymarket.enabled",
        ]
        .contains(&mine.path().as_str())
        {
            continue;
        }
        assert_ne!(
            mine.value,
            default.value,
            "{} left at its default",
            mine.path()
        );
    }
}
