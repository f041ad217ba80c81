//! Polymarket response decoding (polymarket.md §5–§10): CLOB, Gamma and
//! market-channel JSON into orion-core types, exactly, with every failure
//! naming the field. One book per outcome token.

use orion_core::time_fmt::parse_rfc3339;
use orion_core::{
    BookSide, FeeSchedule, InstrumentId, Level, LevelChange, LevelUpdate, OrderStatus, Price,
    Quantity, Rate, TickSize, Timestamp, Venue,
};
use serde_json::Value;

use crate::decode::{DecodeError, Node, opt_str, parse};

const V: Venue = Venue::Polymarket;
/// The cursor that ends a CLOB listing.
pub const END_CURSOR: &str = "LTE=";
/// The first page's cursor.
pub const START_CURSOR: &str = "MA==";

fn root(body: &[u8]) -> Result<Value, DecodeError> {
    parse(V, body)
}

/// An error answer: `{"error":"…"}` (string or object), or `errorMsg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolyApiError {
    pub status: u16,
    pub message: String,
}

pub fn api_error(status: u16, body: &[u8]) -> PolyApiError {
    let cut = |s: &str| s.chars().take(512).collect::<String>();
    let message = match serde_json::from_slice::<Value>(body) {
        Ok(v) => match v.get("error").or_else(|| v.get("errorMsg")) {
            Some(Value::String(s)) => cut(s),
            Some(Value::Object(o)) => o
                .get("message")
                .or_else(|| o.get("error"))
                .and_then(Value::as_str)
                .map(cut)
                .unwrap_or_else(|| cut(&Value::Object(o.clone()).to_string())),
            Some(other) => cut(&other.to_string()),
            None => cut(&v.to_string()),
        },
        Err(_) => cut(&String::from_utf8_lossy(body)),
    };
    PolyApiError { status, message }
}

fn ms_string(n: Node<'_>) -> Result<Timestamp, DecodeError> {
    let ms = n.i64()?;
    if ms < 0 {
        return Err(n.err("negative timestamp"));
    }
    Ok(Timestamp::from_millis(ms))
}

fn tick(n: Node<'_>) -> Result<TickSize, DecodeError> {
    let t = n.text()?;
    TickSize::parse(&t).map_err(|e| n.err(e.to_string()))
}

// ------------------------------------------------------------ books

/// One token's book, best first on each side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolyBook {
    pub asset_id: InstrumentId,
    pub market: String,
    pub timestamp: Option<Timestamp>,
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
    pub tick_size: Option<TickSize>,
    pub neg_risk: Option<bool>,
    pub min_order_size: Option<Quantity>,
}

fn level(n: Node<'_>) -> Result<Level, DecodeError> {
    Ok(Level::new(
        n.with("price", |p| p.level_price())?,
        n.with("size", |s| s.qty())?,
    ))
}

fn side_levels(n: &Node<'_>, key: &str, side: BookSide) -> Result<Vec<Level>, DecodeError> {
    let mut levels = n.with(key, |s| s.each(level))?;
    levels.retain(|l| !l.qty.is_zero());
    // The venue lists the best level last (polymarket.md §8, §15); sort
    // ourselves rather than trust either order.
    match side {
        BookSide::Bid => levels.sort_by_key(|l| std::cmp::Reverse(l.price)),
        BookSide::Ask => levels.sort_by_key(|l| l.price),
    }
    if levels.windows(2).any(|w| w[0].price == w[1].price) {
        return n.with(key, |s| Err(s.err("a price is listed twice")));
    }
    Ok(levels)
}

fn book_node(n: Node<'_>) -> Result<PolyBook, DecodeError> {
    Ok(PolyBook {
        asset_id: n.with("asset_id", |c| c.instrument())?,
        market: n.with("market", |c| c.id().map(str::to_string))?,
        timestamp: n.with_opt("timestamp", ms_string)?,
        bids: side_levels(&n, "bids", BookSide::Bid)?,
        asks: side_levels(&n, "asks", BookSide::Ask)?,
        tick_size: n.with_opt("tick_size", tick)?,
        neg_risk: n.with_opt("neg_risk", |c| c.bool())?,
        min_order_size: n.with_opt("min_order_size", |c| c.qty())?,
    })
}

/// `GET /book`.
pub fn book(body: &[u8]) -> Result<PolyBook, DecodeError> {
    let v = root(body)?;
    book_node(Node::root(V, &v))
}

/// `POST /books`.
pub fn books(body: &[u8]) -> Result<Vec<PolyBook>, DecodeError> {
    let v = root(body)?;
    Node::root(V, &v).each(book_node)
}

// ------------------------------------------------------------ markets

/// A CLOB market (`GET /markets` page item, `GET /markets/{id}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClobMarket {
    pub condition_id: String,
    pub question: String,
    pub slug: String,
    pub end_date: Option<Timestamp>,
    pub active: bool,
    pub closed: bool,
    pub accepting_orders: bool,
    pub neg_risk: bool,
    pub tick_size: Option<TickSize>,
    /// (token id, outcome text)
    pub tokens: Vec<(String, String)>,
}

fn opt_time(n: &Node<'_>, key: &str) -> Result<Option<Timestamp>, DecodeError> {
    n.with_opt(key, |c| match c.value.as_str() {
        Some("") => Ok(None),
        _ => {
            let s = c.str()?;
            parse_rfc3339(s).map(Some).map_err(|e| c.err(e.to_string()))
        }
    })
    .map(Option::flatten)
}

fn token_id(n: Node<'_>) -> Result<String, DecodeError> {
    // Decimal uint256: at most 78 digits.
    let t = n.text()?;
    if t.is_empty() || t.len() > 78 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(n.err("a token id is a decimal uint256"));
    }
    Ok(t)
}

fn clob_market_node(n: Node<'_>) -> Result<ClobMarket, DecodeError> {
    let flag = |k: &str| -> Result<bool, DecodeError> {
        Ok(n.with_opt(k, |c| c.bool())?.unwrap_or(false))
    };
    Ok(ClobMarket {
        condition_id: n.with("condition_id", |c| c.id().map(str::to_string))?,
        question: opt_str(&n, "question")?.unwrap_or_default(),
        slug: opt_str(&n, "market_slug")?.unwrap_or_default(),
        end_date: opt_time(&n, "end_date_iso")?,
        active: flag("active")?,
        closed: flag("closed")?,
        accepting_orders: flag("accepting_orders")?,
        neg_risk: flag("neg_risk")?,
        tick_size: n.with_opt("minimum_tick_size", tick)?,
        // Markets without an order book list placeholder tokens with empty
        // ids; they are not tradeable, so they are left out rather than
        // failing the whole page.
        tokens: n
            .with("tokens", |t| {
                t.each(|tok| {
                    if tok.with_opt("token_id", |c| Ok(c.value.as_str() == Some("")))? == Some(true)
                    {
                        return Ok(None);
                    }
                    Ok(Some((
                        tok.with("token_id", token_id)?,
                        tok.with("outcome", |o| o.str().map(str::to_string))?,
                    )))
                })
            })?
            .into_iter()
            .flatten()
            .collect(),
    })
}

/// A page of `GET /markets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketsPage {
    pub markets: Vec<ClobMarket>,
    /// `None` at the end (`LTE=`).
    pub next_cursor: Option<String>,
}

pub fn markets_page(body: &[u8]) -> Result<MarketsPage, DecodeError> {
    let v = root(body)?;
    let n = Node::root(V, &v);
    Ok(MarketsPage {
        markets: n.with("data", |d| d.each(clob_market_node))?,
        next_cursor: opt_str(&n, "next_cursor")?.filter(|c| !c.is_empty() && c != END_CURSOR),
    })
}

pub fn clob_market(body: &[u8]) -> Result<ClobMarket, DecodeError> {
    let v = root(body)?;
    clob_market_node(Node::root(V, &v))
}

/// Whether a market has resolved, from `GET /markets/{condition_id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClobResolution {
    pub condition_id: String,
    pub closed: bool,
    /// The token flagged `winner`; `None` while unresolved. A closed market
    /// with no winner yet is awaiting its resolution.
    pub winner: Option<String>,
}

pub fn clob_resolution(body: &[u8]) -> Result<ClobResolution, DecodeError> {
    let v = root(body)?;
    let n = Node::root(V, &v);
    let winners: Vec<String> = n
        .with("tokens", |t| {
            t.each(|tok| {
                let won = tok.with_opt("winner", |c| c.bool())?.unwrap_or(false);
                if won {
                    Ok(Some(tok.with("token_id", token_id)?))
                } else {
                    Ok(None)
                }
            })
        })?
        .into_iter()
        .flatten()
        .collect();
    if winners.len() > 1 {
        return Err(n.err("more than one token is flagged winner"));
    }
    Ok(ClobResolution {
        condition_id: n.with("condition_id", |c| c.id().map(str::to_string))?,
        closed: n.with_opt("closed", |c| c.bool())?.unwrap_or(false),
        winner: winners.into_iter().next(),
    })
}

/// `GET /clob-markets/{condition_id}`: what trading a market needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketInfo {
    pub condition_id: String,
    /// (token id, outcome text)
    pub tokens: Vec<(String, String)>,
    pub tick_size: TickSize,
    pub min_order_size: Option<Quantity>,
    pub neg_risk: bool,
    /// `None` when `fd` is absent: the market must not be traded.
    pub fee: Option<FeeSchedule>,
}

pub fn market_info(body: &[u8]) -> Result<MarketInfo, DecodeError> {
    let v = root(body)?;
    let n = Node::root(V, &v);
    let fee = n.with_opt("fd", |fd| {
        let rate = fd.with("r", |r| {
            let t = r.text()?;
            Rate::parse(&t).map_err(|e| r.err(e.to_string()))
        })?;
        let exponent = fd.with("e", |e| {
            let x = e.u64()?;
            u8::try_from(x).map_err(|_| e.err("exponent out of range"))
        })?;
        let schedule = FeeSchedule::Polymarket { rate, exponent };
        schedule.validate().map_err(|e| fd.err(e.to_string()))?;
        Ok(schedule)
    })?;
    Ok(MarketInfo {
        condition_id: n.with("c", |c| c.id().map(str::to_string))?,
        tokens: n.with("t", |t| {
            t.each(|tok| {
                Ok((
                    tok.with("t", token_id)?,
                    tok.with("o", |o| o.str().map(str::to_string))?,
                ))
            })
        })?,
        tick_size: n.with("mts", tick)?,
        min_order_size: n.with_opt("mos", |c| c.qty())?,
        neg_risk: n.with_opt("nr", |c| c.bool())?.unwrap_or(false),
        fee,
    })
}

/// `GET /neg-risk` → `{"neg_risk": bool}` (a JSON boolean; a string is refused).
pub fn neg_risk(body: &[u8]) -> Result<bool, DecodeError> {
    let v = root(body)?;
    Node::root(V, &v).with("neg_risk", |c| c.bool())
}

/// `GET /tick-size` → `{"minimum_tick_size": 0.01}`.
pub fn tick_size(body: &[u8]) -> Result<TickSize, DecodeError> {
    let v = root(body)?;
    Node::root(V, &v).with("minimum_tick_size", tick)
}

/// `GET /version` → `{"version": N}`; missing means 2 (polymarket.md §3).
pub fn version(body: &[u8]) -> Result<u32, DecodeError> {
    let v = root(body)?;
    let n = Node::root(V, &v);
    Ok(n.with_opt("version", |c| {
        let x = c.u64()?;
        u32::try_from(x).map_err(|_| c.err("version out of range"))
    })?
    .unwrap_or(2))
}

/// `POST /auth/api-key`, `GET /auth/derive-api-key`: (apiKey, secret, passphrase).
pub fn api_credentials(body: &[u8]) -> Result<(String, String, String), DecodeError> {
    let v = root(body)?;
    let n = Node::root(V, &v);
    Ok((
        n.with("apiKey", |c| c.id().map(str::to_string))?,
        n.with("secret", |c| c.id().map(str::to_string))?,
        n.with("passphrase", |c| c.id().map(str::to_string))?,
    ))
}

// ------------------------------------------------------------ Gamma

/// A Gamma market with its outcome tokens resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GammaMarket {
    pub id: String,
    pub question: String,
    pub slug: String,
    pub condition_id: String,
    pub end_date: Option<Timestamp>,
    pub neg_risk: bool,
    pub outcomes: Vec<String>,
    pub token_ids: Vec<String>,
}

impl GammaMarket {
    /// The token of the outcome named `name` (case-insensitive), never by position.
    pub fn token_for(&self, name: &str) -> Option<&str> {
        self.outcomes
            .iter()
            .position(|o| o.trim().eq_ignore_ascii_case(name))
            .and_then(|i| self.token_ids.get(i))
            .map(String::as_str)
    }

    pub fn yes_token(&self) -> Option<&str> {
        self.token_for("yes")
    }

    pub fn no_token(&self) -> Option<&str> {
        self.token_for("no")
    }
}

/// A JSON array of strings that arrives encoded as a string (or, leniently,
/// as a real array).
fn stringified_array(n: Node<'_>) -> Result<Vec<String>, DecodeError> {
    let inner: Value = match n.value {
        Value::String(s) => {
            if s.len() > crate::decode::MAX_TEXT {
                return Err(n.err("too long"));
            }
            serde_json::from_str(s).map_err(|e| n.err(format!("not a JSON array: {e}")))?
        }
        Value::Array(_) => n.value.clone(),
        _ => return Err(n.err("expected a JSON array encoded as a string")),
    };
    let path = n.path();
    Node::root(V, &inner)
        .each(|x| x.text())
        .map_err(|e| DecodeError {
            venue: V,
            field: format!("{path}{}", e.field.trim_start_matches("<body>")),
            detail: e.detail,
        })
}

fn gamma_node(n: Node<'_>) -> Result<GammaMarket, DecodeError> {
    let outcomes = n.with("outcomes", stringified_array)?;
    let token_ids = n.with("clobTokenIds", stringified_array)?;
    if outcomes.len() != token_ids.len() {
        return n.with("clobTokenIds", |c| {
            Err(c.err(format!(
                "{} token ids for {} outcomes",
                token_ids.len(),
                outcomes.len()
            )))
        });
    }
    for t in &token_ids {
        if t.is_empty() || t.len() > 78 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return n.with("clobTokenIds", |c| {
                Err(c.err("a token id is a decimal uint256"))
            });
        }
    }
    Ok(GammaMarket {
        id: n.with("id", |c| c.text())?,
        question: opt_str(&n, "question")?.unwrap_or_default(),
        slug: opt_str(&n, "slug")?.unwrap_or_default(),
        condition_id: n.with("conditionId", |c| c.id().map(str::to_string))?,
        end_date: opt_time(&n, "endDate")?,
        neg_risk: n.with_opt("negRisk", |c| c.bool())?.unwrap_or(false),
        outcomes,
        token_ids,
    })
}

/// Gamma `GET /markets` (an array).
pub fn gamma_markets(body: &[u8]) -> Result<Vec<GammaMarket>, DecodeError> {
    let v = root(body)?;
    Node::root(V, &v).each(gamma_node)
}

/// One Gamma market object.
pub fn gamma_market(body: &[u8]) -> Result<GammaMarket, DecodeError> {
    let v = root(body)?;
    gamma_node(Node::root(V, &v))
}

// ------------------------------------------------------------ orders

/// `POST /order` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostOrderResponse {
    pub success: bool,
    pub error_msg: String,
    pub order_id: String,
    pub status: String,
    pub taking: Option<Quantity>,
    pub making: Option<Quantity>,
}

pub fn post_order_response(body: &[u8]) -> Result<PostOrderResponse, DecodeError> {
    let v = root(body)?;
    let n = Node::root(V, &v);
    // "" means zero (RS reads it so).
    let amount = |k: &str| -> Result<Option<Quantity>, DecodeError> {
        n.with_opt(k, |c| match c.value.as_str() {
            Some("") => Ok(None),
            _ => c.qty().map(Some),
        })
        .map(Option::flatten)
    };
    Ok(PostOrderResponse {
        success: n.with_opt("success", |c| c.bool())?.unwrap_or(false),
        error_msg: opt_str(&n, "errorMsg")?.unwrap_or_default(),
        order_id: opt_str(&n, "orderID")?.unwrap_or_default(),
        status: opt_str(&n, "status")?
            .unwrap_or_default()
            .to_ascii_lowercase(),
        taking: amount("takingAmount")?,
        making: amount("makingAmount")?,
    })
}

/// `GET /data/order/{id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenOrder {
    pub id: String,
    pub status: String,
    pub original_size: Quantity,
    pub size_matched: Quantity,
    pub price: Price,
}

impl OpenOrder {
    pub fn order_status(&self) -> OrderStatus {
        match self.status.to_ascii_uppercase().as_str() {
            "LIVE" | "DELAYED" | "UNMATCHED" if self.size_matched < self.original_size => {
                OrderStatus::Open
            }
            _ if self.size_matched >= self.original_size && !self.original_size.is_zero() => {
                OrderStatus::Filled
            }
            _ if self.size_matched.is_zero() => OrderStatus::Cancelled,
            _ => OrderStatus::PartiallyFilled,
        }
    }
}

/// `null` or `{}` → `None` (the CLOB's answer for an unknown id).
pub fn data_order(body: &[u8]) -> Result<Option<OpenOrder>, DecodeError> {
    let v = root(body)?;
    match &v {
        Value::Null => return Ok(None),
        Value::Object(o) if o.is_empty() => return Ok(None),
        _ => {}
    }
    let n = Node::root(V, &v);
    Ok(Some(OpenOrder {
        id: n.with("id", |c| c.id().map(str::to_string))?,
        status: n.with("status", |c| c.id().map(str::to_string))?,
        original_size: n.with("original_size", |c| c.qty())?,
        size_matched: n.with("size_matched", |c| c.qty())?,
        price: n.with("price", |c| c.price())?,
    }))
}

/// Cancelled ids, and refused ids with the venue's reason.
pub type CancelOutcome = (Vec<String>, Vec<(String, String)>);

/// `DELETE /order`: (cancelled ids, not cancelled with reasons).
pub fn cancel_response(body: &[u8]) -> Result<CancelOutcome, DecodeError> {
    let v = root(body)?;
    let n = Node::root(V, &v);
    let canceled = n
        .with_opt("canceled", |c| c.each(|x| x.id().map(str::to_string)))?
        .unwrap_or_default();
    let not = n
        .with_opt("not_canceled", |c| {
            Ok(c.object()?
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect::<Vec<_>>())
        })?
        .unwrap_or_default();
    Ok((canceled, not))
}

/// `GET /balance-allowance` → balance in 10^-6 units.
pub fn balance_micros(body: &[u8]) -> Result<u64, DecodeError> {
    let v = root(body)?;
    Node::root(V, &v).with("balance", |c| c.u64())
}

// ------------------------------------------------------------ WebSocket

/// One market-channel event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsEvent {
    Book(PolyBook),
    /// Level totals for one asset (`size` is the new total; 0 removes).
    PriceChange {
        asset_id: InstrumentId,
        updates: Vec<LevelUpdate>,
        ts: Option<Timestamp>,
    },
    TickSize {
        asset_id: InstrumentId,
        tick: TickSize,
    },
    Other {
        kind: String,
    },
}

fn change(n: &Node<'_>) -> Result<(InstrumentId, LevelUpdate), DecodeError> {
    let side = n.with("side", |s| match s.str()? {
        "BUY" | "buy" => Ok(BookSide::Bid),
        "SELL" | "sell" => Ok(BookSide::Ask),
        _ => Err(s.err("expected BUY or SELL")),
    })?;
    Ok((
        n.with("asset_id", |c| c.instrument())?,
        LevelUpdate {
            side,
            price: n.with("price", |c| c.level_price())?,
            change: LevelChange::Set(n.with("size", |c| c.qty())?),
        },
    ))
}

fn ws_event(n: Node<'_>, out: &mut Vec<WsEvent>) -> Result<(), DecodeError> {
    let kind = n.with("event_type", |c| c.id().map(str::to_string))?;
    match kind.as_str() {
        "book" => out.push(WsEvent::Book(book_node(n)?)),
        "price_change" => {
            let ts = n.with_opt("timestamp", ms_string)?;
            let changes: Vec<(InstrumentId, LevelUpdate)> =
                match n.with_opt("price_changes", |p| p.each(|c| change(&c)))? {
                    Some(list) => list,
                    // Legacy form: one change at the top level, or `changes[]`
                    // under a top-level `asset_id`.
                    None => match n.with_opt("changes", |p| {
                        let asset = n.with("asset_id", |c| c.instrument())?;
                        p.each(|c| {
                            let side = c.with("side", |s| match s.str()? {
                                "BUY" | "buy" => Ok(BookSide::Bid),
                                "SELL" | "sell" => Ok(BookSide::Ask),
                                _ => Err(s.err("expected BUY or SELL")),
                            })?;
                            Ok((
                                asset.clone(),
                                LevelUpdate {
                                    side,
                                    price: c.with("price", |x| x.level_price())?,
                                    change: LevelChange::Set(c.with("size", |x| x.qty())?),
                                },
                            ))
                        })
                    })? {
                        Some(list) => list,
                        None => vec![change(&n)?],
                    },
                };
            // Group consecutive changes by asset.
            for (asset, update) in changes {
                match out.last_mut() {
                    Some(WsEvent::PriceChange {
                        asset_id, updates, ..
                    }) if *asset_id == asset => updates.push(update),
                    _ => out.push(WsEvent::PriceChange {
                        asset_id: asset,
                        updates: vec![update],
                        ts,
                    }),
                }
            }
        }
        "tick_size_change" => out.push(WsEvent::TickSize {
            asset_id: n.with("asset_id", |c| c.instrument())?,
            tick: n.with("new_tick_size", tick)?,
        }),
        _ => out.push(WsEvent::Other { kind }),
    }
    Ok(())
}

/// A market-channel frame: one event or an array of them. `PONG` and other
/// bare words are not events (empty result).
/// The hot `price_change` form, read without a `serde_json::Value`; any
/// surprise returns `None` and the path-aware decoder takes over.
#[derive(serde::Deserialize)]
struct FastPriceChange<'a> {
    event_type: &'a str,
    timestamp: Option<&'a str>,
    #[serde(borrow)]
    price_changes: Vec<FastChange<'a>>,
}

#[derive(serde::Deserialize)]
struct FastChange<'a> {
    asset_id: &'a str,
    price: &'a str,
    size: &'a str,
    side: &'a str,
}

fn fast_price_change(text: &[u8]) -> Option<Vec<WsEvent>> {
    let pc: FastPriceChange<'_> = serde_json::from_slice(text).ok()?;
    if pc.event_type != "price_change" {
        return None;
    }
    let ts = match pc.timestamp {
        Some(t) => Some(Timestamp::from_millis(
            t.parse::<i64>().ok().filter(|ms| *ms >= 0)?,
        )),
        None => None,
    };
    let mut out: Vec<WsEvent> = Vec::new();
    for c in pc.price_changes {
        if c.asset_id.is_empty()
            || c.asset_id.len() > crate::decode::MAX_ID
            || !c.asset_id.bytes().all(|b| b.is_ascii_graphic())
        {
            return None;
        }
        let price = Price::parse(c.price).ok()?;
        if price == Price::ZERO || price == Price::ONE {
            return None;
        }
        let size = Quantity::parse(c.size).ok()?;
        if size > Quantity::MAX {
            return None;
        }
        let side = match c.side {
            "BUY" | "buy" => BookSide::Bid,
            "SELL" | "sell" => BookSide::Ask,
            _ => return None,
        };
        let update = LevelUpdate {
            side,
            price,
            change: LevelChange::Set(size),
        };
        match out.last_mut() {
            Some(WsEvent::PriceChange {
                asset_id, updates, ..
            }) if &*asset_id.symbol == c.asset_id => updates.push(update),
            _ => out.push(WsEvent::PriceChange {
                asset_id: InstrumentId::new(V, c.asset_id).ok()?,
                updates: vec![update],
                ts,
            }),
        }
    }
    Some(out)
}

pub fn ws_events(text: &[u8]) -> Result<Vec<WsEvent>, DecodeError> {
    match fast_price_change(text) {
        Some(events) => Ok(events),
        None => ws_events_slow(text),
    }
}

/// The path-aware decoder for every event shape.
fn ws_events_slow(text: &[u8]) -> Result<Vec<WsEvent>, DecodeError> {
    let trimmed = text.trim_ascii();
    let v = match root(trimmed) {
        Ok(v) => v,
        // Control words (`PONG`, `INVALID OPERATION`) are not JSON.
        Err(_) if trimmed.first().is_some_and(|b| b.is_ascii_alphabetic()) => {
            return Ok(Vec::new());
        }
        Err(e) => return Err(e),
    };
    let n = Node::root(V, &v);
    let mut out = Vec::new();
    match &v {
        Value::Array(_) => {
            n.each(|e| ws_event(e, &mut out))?;
        }
        Value::Object(_) => ws_event(n, &mut out)?,
        _ => return Err(n.err("expected an event object or an array of them")),
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod fast_path_tests {
    use super::*;

    #[test]
    fn fast_and_slow_price_change_decoders_agree() {
        let t = r#"{"event_type":"price_change","market":"0x1","timestamp":"1723967931411","price_changes":[{"asset_id":"7","price":"0.6","side":"BUY","size":"3300","hash":"h","best_bid":"0.6","best_ask":"0.7"},{"asset_id":"7","price":"0.7","side":"SELL","size":"0"},{"asset_id":"8","price":"0.3","side":"SELL","size":"1.5"}]}"#;
        let fast = fast_price_change(t.as_bytes()).expect("fast path taken");
        assert_eq!(fast, ws_events_slow(t.as_bytes()).unwrap());
        assert_eq!(fast.len(), 2, "grouped by asset");
        // Anything unusual falls back to the path-aware decoder.
        let numeric_ts = t.replace(r#""1723967931411""#, "1723967931411");
        assert!(fast_price_change(numeric_ts.as_bytes()).is_none());
        assert_eq!(ws_events(numeric_ts.as_bytes()).unwrap(), fast);
        let bad = t.replace(r#""0.6","side":"BUY""#, r#""1.6","side":"BUY""#);
        let e = ws_events(bad.as_bytes()).unwrap_err();
        assert_eq!(e.field, "price_changes[0].price");
    }

    #[test]
    fn market_resolution_names_the_single_winning_token() {
        let body = |closed: bool, a: bool, b: bool| {
            format!(
                r#"{{"condition_id":"0xc1","closed":{closed},"tokens":[
                    {{"token_id":"11","outcome":"Yes","price":1,"winner":{a}}},
                    {{"token_id":"22","outcome":"No","price":0,"winner":{b}}}]}}"#
            )
        };
        let open = clob_resolution(body(false, false, false).as_bytes()).unwrap();
        assert_eq!((open.closed, open.winner), (false, None));
        let done = clob_resolution(body(true, false, true).as_bytes()).unwrap();
        assert_eq!(done.condition_id, "0xc1");
        assert_eq!((done.closed, done.winner.as_deref()), (true, Some("22")));
        // Two winners cannot be settled: an error, not a guess.
        assert!(clob_resolution(body(true, true, true).as_bytes()).is_err());
        // A winner with a malformed token id names the field.
        let bad = body(true, true, false).replace(r#""11""#, r#""x1""#);
        assert!(clob_resolution(bad.as_bytes()).is_err());
    }
}
