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
        dashboard_password_hash: None,
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

/// Sum of a counter's samples for one venue in a Prometheus text page.
fn counter(metrics: &str, name: &str, venue: &str) -> u64 {
    let label = format!("venue=\"{venue}\"");
    metrics
        .lines()
        .filter(|l| l.starts_with(name) && l.contains(&label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

/// One bad frame of `kind` on Kalshi's WebSocket.
fn frame_fault(kind: FaultKind) -> FaultSpec {
    FaultSpec {
        kind,
        count: Some(1),
        latency_ms: None,
        ..order_probe(VenueName::Kalshi, "/trade-api/ws/v2", 0)
    }
}

/// Bad venue data reaches the whole engine, not only the client: an
/// undecodable frame is skipped and counted, a sequence gap and a
/// duplicated sequence number resync the book, an oversized frame drops and
/// re-establishes the connection; the engine keeps running, its pairs come
/// back unsuspended on fresh snapshots, and it keeps detecting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_venue_frames_are_skipped_resynced_or_reconnected_and_trading_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, engine) = start(dir.path(), Mode::AlertOnly, |_| {}, |_| {}).await;
    let base = format!("http://{}", engine.telemetry_addr());
    wait_for(&engine, "pairs live", |s| {
        s.pairs == 3 && s.suspended_pairs == 0 && s.book_events > 0
    })
    .await;
    let (_, before) = get(&base, "/metrics").await;
    let events_before = engine.status().book_events;

    // One fault at a time, each followed by the reaction it must cause.
    let steps = [
        (FaultKind::WsRawFrame, "orion_md_decode_errors_total"),
        (FaultKind::WsGap, "orion_ws_seq_gaps_total"),
        (FaultKind::WsDuplicateSeq, "orion_ws_book_resyncs_total"),
        (
            FaultKind::WsOversizedFrame,
            "orion_md_oversized_frames_total",
        ),
    ];
    for (kind, reaction) in steps {
        let (_, now) = get(&base, "/metrics").await;
        let resyncs = counter(&now, "orion_ws_book_resyncs_total", "kalshi");
        let disconnects = counter(&now, "orion_ws_disconnects_total", "kalshi");
        sim.add_fault(frame_fault(kind));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let last = loop {
            let (_, after) = get(&base, "/metrics").await;
            if counter(&after, reaction, "kalshi") > counter(&now, reaction, "kalshi") {
                break after;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{kind:?}: no {reaction}; metrics now:\n{}",
                after
                    .lines()
                    .filter(|l| l.starts_with("orion_md") || l.starts_with("orion_ws"))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let resynced = counter(&last, "orion_ws_book_resyncs_total", "kalshi") > resyncs;
        let dropped = counter(&last, "orion_ws_disconnects_total", "kalshi") > disconnects;
        match kind {
            // Not attributable to a book: skipped, nothing else.
            FaultKind::WsRawFrame => assert!(!resynced && !dropped, "{kind:?}"),
            // The book is resynced on the same connection.
            FaultKind::WsGap | FaultKind::WsDuplicateSeq => {
                assert!(resynced && !dropped, "{kind:?}")
            }
            _ => {}
        }
        wait_for(&engine, "pairs back after the fault", |s| {
            s.suspended_pairs == 0
        })
        .await;
    }
    // The oversized frame cost the connection, and it came back.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (_, after) = get(&base, "/metrics").await;
        if counter(&after, "orion_ws_connects_total", "kalshi")
            > counter(&before, "orion_ws_connects_total", "kalshi")
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no reconnect");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Fresh snapshots bring every pair back and the engine keeps working.
    wait_for(&engine, "pairs resumed and books flowing", |s| {
        s.suspended_pairs == 0 && s.book_events > events_before + 10
    })
    .await;
    engine.shutdown();
    let summary = engine.wait().await;
    assert_eq!(summary.status.executions, 0, "alert-only never executes");
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

// ------------------------------------------------------------ ledger, settlement, funder

/// Alerts kept for inspection.
#[derive(Debug, Default)]
struct KeptAlerts(std::sync::Mutex<Vec<orion_core::Alert>>);

impl orion_core::Alerter for KeptAlerts {
    fn alert(&self, alert: orion_core::Alert) {
        self.0.lock().unwrap().push(alert);
    }
}

impl KeptAlerts {
    fn with_key_prefix(&self, prefix: &str) -> Vec<orion_core::Alert> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|a| a.key.starts_with(prefix))
            .cloned()
            .collect()
    }
}

/// Like [`start`], live, with alerts kept.
async fn start_live_kept(
    dir: &Path,
    sim: Option<SimHandle>,
) -> (SimHandle, EngineHandle, Arc<KeptAlerts>) {
    let scenario = demo::bundled_scenario(dir).unwrap();
    let sim = match sim {
        Some(sim) => sim,
        None => Sim::start(scenario.clone()).await.unwrap(),
    };
    let config = demo::config_for_sim(&sim, dir, Mode::Live, any_port()).unwrap();
    demo::seed_pairs(&config.database_path(), &scenario, &SystemClock).unwrap();
    let alerts = Arc::new(KeptAlerts::default());
    let engine = Engine::start(EngineOptions {
        config,
        credentials: demo::credentials(),
        clock: Arc::new(SystemClock),
        alerter: alerts.clone(),
        dashboard_password_hash: None,
    })
    .await
    .unwrap();
    (sim, engine, alerts)
}

fn read_db(dir: &Path) -> orion_storage::Database {
    orion_storage::Database::open_read_only(&dir.join("orion.db")).unwrap()
}

/// Trades once, then pauses and waits until every intent is finished and
/// its fills are in the ledger; returns the ledger's real holdings.
async fn trade_then_pause(dir: &Path, engine: &EngineHandle) -> Vec<orion_storage::PositionRecord> {
    wait_for(engine, "a completed trade", |s| s.completed >= 1).await;
    engine.control(orion_decision::Control::Pause).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let db = read_db(dir);
        let held = db.positions(false).unwrap();
        if db.unfinished_intents().unwrap().is_empty() && !held.is_empty() {
            // Settled for a moment: nothing in flight any more.
            tokio::time::sleep(Duration::from_millis(500)).await;
            let db = read_db(dir);
            if db.unfinished_intents().unwrap().is_empty() && db.positions(false).unwrap() == held {
                return held;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "trades never settled in the ledger"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// (Kalshi ticker, Polymarket condition id) of every held pair.
fn held_markets(held: &[orion_storage::PositionRecord]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for pair in held.iter().filter_map(|p| p.pair_id.clone()) {
        let of = |venue: orion_core::Venue| {
            held.iter()
                .find(|p| p.pair_id.as_deref() == Some(&pair) && p.venue == venue)
                .map(|p| p.market.clone())
                .unwrap()
        };
        let markets = (
            of(orion_core::Venue::Kalshi),
            of(orion_core::Venue::Polymarket),
        );
        if !out.contains(&markets) {
            out.push(markets);
        }
    }
    out
}

async fn wait_for_settlements(dir: &Path, n: usize) -> Vec<orion_storage::SettlementRecord> {
    // The settlement task polls every 10 s; this bounds a hang.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let s = read_db(dir).settlements(None).unwrap();
        if s.len() >= n {
            return s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {n} settlements recorded",
            s.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settled_markets_close_the_ledger_with_realized_pnl_and_reconcile_clean() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, engine, alerts) = start_live_kept(dir.path(), None).await;
    let held = trade_then_pause(dir.path(), &engine).await;
    let markets = held_markets(&held);
    // The ledger is what the venues hold (the same transaction as the
    // intents' finish wrote it).
    for (ticker, condition) in &markets {
        // The demo's pairs are not inverted: Polymarket YES pays with Kalshi YES.
        sim.resolve(VenueName::Kalshi, ticker, true).unwrap();
        sim.resolve(VenueName::Polymarket, condition, true).unwrap();
    }
    let settled = wait_for_settlements(dir.path(), held.len()).await;
    assert_eq!(
        settled.len(),
        held.len(),
        "one settlement per holding: {settled:?}"
    );
    let db = read_db(dir.path());
    assert!(db.positions(false).unwrap().is_empty(), "holdings closed");
    for h in &held {
        let s = settled
            .iter()
            .find(|s| s.venue == h.venue && s.market == h.market && s.quantity == h.quantity)
            .unwrap_or_else(|| panic!("no settlement for {h:?}: {settled:?}"));
        assert_eq!(s.winning_outcome, orion_core::Outcome::Yes);
        assert_eq!(s.cost, h.cost);
        let pays = h.outcome == orion_core::Outcome::Yes;
        let expected_payout = if pays {
            orion_core::Cash::from_micros(i64::try_from(h.quantity.micros()).unwrap())
        } else {
            orion_core::Cash::ZERO
        };
        assert_eq!(s.payout, expected_payout, "{h:?}");
        assert_eq!(s.realized_pnl, s.payout.checked_sub(s.cost).unwrap());
    }
    // A hedged pair: exactly one leg of each pays.
    let paid = settled
        .iter()
        .filter(|s| s.payout != orion_core::Cash::ZERO)
        .count();
    assert_eq!(paid, markets.len());
    let total = db.realized_pnl(false).unwrap();
    let by_hand = settled.iter().fold(orion_core::Cash::ZERO, |t, s| {
        t.checked_add(s.realized_pnl).unwrap()
    });
    assert_eq!(total, by_hand);
    // The engine's status shows it (refreshed after the pass).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while engine.status().realized_pnl != total {
        assert!(
            tokio::time::Instant::now() < deadline,
            "status never showed {total}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(alerts.with_key_prefix("settlement.mismatch").is_empty());
    engine.shutdown();
    engine.wait().await;

    // A restart reconciles clean: the venues paid out, the ledger closed.
    let (_sim, engine, _alerts) = start_live_kept(dir.path(), Some(sim)).await;
    let (_, report) = engine.ready();
    let check = &report["checks"]["reconciliation_done"];
    assert_eq!(check["ok"], true, "{report}");
    assert!(
        check.to_string().contains(" 0 position differences"),
        "{report}"
    );
    engine.shutdown();
    engine.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn venues_resolving_a_pair_differently_raise_a_critical_alert() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, engine, alerts) = start_live_kept(dir.path(), None).await;
    let held = trade_then_pause(dir.path(), &engine).await;
    let markets = held_markets(&held);
    for (ticker, condition) in &markets {
        // Kalshi says NO wins where Polymarket says YES: for the pair
        // "Kalshi YES + Polymarket NO" both legs lose.
        let kalshi_held = held
            .iter()
            .find(|h| &h.market == ticker)
            .map(|h| h.outcome)
            .unwrap();
        let kalshi_yes = kalshi_held == orion_core::Outcome::No;
        sim.resolve(VenueName::Kalshi, ticker, kalshi_yes).unwrap();
        sim.resolve(VenueName::Polymarket, condition, !kalshi_yes)
            .unwrap();
    }
    let settled = wait_for_settlements(dir.path(), held.len()).await;
    assert!(
        settled.iter().all(|s| s.payout == orion_core::Cash::ZERO),
        "both legs lost: {settled:?}"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mismatches = alerts.with_key_prefix("settlement.mismatch");
        if mismatches.len() == markets.len() {
            assert!(
                mismatches
                    .iter()
                    .all(|a| a.severity == orion_core::Severity::Critical)
            );
            assert!(
                mismatches[0].message.contains("resolved differently"),
                "{mismatches:?}"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "mismatch alerts: {mismatches:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let total = read_db(dir.path()).realized_pnl(false).unwrap();
    let cost = held.iter().fold(orion_core::Cash::ZERO, |t, h| {
        t.checked_add(h.cost).unwrap()
    });
    assert_eq!(
        total,
        orion_core::Cash::ZERO.checked_sub(cost).unwrap(),
        "everything paid was lost"
    );
    engine.shutdown();
    engine.wait().await;
    drop(sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_venue_position_the_ledger_does_not_know_blocks_live_readiness() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, engine, _alerts) = start_live_kept(dir.path(), None).await;
    let held = trade_then_pause(dir.path(), &engine).await;
    engine.shutdown();
    engine.wait().await;
    // Clean restart first: the ledger matches the venues.
    let (sim, engine, _alerts) = start_live_kept(dir.path(), Some(sim)).await;
    let (_, report) = engine.ready();
    assert_eq!(
        report["checks"]["reconciliation_done"]["ok"], true,
        "{report}"
    );
    engine.control(orion_decision::Control::Pause).await;
    engine.shutdown();
    engine.wait().await;

    // Now the venues hold what Orion's ledger does not know (as if bought
    // by hand, or written by a process whose ledger was lost).
    let unknown = {
        let db = orion_storage::Database::open(&dir.path().join("orion.db")).unwrap();
        db.connection()
            .execute("DELETE FROM positions", [])
            .unwrap()
    };
    assert!(unknown >= held.len(), "the first run's holdings at least");
    let (_sim, engine, alerts) = start_live_kept(dir.path(), Some(sim)).await;
    let (ok, report) = engine.ready();
    assert!(!ok);
    let check = &report["checks"]["reconciliation_done"];
    assert_eq!(check["ok"], false, "{report}");
    let detail = check.to_string();
    // Only the holdings differ: no open intent, no venue error.
    assert!(detail.contains("0 unresolved, 0 venue errors"), "{report}");
    assert!(
        detail.contains(&format!(
            "{unknown} position differences ({unknown} blocking)"
        )),
        "every unknown holding is on a pair's instrument, so each blocks: {report}"
    );
    assert!(
        !alerts.with_key_prefix("engine.reconciliation").is_empty(),
        "an operator is told"
    );
    // Not ready: nothing is traded on top of the unexplained holdings.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(engine.status().executions, 0);
    engine.shutdown();
    engine.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_safe_funded_order_is_made_by_the_funder_and_signed_by_the_key() {
    use orion_core::{
        InstrumentId, MarketId, OrderGateway, OrderRequest, OrderStatus, Outcome, Price, Quantity,
        Side, TimeInForce, Venue,
    };
    const FUNDER: &str = "0x1111111111111111111111111111111111111111";
    const EOA: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    let dir = tempfile::tempdir().unwrap();
    let mut scenario = demo::bundled_scenario(dir.path()).unwrap();
    for account in &mut scenario.accounts {
        if account.polymarket_address.as_deref() == Some(EOA) {
            account.polymarket_funder = Some(FUNDER.into());
        }
    }
    let sim = Sim::start(scenario.clone()).await.unwrap();
    let mut config = demo::config_for_sim(&sim, dir.path(), Mode::Live, any_port()).unwrap();
    config.polymarket.signature_type = 2;

    // Without the funder the venues are not even contacted.
    let err = orion_runtime::venues::connect(&config, &demo::credentials(), Arc::new(SystemClock))
        .await
        .unwrap_err();
    assert!(err.contains("funder"), "{err}");
    assert!(err.contains("POLY_GNOSIS_SAFE"), "{err}");

    let mut credentials = demo::credentials();
    credentials.polymarket_funder = Some(FUNDER.into());
    let clients = orion_runtime::venues::connect(&config, &credentials, Arc::new(SystemClock))
        .await
        .unwrap();
    let market = &scenario.polymarket.markets[0];
    clients
        .polymarket
        .load_market(&market.condition_id)
        .await
        .unwrap();
    let request = OrderRequest {
        client_order_id: orion_core::ClientOrderId::new("funder-test-1").unwrap(),
        market: MarketId::new(Venue::Polymarket, &market.condition_id).unwrap(),
        instrument: InstrumentId::new(Venue::Polymarket, &market.no_token_id).unwrap(),
        outcome: Outcome::No,
        side: Side::Buy,
        limit_price: Price::parse("0.50").unwrap(),
        quantity: Quantity::parse("5").unwrap(),
        time_in_force: TimeInForce::GoodTillCancel,
    };
    let prepared = clients.polymarket.prepare(&request).unwrap();
    let body: serde_json::Value = serde_json::from_slice(&prepared.body).unwrap();
    let order = &body["order"];
    assert!(
        order["maker"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case(FUNDER),
        "{body}"
    );
    assert!(
        order["signer"].as_str().unwrap().eq_ignore_ascii_case(EOA),
        "{body}"
    );
    assert_eq!(order["signatureType"], 2, "{body}");
    // The simulator checks the EIP-712 signature against the signer and the
    // maker against the signer's registered Safe: accepted.
    let report = clients.polymarket.submit(&prepared).await.unwrap();
    assert_ne!(report.status, OrderStatus::Rejected, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_halt_survives_a_restart_until_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, engine) = start(dir.path(), Mode::DryRun, |_| {}, |_| {}).await;
    wait_for(&engine, "a first trade", |s| s.simulated_executions >= 1).await;
    engine
        .control(orion_decision::Control::Halt {
            reason: "operator test halt".into(),
        })
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while read_db(dir.path()).halted_pairs().unwrap().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "halt never stored");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    engine.shutdown();
    engine.wait().await;
    drop(sim);

    // Restarted: edges are seen, nothing is traded.
    let (_sim, engine) = start(dir.path(), Mode::DryRun, |_| {}, |_| {}).await;
    wait_for(&engine, "edges after the restart", |s| s.opportunities >= 3).await;
    assert_eq!(engine.status().executions, 0, "still halted");
    let halts = read_db(dir.path()).halted_pairs().unwrap();
    assert_eq!(halts.len(), 1);
    assert_eq!(halts[0].pair_id, orion_storage::ENGINE_HALT_ID);
    assert_eq!(halts[0].reason, "operator test halt");

    // A resume lifts it, in memory and in the database.
    engine.control(orion_decision::Control::Resume).await;
    wait_for(&engine, "a trade after resuming", |s| s.executions >= 1).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !read_db(dir.path()).halted_pairs().unwrap().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "stored halt never lifted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        read_db(dir.path())
            .audit_log(50)
            .unwrap()
            .iter()
            .any(|e| e.action == "pair.resume" && e.detail.starts_with('*'))
    );
    engine.shutdown();
    engine.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_with_its_pairs_file_backtests_what_the_engine_saw() {
    use orion_matching::detection::PairSpec;
    use std::collections::BTreeSet;

    let dir = tempfile::tempdir().unwrap();
    let mut config = None;
    let (_sim, engine) = start(
        dir.path(),
        Mode::DryRun,
        |c| config = Some(c.clone()),
        |_| {},
    )
    .await;
    let config = config.unwrap();
    wait_for(&engine, "a simulated trade", |s| {
        s.simulated_executions >= 1 && s.completed >= 1
    })
    .await;
    engine.shutdown();
    let summary = engine.wait().await;
    let recorded = summary.status.recorded_events;
    assert!(recorded > 0);

    // The specs the engine traded sit next to its recording files.
    let rec_dir = summary.recordings[0].parent().unwrap().to_path_buf();
    let pairs_file = rec_dir.join(orion_runtime::recorded_pairs::PAIRS_FILE);
    let pairs: Vec<PairSpec> =
        serde_json::from_str(&std::fs::read_to_string(&pairs_file).unwrap()).unwrap();
    assert_eq!(pairs.len() as u64, summary.status.pairs, "{pairs:?}");
    let spec_ids: BTreeSet<String> = pairs.iter().map(|p| p.pair_id.to_string()).collect();
    let db = orion_storage::Database::open_read_only(&config.database_path()).unwrap();
    let mut stmt = db
        .connection()
        .prepare("SELECT DISTINCT pair_id FROM opportunities")
        .unwrap();
    let detected: BTreeSet<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(!detected.is_empty());
    assert!(
        detected.is_subset(&spec_ids),
        "{detected:?} vs {spec_ids:?}"
    );

    // The backtest reads every event the engine recorded and, with the
    // engine's configuration, finds edges on the pairs the engine did.
    // The backtest runs its own (paused-clock) runtime: off this one.
    let (run, scan) = tokio::task::spawn_blocking(move || {
        let readers = || {
            orion_recording::recording_files(&rec_dir)
                .unwrap()
                .into_iter()
                .map(|f| {
                    orion_recording::BinaryReader::new(std::io::BufReader::new(
                        std::fs::File::open(f).unwrap(),
                    ))
                    .unwrap()
                })
                .collect::<Vec<_>>()
        };
        let settings = orion_replay::backtest::BacktestSettings::from_config(&config);
        let run = orion_replay::backtest::run_backtest_binary(
            readers(),
            pairs.clone(),
            &settings,
            |_| {},
        )
        .unwrap();
        let scan = orion_replay::scan_binary(
            readers(),
            pairs,
            settings.detection,
            settings.max_book_age_kalshi,
            settings.max_book_age_polymarket,
            |_| {},
        )
        .unwrap();
        (run, scan)
    })
    .await
    .unwrap();
    assert_eq!(run.events, recorded);
    assert!(run.opportunities_seen >= 1);
    for trade in &run.trades {
        assert!(detected.contains(&trade.pair_id), "{}", trade.pair_id);
    }
    assert_eq!(scan.events, recorded);
    let scanned: BTreeSet<String> = scan
        .pairs
        .iter()
        .filter(|(_, f)| f.detections > 0)
        .map(|(p, _)| p.clone())
        .collect();
    assert_eq!(scanned, detected);
}

/// One HTTP/1.1 request to the dashboard as its own page sends it, with an
/// optional session cookie: (status, response head and body).
async fn dashboard_http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: &str,
) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let cookie = cookie
        .map(|c| format!("Cookie: orion_session={c}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{cookie}Sec-Fetch-Site: same-origin\r\nOrigin: http://{addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
        form.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// Logs in to the dashboard; returns the session cookie and a CSRF token.
async fn dashboard_login(addr: SocketAddr, password: &str) -> (String, String) {
    fn cookie(response: &str) -> String {
        let at = response.find("set-cookie: orion_session=").unwrap() + 26;
        response[at..at + 64].to_string()
    }
    fn csrf(page: &str) -> String {
        let at = page.find(r#"name="csrf" value=""#).unwrap() + 19;
        page[at..at + 64].to_string()
    }
    let (_, login) = dashboard_http(addr, "GET", "/login", None, "").await;
    let pre = cookie(&login);
    let form = format!(
        "csrf={}&password={}",
        csrf(&login),
        password.replace(' ', "+")
    );
    let (status, reply) = dashboard_http(addr, "POST", "/login", Some(&pre), &form).await;
    assert_eq!(status, 303, "{reply}");
    let session = cookie(&reply);
    let (_, page) = dashboard_http(addr, "GET", "/pairs", Some(&session), "").await;
    (session, csrf(&page))
}

/// A pair confirmed on the dashboard while the engine runs goes live
/// without a restart: the engine subscribes its books, counts it, and (in
/// dry-run) trades it. Rejecting it takes it out again, and it trades no
/// more while the other pairs go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pair_confirmed_on_the_dashboard_goes_live_and_a_rejected_one_stops() {
    use orion_core::{Clock, SystemClock};
    use orion_storage::{Database, PairStatus};
    use orion_vault::{KdfParams, SecretString, hash_dashboard_password};

    let dir = tempfile::tempdir().unwrap();
    let scenario = demo::bundled_scenario(dir.path()).unwrap();
    let sim = Sim::start(scenario.clone()).await.unwrap();
    let mut config = demo::config_for_sim(&sim, dir.path(), Mode::DryRun, any_port()).unwrap();
    config.dashboard.enabled = true;
    config.dashboard.listen = any_port();
    demo::seed_pairs(&config.database_path(), &scenario, &SystemClock).unwrap();
    // The scenario's third pair (Bitcoin: its scripted edge comes every
    // nine seconds) is left as a proposal: not traded at start-up.
    let btc = &scenario.pairs[2];
    let btc_id = format!("{}~{}", btc.kalshi, &btc.polymarket[..10]);
    Database::open(&config.database_path())
        .unwrap()
        .set_pair_status(&btc_id, PairStatus::Proposed, "test", SystemClock.now())
        .unwrap();
    // No titles stored: the engine stores the Kalshi titles of the pairs
    // it loads (at start-up and when one is confirmed).
    Database::open(&config.database_path())
        .unwrap()
        .connection()
        .execute("DELETE FROM markets", [])
        .unwrap();
    let title_of = |ticker: &str| {
        scenario
            .kalshi
            .markets
            .iter()
            .find(|m| m.ticker == ticker)
            .unwrap()
            .title
            .clone()
    };
    let password = "confirm password 123";
    let hash =
        hash_dashboard_password(&SecretString::new(password.into()), KdfParams::MINIMUM).unwrap();
    let engine = Engine::start(EngineOptions {
        config: config.clone(),
        credentials: demo::credentials(),
        clock: Arc::new(SystemClock),
        alerter: Arc::new(NullAlerter),
        dashboard_password_hash: Some(hash),
    })
    .await
    .unwrap();
    assert_eq!(engine.status().pairs, 2);
    let db = Database::open_read_only(&config.database_path()).unwrap();
    let count = |sql: &str| -> i64 {
        db.connection()
            .query_row(sql, [&btc_id], |r| r.get(0))
            .unwrap()
    };
    let btc_intents = "SELECT COUNT(*) FROM intents WHERE pair_id = ?1 AND simulated = 1";
    let fed = &scenario.pairs[0].kalshi;
    assert_eq!(db.market_title("kalshi", fed).unwrap(), Some(title_of(fed)));
    assert_eq!(db.market_title("kalshi", &btc.kalshi).unwrap(), None);
    // The other pairs trade; the proposal does not.
    wait_for(&engine, "a simulated trade", |s| {
        s.simulated_executions >= 1
    })
    .await;

    let addr = engine.dashboard_addr().unwrap();
    let (session, csrf) = dashboard_login(addr, password).await;
    let (status, reply) = dashboard_http(
        addr,
        "POST",
        "/pairs/confirm",
        Some(&session),
        &format!("csrf={csrf}&pair_id={btc_id}&reason=checked+both+rules"),
    )
    .await;
    assert_eq!(status, 303, "{reply}");
    wait_for(&engine, "the confirmed pair counted", |s| s.pairs == 3).await;

    // Its books were subscribed (nothing was before the confirmation): its
    // scripted edge is detected and traded on simulated venues.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    // An executed opportunity is stored when its execution ends, so both
    // are awaited.
    while count(btc_intents) == 0
        || count("SELECT COUNT(*) FROM opportunities WHERE pair_id = ?1") == 0
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the confirmed pair never traded; status {:?}",
            engine.status()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        db.market_title("kalshi", &btc.kalshi).unwrap(),
        Some(title_of(&btc.kalshi))
    );
    // Its spec joined the recording's pairs file, so the books recorded
    // from now on stay backtestable.
    let pairs_file = config_recordings(dir.path()).join("pairs.json");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&pairs_file)
        .unwrap_or_default()
        .contains(&btc_id)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} never listed {btc_id}",
            pairs_file.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The pair review page shows it.
    let (_, page) = dashboard_http(addr, "GET", "/pairs", Some(&session), "").await;
    assert!(page.contains(&title_of(&btc.kalshi)), "{page}");
    // So does the trades page, beside the pair's simulated trade.
    let (_, page) = dashboard_http(addr, "GET", "/trades", Some(&session), "").await;
    assert!(page.contains(&title_of(&btc.kalshi)), "{page}");

    // Rejected: out of the core; from then on no opportunity of it, while
    // three more trades of the other pairs span a whole cycle of the
    // script (Fed, CPI, Bitcoin edges in turn).
    let (status, reply) = dashboard_http(
        addr,
        "POST",
        "/pairs/reject",
        Some(&session),
        &format!("csrf={csrf}&pair_id={btc_id}&reason=index+differs"),
    )
    .await;
    assert_eq!(status, 303, "{reply}");
    let s = wait_for(&engine, "the rejected pair removed", |s| s.pairs == 2).await;
    let cut = SystemClock.now().nanos();
    wait_for(&engine, "three more simulated trades", |now| {
        now.simulated_executions >= s.simulated_executions + 3
    })
    .await;
    // (Opportunities are stored at most every ten seconds per pair;
    // every execution starts an intent.)
    for sql in [
        "SELECT COUNT(*) FROM opportunities WHERE pair_id = ?1 AND detected_at_ns > ?2",
        "SELECT COUNT(*) FROM intents WHERE pair_id = ?1 AND created_at_ns > ?2",
    ] {
        let late: i64 = db
            .connection()
            .query_row(sql, (btc_id.as_str(), cut), |r| r.get(0))
            .unwrap();
        assert_eq!(late, 0, "a rejected pair was still evaluated: {sql}");
    }
    engine.shutdown();
    engine.wait().await;
}

/// The recording directory of an engine whose data directory is `data_dir`
/// (the default `recording.dir`).
fn config_recordings(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join(Config::defaults().recording.dir)
}
