//! Kalshi response decoding (kalshi.md §4–§7, §10): venue JSON into
//! orion-core types, exactly, with every failure naming the field.
//!
//! Books are normalized to one YES-quoted book per market: YES bids are the
//! bids; a NO bid at `q` is a YES ask at `1 − q` (kalshi.md §3).

use orion_core::time_fmt::parse_rfc3339;
use orion_core::{
    BookSide, Cash, ClientOrderId, FeeSchedule, InstrumentId, KalshiBookSide, KalshiFeeType,
    KalshiOrderSide, Level, LevelChange, LevelUpdate, Notional, OrderStatus, Outcome, Price,
    PriceBand, PriceGrid, Quantity, Rate, Rounding, Side, Timestamp, Venue,
};
use serde_json::Value;

use crate::decode::{DecodeError, Node, opt_str, parse};

const V: Venue = Venue::Kalshi;

fn root(body: &[u8]) -> Result<Value, DecodeError> {
    parse(V, body)
}

/// An error answer, in any of the shapes of kalshi.md §10.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KalshiApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

/// Reads `{"error":{"code","message","details"}}`, `{"error":"text"}`,
/// `{"code","message"}`, `{"msg"}`, empty and non-JSON bodies. Never fails.
pub fn api_error(status: u16, body: &[u8]) -> KalshiApiError {
    let cut = |s: &str| s.chars().take(512).collect::<String>();
    let mut code = String::new();
    let mut message = String::new();
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(cut);
        match v.get("error") {
            Some(Value::String(s)) => message = cut(s),
            Some(e @ Value::Object(_)) => {
                code = text(e.get("code")).unwrap_or_default();
                message = text(e.get("message")).unwrap_or_default();
                if let Some(d) = text(e.get("details"))
                    && !d.is_empty()
                {
                    message = if message.is_empty() || message == code {
                        d
                    } else {
                        format!("{message}: {d}")
                    };
                }
            }
            _ => {}
        }
        if code.is_empty() {
            code = text(v.get("code")).unwrap_or_default();
        }
        if message.is_empty() {
            message = text(v.get("message"))
                .or_else(|| text(v.get("msg")))
                .or_else(|| text(v.get("details")))
                .unwrap_or_default();
        }
    } else if !body.is_empty() {
        message = cut(&String::from_utf8_lossy(body));
    }
    if code.is_empty() {
        code = match status {
            429 => "too_many_requests".into(),
            s => format!("http_{s}"),
        };
    }
    KalshiApiError {
        status,
        code,
        message,
    }
}

impl KalshiApiError {
    /// Codes sometimes embed ids (`user_not_found:_<uuid>`): match by prefix.
    pub fn is(&self, code: &str) -> bool {
        self.code.starts_with(code)
    }
}

// ------------------------------------------------------------ markets

/// The market fields Orion uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KalshiMarket {
    pub ticker: InstrumentId,
    pub event_ticker: String,
    pub title: String,
    pub yes_sub_title: String,
    pub no_sub_title: String,
    pub status: String,
    pub result: String,
    pub open_time: Option<Timestamp>,
    pub close_time: Option<Timestamp>,
    pub expected_expiration_time: Option<Timestamp>,
    pub yes_bid: Option<Price>,
    pub yes_ask: Option<Price>,
    pub no_bid: Option<Price>,
    pub no_ask: Option<Price>,
    pub last_price: Option<Price>,
    pub volume: Option<Quantity>,
    pub open_interest: Option<Quantity>,
    pub price_level_structure: Option<String>,
    /// From `price_ranges`, else from `price_level_structure`.
    pub grid: Option<PriceGrid>,
}

fn time(n: Node<'_>) -> Result<Timestamp, DecodeError> {
    let s = n.str()?;
    parse_rfc3339(s).map_err(|e| n.err(e.to_string()))
}

fn opt_time(n: &Node<'_>, key: &str) -> Result<Option<Timestamp>, DecodeError> {
    // Kalshi sends "" for unset times.
    n.with_opt(key, |c| match c.value.as_str() {
        Some("") => Ok(None),
        _ => time(c).map(Some),
    })
    .map(Option::flatten)
}

fn price_band(n: Node<'_>) -> Result<PriceBand, DecodeError> {
    let start = n.with("start", |c| c.price())?;
    let end = n.with("end", |c| c.price())?;
    let step = n.with("step", |c| c.price())?;
    if step == Price::ZERO || start > end {
        return Err(n.err("band with a zero step or start above end"));
    }
    Ok(PriceBand {
        start,
        end,
        step: step.micros(),
    })
}

fn market_node(n: Node<'_>) -> Result<KalshiMarket, DecodeError> {
    let s = |k: &str| -> Result<String, DecodeError> { Ok(opt_str(&n, k)?.unwrap_or_default()) };
    let structure = opt_str(&n, "price_level_structure")?;
    let grid = match n.with_opt("price_ranges", |r| r.each(price_band))? {
        Some(bands) if !bands.is_empty() => {
            Some(PriceGrid::from_bands(bands).map_err(|e| DecodeError {
                venue: V,
                field: format!("{}.price_ranges", n.path()),
                detail: e.to_string(),
            })?)
        }
        _ => match structure.as_deref() {
            Some("linear_cent") => Some(PriceGrid::kalshi_linear_cent()),
            Some("deci_cent") => Some(PriceGrid::kalshi_deci_cent()),
            Some("tapered_deci_cent") => Some(PriceGrid::kalshi_tapered_deci_cent()),
            _ => None,
        },
    };
    Ok(KalshiMarket {
        ticker: n.with("ticker", |c| c.instrument())?,
        event_ticker: n.with("event_ticker", |c| c.id().map(str::to_string))?,
        title: s("title")?,
        yes_sub_title: s("yes_sub_title")?,
        no_sub_title: s("no_sub_title")?,
        status: n.with("status", |c| c.id().map(str::to_string))?,
        result: s("result")?,
        open_time: opt_time(&n, "open_time")?,
        close_time: opt_time(&n, "close_time")?,
        expected_expiration_time: opt_time(&n, "expected_expiration_time")?,
        yes_bid: n.with_opt("yes_bid_dollars", |c| c.price())?,
        yes_ask: n.with_opt("yes_ask_dollars", |c| c.price())?,
        no_bid: n.with_opt("no_bid_dollars", |c| c.price())?,
        no_ask: n.with_opt("no_ask_dollars", |c| c.price())?,
        last_price: n.with_opt("last_price_dollars", |c| c.price())?,
        volume: n.with_opt("volume_fp", |c| c.qty())?,
        open_interest: n.with_opt("open_interest_fp", |c| c.qty())?,
        price_level_structure: structure,
        grid,
    })
}

/// One `GET /markets` page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketsPage {
    pub markets: Vec<KalshiMarket>,
    /// `None` on the last page (empty cursor).
    pub cursor: Option<String>,
}

pub fn markets_page(body: &[u8]) -> Result<MarketsPage, DecodeError> {
    let v = root(body)?;
    let n = Node::root(V, &v);
    let markets = n.with("markets", |m| m.each(market_node))?;
    let cursor = opt_str(&n, "cursor")?.filter(|c| !c.is_empty());
    Ok(MarketsPage { markets, cursor })
}

/// A bare `markets` array (as some captures keep it).
pub fn markets_array(body: &[u8]) -> Result<Vec<KalshiMarket>, DecodeError> {
    let v = root(body)?;
    Node::root(V, &v).each(market_node)
}

pub fn market(body: &[u8]) -> Result<KalshiMarket, DecodeError> {
    let v = root(body)?;
    Node::root(V, &v).with("market", market_node)
}

// ------------------------------------------------------------ books

/// One market's book in YES terms, best first on each side.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct YesBook {
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
}

fn fp_level(n: Node<'_>) -> Result<Level, DecodeError> {
    if n.len() != Some(2) {
        return Err(n.err("a level is [price, count]"));
    }
    Ok(Level::new(
        n.at(0, |p| p.level_price())?,
        n.at(1, |q| q.qty())?,
    ))
}

fn cents_level(n: Node<'_>) -> Result<Level, DecodeError> {
    if n.len() != Some(2) {
        return Err(n.err("a level is [price_cents, count]"));
    }
    let cents = n.at(0, |p| p.u64())?;
    if !(1..=99).contains(&cents) {
        return n.at(0, |p| Err(p.err(format!("{cents} cents outside 1..=99"))));
    }
    // 1..=99 cents is within a u32 micro-dollar price.
    let price = Price::from_micros_clamped(u32::try_from(cents * 10_000).unwrap_or(0));
    let qty = n.at(1, |q| q.qty())?;
    Ok(Level::new(price, qty))
}

/// YES bids and NO bids into one YES book; a NO bid at q is a YES ask at
/// 1 − q. Duplicate prices on a side are refused.
pub fn yes_book(n: &Node<'_>, yes: Vec<Level>, no: Vec<Level>) -> Result<YesBook, DecodeError> {
    let mut bids = yes;
    let mut asks: Vec<Level> = no
        .into_iter()
        .map(|l| Level::new(l.price.complement(), l.qty))
        .collect();
    // Venues disagree on order (kalshi.md §4.3): sort ourselves.
    bids.sort_by_key(|l| std::cmp::Reverse(l.price));
    asks.sort_by_key(|l| l.price);
    if bids.windows(2).any(|w| w[0].price == w[1].price) {
        return Err(n.err("YES side lists a price twice"));
    }
    if asks.windows(2).any(|w| w[0].price == w[1].price) {
        return Err(n.err("NO side lists a price twice"));
    }
    Ok(YesBook { bids, asks })
}

/// `GET /markets/{ticker}/orderbook`: `orderbook_fp` or the legacy
/// `orderbook` (dollar strings preferred, cents as a fallback).
pub fn orderbook(body: &[u8]) -> Result<YesBook, DecodeError> {
    let v = root(body)?;
    let n = Node::root(V, &v);
    let side = |o: &Node<'_>, key: &str| -> Result<Vec<Level>, DecodeError> {
        Ok(o.with_opt(key, |s| s.each(fp_level))?.unwrap_or_default())
    };
    if let Some(book) = n.with_opt("orderbook_fp", |o| {
        let yes = side(&o, "yes_dollars")?;
        let no = side(&o, "no_dollars")?;
        yes_book(&o, yes, no)
    })? {
        return Ok(book);
    }
    n.with("orderbook", |o| {
        let has_dollars =
            o.object()?.contains_key("yes_dollars") || o.object()?.contains_key("no_dollars");
        let (yes, no) = if has_dollars {
            (side(&o, "yes_dollars")?, side(&o, "no_dollars")?)
        } else {
            (
                o.with_opt("yes", |s| s.each(cents_level))?
                    .unwrap_or_default(),
                o.with_opt("no", |s| s.each(cents_level))?
                    .unwrap_or_default(),
            )
        };
        yes_book(&o, yes, no)
    })
}

// ------------------------------------------------------------ series

/// `GET /series/{ticker}` → the fee schedule; unknown fee types and
/// malformed multipliers fail closed.
pub fn series_fee(body: &[u8]) -> Result<FeeSchedule, DecodeError> {
    let v = root(body)?;
    Node::root(V, &v).with("series", |s| {
        let fee_type = s.with("fee_type", |f| {
            let t = f.id()?;
            KalshiFeeType::parse(t).map_err(|e| f.err(e.to_string()))
        })?;
        let multiplier = s.with("fee_multiplier", |m| {
            let t = m.text()?;
            Rate::parse(&t).map_err(|e| m.err(e.to_string()))
        })?;
        Ok(FeeSchedule::Kalshi {
            fee_type,
            multiplier,
        })
    })
}

// ------------------------------------------------------------ portfolio

/// `GET /portfolio/balance`: dollars when sent, else cents.
pub fn balance(body: &[u8]) -> Result<(Cash, Option<Cash>), DecodeError> {
    let v = root(body)?;
    let n = Node::root(V, &v);
    let cents = |c: Node<'_>| -> Result<Cash, DecodeError> {
        let x = c.i64()?;
        Cash::from_cents(x).ok_or_else(|| c.err("balance out of range"))
    };
    let available = match n.with_opt("balance_dollars", |c| c.cash())? {
        Some(c) => c,
        None => n.with("balance", cents)?,
    };
    let portfolio = n.with_opt("portfolio_value", cents)?;
    Ok((available, portfolio))
}

/// Positions and the next cursor.
pub type PositionsPage = (Vec<(InstrumentId, i64)>, Option<String>);

/// `market_positions[]`: (ticker, signed position in micro-contracts;
/// + YES, − NO).
pub fn positions(body: &[u8]) -> Result<PositionsPage, DecodeError> {
    let v = root(body)?;
    let n = Node::root(V, &v);
    let list = n
        .with_opt("market_positions", |m| {
            m.each(|p| {
                Ok((
                    p.with("ticker", |t| t.instrument())?,
                    p.with("position_fp", |q| q.signed_qty_micros())?,
                ))
            })
        })?
        .unwrap_or_default();
    Ok((list, opt_str(&n, "cursor")?.filter(|c| !c.is_empty())))
}

fn outcome(n: Node<'_>) -> Result<Outcome, DecodeError> {
    match n.str()? {
        "yes" => Ok(Outcome::Yes),
        "no" => Ok(Outcome::No),
        other => Err(n.err(format!(
            "expected yes or no, found {:?}",
            other.chars().take(16).collect::<String>()
        ))),
    }
}

fn book_side(n: Node<'_>) -> Result<KalshiBookSide, DecodeError> {
    match n.str()? {
        "bid" => Ok(KalshiBookSide::Bid),
        "ask" => Ok(KalshiBookSide::Ask),
        other => Err(n.err(format!(
            "expected bid or ask, found {:?}",
            other.chars().take(16).collect::<String>()
        ))),
    }
}

/// One fill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KalshiFill {
    pub fill_id: String,
    pub order_id: String,
    pub client_order_id: Option<String>,
    pub ticker: InstrumentId,
    pub outcome: Outcome,
    pub side: Side,
    /// Price of `outcome`.
    pub price: Price,
    pub yes_price: Price,
    pub count: Quantity,
    pub is_taker: bool,
    pub fee_cost: Cash,
    pub ts: Timestamp,
}

fn fill_node(n: Node<'_>) -> Result<KalshiFill, DecodeError> {
    let outcome = n.with("outcome_side", outcome)?;
    let bs = n.with("book_side", book_side)?;
    let yes_price = n.with("yes_price_dollars", |c| c.level_price())?;
    let (side, price) = KalshiOrderSide {
        book_side: bs,
        yes_price,
    }
    .to_intent(outcome);
    let ts = match opt_time(&n, "created_time")? {
        Some(t) => t,
        None => Timestamp::from_secs(n.with("ts", |c| c.i64())?),
    };
    Ok(KalshiFill {
        fill_id: n
            .with_opt("fill_id", |c| c.id().map(str::to_string))?
            .map_or_else(|| n.with("trade_id", |c| c.id().map(str::to_string)), Ok)?,
        order_id: n.with("order_id", |c| c.id().map(str::to_string))?,
        client_order_id: opt_str(&n, "client_order_id")?.filter(|c| !c.is_empty()),
        ticker: match n.with_opt("ticker", |c| c.instrument())? {
            Some(t) => t,
            None => n.with("market_ticker", |c| c.instrument())?,
        },
        outcome,
        side,
        price,
        yes_price,
        count: n.with("count_fp", |c| c.qty())?,
        is_taker: n.with("is_taker", |c| c.bool())?,
        fee_cost: n.with("fee_cost", |c| c.cash())?,
        ts,
    })
}

pub fn fills(body: &[u8]) -> Result<(Vec<KalshiFill>, Option<String>), DecodeError> {
    let v = root(body)?;
    let n = Node::root(V, &v);
    let list = n.with("fills", |f| f.each(fill_node))?;
    Ok((list, opt_str(&n, "cursor")?.filter(|c| !c.is_empty())))
}

/// One order as `GET /portfolio/orders` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KalshiOrder {
    pub order_id: String,
    pub client_order_id: Option<String>,
    pub ticker: InstrumentId,
    pub status: String,
    pub outcome: Outcome,
    pub book_side: KalshiBookSide,
    pub yes_price: Price,
    pub initial: Quantity,
    pub filled: Quantity,
    pub remaining: Quantity,
    pub fill_cost: Cash,
    pub fees: Cash,
    pub updated: Option<Timestamp>,
}

impl KalshiOrder {
    pub fn order_status(&self) -> OrderStatus {
        match self.status.as_str() {
            "resting" => OrderStatus::Open,
            "executed" if self.filled >= self.initial => OrderStatus::Filled,
            _ if self.filled.is_zero() => OrderStatus::Cancelled,
            _ if self.filled >= self.initial => OrderStatus::Filled,
            _ => OrderStatus::PartiallyFilled,
        }
    }

    /// Average price paid per contract of `outcome`, rounded half-even.
    pub fn average_price(&self) -> Option<Price> {
        if self.filled.is_zero() {
            return None;
        }
        self.fill_cost
            .to_notional()
            .per_contract(self.filled, Rounding::HalfEven)
    }
}

fn order_node(n: Node<'_>) -> Result<KalshiOrder, DecodeError> {
    let zero = |k: &str| -> Result<Cash, DecodeError> {
        Ok(n.with_opt(k, |c| c.cash())?.unwrap_or(Cash::ZERO))
    };
    let fill_cost = zero("taker_fill_cost_dollars")?
        .checked_add(zero("maker_fill_cost_dollars")?)
        .ok_or_else(|| n.err("fill cost overflow"))?;
    let fees = zero("taker_fees_dollars")?
        .checked_add(zero("maker_fees_dollars")?)
        .ok_or_else(|| n.err("fees overflow"))?;
    Ok(KalshiOrder {
        order_id: n.with("order_id", |c| c.id().map(str::to_string))?,
        client_order_id: opt_str(&n, "client_order_id")?.filter(|c| !c.is_empty()),
        ticker: n.with("ticker", |c| c.instrument())?,
        status: n.with("status", |c| c.id().map(str::to_string))?,
        outcome: n.with("outcome_side", outcome)?,
        book_side: n.with("book_side", book_side)?,
        yes_price: n.with("yes_price_dollars", |c| c.price())?,
        initial: n.with("initial_count_fp", |c| c.qty())?,
        filled: n.with("fill_count_fp", |c| c.qty())?,
        remaining: n
            .with_opt("remaining_count_fp", |c| c.qty())?
            .unwrap_or(Quantity::ZERO),
        fill_cost,
        fees,
        updated: opt_time(&n, "last_update_time")?,
    })
}

pub fn orders(body: &[u8]) -> Result<(Vec<KalshiOrder>, Option<String>), DecodeError> {
    let v = root(body)?;
    let n = Node::root(V, &v);
    let list = n.with("orders", |o| o.each(order_node))?;
    Ok((list, opt_str(&n, "cursor")?.filter(|c| !c.is_empty())))
}

/// `POST /portfolio/events/orders` (201).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOrderResponse {
    pub order_id: String,
    pub client_order_id: Option<String>,
    pub fill_count: Quantity,
    pub remaining_count: Quantity,
    /// YES price.
    pub average_fill_price: Option<Price>,
    pub average_fee_paid: Option<Price>,
    pub ts_ms: Option<i64>,
}

pub fn create_order_response(body: &[u8]) -> Result<CreateOrderResponse, DecodeError> {
    let v = root(body)?;
    let n = Node::root(V, &v);
    Ok(CreateOrderResponse {
        order_id: n.with("order_id", |c| c.id().map(str::to_string))?,
        client_order_id: opt_str(&n, "client_order_id")?.filter(|c| !c.is_empty()),
        fill_count: n.with("fill_count", |c| c.qty())?,
        remaining_count: n.with("remaining_count", |c| c.qty())?,
        average_fill_price: n.with_opt("average_fill_price", |c| c.price())?,
        average_fee_paid: n.with_opt("average_fee_paid", |c| c.price())?,
        ts_ms: n.with_opt("ts_ms", |c| c.i64())?,
    })
}

impl CreateOrderResponse {
    /// The status implied by the counts (the V2 response has no `status`).
    pub fn status(&self, requested: Quantity) -> OrderStatus {
        if self.fill_count >= requested && !requested.is_zero() {
            OrderStatus::Filled
        } else if !self.remaining_count.is_zero() {
            OrderStatus::Open
        } else if self.fill_count.is_zero() {
            OrderStatus::Cancelled
        } else {
            OrderStatus::PartiallyFilled
        }
    }

    /// Total fees: the per-contract average times the count, rounded up.
    pub fn fees(&self) -> Cash {
        match self.average_fee_paid {
            Some(per) => per
                .notional(self.fill_count)
                .to_cash(Rounding::Up)
                .unwrap_or(Cash::MAX),
            None => Cash::ZERO,
        }
    }
}

/// `DELETE /portfolio/events/orders/{id}`.
pub fn cancel_response(body: &[u8]) -> Result<(String, Quantity), DecodeError> {
    let v = root(body)?;
    let n = Node::root(V, &v);
    Ok((
        n.with("order_id", |c| c.id().map(str::to_string))?,
        n.with_opt("reduced_by", |c| c.qty())?
            .unwrap_or(Quantity::ZERO),
    ))
}

// ------------------------------------------------------------ WebSocket

/// One WebSocket message, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsMessage {
    Subscribed {
        id: Option<i64>,
        sid: u64,
        channel: String,
    },
    Snapshot {
        sid: u64,
        seq: u64,
        ticker: InstrumentId,
        book: YesBook,
    },
    Delta {
        sid: u64,
        seq: u64,
        ticker: InstrumentId,
        update: LevelUpdate,
        ts: Option<Timestamp>,
    },
    Error {
        id: Option<i64>,
        code: u64,
        msg: String,
    },
    /// Anything else (`ok`, `unsubscribed`, `fill`, `trade`, ...).
    Other { kind: String },
}

fn ws_levels(n: &Node<'_>, key: &str) -> Result<Vec<Level>, DecodeError> {
    Ok(n.with_opt(key, |s| s.each(fp_level))?.unwrap_or_default())
}

/// The hot message, read without building a `serde_json::Value`: any
/// surprise (escapes, a bad field, another shape) returns `None` and the
/// message goes through the path-aware decoder, which names the fault.
#[derive(serde::Deserialize)]
struct FastDelta<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    sid: u64,
    seq: u64,
    #[serde(borrow)]
    msg: FastDeltaMsg<'a>,
}

#[derive(serde::Deserialize)]
struct FastDeltaMsg<'a> {
    market_ticker: &'a str,
    price_dollars: &'a str,
    delta_fp: &'a str,
    side: &'a str,
    ts_ms: Option<i64>,
}

fn fast_delta(text: &[u8]) -> Option<WsMessage> {
    let d: FastDelta<'_> = serde_json::from_slice(text).ok()?;
    // Without `ts_ms` the slow path reads the RFC 3339 `ts`.
    d.msg.ts_ms?;
    if d.kind != "orderbook_delta"
        || d.msg.market_ticker.len() > crate::decode::MAX_ID
        || !d.msg.market_ticker.bytes().all(|b| b.is_ascii_graphic())
    {
        return None;
    }
    let ticker = InstrumentId::new(V, d.msg.market_ticker).ok()?;
    let price = Price::parse(d.msg.price_dollars).ok()?;
    if price == Price::ZERO || price == Price::ONE {
        return None;
    }
    let (neg, digits) = match d.msg.delta_fp.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, d.msg.delta_fp),
    };
    if !digits.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        return None;
    }
    let q = Quantity::parse(digits).ok()?;
    if q > Quantity::MAX {
        return None;
    }
    let m = i64::try_from(q.micros()).ok()?;
    let (side, price) = match d.msg.side {
        "yes" => (BookSide::Bid, price),
        "no" => (BookSide::Ask, price.complement()),
        _ => return None,
    };
    Some(WsMessage::Delta {
        sid: d.sid,
        seq: d.seq,
        ticker,
        update: LevelUpdate {
            side,
            price,
            change: LevelChange::Add(if neg { -m } else { m }),
        },
        ts: d.msg.ts_ms.map(Timestamp::from_millis),
    })
}

pub fn ws_message(text: &[u8]) -> Result<WsMessage, DecodeError> {
    match fast_delta(text) {
        Some(m) => Ok(m),
        None => ws_message_slow(text),
    }
}

/// The path-aware decoder for every message shape.
fn ws_message_slow(text: &[u8]) -> Result<WsMessage, DecodeError> {
    let v = root(text)?;
    let n = Node::root(V, &v);
    let kind = n.with("type", |c| c.id().map(str::to_string))?;
    Ok(match kind.as_str() {
        "subscribed" => WsMessage::Subscribed {
            id: n.with_opt("id", |c| c.i64())?,
            sid: n.with("msg", |m| m.with("sid", |c| c.u64()))?,
            channel: n.with("msg", |m| m.with("channel", |c| c.id().map(str::to_string)))?,
        },
        "orderbook_snapshot" => {
            let sid = n.with("sid", |c| c.u64())?;
            let seq = n.with("seq", |c| c.u64())?;
            n.with("msg", |m| {
                let ticker = m.with("market_ticker", |c| c.instrument())?;
                let yes = ws_levels(&m, "yes_dollars_fp")?;
                let no = ws_levels(&m, "no_dollars_fp")?;
                Ok(WsMessage::Snapshot {
                    sid,
                    seq,
                    ticker,
                    book: yes_book(&m, yes, no)?,
                })
            })?
        }
        "orderbook_delta" => {
            let sid = n.with("sid", |c| c.u64())?;
            let seq = n.with("seq", |c| c.u64())?;
            n.with("msg", |m| {
                let ticker = m.with("market_ticker", |c| c.instrument())?;
                let price = m.with("price_dollars", |c| c.level_price())?;
                let delta = m.with("delta_fp", |c| c.signed_qty_micros())?;
                let yes_side = m.with("side", outcome)?;
                // A NO bid at q is a YES ask at 1 − q.
                let (side, price) = match yes_side {
                    Outcome::Yes => (BookSide::Bid, price),
                    Outcome::No => (BookSide::Ask, price.complement()),
                };
                Ok(WsMessage::Delta {
                    sid,
                    seq,
                    ticker,
                    update: LevelUpdate {
                        side,
                        price,
                        change: LevelChange::Add(delta),
                    },
                    ts: match m.with_opt("ts_ms", |c| c.i64())? {
                        Some(ms) => Some(Timestamp::from_millis(ms)),
                        // Some spec versions send an RFC 3339 `ts` instead.
                        None => opt_time(&m, "ts")?,
                    },
                })
            })?
        }
        "error" => WsMessage::Error {
            id: n.with_opt("id", |c| c.i64())?,
            code: n.with("msg", |m| m.with("code", |c| c.u64()))?,
            msg: n
                .with_opt("msg", |m| opt_str(&m, "msg"))?
                .flatten()
                .unwrap_or_default(),
        },
        _ => WsMessage::Other { kind },
    })
}

/// A NO price for an outcome from a YES price, or the YES price itself.
pub fn outcome_price(outcome: Outcome, yes_price: Price) -> Price {
    match outcome {
        Outcome::Yes => yes_price,
        Outcome::No => yes_price.complement(),
    }
}

/// Parses a client order id leniently (the venue's own text).
pub fn client_order_id(text: &str) -> Option<ClientOrderId> {
    ClientOrderId::new(text).ok()
}

/// The notional of a fill in dollars (for reconciliation).
pub fn fill_notional(f: &KalshiFill) -> Notional {
    f.price.notional(f.count)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod fast_path_tests {
    use super::*;

    #[test]
    fn fast_and_slow_delta_decoders_agree() {
        let texts = [
            r#"{"type":"orderbook_delta","sid":2,"seq":3,"msg":{"market_ticker":"FED","price_dollars":"0.9600","delta_fp":"-54.00","side":"yes","ts_ms":1669149841000}}"#,
            r#"{"type":"orderbook_delta","sid":2,"seq":4,"msg":{"market_ticker":"FED","price_dollars":"0.0100","delta_fp":"3.25","side":"no","ts_ms":1}}"#,
        ];
        for t in texts {
            let fast = fast_delta(t.as_bytes()).expect("fast path taken");
            let slow = ws_message_slow(t.as_bytes()).unwrap();
            assert_eq!(fast, slow);
        }
        // Escaped strings, numbers as prices, RFC 3339 ts: fall back, still decode.
        for t in [
            r#"{"type":"orderbook_delta","sid":2,"seq":3,"msg":{"market_ticker":"F\u0045D","price_dollars":"0.96","delta_fp":"1","side":"yes","ts_ms":1}}"#,
            r#"{"type":"orderbook_delta","sid":2,"seq":3,"msg":{"market_ticker":"FED","price_dollars":"0.96","delta_fp":"1","side":"yes","ts":"2025-03-01T18:26:53Z"}}"#,
        ] {
            assert!(fast_delta(t.as_bytes()).is_none());
            assert!(matches!(
                ws_message(t.as_bytes()).unwrap(),
                WsMessage::Delta { .. }
            ));
        }
    }
}
