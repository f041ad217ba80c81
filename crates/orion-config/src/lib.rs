//! Orion's configuration: the TOML schema, its defaults, and validation that
//! reports every problem at once.
//!
//! This crate owns the typed [`Config`] every binary loads and the domain
//! crates read their sections from. Money, prices and fractions are written as
//! quoted decimal strings and parsed exactly into `orion-core` types. Loading
//! collects *all* problems — syntax, unknown keys, wrong types, out-of-range
//! values and contradictory settings — each with its key path and what is
//! allowed. Secrets are never in the configuration, only the names under which
//! the vault holds them. `config/orion.example.toml` documents every key.

mod reader;
mod render;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use orion_core::{Cash, Fraction, Price, Quantity};
use thiserror::Error;

pub use reader::{Problem, Reader, Section};
pub use render::RenderedKey;

/// How the engine acts on what it sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Detect and record; orders never reach a venue (simulated fills are kept apart).
    DryRun,
    /// Detect and alert only.
    AlertOnly,
    /// Trade with real money.
    Live,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::DryRun => "dry-run",
            Mode::AlertOnly => "alert-only",
            Mode::Live => "live",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which pairs the engine may trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PairSource {
    /// Only pairs an operator confirmed (required live).
    Confirmed,
    /// Confirmed pairs plus proposals scoring at least `proposal_min_score_bps`
    /// (dry-run and alert-only only).
    Proposals,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    pub mode: Mode,
    pub auto_execute: bool,
    pub live_acknowledged: bool,
    pub data_dir: PathBuf,
    pub pairs: PairSource,
    pub proposal_min_score_bps: u32,
}

/// Kalshi API usage tiers (rate-limit budgets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KalshiTier {
    Basic,
    Advanced,
    Premier,
    Paragon,
    Prime,
}

impl KalshiTier {
    /// (read tokens/s, write tokens/s), as Kalshi documents them.
    pub fn token_rates(self) -> (u32, u32) {
        match self {
            KalshiTier::Basic => (200, 100),
            KalshiTier::Advanced => (300, 300),
            KalshiTier::Premier => (1_000, 1_000),
            KalshiTier::Paragon => (2_000, 2_000),
            KalshiTier::Prime => (4_000, 4_000),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KalshiConfig {
    pub enabled: bool,
    pub rest_url: String,
    pub ws_url: String,
    pub tier: KalshiTier,
    pub key_id_secret: String,
    pub private_key_secret: String,
    pub request_timeout_ms: u64,
    pub max_book_age_ms: u64,
    pub pin_spki_sha256: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolymarketConfig {
    pub enabled: bool,
    pub clob_url: String,
    pub ws_url: String,
    pub gamma_url: String,
    pub chain_id: u64,
    pub signature_type: u8,
    pub private_key_secret: String,
    pub api_key_secret: String,
    pub api_secret_secret: String,
    pub api_passphrase_secret: String,
    pub funder_secret: String,
    pub request_timeout_ms: u64,
    pub max_book_age_ms: u64,
    pub pin_spki_sha256: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectionConfig {
    pub min_edge: Price,
    pub min_profit: Cash,
    pub slippage: Price,
    pub horizon_days: u32,
    pub min_edge_beyond_horizon: Price,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchingConfig {
    pub close_time_tolerance_hours: u32,
    pub min_score_bps: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskConfig {
    pub daily_loss_limit: Fraction,
    pub max_drawdown: Fraction,
    pub max_consecutive_failures: u32,
    pub max_unwind_loss: Cash,
    pub reserve_fraction: Fraction,
    pub max_trade_fraction: Fraction,
    pub min_trade_contracts: Quantity,
    pub max_open_positions: u32,
    pub max_exposure_per_event: Cash,
    pub max_exposure_per_pair: Cash,
    pub max_days_to_resolution: u32,
}

/// Kalshi leg order type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KalshiLegTif {
    FillOrKill,
    ImmediateOrCancel,
}

/// Polymarket leg order type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolymarketLegType {
    Fok,
    Fak,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionConfig {
    pub leg_timeout_ms: u64,
    pub max_repair_attempts: u32,
    pub max_unwind_loss_per_trade: Cash,
    pub kalshi_time_in_force: KalshiLegTif,
    pub polymarket_order_type: PolymarketLegType,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageConfig {
    pub database: PathBuf,
    pub backup_dir: PathBuf,
    pub backup_keep: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryConfig {
    pub listen: SocketAddr,
    pub log_format: LogFormat,
    pub log_level: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardConfig {
    pub enabled: bool,
    pub listen: SocketAddr,
    pub allow_non_loopback: bool,
    pub session_idle_timeout_s: u64,
    pub session_absolute_timeout_s: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertsConfig {
    pub telegram_enabled: bool,
    pub telegram_token_secret: String,
    pub telegram_chat_id_secret: String,
    pub webhook_enabled: bool,
    pub webhook_url_secret: String,
    pub coalesce_window_s: u64,
    pub max_per_minute: u32,
    /// Bot API root; tests point it at a fake server on loopback.
    pub telegram_api_url: String,
    /// Obey /status, /pause, /resume, /halt from the configured chat.
    pub telegram_commands_enabled: bool,
    /// Vault name of the chat for critical alerts; empty = the normal chat
    /// (still with its own budget).
    pub telegram_error_chat_id_secret: String,
    /// Vault name of the webhook URL for critical alerts; empty = the normal
    /// URL (still with its own budget).
    pub webhook_error_url_secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingConfig {
    pub enabled: bool,
    pub dir: PathBuf,
    pub rotate_mb: u64,
    pub rotate_minutes: u64,
}

/// Where the vault's master password comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PasswordSource {
    Prompt,
    Env,
    Fd,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultConfig {
    pub path: PathBuf,
    pub password_source: PasswordSource,
    pub password_env: String,
    pub password_fd: Option<u32>,
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub engine: EngineConfig,
    pub kalshi: KalshiConfig,
    pub polymarket: PolymarketConfig,
    pub detection: DetectionConfig,
    pub matching: MatchingConfig,
    pub risk: RiskConfig,
    pub execution: ExecutionConfig,
    pub storage: StorageConfig,
    pub telemetry: TelemetryConfig,
    pub dashboard: DashboardConfig,
    pub alerts: AlertsConfig,
    pub recording: RecordingConfig,
    pub vault: VaultConfig,
}

/// Everything wrong with a configuration.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct ConfigError {
    pub source_name: String,
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        writeln!(
            f,
            "{}: {n} problem{}:",
            self.source_name,
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

const fn price(micros: u32) -> Price {
    Price::from_micros_clamped(micros)
}

fn fraction(ppm: u32) -> Fraction {
    Fraction::from_ppm(ppm).unwrap_or(Fraction::ZERO)
}

impl Config {
    /// Parses configuration text; `source_name` labels errors (a file path).
    pub fn parse(text: &str, source_name: &str) -> Result<Config, ConfigError> {
        let table: toml::Table = match text.parse() {
            Ok(t) => t,
            Err(e) => {
                let key = e
                    .span()
                    .map(|span| {
                        let line = text[..span.start.min(text.len())].lines().count().max(1);
                        format!("line {line}")
                    })
                    .unwrap_or_else(|| "(file)".to_string());
                return Err(ConfigError {
                    source_name: source_name.to_string(),
                    problems: vec![Problem {
                        key,
                        message: format!("TOML syntax error: {}", e.message()),
                    }],
                });
            }
        };
        let mut r = Reader::new();
        let config = read(&mut r, &table);
        r.report_unknown(&table, "");
        let problems = r.into_problems();
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError {
                source_name: source_name.to_string(),
                problems,
            })
        }
    }

    /// Reads and parses a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text, &name),
            Err(e) => Err(ConfigError {
                source_name: name,
                problems: vec![Problem {
                    key: "(file)".into(),
                    message: format!("cannot read the file: {e}"),
                }],
            }),
        }
    }

    /// The configuration with every default (what an empty file gives).
    pub fn defaults() -> Config {
        let mut r = Reader::new();
        read(&mut r, &toml::Table::new())
    }

    /// Every key path of the schema.
    pub fn schema_keys() -> Vec<String> {
        let mut r = Reader::new();
        read(&mut r, &toml::Table::new());
        r.visited().iter().cloned().collect()
    }

    /// The database path, resolved against the data directory.
    pub fn database_path(&self) -> PathBuf {
        self.engine.data_dir.join(&self.storage.database)
    }
}

fn read(r: &mut Reader, table: &toml::Table) -> Config {
    let root = r.root(table);

    let s = r.section(root, "engine", "engine");
    let engine = EngineConfig {
        mode: r.choice(
            s,
            "mode",
            Mode::DryRun,
            &[
                ("dry-run", Mode::DryRun),
                ("alert-only", Mode::AlertOnly),
                ("live", Mode::Live),
            ],
        ),
        auto_execute: r.bool(s, "auto_execute", false),
        live_acknowledged: r.bool(s, "live_acknowledged", false),
        data_dir: r.path(s, "data_dir", "./orion-data"),
        pairs: r.choice(
            s,
            "pairs",
            PairSource::Confirmed,
            &[
                ("confirmed", PairSource::Confirmed),
                ("proposals", PairSource::Proposals),
            ],
        ),
        proposal_min_score_bps: r.uint(s, "proposal_min_score_bps", 9_000, 0, 10_000) as u32,
    };

    let venues = r.section(root, "venues", "venues");
    let s = r.section(venues, "kalshi", "venues.kalshi");
    let kalshi = KalshiConfig {
        enabled: r.bool(s, "enabled", true),
        rest_url: r.url(
            s,
            "rest_url",
            "https://external-api.kalshi.com/trade-api/v2",
            &["https", "http"],
        ),
        ws_url: r.url(
            s,
            "ws_url",
            "wss://external-api-ws.kalshi.com/trade-api/ws/v2",
            &["wss", "ws"],
        ),
        tier: r.choice(
            s,
            "tier",
            KalshiTier::Basic,
            &[
                ("basic", KalshiTier::Basic),
                ("advanced", KalshiTier::Advanced),
                ("premier", KalshiTier::Premier),
                ("paragon", KalshiTier::Paragon),
                ("prime", KalshiTier::Prime),
            ],
        ),
        key_id_secret: r.name(s, "key_id_secret", "kalshi.key_id"),
        private_key_secret: r.name(s, "private_key_secret", "kalshi.private_key_pem"),
        request_timeout_ms: r.uint(s, "request_timeout_ms", 5_000, 100, 60_000),
        max_book_age_ms: r.uint(s, "max_book_age_ms", 30_000, 100, 3_600_000),
        pin_spki_sha256: r.string_list(s, "pin_spki_sha256"),
    };
    check_pins(r, "venues.kalshi.pin_spki_sha256", &kalshi.pin_spki_sha256);

    let s = r.section(venues, "polymarket", "venues.polymarket");
    let polymarket = PolymarketConfig {
        enabled: r.bool(s, "enabled", true),
        clob_url: r.url(
            s,
            "clob_url",
            "https://clob.polymarket.com",
            &["https", "http"],
        ),
        ws_url: r.url(
            s,
            "ws_url",
            "wss://ws-subscriptions-clob.polymarket.com/ws/market",
            &["wss", "ws"],
        ),
        gamma_url: r.url(
            s,
            "gamma_url",
            "https://gamma-api.polymarket.com",
            &["https", "http"],
        ),
        chain_id: {
            let id = r.uint(s, "chain_id", 137, 0, u64::from(u32::MAX));
            if id != 137 && id != 80002 {
                r.problem(
                    "venues.polymarket.chain_id",
                    format!("expected 137 (Polygon) or 80002 (Amoy), found {id}"),
                );
            }
            id
        },
        signature_type: r.uint(s, "signature_type", 0, 0, 2) as u8,
        private_key_secret: r.name(s, "private_key_secret", "polymarket.private_key"),
        api_key_secret: r.name(s, "api_key_secret", "polymarket.api_key"),
        api_secret_secret: r.name(s, "api_secret_secret", "polymarket.api_secret"),
        api_passphrase_secret: r.name(s, "api_passphrase_secret", "polymarket.api_passphrase"),
        funder_secret: r.name(s, "funder_secret", "polymarket.funder_address"),
        request_timeout_ms: r.uint(s, "request_timeout_ms", 5_000, 100, 60_000),
        max_book_age_ms: r.uint(s, "max_book_age_ms", 30_000, 100, 3_600_000),
        pin_spki_sha256: r.string_list(s, "pin_spki_sha256"),
    };
    check_pins(
        r,
        "venues.polymarket.pin_spki_sha256",
        &polymarket.pin_spki_sha256,
    );

    let s = r.section(root, "detection", "detection");
    let detection = DetectionConfig {
        min_edge: r.price(s, "min_edge", price(10_000), Price::ZERO, price(500_000)),
        min_profit: r.cash(s, "min_profit", Cash::from_micros(500_000)),
        slippage: r.price(s, "slippage", price(5_000), Price::ZERO, price(100_000)),
        horizon_days: r.uint(s, "horizon_days", 60, 1, 3_650) as u32,
        min_edge_beyond_horizon: r.price(
            s,
            "min_edge_beyond_horizon",
            price(30_000),
            Price::ZERO,
            price(500_000),
        ),
    };

    let s = r.section(root, "matching", "matching");
    let matching = MatchingConfig {
        close_time_tolerance_hours: r.uint(s, "close_time_tolerance_hours", 36, 0, 24 * 365) as u32,
        min_score_bps: r.uint(s, "min_score_bps", 8_500, 0, 10_000) as u32,
    };

    let s = r.section(root, "risk", "risk");
    let risk = RiskConfig {
        daily_loss_limit: r.fraction(s, "daily_loss_limit", fraction(20_000)),
        max_drawdown: r.fraction(s, "max_drawdown", fraction(50_000)),
        max_consecutive_failures: r.uint(s, "max_consecutive_failures", 3, 1, 1_000) as u32,
        max_unwind_loss: r.cash(s, "max_unwind_loss", Cash::from_micros(25_000_000)),
        reserve_fraction: r.fraction(s, "reserve_fraction", fraction(100_000)),
        max_trade_fraction: r.fraction(s, "max_trade_fraction", fraction(50_000)),
        min_trade_contracts: r.quantity(s, "min_trade_contracts", Quantity::from_micros(1_000_000)),
        max_open_positions: r.uint(s, "max_open_positions", 20, 1, 100_000) as u32,
        max_exposure_per_event: r.cash(s, "max_exposure_per_event", Cash::from_micros(500_000_000)),
        max_exposure_per_pair: r.cash(s, "max_exposure_per_pair", Cash::from_micros(250_000_000)),
        max_days_to_resolution: r.uint(s, "max_days_to_resolution", 90, 1, 3_650) as u32,
    };

    let s = r.section(root, "execution", "execution");
    let execution = ExecutionConfig {
        leg_timeout_ms: r.uint(s, "leg_timeout_ms", 3_000, 100, 60_000),
        max_repair_attempts: r.uint(s, "max_repair_attempts", 3, 0, 20) as u32,
        max_unwind_loss_per_trade: r.cash(
            s,
            "max_unwind_loss_per_trade",
            Cash::from_micros(5_000_000),
        ),
        kalshi_time_in_force: r.choice(
            s,
            "kalshi_time_in_force",
            KalshiLegTif::FillOrKill,
            &[
                ("fill_or_kill", KalshiLegTif::FillOrKill),
                ("immediate_or_cancel", KalshiLegTif::ImmediateOrCancel),
            ],
        ),
        polymarket_order_type: r.choice(
            s,
            "polymarket_order_type",
            PolymarketLegType::Fok,
            &[
                ("FOK", PolymarketLegType::Fok),
                ("FAK", PolymarketLegType::Fak),
            ],
        ),
    };

    let s = r.section(root, "storage", "storage");
    let storage = StorageConfig {
        database: r.path(s, "database", "orion.db"),
        backup_dir: r.path(s, "backup_dir", "backups"),
        backup_keep: r.uint(s, "backup_keep", 7, 1, 1_000) as u32,
    };

    let s = r.section(root, "telemetry", "telemetry");
    let telemetry = TelemetryConfig {
        listen: r.socket_addr(s, "listen", SocketAddr::from(([127, 0, 0, 1], 9184))),
        log_format: r.choice(
            s,
            "log_format",
            LogFormat::Text,
            &[("text", LogFormat::Text), ("json", LogFormat::Json)],
        ),
        log_level: {
            let level = r.string(s, "log_level", "info");
            const LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];
            if !LEVELS.contains(&level.as_str()) {
                r.problem(
                    "telemetry.log_level",
                    format!("expected one of {}, found {level:?}", LEVELS.join(", ")),
                );
            }
            level
        },
    };

    let s = r.section(root, "dashboard", "dashboard");
    let dashboard = DashboardConfig {
        enabled: r.bool(s, "enabled", true),
        listen: r.socket_addr(s, "listen", SocketAddr::from(([127, 0, 0, 1], 8080))),
        allow_non_loopback: r.bool(s, "allow_non_loopback", false),
        session_idle_timeout_s: r.uint(s, "session_idle_timeout_s", 900, 60, 86_400),
        session_absolute_timeout_s: r.uint(s, "session_absolute_timeout_s", 43_200, 60, 7 * 86_400),
    };

    let s = r.section(root, "alerts", "alerts");
    let alerts = AlertsConfig {
        telegram_enabled: r.bool(s, "telegram_enabled", false),
        telegram_token_secret: r.name(s, "telegram_token_secret", "telegram.bot_token"),
        telegram_chat_id_secret: r.name(s, "telegram_chat_id_secret", "telegram.chat_id"),
        webhook_enabled: r.bool(s, "webhook_enabled", false),
        webhook_url_secret: r.name(s, "webhook_url_secret", "webhook.url"),
        coalesce_window_s: r.uint(s, "coalesce_window_s", 60, 0, 86_400),
        max_per_minute: r.uint(s, "max_per_minute", 20, 1, 600) as u32,
        telegram_api_url: r.url(
            s,
            "telegram_api_url",
            "https://api.telegram.org",
            &["https", "http"],
        ),
        telegram_commands_enabled: r.bool(s, "telegram_commands_enabled", true),
        telegram_error_chat_id_secret: r.string(s, "telegram_error_chat_id_secret", ""),
        webhook_error_url_secret: r.string(s, "webhook_error_url_secret", ""),
    };

    let s = r.section(root, "recording", "recording");
    let recording = RecordingConfig {
        enabled: r.bool(s, "enabled", true),
        dir: r.path(s, "dir", "recordings"),
        rotate_mb: r.uint(s, "rotate_mb", 256, 1, 1_048_576),
        rotate_minutes: r.uint(s, "rotate_minutes", 60, 1, 10_080),
    };

    let s = r.section(root, "vault", "vault");
    let vault = VaultConfig {
        path: r.path(s, "path", "orion.vault"),
        password_source: r.choice(
            s,
            "password_source",
            PasswordSource::Prompt,
            &[
                ("prompt", PasswordSource::Prompt),
                ("env", PasswordSource::Env),
                ("fd", PasswordSource::Fd),
            ],
        ),
        password_env: r.name(s, "password_env", "ORION_VAULT_PASSWORD"),
        password_fd: {
            let fd = r.int(s, "password_fd", -1, -1, 1_000_000);
            u32::try_from(fd).ok()
        },
    };

    let config = Config {
        engine,
        kalshi,
        polymarket,
        detection,
        matching,
        risk,
        execution,
        storage,
        telemetry,
        dashboard,
        alerts,
        recording,
        vault,
    };
    check_contradictions(r, &config);
    config
}

fn check_pins(r: &mut Reader, key: &str, pins: &[String]) {
    for (i, pin) in pins.iter().enumerate() {
        let ok = pin.len() == 44
            && pin.ends_with('=')
            && pin[..43]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
        if !ok {
            r.problem(
                format!("{key}[{i}]"),
                "expected the base64 SHA-256 of a certificate's SubjectPublicKeyInfo (44 characters ending in '=')",
            );
        }
    }
}

/// Settings that are each valid but make no sense together.
fn check_contradictions(r: &mut Reader, c: &Config) {
    if c.engine.mode == Mode::Live && !c.engine.live_acknowledged {
        r.problem(
            "engine.live_acknowledged",
            "must be set to true to run with mode = \"live\" (live trading uses real money)",
        );
    }
    if c.engine.mode == Mode::Live && c.engine.pairs == PairSource::Proposals {
        r.problem(
            "engine.pairs",
            "mode = \"live\" trades confirmed pairs only; set pairs = \"confirmed\"",
        );
    }
    if c.engine.mode == Mode::AlertOnly && c.engine.auto_execute {
        r.problem(
            "engine.auto_execute",
            "contradicts mode = \"alert-only\" (which never executes); remove it or change the mode",
        );
    }
    if !c.kalshi.enabled || !c.polymarket.enabled {
        let which = match (c.kalshi.enabled, c.polymarket.enabled) {
            (false, false) => "both venues are disabled",
            (false, true) => "venues.kalshi is disabled",
            _ => "venues.polymarket is disabled",
        };
        r.problem(
            "venues",
            format!("{which}; cross-venue arbitrage needs both venues enabled"),
        );
    }
    if c.risk.max_exposure_per_pair > c.risk.max_exposure_per_event {
        r.problem(
            "risk.max_exposure_per_pair",
            format!(
                "{} exceeds risk.max_exposure_per_event ({}); a pair belongs to one event",
                c.risk.max_exposure_per_pair, c.risk.max_exposure_per_event
            ),
        );
    }
    if c.risk.reserve_fraction == Fraction::ONE {
        r.problem(
            "risk.reserve_fraction",
            "a reserve of 1 leaves nothing to trade; use less than 1",
        );
    }
    if c.detection.min_edge_beyond_horizon < c.detection.min_edge {
        r.problem(
            "detection.min_edge_beyond_horizon",
            format!(
                "{} is below detection.min_edge ({}); trades beyond the horizon must clear a higher bar",
                c.detection.min_edge_beyond_horizon, c.detection.min_edge
            ),
        );
    }
    if c.dashboard.session_idle_timeout_s > c.dashboard.session_absolute_timeout_s {
        r.problem(
            "dashboard.session_idle_timeout_s",
            "exceeds dashboard.session_absolute_timeout_s",
        );
    }
    for (key, addr, allowed) in [
        (
            "dashboard.listen",
            c.dashboard.listen,
            c.dashboard.allow_non_loopback,
        ),
        (
            "telemetry.listen",
            c.telemetry.listen,
            c.dashboard.allow_non_loopback,
        ),
    ] {
        if !addr.ip().is_loopback() && !allowed {
            r.problem(
                key,
                format!("{addr} is not a loopback address; set dashboard.allow_non_loopback = true to expose it deliberately"),
            );
        }
    }
    if c.vault.password_source == PasswordSource::Fd && c.vault.password_fd.is_none() {
        r.problem(
            "vault.password_fd",
            "required when vault.password_source = \"fd\"",
        );
    }
    if c.polymarket.signature_type == 0 && c.polymarket.funder_secret != "polymarket.funder_address"
    {
        // A custom funder reference with an EOA signature type is ignored: say so.
        r.problem(
            "venues.polymarket.funder_secret",
            "only used with signature_type 1 or 2 (proxy or Safe wallets); remove it or change signature_type",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_safe_defaults() {
        let c = Config::parse("", "empty").unwrap();
        assert_eq!(c.engine.mode, Mode::DryRun);
        assert!(!c.engine.auto_execute);
        assert_eq!(c.engine.pairs, PairSource::Confirmed);
        assert_eq!(c.detection.min_edge, Price::parse("0.01").unwrap());
        assert_eq!(c.risk.max_drawdown, Fraction::parse("0.05").unwrap());
        assert!(c.dashboard.listen.ip().is_loopback());
        assert_eq!(c, Config::defaults());
    }

    #[test]
    fn collects_every_problem_with_its_key() {
        let text = r#"
            [engine]
            mode = "yolo"
            [risk]
            max_open_positions = -3
            max_drawdown = 0.05
            [venues.kalshi]
            private_key = "-----BEGIN"
            [nonsense]
            x = 1
        "#;
        let err = Config::parse(text, "bad.toml").unwrap_err();
        let keys: Vec<&str> = err.problems.iter().map(|p| p.key.as_str()).collect();
        assert!(keys.contains(&"engine.mode"), "{err}");
        assert!(keys.contains(&"risk.max_open_positions"), "{err}");
        assert!(keys.contains(&"risk.max_drawdown"), "{err}");
        assert!(keys.contains(&"venues.kalshi.private_key"), "{err}");
        assert!(keys.contains(&"nonsense"), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("\"dry-run\", \"alert-only\", \"live\""),
            "{text}"
        );
        assert!(text.contains("quoted decimal string"), "{text}");
        assert!(text.contains("orion-admin secrets set"), "{text}");
    }

    #[test]
    fn contradictions_are_problems() {
        let err = Config::parse(
            "[engine]\nmode = \"live\"\npairs = \"proposals\"\n[dashboard]\nlisten = \"0.0.0.0:8080\"\n",
            "c",
        )
        .unwrap_err();
        let keys: Vec<&str> = err.problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "engine.live_acknowledged",
                "engine.pairs",
                "dashboard.listen"
            ],
            "{err}"
        );
        let err = Config::parse(
            "[engine]\nmode = \"alert-only\"\nauto_execute = true\n",
            "c",
        )
        .unwrap_err();
        assert_eq!(err.problems[0].key, "engine.auto_execute");
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let err = Config::parse("[engine]\nmode = \n", "s").unwrap_err();
        assert_eq!(err.problems.len(), 1);
        assert!(err.problems[0].key.starts_with("line "), "{err}");
    }

    #[test]
    fn money_is_parsed_exactly() {
        let c = Config::parse("[detection]\nmin_edge = \"0.015\"\nmin_profit = \"2.50\"\n[risk]\nmax_exposure_per_event = 1000\n", "m").unwrap();
        assert_eq!(c.detection.min_edge.micros(), 15_000);
        assert_eq!(c.detection.min_profit.micros(), 2_500_000);
        assert_eq!(c.risk.max_exposure_per_event.micros(), 1_000_000_000);
        let err = Config::parse("[detection]\nmin_edge = \"0.0000001\"\n", "m").unwrap_err();
        assert_eq!(err.problems[0].key, "detection.min_edge");
    }
}
