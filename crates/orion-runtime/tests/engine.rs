//! The whole engine against orion-sim over loopback: each mode (no order
//! ever reaches a venue in dry-run or alert-only; live trades a planted
//! opportunity), the stale-data guard, graceful shutdown with a leg in
//! flight, and the telemetry endpoints. Waits are bounded polls of the
//! engine's state, never timing assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use orion_config::{Config, Mode};
use orion_core::{NullAlerter, Store, SystemClock};
use orion_runtime::demo;
use orion_runtime::{Engine, EngineHandle, EngineOptions, StatusSnapshot};
use orion_sim::{FaultKind, FaultSpec, Sim, SimHandle, VenueName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A fault rule that changes nothing (0 ms latency) but counts every
/// request to the venue's order-placing endpoints.
fn order_probe(venue: VenueName, endpoint: &str, latency_ms: u64) -> FaultSpec {
    FaultSpec {
        venue,
        endpoint: endpoint.into(),
        kind: FaultKind::Latency,
        after: 0,
        count: None,
        probability_ppm: 1_000_000,
        latency_ms: Some(latency_ms),
        status: None,
        fill_percent: None,
        duration_ms: None,
        message: None,
    }
}

const KALSHI_ORDERS: &str = "POST /trade-api/v2/portfolio/*";
const POLY_ORDERS: &str = "POST /order*";

fn probe_orders(sim: &SimHandle, poly_latency_ms: u64) {
    sim.add_fault(order_probe(VenueName::Kalshi, KALSHI_ORDERS, 0));
    sim.add_fault(order_probe(
        VenueName::Polymarket,
        POLY_ORDERS,
        poly_latency_ms,
    ));
}

/// Minimal HTTP/1.1 GET over loopback: (status, body).
async fn get(base: &str, path: &str) -> (u16, String) {
    request(base, "GET", path, "").await
}

async fn request(base: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let host = base
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// How many order requests reached a venue, from the simulator's own count.
async fn orders_seen(admin: &str, endpoint: &str) -> u64 {
    let (status, body) = get(admin, "/_sim/faults").await;
    assert_eq!(status, 200, "{body}");
    // Chunked or not, the JSON array is the part between the outer brackets.
    let start = body.find('[').unwrap();
    let end = body.rfind(']').unwrap();
    let rules: serde_json::Value = serde_json::from_str(&body[start..=end]).unwrap();
    rules
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["rule"]["endpoint"] == endpoint)
        .map(|r| r["seen"].as_u64().unwrap())
        .sum()
}

async fn wait_for(
    engine: &EngineHandle,
    what: &str,
    pred: impl Fn(&StatusSnapshot) -> bool,
) -> StatusSnapshot {
    // Generous: this bounds a hang, it does not measure speed.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let s = engine.status();
        if pred(&s) {
            return s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}; status {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The simulator with the bundled scenario, plus an engine in `mode`
/// configured by `tweak`.
async fn start(
    dir: &Path,
    mode: Mode,
    tweak: impl FnOnce(&mut Config),
    before_engine: impl FnOnce(&SimHandle),
) -> (SimHandle, EngineHandle) {
    let scenario = demo::bundled_scenario(dir).unwrap();
    let sim = Sim::start(scenario.clone()).await.unwrap();
    before_engine(&sim);
    let mut config = demo::config_for_sim(&sim, dir, mode, any_port()).unwrap();
    tweak(&mut config);
    demo::seed_pairs(&config.database_path(), &scenario, &SystemClock).unwrap();
    let engine = Engine::start(EngineOptions {
        config,
        credentials: demo::credentials(),
        clock: Arc::new(SystemClock),
        alerter: Arc::new(NullAlerter),
    })
    .await
    .unwrap();
    (sim, engine)
}

fn orion_account(sim: &SimHandle, venue: VenueName) -> serde_json::Value {
    sim.state(venue)["accounts"]["orion"].clone()
}

fn is_empty(v: &serde_json::Value) -> bool {
    v.is_null()
        || v.as_array().is_some_and(|a| a.is_empty())
        || v.as_object().is_some_and(|o| o.is_empty())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_simulates_trades_and_never_sends_an_order() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, engine) = start(dir.path(), Mode::DryRun, |_| {}, |sim| probe_orders(sim, 0)).await;
    let s = wait_for(&engine, "a simulated execution", |s| {
        s.simulated_executions >= 1 && s.completed >= 1
    })
    .await;
    assert_eq!(
        s.executions, s.simulated_executions,
        "every execution simulated"
    );
    engine.shutdown();
    let summary = engine.wait().await;
    assert!(summary.status.recorded_events > 0);
    assert!(
        !summary.recordings.is_empty(),
        "book events recorded to files"
    );

    assert_eq!(orders_seen(&sim.urls.kalshi_admin, KALSHI_ORDERS).await, 0);
    assert_eq!(
        orders_seen(&sim.urls.polymarket_admin, POLY_ORDERS).await,
        0
    );
    for venue in [VenueName::Kalshi, VenueName::Polymarket] {
        let acct = orion_account(&sim, venue);
        assert!(is_empty(&acct["positions"]), "{venue:?}: {acct}");
    }
    // The simulated trade is journaled, finished, and flagged apart.
    let db = orion_storage::Database::open(&dir.path().join("orion.db")).unwrap();
    assert!(db.unfinished_intents().unwrap().is_empty());
    let simulated: i64 = db
        .connection()
        .query_row(
            "SELECT COUNT(*) FROM intents WHERE simulated = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let real: i64 = db
        .connection()
        .query_row(
            "SELECT COUNT(*) FROM intents WHERE simulated = 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(simulated >= 1);
    assert_eq!(real, 0);
    let acted: i64 = db
        .connection()
        .query_row(
            "SELECT COUNT(*) FROM opportunities WHERE acted = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(acted >= 1, "executed opportunities are stored as acted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_only_detects_and_never_executes() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, engine) = start(
        dir.path(),
        Mode::AlertOnly,
        |_| {},
        |sim| probe_orders(sim, 0),
    )
    .await;
    wait_for(&engine, "an opportunity", |s| s.opportunities >= 1).await;
    engine.shutdown();
    let summary = engine.wait().await;
    assert_eq!(summary.status.executions, 0);
    assert_eq!(orders_seen(&sim.urls.kalshi_admin, KALSHI_ORDERS).await, 0);
    assert_eq!(
        orders_seen(&sim.urls.polymarket_admin, POLY_ORDERS).await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_trades_a_planted_opportunity_and_telemetry_answers() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, engine) = start(dir.path(), Mode::Live, |_| {}, |sim| probe_orders(sim, 0)).await;
    let base = format!("http://{}", engine.telemetry_addr());

    let (status, body) = get(&base, "/health").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("alive"));

    wait_for(&engine, "a completed trade", |s| s.completed >= 1).await;
    let (status, body) = get(&base, "/ready").await;
    assert_eq!(status, 200, "{body}");
    let ready: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ready["ready"], true);
    assert_eq!(ready["checks"]["reconciliation_done"]["ok"], true);
    assert_eq!(ready["checks"]["database_open"], true);

    let (status, metrics) = get(&base, "/metrics").await;
    assert_eq!(status, 200);
    for name in [
        "orion_orders_total",
        "orion_opportunities_total",
        "orion_book_event_to_orders_seconds",
        "orion_balance_micros",
        "orion_stale_pairs",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }

    engine.shutdown();
    let summary = engine.wait().await;
    assert!(summary.latency_samples >= 1);
    assert!(orders_seen(&sim.urls.kalshi_admin, KALSHI_ORDERS).await >= 1);
    assert!(orders_seen(&sim.urls.polymarket_admin, POLY_ORDERS).await >= 1);
    let kalshi = orion_account(&sim, VenueName::Kalshi);
    let poly = orion_account(&sim, VenueName::Polymarket);
    assert!(!is_empty(&kalshi["positions"]), "{kalshi}");
    assert!(!is_empty(&poly["positions"]), "{poly}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_guard_suspends_pairs_when_a_venue_stream_stops() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, engine) = start(
        dir.path(),
        Mode::AlertOnly,
        |c| c.polymarket.max_book_age_ms = 3_600_000,
        |_| {},
    )
    .await;
    wait_for(&engine, "pairs live", |s| {
        s.pairs == 3 && s.suspended_pairs == 0
    })
    .await;
    // Polymarket goes away (listener closed, WebSockets cut) for a while.
    let (status, body) = request(
        &sim.urls.polymarket_admin,
        "POST",
        "/_sim/down",
        r#"{"duration_ms": 4000}"#,
    )
    .await;
    assert!(status < 300, "{status} {body}");
    wait_for(&engine, "every pair suspended", |s| s.suspended_pairs == 3).await;
    // /ready says so too, once the disconnect itself has been processed.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (ok, report) = engine.ready();
        if !ok {
            assert_eq!(report["checks"]["polymarket_reachable"], false, "{report}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{report}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Back: fresh snapshots lift the suspensions.
    wait_for(&engine, "pairs resumed", |s| s.suspended_pairs == 0).await;
    engine.shutdown();
    engine.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_a_leg_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    // Polymarket answers orders slowly, so a leg is in flight when we stop.
    let (sim, engine) = start(
        dir.path(),
        Mode::Live,
        |_| {},
        |sim| probe_orders(sim, 1_500),
    )
    .await;
    wait_for(&engine, "an execution started", |s| s.executions >= 1).await;
    engine.shutdown();
    let summary = engine.wait().await;
    assert!(summary.status.executions >= 1);
    assert_eq!(
        summary.status.completed, summary.status.executions,
        "every started execution ran to its end: {:?}",
        summary.status
    );
    // Nothing left half-done: the journal is closed and nothing rests.
    let db = orion_storage::Database::open(&dir.path().join("orion.db")).unwrap();
    assert!(db.unfinished_intents().unwrap().is_empty());
    for venue in [VenueName::Kalshi, VenueName::Polymarket] {
        let acct = orion_account(&sim, venue);
        assert!(is_empty(&acct["open_orders"]), "{venue:?}: {acct}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unfinished_real_trade_keeps_dry_run_from_trading() {
    use orion_core::{
        ClientOrderId, InstrumentId, MarketId, OrderRequest, Outcome, PreparedOrder, Price,
        Quantity, Side, TimeInForce, TradeIntent, Venue,
    };
    let dir = tempfile::tempdir().unwrap();
    // A real intent journaled by an earlier live run that died mid-trade.
    {
        let mut db = orion_storage::Database::open(&dir.path().join("orion.db")).unwrap();
        let leg = |venue: Venue, symbol: &str, id: &str| PreparedOrder {
            request: OrderRequest {
                client_order_id: ClientOrderId::new(id).unwrap(),
                market: MarketId::new(venue, symbol).unwrap(),
                instrument: InstrumentId::new(venue, symbol).unwrap(),
                outcome: Outcome::Yes,
                side: Side::Buy,
                limit_price: Price::parse("0.50").unwrap(),
                quantity: Quantity::parse("1").unwrap(),
                time_in_force: TimeInForce::FillOrKill,
            },
            venue_order_id: None,
            body: b"{}".to_vec(),
        };
        db.record_intent(&TradeIntent {
            intent_id: "crashed-live-intent".into(),
            pair_id: "p".into(),
            legs: vec![
                leg(Venue::Kalshi, "KXFEDDECISION-29DEC-C25", "c-1"),
                leg(Venue::Polymarket, "1", "c-2"),
            ],
            expected_profit: orion_core::Cash::ZERO,
            created_at: orion_core::Timestamp::from_secs(1),
        })
        .unwrap();
    }
    let (sim, engine) = start(dir.path(), Mode::DryRun, |_| {}, |sim| probe_orders(sim, 0)).await;
    let (ok, report) = engine.ready();
    assert!(!ok);
    assert_eq!(
        report["checks"]["reconciliation_done"]["ok"], false,
        "{report}"
    );
    // Detection goes on; trading does not.
    wait_for(&engine, "an opportunity", |s| s.opportunities >= 1).await;
    engine.shutdown();
    let summary = engine.wait().await;
    assert_eq!(summary.status.executions, 0);
    assert_eq!(orders_seen(&sim.urls.kalshi_admin, KALSHI_ORDERS).await, 0);
    assert_eq!(
        orders_seen(&sim.urls.polymarket_admin, POLY_ORDERS).await,
        0
    );
    // Still there for a live reconciliation.
    let db = orion_storage::Database::open(&dir.path().join("orion.db")).unwrap();
    assert_eq!(db.unfinished_intents().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_stops_new_trades_and_resume_restarts_them() {
    let dir = tempfile::tempdir().unwrap();
    let (_sim, engine) = start(dir.path(), Mode::DryRun, |_| {}, |_| {}).await;
    wait_for(&engine, "a first trade", |s| s.simulated_executions >= 1).await;
    engine.control(orion_decision::Control::Pause).await;
    // Let anything already decided drain, then watch new edges go untraded.
    let seen = engine.status().opportunities;
    wait_for(&engine, "edges after the pause", |s| s.opportunities > seen).await;
    let paused_at = engine.status();
    wait_for(&engine, "more edges while paused", |s| {
        s.opportunities >= paused_at.opportunities + 2
    })
    .await;
    assert_eq!(
        engine.status().executions,
        paused_at.executions,
        "no trade while paused"
    );
    engine.control(orion_decision::Control::Resume).await;
    wait_for(&engine, "a trade after resuming", |s| {
        s.executions > paused_at.executions
    })
    .await;
    engine.shutdown();
    engine.wait().await;
}
