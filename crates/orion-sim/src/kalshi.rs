//! Kalshi Trade API v2 on top of the shared engine (protocols/kalshi.md).
//!
//! Engine market id = Kalshi ticker. Kalshi's single YES-quoted book maps
//! one-to-one onto the engine's YES axis: `bid` = YES bid, `ask` = YES ask =
//! NO bid at `1 - p`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, StatusCode};
use orion_core::time_fmt::{parse_rfc3339, rfc3339_millis};
use orion_core::{Cash, Price, PriceGrid, Quantity, Rounding, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::common::{VenueCore, fmt_signed, now_ms, page};
use crate::engine::{
    Axis, FeeModel, Leg, MarketStatus, NewOrder, Order, OrderState, Reject, Resolution, Stp, Tif,
    Trade,
};
use crate::faults::{FaultKind, ORDER_KINDS};
use crate::scenario::{KalshiEvent, KalshiMarket, KalshiSeries, Scenario};
use crate::server::lock;

pub const REST_PREFIX: &str = "/trade-api/v2";
pub const WS_PATH: &str = "/trade-api/ws/v2";

/// Kalshi's view: the engine plus metadata and registered keys.
#[derive(Debug)]
pub struct Kalshi {
    pub core: Arc<VenueCore>,
    pub series: BTreeMap<String, KalshiSeries>,
    pub events: Vec<KalshiEvent>,
    pub markets: Vec<KalshiMarket>,
    /// key id → (account, PKCS#1 RSAPublicKey DER).
    pub keys: HashMap<String, (String, Vec<u8>)>,
    pub max_skew_ms: i64,
    pub heartbeat_ms: u64,
    pub created: Timestamp,
}

/// A Kalshi error body: `{"error":{"code","message","service"}}` (kalshi.md §10).
pub fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": message, "service": "exchange"}})),
    )
        .into_response()
}

fn auth_error(details: &str) -> Response {
    // Shape seen on live 401s (kalshi.md §10).
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(
            json!({"error": {"code": "authentication_error", "message": "authentication_error",
            "details": format!("rpc error: code = Unauthenticated desc = {details}")}}),
        ),
    )
        .into_response()
}

fn dollars(p: Price) -> String {
    p.to_kalshi_dollars()
}

fn cash_dollars(c: Cash) -> String {
    c.format(4)
}

fn count_fp(q: Quantity) -> String {
    q.format(2)
}

/// Parse a decimal multiplier like "1" or "0.5" into ppm.
fn multiplier_ppm(text: &str) -> i64 {
    Cash::parse(text).map(Cash::micros).unwrap_or(1_000_000)
}

pub fn grid_for(structure: &str) -> PriceGrid {
    match structure {
        "deci_cent" => PriceGrid::kalshi_deci_cent(),
        "tapered_deci_cent" => PriceGrid::kalshi_tapered_deci_cent(),
        _ => PriceGrid::kalshi_linear_cent(),
    }
}

fn price_ranges(structure: &str) -> Value {
    match structure {
        "deci_cent" => json!([{"start": "0.0000", "end": "1.0000", "step": "0.0010"}]),
        "tapered_deci_cent" => json!([
            {"start": "0.0000", "end": "0.1000", "step": "0.0010"},
            {"start": "0.1000", "end": "0.9000", "step": "0.0100"},
            {"start": "0.9000", "end": "1.0000", "step": "0.0010"}]),
        _ => json!([{"start": "0.0000", "end": "1.0000", "step": "0.0100"}]),
    }
}

impl Kalshi {
    pub fn build(scenario: &Scenario, core: Arc<VenueCore>) -> Result<Kalshi, String> {
        let mut keys = HashMap::new();
        for a in &scenario.accounts {
            if let Some(id) = &a.kalshi_key_id {
                let pem = match (&a.kalshi_public_key_pem, &a.kalshi_public_key_file) {
                    (Some(pem), _) => pem.clone(),
                    (None, Some(file)) => {
                        scenario.read_relative(file).map_err(|e| e.to_string())?
                    }
                    (None, None) => {
                        return Err(format!("account {}: no Kalshi public key", a.name));
                    }
                };
                let der = crate::keys::rsa_public_key_der(&pem)
                    .map_err(|e| format!("account {}: {e}", a.name))?;
                keys.insert(id.clone(), (a.name.clone(), der));
            }
        }
        let series: BTreeMap<String, KalshiSeries> = scenario
            .kalshi
            .series
            .iter()
            .map(|s| (s.ticker.clone(), s.clone()))
            .collect();
        {
            let mut ex = lock(&core.ex);
            for a in &scenario.accounts {
                if a.kalshi_key_id.is_some() || a.kalshi_balance.is_some() || a.market_maker {
                    let cash = a
                        .kalshi_balance
                        .as_deref()
                        .map(Cash::parse)
                        .transpose()
                        .map_err(|e| e.to_string())?
                        .unwrap_or(Cash::ZERO);
                    ex.ensure_account(&a.name).cash = cash;
                }
            }
            for m in &scenario.kalshi.markets {
                let series_ticker = scenario
                    .kalshi
                    .events
                    .iter()
                    .find(|e| e.event_ticker == m.event_ticker)
                    .map(|e| e.series_ticker.clone())
                    .unwrap_or_default();
                let fees = series
                    .get(&series_ticker)
                    .map(|s| fee_model(&s.fee_type, &s.fee_multiplier))
                    .unwrap_or(fee_model("quadratic", "1"));
                ex.add_market(
                    &m.ticker,
                    grid_for(&m.price_level_structure),
                    fees,
                    Quantity::ZERO,
                );
            }
        }
        for m in &scenario.kalshi.markets {
            core.seed_book(&m.ticker, &m.book)?;
        }
        // A market whose close time has passed no longer trades; its book
        // is seeded first so it still shows the last resting liquidity.
        let now = Timestamp::from_millis(now_ms());
        {
            let mut ex = lock(&core.ex);
            for m in &scenario.kalshi.markets {
                if parse_time(&m.close_time).is_some_and(|t| t <= now) {
                    let _ = ex.set_open(&m.ticker, false);
                }
            }
        }
        Ok(Kalshi {
            core,
            series,
            events: scenario.kalshi.events.clone(),
            markets: scenario.kalshi.markets.clone(),
            keys,
            max_skew_ms: scenario.sim.kalshi_max_skew_ms,
            heartbeat_ms: scenario.sim.kalshi_ws_heartbeat_ms,
            created: Timestamp::from_millis(now_ms()),
        })
    }

    /// Verify Kalshi's three headers over `timestamp + METHOD + path` (kalshi.md §2).
    pub fn authenticate(
        &self,
        headers: &HeaderMap,
        method: &str,
        path: &str,
    ) -> Result<String, Response> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let (Some(key), Some(ts), Some(sig)) = (
            header("KALSHI-ACCESS-KEY"),
            header("KALSHI-ACCESS-TIMESTAMP"),
            header("KALSHI-ACCESS-SIGNATURE"),
        ) else {
            return Err(auth_error("MISSING_AUTH_HEADERS"));
        };
        let Some((account, der)) = self.keys.get(key) else {
            return Err(auth_error("API_KEY_NOT_FOUND"));
        };
        let Ok(ts_ms) = ts.parse::<i64>() else {
            return Err(auth_error("INVALID_TIMESTAMP"));
        };
        // A seconds timestamp is ~1000× too small and lands here as stale.
        if (self.core.ctl.now_ms() - ts_ms).abs() > self.max_skew_ms {
            return Err((
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"error": {"code": "header_timestamp_expired",
                    "message": "header timestamp expired", "service": "api"}})),
            )
                .into_response());
        }
        let Ok(sig) = STANDARD.decode(sig.as_bytes()) else {
            return Err(auth_error("INCORRECT_API_KEY_SIGNATURE"));
        };
        let message = format!("{ts}{method}{path}");
        let key = ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PSS_2048_8192_SHA256,
            der,
        );
        key.verify(message.as_bytes(), &sig)
            .map_err(|_| auth_error("INCORRECT_API_KEY_SIGNATURE"))?;
        Ok(account.clone())
    }

    fn market_spec(&self, ticker: &str) -> Option<&KalshiMarket> {
        self.markets.iter().find(|m| m.ticker == ticker)
    }

    /// A `Market` object with every field kalshi_python_sync 3.34.0 requires (kalshi.md §15).
    fn market_json(&self, m: &KalshiMarket) -> Value {
        let ex = lock(&self.core.ex);
        let bids = ex.levels(&m.ticker, Axis::Bid);
        let asks = ex.levels(&m.ticker, Axis::Ask);
        let book = ex.books.get(&m.ticker);
        let (status, result) = match book.map(|b| b.status) {
            Some(MarketStatus::Open) | None => ("active", ""),
            Some(MarketStatus::Closed) => ("closed", ""),
            Some(MarketStatus::Settled(Resolution::Yes)) => ("finalized", "yes"),
            Some(MarketStatus::Settled(Resolution::No)) => ("finalized", "no"),
        };
        let (yes_bid, yes_bid_size) = bids
            .first()
            .copied()
            .unwrap_or((Price::ZERO, Quantity::ZERO));
        let (yes_ask, yes_ask_size) = asks
            .first()
            .copied()
            .unwrap_or((Price::ONE, Quantity::ZERO));
        let created = rfc3339_millis(self.created);
        let settlement_value = match result {
            "yes" => Some("1.0000"),
            "no" => Some("0.0000"),
            _ => None,
        };
        let mut v = json!({
            "ticker": m.ticker,
            "event_ticker": m.event_ticker,
            "market_type": "binary",
            "title": m.title,
            "subtitle": m.subtitle,
            "yes_sub_title": m.yes_sub_title,
            "no_sub_title": m.no_sub_title,
            "created_time": created,
            "updated_time": created,
            "open_time": m.open_time,
            "close_time": m.close_time,
            "expected_expiration_time": m.expected_expiration_time.clone().unwrap_or_else(|| m.close_time.clone()),
            "expiration_time": m.latest_expiration_time,
            "latest_expiration_time": m.latest_expiration_time,
            "settlement_timer_seconds": 300,
            "status": status,
            "yes_bid_dollars": dollars(yes_bid),
            "yes_bid_size_fp": count_fp(yes_bid_size),
            "yes_ask_dollars": dollars(yes_ask),
            "yes_ask_size_fp": count_fp(yes_ask_size),
            "no_bid_dollars": dollars(yes_ask.complement()),
            "no_ask_dollars": dollars(yes_bid.complement()),
            "last_price_dollars": dollars(book.and_then(|b| b.last_trade).unwrap_or(Price::ZERO)),
            "volume_fp": count_fp(book.map(|b| b.volume).unwrap_or(Quantity::ZERO)),
            "volume_24h_fp": count_fp(book.map(|b| b.volume).unwrap_or(Quantity::ZERO)),
            "result": result,
            "can_close_early": true,
            "open_interest_fp": count_fp(ex.open_interest(&m.ticker)),
            "notional_value_dollars": "1.0000",
            "previous_yes_bid_dollars": "0.0000",
            "previous_yes_ask_dollars": "0.0000",
            "previous_price_dollars": "0.0000",
            "liquidity_dollars": "0.0000",
            "settlement_bounds_type": "default",
            "expiration_value": "",
            "strike_type": m.strike_type,
            "rules_primary": m.rules_primary,
            "rules_secondary": m.rules_secondary,
            "price_level_structure": m.price_level_structure,
            "price_ranges": price_ranges(&m.price_level_structure),
            "fractional_trading_enabled": true,
            "response_price_units": "usd_cent",
            "exchange_index": 0,
        });
        if let (Some(sv), Some(obj)) = (settlement_value, v.as_object_mut()) {
            obj.insert("settlement_value_dollars".into(), json!(sv));
        }
        v
    }

    fn event_json(&self, e: &KalshiEvent, nested: bool) -> Value {
        let mut v = json!({
            "event_ticker": e.event_ticker,
            "series_ticker": e.series_ticker,
            "title": e.title,
            "sub_title": e.sub_title,
            "collateral_return_type": "",
            "mutually_exclusive": e.mutually_exclusive,
            "category": e.category,
            "exchange_index": 0,
        });
        if let Some(obj) = v.as_object_mut() {
            if let Some(sd) = &e.strike_date {
                obj.insert("strike_date".into(), json!(sd));
            }
            if nested {
                let markets: Vec<Value> = self
                    .markets
                    .iter()
                    .filter(|m| m.event_ticker == e.event_ticker)
                    .map(|m| self.market_json(m))
                    .collect();
                obj.insert("markets".into(), json!(markets));
            }
        }
        v
    }
}

fn fee_model(fee_type: &str, multiplier: &str) -> FeeModel {
    let m = multiplier_ppm(multiplier);
    // kalshi.md §8: taker 0.07 × C × P × (1 − P) × M, maker 0.0175 × … where the
    // fee type has maker fees; each fill's fee rounded up to $0.0001.
    let taker = 70_000 * m / 1_000_000;
    let maker = if fee_type.starts_with("quadratic_with") {
        17_500 * m / 1_000_000
    } else {
        0
    };
    FeeModel {
        taker_rate_ppm: taker,
        maker_rate_ppm: maker,
        exponent: 1,
        round_up_to_micros: 100,
    }
}

type S = State<Arc<Kalshi>>;

pub fn router(k: Arc<Kalshi>) -> Router {
    let p = |s: &str| format!("{REST_PREFIX}{s}");
    // Market data answers without auth (the official SDK calls it unsigned),
    // but a request that does carry Kalshi headers has them checked, so a
    // client that signs these calls wrongly is caught here too.
    let public = Router::new()
        .route(&p("/exchange/status"), get(exchange_status))
        .route(&p("/markets"), get(list_markets))
        .route(&p("/markets/orderbooks"), get(get_orderbooks))
        .route(&p("/markets/{ticker}"), get(get_market))
        .route(&p("/markets/{ticker}/orderbook"), get(get_orderbook))
        .route(&p("/events"), get(list_events))
        .route(&p("/events/{ticker}"), get(get_event))
        .route(&p("/series/{ticker}"), get(get_series))
        .route(&p("/series"), get(list_series))
        .route_layer(axum::middleware::from_fn_with_state(
            k.clone(),
            optional_auth,
        ));
    Router::new()
        .merge(public)
        .route(&p("/portfolio/balance"), get(balance))
        .route(&p("/portfolio/positions"), get(positions))
        .route(&p("/portfolio/fills"), get(fills))
        .route(&p("/portfolio/settlements"), get(settlements))
        .route(
            &p("/portfolio/orders"),
            get(list_orders).post(legacy_create),
        )
        .route(&p("/portfolio/orders/{id}"), get(get_order))
        .route(&p("/portfolio/events/orders"), post(create_order))
        .route(
            &p("/portfolio/events/orders/batched"),
            post(batch_create).delete(batch_cancel),
        )
        .route(&p("/portfolio/events/orders/{id}"), delete(cancel_order))
        .route(WS_PATH, get(crate::kalshi_ws::upgrade))
        .with_state(k)
}

async fn optional_auth(State(k): S, req: Request, next: axum::middleware::Next) -> Response {
    let signed = [
        "KALSHI-ACCESS-KEY",
        "KALSHI-ACCESS-TIMESTAMP",
        "KALSHI-ACCESS-SIGNATURE",
    ]
    .iter()
    .any(|h| req.headers().contains_key(*h));
    if signed && let Err(r) = auth(&k, &req) {
        return r;
    }
    next.run(req).await
}

async fn exchange_status(State(k): S) -> Response {
    let up = !k.core.ctl.is_down();
    axum::Json(json!({"exchange_active": up, "trading_active": up})).into_response()
}

#[derive(Debug, Deserialize)]
struct MarketsQuery {
    limit: Option<usize>,
    cursor: Option<String>,
    status: Option<String>,
    event_ticker: Option<String>,
    series_ticker: Option<String>,
    tickers: Option<String>,
}

fn status_matches(filter: &str, status: MarketStatus) -> Option<bool> {
    Some(match filter {
        "open" => status == MarketStatus::Open,
        "closed" => status == MarketStatus::Closed,
        "settled" => matches!(status, MarketStatus::Settled(_)),
        "unopened" | "paused" => false,
        _ => return None,
    })
}

async fn list_markets(State(k): S, Query(q): Query<MarketsQuery>) -> Response {
    let limit = q.limit.unwrap_or(100);
    if limit > 1000 {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_parameters",
            "limit must be at most 1000",
        );
    }
    let statuses: BTreeMap<String, MarketStatus> = {
        let ex = lock(&k.core.ex);
        ex.books
            .iter()
            .map(|(t, b)| (t.clone(), b.status))
            .collect()
    };
    let mut selected = Vec::new();
    for m in &k.markets {
        if let Some(f) = &q.status {
            match status_matches(
                f,
                statuses
                    .get(&m.ticker)
                    .copied()
                    .unwrap_or(MarketStatus::Open),
            ) {
                None => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "invalid_parameters",
                        "unknown status filter",
                    );
                }
                Some(false) => continue,
                Some(true) => {}
            }
        }
        if q.event_ticker
            .as_ref()
            .is_some_and(|e| *e != m.event_ticker)
        {
            continue;
        }
        if let Some(st) = &q.series_ticker {
            let series = k
                .events
                .iter()
                .find(|e| e.event_ticker == m.event_ticker)
                .map(|e| &e.series_ticker);
            if series != Some(st) {
                continue;
            }
        }
        if let Some(t) = &q.tickers
            && !t.split(',').any(|x| x == m.ticker)
        {
            continue;
        }
        selected.push(m.clone());
    }
    // limit = 0 is treated as the default page, as the OAS range 0–1000 allows it.
    let limit = if limit == 0 { 100 } else { limit };
    let (items, next) = page(
        &selected,
        q.cursor.as_deref().filter(|c| !c.is_empty()),
        limit,
    );
    let markets: Vec<Value> = items.iter().map(|m| k.market_json(m)).collect();
    axum::Json(
        json!({"markets": markets, "cursor": next.map(|n| n.to_string()).unwrap_or_default()}),
    )
    .into_response()
}

async fn get_market(State(k): S, Path(ticker): Path<String>) -> Response {
    match k.market_spec(&ticker) {
        Some(m) => axum::Json(json!({"market": k.market_json(m)})).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "market_not_found",
            "market not found",
        ),
    }
}

#[derive(Debug, Deserialize)]
struct DepthQuery {
    depth: Option<usize>,
}

/// Levels `[[price, count]]`, ascending by price with the best bid last (D:orderbook_responses).
pub fn orderbook_fp(
    ex: &crate::engine::Exchange,
    ticker: &str,
    depth: usize,
) -> (Vec<Value>, Vec<Value>) {
    let take = |mut v: Vec<(Price, Quantity)>| {
        if depth > 0 {
            v.truncate(depth);
        }
        v.reverse();
        v
    };
    let yes = take(ex.levels(ticker, Axis::Bid))
        .into_iter()
        .map(|(p, q)| json!([dollars(p), count_fp(q)]))
        .collect();
    // NO bids are the YES asks seen from the other side.
    let no = take(ex.levels(ticker, Axis::Ask))
        .into_iter()
        .map(|(p, q)| json!([dollars(p.complement()), count_fp(q)]))
        .collect();
    (yes, no)
}

async fn get_orderbook(
    State(k): S,
    Path(ticker): Path<String>,
    Query(q): Query<DepthQuery>,
) -> Response {
    if k.market_spec(&ticker).is_none() {
        return error(
            StatusCode::NOT_FOUND,
            "market_not_found",
            "market not found",
        );
    }
    let depth = q.depth.unwrap_or(0);
    if depth > 100 {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_parameters",
            "depth must be at most 100",
        );
    }
    let (yes, no) = orderbook_fp(&lock(&k.core.ex), &ticker, depth);
    axum::Json(json!({"orderbook_fp": {"yes_dollars": yes, "no_dollars": no}})).into_response()
}

/// `GET /markets/orderbooks?tickers=A&tickers=B` (the parameter repeats).
async fn get_orderbooks(State(k): S, uri: http::Uri) -> Response {
    let tickers: Vec<String> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(key, _)| *key == "tickers")
        .flat_map(|(_, v)| {
            v.split("%2C")
                .flat_map(|x| x.split(','))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|t| !t.is_empty())
        .collect();
    if tickers.is_empty() || tickers.len() > 100 {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_parameters",
            "between 1 and 100 tickers are required",
        );
    }
    let ex = lock(&k.core.ex);
    let mut books = Vec::new();
    for t in &tickers {
        if k.market_spec(t).is_none() {
            return error(
                StatusCode::NOT_FOUND,
                "market_not_found",
                "market not found",
            );
        }
        let (yes, no) = orderbook_fp(&ex, t, 0);
        books.push(json!({"ticker": t, "orderbook_fp": {"yes_dollars": yes, "no_dollars": no}}));
    }
    axum::Json(json!({"orderbooks": books})).into_response()
}

#[derive(Debug, Deserialize)]
struct EventsQuery {
    limit: Option<usize>,
    cursor: Option<String>,
    series_ticker: Option<String>,
    with_nested_markets: Option<bool>,
}

async fn list_events(State(k): S, Query(q): Query<EventsQuery>) -> Response {
    let limit = q.limit.unwrap_or(200).clamp(1, 200);
    let selected: Vec<KalshiEvent> = k
        .events
        .iter()
        .filter(|e| {
            q.series_ticker
                .as_ref()
                .is_none_or(|s| *s == e.series_ticker)
        })
        .cloned()
        .collect();
    let (items, next) = page(
        &selected,
        q.cursor.as_deref().filter(|c| !c.is_empty()),
        limit,
    );
    let nested = q.with_nested_markets.unwrap_or(false);
    let events: Vec<Value> = items.iter().map(|e| k.event_json(e, nested)).collect();
    axum::Json(json!({"events": events, "cursor": next.map(|n| n.to_string()).unwrap_or_default()}))
        .into_response()
}

async fn get_event(State(k): S, Path(ticker): Path<String>) -> Response {
    let Some(e) = k.events.iter().find(|e| e.event_ticker == ticker) else {
        return error(StatusCode::NOT_FOUND, "event_not_found", "event not found");
    };
    let markets: Vec<Value> = k
        .markets
        .iter()
        .filter(|m| m.event_ticker == ticker)
        .map(|m| k.market_json(m))
        .collect();
    axum::Json(json!({"event": k.event_json(e, false), "markets": markets})).into_response()
}

fn series_json(s: &KalshiSeries) -> Value {
    // fee_multiplier is a JSON number on the wire; it is produced from the
    // scenario's decimal text and never used for arithmetic here.
    let multiplier: Value = serde_json::from_str(&s.fee_multiplier).unwrap_or(json!(1));
    json!({
        "ticker": s.ticker,
        "frequency": s.frequency,
        "title": s.title,
        "category": s.category,
        "categories": [s.category],
        "tags": [],
        "settlement_sources": [],
        "contract_url": "https://kalshi.com/",
        "contract_terms_url": "https://kalshi.com/",
        "fee_type": s.fee_type,
        "fee_multiplier": multiplier,
        "additional_prohibitions": [],
    })
}

async fn get_series(State(k): S, Path(ticker): Path<String>) -> Response {
    match k.series.get(&ticker) {
        Some(s) => axum::Json(json!({"series": series_json(s)})).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "series_not_found",
            "series not found",
        ),
    }
}

async fn list_series(State(k): S) -> Response {
    let all: Vec<Value> = k.series.values().map(series_json).collect();
    axum::Json(json!({"series": all})).into_response()
}

/// Authenticate a request; handlers get the account name.
fn auth(k: &Kalshi, req: &Request) -> Result<String, Response> {
    k.authenticate(req.headers(), req.method().as_str(), req.uri().path())
}

async fn balance(State(k): S, req: Request) -> Response {
    let account = match auth(&k, &req) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let ex = lock(&k.core.ex);
    let cash = ex
        .accounts
        .get(&account)
        .map(|a| a.cash)
        .unwrap_or(Cash::ZERO);
    // Value of positions at the best bid for what is held (mark-to-market, floor).
    let mut value = Cash::ZERO;
    if let Some(a) = ex.accounts.get(&account) {
        for (t, h) in &a.holdings {
            let yes_bid = ex
                .levels(t, Axis::Bid)
                .first()
                .map(|l| l.0)
                .unwrap_or(Price::ZERO);
            let yes_ask = ex
                .levels(t, Axis::Ask)
                .first()
                .map(|l| l.0)
                .unwrap_or(Price::ONE);
            value = value
                .saturating_add(crate::engine::notional(yes_bid, h.yes, Rounding::Down))
                .saturating_add(crate::engine::notional(
                    yes_ask.complement(),
                    h.no,
                    Rounding::Down,
                ));
        }
    }
    let cents = |c: Cash| c.micros().div_euclid(10_000);
    axum::Json(json!({
        "balance": cents(cash),
        "balance_dollars": cash_dollars(cash),
        "portfolio_value": cents(value),
        "updated_ts": now_ms() / 1000,
    }))
    .into_response()
}

#[derive(Debug, Deserialize)]
struct PortfolioQuery {
    ticker: Option<String>,
    event_ticker: Option<String>,
    order_id: Option<String>,
    status: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

async fn positions(State(k): S, Query(q): Query<PortfolioQuery>, req: Request) -> Response {
    let account = match auth(&k, &req) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let ex = lock(&k.core.ex);
    let mut market_positions = Vec::new();
    let mut by_event: BTreeMap<String, (Cash, Cash, Cash, i128)> = BTreeMap::new();
    if let Some(a) = ex.accounts.get(&account) {
        for (t, h) in &a.holdings {
            if q.ticker.as_ref().is_some_and(|x| x != t) {
                continue;
            }
            let Some(spec) = k.market_spec(t) else {
                continue;
            };
            if q.event_ticker
                .as_ref()
                .is_some_and(|e| *e != spec.event_ticker)
            {
                continue;
            }
            let pos = i128::from(h.yes.micros()) - i128::from(h.no.micros());
            if pos == 0 && h.traded == Cash::ZERO {
                continue;
            }
            market_positions.push(json!({
                "ticker": t,
                "exchange_index": 0,
                "total_traded_dollars": cash_dollars(h.traded),
                "position_fp": fmt_signed(pos, 2),
                "market_exposure_dollars": cash_dollars(h.cost_basis.max(Cash::ZERO)),
                "realized_pnl_dollars": cash_dollars(h.realized_pnl),
                "fees_paid_dollars": cash_dollars(h.fees_paid),
                "last_updated_ts": rfc3339_millis(Timestamp::from_millis(now_ms())),
            }));
            let e = by_event.entry(spec.event_ticker.clone()).or_default();
            e.0 = e.0.saturating_add(h.traded);
            e.1 = e.1.saturating_add(h.realized_pnl);
            e.2 = e.2.saturating_add(h.fees_paid);
            e.3 += pos.abs();
        }
    }
    let event_positions: Vec<Value> = by_event
        .into_iter()
        .map(|(e, (cost, pnl, fees, shares))| {
            json!({"event_ticker": e, "total_cost_dollars": cash_dollars(cost),
                "total_cost_shares_fp": fmt_signed(shares, 2), "event_exposure_dollars": cash_dollars(cost),
                "realized_pnl_dollars": cash_dollars(pnl), "fees_paid_dollars": cash_dollars(fees)})
        })
        .collect();
    axum::Json(json!({"market_positions": market_positions, "event_positions": event_positions, "cursor": ""}))
        .into_response()
}

fn outcome_side(leg: Leg) -> &'static str {
    match leg {
        Leg::BuyYes | Leg::SellYes => "yes",
        Leg::BuyNo | Leg::SellNo => "no",
    }
}

fn book_side(leg: Leg) -> &'static str {
    match leg.axis() {
        Axis::Bid => "bid",
        Axis::Ask => "ask",
    }
}

fn fill_json(t: &Trade, is_taker: bool) -> Value {
    let s = if is_taker { &t.taker } else { &t.maker };
    let ts = Timestamp::from_millis(t.ts_ms);
    json!({
        "fill_id": t.id, "trade_id": t.id, "exchange_index": 0,
        "order_id": s.order_id, "client_order_id": s.client_order_id,
        "ticker": t.market, "market_ticker": t.market,
        "outcome_side": outcome_side(s.leg), "book_side": book_side(s.leg),
        "count_fp": count_fp(t.qty),
        "yes_price_dollars": dollars(t.price), "no_price_dollars": dollars(t.price.complement()),
        "is_taker": is_taker, "fee_cost": cash_dollars(s.fee),
        "created_time": rfc3339_millis(ts), "ts": t.ts_ms / 1000, "subaccount_number": 0,
    })
}

async fn fills(State(k): S, Query(q): Query<PortfolioQuery>, req: Request) -> Response {
    let account = match auth(&k, &req) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let ex = lock(&k.core.ex);
    let mut out = Vec::new();
    for t in ex.trades.iter().rev() {
        if q.ticker.as_ref().is_some_and(|x| *x != t.market) {
            continue;
        }
        for (s, is_taker) in [(&t.taker, true), (&t.maker, false)] {
            if s.account == account && q.order_id.as_ref().is_none_or(|o| *o == s.order_id) {
                out.push(fill_json(t, is_taker));
            }
        }
    }
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let (items, next) = page(&out, q.cursor.as_deref().filter(|c| !c.is_empty()), limit);
    axum::Json(json!({"fills": items, "cursor": next.map(|n| n.to_string()).unwrap_or_default()}))
        .into_response()
}

/// `GET /portfolio/settlements`: one record per settled market held.
async fn settlements(State(k): S, Query(q): Query<PortfolioQuery>, req: Request) -> Response {
    let account = match auth(&k, &req) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let ex = lock(&k.core.ex);
    let out: Vec<Value> = ex
        .settlements
        .iter()
        .rev()
        .filter(|st| st.account == account)
        .filter(|st| q.ticker.as_ref().is_none_or(|t| *t == st.market))
        .map(|st| {
            let event = k
                .market_spec(&st.market)
                .map(|m| m.event_ticker.clone())
                .unwrap_or_default();
            let (yes_cost, no_cost) = if st.yes >= st.no {
                (st.cost_basis, Cash::ZERO)
            } else {
                (Cash::ZERO, st.cost_basis)
            };
            let (result, value) = match st.resolution {
                Resolution::Yes => ("yes", 100),
                Resolution::No => ("no", 0),
            };
            json!({
                "ticker": st.market, "event_ticker": event, "exchange_index": 0,
                "market_result": result,
                "yes_count_fp": count_fp(st.yes), "no_count_fp": count_fp(st.no),
                "yes_total_cost_dollars": cash_dollars(yes_cost.max(Cash::ZERO)),
                "no_total_cost_dollars": cash_dollars(no_cost.max(Cash::ZERO)),
                "revenue": st.payout.micros() / 10_000,
                "settled_time": rfc3339_millis(Timestamp::from_millis(st.ts_ms)),
                "fee_cost": cash_dollars(st.fees),
                "value": value,
            })
        })
        .collect();
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let (items, next) = page(&out, q.cursor.as_deref().filter(|c| !c.is_empty()), limit);
    axum::Json(
        json!({"settlements": items, "cursor": next.map(|n| n.to_string()).unwrap_or_default()}),
    )
    .into_response()
}

fn order_status(o: &Order) -> &'static str {
    match o.state {
        OrderState::Resting => "resting",
        OrderState::Canceled => "canceled",
        OrderState::Executed => "executed",
    }
}

fn order_json(o: &Order) -> Value {
    json!({
        "order_id": o.id,
        "user_id": o.account,
        "client_order_id": o.client_order_id.clone().unwrap_or_default(),
        "ticker": o.market,
        "outcome_side": outcome_side(o.leg),
        "book_side": book_side(o.leg),
        "type": "limit",
        "status": order_status(o),
        "yes_price_dollars": dollars(o.price),
        "no_price_dollars": dollars(o.price.complement()),
        "fill_count_fp": count_fp(o.filled),
        "remaining_count_fp": count_fp(if o.state == OrderState::Resting { o.remaining } else { Quantity::ZERO }),
        "initial_count_fp": count_fp(o.original),
        "taker_fill_cost_dollars": cash_dollars(o.taker_cost),
        "maker_fill_cost_dollars": cash_dollars(o.maker_cost),
        "taker_fees_dollars": cash_dollars(o.taker_fees),
        "maker_fees_dollars": cash_dollars(o.maker_fees),
        "created_time": rfc3339_millis(Timestamp::from_millis(o.created_ms)),
        "last_update_time": rfc3339_millis(Timestamp::from_millis(o.updated_ms)),
        "expiration_time": match o.tif { Tif::Gtd(t) => json!(rfc3339_millis(Timestamp::from_millis(t))), _ => Value::Null },
        "self_trade_prevention_type": match o.stp {
            Stp::CancelTaker => "taker_at_cross",
            Stp::CancelMaker => "maker",
        },
        "subaccount_number": 0,
        "exchange_index": 0,
    })
}

async fn list_orders(State(k): S, Query(q): Query<PortfolioQuery>, req: Request) -> Response {
    let account = match auth(&k, &req) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let ex = lock(&k.core.ex);
    let events: Option<Vec<&str>> = q.event_ticker.as_deref().map(|e| e.split(',').collect());
    let out: Vec<Value> = ex
        .orders_of(&account)
        .into_iter()
        .filter(|o| q.ticker.as_ref().is_none_or(|t| *t == o.market))
        .filter(|o| q.status.as_deref().is_none_or(|s| s == order_status(o)))
        .filter(|o| {
            events.as_ref().is_none_or(|evs| {
                k.market_spec(&o.market)
                    .is_some_and(|m| evs.contains(&m.event_ticker.as_str()))
            })
        })
        .map(order_json)
        .collect();
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let (items, next) = page(&out, q.cursor.as_deref().filter(|c| !c.is_empty()), limit);
    axum::Json(json!({"orders": items, "cursor": next.map(|n| n.to_string()).unwrap_or_default()}))
        .into_response()
}

async fn get_order(State(k): S, Path(id): Path<String>, req: Request) -> Response {
    let account = match auth(&k, &req) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let ex = lock(&k.core.ex);
    match ex.orders.get(&id).filter(|o| o.account == account) {
        Some(o) => axum::Json(json!({"order": order_json(o)})).into_response(),
        None => error(StatusCode::NOT_FOUND, "not_found", "order not found"),
    }
}

async fn legacy_create(State(k): S, req: Request) -> Response {
    if let Err(r) = auth(&k, &req) {
        return r;
    }
    // kalshi.md §6.3: the v1 create route now answers 410.
    error(
        StatusCode::GONE,
        "deprecated_v1_order_endpoint",
        "this endpoint is deprecated; use POST /portfolio/events/orders",
    )
}

#[derive(Debug, Deserialize)]
struct CreateOrder {
    ticker: String,
    side: String,
    count: String,
    price: String,
    time_in_force: String,
    self_trade_prevention_type: Option<String>,
    client_order_id: Option<String>,
    expiration_time: Option<i64>,
    #[serde(default)]
    post_only: bool,
    #[serde(default)]
    reduce_only: bool,
}

async fn create_order(State(k): S, req: Request) -> Response {
    let account = match auth(&k, &req) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let path = req.uri().path().to_string();
    let bytes = match axum::body::to_bytes(req.into_body(), 1 << 20).await {
        Ok(b) => b,
        Err(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_parameters",
                "could not read body",
            );
        }
    };
    let body: CreateOrder = match serde_json::from_slice(&bytes) {
        Ok(b) => b,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_parameters",
                &e.to_string(),
            );
        }
    };
    match place_order(&k, account, &path, body) {
        Ok(v) => (StatusCode::CREATED, axum::Json(v)).into_response(),
        Err(e) => e.response(),
    }
}

/// Validate and place one `CreateOrderV2Request`; the value is the 201 body.
fn place_order(k: &Kalshi, account: String, path: &str, body: CreateOrder) -> Result<Value, KErr> {
    let bad = |msg: &str| {
        Err(KErr::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameters",
            msg,
        ))
    };
    let axis = match body.side.as_str() {
        "bid" => Axis::Bid,
        "ask" => Axis::Ask,
        _ => return bad("side must be bid or ask"),
    };
    // Requests carry 0–2 decimals for counts and up to 4 for prices (kalshi.md §3).
    let Ok(qty) = Quantity::parse(&body.count) else {
        return bad("count must be a decimal string");
    };
    if qty.is_zero() || qty.micros() % 10_000 != 0 {
        return bad("count must be positive with at most 2 decimals");
    }
    let Ok(price) = Price::parse(&body.price) else {
        return bad("price must be a dollar string");
    };
    if price.micros() % 100 != 0 {
        return bad("price has too many decimals");
    }
    let tif = match body.time_in_force.as_str() {
        "fill_or_kill" => Tif::Fok,
        "immediate_or_cancel" => Tif::Ioc,
        "good_till_canceled" => match body.expiration_time {
            Some(t) => Tif::Gtd(t.saturating_mul(1000)),
            None => Tif::Gtc,
        },
        _ => {
            return bad(
                "time_in_force must be fill_or_kill, immediate_or_cancel or good_till_canceled",
            );
        }
    };
    if body.expiration_time.is_some() && tif == Tif::Ioc {
        return bad("expiration_time is not allowed with immediate_or_cancel");
    }
    let stp = match body.self_trade_prevention_type.as_deref() {
        Some("taker_at_cross") | None => Stp::CancelTaker,
        Some("maker") => Stp::CancelMaker,
        Some(_) => return bad("self_trade_prevention_type must be taker_at_cross or maker"),
    };
    if k.market_spec(&body.ticker).is_none() {
        return Err(KErr::new(
            StatusCode::NOT_FOUND,
            "market_not_found",
            "market not found",
        ));
    }
    let faults = lock(&k.core.ctl.faults).fire("POST", path, ORDER_KINDS);
    let mut fill_cap = None;
    for f in &faults {
        match f.kind {
            FaultKind::Reject => {
                return Err(KErr::new(
                    StatusCode::BAD_REQUEST,
                    "order_rejected",
                    f.message
                        .as_deref()
                        .unwrap_or("order rejected by the exchange"),
                ));
            }
            FaultKind::PartialFill => {
                let pct = u64::from(f.fill_percent.unwrap_or(50).min(100));
                // Keep the cap on the 0.01-contract grid.
                let cap = qty.micros() / 100 * pct / 10_000 * 10_000;
                fill_cap = Some(Quantity::from_micros(cap));
            }
            _ => {}
        }
    }
    let now = now_ms();
    let mut ex = lock(&k.core.ex);
    ex.expire(now);
    let leg = ex.kalshi_leg(&account, &body.ticker, axis, qty);
    if body.reduce_only && matches!(leg, Leg::BuyYes | Leg::BuyNo) {
        return Err(KErr::new(
            StatusCode::BAD_REQUEST,
            "invalid_order",
            "reduce_only order would increase the position",
        ));
    }
    let placed = ex.place(
        NewOrder {
            account,
            market: body.ticker.clone(),
            leg,
            price,
            qty,
            tif,
            stp,
            post_only: body.post_only,
            client_order_id: body.client_order_id.clone(),
            order_id: None,
            fill_cap,
            tag: String::new(),
        },
        now,
    );
    match placed {
        Ok(p) => {
            let filled = p.order.filled;
            let remaining = if p.order.state == OrderState::Resting {
                p.order.remaining
            } else {
                Quantity::ZERO
            };
            let mut v = json!({
                "order_id": p.order.id,
                "client_order_id": p.order.client_order_id,
                "fill_count": count_fp(filled),
                "remaining_count": count_fp(remaining),
                "ts_ms": now,
            });
            if !filled.is_zero()
                && let Some(obj) = v.as_object_mut()
            {
                let yes_notional = p.trades.iter().fold(orion_core::Notional::ZERO, |acc, t| {
                    acc.checked_add(t.price.notional(t.qty)).unwrap_or(acc)
                });
                let avg = yes_notional
                    .per_contract(filled, Rounding::HalfEven)
                    .unwrap_or(Price::ZERO);
                let fees = p
                    .trades
                    .iter()
                    .fold(Cash::ZERO, |acc, t| acc.saturating_add(t.taker.fee));
                let avg_fee = fees
                    .to_notional()
                    .per_contract(filled, Rounding::Up)
                    .map(|p| p.format(6))
                    .unwrap_or_else(|| "0.000000".into());
                obj.insert("average_fill_price".into(), json!(avg.to_kalshi_dollars()));
                obj.insert("average_fee_paid".into(), json!(avg_fee));
            }
            Ok(v)
        }
        Err(e) => Err(reject_err(&e)),
    }
}

/// A Kalshi error before it becomes a response (batch items embed it).
#[derive(Debug)]
struct KErr {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl KErr {
    fn new(status: StatusCode, code: &'static str, message: &str) -> KErr {
        KErr {
            status,
            code,
            message: message.to_string(),
        }
    }

    fn response(&self) -> Response {
        error(self.status, self.code, &self.message)
    }

    fn json(&self) -> Value {
        json!({"code": self.code, "message": self.message, "service": "exchange"})
    }
}

/// `POST /portfolio/events/orders/batched`: each order is placed on its own;
/// failures come back per item as an `error` object (kalshi.md §6.2).
async fn batch_create(State(k): S, req: Request) -> Response {
    let account = match auth(&k, &req) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let path = req.uri().path().to_string();
    let Ok(bytes) = axum::body::to_bytes(req.into_body(), 1 << 20).await else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_parameters",
            "could not read body",
        );
    };
    let Some(orders) = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v.get("orders").and_then(Value::as_array).cloned())
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_parameters",
            "orders is required",
        );
    };
    if orders.is_empty() || orders.len() > 20 {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_parameters",
            "between 1 and 20 orders per batch",
        );
    }
    let results: Vec<Value> = orders
        .into_iter()
        .map(|item| {
            let cid = item.get("client_order_id").cloned().unwrap_or(Value::Null);
            let outcome = serde_json::from_value::<CreateOrder>(item)
                .map_err(|e| {
                    KErr::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_parameters",
                        &e.to_string(),
                    )
                })
                .and_then(|body| place_order(&k, account.clone(), &path, body));
            match outcome {
                Ok(v) => v,
                Err(e) => json!({"client_order_id": cid, "error": e.json()}),
            }
        })
        .collect();
    (StatusCode::CREATED, axum::Json(json!({"orders": results}))).into_response()
}

/// `DELETE /portfolio/events/orders/batched` with `{"orders":[{"order_id"}]}`.
async fn batch_cancel(State(k): S, req: Request) -> Response {
    let account = match auth(&k, &req) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Ok(bytes) = axum::body::to_bytes(req.into_body(), 1 << 20).await else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_parameters",
            "could not read body",
        );
    };
    let Some(items) = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v.get("orders").and_then(Value::as_array).cloned())
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_parameters",
            "orders is required",
        );
    };
    let now = now_ms();
    let mut ex = lock(&k.core.ex);
    let results: Vec<Value> = items
        .iter()
        .map(|item| {
            let id = item.get("order_id").and_then(Value::as_str).unwrap_or_default();
            match ex.cancel(&account, id, now) {
                Ok(o) => json!({"order_id": o.id, "client_order_id": o.client_order_id,
                    "reduced_by": count_fp(o.remaining), "ts_ms": now}),
                Err(e) => json!({"order_id": id, "reduced_by": "0.00", "ts_ms": now, "error": reject_err(&e).json()}),
            }
        })
        .collect();
    axum::Json(json!({"orders": results})).into_response()
}

fn reject_response(e: &Reject) -> Response {
    reject_err(e).response()
}

fn reject_err(e: &Reject) -> KErr {
    match e {
        Reject::DuplicateClientOrderId | Reject::DuplicateOrderId => KErr::new(
            StatusCode::CONFLICT,
            "order_already_exists",
            "an order with this client_order_id already exists",
        ),
        Reject::UnknownMarket => KErr::new(
            StatusCode::NOT_FOUND,
            "market_not_found",
            "market not found",
        ),
        Reject::MarketClosed => KErr::new(
            StatusCode::BAD_REQUEST,
            "market_closed",
            "market is not open for trading",
        ),
        Reject::InsufficientBalance => KErr::new(
            StatusCode::BAD_REQUEST,
            "insufficient_balance",
            "insufficient balance",
        ),
        Reject::InsufficientPosition => KErr::new(
            StatusCode::BAD_REQUEST,
            "insufficient_position",
            "insufficient position",
        ),
        Reject::OffGrid(_) => KErr::new(
            StatusCode::BAD_REQUEST,
            "invalid_price",
            "price is not a valid price level for this market",
        ),
        Reject::PostOnlyCross => KErr::new(
            StatusCode::BAD_REQUEST,
            "post_only_cross",
            "post only order would cross",
        ),
        Reject::OrderNotFound => KErr::new(StatusCode::NOT_FOUND, "not_found", "order not found"),
        Reject::UnknownAccount => KErr::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "account not found",
        ),
        Reject::BelowMinSize | Reject::InvalidQuantity => KErr::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameters",
            "invalid count",
        ),
    }
}

async fn cancel_order(State(k): S, Path(id): Path<String>, req: Request) -> Response {
    let account = match auth(&k, &req) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let now = now_ms();
    let mut ex = lock(&k.core.ex);
    match ex.cancel(&account, &id, now) {
        Ok(o) => axum::Json(json!({
            "order_id": o.id,
            "client_order_id": o.client_order_id,
            "reduced_by": count_fp(o.remaining),
            "ts_ms": now,
        }))
        .into_response(),
        Err(e) => reject_response(&e),
    }
}

/// Parse an RFC 3339 scenario time (validated at load).
pub fn parse_time(t: &str) -> Option<Timestamp> {
    parse_rfc3339(t).ok()
}
