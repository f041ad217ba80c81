//! The real clients against orion-sim over loopback: catalog paging, books
//! over REST and WebSocket (with an injected sequence gap and a
//! disconnect), place/cancel/query on both venues, FOK that cannot fill,
//! 429 storms absorbed by the limiter, 5xx retried for reads but not for
//! submits, and submit timeouts resolved by query.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use orion_config::KalshiTier;
use orion_core::{
    BookEventKind, Cash, Clock, FeeSchedule, GatewayError, InstrumentId, KalshiFeeType, MarketData,
    MarketEvent, MarketId, OrderBook, OrderGateway, OrderKey, OrderRequest, OrderStatus, Outcome,
    Price, Quantity, Rate, Side, SystemClock, TimeInForce, Venue,
};
use orion_exchanges::fees::reconcile_kalshi_fees;
use orion_exchanges::http::Backoff;
use orion_exchanges::kalshi::KalshiSigner;
use orion_exchanges::kalshi::rest::{
    KalshiClient, KalshiConfig, KalshiGateway, KalshiRequestSigner, MarketsQuery,
    new_client_order_id,
};
use orion_exchanges::kalshi::ws::{KalshiWs, KalshiWsConfig};
use orion_exchanges::polymarket::rest::{
    L2Signer, PolymarketClient, PolymarketConfig, PolymarketGateway,
};
use orion_exchanges::polymarket::ws::{PolymarketWs, PolymarketWsConfig};
use orion_exchanges::polymarket::{Chain, PolymarketWallet, SignatureType};
use orion_sim::{FaultKind, FaultSpec, Scenario, Sim, SimHandle, VenueName};

const KEY_ID: &str = "a3b1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
const HARDHAT_KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const FED: &str = "KXFEDDECISION-26DEC-C25";
const P1: &str = "0x1111111111111111111111111111111111111111111111111111111111111111";
const P1_YES: &str =
    "71321045679252212594626385532706912750332728571942532289631379312455583992563";
const P1_NO: &str = "52552210993830432218834405712139431049387440581211214930913512419081868128421";
const P2_YES: &str =
    "52114319501245915516055106046884209969926127482827954674443846427813813222426";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

async fn sim() -> SimHandle {
    let scenario = Scenario::load(&fixtures().join("sim_scenario.toml")).unwrap();
    Sim::start(scenario).await.unwrap()
}

fn clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

fn fault(venue: VenueName, endpoint: &str, kind: FaultKind) -> FaultSpec {
    FaultSpec {
        venue,
        endpoint: endpoint.into(),
        kind,
        after: 0,
        count: Some(1),
        probability_ppm: 1_000_000,
        latency_ms: None,
        status: None,
        fill_percent: None,
        duration_ms: None,
        message: None,
    }
}

fn fast_backoff() -> Backoff {
    Backoff {
        base: Duration::from_millis(20),
        cap: Duration::from_millis(200),
        max_retries: 5,
    }
}

fn kalshi_signer() -> Arc<KalshiRequestSigner> {
    let pem = std::fs::read(fixtures().join("kalshi_test_key_pkcs8.pem")).unwrap();
    Arc::new(KalshiRequestSigner::new(
        KalshiSigner::from_pem(KEY_ID, &pem).unwrap(),
        clock(),
    ))
}

fn kalshi_config(sim: &SimHandle) -> KalshiConfig {
    let mut c = KalshiConfig::for_tier(sim.urls.kalshi_rest.clone(), KalshiTier::Premier);
    c.http.backoff = fast_backoff();
    c
}

fn kalshi(sim: &SimHandle) -> KalshiGateway {
    let client = KalshiClient::new(&kalshi_config(sim), Some(kalshi_signer())).unwrap();
    KalshiGateway::new(client, clock())
}

fn poly_config(sim: &SimHandle) -> PolymarketConfig {
    let mut c = PolymarketConfig::new(
        sim.urls.polymarket_clob.clone(),
        sim.urls.gamma.clone(),
        Chain::Polygon,
    );
    c.http.backoff = fast_backoff();
    c
}

async fn poly_with(sim: &SimHandle, config: &PolymarketConfig) -> PolymarketGateway {
    let wallet = Arc::new(PolymarketWallet::from_hex(HARDHAT_KEY).unwrap());
    let public = PolymarketClient::new(config).unwrap();
    let creds = public
        .create_or_derive_api_key(wallet.clone(), 0, clock())
        .await
        .unwrap();
    let signer = Arc::new(L2Signer::new(creds.clone(), wallet.address(), clock()));
    let client = PolymarketClient::new(config).unwrap().authenticated(signer);
    let gw = PolymarketGateway::new(client, wallet, &creds, SignatureType::Eoa, None, clock());
    assert_eq!(gw.refresh_version().await.unwrap(), 2);
    gw.load_market(P1).await.unwrap();
    let _ = sim;
    gw
}

async fn poly(sim: &SimHandle) -> PolymarketGateway {
    poly_with(sim, &poly_config(sim)).await
}

fn p(s: &str) -> Price {
    Price::parse(s).unwrap()
}

fn q(s: &str) -> Quantity {
    Quantity::parse(s).unwrap()
}

#[allow(clippy::too_many_arguments)] // A test helper mirroring OrderRequest field by field.
fn request(
    venue: Venue,
    market: &str,
    instrument: &str,
    outcome: Outcome,
    side: Side,
    price: &str,
    qty: &str,
    tif: TimeInForce,
) -> OrderRequest {
    OrderRequest {
        client_order_id: new_client_order_id(),
        market: MarketId::new(venue, market).unwrap(),
        instrument: InstrumentId::new(venue, instrument).unwrap(),
        outcome,
        side,
        limit_price: p(price),
        quantity: q(qty),
        time_in_force: tif,
    }
}

fn key(r: &OrderRequest, venue_order_id: Option<String>) -> OrderKey {
    OrderKey {
        client_order_id: r.client_order_id.clone(),
        venue_order_id,
        instrument: r.instrument.clone(),
    }
}

async fn next_where<M: MarketData>(
    md: &mut M,
    what: &str,
    pred: impl Fn(&MarketEvent) -> bool,
) -> MarketEvent {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let ev = tokio::time::timeout_at(deadline, md.next_event())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            .unwrap();
        if pred(&ev) {
            return ev;
        }
    }
}

fn is_snapshot(ev: &MarketEvent) -> bool {
    matches!(ev, MarketEvent::Book(b) if matches!(b.kind, BookEventKind::Snapshot { .. }))
}

fn apply(book: &mut OrderBook, ev: &MarketEvent) {
    if let MarketEvent::Book(b) = ev {
        match &b.kind {
            BookEventKind::Snapshot { bids, asks } => book
                .apply_snapshot(
                    bids.iter().copied(),
                    asks.iter().copied(),
                    b.seq,
                    None,
                    b.received_at,
                )
                .unwrap(),
            BookEventKind::Delta { updates } => book
                .apply_delta(updates, b.seq, None, b.received_at)
                .unwrap(),
        }
    }
}

// ------------------------------------------------------------ catalogs

#[tokio::test]
async fn kalshi_catalog_pages_with_cursor() {
    let sim = sim().await;
    let gw = kalshi(&sim);
    let query = MarketsQuery {
        limit: Some(2),
        ..MarketsQuery::default()
    };
    let first = gw.client().markets_page(&query, None).await.unwrap();
    assert_eq!(first.markets.len(), 2);
    assert!(first.cursor.is_some(), "a second page exists");
    let all = gw.client().markets(&query).await.unwrap();
    assert_eq!(all.len(), 4, "every market of the scenario, over two pages");
    let fed = all.iter().find(|m| &*m.ticker.symbol == FED).unwrap();
    assert_eq!(fed.yes_bid, Some(p("0.40")));
    assert_eq!(fed.yes_ask, Some(p("0.42")));
    assert!(fed.grid.as_ref().unwrap().contains(p("0.41")));
    let one = gw.client().market(FED).await.unwrap();
    assert_eq!(one.event_ticker, "KXFEDDECISION-26DEC");
    // Fees per series; fail-closed decoding is unit-tested.
    assert_eq!(
        gw.client().series_fee("KXFEDDECISION").await.unwrap(),
        FeeSchedule::Kalshi {
            fee_type: KalshiFeeType::Quadratic,
            multiplier: Rate::ONE
        }
    );
    assert!(matches!(
        gw.client().market("NOPE").await,
        Err(GatewayError::NotFound { .. })
    ));
}

#[tokio::test]
async fn polymarket_catalogs_page_and_resolve_tokens() {
    let sim = sim().await;
    let client = PolymarketClient::new(&poly_config(&sim)).unwrap();
    let first = client.markets_page(None).await.unwrap();
    assert_eq!(first.markets.len(), 2, "scenario page size is 2");
    assert!(first.next_cursor.is_some());
    let all = client.markets().await.unwrap();
    assert_eq!(all.len(), 3);
    let gamma = client.gamma_markets(100, 0, "").await.unwrap();
    let m = gamma.iter().find(|m| m.condition_id == P1).unwrap();
    assert_eq!(m.yes_token(), Some(P1_YES));
    assert_eq!(m.no_token(), Some(P1_NO));
    assert!(client.neg_risk(P2_YES).await.unwrap());
    assert!(!client.neg_risk(P1_YES).await.unwrap());
    assert_eq!(client.tick_size(P1_YES).await.unwrap().as_str(), "0.01");
    let info = client.market_info(P1).await.unwrap();
    assert_eq!(
        info.fee,
        Some(FeeSchedule::Polymarket {
            rate: Rate::parse("0.04").unwrap(),
            exponent: 1
        })
    );
    assert_eq!(client.version().await.unwrap(), 2);
}

// ------------------------------------------------------------ REST books

#[tokio::test]
async fn rest_books_in_orion_terms() {
    let sim = sim().await;
    let k = kalshi(&sim);
    let book = k.client().orderbook(FED, 0).await.unwrap();
    assert_eq!(book.bids[0].price, p("0.40"));
    assert_eq!(book.bids[1].price, p("0.39"));
    // NO bids come back as YES asks.
    assert_eq!(book.asks[0].price, p("0.42"));
    assert_eq!(book.asks[0].qty, q("100"));
    assert_eq!(book.asks[1].price, p("0.45"));

    let c = PolymarketClient::new(&poly_config(&sim)).unwrap();
    let yes = c.book(P1_YES).await.unwrap();
    assert_eq!(yes.bids[0].price, p("0.50"));
    assert_eq!(yes.asks[0].price, p("0.60"));
    let both = c.books(&[P1_YES, P1_NO]).await.unwrap();
    assert_eq!(both.len(), 2);
    let no = both.iter().find(|b| &*b.asset_id.symbol == P1_NO).unwrap();
    // The NO token's book mirrors YES: best ask 1 − 0.50.
    assert_eq!(no.asks[0].price, p("0.50"));
}

// ------------------------------------------------------------ orders

#[tokio::test]
async fn kalshi_place_cancel_query_fok_duplicate_and_fees() {
    let sim = sim().await;
    let gw = kalshi(&sim);

    // A resting bid: open, found by client order id, cancelled.
    let rest = request(
        Venue::Kalshi,
        FED,
        FED,
        Outcome::Yes,
        Side::Buy,
        "0.30",
        "5",
        TimeInForce::GoodTillCancel,
    );
    let prepared = gw.prepare(&rest).unwrap();
    let body: serde_json::Value = serde_json::from_slice(&prepared.body).unwrap();
    assert_eq!(body["client_order_id"], rest.client_order_id.as_str());
    assert_eq!(body["price"], "0.3000");
    assert_eq!(body["count"], "5.00");
    let report = gw.submit(&prepared).await.unwrap();
    assert_eq!(report.status, OrderStatus::Open);
    let found = gw.query(&key(&rest, None)).await.unwrap().unwrap();
    assert_eq!(found.status, OrderStatus::Open);
    assert_eq!(found.venue_order_id, report.venue_order_id);
    // Re-sending the same prepared order is refused as a duplicate.
    assert!(matches!(
        gw.submit(&prepared).await,
        Err(GatewayError::Duplicate { .. })
    ));
    let cancelled = gw.cancel(&key(&rest, None)).await.unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);

    // FOK larger than the book: killed, nothing filled.
    let fok = request(
        Venue::Kalshi,
        FED,
        FED,
        Outcome::Yes,
        Side::Buy,
        "0.42",
        "1000",
        TimeInForce::FillOrKill,
    );
    let r = gw.submit(&gw.prepare(&fok).unwrap()).await.unwrap();
    assert_eq!(r.status, OrderStatus::Cancelled);
    assert_eq!(r.filled, Quantity::ZERO);

    // Buy NO at 0.60 = sell YES at 0.40 against the 0.40 bid: fills.
    let no = request(
        Venue::Kalshi,
        FED,
        FED,
        Outcome::No,
        Side::Buy,
        "0.60",
        "10",
        TimeInForce::ImmediateOrCancel,
    );
    let prepared = gw.prepare(&no).unwrap();
    let body: serde_json::Value = serde_json::from_slice(&prepared.body).unwrap();
    assert_eq!(body["side"], "ask");
    assert_eq!(body["price"], "0.4000");
    let r = gw.submit(&prepared).await.unwrap();
    assert_eq!(r.status, OrderStatus::Filled);
    assert_eq!(r.filled, q("10"));
    assert_eq!(r.average_price, Some(p("0.60")));
    assert!(r.fees > Cash::ZERO);

    // Fills carry fee_cost; the model agrees.
    let fills = gw.client().fills(Some(FED), None).await.unwrap();
    assert!(!fills.is_empty());
    let schedule = gw.client().series_fee("KXFEDDECISION").await.unwrap();
    let checks = reconcile_kalshi_fees(&fills, &schedule, Cash::ZERO).unwrap();
    assert!(checks.iter().all(|c| c.matches), "{checks:?}");
    let positions = gw.positions().await.unwrap();
    let pos = positions
        .iter()
        .find(|p| &*p.instrument.symbol == FED)
        .unwrap();
    assert_eq!(pos.outcome, Outcome::No);
    assert_eq!(pos.quantity, q("10"));
    let bal = gw.balance().await.unwrap();
    assert!(bal.available < Cash::parse("1000").unwrap());
    assert_eq!(gw.fills(None).await.unwrap().len(), fills.len());
}

#[tokio::test]
async fn polymarket_place_cancel_query_and_fok() {
    let sim = sim().await;
    let gw = poly(&sim).await;

    let rest = request(
        Venue::Polymarket,
        P1,
        P1_YES,
        Outcome::Yes,
        Side::Buy,
        "0.40",
        "10",
        TimeInForce::GoodTillCancel,
    );
    let prepared = gw.prepare(&rest).unwrap();
    let hash = prepared.venue_order_id.clone().unwrap();
    assert!(hash.starts_with("0x") && hash.len() == 66);
    let r = gw.submit(&prepared).await.unwrap();
    assert_eq!(r.status, OrderStatus::Open);
    assert_eq!(
        r.venue_order_id.as_deref(),
        Some(hash.as_str()),
        "the venue's id is our hash"
    );
    let found = gw
        .query(&key(&rest, Some(hash.clone())))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.status, OrderStatus::Open);
    // A resend reuses the same signed payload: the venue knows it already,
    // which says the order exists (never "rejected").
    assert!(matches!(
        gw.submit(&prepared).await,
        Err(GatewayError::Duplicate { .. })
    ));
    let c = gw.cancel(&key(&rest, Some(hash))).await.unwrap();
    assert_eq!(c.status, OrderStatus::Cancelled);

    // FOK bigger than the book: killed.
    let fok = request(
        Venue::Polymarket,
        P1,
        P1_YES,
        Outcome::Yes,
        Side::Buy,
        "0.60",
        "1000",
        TimeInForce::FillOrKill,
    );
    let r = gw.submit(&gw.prepare(&fok).unwrap()).await.unwrap();
    assert_eq!(r.status, OrderStatus::Cancelled);
    assert_eq!(r.filled, Quantity::ZERO);

    // FOK that fits: filled at 0.60.
    let ok = request(
        Venue::Polymarket,
        P1,
        P1_YES,
        Outcome::Yes,
        Side::Buy,
        "0.60",
        "10",
        TimeInForce::FillOrKill,
    );
    let prepared = gw.prepare(&ok).unwrap();
    let r = gw.submit(&prepared).await.unwrap();
    assert_eq!(r.status, OrderStatus::Filled);
    assert_eq!(r.filled, q("10"));
    assert_eq!(r.average_price, Some(p("0.60")));
    let q2 = gw
        .query(&key(&ok, prepared.venue_order_id.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(q2.status, OrderStatus::Filled);

    let bal = gw.balance().await.unwrap();
    assert!(bal.available < Cash::parse("1000").unwrap());
    let pos = gw.positions().await.unwrap();
    assert!(
        pos.iter()
            .any(|p| &*p.instrument.symbol == P1_YES && p.quantity == q("10"))
    );
    assert!(!gw.fills(None).await.unwrap().is_empty());
}

// ------------------------------------------------------------ WebSocket

#[tokio::test]
async fn kalshi_ws_snapshot_deltas_gap_and_disconnect() {
    let sim = sim().await;
    let gw = kalshi(&sim);
    let mut config = KalshiWsConfig::new(sim.urls.kalshi_ws.clone());
    config.backoff = fast_backoff();
    let mut ws = KalshiWs::start(config, kalshi_signer(), clock());
    ws.subscribe(&[InstrumentId::new(Venue::Kalshi, FED).unwrap()])
        .await
        .unwrap();
    next_where(&mut ws, "connected", |e| {
        matches!(e, MarketEvent::Connected { .. })
    })
    .await;
    let snap = next_where(&mut ws, "snapshot", is_snapshot).await;
    let mut book = OrderBook::new();
    apply(&mut book, &snap);
    assert_eq!(book.best_bid().unwrap().price, p("0.40"));
    assert_eq!(book.best_ask().unwrap().price, p("0.42"));

    // A delta: our resting bid at 0.41.
    let bid = request(
        Venue::Kalshi,
        FED,
        FED,
        Outcome::Yes,
        Side::Buy,
        "0.41",
        "5",
        TimeInForce::GoodTillCancel,
    );
    gw.submit(&gw.prepare(&bid).unwrap()).await.unwrap();
    let delta = next_where(
        &mut ws,
        "delta",
        |e| matches!(e, MarketEvent::Book(b) if matches!(b.kind, BookEventKind::Delta { .. })),
    )
    .await;
    apply(&mut book, &delta);
    assert_eq!(book.best_bid().unwrap().price, p("0.41"));

    // Sequence gap: the book is invalidated and a fresh snapshot follows.
    sim.add_fault(fault(
        VenueName::Kalshi,
        "/trade-api/ws/v2",
        FaultKind::WsGap,
    ));
    gw.cancel(&key(&bid, None)).await.unwrap();
    let inv = next_where(&mut ws, "invalidation", |e| {
        !matches!(e, MarketEvent::Book(_))
    })
    .await;
    assert!(
        matches!(inv, MarketEvent::BookInvalidated { .. }),
        "{inv:?}"
    );
    let snap = next_where(&mut ws, "resync snapshot", is_snapshot).await;
    let mut book = OrderBook::new();
    apply(&mut book, &snap);
    assert_eq!(
        book.best_bid().unwrap().price,
        p("0.40"),
        "the cancel is in the new snapshot"
    );

    // Disconnect: stale, then reconnected with a fresh snapshot.
    sim.add_fault(fault(
        VenueName::Kalshi,
        "/trade-api/ws/v2",
        FaultKind::WsDisconnect,
    ));
    let bid2 = request(
        Venue::Kalshi,
        FED,
        FED,
        Outcome::Yes,
        Side::Buy,
        "0.35",
        "1",
        TimeInForce::GoodTillCancel,
    );
    gw.submit(&gw.prepare(&bid2).unwrap()).await.unwrap();
    next_where(&mut ws, "disconnected", |e| {
        matches!(e, MarketEvent::Disconnected { .. })
    })
    .await;
    next_where(&mut ws, "reconnected", |e| {
        matches!(e, MarketEvent::Connected { .. })
    })
    .await;
    let snap = next_where(&mut ws, "snapshot after reconnect", is_snapshot).await;
    let mut book = OrderBook::new();
    apply(&mut book, &snap);
    assert_eq!(book.bids().qty_at(p("0.35")), q("1"));
}

#[tokio::test]
async fn polymarket_ws_book_price_change_and_disconnect() {
    let sim = sim().await;
    let gw = poly(&sim).await;
    let mut config = PolymarketWsConfig::new(sim.urls.polymarket_ws.clone());
    config.backoff = fast_backoff();
    config.ping_every = Duration::from_millis(100);
    let mut ws = PolymarketWs::start(config, clock());
    ws.subscribe(&[InstrumentId::new(Venue::Polymarket, P1_YES).unwrap()])
        .await
        .unwrap();
    next_where(&mut ws, "connected", |e| {
        matches!(e, MarketEvent::Connected { .. })
    })
    .await;
    let snap = next_where(&mut ws, "book", is_snapshot).await;
    let mut book = OrderBook::new();
    apply(&mut book, &snap);
    assert_eq!(book.best_bid().unwrap().price, p("0.50"));
    assert_eq!(book.best_ask().unwrap().price, p("0.60"));

    // PINGs every 100 ms keep the stream alive past a few intervals.
    tokio::time::sleep(Duration::from_millis(350)).await;

    let bid = request(
        Venue::Polymarket,
        P1,
        P1_YES,
        Outcome::Yes,
        Side::Buy,
        "0.55",
        "10",
        TimeInForce::GoodTillCancel,
    );
    gw.submit(&gw.prepare(&bid).unwrap()).await.unwrap();
    let delta = next_where(
        &mut ws,
        "price_change",
        |e| matches!(e, MarketEvent::Book(b) if matches!(b.kind, BookEventKind::Delta { .. })),
    )
    .await;
    apply(&mut book, &delta);
    assert_eq!(book.best_bid().unwrap().price, p("0.55"));
    assert_eq!(book.best_bid().unwrap().qty, q("10"));

    sim.add_fault(fault(
        VenueName::Polymarket,
        "/ws/market",
        FaultKind::WsDisconnect,
    ));
    let bid2 = request(
        Venue::Polymarket,
        P1,
        P1_YES,
        Outcome::Yes,
        Side::Buy,
        "0.45",
        "7",
        TimeInForce::GoodTillCancel,
    );
    gw.submit(&gw.prepare(&bid2).unwrap()).await.unwrap();
    next_where(&mut ws, "disconnected", |e| {
        matches!(e, MarketEvent::Disconnected { .. })
    })
    .await;
    next_where(&mut ws, "reconnected", |e| {
        matches!(e, MarketEvent::Connected { .. })
    })
    .await;
    let snap = next_where(&mut ws, "book after reconnect", is_snapshot).await;
    let mut book = OrderBook::new();
    apply(&mut book, &snap);
    assert_eq!(
        book.bids().qty_at(p("0.45")),
        q("7"),
        "the order placed while down is in the resync"
    );
}

// ------------------------------------------------------------ faults

#[tokio::test]
async fn rate_limit_storm_is_absorbed_by_waiting() {
    let sim = sim().await;
    let mut config = kalshi_config(&sim);
    // 40 tokens/s, 10 per read: 4 reads per second after a burst of one.
    config.read_bucket = (10, 40);
    let client = KalshiClient::new(&config, Some(kalshi_signer())).unwrap();
    let mut storm = fault(
        VenueName::Kalshi,
        "GET /trade-api/v2/markets/*",
        FaultKind::RateLimit,
    );
    storm.count = Some(3);
    sim.add_fault(storm);
    let start = tokio::time::Instant::now();
    let calls = (0..8).map(|_| {
        let c = client.clone();
        tokio::spawn(async move { c.market(FED).await })
    });
    for h in calls {
        h.await
            .unwrap()
            .expect("every read succeeds despite the 429s");
    }
    let elapsed = start.elapsed();
    // 8 reads + 3 retries at 4 per second after one free: at least 2.5 s.
    assert!(
        elapsed >= Duration::from_millis(2_400),
        "{elapsed:?}: the limiter did not pace"
    );
}

#[tokio::test]
async fn server_errors_retried_for_reads_not_for_submits() {
    let sim = sim().await;
    let gw = kalshi(&sim);
    let mut flaky = fault(
        VenueName::Kalshi,
        &format!("GET /trade-api/v2/markets/{FED}"),
        FaultKind::ServerError,
    );
    flaky.count = Some(2);
    flaky.status = Some(503);
    sim.add_fault(flaky);
    assert_eq!(&*gw.client().market(FED).await.unwrap().ticker.symbol, FED);

    let mut down = fault(
        VenueName::Kalshi,
        "POST /trade-api/v2/portfolio/events/orders",
        FaultKind::ServerError,
    );
    down.status = Some(500);
    sim.add_fault(down);
    let order = request(
        Venue::Kalshi,
        FED,
        FED,
        Outcome::Yes,
        Side::Buy,
        "0.42",
        "1",
        TimeInForce::ImmediateOrCancel,
    );
    let err = gw.submit(&gw.prepare(&order).unwrap()).await.unwrap_err();
    assert!(
        matches!(err, GatewayError::Server { status: 500, .. }),
        "{err:?}"
    );
    assert!(err.outcome_unknown());
    // Not re-sent: the venue never saw the order.
    assert!(gw.query(&key(&order, None)).await.unwrap().is_none());

    // Polymarket: same rule.
    let pg = poly(&sim).await;
    let mut flaky = fault(VenueName::Polymarket, "GET /book", FaultKind::ServerError);
    flaky.count = Some(2);
    sim.add_fault(flaky);
    assert_eq!(
        pg.client().book(P1_YES).await.unwrap().bids[0].price,
        p("0.50")
    );
    sim.add_fault(fault(
        VenueName::Polymarket,
        "POST /order",
        FaultKind::ServerError,
    ));
    let order = request(
        Venue::Polymarket,
        P1,
        P1_YES,
        Outcome::Yes,
        Side::Buy,
        "0.60",
        "5",
        TimeInForce::FillOrKill,
    );
    let prepared = pg.prepare(&order).unwrap();
    assert!(matches!(
        pg.submit(&prepared).await,
        Err(GatewayError::Server { .. })
    ));
    assert!(
        pg.query(&key(&order, prepared.venue_order_id.clone()))
            .await
            .unwrap()
            .is_none()
    );
}

/// A loopback proxy that forwards requests to `upstream` and throws the
/// answers away: the venue acts, the client never hears back. (orion-sim's
/// faults all strike before the handler runs, so a lost *response* to an
/// order that was placed is made here.)
async fn black_hole(upstream_base: &str) -> String {
    let uri: http::Uri = upstream_base.parse().unwrap();
    let upstream = format!("{}:{}", uri.host().unwrap(), uri.port_u16().unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let local = listener.local_addr().unwrap();
    let proxied = upstream_base.replacen(&upstream, &local.to_string(), 1);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let server = tokio::net::TcpStream::connect(&upstream).await.unwrap();
                let (mut cr, _cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut sr, &mut tokio::io::sink()).await;
                });
                let _ = tokio::io::copy(&mut cr, &mut sw).await;
                // Keep the venue's side open so it finishes the request.
                tokio::time::sleep(Duration::from_secs(3)).await;
                drop(sw);
            });
        }
    });
    proxied
}

#[tokio::test]
async fn submit_timeouts_resolve_by_query() {
    let sim = sim().await;
    let gw = kalshi(&sim);
    let mut config = kalshi_config(&sim);
    config.rest_url = black_hole(&sim.urls.kalshi_rest).await;
    config.write_timeout = Duration::from_millis(300);
    let lossy = KalshiGateway::new(
        KalshiClient::new(&config, Some(kalshi_signer())).unwrap(),
        clock(),
    );

    // The venue acts, the answer is lost: unknown, then found filled.
    let order = request(
        Venue::Kalshi,
        FED,
        FED,
        Outcome::Yes,
        Side::Buy,
        "0.42",
        "3",
        TimeInForce::ImmediateOrCancel,
    );
    let prepared = lossy.prepare(&order).unwrap();
    let err = lossy.submit(&prepared).await.unwrap_err();
    assert!(
        matches!(err, GatewayError::OutcomeUnknown { .. }),
        "{err:?}"
    );
    let truth = gw
        .query(&key(&order, None))
        .await
        .unwrap()
        .expect("the order reached the venue");
    assert_eq!(truth.status, OrderStatus::Filled);
    assert_eq!(truth.filled, q("3"));

    // Never answered and never processed: unknown, then found absent.
    let mut config = kalshi_config(&sim);
    config.write_timeout = Duration::from_millis(300);
    let slow = KalshiGateway::new(
        KalshiClient::new(&config, Some(kalshi_signer())).unwrap(),
        clock(),
    );
    sim.add_fault(fault(
        VenueName::Kalshi,
        "POST /trade-api/v2/portfolio/events/orders",
        FaultKind::Timeout,
    ));
    let lost = request(
        Venue::Kalshi,
        FED,
        FED,
        Outcome::Yes,
        Side::Buy,
        "0.42",
        "1",
        TimeInForce::ImmediateOrCancel,
    );
    let err = slow
        .submit(&slow.prepare(&lost).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, GatewayError::OutcomeUnknown { .. }));
    assert!(gw.query(&key(&lost, None)).await.unwrap().is_none());

    // Polymarket: resolved by the signed order's hash.
    let pg = poly(&sim).await;
    let mut pconfig = poly_config(&sim);
    pconfig.clob_url = black_hole(&sim.urls.polymarket_clob).await;
    pconfig.write_timeout = Duration::from_millis(300);
    let wallet = Arc::new(PolymarketWallet::from_hex(HARDHAT_KEY).unwrap());
    let creds = PolymarketClient::new(&poly_config(&sim))
        .unwrap()
        .create_or_derive_api_key(wallet.clone(), 0, clock())
        .await
        .unwrap();
    let signer = Arc::new(L2Signer::new(creds.clone(), wallet.address(), clock()));
    let lossy = PolymarketGateway::new(
        PolymarketClient::new(&pconfig)
            .unwrap()
            .authenticated(signer),
        wallet,
        &creds,
        SignatureType::Eoa,
        None,
        clock(),
    );
    // Version and market come from the direct client (reads through the
    // black hole would time out too).
    let info = pg.client().market_info(P1).await.unwrap();
    for (token, outcome) in &info.tokens {
        lossy.register_token(
            token,
            orion_exchanges::polymarket::rest::TokenInfo {
                condition_id: info.condition_id.clone(),
                outcome: Some(if outcome == "Yes" {
                    Outcome::Yes
                } else {
                    Outcome::No
                }),
                tick: info.tick_size,
                neg_risk: info.neg_risk,
                fee: info.fee,
            },
        );
    }
    lossy.set_version(2);
    let order = request(
        Venue::Polymarket,
        P1,
        P1_YES,
        Outcome::Yes,
        Side::Buy,
        "0.60",
        "5",
        TimeInForce::FillOrKill,
    );
    let prepared = lossy.prepare(&order).unwrap();
    assert!(matches!(
        lossy.submit(&prepared).await,
        Err(GatewayError::OutcomeUnknown { .. })
    ));
    let truth = pg
        .query(&key(&order, prepared.venue_order_id.clone()))
        .await
        .unwrap()
        .expect("found by hash");
    assert_eq!(truth.status, OrderStatus::Filled);
    assert_eq!(truth.filled, q("5"));
}

#[tokio::test]
async fn polymarket_version_mismatch_is_checked_once_and_fails_closed() {
    let mut scenario = Scenario::load(&fixtures().join("sim_scenario.toml")).unwrap();
    scenario.sim.polymarket_version = 3;
    let sim = Sim::start(scenario).await.unwrap();
    let config = poly_config(&sim);
    let wallet = Arc::new(PolymarketWallet::from_hex(HARDHAT_KEY).unwrap());
    let creds = PolymarketClient::new(&config)
        .unwrap()
        .create_or_derive_api_key(wallet.clone(), 0, clock())
        .await
        .unwrap();
    let signer = Arc::new(L2Signer::new(creds.clone(), wallet.address(), clock()));
    let client = PolymarketClient::new(&config)
        .unwrap()
        .authenticated(signer);
    let gw = PolymarketGateway::new(client, wallet, &creds, SignatureType::Eoa, None, clock());
    gw.load_market(P1).await.unwrap();
    assert_eq!(gw.refresh_version().await.unwrap(), 3);
    let order = request(
        Venue::Polymarket,
        P1,
        P1_YES,
        Outcome::Yes,
        Side::Buy,
        "0.60",
        "5",
        TimeInForce::FillOrKill,
    );
    // An unsupported version: nothing is signed.
    assert!(matches!(
        gw.prepare(&order),
        Err(GatewayError::InvalidOrder { .. })
    ));
    // A stale cached version: the venue refuses, /version is re-read once,
    // and the order is rejected rather than re-signed for a version we do not speak.
    gw.set_version(2);
    let prepared = gw.prepare(&order).unwrap();
    match gw.submit(&prepared).await {
        Err(GatewayError::Rejected { code, .. }) => assert_eq!(code, "order_version_mismatch"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        gw.prepare(&order),
        Err(GatewayError::InvalidOrder { .. })
    ));
    // And a market without fee details is not traded (fail closed).
    let no_fee = orion_exchanges::polymarket::rest::TokenInfo {
        condition_id: P1.into(),
        outcome: Some(Outcome::Yes),
        tick: orion_core::TickSize::Hundredth,
        neg_risk: false,
        fee: None,
    };
    gw.register_token(P1_YES, no_fee);
    gw.set_version(2);
    assert!(gw.fee_schedule(P1_YES).is_err());
    assert!(matches!(
        gw.prepare(&order),
        Err(GatewayError::InvalidOrder { .. })
    ));
}

// ------------------------------------------------------------ bad venue data

#[path = "clients/bad_frames.rs"]
mod bad_frames;
