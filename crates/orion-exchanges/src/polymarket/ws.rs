//! Polymarket market-channel order books (polymarket.md §10), as a
//! [`MarketData`] stream.
//!
//! One book per outcome token. The task subscribes with `assets_ids` and
//! `initial_dump: true` (later additions with `operation: subscribe`),
//! turns `book` into snapshots and `price_change` (size = the level's new
//! total) into deltas, and sends `PING` every `ping_every` (the server
//! answers `PONG`). There is no sequence number, so it keeps its own copy
//! of each book: an update for a book without a snapshot is dropped, and an
//! update that leaves a book crossed or impossible invalidates it and
//! resubscribes the asset for a fresh `book`. On disconnect every book is
//! stale until the reconnect's snapshots.

use std::collections::{BTreeSet, HashMap};
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::SinkExt;
use http::header::{HeaderName, HeaderValue};
use orion_core::{
    BookEvent, BookEventKind, Clock, InstrumentId, MarketData, MarketDataError, MarketEvent,
    OrderBook, Venue,
};
use serde_json::json;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use super::types::{self, WsEvent};
use crate::http::{Backoff, SpkiPin};
use crate::ws::{
    End, Link, MAX_MESSAGE_BYTES, StreamIo, VenueStream, Ws, count_bad_message, next_text,
    send_json, supervise,
};

const V: Venue = Venue::Polymarket;

/// Connection settings.
#[derive(Debug, Clone)]
pub struct PolymarketWsConfig {
    /// `wss://…/ws/market`.
    pub url: String,
    pub backoff: Backoff,
    pub ping_every: Duration,
    pub stale_after: Duration,
    pub connect_timeout: Duration,
    pub pins: Vec<SpkiPin>,
    /// Largest message or frame accepted; a bigger one drops the connection
    /// (which reconnects and resyncs every book).
    pub max_message_bytes: usize,
}

impl PolymarketWsConfig {
    pub fn new(url: impl Into<String>) -> PolymarketWsConfig {
        PolymarketWsConfig {
            url: url.into(),
            backoff: Backoff {
                base: Duration::from_millis(250),
                cap: Duration::from_secs(30),
                max_retries: u32::MAX,
            },
            // The required interval is undocumented: ping every 10 s.
            ping_every: Duration::from_secs(10),
            stale_after: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            pins: Vec::new(),
            max_message_bytes: MAX_MESSAGE_BYTES,
        }
    }
}

/// The Polymarket market-channel stream.
#[derive(Debug)]
pub struct PolymarketWs {
    commands: mpsc::UnboundedSender<Vec<String>>,
    events: mpsc::Receiver<MarketEvent>,
    task: JoinHandle<()>,
}

impl Drop for PolymarketWs {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PolymarketWs {
    pub fn start(config: PolymarketWsConfig, clock: Arc<dyn Clock>) -> PolymarketWs {
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::channel(4096);
        let task = tokio::spawn(run(config, clock, cmd_rx, ev_tx));
        PolymarketWs {
            commands: cmd_tx,
            events: ev_rx,
            task,
        }
    }
}

#[async_trait]
impl MarketData for PolymarketWs {
    async fn subscribe(&mut self, instruments: &[InstrumentId]) -> Result<(), MarketDataError> {
        let mut ids = Vec::new();
        for i in instruments {
            if i.venue != V {
                return Err(MarketDataError::UnknownInstrument {
                    venue: V,
                    instrument: i.to_string(),
                });
            }
            ids.push(i.symbol.to_string());
        }
        self.commands.send(ids).map_err(|_| MarketDataError::Closed)
    }

    async fn next_event(&mut self) -> Result<MarketEvent, MarketDataError> {
        self.events.recv().await.ok_or(MarketDataError::Closed)
    }
}

/// Polymarket's half of the shared reconnect supervisor ([`supervise`]).
struct PolymarketStream {
    config: PolymarketWsConfig,
    clock: Arc<dyn Clock>,
}

async fn run(
    config: PolymarketWsConfig,
    clock: Arc<dyn Clock>,
    commands: mpsc::UnboundedReceiver<Vec<String>>,
    events: mpsc::Sender<MarketEvent>,
) {
    let io = StreamIo {
        wanted: BTreeSet::new(),
        commands,
        events,
    };
    supervise(PolymarketStream { config, clock }, io).await;
}

impl VenueStream for PolymarketStream {
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

    fn upgrade_headers(&self, _url: &str) -> Vec<(HeaderName, HeaderValue)> {
        // The market channel is public.
        Vec::new()
    }

    fn session<'a>(
        &'a mut self,
        ws: Ws,
        io: &'a mut StreamIo,
    ) -> impl Future<Output = Result<Infallible, End>> + Send + 'a {
        session(ws, &self.config, &self.clock, io)
    }
}

/// The books an undecodable market-channel message may have touched. A
/// frame that is JSON and names assets (`asset_id` of an event, or of a
/// `price_changes` entry) touched those; a `book` or `price_change` whose
/// assets cannot be read may have touched any; anything else (not JSON,
/// trades, tick sizes, unknown events) touched none. There is no sequence
/// number on this channel, so a lost update is never revealed later: the
/// books it may have touched are resynced now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Touched {
    None,
    Assets(Vec<String>),
    All,
}

pub fn undecodable_touches(text: &[u8]) -> Touched {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(text) else {
        return Touched::None;
    };
    let events: Vec<&serde_json::Value> = match &v {
        serde_json::Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let mut assets = Vec::new();
    let mut unknown_book = false;
    for ev in events {
        let kind = ev.get("event_type").and_then(serde_json::Value::as_str);
        if !matches!(kind, Some("book" | "price_change")) {
            continue;
        }
        let before = assets.len();
        if let Some(a) = ev.get("asset_id").and_then(serde_json::Value::as_str) {
            assets.push(a.to_string());
        }
        if let Some(changes) = ev
            .get("price_changes")
            .and_then(serde_json::Value::as_array)
        {
            assets.extend(
                changes
                    .iter()
                    .filter_map(|c| c.get("asset_id").and_then(serde_json::Value::as_str))
                    .map(str::to_string),
            );
        }
        unknown_book |= assets.len() == before;
    }
    if unknown_book {
        Touched::All
    } else if assets.is_empty() {
        Touched::None
    } else {
        assets.sort();
        assets.dedup();
        Touched::Assets(assets)
    }
}

/// Applies one decoded event to the local books and says what to emit and
/// which assets need a fresh snapshot. Public for the benchmarks.
pub fn apply_event(
    books: &mut HashMap<InstrumentId, OrderBook>,
    ev: WsEvent,
    received_at: orion_core::Timestamp,
    out: &mut Vec<MarketEvent>,
    resync: &mut Vec<InstrumentId>,
) {
    match ev {
        WsEvent::Book(b) => {
            let book = books.entry(b.asset_id.clone()).or_default();
            match book.apply_snapshot(
                b.bids.iter().copied(),
                b.asks.iter().copied(),
                None,
                b.timestamp,
                received_at,
            ) {
                Ok(()) => out.push(MarketEvent::Book(BookEvent {
                    instrument: b.asset_id,
                    kind: BookEventKind::Snapshot {
                        bids: b.bids,
                        asks: b.asks,
                    },
                    seq: None,
                    exchange_ts: b.timestamp,
                    received_at,
                })),
                Err(e) => {
                    out.push(MarketEvent::BookInvalidated {
                        instrument: b.asset_id.clone(),
                        reason: e.to_string(),
                    });
                    resync.push(b.asset_id);
                }
            }
        }
        WsEvent::PriceChange {
            asset_id,
            updates,
            ts,
        } => {
            let Some(book) = books.get_mut(&asset_id) else {
                return;
            };
            if !book.is_synced() {
                return;
            }
            let result = book.apply_delta(&updates, None, ts, received_at);
            let bad = match result {
                Err(e) => Some(e.to_string()),
                Ok(()) if book.is_crossed() => {
                    Some("book crossed after an update: a change was missed".into())
                }
                Ok(()) => None,
            };
            match bad {
                Some(reason) => {
                    book.invalidate();
                    out.push(MarketEvent::BookInvalidated {
                        instrument: asset_id.clone(),
                        reason,
                    });
                    resync.push(asset_id);
                }
                None => out.push(MarketEvent::Book(BookEvent {
                    instrument: asset_id,
                    kind: BookEventKind::Delta { updates },
                    seq: None,
                    exchange_ts: ts,
                    received_at,
                })),
            }
        }
        WsEvent::TickSize { asset_id, tick } => {
            tracing::info!(asset = %asset_id, %tick, "polymarket: tick size changed");
        }
        WsEvent::Other { .. } => {}
    }
}

/// One connection: subscribes every wanted asset, then reads until the
/// stream is lost or the handle is dropped.
async fn session(
    mut ws: Ws,
    config: &PolymarketWsConfig,
    clock: &Arc<dyn Clock>,
    io: &mut StreamIo,
) -> Result<Infallible, End> {
    let ws = &mut ws;
    let mut books: HashMap<InstrumentId, OrderBook> = HashMap::new();
    let mut initial_sent = false;
    if !io.wanted.is_empty() {
        let ids: Vec<&String> = io.wanted.iter().collect();
        send_json(
            ws,
            json!({"type": "market", "assets_ids": ids, "initial_dump": true}),
        )
        .await?;
        initial_sent = true;
    }
    let mut ping = tokio::time::interval(config.ping_every);
    ping.tick().await;
    let mut last_seen = tokio::time::Instant::now();
    loop {
        tokio::select! {
            cmd = io.commands.recv() => {
                let Some(more) = cmd else { return Err(End::Stop) };
                let new: Vec<String> = more.into_iter().filter(|a| io.wanted.insert(a.clone())).collect();
                if new.is_empty() {
                    continue;
                }
                let msg = if initial_sent {
                    json!({"operation": "subscribe", "assets_ids": new})
                } else {
                    json!({"type": "market", "assets_ids": new, "initial_dump": true})
                };
                initial_sent = true;
                send_json(ws, msg).await?;
            }
            _ = ping.tick() => {
                if last_seen.elapsed() > config.stale_after {
                    return Err(End::Lost(format!("no message for {:?}", config.stale_after)));
                }
                ws.send(Message::Text("PING".into()))
                    .await
                    .map_err(|e| End::Lost(format!("ping: {e}")))?;
            }
            text = next_text(ws, V, config.stale_after) => {
                last_seen = tokio::time::Instant::now();
                let Some(text) = text? else { continue };
                let received_at = clock.now();
                let mut out = Vec::new();
                let mut resync = Vec::new();
                match types::ws_events(text.as_bytes()) {
                    Ok(decoded) => {
                        for ev in decoded {
                            apply_event(&mut books, ev, received_at, &mut out, &mut resync);
                        }
                    }
                    Err(e) => {
                        count_bad_message(&e);
                        let reason = format!("undecodable message: {e}");
                        let touched: Vec<InstrumentId> = match undecodable_touches(text.as_bytes()) {
                            Touched::None => Vec::new(),
                            Touched::All => books.keys().cloned().collect(),
                            Touched::Assets(a) => a
                                .iter()
                                .filter_map(|a| InstrumentId::new(V, a).ok())
                                .collect(),
                        };
                        for instrument in touched {
                            if let Some(book) = books.get_mut(&instrument)
                                && book.is_synced()
                            {
                                book.invalidate();
                                metrics::counter!("orion_ws_book_resyncs_total", "venue" => V.as_str())
                                    .increment(1);
                                out.push(MarketEvent::BookInvalidated {
                                    instrument: instrument.clone(),
                                    reason: reason.clone(),
                                });
                                resync.push(instrument);
                            }
                        }
                    }
                }
                for ev in out {
                    io.emit(ev).await?;
                }
                if !resync.is_empty() {
                    // Unsubscribe and subscribe again: the venue answers a
                    // (re)subscription with a fresh `book`.
                    let ids: Vec<String> = resync.iter().map(|i| i.symbol.to_string()).collect();
                    send_json(ws, json!({"operation": "unsubscribe", "assets_ids": ids})).await?;
                    send_json(ws, json!({"operation": "subscribe", "assets_ids": ids})).await?;
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use orion_core::{Price, Quantity, Timestamp};

    const A: &str = "71321045679252212594626385532706912750332728571942532289631379312455583992563";
    const B: &str = "52552210993830432218834405712139431049387440581211214930913512419081868128421";

    fn feed(
        books: &mut HashMap<InstrumentId, OrderBook>,
        text: &str,
    ) -> (Vec<MarketEvent>, Vec<InstrumentId>) {
        let mut out = Vec::new();
        let mut resync = Vec::new();
        for ev in types::ws_events(text.as_bytes()).unwrap() {
            apply_event(books, ev, Timestamp::ZERO, &mut out, &mut resync);
        }
        (out, resync)
    }

    fn book_msg() -> String {
        format!(
            r#"{{"event_type":"book","asset_id":"{A}","market":"0xc","timestamp":"1","hash":"h","bids":[{{"price":"0.40","size":"10"}}],"asks":[{{"price":"0.45","size":"5"}}]}}"#
        )
    }

    fn change(price: &str, size: &str, side: &str) -> String {
        format!(
            r#"{{"event_type":"price_change","market":"0xc","timestamp":"2","price_changes":[{{"asset_id":"{A}","price":"{price}","size":"{size}","side":"{side}","hash":""}}]}}"#
        )
    }

    fn bid_qty(books: &HashMap<InstrumentId, OrderBook>, price: &str) -> Quantity {
        books[&InstrumentId::new(V, A).unwrap()]
            .bids()
            .qty_at(Price::parse(price).unwrap())
    }

    /// The market channel has no sequence number. A `price_change` carries
    /// the level's new total, so a duplicate is harmless (applied twice, same
    /// book) and a reorder of changes at different levels converges; a
    /// change that would cross the book shows a missed update and resyncs;
    /// a change before any `book` is dropped.
    #[test]
    fn duplicate_reordered_and_impossible_changes() {
        let mut books = HashMap::new();
        let (out, _) = feed(&mut books, &change("0.41", "3", "BUY"));
        assert!(out.is_empty(), "no book yet: dropped");
        feed(&mut books, &book_msg());

        let dup = change("0.41", "3", "BUY");
        for _ in 0..2 {
            let (out, resync) = feed(&mut books, &dup);
            assert!(matches!(out[..], [MarketEvent::Book(_)]) && resync.is_empty());
        }
        assert_eq!(bid_qty(&books, "0.41"), Quantity::parse("3").unwrap());

        // Two levels, delivered in the other order: the same book.
        feed(&mut books, &change("0.39", "7", "BUY"));
        feed(&mut books, &change("0.41", "4", "BUY"));
        assert_eq!(bid_qty(&books, "0.39"), Quantity::parse("7").unwrap());
        assert_eq!(bid_qty(&books, "0.41"), Quantity::parse("4").unwrap());

        // A bid through the best ask: a change was missed.
        let (out, resync) = feed(&mut books, &change("0.50", "1", "BUY"));
        assert!(
            matches!(out[..], [MarketEvent::BookInvalidated { .. }]),
            "{out:?}"
        );
        assert_eq!(resync, vec![InstrumentId::new(V, A).unwrap()]);
        // Nothing more applies until the next `book`.
        let (out, _) = feed(&mut books, &change("0.41", "9", "BUY"));
        assert!(out.is_empty());
        let (out, _) = feed(&mut books, &book_msg());
        assert!(matches!(out[..], [MarketEvent::Book(_)]));
    }

    #[test]
    fn undecodable_messages_touch_the_books_they_name() {
        let rows: Vec<(&str, String, Touched)> = vec![
            ("not JSON", "\u{7f}garbage".into(), Touched::None),
            ("PONG-like text", "PONGG".into(), Touched::None),
            (
                "bad trade",
                format!(r#"{{"event_type":"last_trade_price","asset_id":"{A}","price":"2"}}"#),
                Touched::None,
            ),
            (
                "bad price_change",
                format!(
                    r#"{{"event_type":"price_change","price_changes":[{{"asset_id":"{B}","price":"2"}},{{"asset_id":"{A}","price":"x"}}]}}"#
                ),
                Touched::Assets(vec![B.to_string(), A.to_string()]),
            ),
            (
                "bad book",
                format!(r#"[{{"event_type":"book","asset_id":"{A}","bids":7}}]"#),
                Touched::Assets(vec![A.to_string()]),
            ),
            (
                "book without an asset",
                r#"{"event_type":"book","bids":[]}"#.into(),
                Touched::All,
            ),
        ];
        for (name, text, want) in rows {
            let mut got = undecodable_touches(text.as_bytes());
            if let (Touched::Assets(g), Touched::Assets(w)) = (&mut got, &want) {
                let mut w = w.clone();
                w.sort();
                assert_eq!(*g, w, "{name}");
                continue;
            }
            assert_eq!(got, want, "{name}");
        }
    }
}
