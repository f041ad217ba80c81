//! Kalshi WebSocket `/trade-api/ws/v2` (kalshi.md §7): signed upgrade,
//! `subscribe`/`unsubscribe`/`update_subscription`/`list_subscriptions`,
//! `orderbook_snapshot` then `orderbook_delta` with a per-sid `seq`, the
//! private `fill` channel, the public `trade` channel and heartbeat pings.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Request, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::engine::{Axis, Event};
use crate::faults::{FaultKind, WS_KINDS, tamper};
use crate::kalshi::{Kalshi, WS_PATH, orderbook_fp};
use crate::server::lock;

pub async fn upgrade(State(k): State<Arc<Kalshi>>, req: Request) -> Response {
    let account = match k.authenticate(req.headers(), req.method().as_str(), req.uri().path()) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (mut parts, _) = req.into_parts();
    let ws = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(ws) => ws,
        Err(e) => return e.into_response(),
    };
    ws.on_upgrade(move |socket| run(socket, k, account))
}

#[derive(Debug)]
struct Sub {
    channel: String,
    tickers: Vec<String>,
    /// Last `seq` sent (orderbook channel only).
    seq: u64,
}

struct Conn {
    k: Arc<Kalshi>,
    account: String,
    subs: BTreeMap<u64, Sub>,
    next_sid: u64,
    out: Vec<Value>,
    close: bool,
    /// Set by a disconnect fault: pending messages are lost, not sent.
    drop_pending: bool,
    /// A delta held back by an out-of-order fault.
    held: Option<Value>,
}

const CHANNELS: &[&str] = &[
    "market_lifecycle_v2",
    "orderbook_delta",
    "fill",
    "trade",
    "ticker",
    "user_orders",
    "market_positions",
];

impl Conn {
    fn next_seq(&mut self, sid: u64) -> u64 {
        let gap = lock(&self.k.core.ctl.faults).fire("WS", WS_PATH, WS_KINDS);
        let mut step = 1;
        for f in gap {
            match f.kind {
                FaultKind::WsGap => step += 1,
                FaultKind::WsDisconnect => {
                    self.close = true;
                    self.drop_pending = true;
                }
                _ => {}
            }
        }
        match self.subs.get_mut(&sid) {
            Some(s) => {
                s.seq += step;
                s.seq
            }
            None => 0,
        }
    }

    /// Take the snapshots under the engine lock together with the events
    /// already queued, so snapshot and later deltas form one exact sequence.
    fn cut_and_snapshot(
        &mut self,
        rx: &mut broadcast::Receiver<Event>,
        sid: u64,
        tickers: &[String],
    ) {
        let (pending, books) = {
            let ex = lock(&self.k.core.ex);
            let mut pending = Vec::new();
            while let Ok(ev) = rx.try_recv() {
                pending.push(ev);
            }
            let books: Vec<(String, Vec<Value>, Vec<Value>)> = tickers
                .iter()
                .map(|t| {
                    let (yes, no) = orderbook_fp(&ex, t, 0);
                    (t.clone(), yes, no)
                })
                .collect();
            (pending, books)
        };
        for ev in &pending {
            self.on_event(ev, Some(sid));
        }
        for (ticker, yes, no) in books {
            let seq = self.next_seq(sid);
            let mut msg = json!({"market_ticker": ticker, "market_id": ticker});
            if let Some(obj) = msg.as_object_mut() {
                // An empty side's key is absent (kalshi.md §7).
                if !yes.is_empty() {
                    obj.insert("yes_dollars_fp".into(), json!(yes));
                }
                if !no.is_empty() {
                    obj.insert("no_dollars_fp".into(), json!(no));
                }
            }
            self.out
                .push(json!({"type": "orderbook_snapshot", "sid": sid, "seq": seq, "msg": msg}));
        }
    }

    fn on_event(&mut self, ev: &Event, exclude: Option<u64>) {
        let sids: Vec<u64> = self
            .subs
            .keys()
            .copied()
            .filter(|s| Some(*s) != exclude)
            .collect();
        for sid in sids {
            let Some(sub) = self.subs.get(&sid) else {
                continue;
            };
            match (sub.channel.as_str(), ev) {
                (
                    "orderbook_delta",
                    Event::Level {
                        market,
                        axis,
                        price,
                        delta_micros,
                        ts_ms,
                        ..
                    },
                ) if sub.tickers.contains(market) => {
                    let (side, p) = match axis {
                        Axis::Bid => ("yes", *price),
                        Axis::Ask => ("no", price.complement()),
                    };
                    let market = market.clone();
                    let seq = self.next_seq(sid);
                    self.out.push(
                        json!({"type": "orderbook_delta", "sid": sid, "seq": seq, "msg": {
                        "market_ticker": market, "market_id": market,
                        "price": cents(p),
                        "price_dollars": p.to_kalshi_dollars(),
                        "delta": i64::try_from(*delta_micros / 1_000_000).unwrap_or(0),
                        "delta_fp": crate::common::fmt_signed(*delta_micros, 2),
                        "side": side, "ts_ms": ts_ms}}),
                    );
                }
                ("fill", Event::Trade(t)) => {
                    for (s, is_taker) in [(&t.taker, true), (&t.maker, false)] {
                        if s.account != self.account {
                            continue;
                        }
                        let outcome = match s.leg {
                            crate::engine::Leg::BuyYes | crate::engine::Leg::SellYes => "yes",
                            _ => "no",
                        };
                        let book_side = match s.leg.axis() {
                            Axis::Bid => "bid",
                            Axis::Ask => "ask",
                        };
                        let action = match s.leg {
                            crate::engine::Leg::BuyYes | crate::engine::Leg::BuyNo => "buy",
                            _ => "sell",
                        };
                        // Current fields (kalshi.md §7) plus the legacy integer
                        // ones the 2026-03 AsyncAPI copy still lists as required.
                        self.out.push(json!({"type": "fill", "sid": sid, "msg": {
                            "trade_id": t.id, "order_id": s.order_id, "client_order_id": s.client_order_id,
                            "market_ticker": t.market, "is_taker": is_taker,
                            "yes_price_dollars": t.price.to_kalshi_dollars(), "yes_price": cents(t.price),
                            "count_fp": t.qty.format(2), "count": t.qty.micros() / 1_000_000,
                            "fee_cost": s.fee.format(4),
                            "post_position_fp": crate::common::fmt_signed(s.post_position, 2),
                            "post_position": i64::try_from(s.post_position / 1_000_000).unwrap_or(0),
                            "outcome_side": outcome, "book_side": book_side, "side": outcome,
                            "purchased_side": outcome, "action": action,
                            "ts_ms": t.ts_ms, "ts": t.ts_ms / 1000}}));
                    }
                }
                ("trade", Event::Trade(t))
                    if sub.tickers.is_empty() || sub.tickers.contains(&t.market) =>
                {
                    let taker_side = match t.taker.leg.axis() {
                        Axis::Bid => "yes",
                        Axis::Ask => "no",
                    };
                    self.out.push(json!({"type": "trade", "sid": sid, "msg": {
                        "trade_id": t.id, "market_ticker": t.market,
                        "yes_price_dollars": t.price.to_kalshi_dollars(), "yes_price": cents(t.price),
                        "no_price_dollars": t.price.complement().to_kalshi_dollars(),
                        "no_price": cents(t.price.complement()),
                        "count_fp": t.qty.format(2), "count": t.qty.micros() / 1_000_000,
                        "taker_side": taker_side, "ts": t.ts_ms / 1000}}));
                }
                ("market_lifecycle_v2", Event::Settled { market, resolution })
                    if sub.tickers.is_empty() || sub.tickers.contains(market) =>
                {
                    let (result, value) = match resolution {
                        crate::engine::Resolution::Yes => ("yes", "1.0000"),
                        crate::engine::Resolution::No => ("no", "0.0000"),
                    };
                    let ts = crate::common::now_ms() / 1000;
                    for event_type in ["determined", "settled"] {
                        self.out
                            .push(json!({"type": "market_lifecycle_v2", "sid": sid, "msg": {
                            "event_type": event_type, "market_ticker": market, "result": result,
                            "determination_ts": ts, "settled_ts": ts, "settlement_value": value}}));
                    }
                }
                ("market_lifecycle_v2", Event::Status { market, status })
                    if sub.tickers.is_empty() || sub.tickers.contains(market) =>
                {
                    let open = *status == crate::engine::MarketStatus::Open;
                    self.out
                        .push(json!({"type": "market_lifecycle_v2", "sid": sid, "msg": {
                        "event_type": if open { "activated" } else { "deactivated" },
                        "market_ticker": market, "is_deactivated": !open}}));
                }
                ("user_orders", Event::Order { order, .. })
                    if order.account == self.account
                        && (sub.tickers.is_empty() || sub.tickers.contains(&order.market)) =>
                {
                    let msg = user_order_json(order);
                    self.out
                        .push(json!({"type": "user_order", "sid": sid, "msg": msg}));
                }
                ("market_positions", Event::Trade(t))
                    if (t.taker.account == self.account || t.maker.account == self.account)
                        && (sub.tickers.is_empty() || sub.tickers.contains(&t.market)) =>
                {
                    let msg = self.position_json(&t.market);
                    self.out
                        .push(json!({"type": "market_position", "sid": sid, "msg": msg}));
                }
                ("ticker", Event::Trade(_) | Event::Level { .. })
                    if ticker_market(ev).is_some_and(|m| {
                        sub.tickers.is_empty() || sub.tickers.iter().any(|t| t == m)
                    }) =>
                {
                    let market = ticker_market(ev).unwrap_or_default().to_string();
                    let msg = self.ticker_json(&market);
                    self.out
                        .push(json!({"type": "ticker", "sid": sid, "msg": msg}));
                }
                _ => {}
            }
        }
    }

    /// `market_position` message: amounts in centi-cents as the spec says.
    fn position_json(&self, market: &str) -> Value {
        let ex = lock(&self.k.core.ex);
        let h = ex
            .accounts
            .get(&self.account)
            .and_then(|a| a.holdings.get(market))
            .cloned()
            .unwrap_or_default();
        let pos = i128::from(h.yes.micros()) - i128::from(h.no.micros());
        let centi = |c: orion_core::Cash| c.micros() / 100;
        let volume: u64 = ex
            .trades
            .iter()
            .filter(|t| {
                t.market == market
                    && (t.taker.account == self.account || t.maker.account == self.account)
            })
            .map(|t| t.qty.micros())
            .sum();
        json!({
            "user_id": self.account, "market_ticker": market,
            "position": i64::try_from(pos / 1_000_000).unwrap_or(0),
            "position_fp": crate::common::fmt_signed(pos, 2),
            "position_cost": centi(h.cost_basis), "realized_pnl": centi(h.realized_pnl),
            "fees_paid": centi(h.fees_paid), "position_fee_cost": centi(h.fees_paid),
            "volume": volume / 1_000_000,
            "volume_fp": orion_core::Quantity::from_micros(volume).format(2),
        })
    }

    /// `ticker` message: top of book, last price, volume.
    fn ticker_json(&self, market: &str) -> Value {
        let ex = lock(&self.k.core.ex);
        let bid = ex
            .levels(market, Axis::Bid)
            .first()
            .map(|l| l.0)
            .unwrap_or(orion_core::Price::ZERO);
        let ask = ex
            .levels(market, Axis::Ask)
            .first()
            .map(|l| l.0)
            .unwrap_or(orion_core::Price::ONE);
        let book = ex.books.get(market);
        let last = book
            .and_then(|b| b.last_trade)
            .unwrap_or(orion_core::Price::ZERO);
        let volume = book.map(|b| b.volume).unwrap_or_default();
        let oi = ex.open_interest(market);
        let cents = |p: orion_core::Price| p.micros() / 10_000;
        let now = crate::common::now_ms();
        json!({
            "market_ticker": market, "market_id": market,
            "price": cents(last), "yes_bid": cents(bid), "yes_ask": cents(ask),
            "price_dollars": last.to_kalshi_dollars(), "yes_bid_dollars": bid.to_kalshi_dollars(),
            "yes_ask_dollars": ask.to_kalshi_dollars(),
            "volume": volume.micros() / 1_000_000, "volume_fp": volume.format(2),
            "open_interest": oi.micros() / 1_000_000, "open_interest_fp": oi.format(2),
            "dollar_volume": volume.micros() / 1_000_000, "dollar_open_interest": oi.micros() / 1_000_000,
            "ts": now / 1000, "time": orion_core::time_fmt::rfc3339_millis(orion_core::Timestamp::from_millis(now)),
        })
    }

    fn error(&mut self, id: Option<i64>, code: u32, msg: &str) {
        self.out
            .push(json!({"id": id, "type": "error", "msg": {"code": code, "msg": msg}}));
    }

    fn tickers_of(params: &Value) -> Vec<String> {
        let mut t: Vec<String> = params
            .get("market_tickers")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(one) = params.get("market_ticker").and_then(Value::as_str) {
            t.push(one.to_string());
        }
        t
    }

    /// Handle one client command. Pending engine events are passed in so the
    /// snapshot and the deltas after it form one consistent sequence.
    fn command(&mut self, text: &str, rx: &mut broadcast::Receiver<Event>) {
        let Ok(cmd) = serde_json::from_str::<Value>(text) else {
            return self.error(None, 1, "Unable to process message");
        };
        let id = cmd.get("id").and_then(Value::as_i64);
        let params = cmd.get("params").cloned().unwrap_or(Value::Null);
        match cmd.get("cmd").and_then(Value::as_str) {
            Some("subscribe") => {
                let Some(channels) = params.get("channels").and_then(Value::as_array) else {
                    return self.error(
                        id,
                        if params.is_null() { 2 } else { 3 },
                        "Channels required",
                    );
                };
                let tickers = Self::tickers_of(&params);
                for ch in channels.iter().filter_map(Value::as_str) {
                    if !CHANNELS.contains(&ch) {
                        self.error(id, 8, "Unknown channel name");
                        continue;
                    }
                    if ch == "orderbook_delta" && tickers.is_empty() {
                        self.error(id, 14, "Market Ticker required");
                        continue;
                    }
                    if let Some(t) = tickers
                        .iter()
                        .find(|t| !self.k.markets.iter().any(|m| &m.ticker == *t))
                    {
                        let msg = format!("Unknown market ticker {t}");
                        self.error(id, 11, &msg);
                        continue;
                    }
                    let sid = self.next_sid;
                    self.next_sid += 1;
                    self.subs.insert(
                        sid,
                        Sub {
                            channel: ch.to_string(),
                            tickers: tickers.clone(),
                            seq: 0,
                        },
                    );
                    self.out.push(
                        json!({"id": id, "type": "subscribed", "msg": {"channel": ch, "sid": sid}}),
                    );
                    if ch == "orderbook_delta" {
                        self.cut_and_snapshot(rx, sid, &tickers);
                    }
                }
            }
            Some("unsubscribe") => {
                let Some(sids) = params.get("sids").and_then(Value::as_array) else {
                    return self.error(id, 4, "Subscription IDs required");
                };
                for sid in sids.iter().filter_map(Value::as_u64) {
                    if self.subs.remove(&sid).is_some() {
                        self.out
                            .push(json!({"id": id, "sid": sid, "type": "unsubscribed"}));
                    } else {
                        self.error(id, 7, "Unknown subscription ID");
                    }
                }
            }
            Some("update_subscription") => {
                let Some(sid) = params.get("sid").and_then(Value::as_u64) else {
                    return self.error(id, 12, "Exactly one subscription ID is required");
                };
                if !self.subs.contains_key(&sid) {
                    return self.error(id, 7, "Unknown subscription ID");
                }
                let tickers = Self::tickers_of(&params);
                match params.get("action").and_then(Value::as_str) {
                    Some("add_markets") => {
                        if let Some(s) = self.subs.get_mut(&sid) {
                            s.tickers.extend(tickers.iter().cloned());
                        }
                        if self
                            .subs
                            .get(&sid)
                            .is_some_and(|s| s.channel == "orderbook_delta")
                        {
                            self.cut_and_snapshot(rx, sid, &tickers);
                        }
                        let seq = self.subs.get(&sid).map(|s| s.seq).unwrap_or(0);
                        self.out.push(json!({"id": id, "sid": sid, "seq": seq, "type": "ok", "msg": {"market_tickers": tickers}}));
                    }
                    Some("delete_markets") => {
                        if let Some(s) = self.subs.get_mut(&sid) {
                            s.tickers.retain(|t| !tickers.contains(t));
                        }
                        let seq = self.subs.get(&sid).map(|s| s.seq).unwrap_or(0);
                        self.out.push(json!({"id": id, "sid": sid, "seq": seq, "type": "ok", "msg": {"market_tickers": tickers}}));
                    }
                    Some("get_snapshot") => {
                        let wanted = if tickers.is_empty() {
                            self.subs
                                .get(&sid)
                                .map(|s| s.tickers.clone())
                                .unwrap_or_default()
                        } else {
                            tickers
                        };
                        self.cut_and_snapshot(rx, sid, &wanted);
                    }
                    Some(_) => self.error(id, 13, "Unsupported action"),
                    None => self.error(id, 15, "Action required"),
                }
            }
            Some("list_subscriptions") => {
                let list: Vec<Value> = self
                    .subs
                    .iter()
                    .map(|(sid, s)| json!({"sid": sid, "channel": s.channel}))
                    .collect();
                self.out.push(json!({"id": id, "type": "ok", "msg": list}));
            }
            _ => self.error(id, 5, "Unknown command"),
        }
    }
}

/// Legacy whole-cent price (sub-cent prices truncate; the dollar fields are exact).
fn cents(p: orion_core::Price) -> u32 {
    p.micros() / 10_000
}

fn ticker_market(ev: &Event) -> Option<&str> {
    match ev {
        Event::Trade(t) => Some(&t.market),
        Event::Level { market, .. } => Some(market),
        _ => None,
    }
}

fn user_order_json(o: &crate::engine::Order) -> Value {
    use crate::engine::{Leg, OrderState, Stp, Tif};
    let yes = matches!(o.leg, Leg::BuyYes | Leg::SellYes);
    let status = match o.state {
        OrderState::Resting => "resting",
        OrderState::Canceled => "canceled",
        OrderState::Executed => "executed",
    };
    let ts = |ms| orion_core::time_fmt::rfc3339_millis(orion_core::Timestamp::from_millis(ms));
    let mut msg = json!({
        "order_id": o.id, "user_id": o.account, "ticker": o.market, "status": status,
        "side": if yes { "yes" } else { "no" }, "is_yes": yes,
        "yes_price_dollars": o.price.to_kalshi_dollars(),
        "fill_count_fp": o.filled.format(2),
        "remaining_count_fp": if o.state == OrderState::Resting { o.remaining.format(2) } else { "0.00".into() },
        "initial_count_fp": o.original.format(2),
        "taker_fill_cost_dollars": o.taker_cost.format(4),
        "maker_fill_cost_dollars": o.maker_cost.format(4),
        "client_order_id": o.client_order_id.clone().unwrap_or_default(),
        "self_trade_prevention_type": match o.stp { Stp::CancelTaker => "taker_at_cross", Stp::CancelMaker => "maker" },
        "created_time": ts(o.created_ms), "last_update_time": ts(o.updated_ms),
        "subaccount_number": 0,
    });
    if let Some(obj) = msg.as_object_mut() {
        // Fees are omitted when zero (ASYNC).
        if o.taker_fees != orion_core::Cash::ZERO {
            obj.insert("taker_fees_dollars".into(), json!(o.taker_fees.format(4)));
        }
        if o.maker_fees != orion_core::Cash::ZERO {
            obj.insert("maker_fees_dollars".into(), json!(o.maker_fees.format(4)));
        }
        if let Tif::Gtd(t) = o.tif {
            obj.insert("expiration_time".into(), json!(ts(t)));
        }
    }
    msg
}

async fn run(mut socket: WebSocket, k: Arc<Kalshi>, account: String) {
    let mut rx = lock(&k.core.ex).subscribe();
    let killed = k.core.ctl.killed();
    tokio::pin!(killed);
    let mut heartbeat = tokio::time::interval(Duration::from_millis(k.heartbeat_ms.max(10)));
    heartbeat.tick().await;
    let mut conn = Conn {
        k: k.clone(),
        account,
        subs: BTreeMap::new(),
        next_sid: 1,
        out: Vec::new(),
        close: false,
        drop_pending: false,
        held: None,
    };
    loop {
        tokio::select! {
            msg = socket.recv() => {
                match msg {
                    Some(Ok(Message::Text(t))) => conn.command(t.as_str(), &mut rx),
                    Some(Ok(Message::Ping(p))) => { let _ = socket.send(Message::Pong(p)).await; }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => {}
                }
            }
            ev = rx.recv() => {
                match ev {
                    Ok(ev) => conn.on_event(&ev, None),
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Kalshi's terminal "subscription buffer overflow".
                        conn.error(None, 25, "Subscription buffer overflow");
                        conn.close = true;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
            _ = heartbeat.tick() => {
                if socket.send(Message::Ping(bytes::Bytes::from_static(b"heartbeat"))).await.is_err() {
                    return;
                }
            }
            _ = &mut killed => return,
        }
        if conn.drop_pending {
            conn.out.clear();
        }
        let raw = tamper(
            &mut lock(&k.core.ctl.faults),
            WS_PATH,
            &mut conn.out,
            &mut conn.held,
            |v| v["type"] == "orderbook_delta",
        );
        for text in raw {
            if socket.send(Message::Text(text.into())).await.is_err() {
                return;
            }
        }
        for v in conn.out.drain(..) {
            if socket
                .send(Message::Text(v.to_string().into()))
                .await
                .is_err()
            {
                return;
            }
        }
        if conn.close {
            let _ = socket.send(Message::Close(None)).await;
            return;
        }
    }
}
