//! Scenario files: what the simulated venues hold when they start and what
//! happens to them over time. The format is documented key by key in
//! `docs/sim-scenarios.md`; examples live under `config/sim/`.
//!
//! Money, prices and sizes are decimal **strings** in the file so that they
//! are parsed exactly into orion-core's fixed-point types.

use std::path::{Path, PathBuf};

use orion_core::{Cash, Price, Quantity, TickSize};
use serde::Deserialize;

/// A whole scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub sim: SimSection,
    #[serde(default)]
    pub accounts: Vec<AccountSpec>,
    #[serde(default)]
    pub kalshi: KalshiSection,
    #[serde(default)]
    pub polymarket: PolySection,
    /// Equivalent markets across the venues (informational; reported in `/_sim/state`).
    #[serde(default)]
    pub pairs: Vec<PairSpec>,
    #[serde(default)]
    pub script: Vec<ScriptStep>,
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
    /// Directory the scenario was read from; key files are resolved against it.
    #[serde(skip)]
    pub base_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimSection {
    /// Seed of every random choice (fault probabilities, API secrets).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Largest accepted difference between a Kalshi request timestamp and the sim clock, in ms.
    #[serde(default = "default_kalshi_skew")]
    pub kalshi_max_skew_ms: i64,
    /// Same for Polymarket L2 `POLY_TIMESTAMP` (seconds).
    #[serde(default = "default_poly_skew")]
    pub polymarket_max_skew_s: i64,
    /// Polymarket chain id for EIP-712 domains (137 Polygon, 80002 Amoy).
    #[serde(default = "default_chain")]
    pub polymarket_chain_id: u64,
    /// What `GET /version` answers, and the order version accepted.
    #[serde(default = "default_version")]
    pub polymarket_version: u32,
    /// Kalshi WebSocket heartbeat ping interval, ms.
    #[serde(default = "default_heartbeat")]
    pub kalshi_ws_heartbeat_ms: u64,
    /// Markets per page of Polymarket's `/markets` and `/sampling-markets`.
    #[serde(default = "default_page_size")]
    pub polymarket_page_size: usize,
}

fn default_seed() -> u64 {
    1
}
fn default_kalshi_skew() -> i64 {
    // Live demo accepted −5 s / +30 s and refused −30 s (kalshi.md §2.5).
    10_000
}
fn default_poly_skew() -> i64 {
    300
}
fn default_chain() -> u64 {
    137
}
fn default_version() -> u32 {
    2
}
fn default_heartbeat() -> u64 {
    10_000
}
fn default_page_size() -> usize {
    500
}

impl Default for SimSection {
    fn default() -> Self {
        SimSection {
            seed: default_seed(),
            kalshi_max_skew_ms: default_kalshi_skew(),
            polymarket_max_skew_s: default_poly_skew(),
            polymarket_chain_id: default_chain(),
            polymarket_version: default_version(),
            kalshi_ws_heartbeat_ms: default_heartbeat(),
            polymarket_page_size: default_page_size(),
        }
    }
}

/// A participant; it may exist on one venue or both.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    pub name: String,
    /// Scripted liquidity and `book` entries are placed from this account.
    #[serde(default)]
    pub market_maker: bool,
    /// Kalshi API key id (a UUID string sent as `KALSHI-ACCESS-KEY`).
    pub kalshi_key_id: Option<String>,
    /// Kalshi public key, SubjectPublicKeyInfo PEM (`BEGIN PUBLIC KEY`) or PKCS#1 (`BEGIN RSA PUBLIC KEY`).
    pub kalshi_public_key_pem: Option<String>,
    /// Path to the same PEM, relative to the scenario file.
    pub kalshi_public_key_file: Option<String>,
    /// Kalshi cash balance in dollars, e.g. "1000.00".
    pub kalshi_balance: Option<String>,
    /// Polymarket signing EOA (0x-address).
    pub polymarket_address: Option<String>,
    /// Proxy / Safe wallet that funds orders signed by the EOA (signature types 1 and 2).
    pub polymarket_funder: Option<String>,
    /// Polymarket collateral (pUSD) balance, e.g. "1000.00".
    pub polymarket_balance: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KalshiSection {
    #[serde(default)]
    pub series: Vec<KalshiSeries>,
    #[serde(default)]
    pub events: Vec<KalshiEvent>,
    #[serde(default)]
    pub markets: Vec<KalshiMarket>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KalshiSeries {
    pub ticker: String,
    pub title: String,
    #[serde(default = "default_category")]
    pub category: String,
    #[serde(default = "default_frequency")]
    pub frequency: String,
    /// `quadratic`, `quadratic_with_maker_fees` or `flat`.
    #[serde(default = "default_fee_type")]
    pub fee_type: String,
    /// Decimal string, e.g. "1" or "0.5".
    #[serde(default = "default_multiplier")]
    pub fee_multiplier: String,
}

fn default_category() -> String {
    "Economics".into()
}
fn default_frequency() -> String {
    "custom".into()
}
fn default_fee_type() -> String {
    "quadratic".into()
}
fn default_multiplier() -> String {
    "1".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KalshiEvent {
    pub event_ticker: String,
    pub series_ticker: String,
    pub title: String,
    #[serde(default)]
    pub sub_title: String,
    #[serde(default)]
    pub mutually_exclusive: bool,
    /// RFC 3339.
    pub strike_date: Option<String>,
    #[serde(default = "default_category")]
    pub category: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KalshiMarket {
    pub ticker: String,
    pub event_ticker: String,
    pub title: String,
    #[serde(default)]
    pub subtitle: String,
    pub yes_sub_title: String,
    pub no_sub_title: String,
    /// RFC 3339 times.
    pub open_time: String,
    pub close_time: String,
    pub expected_expiration_time: Option<String>,
    pub latest_expiration_time: String,
    #[serde(default)]
    pub rules_primary: String,
    #[serde(default)]
    pub rules_secondary: String,
    /// `linear_cent`, `tapered_deci_cent` or `deci_cent`.
    #[serde(default = "default_structure")]
    pub price_level_structure: String,
    #[serde(default = "default_strike_type")]
    pub strike_type: String,
    #[serde(default)]
    pub book: BookSpec,
}

fn default_structure() -> String {
    "linear_cent".into()
}
fn default_strike_type() -> String {
    "custom".into()
}

/// Resting liquidity on the **YES-price axis** (Kalshi YES bids / YES asks;
/// Polymarket's YES token book), placed by the market-maker account.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookSpec {
    /// `[price, size]` pairs, e.g. `[["0.52", "100"]]`.
    #[serde(default)]
    pub bids: Vec<(String, String)>,
    #[serde(default)]
    pub asks: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolySection {
    #[serde(default)]
    pub markets: Vec<PolyMarket>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolyMarket {
    /// 0x + 64 hex.
    pub condition_id: String,
    pub question_id: Option<String>,
    pub question: String,
    pub slug: String,
    #[serde(default)]
    pub description: String,
    /// RFC 3339.
    pub end_date: String,
    pub start_date: Option<String>,
    /// Decimal uint256 strings.
    pub yes_token_id: String,
    pub no_token_id: String,
    #[serde(default = "default_yes")]
    pub yes_outcome: String,
    #[serde(default = "default_no")]
    pub no_outcome: String,
    /// "0.1", "0.01", "0.005", "0.0025", "0.001" or "0.0001".
    #[serde(default = "default_tick")]
    pub tick_size: String,
    #[serde(default = "default_min_size")]
    pub min_order_size: String,
    #[serde(default)]
    pub neg_risk: bool,
    /// Taker fee rate `fd.r`, decimal string; "0" for fee-free markets.
    #[serde(default = "default_fee_rate")]
    pub fee_rate: String,
    /// Exponent `fd.e`.
    #[serde(default = "default_exponent")]
    pub fee_exponent: u32,
    /// Gamma event this market belongs to.
    pub event_slug: Option<String>,
    pub event_title: Option<String>,
    #[serde(default)]
    pub book: BookSpec,
}

fn default_yes() -> String {
    "Yes".into()
}
fn default_no() -> String {
    "No".into()
}
fn default_tick() -> String {
    "0.01".into()
}
fn default_min_size() -> String {
    "5".into()
}
fn default_fee_rate() -> String {
    "0".into()
}
fn default_exponent() -> u32 {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairSpec {
    pub kalshi: String,
    pub polymarket: String,
    #[serde(default)]
    pub note: String,
}

/// Which simulated venue a step or fault addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VenueName {
    Kalshi,
    Polymarket,
    Gamma,
}

/// A change applied at `at_ms` after start. (`deny_unknown_fields` does not
/// combine with `flatten`, so this one table is not strict.)
#[derive(Debug, Clone, Deserialize)]
pub struct ScriptStep {
    pub at_ms: u64,
    pub venue: VenueName,
    /// Kalshi ticker or Polymarket condition id (not needed for `down`).
    #[serde(default)]
    pub market: String,
    #[serde(flatten)]
    pub action: ScriptAction,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ScriptAction {
    /// The market maker places a GTC order on the YES axis (it may trade).
    Place {
        side: AxisName,
        price: String,
        size: String,
    },
    /// The market maker withdraws its orders in the market (optionally one side/price).
    Cancel {
        side: Option<AxisName>,
        price: Option<String>,
    },
    /// Resolve the market.
    Resolve { result: ResultName },
    /// Stop trading in the market (orders refused; resting orders stay).
    Close,
    /// Trade again after `close`.
    Open,
    /// The whole venue goes away for `duration_ms` (connections refused), then returns.
    Down { duration_ms: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AxisName {
    Bid,
    Ask,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultName {
    Yes,
    No,
}

/// A fault rule; see `faults.rs` for semantics.
pub use crate::faults::FaultSpec;

/// Why a scenario could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("parsing scenario: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("invalid scenario: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

impl Scenario {
    pub fn from_toml(text: &str) -> Result<Scenario, ScenarioError> {
        let s: Scenario = toml::from_str(text)?;
        Ok(s)
    }

    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let mut s = Scenario::from_toml(&text)?;
        s.base_dir = path.parent().map(Path::to_path_buf);
        Ok(s)
    }

    /// Read a key file named in the scenario.
    pub fn read_relative(&self, name: &str) -> Result<String, ScenarioError> {
        let path = match &self.base_dir {
            Some(dir) => dir.join(name),
            None => PathBuf::from(name),
        };
        std::fs::read_to_string(&path).map_err(|source| ScenarioError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// Check every value that would otherwise fail later; collects all problems.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        let mut errs = Vec::new();
        let check_price = |what: &str, s: &str, errs: &mut Vec<String>| {
            if Price::parse(s).is_err() {
                errs.push(format!("{what}: bad price {s:?}"));
            }
        };
        for a in &self.accounts {
            for (what, v) in [
                ("kalshi_balance", &a.kalshi_balance),
                ("polymarket_balance", &a.polymarket_balance),
            ] {
                if let Some(v) = v
                    && Cash::parse(v).is_err()
                {
                    errs.push(format!("account {}: bad {what} {v:?}", a.name));
                }
            }
            if a.kalshi_key_id.is_some()
                && a.kalshi_public_key_pem.is_none()
                && a.kalshi_public_key_file.is_none()
            {
                errs.push(format!(
                    "account {}: kalshi_key_id without a public key",
                    a.name
                ));
            }
            if let Some(addr) = &a.polymarket_address
                && addr.parse::<alloy_primitives::Address>().is_err()
            {
                errs.push(format!("account {}: bad polymarket_address", a.name));
            }
        }
        if self.accounts.iter().filter(|a| a.market_maker).count() > 1 {
            errs.push("at most one account may be market_maker".into());
        }
        let has_mm = self.accounts.iter().any(|a| a.market_maker);
        for s in &self.kalshi.series {
            if Cash::parse(&s.fee_multiplier).is_err() {
                errs.push(format!("series {}: bad fee_multiplier", s.ticker));
            }
        }
        for m in &self.kalshi.markets {
            if !self
                .kalshi
                .events
                .iter()
                .any(|e| e.event_ticker == m.event_ticker)
            {
                errs.push(format!(
                    "market {}: unknown event {}",
                    m.ticker, m.event_ticker
                ));
            }
            for (p, q) in m.book.bids.iter().chain(&m.book.asks) {
                check_price(&m.ticker, p, &mut errs);
                if Quantity::parse(q).is_err() {
                    errs.push(format!("market {}: bad size {q:?}", m.ticker));
                }
            }
            let has_book = !m.book.bids.is_empty() || !m.book.asks.is_empty();
            if has_book && !has_mm {
                errs.push(format!(
                    "market {}: a book needs a market_maker account",
                    m.ticker
                ));
            }
            for t in [&m.open_time, &m.close_time, &m.latest_expiration_time] {
                if orion_core::time_fmt::parse_rfc3339(t).is_err() {
                    errs.push(format!("market {}: bad time {t:?}", m.ticker));
                }
            }
        }
        for m in &self.polymarket.markets {
            if TickSize::parse(&m.tick_size).is_err() {
                errs.push(format!("market {}: bad tick_size", m.slug));
            }
            if Quantity::parse(&m.min_order_size).is_err() {
                errs.push(format!("market {}: bad min_order_size", m.slug));
            }
            if Price::parse(&m.fee_rate).is_err() {
                errs.push(format!("market {}: bad fee_rate", m.slug));
            }
            if alloy_primitives::U256::from_str_radix(&m.yes_token_id, 10).is_err()
                || alloy_primitives::U256::from_str_radix(&m.no_token_id, 10).is_err()
            {
                errs.push(format!(
                    "market {}: token ids must be decimal uint256",
                    m.slug
                ));
            }
            if m.condition_id.len() != 66 || !m.condition_id.starts_with("0x") {
                errs.push(format!(
                    "market {}: condition_id must be 0x + 64 hex",
                    m.slug
                ));
            }
            for (p, q) in m.book.bids.iter().chain(&m.book.asks) {
                check_price(&m.slug, p, &mut errs);
                if Quantity::parse(q).is_err() {
                    errs.push(format!("market {}: bad size {q:?}", m.slug));
                }
            }
            let has_book = !m.book.bids.is_empty() || !m.book.asks.is_empty();
            if has_book && !has_mm {
                errs.push(format!(
                    "market {}: a book needs a market_maker account",
                    m.slug
                ));
            }
        }
        for p in &self.pairs {
            if !self.kalshi.markets.iter().any(|m| m.ticker == p.kalshi) {
                errs.push(format!("pair: unknown kalshi market {}", p.kalshi));
            }
            if !self
                .polymarket
                .markets
                .iter()
                .any(|m| m.condition_id == p.polymarket)
            {
                errs.push(format!("pair: unknown polymarket market {}", p.polymarket));
            }
        }
        for s in &self.script {
            if let ScriptAction::Down { .. } = s.action {
                continue;
            }
            let known = match s.venue {
                VenueName::Kalshi => self.kalshi.markets.iter().any(|m| m.ticker == s.market),
                VenueName::Polymarket => self
                    .polymarket
                    .markets
                    .iter()
                    .any(|m| m.condition_id == s.market),
                VenueName::Gamma => false,
            };
            if !known {
                errs.push(format!(
                    "script at {} ms: unknown market {}",
                    s.at_ms, s.market
                ));
            }
            if let ScriptAction::Place { price, size, .. } = &s.action {
                check_price("script", price, &mut errs);
                if Quantity::parse(size).is_err() {
                    errs.push(format!("script at {} ms: bad size", s.at_ms));
                }
            }
        }
        for f in &self.faults {
            if let Err(e) = f.check() {
                errs.push(e);
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(ScenarioError::Invalid(errs))
        }
    }
}
