//! Polymarket market channel `/ws/market` (polymarket.md §10): `book` on
//! subscribe, `price_change` with the new aggregate size per level,
//! `last_trade_price`, and text `PING` → `PONG`. Public, no auth.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::common::now_ms;
use crate::engine::{Axis, Event, Leg, OrderChange};
use crate::faults::{FaultKind, WS_KINDS, tamper};
use crate::poly::Poly;
use crate::server::lock;

pub const WS_PATH: &str = "/ws/market";
pub const USER_PATH: &str = "/ws/user";

pub fn router(p: Arc<Poly>) -> Router {
    Router::new()
        .route(WS_PATH, get(upgrade))
        .route(USER_PATH, get(upgrade_user))
        .with_state(p)
}

async fn upgrade_user(State(p): State<Arc<Poly>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| run_user(socket, p))
}

/// The authenticated user channel: `trade` and `order` events for the
/// account whose API credentials came in the subscribe message.
async fn run_user(mut socket: WebSocket, p: Arc<Poly>) {
    let mut rx = lock(&p.core.ex).subscribe();
    let killed = p.core.ctl.killed();
    tokio::pin!(killed);
    let mut account: Option<(String, String)> = None;
    let mut markets: Option<BTreeSet<String>> = None;
    loop {
        let mut out: Vec<String> = Vec::new();
        let mut close = false;
        tokio::select! {
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(t))) => {
                    let text = t.as_str().trim();
                    if text == "PING" {
                        out.push("PONG".into());
                    } else {
                        match user_subscribe(&p, text) {
                            Some((acct, key, m)) => {
                                account = Some((acct, key));
                                markets = m;
                            }
                            None => {
                                // Bad credentials: the connection is refused.
                                let _ = socket.send(Message::Close(None)).await;
                                return;
                            }
                        }
                    }
                }
                Some(Ok(Message::Ping(b))) => { let _ = socket.send(Message::Pong(b)).await; }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            ev = rx.recv() => match ev {
                Ok(ev) => {
                    if let Some((acct, key)) = &account {
                        out.extend(user_event(&p, &ev, acct, key, markets.as_ref()));
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => close = true,
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = &mut killed => return,
        }
        if !out.is_empty() {
            for f in lock(&p.core.ctl.faults).fire("WS", USER_PATH, WS_KINDS) {
                if f.kind == FaultKind::WsDisconnect {
                    out.clear();
                    close = true;
                }
            }
        }
        for text in out {
            if socket.send(Message::Text(text.into())).await.is_err() {
                return;
            }
        }
        if close {
            let _ = socket.send(Message::Close(None)).await;
            return;
        }
    }
}

/// Check `{"auth":{"apiKey","secret","passphrase"},"type":"user","markets":[…]}`.
fn user_subscribe(p: &Poly, text: &str) -> Option<(String, String, Option<BTreeSet<String>>)> {
    let v: Value = serde_json::from_str(text).ok()?;
    let auth = v.get("auth")?;
    let key = auth.get("apiKey")?.as_str()?;
    let creds = lock(&p.creds_by_key).get(key).cloned()?;
    if auth.get("secret")?.as_str()? != creds.secret
        || auth.get("passphrase")?.as_str()? != creds.passphrase
    {
        return None;
    }
    let markets = v
        .get("markets")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .map(|a| {
            a.iter()
                .filter_map(|m| m.as_str().map(str::to_string))
                .collect()
        });
    let account = lock(&p.accounts)
        .get(&creds.address)
        .cloned()
        .unwrap_or(creds.address.clone());
    Some((account, creds.api_key, markets))
}

fn user_event(
    p: &Poly,
    ev: &Event,
    account: &str,
    api_key: &str,
    markets: Option<&BTreeSet<String>>,
) -> Vec<String> {
    let wanted = |m: &str| markets.is_none_or(|set| set.contains(m));
    match ev {
        Event::Trade(t) if wanted(&t.market) => {
            let mut out = Vec::new();
            for (side, as_taker) in [(&t.taker, true), (&t.maker, false)] {
                if side.account != account {
                    continue;
                }
                let mut v = crate::poly::trade_view(p, t, as_taker);
                if let Some(o) = v.as_object_mut() {
                    o.insert("event_type".into(), json!("trade"));
                    o.insert("type".into(), json!("TRADE"));
                    o.insert("status".into(), json!("MATCHED"));
                    o.insert("timestamp".into(), json!(t.ts_ms.to_string()));
                    o.insert("trade_owner".into(), json!(api_key));
                }
                out.push(v.to_string());
            }
            out
        }
        Event::Order { order, change }
            if order.account == account
                && wanted(&order.market)
                && *change != OrderChange::Final =>
        {
            let mut v = crate::poly::order_view(p, order);
            if let Some(o) = v.as_object_mut() {
                o.insert("event_type".into(), json!("order"));
                o.insert(
                    "type".into(),
                    json!(match change {
                        OrderChange::Placement => "PLACEMENT",
                        OrderChange::Update => "UPDATE",
                        OrderChange::Cancellation | OrderChange::Final => "CANCELLATION",
                    }),
                );
                o.insert("order_owner".into(), json!(api_key));
                o.insert("timestamp".into(), json!((now_ms() / 1000).to_string()));
            }
            vec![v.to_string()]
        }
        _ => Vec::new(),
    }
}

async fn upgrade(State(p): State<Arc<Poly>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| run(socket, p))
}

struct Conn {
    p: Arc<Poly>,
    assets: BTreeSet<String>,
    out: Vec<Value>,
    close: bool,
    /// A `price_change` held back by an out-of-order fault.
    held: Option<Value>,
    /// `custom_feature_enabled`: also send `best_bid_ask` and `market_resolved`.
    custom: bool,
}

impl Conn {
    fn subscribe(&mut self, ids: Vec<String>, dump: bool, rx: &mut broadcast::Receiver<Event>) {
        let new: Vec<String> = ids
            .into_iter()
            .filter(|id| self.p.tokens.contains_key(id) && !self.assets.contains(id))
            .collect();
        let (pending, books) = {
            let ex = lock(&self.p.core.ex);
            let mut pending = Vec::new();
            while let Ok(ev) = rx.try_recv() {
                pending.push(ev);
            }
            let books: Vec<Value> = new
                .iter()
                .filter_map(|id| self.p.book_json(&ex, id))
                .collect();
            (pending, books)
        };
        for ev in &pending {
            self.on_event(ev);
        }
        self.assets.extend(new);
        if dump && !books.is_empty() {
            let books: Vec<Value> = books
                .into_iter()
                .map(|mut b| {
                    if let Some(o) = b.as_object_mut() {
                        o.insert("event_type".into(), json!("book"));
                        for k in [
                            "min_order_size",
                            "tick_size",
                            "neg_risk",
                            "last_trade_price",
                        ] {
                            o.remove(k);
                        }
                    }
                    b
                })
                .collect();
            self.out.push(json!(books));
        }
    }

    fn on_event(&mut self, ev: &Event) {
        match ev {
            Event::Level {
                market,
                axis,
                price,
                ..
            } => {
                let Some(m) = self.p.market(market) else {
                    return;
                };
                let ex = lock(&self.p.core.ex);
                let mut changes = Vec::new();
                for (token_id, is_yes) in [(&m.yes_token_id, true), (&m.no_token_id, false)] {
                    if !self.assets.contains(token_id) {
                        continue;
                    }
                    let Some(token) = self.p.tokens.get(token_id) else {
                        continue;
                    };
                    let (side, tp) = match (is_yes, axis) {
                        (true, Axis::Bid) => ("BUY", *price),
                        (true, Axis::Ask) => ("SELL", *price),
                        (false, Axis::Bid) => ("SELL", price.complement()),
                        (false, Axis::Ask) => ("BUY", price.complement()),
                    };
                    let levels = self.p.token_levels(&ex, token, side == "BUY");
                    let size = levels
                        .iter()
                        .find(|(lp, _)| *lp == tp)
                        .map(|l| l.1)
                        .unwrap_or_default();
                    let best_bid = self
                        .p
                        .token_levels(&ex, token, true)
                        .first()
                        .map(|l| l.0.format(0));
                    let best_ask = self
                        .p
                        .token_levels(&ex, token, false)
                        .first()
                        .map(|l| l.0.format(0));
                    changes.push(json!({"asset_id": token_id, "price": tp.format(0), "size": size.format(0),
                        "side": side, "hash": "", "best_bid": best_bid.unwrap_or_else(|| "0".into()),
                        "best_ask": best_ask.unwrap_or_else(|| "1".into())}));
                }
                drop(ex);
                if !changes.is_empty() {
                    let best: Vec<Value> = changes
                        .iter()
                        .map(|c| {
                            json!({"event_type": "best_bid_ask", "market": market, "asset_id": c["asset_id"],
                                "best_bid": c["best_bid"], "best_ask": c["best_ask"],
                                "timestamp": now_ms().to_string()})
                        })
                        .collect();
                    self.out
                        .push(json!({"event_type": "price_change", "market": market,
                        "timestamp": now_ms().to_string(), "price_changes": changes}));
                    if self.custom {
                        self.out.extend(best);
                    }
                }
            }
            Event::Trade(t) => {
                let Some(m) = self.p.market(&t.market) else {
                    return;
                };
                let bps = self
                    .p
                    .market(&t.market)
                    .and_then(|m| orion_core::Price::parse(&m.fee_rate).ok())
                    .map(|r| (r.micros() / 100).to_string())
                    .unwrap_or_else(|| "0".into());
                for (token_id, is_yes) in [(&m.yes_token_id, true), (&m.no_token_id, false)] {
                    if !self.assets.contains(token_id) {
                        continue;
                    }
                    // The taker's action seen from this token's book.
                    let taker_buys_yes = matches!(t.taker.leg, Leg::BuyYes | Leg::SellNo);
                    let side = if taker_buys_yes == is_yes {
                        "BUY"
                    } else {
                        "SELL"
                    };
                    let price = if is_yes {
                        t.price
                    } else {
                        t.price.complement()
                    };
                    self.out.push(json!({"event_type": "last_trade_price", "asset_id": token_id,
                        "market": t.market, "price": price.format(0), "side": side, "size": t.qty.format(0),
                        "fee_rate_bps": bps, "timestamp": t.ts_ms.to_string()}));
                }
            }
            Event::Settled { market, resolution } if self.custom => {
                let Some(m) = self.p.market(market) else {
                    return;
                };
                if !self.assets.contains(&m.yes_token_id) && !self.assets.contains(&m.no_token_id) {
                    return;
                }
                let (winner, outcome) = match resolution {
                    crate::engine::Resolution::Yes => (&m.yes_token_id, &m.yes_outcome),
                    crate::engine::Resolution::No => (&m.no_token_id, &m.no_outcome),
                };
                self.out
                    .push(json!({"event_type": "market_resolved", "market": market,
                    "assets_ids": [m.yes_token_id, m.no_token_id], "winning_asset_id": winner,
                    "winning_outcome": outcome, "timestamp": now_ms().to_string()}));
            }
            Event::Settled { .. } | Event::Order { .. } | Event::Status { .. } => {}
        }
    }

    fn command(&mut self, text: &str, rx: &mut broadcast::Receiver<Event>) {
        if text.trim() == "PING" {
            self.out.push(Value::String("PONG".into()));
            return;
        }
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            self.out.push(Value::String("INVALID OPERATION".into()));
            return;
        };
        let ids: Vec<String> = v
            .get("assets_ids")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        match v.get("operation").and_then(Value::as_str) {
            Some("unsubscribe") => {
                for id in ids {
                    self.assets.remove(&id);
                }
            }
            Some("subscribe") => self.subscribe(ids, true, rx),
            _ => {
                let dump = v
                    .get("initial_dump")
                    .and_then(Value::as_bool)
                    .unwrap_or(true);
                self.custom = v
                    .get("custom_feature_enabled")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                self.subscribe(ids, dump, rx);
            }
        }
    }
}

async fn run(mut socket: WebSocket, p: Arc<Poly>) {
    let mut rx = lock(&p.core.ex).subscribe();
    let killed = p.core.ctl.killed();
    tokio::pin!(killed);
    let mut conn = Conn {
        p: p.clone(),
        assets: BTreeSet::new(),
        custom: false,
        out: Vec::new(),
        close: false,
        held: None,
    };
    loop {
        tokio::select! {
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(t))) => conn.command(t.as_str(), &mut rx),
                Some(Ok(Message::Ping(b))) => { let _ = socket.send(Message::Pong(b)).await; }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            ev = rx.recv() => match ev {
                Ok(ev) => conn.on_event(&ev),
                // A lagging reader is cut off; the client resubscribes for a fresh book.
                Err(broadcast::error::RecvError::Lagged(_)) => conn.close = true,
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = &mut killed => return,
        }
        if !conn.out.is_empty() {
            for f in lock(&p.core.ctl.faults).fire("WS", WS_PATH, WS_KINDS) {
                match f.kind {
                    // No sequence numbers here: a "gap" is a lost update.
                    FaultKind::WsGap => {
                        conn.out
                            .retain(|v| !v.is_object() || v["event_type"] != json!("price_change"));
                    }
                    FaultKind::WsDisconnect => {
                        // Whatever was in flight is lost with the connection.
                        conn.out.clear();
                        conn.close = true;
                    }
                    _ => {}
                }
            }
        }
        let raw = tamper(
            &mut lock(&p.core.ctl.faults),
            WS_PATH,
            &mut conn.out,
            &mut conn.held,
            |v| v["event_type"] == "price_change",
        );
        for text in raw {
            if socket.send(Message::Text(text.into())).await.is_err() {
                return;
            }
        }
        for v in conn.out.drain(..) {
            let text = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            if socket.send(Message::Text(text.into())).await.is_err() {
                return;
            }
        }
        if conn.close {
            let _ = socket.send(Message::Close(None)).await;
            return;
        }
    }
}
