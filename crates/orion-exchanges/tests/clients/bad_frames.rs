//! Bad venue data over a real WebSocket: the simulator injects raw frames
//! (undecodable, attributable to a book or not), oversized frames, and
//! duplicated or reordered Kalshi sequence numbers; each test asserts what
//! the client's `MarketEvent` stream does next:
//!
//! * an undecodable frame that names no book is skipped: the stream stays
//!   up and the next good delta is applied;
//! * an undecodable frame that names a book, a duplicate `seq` or an
//!   out-of-order `seq` invalidates that book, and a fresh snapshot follows
//!   on the same connection;
//! * a frame over the size limit drops the connection: `Disconnected` with
//!   a reason naming it, `Connected`, and fresh snapshots.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

use super::*;

/// A process-wide recorder that keeps counters only, so a test can see
/// what the streams counted. Installed once per test process (nextest runs
/// each test in its own process, so the counts are that test's alone).
#[derive(Default)]
struct Counters(Mutex<HashMap<String, Arc<AtomicU64>>>);

fn counter_name(name: &str, labels: &[(&str, &str)]) -> String {
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{name}{{{}}}", labels.join(","))
}

impl Recorder for Counters {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let labels: Vec<(&str, &str)> = key.labels().map(|l| (l.key(), l.value())).collect();
        let name = counter_name(key.name(), &labels);
        let cell = self.0.lock().unwrap().entry(name).or_default().clone();
        Counter::from_arc(cell)
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

fn counters() -> &'static Counters {
    static RECORDER: OnceLock<&'static Counters> = OnceLock::new();
    RECORDER.get_or_init(|| {
        let r: &'static Counters = Box::leak(Box::default());
        metrics::set_global_recorder(r).unwrap();
        r
    })
}

fn decode_errors(venue: &str) -> u64 {
    let name = counter_name("orion_md_decode_errors_total", &[("venue", venue)]);
    counters()
        .0
        .lock()
        .unwrap()
        .get(&name)
        .map_or(0, |c| c.load(Ordering::Relaxed))
}

/// Connected and the first snapshot applied; returns the stream and book.
async fn kalshi_stream(sim: &SimHandle) -> (KalshiWs, OrderBook) {
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
    (ws, book)
}

async fn poly_stream(sim: &SimHandle) -> (PolymarketWs, OrderBook) {
    let mut config = PolymarketWsConfig::new(sim.urls.polymarket_ws.clone());
    config.backoff = fast_backoff();
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
    (ws, book)
}

fn kalshi_bid(price: &str, qty: &str) -> OrderRequest {
    request(
        Venue::Kalshi,
        FED,
        FED,
        Outcome::Yes,
        Side::Buy,
        price,
        qty,
        TimeInForce::GoodTillCancel,
    )
}

fn poly_bid(price: &str, qty: &str) -> OrderRequest {
    request(
        Venue::Polymarket,
        P1,
        P1_YES,
        Outcome::Yes,
        Side::Buy,
        price,
        qty,
        TimeInForce::GoodTillCancel,
    )
}

fn raw_frame(venue: VenueName, endpoint: &str, message: Option<&str>) -> FaultSpec {
    let mut f = fault(venue, endpoint, FaultKind::WsRawFrame);
    f.message = message.map(str::to_string);
    f
}

/// The next event, which must arrive within 10 s.
async fn next<M: MarketData>(md: &mut M) -> MarketEvent {
    next_where(md, "any event", |_| true).await
}

fn is_delta(ev: &MarketEvent) -> bool {
    matches!(ev, MarketEvent::Book(b) if matches!(b.kind, BookEventKind::Delta { .. }))
}

const KALSHI_WS: &str = "/trade-api/ws/v2";

#[tokio::test]
async fn kalshi_undecodable_frame_is_skipped_and_the_next_delta_applies() {
    let before = decode_errors("kalshi");
    let sim = sim().await;
    let gw = kalshi(&sim);
    let (mut ws, mut book) = kalshi_stream(&sim).await;
    // Truncated JSON that names no subscription, sent just before the delta.
    sim.add_fault(raw_frame(VenueName::Kalshi, KALSHI_WS, None));
    gw.submit(&gw.prepare(&kalshi_bid("0.41", "5")).unwrap())
        .await
        .unwrap();
    // The very next event is the delta: no invalidation, no reconnect.
    let ev = next(&mut ws).await;
    assert!(is_delta(&ev), "expected the delta, got {ev:?}");
    apply(&mut book, &ev);
    assert_eq!(book.best_bid().unwrap().price, p("0.41"));
    assert!(
        decode_errors("kalshi") > before,
        "the skipped frame is counted"
    );
    // And the stream keeps going: the next delta applies too.
    let resting = book.bids().qty_at(p("0.39"));
    gw.submit(&gw.prepare(&kalshi_bid("0.39", "2")).unwrap())
        .await
        .unwrap();
    let ev = next(&mut ws).await;
    assert!(is_delta(&ev), "expected the second delta, got {ev:?}");
    apply(&mut book, &ev);
    assert_eq!(
        book.bids().qty_at(p("0.39")),
        resting.checked_add(q("2")).unwrap()
    );
}

#[tokio::test]
async fn kalshi_undecodable_book_frame_resyncs_that_book() {
    let sim = sim().await;
    let gw = kalshi(&sim);
    let (mut ws, _) = kalshi_stream(&sim).await;
    // A delta for sid 1 (the only subscription) with a price above $1.
    let bad = format!(
        r#"{{"type":"orderbook_delta","sid":1,"seq":2,"msg":{{"market_ticker":"{FED}","price_dollars":"1.5000","delta_fp":"5.00","side":"yes","ts_ms":1}}}}"#
    );
    sim.add_fault(raw_frame(VenueName::Kalshi, KALSHI_WS, Some(&bad)));
    let bid = kalshi_bid("0.41", "5");
    gw.submit(&gw.prepare(&bid).unwrap()).await.unwrap();
    let ev = next(&mut ws).await;
    let MarketEvent::BookInvalidated { instrument, reason } = &ev else {
        panic!("expected an invalidation, got {ev:?}");
    };
    assert_eq!(instrument.symbol.as_ref(), FED);
    assert!(
        reason.contains("msg.price_dollars") && reason.contains("kalshi"),
        "the reason names the venue and the field: {reason}"
    );
    // The real delta behind it is dropped until the fresh snapshot, which
    // already holds the order.
    let snap = next_where(&mut ws, "resync snapshot", |e| {
        is_snapshot(e) || matches!(e, MarketEvent::Disconnected { .. })
    })
    .await;
    assert!(is_snapshot(&snap), "{snap:?}");
    let mut book = OrderBook::new();
    apply(&mut book, &snap);
    assert_eq!(book.bids().qty_at(p("0.41")), q("5"));
}

#[tokio::test]
async fn kalshi_duplicate_seq_resyncs() {
    let sim = sim().await;
    let gw = kalshi(&sim);
    let (mut ws, mut book) = kalshi_stream(&sim).await;
    sim.add_fault(fault(
        VenueName::Kalshi,
        KALSHI_WS,
        FaultKind::WsDuplicateSeq,
    ));
    gw.submit(&gw.prepare(&kalshi_bid("0.41", "5")).unwrap())
        .await
        .unwrap();
    // The first copy applies; the second (same seq) cannot be told apart
    // from a replay of a signed change, so the book is resynced rather than
    // counted twice.
    let first = next(&mut ws).await;
    assert!(is_delta(&first), "{first:?}");
    apply(&mut book, &first);
    let ev = next(&mut ws).await;
    let MarketEvent::BookInvalidated { reason, .. } = &ev else {
        panic!("expected an invalidation, got {ev:?}");
    };
    assert!(reason.contains("sequence gap"), "{reason}");
    let snap = next(&mut ws).await;
    assert!(is_snapshot(&snap), "{snap:?}");
    let mut fresh = OrderBook::new();
    apply(&mut fresh, &snap);
    assert_eq!(
        fresh.bids().qty_at(p("0.41")),
        q("5"),
        "counted once, not twice"
    );
}

#[tokio::test]
async fn kalshi_out_of_order_seq_resyncs() {
    let sim = sim().await;
    let gw = kalshi(&sim);
    let (mut ws, before) = kalshi_stream(&sim).await;
    sim.add_fault(fault(VenueName::Kalshi, KALSHI_WS, FaultKind::WsOutOfOrder));
    // The first delta is held back and sent after the second.
    gw.submit(&gw.prepare(&kalshi_bid("0.41", "5")).unwrap())
        .await
        .unwrap();
    gw.submit(&gw.prepare(&kalshi_bid("0.39", "3")).unwrap())
        .await
        .unwrap();
    let ev = next(&mut ws).await;
    let MarketEvent::BookInvalidated { reason, .. } = &ev else {
        panic!("expected an invalidation, got {ev:?}");
    };
    assert!(reason.contains("sequence gap"), "{reason}");
    // The late delta is not applied to the invalid book; the snapshot is
    // the next book event and holds both orders.
    let snap = next_where(&mut ws, "resync snapshot", |e| {
        matches!(e, MarketEvent::Book(_) | MarketEvent::Disconnected { .. })
    })
    .await;
    assert!(is_snapshot(&snap), "{snap:?}");
    let mut book = OrderBook::new();
    apply(&mut book, &snap);
    assert_eq!(book.bids().qty_at(p("0.41")), q("5"));
    assert_eq!(
        book.bids().qty_at(p("0.39")),
        before.bids().qty_at(p("0.39")).checked_add(q("3")).unwrap()
    );
}

#[tokio::test]
async fn kalshi_oversized_frame_reconnects_and_resyncs() {
    let sim = sim().await;
    let gw = kalshi(&sim);
    let (mut ws, _) = kalshi_stream(&sim).await;
    sim.add_fault(fault(
        VenueName::Kalshi,
        KALSHI_WS,
        FaultKind::WsOversizedFrame,
    ));
    gw.submit(&gw.prepare(&kalshi_bid("0.41", "5")).unwrap())
        .await
        .unwrap();
    let ev = next(&mut ws).await;
    let MarketEvent::Disconnected { reason, .. } = &ev else {
        panic!("expected a disconnect, got {ev:?}");
    };
    assert!(
        reason.contains("oversized") && reason.contains(&(16usize << 20).to_string()),
        "the reason names the limit: {reason}"
    );
    let ev = next(&mut ws).await;
    assert!(matches!(ev, MarketEvent::Connected { .. }), "{ev:?}");
    let snap = next(&mut ws).await;
    assert!(is_snapshot(&snap), "{snap:?}");
    let mut book = OrderBook::new();
    apply(&mut book, &snap);
    assert_eq!(book.bids().qty_at(p("0.41")), q("5"));
}

#[tokio::test]
async fn polymarket_undecodable_frame_is_skipped_and_the_next_change_applies() {
    let before = decode_errors("polymarket");
    let sim = sim().await;
    let gw = poly(&sim).await;
    let (mut ws, mut book) = poly_stream(&sim).await;
    // Not JSON at all: it cannot have been a book update.
    sim.add_fault(raw_frame(
        VenueName::Polymarket,
        "/ws/market",
        Some("\u{7f}garbage"),
    ));
    gw.submit(&gw.prepare(&poly_bid("0.55", "10")).unwrap())
        .await
        .unwrap();
    let ev = next_where(
        &mut ws,
        "book event",
        |e| !matches!(e, MarketEvent::Book(b) if b.instrument.symbol.as_ref() != P1_YES),
    )
    .await;
    assert!(is_delta(&ev), "expected the price_change, got {ev:?}");
    apply(&mut book, &ev);
    assert_eq!(book.best_bid().unwrap().price, p("0.55"));
    assert_eq!(book.best_bid().unwrap().qty, q("10"));
    assert!(
        decode_errors("polymarket") > before,
        "the skipped frame is counted"
    );
}

#[tokio::test]
async fn polymarket_undecodable_book_update_resyncs_that_asset() {
    let sim = sim().await;
    let gw = poly(&sim).await;
    let (mut ws, _) = poly_stream(&sim).await;
    // A price_change for our asset at a price above $1: no sequence number
    // would ever reveal what it changed, so the book is resynced now.
    let bad = format!(
        r#"{{"event_type":"price_change","market":"{P1}","timestamp":"1","price_changes":[{{"asset_id":"{P1_YES}","price":"1.5","size":"3","side":"BUY","hash":""}}]}}"#
    );
    sim.add_fault(raw_frame(VenueName::Polymarket, "/ws/market", Some(&bad)));
    gw.submit(&gw.prepare(&poly_bid("0.55", "10")).unwrap())
        .await
        .unwrap();
    let ev = next(&mut ws).await;
    let MarketEvent::BookInvalidated { instrument, reason } = &ev else {
        panic!("expected an invalidation, got {ev:?}");
    };
    assert_eq!(instrument.symbol.as_ref(), P1_YES);
    assert!(
        reason.contains("price_changes[0].price") && reason.contains("polymarket"),
        "the reason names the venue and the field: {reason}"
    );
    let snap = next_where(&mut ws, "resync book", |e| {
        is_snapshot(e) || matches!(e, MarketEvent::Disconnected { .. })
    })
    .await;
    assert!(is_snapshot(&snap), "{snap:?}");
    let mut book = OrderBook::new();
    apply(&mut book, &snap);
    assert_eq!(book.bids().qty_at(p("0.55")), q("10"));
}

#[tokio::test]
async fn polymarket_oversized_frame_reconnects_and_resyncs() {
    let sim = sim().await;
    let gw = poly(&sim).await;
    let (mut ws, _) = poly_stream(&sim).await;
    sim.add_fault(fault(
        VenueName::Polymarket,
        "/ws/market",
        FaultKind::WsOversizedFrame,
    ));
    gw.submit(&gw.prepare(&poly_bid("0.45", "7")).unwrap())
        .await
        .unwrap();
    let ev = next_where(&mut ws, "disconnect", |e| !is_delta(e)).await;
    let MarketEvent::Disconnected { reason, .. } = &ev else {
        panic!("expected a disconnect, got {ev:?}");
    };
    assert!(reason.contains("oversized"), "{reason}");
    next_where(&mut ws, "reconnected", |e| {
        matches!(e, MarketEvent::Connected { .. })
    })
    .await;
    let snap = next_where(&mut ws, "book after reconnect", is_snapshot).await;
    let mut book = OrderBook::new();
    apply(&mut book, &snap);
    assert_eq!(book.bids().qty_at(p("0.45")), q("7"));
}

#[tokio::test]
async fn polymarket_duplicate_change_is_applied_twice_harmlessly() {
    let sim = sim().await;
    let gw = poly(&sim).await;
    let (mut ws, mut book) = poly_stream(&sim).await;
    sim.add_fault(fault(
        VenueName::Polymarket,
        "/ws/market",
        FaultKind::WsDuplicateSeq,
    ));
    gw.submit(&gw.prepare(&poly_bid("0.55", "10")).unwrap())
        .await
        .unwrap();
    // Both copies arrive as deltas (the size is the level's total, so the
    // second changes nothing) and no resync is needed.
    for copy in ["first", "second"] {
        let ev = next_where(
            &mut ws,
            copy,
            |e| !matches!(e, MarketEvent::Book(b) if b.instrument.symbol.as_ref() != P1_YES),
        )
        .await;
        assert!(is_delta(&ev), "{copy}: {ev:?}");
        apply(&mut book, &ev);
        assert_eq!(book.bids().qty_at(p("0.55")), q("10"), "{copy}");
    }
}
