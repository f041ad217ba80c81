//! The one-command demo: orion-sim in-process with the bundled scenario
//! (`config/sim/arbitrage-demo.toml`), the engine against it, SQLite in a
//! local data directory.
//!
//! The engine runs in **live mode against the simulated venues**, with
//! auto-execute on. Live is what shows the whole path an operator cares
//! about: signed orders on both venues, fills, the journal, repairs. It is
//! safe here because every venue URL is the simulator's loopback address
//! (checked before the mode is set) and the keys are the public test keys
//! the simulator knows; no network beyond 127.0.0.1 and no credentials are
//! involved. `--mode dry-run` shows the same detections with simulated
//! fills instead.
//!
//! The dashboard runs too, with a one-time password drawn from the operating
//! system's generator for this run only: it is hashed (argon2id) in memory,
//! printed once, and never stored.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use orion_config::{Config, Mode, PairSource};
use orion_core::{Clock, NullAlerter, Price, SystemClock, Venue};
use orion_sim::{Scenario, Sim, SimHandle};
use orion_storage::{Database, PairRecord, PairStatus};
use orion_vault::{KdfParams, SecretString, hash_dashboard_password};

use crate::engine::{Engine, EngineError, EngineHandle, EngineOptions};
use crate::pairs::{MarketTitle, store_titles};
use crate::venues::Credentials;

/// The bundled scenario and the simulator's copy of the test key.
pub const SCENARIO: &str = include_str!("../../../config/sim/arbitrage-demo.toml");
const KALSHI_PUBLIC_PEM: &str = include_str!("../../../config/sim/keys/kalshi_test_pub.pem");
/// Public throwaway test keys (shared/vectors; Hardhat account #0): they
/// protect nothing and are known to the simulator only.
const KALSHI_PRIVATE_PEM: &str = include_str!("../../../config/sim/keys/kalshi_test_key_pkcs8.pem");
const KALSHI_KEY_ID: &str = "a3b1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
const POLYMARKET_KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/// The demo account's credentials at the simulated venues.
pub fn credentials() -> Credentials {
    Credentials {
        kalshi_key_id: KALSHI_KEY_ID.into(),
        kalshi_private_key_pem: KALSHI_PRIVATE_PEM.as_bytes().to_vec(),
        polymarket_private_key: POLYMARKET_KEY.into(),
        // The demo account signs for its own funds (signature type 0).
        polymarket_funder: None,
    }
}

/// Writes the bundled scenario (and the key file it names) under `dir` and
/// loads it, so the demo works from any working directory.
pub fn bundled_scenario(dir: &Path) -> Result<Scenario, String> {
    let sim_dir = dir.join("sim");
    std::fs::create_dir_all(sim_dir.join("keys")).map_err(|e| e.to_string())?;
    std::fs::write(sim_dir.join("keys/kalshi_test_pub.pem"), KALSHI_PUBLIC_PEM)
        .map_err(|e| e.to_string())?;
    let path = sim_dir.join("arbitrage-demo.toml");
    std::fs::write(&path, SCENARIO).map_err(|e| e.to_string())?;
    Scenario::load(&path).map_err(|e| e.to_string())
}

fn is_loopback_url(url: &str) -> bool {
    url.split_once("://")
        .map(|(_, rest)| rest.starts_with("127.0.0.1:") || rest.starts_with("localhost:"))
        .unwrap_or(false)
}

/// The engine's configuration against a running simulator.
pub fn config_for_sim(
    sim: &SimHandle,
    data_dir: &Path,
    mode: Mode,
    telemetry: SocketAddr,
) -> Result<Config, String> {
    let urls = &sim.urls;
    for url in [
        &urls.kalshi_rest,
        &urls.kalshi_ws,
        &urls.polymarket_clob,
        &urls.polymarket_ws,
        &urls.gamma,
    ] {
        if !is_loopback_url(url) {
            return Err(format!("simulator URL {url} is not loopback"));
        }
    }
    let mut config = Config::defaults();
    config.engine.mode = mode;
    config.engine.auto_execute = mode != Mode::AlertOnly;
    // Acknowledged for the simulator only: every URL above is loopback.
    config.engine.live_acknowledged = mode == Mode::Live;
    config.engine.data_dir = data_dir.to_path_buf();
    config.engine.pairs = PairSource::Confirmed;
    config.kalshi.rest_url = urls.kalshi_rest.clone();
    config.kalshi.ws_url = urls.kalshi_ws.clone();
    config.polymarket.clob_url = urls.polymarket_clob.clone();
    config.polymarket.ws_url = urls.polymarket_ws.clone();
    config.polymarket.gamma_url = urls.gamma.clone();
    config.telemetry.listen = telemetry;
    // The scenario's markets resolve years out so the demo keeps working.
    config.risk.max_days_to_resolution = 3650;
    config.detection.horizon_days = 3650;
    // Room for ten minutes of demo trades before the per-pair and per-event
    // exposure limits (which the demo otherwise shows refusing trades).
    if let (Ok(pair), Ok(event)) = (
        orion_core::Cash::parse("2000.00"),
        orion_core::Cash::parse("4000.00"),
    ) {
        config.risk.max_exposure_per_pair = pair;
        config.risk.max_exposure_per_event = event;
    }
    // Whole cents: both simulated books trade on a cent grid.
    config.detection.slippage = Price::from_micros(10_000).unwrap_or(config.detection.slippage);
    Ok(config)
}

/// Stores the scenario's equivalent markets as operator-confirmed pairs.
pub fn seed_pairs(db_path: &Path, scenario: &Scenario, clock: &dyn Clock) -> Result<usize, String> {
    if let Some(parent) = db_path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    let mut db = Database::open(db_path).map_err(|e| e.to_string())?;
    let now = clock.now();
    for pair in &scenario.pairs {
        let short = pair.polymarket.get(..10).unwrap_or(&pair.polymarket);
        let pair_id = format!("{}~{short}", pair.kalshi);
        db.upsert_proposal(&PairRecord {
            pair_id: pair_id.clone(),
            kalshi_ticker: pair.kalshi.clone(),
            polymarket_condition_id: pair.polymarket.clone(),
            // Filled in from the venue at start-up.
            polymarket_yes_token: String::new(),
            polymarket_no_token: String::new(),
            inverted: false,
            score_bps: 10_000,
            flags: Vec::new(),
            reasons: vec![format!("demo scenario: {}", pair.note)],
            status: PairStatus::Proposed,
            decided_by: None,
            decided_at: None,
            created_at: now,
        })
        .map_err(|e| e.to_string())?;
        db.set_pair_status(&pair_id, PairStatus::Confirmed, "demo", now)
            .map_err(|e| e.to_string())?;
    }
    // One unreviewed proposal for the dashboard's pair review: two of the
    // scenario's markets that are *not* the same event (the matcher would
    // flag it). It stays a proposal, so the demo never trades it.
    if let (Some(a), Some(b)) = (scenario.pairs.first(), scenario.pairs.get(1)) {
        let short = b.polymarket.get(..10).unwrap_or(&b.polymarket);
        db.upsert_proposal(&PairRecord {
            pair_id: format!("{}~{short}", a.kalshi),
            kalshi_ticker: a.kalshi.clone(),
            polymarket_condition_id: b.polymarket.clone(),
            polymarket_yes_token: String::new(),
            polymarket_no_token: String::new(),
            inverted: false,
            score_bps: 4_200,
            flags: vec![
                "different event".into(),
                "different resolution source".into(),
            ],
            reasons: vec![format!(
                "demo: a proposal to review ({} vs {})",
                a.note, b.note
            )],
            status: PairStatus::Proposed,
            decided_by: None,
            decided_at: None,
            created_at: now,
        })
        .map_err(|e| e.to_string())?;
    }
    // Titles for the dashboard (pair review): the scenario's own, as the
    // simulated venues show them. The engine refreshes the Kalshi ones of
    // the pairs it loads.
    let titles: Vec<MarketTitle> = scenario
        .kalshi
        .markets
        .iter()
        .map(|m| MarketTitle {
            venue: Venue::Kalshi,
            symbol: m.ticker.clone(),
            title: m.title.clone(),
        })
        .chain(scenario.polymarket.markets.iter().map(|m| MarketTitle {
            venue: Venue::Polymarket,
            symbol: m.condition_id.clone(),
            title: m.question.clone(),
        }))
        .collect();
    store_titles(&db, &titles, now).map_err(|e| e.to_string())?;
    Ok(scenario.pairs.len())
}

/// The demo's unreviewed proposal (see [`seed_pairs`]), if the scenario has
/// two pairs.
pub fn review_proposal_id(scenario: &Scenario) -> Option<String> {
    let (a, b) = (scenario.pairs.first()?, scenario.pairs.get(1)?);
    Some(format!(
        "{}~{}",
        a.kalshi,
        b.polymarket.get(..10).unwrap_or(&b.polymarket)
    ))
}

/// A running demo: the simulator and the engine.
#[derive(Debug)]
pub struct Demo {
    pub sim: SimHandle,
    pub engine: EngineHandle,
    pub data_dir: PathBuf,
    /// This run's dashboard password (shown to the operator once).
    pub dashboard_password: SecretString,
}

impl Demo {
    /// The dashboard's address, as a URL.
    pub fn dashboard_url(&self) -> Option<String> {
        self.engine
            .dashboard_addr()
            .map(|addr| format!("http://{addr}/"))
    }
}

/// A one-time dashboard password: 128 bits from the OS generator, hex.
fn one_time_password() -> Result<SecretString, String> {
    orion_dashboard::auth::random_token()
        .and_then(|t| t.get(..32).map(str::to_string))
        .map(SecretString::new)
        .ok_or_else(|| "the operating system's random generator failed".to_string())
}

/// Starts the simulator and the engine against it, with the dashboard on
/// `dashboard` (port 0 picks a free one).
pub async fn start(
    data_dir: &Path,
    mode: Mode,
    telemetry: SocketAddr,
    dashboard: SocketAddr,
) -> Result<Demo, String> {
    let password = one_time_password()?;
    let hash = {
        let password = password.clone();
        tokio::task::spawn_blocking(move || {
            hash_dashboard_password(&password, KdfParams::MINIMUM).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())??
    };
    let scenario = bundled_scenario(data_dir)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let sim = Sim::start(scenario.clone())
        .await
        .map_err(|e| format!("simulator: {e}"))?;
    let mut config = config_for_sim(&sim, data_dir, mode, telemetry)?;
    config.dashboard.enabled = true;
    config.dashboard.listen = dashboard;
    seed_pairs(&config.database_path(), &scenario, clock.as_ref())?;
    let options = |config: Config| EngineOptions {
        config,
        credentials: credentials(),
        clock: clock.clone(),
        alerter: Arc::new(NullAlerter),
        dashboard_password_hash: Some(hash.clone()),
    };
    let engine = match Engine::start(options(config.clone())).await {
        Ok(engine) => engine,
        // The default telemetry or dashboard port may be taken (another
        // demo, a real engine): the demo then picks free ones rather than
        // failing.
        Err(EngineError::Io(e))
            if e.kind() == std::io::ErrorKind::AddrInUse
                && (telemetry.port() != 0 || dashboard.port() != 0) =>
        {
            tracing::warn!(%telemetry, %dashboard, "address in use; choosing free ports");
            let mut config = config;
            config.telemetry.listen = SocketAddr::new(telemetry.ip(), 0);
            config.dashboard.listen = SocketAddr::new(dashboard.ip(), 0);
            Engine::start(options(config))
                .await
                .map_err(|e| e.to_string())?
        }
        Err(e) => return Err(e.to_string()),
    };
    Ok(Demo {
        sim,
        engine,
        data_dir: data_dir.to_path_buf(),
        dashboard_password: password,
    })
}

/// The simulator's Kalshi venue, for [`SimHandle::state`].
pub const KALSHI: orion_sim::VenueName = orion_sim::VenueName::Kalshi;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// The dashboard's pair review shows each pair's Kalshi title: the
    /// demo's seeding stores the scenario's titles for both venues.
    #[test]
    fn seeding_stores_every_market_title() {
        let dir = tempfile::tempdir().unwrap();
        let scenario = bundled_scenario(dir.path()).unwrap();
        let path = dir.path().join("orion.db");
        seed_pairs(&path, &scenario, &SystemClock).unwrap();
        // Seeding again (a second demo run) replaces, never duplicates.
        seed_pairs(&path, &scenario, &SystemClock).unwrap();
        let db = Database::open(&path).unwrap();
        for pair in &scenario.pairs {
            let kalshi = scenario
                .kalshi
                .markets
                .iter()
                .find(|m| m.ticker == pair.kalshi)
                .unwrap();
            assert_eq!(
                db.market_title("kalshi", &pair.kalshi).unwrap().as_deref(),
                Some(kalshi.title.as_str())
            );
            let title = db.market_title("polymarket", &pair.polymarket).unwrap();
            assert!(title.is_some_and(|t| !t.is_empty()), "{}", pair.polymarket);
        }
        let rows: i64 = db
            .connection()
            .query_row("SELECT COUNT(*) FROM markets", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            rows as usize,
            scenario.kalshi.markets.len() + scenario.polymarket.markets.len()
        );
    }
}
