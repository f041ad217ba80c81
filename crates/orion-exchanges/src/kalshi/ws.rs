//! Kalshi WebSocket order books (kalshi.md §7), as a [`MarketData`] stream.
//!
//! A background task owns the connection: it signs the upgrade (`GET
//! /trade-api/ws/v2`), subscribes each market on its own subscription (so a
//! subscription's `seq` is that market's sequence and the consumer's
//! `OrderBook` can check continuity too), forwards snapshots and deltas as
//! YES-quoted [`BookEvent`]s, and checks `seq` per `sid` against its own
//! copy of each book ([`BookTracker`]): on a gap, or a delta that would take
//! a level negative, the book is invalidated and a fresh snapshot requested
//! with `get_snapshot`; deltas are dropped until it arrives. Server pings are answered. When the
//! stream dies (close, error, no message for `stale_after`) every book is
//! stale ([`MarketEvent::Disconnected`]) and the task reconnects with
//! jittered backoff and resubscribes; new snapshots follow.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use http::header::{HeaderName, HeaderValue};
use orion_core::{
    BookEvent, BookEventKind, Clock, InstrumentId, MarketData, MarketDataError, MarketEvent,
    OrderBook, Timestamp, Venue,
};
use serde_json::json;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::rest::KalshiRequestSigner;
use super::types::{self, WsMessage};
use crate::http::{Backoff, SpkiPin};
use crate::ws::{
    End, Link, MAX_MESSAGE_BYTES, StreamIo, VenueStream, Ws, count_bad_message, next_text,
    send_json, supervise,
};

const V: Venue = Venue::Kalshi;

/// Connection settings.
#[derive(Debug, Clone)]
pub struct KalshiWsConfig {
    /// `wss://…/trade-api/ws/v2` (or `ws://127.0.0.1…` for the simulator).
    pub url: String,
    pub backoff: Backoff,
    /// No message (not even a ping) for this long: the stream is dead.
    pub stale_after: Duration,
    pub connect_timeout: Duration,
    pub pins: Vec<SpkiPin>,
    /// Largest message or frame accepted; a bigger one drops the connection
    /// (which reconnects and resyncs every book).
    pub max_message_bytes: usize,
}

impl KalshiWsConfig {
    pub fn new(url: impl Into<String>) -> KalshiWsConfig {
        KalshiWsConfig {
            url: url.into(),
            backoff: Backoff {
                base: Duration::from_millis(250),
                cap: Duration::from_secs(30),
                max_retries: u32::MAX,
            },
            // The venue pings every 10 s.
            stale_after: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            pins: Vec::new(),
            max_message_bytes: MAX_MESSAGE_BYTES,
        }
    }
}

/// The Kalshi order-book stream.
#[derive(Debug)]
pub struct KalshiWs {
    commands: mpsc::UnboundedSender<Vec<String>>,
    events: mpsc::Receiver<MarketEvent>,
    task: JoinHandle<()>,
}

impl Drop for KalshiWs {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl KalshiWs {
    /// Starts the connection task; books follow [`MarketData::subscribe`].
    pub fn start(
        config: KalshiWsConfig,
        signer: Arc<KalshiRequestSigner>,
        clock: Arc<dyn Clock>,
    ) -> KalshiWs {
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::channel(4096);
        let task = tokio::spawn(run(config, signer, clock, cmd_rx, ev_tx));
        KalshiWs {
            commands: cmd_tx,
            events: ev_rx,
            task,
        }
    }
}

#[async_trait]
impl MarketData for KalshiWs {
    async fn subscribe(&mut self, instruments: &[InstrumentId]) -> Result<(), MarketDataError> {
        let mut tickers = Vec::new();
        for i in instruments {
            if i.venue != V {
                return Err(MarketDataError::UnknownInstrument {
                    venue: V,
                    instrument: i.to_string(),
                });
            }
            tickers.push(i.symbol.to_string());
        }
        self.commands
            .send(tickers)
            .map_err(|_| MarketDataError::Closed)
    }

    async fn next_event(&mut self) -> Result<MarketEvent, MarketDataError> {
        self.events.recv().await.ok_or(MarketDataError::Closed)
    }
}

/// Kalshi's half of the shared reconnect supervisor ([`supervise`]).
struct KalshiStream {
    config: KalshiWsConfig,
    signer: Arc<KalshiRequestSigner>,
    clock: Arc<dyn Clock>,
}

async fn run(
    config: KalshiWsConfig,
    signer: Arc<KalshiRequestSigner>,
    clock: Arc<dyn Clock>,
    commands: mpsc::UnboundedReceiver<Vec<String>>,
    events: mpsc::Sender<MarketEvent>,
) {
    let io = StreamIo {
        wanted: BTreeSet::new(),
        commands,
        events,
    };
    supervise(
        KalshiStream {
            config,
            signer,
            clock,
        },
        io,
    )
    .await;
}

impl VenueStream for KalshiStream {
    const VENUE: Venue = V;

    fn link(&self) -> Link {
        Link {
            url: self.config.url.clone(),
            backoff: self.config.backoff,
            connect_timeout: self.config.connect_timeout,
            pins: self.config.pins.clone(),
            max_message_bytes: self.config.max_message_bytes,
        }
    }

    fn upgrade_headers(&self, url: &str) -> Vec<(HeaderName, HeaderValue)> {
        let path = http::Uri::try_from(url)
            .map(|u| u.path().to_string())
            .unwrap_or_else(|_| "/trade-api/ws/v2".into());
        match self.signer.header_pairs("GET", &path) {
            Ok(h) => h,
            Err(e) => {
                // The venue refuses the unsigned upgrade; the supervisor
                // reports that and retries, so a fixed clock or key recovers.
                tracing::error!(error = %e, "kalshi ws: cannot sign the upgrade");
                Vec::new()
            }
        }
    }

    fn session<'a>(
        &'a mut self,
        ws: Ws,
        io: &'a mut StreamIo,
    ) -> impl Future<Output = Result<Infallible, End>> + Send + 'a {
        session(ws, &self.config, &self.clock, io)
    }
}

#[derive(Default)]
struct Session {
    next_id: i64,
    /// subscribe command id → ticker
    pending: HashMap<i64, String>,
    books: BookTracker,
}

/// What one book message did.
#[derive(Debug, Default)]
pub struct Step {
    pub events: Vec<MarketEvent>,
    /// Ask the venue for a fresh snapshot of this subscription.
    pub resnapshot: Option<u64>,
}

/// Per-subscription sequence checking and a local copy of each book, so a
/// gap *or* an impossible delta (a level going negative) both lead to an
/// invalidation and a fresh snapshot. Public for tests and benchmarks.
#[derive(Debug, Default)]
pub struct BookTracker {
    books: HashMap<u64, OrderBook>,
    /// sids whose book is invalid until the next snapshot
    awaiting: HashSet<u64>,
    /// The market of each sid, learnt from its snapshots.
    tickers: HashMap<u64, InstrumentId>,
}

impl BookTracker {
    pub fn new() -> BookTracker {
        BookTracker::default()
    }

    /// A new subscription: deltas wait for its snapshot.
    pub fn expect_snapshot(&mut self, sid: u64) {
        self.awaiting.insert(sid);
    }

    pub fn book(&self, sid: u64) -> Option<&OrderBook> {
        self.books.get(&sid)
    }

    fn invalidate(&mut self, sid: u64, instrument: InstrumentId, reason: String, step: &mut Step) {
        metrics::counter!("orion_ws_book_resyncs_total", "venue" => V.as_str()).increment(1);
        tracing::warn!(%reason, %instrument, "kalshi ws: resyncing");
        self.awaiting.insert(sid);
        if let Some(b) = self.books.get_mut(&sid) {
            b.invalidate();
        }
        step.events
            .push(MarketEvent::BookInvalidated { instrument, reason });
        step.resnapshot = Some(sid);
    }

    /// A message for `sid` could not be decoded: its book cannot be trusted
    /// (it may have been a delta), so it is invalidated and resnapshotted.
    /// Nothing happens for a sid without a snapshot yet, or one already
    /// waiting for its snapshot.
    pub fn on_undecodable(&mut self, sid: u64, reason: String) -> Step {
        let mut step = Step::default();
        if self.awaiting.contains(&sid) {
            return step;
        }
        if let Some(ticker) = self.tickers.get(&sid).cloned() {
            self.invalidate(sid, ticker, reason, &mut step);
        }
        step
    }

    /// Handles a snapshot or delta (other messages are ignored).
    pub fn on_book_message(&mut self, msg: WsMessage, received_at: Timestamp) -> Step {
        let mut step = Step::default();
        match msg {
            WsMessage::Snapshot {
                sid,
                seq,
                ticker,
                book,
            } => {
                let local = self.books.entry(sid).or_default();
                match local.apply_snapshot(
                    book.bids.iter().copied(),
                    book.asks.iter().copied(),
                    Some(seq),
                    None,
                    received_at,
                ) {
                    Ok(()) => {
                        self.awaiting.remove(&sid);
                        self.tickers.insert(sid, ticker.clone());
                        step.events.push(MarketEvent::Book(BookEvent {
                            instrument: ticker,
                            kind: BookEventKind::Snapshot {
                                bids: book.bids,
                                asks: book.asks,
                            },
                            seq: Some(seq),
                            exchange_ts: None,
                            received_at,
                        }));
                    }
                    Err(e) => self.invalidate(sid, ticker, format!("bad snapshot: {e}"), &mut step),
                }
            }
            WsMessage::Delta {
                sid,
                seq,
                ticker,
                update,
                ts,
            } => {
                if self.awaiting.contains(&sid) {
                    return step;
                }
                let Some(local) = self.books.get_mut(&sid) else {
                    return step;
                };
                match local.apply_delta(&[update], Some(seq), ts, received_at) {
                    Ok(()) => step.events.push(MarketEvent::Book(BookEvent {
                        instrument: ticker,
                        kind: BookEventKind::Delta {
                            updates: vec![update],
                        },
                        seq: Some(seq),
                        exchange_ts: ts,
                        received_at,
                    })),
                    Err(e) => {
                        if matches!(e, orion_core::BookError::SequenceGap { .. }) {
                            metrics::counter!("orion_ws_seq_gaps_total", "venue" => V.as_str())
                                .increment(1);
                        }
                        self.invalidate(sid, ticker, format!("sid {sid}: {e}"), &mut step);
                    }
                }
            }
            _ => {}
        }
        step
    }
}

impl Session {
    fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }
}

async fn subscribe(ws: &mut Ws, s: &mut Session, ticker: &str) -> Result<(), End> {
    let id = s.id();
    s.pending.insert(id, ticker.to_string());
    send_json(
        ws,
        json!({"id": id, "cmd": "subscribe",
               "params": {"channels": ["orderbook_delta"], "market_tickers": [ticker]}}),
    )
    .await
}

fn instrument(ticker: &str) -> Option<InstrumentId> {
    InstrumentId::new(V, ticker).ok()
}

/// The `sid` of a book message that failed to decode, when the frame is at
/// least JSON naming an order-book type and a sid, so the one book it
/// belonged to can be resynced at once instead of at its next delta.
pub fn undecodable_book_sid(text: &[u8]) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_slice(text).ok()?;
    match v.get("type")?.as_str()? {
        "orderbook_snapshot" | "orderbook_delta" => v.get("sid")?.as_u64(),
        _ => None,
    }
}

/// One connection: subscribes every wanted market, then reads until the
/// stream is lost or the handle is dropped.
async fn session(
    mut ws: Ws,
    config: &KalshiWsConfig,
    clock: &Arc<dyn Clock>,
    io: &mut StreamIo,
) -> Result<Infallible, End> {
    let ws = &mut ws;
    let s = &mut Session::default();
    for t in io.wanted.clone() {
        subscribe(ws, s, &t).await?;
    }
    loop {
        tokio::select! {
            cmd = io.commands.recv() => {
                let Some(more) = cmd else { return Err(End::Stop) };
                for t in more {
                    if io.wanted.insert(t.clone()) {
                        subscribe(ws, s, &t).await?;
                    }
                }
            }
            text = next_text(ws, V, config.stale_after) => {
                let Some(text) = text? else { continue };
                let received_at = clock.now();
                let decoded = match types::ws_message(text.as_bytes()) {
                    Ok(m) => m,
                    Err(e) => {
                        // Skipped and counted. A lost delta cannot go unseen:
                        // `seq` is per sid, so that sid's next delta shows the
                        // gap; when the frame still names a book's sid, that
                        // book is resynced now rather than at its next delta.
                        count_bad_message(&e);
                        if let Some(sid) = undecodable_book_sid(text.as_bytes()) {
                            let reason = format!("undecodable message: {e}");
                            let step = s.books.on_undecodable(sid, reason);
                            apply_step(ws, s, io, step).await?;
                        }
                        continue;
                    }
                };
                match decoded {
                    WsMessage::Subscribed { id, sid, channel } => {
                        if channel != "orderbook_delta" {
                            continue;
                        }
                        if id.and_then(|i| s.pending.remove(&i)).is_some() {
                            s.books.expect_snapshot(sid);
                        }
                    }
                    m @ (WsMessage::Snapshot { .. } | WsMessage::Delta { .. }) => {
                        let step = s.books.on_book_message(m, received_at);
                        apply_step(ws, s, io, step).await?;
                    }
                    WsMessage::Error { id, code, msg } => {
                        tracing::warn!(?id, code, %msg, "kalshi ws: error");
                        // 10 channel error and 25 buffer overflow are terminal.
                        if code == 10 || code == 25 {
                            return Err(End::Lost(format!("terminal error {code}: {msg}")));
                        }
                        if let Some(t) = id.and_then(|i| s.pending.remove(&i))
                            && let Some(inst) = instrument(&t)
                        {
                            let reason = format!("subscribe refused ({code}): {msg}");
                            io.emit(MarketEvent::BookInvalidated { instrument: inst, reason }).await?;
                        }
                    }
                    WsMessage::Other { .. } => {}
                }
            }
        }
    }
}

/// Emits a step's events and asks for the snapshot it needs.
async fn apply_step(ws: &mut Ws, s: &mut Session, io: &StreamIo, step: Step) -> Result<(), End> {
    for ev in step.events {
        io.emit(ev).await?;
    }
    if let Some(sid) = step.resnapshot {
        let id = s.id();
        send_json(
            ws,
            json!({"id": id, "cmd": "update_subscription",
                   "params": {"sid": sid, "action": "get_snapshot"}}),
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use orion_core::{BookSide, Level, LevelChange, LevelUpdate, Price, Quantity};

    fn snap(sid: u64, seq: u64) -> WsMessage {
        WsMessage::Snapshot {
            sid,
            seq,
            ticker: InstrumentId::new(V, "T").unwrap(),
            book: types::YesBook {
                bids: vec![Level::new(
                    Price::parse("0.40").unwrap(),
                    Quantity::parse("10").unwrap(),
                )],
                asks: vec![Level::new(
                    Price::parse("0.42").unwrap(),
                    Quantity::parse("5").unwrap(),
                )],
            },
        }
    }

    fn delta(sid: u64, seq: u64, contracts: i64) -> WsMessage {
        WsMessage::Delta {
            sid,
            seq,
            ticker: InstrumentId::new(V, "T").unwrap(),
            update: LevelUpdate {
                side: BookSide::Bid,
                price: Price::parse("0.40").unwrap(),
                change: LevelChange::Add(contracts * 1_000_000),
            },
            ts: None,
        }
    }

    #[test]
    fn gaps_and_impossible_deltas_resync() {
        let mut t = BookTracker::new();
        t.expect_snapshot(1);
        assert!(
            t.on_book_message(delta(1, 1, 1), Timestamp::ZERO)
                .events
                .is_empty(),
            "no book yet"
        );
        let s = t.on_book_message(snap(1, 1), Timestamp::ZERO);
        assert!(matches!(s.events[0], MarketEvent::Book(_)));
        let s = t.on_book_message(delta(1, 2, -4), Timestamp::ZERO);
        assert!(matches!(s.events[0], MarketEvent::Book(_)) && s.resnapshot.is_none());
        assert_eq!(
            t.book(1).unwrap().best_bid().unwrap().qty,
            Quantity::parse("6").unwrap()
        );
        // seq 3 lost.
        let s = t.on_book_message(delta(1, 4, 1), Timestamp::ZERO);
        assert!(matches!(s.events[0], MarketEvent::BookInvalidated { .. }));
        assert_eq!(s.resnapshot, Some(1));
        // Deltas are dropped until the snapshot.
        assert!(
            t.on_book_message(delta(1, 5, 1), Timestamp::ZERO)
                .events
                .is_empty()
        );
        assert!(matches!(
            t.on_book_message(snap(1, 6), Timestamp::ZERO).events[0],
            MarketEvent::Book(_)
        ));
        // A level going negative is as bad as a gap.
        let s = t.on_book_message(delta(1, 7, -11), Timestamp::ZERO);
        assert!(matches!(s.events[0], MarketEvent::BookInvalidated { .. }));
        assert_eq!(s.resnapshot, Some(1));
    }

    /// What one message did, in short.
    #[derive(Debug, PartialEq, Eq)]
    enum Did {
        Applied,
        Invalidated,
        Dropped,
    }

    fn did(step: &Step) -> Did {
        match step.events.first() {
            Some(MarketEvent::Book(_)) => Did::Applied,
            Some(MarketEvent::BookInvalidated { .. }) => {
                assert_eq!(
                    step.resnapshot,
                    Some(1),
                    "an invalidation asks for a snapshot"
                );
                Did::Invalidated
            }
            None => Did::Dropped,
            Some(other) => panic!("unexpected {other:?}"),
        }
    }

    /// Kalshi `seq` per subscription, one named row per case. `None` in a
    /// row's messages is a snapshot, `Some(seq)` a +1 contract delta; every
    /// row starts from a snapshot at seq 1 with 10 contracts bid at 0.40.
    /// Duplicates are resynced, not skipped: a Kalshi delta is a signed
    /// change, so applying a replay would count it twice, and the venue
    /// never sends one when healthy.
    #[test]
    fn sequence_matrix() {
        use Did::*;
        // (name, messages after the snapshot and what each did, bid at 0.40 after)
        type Row<'a> = (&'a str, &'a [(Option<u64>, Did)], &'a str);
        let rows: &[Row<'_>] = &[
            ("in order", &[(Some(2), Applied), (Some(3), Applied)], "12"),
            (
                "duplicate seq",
                &[
                    (Some(2), Applied),
                    (Some(2), Invalidated),
                    (Some(3), Dropped),
                ],
                "11",
            ),
            (
                "out of order",
                &[
                    (Some(3), Invalidated),
                    (Some(2), Dropped),
                    (Some(4), Dropped),
                ],
                "10",
            ),
            ("gap", &[(Some(2), Applied), (Some(4), Invalidated)], "11"),
            (
                "seq going back",
                &[(Some(2), Applied), (Some(1), Invalidated)],
                "11",
            ),
            (
                "resnapshot then in order",
                &[
                    (Some(3), Invalidated),
                    (None, Applied),
                    (Some(8), Applied),
                    (Some(9), Applied),
                ],
                "12",
            ),
            (
                "stale delta after the resnapshot",
                &[
                    (Some(3), Invalidated),
                    (None, Applied),
                    (Some(4), Invalidated),
                ],
                "10",
            ),
        ];
        for (name, messages, bid_qty) in rows {
            let mut t = BookTracker::new();
            t.expect_snapshot(1);
            assert_eq!(
                did(&t.on_book_message(snap(1, 1), Timestamp::ZERO)),
                Applied
            );
            for (i, (msg, want)) in messages.iter().enumerate() {
                // A snapshot's seq: the venue's next (the resnapshot takes seq 7).
                let m = match msg {
                    Some(seq) => delta(1, *seq, 1),
                    None => snap(1, 7),
                };
                let got = did(&t.on_book_message(m, Timestamp::ZERO));
                assert_eq!(&got, want, "{name}: message {i}");
            }
            let book = t.book(1).unwrap();
            assert_eq!(
                book.best_bid().unwrap().qty,
                Quantity::parse(bid_qty).unwrap(),
                "{name}"
            );
        }
    }

    #[test]
    fn undecodable_book_messages_resync_their_sid_once() {
        let mut t = BookTracker::new();
        // Before any snapshot the sid's market is unknown: nothing to do.
        assert!(t.on_undecodable(1, "x".into()).events.is_empty());
        t.expect_snapshot(1);
        t.on_book_message(snap(1, 1), Timestamp::ZERO);
        let s = t.on_undecodable(1, "bad price_dollars".into());
        assert!(matches!(
            &s.events[..],
            [MarketEvent::BookInvalidated { reason, .. }] if reason == "bad price_dollars"
        ));
        assert_eq!(s.resnapshot, Some(1));
        assert!(!t.book(1).unwrap().is_synced());
        // Already waiting for its snapshot: no second request.
        let s = t.on_undecodable(1, "again".into());
        assert!(s.events.is_empty() && s.resnapshot.is_none());
        // Another sid is untouched.
        assert!(t.on_undecodable(2, "x".into()).events.is_empty());
        assert_eq!(
            undecodable_book_sid(br#"{"type":"orderbook_delta","sid":3,"seq":"x"}"#),
            Some(3)
        );
        assert_eq!(undecodable_book_sid(br#"{"type":"fill","sid":3}"#), None);
        assert_eq!(undecodable_book_sid(b"{not json"), None);
    }
}
