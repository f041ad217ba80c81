//! Kalshi WebSocket order books (kalshi.md §7), as a [`MarketData`] stream.
//!
//! A background task owns the connection: it signs the upgrade (`GET
//! /trade-api/ws/v2`), subscribes each market on its own subscription (so a
//! subscription's `seq` is that market's sequence and the consumer's
//! `OrderBook` can check continuity too), forwards snapshots and deltas as
//! YES-quoted [`BookEvent`]s, and checks `seq` per `sid`: on a gap the book
//! is invalidated and a fresh snapshot requested with `get_snapshot`;
//! deltas are dropped until it arrives. Server pings are answered. When the
//! stream dies (close, error, no message for `stale_after`) every book is
//! stale ([`MarketEvent::Disconnected`]) and the task reconnects with
//! jittered backoff and resubscribes; new snapshots follow.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::{SinkExt, StreamExt};
use orion_core::{
    BookEvent, BookEventKind, Clock, InstrumentId, MarketData, MarketDataError, MarketEvent, Venue,
};
use serde_json::json;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use super::rest::KalshiRequestSigner;
use super::types::{self, WsMessage};
use crate::http::{Backoff, SpkiPin};
use crate::ws::{Ws, connect};

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

/// Why a session ended.
enum End {
    /// The handle was dropped: stop for good.
    Stop,
    Lost(String),
}

async fn run(
    config: KalshiWsConfig,
    signer: Arc<KalshiRequestSigner>,
    clock: Arc<dyn Clock>,
    mut commands: mpsc::UnboundedReceiver<Vec<String>>,
    events: mpsc::Sender<MarketEvent>,
) {
    let mut tickers: BTreeSet<String> = BTreeSet::new();
    let mut attempt: u32 = 0;
    let mut announced_down = false;
    let path = http::Uri::try_from(config.url.as_str())
        .map(|u| u.path().to_string())
        .unwrap_or_else(|_| "/trade-api/ws/v2".into());
    loop {
        // Take any subscriptions that arrived while disconnected.
        while let Ok(more) = commands.try_recv() {
            tickers.extend(more);
        }
        let headers = match signer.header_pairs("GET", &path) {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(error = %e, "kalshi ws: cannot sign the upgrade");
                Vec::new()
            }
        };
        match connect(&config.url, headers, &config.pins, config.connect_timeout).await {
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
                match session(ws, &config, &clock, &mut tickers, &mut commands, &events).await {
                    End::Stop => return,
                    End::Lost(reason) => {
                        tracing::warn!(%reason, "kalshi ws: stream lost");
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
                tracing::warn!(error = %e.detail, attempt, "kalshi ws: connect failed");
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

#[derive(Default)]
struct Session {
    next_id: i64,
    /// subscribe command id → ticker
    pending: HashMap<i64, String>,
    ticker_of: HashMap<u64, String>,
    sid_of: HashMap<String, u64>,
    last_seq: HashMap<u64, u64>,
    /// sids whose book is invalid until the next snapshot
    awaiting: HashSet<u64>,
}

impl Session {
    fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }
}

async fn send_json(ws: &mut Ws, v: serde_json::Value) -> Result<(), String> {
    ws.send(Message::Text(v.to_string().into()))
        .await
        .map_err(|e| format!("send: {e}"))
}

async fn subscribe(ws: &mut Ws, s: &mut Session, ticker: &str) -> Result<(), String> {
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

async fn session(
    mut ws: Ws,
    config: &KalshiWsConfig,
    clock: &Arc<dyn Clock>,
    tickers: &mut BTreeSet<String>,
    commands: &mut mpsc::UnboundedReceiver<Vec<String>>,
    events: &mpsc::Sender<MarketEvent>,
) -> End {
    let mut s = Session::default();
    for t in tickers.clone() {
        if let Err(e) = subscribe(&mut ws, &mut s, &t).await {
            return End::Lost(e);
        }
    }
    let emit = |ev: MarketEvent| async move { events.send(ev).await.map_err(|_| ()) };
    loop {
        tokio::select! {
            cmd = commands.recv() => {
                let Some(more) = cmd else { return End::Stop };
                for t in more {
                    if tickers.insert(t.clone())
                        && let Err(e) = subscribe(&mut ws, &mut s, &t).await
                    {
                        return End::Lost(e);
                    }
                }
            }
            msg = tokio::time::timeout(config.stale_after, ws.next()) => {
                let msg = match msg {
                    Err(_) => return End::Lost(format!("no message for {:?}", config.stale_after)),
                    Ok(None) => return End::Lost("closed by the venue".into()),
                    Ok(Some(Err(e))) => return End::Lost(format!("read: {e}")),
                    Ok(Some(Ok(m))) => m,
                };
                let text = match msg {
                    Message::Text(t) => t,
                    Message::Ping(p) => {
                        // Heartbeat: answer at once (kalshi.md §7).
                        if let Err(e) = ws.send(Message::Pong(p)).await {
                            return End::Lost(format!("pong: {e}"));
                        }
                        continue;
                    }
                    Message::Close(frame) => {
                        return End::Lost(format!("close frame: {frame:?}"));
                    }
                    _ => continue,
                };
                let received_at = clock.now();
                let decoded = match types::ws_message(text.as_bytes()) {
                    Ok(m) => m,
                    Err(e) => {
                        // A message we cannot read may have been a delta: no
                        // book can be trusted, so start over.
                        return End::Lost(format!("undecodable message: {e}"));
                    }
                };
                match decoded {
                    WsMessage::Subscribed { id, sid, channel } => {
                        if channel != "orderbook_delta" {
                            continue;
                        }
                        if let Some(t) = id.and_then(|i| s.pending.remove(&i)) {
                            s.sid_of.insert(t.clone(), sid);
                            s.ticker_of.insert(sid, t);
                            s.awaiting.insert(sid);
                        }
                    }
                    WsMessage::Snapshot { sid, seq, ticker, book } => {
                        s.ticker_of.entry(sid).or_insert_with(|| ticker.symbol.to_string());
                        s.last_seq.insert(sid, seq);
                        s.awaiting.remove(&sid);
                        let ev = MarketEvent::Book(BookEvent {
                            instrument: ticker,
                            kind: BookEventKind::Snapshot { bids: book.bids, asks: book.asks },
                            seq: Some(seq),
                            exchange_ts: None,
                            received_at,
                        });
                        if emit(ev).await.is_err() {
                            return End::Stop;
                        }
                    }
                    WsMessage::Delta { sid, seq, ticker, update, ts } => {
                        if s.awaiting.contains(&sid) {
                            continue;
                        }
                        let expected = s.last_seq.get(&sid).map(|l| l.wrapping_add(1));
                        if expected != Some(seq) {
                            metrics::counter!("orion_ws_seq_gaps_total", "venue" => V.as_str()).increment(1);
                            let reason = format!("sequence gap on sid {sid}: expected {expected:?}, got {seq}");
                            tracing::warn!(%reason, ticker = %ticker, "kalshi ws: resyncing");
                            s.awaiting.insert(sid);
                            if emit(MarketEvent::BookInvalidated { instrument: ticker, reason }).await.is_err() {
                                return End::Stop;
                            }
                            let id = s.id();
                            if let Err(e) = send_json(&mut ws, json!({"id": id, "cmd": "update_subscription",
                                "params": {"sid": sid, "action": "get_snapshot"}})).await {
                                return End::Lost(e);
                            }
                            continue;
                        }
                        s.last_seq.insert(sid, seq);
                        let ev = MarketEvent::Book(BookEvent {
                            instrument: ticker,
                            kind: BookEventKind::Delta { updates: vec![update] },
                            seq: Some(seq),
                            exchange_ts: ts,
                            received_at,
                        });
                        if emit(ev).await.is_err() {
                            return End::Stop;
                        }
                    }
                    WsMessage::Error { id, code, msg } => {
                        tracing::warn!(?id, code, %msg, "kalshi ws: error");
                        // 10 channel error and 25 buffer overflow are terminal.
                        if code == 10 || code == 25 {
                            return End::Lost(format!("terminal error {code}: {msg}"));
                        }
                        if let Some(t) = id.and_then(|i| s.pending.remove(&i))
                            && let Some(inst) = instrument(&t)
                        {
                            let reason = format!("subscribe refused ({code}): {msg}");
                            if emit(MarketEvent::BookInvalidated { instrument: inst, reason }).await.is_err() {
                                return End::Stop;
                            }
                        }
                    }
                    WsMessage::Other { .. } => {}
                }
            }
        }
    }
}
