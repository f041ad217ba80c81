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
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::{SinkExt, StreamExt};
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
use crate::ws::{Ws, connect};

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

enum End {
    Stop,
    Lost(String),
}

async fn run(
    config: PolymarketWsConfig,
    clock: Arc<dyn Clock>,
    mut commands: mpsc::UnboundedReceiver<Vec<String>>,
    events: mpsc::Sender<MarketEvent>,
) {
    let mut assets: BTreeSet<String> = BTreeSet::new();
    let mut attempt: u32 = 0;
    let mut announced_down = false;
    loop {
        while let Ok(more) = commands.try_recv() {
            assets.extend(more);
        }
        match connect(
            &config.url,
            Vec::new(),
            &config.pins,
            config.connect_timeout,
        )
        .await
        {
            Ok(ws) => {
                attempt = 0;
                announced_down = false;
                if events
                    .send(MarketEvent::Connected { venue: V })
                    .await
                    .is_err()
                {
                    return;
                }
                metrics::counter!("orion_ws_connects_total", "venue" => V.as_str()).increment(1);
                match session(ws, &config, &clock, &mut assets, &mut commands, &events).await {
                    End::Stop => return,
                    End::Lost(reason) => {
                        tracing::warn!(%reason, "polymarket ws: stream lost");
                        metrics::counter!("orion_ws_disconnects_total", "venue" => V.as_str())
                            .increment(1);
                        if events
                            .send(MarketEvent::Disconnected { venue: V, reason })
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e.detail, attempt, "polymarket ws: connect failed");
                if !announced_down {
                    announced_down = true;
                    if events
                        .send(MarketEvent::Disconnected {
                            venue: V,
                            reason: e.detail,
                        })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
        let delay = config.backoff.delay(attempt);
        attempt = attempt.saturating_add(1);
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = events.closed() => return,
        }
    }
}

async fn send_json(ws: &mut Ws, v: serde_json::Value) -> Result<(), String> {
    ws.send(Message::Text(v.to_string().into()))
        .await
        .map_err(|e| format!("send: {e}"))
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

async fn session(
    mut ws: Ws,
    config: &PolymarketWsConfig,
    clock: &Arc<dyn Clock>,
    assets: &mut BTreeSet<String>,
    commands: &mut mpsc::UnboundedReceiver<Vec<String>>,
    events: &mpsc::Sender<MarketEvent>,
) -> End {
    let mut books: HashMap<InstrumentId, OrderBook> = HashMap::new();
    let mut initial_sent = false;
    if !assets.is_empty() {
        let ids: Vec<&String> = assets.iter().collect();
        if let Err(e) = send_json(
            &mut ws,
            json!({"type": "market", "assets_ids": ids, "initial_dump": true}),
        )
        .await
        {
            return End::Lost(e);
        }
        initial_sent = true;
    }
    let mut ping = tokio::time::interval(config.ping_every);
    ping.tick().await;
    let mut last_seen = tokio::time::Instant::now();
    loop {
        tokio::select! {
            cmd = commands.recv() => {
                let Some(more) = cmd else { return End::Stop };
                let new: Vec<String> = more.into_iter().filter(|a| assets.insert(a.clone())).collect();
                if new.is_empty() {
                    continue;
                }
                let msg = if initial_sent {
                    json!({"operation": "subscribe", "assets_ids": new})
                } else {
                    json!({"type": "market", "assets_ids": new, "initial_dump": true})
                };
                initial_sent = true;
                if let Err(e) = send_json(&mut ws, msg).await {
                    return End::Lost(e);
                }
            }
            _ = ping.tick() => {
                if last_seen.elapsed() > config.stale_after {
                    return End::Lost(format!("no message for {:?}", config.stale_after));
                }
                if let Err(e) = ws.send(Message::Text("PING".into())).await {
                    return End::Lost(format!("ping: {e}"));
                }
            }
            msg = tokio::time::timeout(config.stale_after, ws.next()) => {
                let msg = match msg {
                    Err(_) => return End::Lost(format!("no message for {:?}", config.stale_after)),
                    Ok(None) => return End::Lost("closed by the venue".into()),
                    Ok(Some(Err(e))) => return End::Lost(format!("read: {e}")),
                    Ok(Some(Ok(m))) => m,
                };
                last_seen = tokio::time::Instant::now();
                let text = match msg {
                    Message::Text(t) => t,
                    Message::Ping(p) => {
                        if let Err(e) = ws.send(Message::Pong(p)).await {
                            return End::Lost(format!("pong: {e}"));
                        }
                        continue;
                    }
                    Message::Close(frame) => return End::Lost(format!("close frame: {frame:?}")),
                    _ => continue,
                };
                let received_at = clock.now();
                let decoded = match types::ws_events(text.as_bytes()) {
                    Ok(d) => d,
                    Err(e) => return End::Lost(format!("undecodable message: {e}")),
                };
                let mut out = Vec::new();
                let mut resync = Vec::new();
                for ev in decoded {
                    apply_event(&mut books, ev, received_at, &mut out, &mut resync);
                }
                for ev in out {
                    if events.send(ev).await.is_err() {
                        return End::Stop;
                    }
                }
                if !resync.is_empty() {
                    // Unsubscribe and subscribe again: the venue answers a
                    // (re)subscription with a fresh `book`.
                    let ids: Vec<String> = resync.iter().map(|i| i.symbol.to_string()).collect();
                    if let Err(e) = send_json(&mut ws, json!({"operation": "unsubscribe", "assets_ids": ids})).await {
                        return End::Lost(e);
                    }
                    if let Err(e) = send_json(&mut ws, json!({"operation": "subscribe", "assets_ids": ids})).await {
                        return End::Lost(e);
                    }
                }
            }
        }
    }
}
