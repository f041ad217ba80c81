//! Polymarket CLOB V2 on top of the shared engine (protocols/polymarket.md).
//!
//! Engine market id = condition id. The YES token's book is the engine's
//! YES axis; the NO token's book is its mirror (`1 - p`, sides swapped),
//! which is what the real CLOB shows because it mints and merges
//! complementary orders.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use alloy_primitives::{Address, B256, Signature, U256, keccak256};
use alloy_sol_types::{Eip712Domain, SolStruct};
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use hmac::{Hmac, Mac};
use http::{HeaderMap, StatusCode};
use orion_core::{Cash, Price, Quantity, Rounding, TickSize};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::common::{VenueCore, now_ms};
use crate::engine::{
    Axis, FeeModel, Leg, MarketStatus, NewOrder, Order, OrderState, Reject, Resolution, Stp, Tif,
    Trade,
};
use crate::faults::{FaultKind, ORDER_KINDS};
use crate::scenario::{PolyMarket, Scenario};
use crate::server::lock;

/// The EIP-712 struct must be named `Order`, so it lives in its own module.
mod eip712 {
    alloy_sol_types::sol! {
    /// The V2 order as signed (polymarket.md §3). `expiration` is not part of it.
    struct Order {
        uint256 salt;
        address maker;
        address signer;
        uint256 tokenId;
        uint256 makerAmount;
        uint256 takerAmount;
        uint8 side;
        uint8 signatureType;
        uint256 timestamp;
        bytes32 metadata;
        bytes32 builder;
    }
    }
}

/// Exchange contracts (polymarket.md §3; same on Polygon and Amoy for V2).
pub const EXCHANGE_V2: Address =
    alloy_primitives::address!("E111180000d2663C0091e4f400237545B87B996B");
pub const NEG_RISK_EXCHANGE_V2: Address =
    alloy_primitives::address!("e2222d279d744050d28e00520010520000310F59");

const CLOB_AUTH_MESSAGE: &str = "This message attests that I control the given wallet";
const INITIAL_CURSOR: &str = "MA==";
const END_CURSOR: &str = "LTE=";

/// One token of a market.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub condition_id: String,
    pub is_yes: bool,
    pub outcome: String,
}

/// API credentials as handed out.
#[derive(Debug, Clone)]
pub struct ApiCreds {
    pub api_key: String,
    pub secret: String,
    pub passphrase: String,
    /// Lower-case 0x address of the EOA that owns them.
    pub address: String,
}

/// Per-order facts the engine does not keep.
#[derive(Debug, Clone)]
pub struct OrderMeta {
    pub token_id: String,
    pub side: &'static str,
    pub owner: String,
    pub maker_address: String,
    pub order_type: String,
    pub expiration: String,
}

#[derive(Debug)]
pub struct Poly {
    pub core: Arc<VenueCore>,
    pub markets: Vec<PolyMarket>,
    pub tokens: HashMap<String, TokenInfo>,
    pub chain_id: u64,
    pub version: u32,
    pub max_skew_s: i64,
    pub page_size: usize,
    /// Lower-case address → engine account.
    pub accounts: Mutex<HashMap<String, String>>,
    /// Lower-case EOA → funder (proxy / Safe) address allowed as `maker`.
    pub funders: HashMap<String, String>,
    /// (address, nonce) → creds, once created.
    pub creds_by_nonce: Mutex<HashMap<(String, u64), ApiCreds>>,
    pub creds_by_key: Mutex<HashMap<String, ApiCreds>>,
    pub order_meta: Mutex<HashMap<String, OrderMeta>>,
    secret_seed: [u8; 32],
}

pub fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"error": message}))).into_response()
}

fn tick_of(m: &PolyMarket) -> TickSize {
    // Validated at scenario load.
    TickSize::parse(&m.tick_size).unwrap_or(TickSize::Hundredth)
}

/// Decimal text without trailing zeros, the way the CLOB prints numbers.
fn num(q: Quantity) -> String {
    q.format(0)
}

fn price_text(p: Price) -> String {
    p.format(0)
}

impl Poly {
    pub fn build(scenario: &Scenario, core: Arc<VenueCore>) -> Result<Poly, String> {
        let mut tokens = HashMap::new();
        let mut accounts = HashMap::new();
        let mut funders = HashMap::new();
        {
            let mut ex = lock(&core.ex);
            for a in &scenario.accounts {
                if a.polymarket_address.is_some()
                    || a.polymarket_balance.is_some()
                    || a.market_maker
                {
                    let cash = a
                        .polymarket_balance
                        .as_deref()
                        .map(Cash::parse)
                        .transpose()
                        .map_err(|e| e.to_string())?
                        .unwrap_or(Cash::ZERO);
                    ex.ensure_account(&a.name).cash = cash;
                }
                if let Some(addr) = &a.polymarket_address {
                    accounts.insert(addr.to_lowercase(), a.name.clone());
                    if let Some(f) = &a.polymarket_funder {
                        funders.insert(addr.to_lowercase(), f.to_lowercase());
                    }
                }
            }
            for m in &scenario.polymarket.markets {
                let tick = tick_of(m);
                let rate_ppm = Price::parse(&m.fee_rate)
                    .map(|p| i64::from(p.micros()))
                    .unwrap_or(0);
                // polymarket.md §11: takers only; rounding is uncertain, the
                // simulator rounds each fill's fee up to $0.0001.
                let fees = FeeModel {
                    taker_rate_ppm: rate_ppm,
                    maker_rate_ppm: 0,
                    exponent: m.fee_exponent,
                    round_up_to_micros: 100,
                };
                let min = Quantity::parse(&m.min_order_size).unwrap_or(Quantity::ZERO);
                ex.add_market(&m.condition_id, tick.grid(), fees, min);
                tokens.insert(
                    m.yes_token_id.clone(),
                    TokenInfo {
                        condition_id: m.condition_id.clone(),
                        is_yes: true,
                        outcome: m.yes_outcome.clone(),
                    },
                );
                tokens.insert(
                    m.no_token_id.clone(),
                    TokenInfo {
                        condition_id: m.condition_id.clone(),
                        is_yes: false,
                        outcome: m.no_outcome.clone(),
                    },
                );
            }
        }
        for m in &scenario.polymarket.markets {
            core.seed_book(&m.condition_id, &m.book)?;
        }
        let mut secret_seed = [0u8; 32];
        secret_seed[..8].copy_from_slice(&scenario.sim.seed.to_le_bytes());
        Ok(Poly {
            core,
            markets: scenario.polymarket.markets.clone(),
            tokens,
            chain_id: scenario.sim.polymarket_chain_id,
            version: scenario.sim.polymarket_version,
            max_skew_s: scenario.sim.polymarket_max_skew_s,
            page_size: scenario.sim.polymarket_page_size.max(1),
            accounts: Mutex::new(accounts),
            funders,
            creds_by_nonce: Mutex::new(HashMap::new()),
            creds_by_key: Mutex::new(HashMap::new()),
            order_meta: Mutex::new(HashMap::new()),
            secret_seed,
        })
    }

    pub fn market(&self, condition_id: &str) -> Option<&PolyMarket> {
        self.markets.iter().find(|m| m.condition_id == condition_id)
    }

    fn account_for(&self, address: &str) -> String {
        let addr = address.to_lowercase();
        let mut accounts = lock(&self.accounts);
        if let Some(a) = accounts.get(&addr) {
            return a.clone();
        }
        // Any wallet may trade on Polymarket; unknown ones start with nothing.
        accounts.insert(addr.clone(), addr.clone());
        lock(&self.core.ex).ensure_account(&addr);
        addr
    }

    /// Deterministic credentials for (address, nonce): a keyed hash of the
    /// scenario seed, so the same nonce always yields the same credentials.
    fn make_creds(&self, address: &str, nonce: u64) -> ApiCreds {
        let derive = |label: &str| -> [u8; 32] {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.secret_seed)
                .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
            mac.update(format!("{label}|{address}|{nonce}").as_bytes());
            mac.finalize().into_bytes().into()
        };
        let key_bytes = derive("key");
        let mut uuid_bytes = [0u8; 16];
        uuid_bytes.copy_from_slice(&key_bytes[..16]);
        let api_key = uuid::Builder::from_random_bytes(uuid_bytes)
            .into_uuid()
            .to_string();
        ApiCreds {
            api_key,
            secret: URL_SAFE.encode(derive("secret")),
            passphrase: hex::encode(derive("passphrase")),
            address: address.to_string(),
        }
    }

    /// L1: recover the ClobAuth signer and compare with `POLY_ADDRESS` (polymarket.md §7.1).
    fn l1(&self, headers: &HeaderMap) -> Result<(String, u64), Response> {
        let h = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let (Some(address), Some(sig), Some(ts)) =
            (h("POLY_ADDRESS"), h("POLY_SIGNATURE"), h("POLY_TIMESTAMP"))
        else {
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "Invalid L1 Request headers",
            ));
        };
        let nonce = match h("POLY_NONCE") {
            Some(n) => n
                .parse::<u64>()
                .map_err(|_| error(StatusCode::BAD_REQUEST, "Invalid nonce"))?,
            None => 0,
        };
        let Ok(addr) = address.parse::<Address>() else {
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "Invalid L1 Request headers",
            ));
        };
        let Ok(ts_s) = ts.parse::<i64>() else {
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "Invalid L1 Request headers",
            ));
        };
        if (self.core.ctl.now_ms() / 1000 - ts_s).abs() > self.max_skew_s {
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "Invalid L1 Request headers: timestamp expired",
            ));
        }
        let digest = clob_auth_digest(self.chain_id, addr, &ts, nonce);
        match recover(&sig, &digest) {
            Some(signer) if signer == addr => Ok((format!("{addr:#x}").to_lowercase(), nonce)),
            _ => Err(error(
                StatusCode::UNAUTHORIZED,
                "Invalid L1 Request headers",
            )),
        }
    }

    /// L2: HMAC over `timestamp + METHOD + path + body` with the key's secret (polymarket.md §7.2).
    pub fn l2(
        &self,
        headers: &HeaderMap,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<ApiCreds, Response> {
        let h = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let unauthorized = || error(StatusCode::UNAUTHORIZED, "Unauthorized/Invalid api key");
        let (Some(address), Some(sig), Some(ts), Some(key), Some(pass)) = (
            h("POLY_ADDRESS"),
            h("POLY_SIGNATURE"),
            h("POLY_TIMESTAMP"),
            h("POLY_API_KEY"),
            h("POLY_PASSPHRASE"),
        ) else {
            return Err(unauthorized());
        };
        let Some(creds) = lock(&self.creds_by_key).get(&key).cloned() else {
            return Err(unauthorized());
        };
        if creds.passphrase != pass || !creds.address.eq_ignore_ascii_case(&address) {
            return Err(unauthorized());
        }
        let Ok(ts_s) = ts.parse::<i64>() else {
            return Err(unauthorized());
        };
        if (self.core.ctl.now_ms() / 1000 - ts_s).abs() > self.max_skew_s {
            return Err(unauthorized());
        }
        let Ok(secret) = URL_SAFE.decode(creds.secret.as_bytes()) else {
            return Err(unauthorized());
        };
        let Ok(given) = URL_SAFE.decode(sig.as_bytes()) else {
            return Err(unauthorized());
        };
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&secret) else {
            return Err(unauthorized());
        };
        mac.update(ts.as_bytes());
        mac.update(method.as_bytes());
        mac.update(path.as_bytes());
        mac.update(body);
        mac.verify_slice(&given).map_err(|_| unauthorized())?;
        Ok(creds)
    }

    /// Levels of one token, best first: (price in token terms, size).
    pub fn token_levels(
        &self,
        ex: &crate::engine::Exchange,
        token: &TokenInfo,
        bids: bool,
    ) -> Vec<(Price, Quantity)> {
        let axis = match (token.is_yes, bids) {
            (true, true) | (false, false) => Axis::Bid,
            (true, false) | (false, true) => Axis::Ask,
        };
        let levels = ex.levels(&token.condition_id, axis);
        if token.is_yes {
            levels
        } else {
            levels
                .into_iter()
                .map(|(p, q)| (p.complement(), q))
                .collect()
        }
    }

    pub fn book_json(&self, ex: &crate::engine::Exchange, token_id: &str) -> Option<Value> {
        let token = self.tokens.get(token_id)?;
        let m = self.market(&token.condition_id)?;
        // Best level last on both sides (polymarket.md §15).
        let lv = |bids: bool| {
            let mut v = self.token_levels(ex, token, bids);
            v.reverse();
            v.into_iter()
                .map(|(p, q)| json!({"price": price_text(p), "size": num(q)}))
                .collect::<Vec<_>>()
        };
        let bids = lv(true);
        let asks = lv(false);
        let last = ex
            .books
            .get(&token.condition_id)
            .and_then(|b| b.last_trade)
            .map(|p| if token.is_yes { p } else { p.complement() });
        let hash = hex::encode(keccak256(format!("{bids:?}{asks:?}").as_bytes()));
        Some(json!({
            "market": token.condition_id,
            "asset_id": token_id,
            "timestamp": now_ms().to_string(),
            "hash": hash,
            "bids": bids,
            "asks": asks,
            "min_order_size": m.min_order_size,
            "tick_size": m.tick_size,
            "neg_risk": m.neg_risk,
            "last_trade_price": last.map(price_text).unwrap_or_else(|| "0.5".into()),
        }))
    }

    fn market_json(&self, m: &PolyMarket) -> Value {
        let ex = lock(&self.core.ex);
        let status = ex
            .books
            .get(&m.condition_id)
            .map(|b| b.status)
            .unwrap_or(MarketStatus::Open);
        let open = status == MarketStatus::Open;
        let winner = |yes: bool| match status {
            MarketStatus::Settled(Resolution::Yes) => yes,
            MarketStatus::Settled(Resolution::No) => !yes,
            _ => false,
        };
        let mid = |token: &str| -> Value {
            let t = self.tokens.get(token);
            let p = t.and_then(|t| {
                midpoint(
                    &self.token_levels(&ex, t, true),
                    &self.token_levels(&ex, t, false),
                )
            });
            // The CLOB prints token prices as JSON numbers.
            serde_json::from_str(&p.map(price_text).unwrap_or_else(|| "0.5".into()))
                .unwrap_or(json!(0.5))
        };
        json!({
            "enable_order_book": true,
            "active": open,
            "closed": !open,
            "archived": false,
            "accepting_orders": open,
            "accepting_order_timestamp": null,
            "minimum_order_size": json_number(&m.min_order_size),
            "minimum_tick_size": json_number(&m.tick_size),
            "condition_id": m.condition_id,
            "question_id": m.question_id.clone().unwrap_or_else(|| m.condition_id.clone()),
            "question": m.question,
            "description": m.description,
            "market_slug": m.slug,
            "end_date_iso": m.end_date,
            "game_start_time": null,
            "seconds_delay": 0,
            "fpmm": "",
            "maker_base_fee": 0,
            "taker_base_fee": 0,
            "notifications_enabled": false,
            "neg_risk": m.neg_risk,
            "neg_risk_market_id": if m.neg_risk { m.question_id.clone().unwrap_or_default() } else { String::new() },
            "neg_risk_request_id": "",
            "icon": "",
            "image": "",
            "rewards": {"rates": null, "min_size": 0, "max_spread": 0},
            "is_50_50_outcome": false,
            "tokens": [
                {"token_id": m.yes_token_id, "outcome": m.yes_outcome, "price": mid(&m.yes_token_id), "winner": winner(true)},
                {"token_id": m.no_token_id, "outcome": m.no_outcome, "price": mid(&m.no_token_id), "winner": winner(false)},
            ],
            "tags": [],
        })
    }
}

fn json_number(text: &str) -> Value {
    // Wire form only: the CLOB sends these as JSON numbers.
    serde_json::from_str(text).unwrap_or(Value::Null)
}

fn midpoint(bids: &[(Price, Quantity)], asks: &[(Price, Quantity)]) -> Option<Price> {
    let (b, a) = (bids.first()?.0, asks.first()?.0);
    Price::from_micros((b.micros() + a.micros()) / 2).ok()
}

/// keccak256(0x1901 ‖ domainSeparator(ClobAuthDomain) ‖ hashStruct(ClobAuth)).
fn clob_auth_digest(chain_id: u64, address: Address, timestamp: &str, nonce: u64) -> B256 {
    let domain = Eip712Domain::new(
        Some("ClobAuthDomain".into()),
        Some("1".into()),
        Some(U256::from(chain_id)),
        None,
        None,
    );
    let type_hash =
        keccak256(b"ClobAuth(address address,string timestamp,uint256 nonce,string message)");
    let mut enc = Vec::with_capacity(32 * 5);
    enc.extend_from_slice(type_hash.as_slice());
    enc.extend_from_slice(&[0u8; 12]);
    enc.extend_from_slice(address.as_slice());
    enc.extend_from_slice(keccak256(timestamp.as_bytes()).as_slice());
    enc.extend_from_slice(&U256::from(nonce).to_be_bytes::<32>());
    enc.extend_from_slice(keccak256(CLOB_AUTH_MESSAGE.as_bytes()).as_slice());
    let struct_hash = keccak256(&enc);
    let mut msg = Vec::with_capacity(66);
    msg.extend_from_slice(&[0x19, 0x01]);
    msg.extend_from_slice(domain.hash_struct().as_slice());
    msg.extend_from_slice(struct_hash.as_slice());
    keccak256(&msg)
}

fn recover(sig_hex: &str, digest: &B256) -> Option<Address> {
    let bytes = hex::decode(sig_hex.strip_prefix("0x").unwrap_or(sig_hex)).ok()?;
    if bytes.len() != 65 {
        return None;
    }
    let sig = Signature::from_raw(&bytes).ok()?;
    sig.recover_address_from_prehash(digest).ok()
}

type S = State<Arc<Poly>>;

pub fn router(p: Arc<Poly>) -> Router {
    Router::new()
        .route("/", get(|| async { axum::Json(json!("OK")) }))
        .route("/ok", get(|| async { axum::Json(json!("OK")) }))
        .route("/time", get(server_time))
        .route("/version", get(version))
        .route("/book", get(book))
        .route("/books", post(books))
        .route("/price", get(price))
        .route("/midpoint", get(midpoint_route))
        .route("/tick-size", get(tick_size))
        .route("/neg-risk", get(neg_risk))
        .route("/fee-rate", get(fee_rate))
        .route("/markets", get(markets))
        .route("/sampling-markets", get(markets))
        .route("/markets/{condition_id}", get(market))
        .route("/clob-markets/{condition_id}", get(clob_market))
        .route("/markets-by-token/{token_id}", get(market_by_token))
        .route("/auth/api-key", post(create_api_key))
        .route("/auth/derive-api-key", get(derive_api_key))
        .route("/order", post(post_order).delete(cancel_order))
        .route("/orders", post(post_orders).delete(cancel_orders))
        .route("/cancel-all", delete(cancel_all))
        .route("/cancel-market-orders", delete(cancel_market_orders))
        .route("/data/orders", get(data_orders))
        .route("/data/order/{id}", get(data_order))
        .route("/data/trades", get(data_trades))
        .route("/balance-allowance", get(balance_allowance))
        .route("/balance-allowance/update", get(balance_allowance))
        .with_state(p)
}

/// Server time in seconds, on the venue's (possibly skewed) clock.
async fn server_time(State(p): S) -> Response {
    axum::Json(json!(p.core.ctl.now_ms() / 1000)).into_response()
}

async fn version(State(p): S) -> Response {
    axum::Json(json!({"version": p.version})).into_response()
}

#[derive(Debug, Deserialize)]
struct TokenQuery {
    token_id: Option<String>,
    side: Option<String>,
}

fn no_book() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "No orderbook exists for the requested token id",
    )
}

async fn book(State(p): S, Query(q): Query<TokenQuery>) -> Response {
    let Some(t) = q.token_id else {
        return error(StatusCode::BAD_REQUEST, "Invalid payload");
    };
    let ex = lock(&p.core.ex);
    match p.book_json(&ex, &t) {
        Some(b) => axum::Json(b).into_response(),
        None => no_book(),
    }
}

#[derive(Debug, Deserialize)]
struct BookParam {
    token_id: String,
}

async fn books(State(p): S, body: axum::body::Bytes) -> Response {
    let Ok(params) = serde_json::from_slice::<Vec<BookParam>>(&body) else {
        return error(StatusCode::BAD_REQUEST, "Invalid payload");
    };
    let ex = lock(&p.core.ex);
    let out: Vec<Value> = params
        .iter()
        .filter_map(|b| p.book_json(&ex, &b.token_id))
        .collect();
    axum::Json(out).into_response()
}

async fn price(State(p): S, Query(q): Query<TokenQuery>) -> Response {
    let Some(token) = q.token_id.as_deref().and_then(|t| p.tokens.get(t)) else {
        return no_book();
    };
    // BUY is the price a buyer pays (best ask); SELL what a seller gets
    // (best bid). Which way the live endpoint reads is not documented in the
    // sources (uncertain).
    let bids = match q.side.as_deref() {
        Some("BUY") | Some("buy") => false,
        Some("SELL") | Some("sell") => true,
        _ => return error(StatusCode::BAD_REQUEST, "Invalid side"),
    };
    let ex = lock(&p.core.ex);
    match p.token_levels(&ex, token, bids).first() {
        Some((px, _)) => axum::Json(json!({"price": price_text(*px)})).into_response(),
        None => no_book(),
    }
}

async fn midpoint_route(State(p): S, Query(q): Query<TokenQuery>) -> Response {
    let Some(token) = q.token_id.as_deref().and_then(|t| p.tokens.get(t)) else {
        return no_book();
    };
    let ex = lock(&p.core.ex);
    match midpoint(
        &p.token_levels(&ex, token, true),
        &p.token_levels(&ex, token, false),
    ) {
        Some(m) => axum::Json(json!({"mid": price_text(m)})).into_response(),
        None => no_book(),
    }
}

async fn tick_size(State(p): S, Query(q): Query<TokenQuery>) -> Response {
    let Some(m) = q
        .token_id
        .as_deref()
        .and_then(|t| p.tokens.get(t))
        .and_then(|t| p.market(&t.condition_id))
    else {
        return no_book();
    };
    axum::Json(json!({"minimum_tick_size": json_number(&m.tick_size)})).into_response()
}

async fn neg_risk(State(p): S, Query(q): Query<TokenQuery>) -> Response {
    let Some(m) = q
        .token_id
        .as_deref()
        .and_then(|t| p.tokens.get(t))
        .and_then(|t| p.market(&t.condition_id))
    else {
        return no_book();
    };
    axum::Json(json!({"neg_risk": m.neg_risk})).into_response()
}

async fn fee_rate(State(p): S, Query(q): Query<TokenQuery>) -> Response {
    if q.token_id
        .as_deref()
        .and_then(|t| p.tokens.get(t))
        .is_none()
    {
        return no_book();
    }
    // V1 field; V2 fees come from `fd` (polymarket.md §8).
    axum::Json(json!({"base_fee": 0})).into_response()
}

#[derive(Debug, Deserialize)]
struct CursorQuery {
    next_cursor: Option<String>,
}

fn decode_cursor(c: Option<&str>) -> Option<usize> {
    let c = c.unwrap_or(INITIAL_CURSOR);
    if c.is_empty() {
        return Some(0);
    }
    let text = String::from_utf8(STANDARD.decode(c).ok()?).ok()?;
    text.parse::<usize>().ok()
}

/// `{"limit","count","next_cursor","data"}` with base64 offset cursors (`MA==` … `LTE=`).
fn paged(items: Vec<Value>, cursor: Option<&str>, limit: usize) -> Response {
    if cursor == Some(END_CURSOR) {
        return axum::Json(
            json!({"limit": limit, "count": 0, "next_cursor": END_CURSOR, "data": []}),
        )
        .into_response();
    }
    let Some(start) = decode_cursor(cursor) else {
        return error(StatusCode::BAD_REQUEST, "invalid next_cursor");
    };
    let end = start.saturating_add(limit).min(items.len());
    let data: Vec<Value> = items
        .get(start..end)
        .map(<[Value]>::to_vec)
        .unwrap_or_default();
    let next = if end < items.len() {
        STANDARD.encode(end.to_string())
    } else {
        END_CURSOR.to_string()
    };
    axum::Json(json!({"limit": limit, "count": data.len(), "next_cursor": next, "data": data}))
        .into_response()
}

async fn markets(State(p): S, Query(q): Query<CursorQuery>) -> Response {
    let all: Vec<Value> = p.markets.iter().map(|m| p.market_json(m)).collect();
    paged(all, q.next_cursor.as_deref(), p.page_size)
}

async fn market(State(p): S, Path(cid): Path<String>) -> Response {
    match p.market(&cid) {
        Some(m) => axum::Json(p.market_json(m)).into_response(),
        None => error(StatusCode::NOT_FOUND, "market not found"),
    }
}

async fn clob_market(State(p): S, Path(cid): Path<String>) -> Response {
    let Some(m) = p.market(&cid) else {
        return error(StatusCode::NOT_FOUND, "market not found");
    };
    axum::Json(json!({
        "c": m.condition_id,
        "t": [{"t": m.yes_token_id, "o": m.yes_outcome}, {"t": m.no_token_id, "o": m.no_outcome}],
        "mts": json_number(&m.tick_size),
        "mos": json_number(&m.min_order_size),
        "nr": m.neg_risk,
        "fd": {"r": json_number(&m.fee_rate), "e": m.fee_exponent, "to": true},
        "mbf": 0,
        "tbf": 0,
    }))
    .into_response()
}

/// Which market a token belongs to (py-clob-client-v2 resolves tick size,
/// neg-risk and fees through it before signing).
async fn market_by_token(State(p): S, Path(token_id): Path<String>) -> Response {
    let Some(m) = p
        .tokens
        .get(&token_id)
        .and_then(|t| p.market(&t.condition_id))
    else {
        return no_book();
    };
    axum::Json(
        json!({"condition_id": m.condition_id, "primary_token_id": m.yes_token_id,
        "secondary_token_id": m.no_token_id}),
    )
    .into_response()
}

fn creds_json(c: &ApiCreds) -> Response {
    axum::Json(json!({"apiKey": c.api_key, "secret": c.secret, "passphrase": c.passphrase}))
        .into_response()
}

async fn create_api_key(State(p): S, headers: HeaderMap) -> Response {
    let (address, nonce) = match p.l1(&headers) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut by_nonce = lock(&p.creds_by_nonce);
    if by_nonce.contains_key(&(address.clone(), nonce)) {
        // The live CLOB refuses to create twice; clients then derive.
        return error(StatusCode::BAD_REQUEST, "Could not create api key");
    }
    let creds = p.make_creds(&address, nonce);
    by_nonce.insert((address.clone(), nonce), creds.clone());
    lock(&p.creds_by_key).insert(creds.api_key.clone(), creds.clone());
    p.account_for(&address);
    creds_json(&creds)
}

async fn derive_api_key(State(p): S, headers: HeaderMap) -> Response {
    let (address, nonce) = match p.l1(&headers) {
        Ok(x) => x,
        Err(r) => return r,
    };
    match lock(&p.creds_by_nonce).get(&(address, nonce)) {
        Some(c) => creds_json(c),
        None => error(StatusCode::BAD_REQUEST, "Could not derive api key!"),
    }
}

/// Read the body and check L2 auth.
async fn l2_request(p: &Poly, req: Request) -> Result<(ApiCreds, bytes::Bytes, String), Response> {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let headers = req.headers().clone();
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .map_err(|_| error(StatusCode::BAD_REQUEST, "Invalid payload"))?;
    let creds = p.l2(&headers, &method, &path, &body)?;
    Ok((creds, body, path))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireOrder {
    salt: Value,
    maker: String,
    signer: String,
    token_id: String,
    maker_amount: String,
    taker_amount: String,
    side: String,
    #[serde(default)]
    expiration: Option<String>,
    signature_type: u8,
    timestamp: Option<String>,
    metadata: Option<String>,
    builder: Option<String>,
    signature: String,
    // V1 fields: present only on legacy orders.
    nonce: Option<Value>,
    fee_rate_bps: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostOrderBody {
    order: WireOrder,
    owner: String,
    order_type: String,
    #[serde(default)]
    post_only: bool,
    /// Accepted and ignored: its semantics are undocumented (polymarket.md §5).
    #[serde(default, rename = "deferExec")]
    _defer_exec: bool,
}

fn u256(text: &str) -> Option<U256> {
    U256::from_str_radix(text, 10).ok()
}

fn b32(text: Option<&str>) -> Option<B256> {
    match text {
        None => Some(B256::ZERO),
        Some(t) => t.parse::<B256>().ok(),
    }
}

/// Decimals in a 6-decimal integer amount.
fn decimals_of(amount: u64) -> u32 {
    let mut d = 6;
    let mut a = amount;
    while d > 0 && a.is_multiple_of(10) {
        a /= 10;
        d -= 1;
    }
    d
}

/// Outcome of one order: the `POST /order` response object.
fn order_error(msg: &str) -> Value {
    json!({"success": false, "errorMsg": msg, "orderID": "", "status": "", "takingAmount": "", "makingAmount": "",
        "transactionsHashes": [], "tradeIDs": []})
}

/// Validate, verify and place one order. `Err` carries an HTTP error response body text.
fn place_one(
    p: &Poly,
    creds: &ApiCreds,
    body: &PostOrderBody,
    path: &str,
) -> Result<Value, (StatusCode, String)> {
    let bad = |m: &str| (StatusCode::BAD_REQUEST, m.to_string());
    let o = &body.order;
    if o.nonce.is_some() || o.fee_rate_bps.is_some() || o.timestamp.is_none() {
        // A V1-shaped order against a V2 exchange.
        return Err(bad(
            "order_version_mismatch: order version does not match the exchange version",
        ));
    }
    if p.version != 2 {
        return Err(bad(
            "order_version_mismatch: the exchange expects a different order version",
        ));
    }
    if body.owner != creds.api_key {
        return Err((
            StatusCode::UNAUTHORIZED,
            "the order owner has to be the owner of the API KEY".into(),
        ));
    }
    let signer: Address = o.signer.parse().map_err(|_| bad("invalid signer"))?;
    let maker: Address = o.maker.parse().map_err(|_| bad("invalid maker"))?;
    if !creds.address.eq_ignore_ascii_case(&format!("{signer:#x}")) {
        return Err(bad(
            "the order signer address has to be the address of the API KEY",
        ));
    }
    let token = p
        .tokens
        .get(&o.token_id)
        .ok_or_else(|| bad("invalid token id"))?;
    let m = p
        .market(&token.condition_id)
        .ok_or_else(|| bad("invalid token id"))?;
    let salt = match &o.salt {
        Value::Number(n) => n.as_u64().map(U256::from),
        Value::String(s) => u256(s),
        _ => None,
    }
    .ok_or_else(|| bad("invalid salt"))?;
    let side: u8 = match o.side.as_str() {
        "BUY" => 0,
        "SELL" => 1,
        _ => return Err(bad("invalid side")),
    };
    let maker_amount = o
        .maker_amount
        .parse::<u64>()
        .map_err(|_| bad("invalid maker amount"))?;
    let taker_amount = o
        .taker_amount
        .parse::<u64>()
        .map_err(|_| bad("invalid taker amount"))?;
    let timestamp = o
        .timestamp
        .as_deref()
        .and_then(u256)
        .ok_or_else(|| bad("invalid timestamp"))?;
    let signed = eip712::Order {
        salt,
        maker,
        signer,
        tokenId: u256(&o.token_id).ok_or_else(|| bad("invalid token id"))?,
        makerAmount: U256::from(maker_amount),
        takerAmount: U256::from(taker_amount),
        side,
        signatureType: o.signature_type,
        timestamp,
        metadata: b32(o.metadata.as_deref()).ok_or_else(|| bad("invalid metadata"))?,
        builder: b32(o.builder.as_deref()).ok_or_else(|| bad("invalid builder"))?,
    };
    // Neg-risk markets settle on their own exchange; a signature for the
    // other contract recovers a different address and fails below.
    let exchange = if m.neg_risk {
        NEG_RISK_EXCHANGE_V2
    } else {
        EXCHANGE_V2
    };
    let domain = Eip712Domain::new(
        Some("Polymarket CTF Exchange".into()),
        Some("2".into()),
        Some(U256::from(p.chain_id)),
        Some(exchange),
        None,
    );
    let hash = signed.eip712_signing_hash(&domain);
    let order_id = format!("{hash:#x}");
    match o.signature_type {
        0 => {
            if maker != signer {
                return Err(bad(
                    "invalid signature: for EOA orders maker must equal signer",
                ));
            }
        }
        1 | 2 => {
            let funder = p.funders.get(&format!("{signer:#x}").to_lowercase());
            if funder.is_none_or(|f| !f.eq_ignore_ascii_case(&format!("{maker:#x}"))) {
                return Err(bad(
                    "invalid signature: maker is not the signer's proxy wallet",
                ));
            }
        }
        _ => {
            return Err(bad(
                "invalid signature: signature type not supported by the simulator",
            ));
        }
    }
    if recover(&o.signature, &hash) != Some(signer) {
        return Err(bad("invalid signature"));
    }

    // Amounts (polymarket.md §4).
    let tick = tick_of(m);
    let (tif, market_style) = match body.order_type.as_str() {
        "GTC" => (Tif::Gtc, false),
        "GTD" => {
            let exp = o
                .expiration
                .as_deref()
                .unwrap_or("0")
                .parse::<i64>()
                .map_err(|_| bad("invalid expiration"))?;
            // One-minute security threshold (polymarket.md §5).
            if exp < now_ms() / 1000 + 60 {
                return Err(bad(
                    "invalid expiration value, expiration must be at least 1 minute in the future",
                ));
            }
            (Tif::Gtd(exp.saturating_mul(1000)), false)
        }
        "FOK" => (Tif::Fok, true),
        "FAK" => (Tif::Ioc, true),
        _ => return Err(bad("invalid order type")),
    };
    if body.order_type != "GTD" && o.expiration.as_deref().is_some_and(|e| e != "0") {
        return Err(bad("invalid expiration value, only GTD orders may expire"));
    }
    if body.post_only && market_style {
        return Err(bad(
            "invalid post-only order: only GTC and GTD orders may be post-only",
        ));
    }
    let (shares, usd) = if side == 0 {
        (taker_amount, maker_amount)
    } else {
        (maker_amount, taker_amount)
    };
    if shares == 0 || usd == 0 {
        return Err(bad(
            "invalid amounts, maker and taker amounts must be positive",
        ));
    }
    let (usd_dp, share_dp) = if market_style {
        (2, 4)
    } else {
        (tick.amount_decimals(), 2)
    };
    if side == 0 && (decimals_of(usd) > usd_dp || decimals_of(shares) > share_dp) {
        return Err(bad(&format!(
            "invalid amounts, the {}buy orders maker amount supports a max accuracy of {usd_dp} decimals, taker amount a max of {share_dp} decimals",
            if market_style { "market " } else { "" }
        )));
    }
    if side == 1
        && (decimals_of(shares) > 2
            || decimals_of(usd)
                > if market_style {
                    4
                } else {
                    tick.amount_decimals()
                })
    {
        return Err(bad(&format!(
            "invalid amounts, the sell orders maker amount supports a max accuracy of 2 decimals, taker amount a max of {} decimals",
            if market_style {
                4
            } else {
                tick.amount_decimals()
            }
        )));
    }
    let shares_q = Quantity::from_micros(shares);
    let ratio = Cash::from_micros(i64::try_from(usd).unwrap_or(i64::MAX));
    // price = usd / shares in micro-dollars.
    let exact = (u128::from(usd) * 1_000_000) % u128::from(shares) == 0;
    let token_price = if market_style {
        // Market-style amounts are truncated, so the implied price is only
        // close to the intended one: a buyer's limit rounds down to the
        // tick, a seller's up (never worse than what was signed).
        let rounding = if side == 0 {
            Rounding::Down
        } else {
            Rounding::Up
        };
        let raw = ratio
            .to_notional()
            .per_contract(shares_q, rounding)
            .ok_or_else(|| bad("invalid amounts"))?;
        raw.round_to_step(tick.micros(), rounding)
            .ok_or_else(|| bad("invalid price"))?
    } else {
        if !exact {
            return Err(bad("invalid amounts, price is not a valid tick"));
        }
        ratio
            .to_notional()
            .per_contract(shares_q, Rounding::Exact)
            .ok_or_else(|| bad("invalid amounts"))?
    };
    if !tick.is_valid_price(token_price) {
        return Err(bad(&format!(
            "invalid price ({}), min: {} - max: {}",
            price_text(token_price),
            tick.as_str(),
            price_text(Price::ONE.saturating_sub(Price::from_micros_clamped(tick.micros())))
        )));
    }
    let (leg, yes_price) = match (token.is_yes, side) {
        (true, 0) => (Leg::BuyYes, token_price),
        (true, _) => (Leg::SellYes, token_price),
        (false, 0) => (Leg::BuyNo, token_price.complement()),
        (false, _) => (Leg::SellNo, token_price.complement()),
    };

    let mut fill_cap = None;
    for f in lock(&p.core.ctl.faults).fire("POST", path, ORDER_KINDS) {
        match f.kind {
            FaultKind::Reject => return Err(bad(f.message.as_deref().unwrap_or("order rejected"))),
            FaultKind::PartialFill => {
                let pct = u64::from(f.fill_percent.unwrap_or(50).min(100));
                fill_cap = Some(Quantity::from_micros(shares / 100 * pct / 10_000 * 10_000));
            }
            _ => {}
        }
    }
    let account = p.account_for(&creds.address);
    let now = now_ms();
    let mut ex = lock(&p.core.ex);
    ex.expire(now);
    let placed = ex.place(
        NewOrder {
            account,
            market: token.condition_id.clone(),
            leg,
            price: yes_price,
            qty: shares_q,
            tif,
            stp: Stp::CancelTaker,
            post_only: body.post_only,
            client_order_id: None,
            order_id: Some(order_id.clone()),
            fill_cap,
            tag: o.token_id.clone(),
        },
        now,
    );
    let placed = match placed {
        Ok(pl) => pl,
        Err(e) => {
            let msg = match e {
                Reject::InsufficientBalance | Reject::InsufficientPosition => {
                    "not enough balance / allowance".to_string()
                }
                Reject::BelowMinSize => {
                    format!("Size lower than the minimum: {}", m.min_order_size)
                }
                Reject::DuplicateOrderId => "order already exists".into(),
                Reject::MarketClosed => "market is not accepting orders".into(),
                Reject::PostOnlyCross => "invalid post-only order: order crosses book".into(),
                other => other.to_string(),
            };
            return Err(bad(&msg));
        }
    };
    lock(&p.order_meta).insert(
        order_id.clone(),
        OrderMeta {
            token_id: o.token_id.clone(),
            side: if side == 0 { "BUY" } else { "SELL" },
            owner: creds.api_key.clone(),
            maker_address: format!("{maker:#x}"),
            order_type: body.order_type.clone(),
            expiration: o.expiration.clone().unwrap_or_else(|| "0".into()),
        },
    );
    let filled = placed.order.filled;
    if tif == Tif::Fok && filled.is_zero() {
        return Err(bad(
            "order couldn't be fully filled. FOK orders are fully filled or killed.",
        ));
    }
    if tif == Tif::Ioc && filled.is_zero() {
        return Err(bad(
            "no orders found to match with FAK order. FAK orders are partially filled or killed if no match is found.",
        ));
    }
    let status = match placed.order.state {
        OrderState::Resting if filled.is_zero() => "live",
        OrderState::Resting => "live",
        _ if !filled.is_zero() => "matched",
        _ => "unmatched",
    };
    // What the taker gave and got, in token terms.
    let mut paid = Cash::ZERO;
    for t in &placed.trades {
        paid = paid.saturating_add(t.taker.cash_delta.checked_neg().unwrap_or(Cash::ZERO));
    }
    let (making, taking) = if side == 0 {
        (paid.format(0), num(filled))
    } else {
        (
            num(filled),
            paid.checked_neg().unwrap_or(Cash::ZERO).format(0),
        )
    };
    let (making, taking) = if filled.is_zero() {
        (String::new(), String::new())
    } else {
        (making, taking)
    };
    let trade_ids: Vec<String> = placed.trades.iter().map(|t| t.id.clone()).collect();
    let tx: Vec<String> = placed.trades.iter().map(|t| tx_hash(&t.id)).collect();
    Ok(
        json!({"success": true, "errorMsg": "", "orderID": order_id, "status": status,
        "takingAmount": taking, "makingAmount": making, "transactionsHashes": tx, "tradeIDs": trade_ids}),
    )
}

fn tx_hash(trade_id: &str) -> String {
    format!("{:#x}", keccak256(trade_id.as_bytes()))
}

async fn post_order(State(p): S, req: Request) -> Response {
    let (creds, body, path) = match l2_request(&p, req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let parsed: PostOrderBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(_) => return error(StatusCode::BAD_REQUEST, "Invalid order payload"),
    };
    match place_one(&p, &creds, &parsed, &path) {
        Ok(v) => axum::Json(v).into_response(),
        Err((status, msg)) => error(status, &msg),
    }
}

async fn post_orders(State(p): S, req: Request) -> Response {
    let (creds, body, path) = match l2_request(&p, req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Ok(list) = serde_json::from_slice::<Vec<PostOrderBody>>(&body) else {
        return error(StatusCode::BAD_REQUEST, "Invalid order payload");
    };
    if list.len() > 15 {
        return error(
            StatusCode::BAD_REQUEST,
            "Too many orders in payload, max 15",
        );
    }
    let out: Vec<Value> = list
        .iter()
        .map(|o| match place_one(&p, &creds, o, &path) {
            Ok(v) => v,
            Err((_, msg)) => order_error(&msg),
        })
        .collect();
    axum::Json(out).into_response()
}

fn cancel_ids(p: &Poly, account: &str, ids: &[String]) -> Response {
    let now = now_ms();
    let mut ex = lock(&p.core.ex);
    let mut canceled = Vec::new();
    let mut not_canceled = serde_json::Map::new();
    for id in ids {
        match ex.orders.get(id) {
            Some(o) if o.account == account && o.state == OrderState::Resting => {
                if ex.cancel(account, id, now).is_ok() {
                    canceled.push(id.clone());
                }
            }
            Some(o) if o.account == account => {
                not_canceled.insert(
                    id.clone(),
                    json!("order can't be found - already canceled or matched"),
                );
            }
            _ => {
                not_canceled.insert(id.clone(), json!("order not found"));
            }
        }
    }
    axum::Json(json!({"canceled": canceled, "not_canceled": not_canceled})).into_response()
}

async fn cancel_order(State(p): S, req: Request) -> Response {
    let (creds, body, _) = match l2_request(&p, req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    #[derive(Deserialize)]
    struct B {
        #[serde(rename = "orderID")]
        order_id: String,
    }
    let Ok(b) = serde_json::from_slice::<B>(&body) else {
        return error(StatusCode::BAD_REQUEST, "Invalid order payload");
    };
    let account = p.account_for(&creds.address);
    cancel_ids(&p, &account, &[b.order_id])
}

async fn cancel_orders(State(p): S, req: Request) -> Response {
    let (creds, body, _) = match l2_request(&p, req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Ok(ids) = serde_json::from_slice::<Vec<String>>(&body) else {
        return error(StatusCode::BAD_REQUEST, "Invalid order payload");
    };
    let account = p.account_for(&creds.address);
    cancel_ids(&p, &account, &ids)
}

async fn cancel_all(State(p): S, req: Request) -> Response {
    let (creds, _, _) = match l2_request(&p, req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let account = p.account_for(&creds.address);
    let ids: Vec<String> = lock(&p.core.ex)
        .orders_of(&account)
        .into_iter()
        .filter(|o| o.state == OrderState::Resting)
        .map(|o| o.id.clone())
        .collect();
    cancel_ids(&p, &account, &ids)
}

/// `DELETE /cancel-market-orders` with `{"market": cid}` and/or `{"asset_id": token}`.
async fn cancel_market_orders(State(p): S, req: Request) -> Response {
    let (creds, body, _) = match l2_request(&p, req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "Invalid payload");
    };
    let market = v.get("market").and_then(Value::as_str).map(str::to_string);
    let asset = v
        .get("asset_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    if market.is_none() && asset.is_none() {
        return error(StatusCode::BAD_REQUEST, "market or asset_id is required");
    }
    let account = p.account_for(&creds.address);
    let meta = lock(&p.order_meta).clone();
    let ids: Vec<String> = lock(&p.core.ex)
        .orders_of(&account)
        .into_iter()
        .filter(|o| o.state == OrderState::Resting)
        .filter(|o| market.as_ref().is_none_or(|m| *m == o.market))
        .filter(|o| {
            asset
                .as_ref()
                .is_none_or(|a| meta.get(&o.id).is_some_and(|m| m.token_id == *a))
        })
        .map(|o| o.id.clone())
        .collect();
    cancel_ids(&p, &account, &ids)
}

pub(crate) fn order_view(p: &Poly, o: &Order) -> Value {
    let meta = lock(&p.order_meta).get(&o.id).cloned();
    let token = meta.as_ref().and_then(|m| p.tokens.get(&m.token_id));
    let token_price = match token {
        Some(t) if !t.is_yes => o.price.complement(),
        _ => o.price,
    };
    let status = match o.state {
        OrderState::Resting => "LIVE",
        OrderState::Executed => "MATCHED",
        OrderState::Canceled if !o.filled.is_zero() => "MATCHED",
        OrderState::Canceled => "CANCELED",
    };
    let trades: Vec<String> = lock(&p.core.ex)
        .trades
        .iter()
        .filter(|t| t.taker.order_id == o.id || t.maker.order_id == o.id)
        .map(|t| t.id.clone())
        .collect();
    json!({
        "id": o.id,
        "status": status,
        "owner": meta.as_ref().map(|m| m.owner.clone()).unwrap_or_default(),
        "maker_address": meta.as_ref().map(|m| m.maker_address.clone()).unwrap_or_default(),
        "market": o.market,
        "asset_id": meta.as_ref().map(|m| m.token_id.clone()).unwrap_or_default(),
        "side": meta.as_ref().map(|m| m.side).unwrap_or("BUY"),
        "original_size": num(o.original),
        "size_matched": num(o.filled),
        "price": price_text(token_price),
        "outcome": token.map(|t| t.outcome.clone()).unwrap_or_default(),
        "expiration": meta.as_ref().map(|m| m.expiration.clone()).unwrap_or_else(|| "0".into()),
        "order_type": meta.as_ref().map(|m| m.order_type.clone()).unwrap_or_else(|| "GTC".into()),
        "associate_trades": trades,
        "created_at": o.created_ms / 1000,
    })
}

#[derive(Debug, Deserialize)]
struct DataQuery {
    id: Option<String>,
    market: Option<String>,
    asset_id: Option<String>,
    next_cursor: Option<String>,
}

async fn data_orders(State(p): S, Query(q): Query<DataQuery>, req: Request) -> Response {
    let (creds, _, _) = match l2_request(&p, req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let account = p.account_for(&creds.address);
    let orders: Vec<Order> = lock(&p.core.ex)
        .orders_of(&account)
        .into_iter()
        .filter(|o| o.state == OrderState::Resting)
        .filter(|o| q.id.as_ref().is_none_or(|id| *id == o.id))
        .filter(|o| q.market.as_ref().is_none_or(|m| *m == o.market))
        .cloned()
        .collect();
    let views: Vec<Value> = orders
        .iter()
        .map(|o| order_view(&p, o))
        .filter(|v| {
            q.asset_id
                .as_ref()
                .is_none_or(|a| v["asset_id"] == json!(a))
        })
        .collect();
    paged(views, q.next_cursor.as_deref(), 100)
}

async fn data_order(State(p): S, Path(id): Path<String>, req: Request) -> Response {
    let (creds, _, _) = match l2_request(&p, req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let account = p.account_for(&creds.address);
    let order = lock(&p.core.ex)
        .orders
        .get(&id)
        .filter(|o| o.account == account)
        .cloned();
    match order {
        Some(o) => axum::Json(order_view(&p, &o)).into_response(),
        // The live CLOB answers an unknown id with an empty body object.
        None => axum::Json(json!(null)).into_response(),
    }
}

fn fee_bps(p: &Poly, market: &str) -> String {
    p.market(market)
        .and_then(|m| Price::parse(&m.fee_rate).ok())
        .map(|r| (r.micros() / 100).to_string())
        .unwrap_or_else(|| "0".into())
}

pub(crate) fn trade_view(p: &Poly, t: &Trade, as_taker: bool) -> Value {
    let meta = lock(&p.order_meta);
    let side_view = |order_id: &str, leg: Leg| {
        let m = meta.get(order_id);
        let token = m.and_then(|m| p.tokens.get(&m.token_id));
        let is_yes = matches!(leg, Leg::BuyYes | Leg::SellYes);
        let price = if is_yes {
            t.price
        } else {
            t.price.complement()
        };
        let side = match leg {
            Leg::BuyYes | Leg::BuyNo => "BUY",
            _ => "SELL",
        };
        let asset = m.map(|m| m.token_id.clone()).unwrap_or_else(|| {
            p.market(&t.market)
                .map(|mk| {
                    if is_yes {
                        mk.yes_token_id.clone()
                    } else {
                        mk.no_token_id.clone()
                    }
                })
                .unwrap_or_default()
        });
        let outcome = token
            .map(|t| t.outcome.clone())
            .unwrap_or_else(|| if is_yes { "Yes".into() } else { "No".into() });
        (
            asset,
            price,
            side,
            outcome,
            m.map(|m| m.owner.clone()).unwrap_or_default(),
            m.map(|m| m.maker_address.clone()).unwrap_or_default(),
        )
    };
    let (asset, price, side, outcome, owner, addr) = side_view(&t.taker.order_id, t.taker.leg);
    let (m_asset, m_price, m_side, m_outcome, m_owner, m_addr) =
        side_view(&t.maker.order_id, t.maker.leg);
    let bps = fee_bps(p, &t.market);
    json!({
        "id": t.id,
        "taker_order_id": t.taker.order_id,
        "market": t.market,
        "asset_id": asset,
        "side": side,
        "size": num(t.qty),
        "fee_rate_bps": bps,
        "price": price_text(price),
        "status": "CONFIRMED",
        "match_time": (t.ts_ms / 1000).to_string(),
        "last_update": (t.ts_ms / 1000).to_string(),
        "outcome": outcome,
        "bucket_index": 0,
        "owner": owner,
        "maker_address": addr,
        "transaction_hash": tx_hash(&t.id),
        "maker_orders": [{
            "order_id": t.maker.order_id, "owner": m_owner, "maker_address": m_addr,
            "matched_amount": num(t.qty), "price": price_text(m_price), "fee_rate_bps": "0",
            "asset_id": m_asset, "outcome": m_outcome, "side": m_side,
        }],
        "trader_side": if as_taker { "TAKER" } else { "MAKER" },
    })
}

async fn data_trades(State(p): S, Query(q): Query<DataQuery>, req: Request) -> Response {
    let (creds, _, _) = match l2_request(&p, req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let account = p.account_for(&creds.address);
    let trades: Vec<(Trade, bool)> = lock(&p.core.ex)
        .trades
        .iter()
        .rev()
        .filter(|t| q.id.as_ref().is_none_or(|id| *id == t.id))
        .filter(|t| q.market.as_ref().is_none_or(|m| *m == t.market))
        .filter_map(|t| {
            if t.taker.account == account {
                Some((t.clone(), true))
            } else if t.maker.account == account {
                Some((t.clone(), false))
            } else {
                None
            }
        })
        .collect();
    let views: Vec<Value> = trades
        .iter()
        .map(|(t, taker)| trade_view(&p, t, *taker))
        .collect();
    paged(views, q.next_cursor.as_deref(), 100)
}

#[derive(Debug, Deserialize)]
struct BalanceQuery {
    asset_type: Option<String>,
    token_id: Option<String>,
}

async fn balance_allowance(State(p): S, Query(q): Query<BalanceQuery>, req: Request) -> Response {
    let (creds, _, _) = match l2_request(&p, req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let account = p.account_for(&creds.address);
    let ex = lock(&p.core.ex);
    let Some(a) = ex.accounts.get(&account) else {
        return error(StatusCode::NOT_FOUND, "account not found");
    };
    // Amounts in 1e-6 units, like the chain (polymarket.md §8).
    let balance = match q.asset_type.as_deref() {
        // On-chain balances: open orders do not reduce them (the CLOB checks
        // balance minus open orders when an order is placed).
        Some("COLLATERAL") | None => a.cash.micros().max(0).to_string(),
        Some("CONDITIONAL") => {
            let Some(t) = q.token_id.as_deref().and_then(|t| p.tokens.get(t)) else {
                return error(StatusCode::BAD_REQUEST, "invalid token id");
            };
            let h = a.holdings.get(&t.condition_id).cloned().unwrap_or_default();
            let held = if t.is_yes { h.yes } else { h.no };
            held.micros().to_string()
        }
        Some(_) => return error(StatusCode::BAD_REQUEST, "invalid asset type"),
    };
    let max = U256::MAX.to_string();
    axum::Json(json!({"balance": balance, "allowances": {
        format!("{EXCHANGE_V2:#x}"): max, format!("{NEG_RISK_EXCHANGE_V2:#x}"): max}}))
    .into_response()
}

/// Token ids by condition id, for the WebSocket and Gamma.
pub fn token_pairs(p: &Poly) -> BTreeMap<String, (String, String)> {
    p.markets
        .iter()
        .map(|m| {
            (
                m.condition_id.clone(),
                (m.yes_token_id.clone(), m.no_token_id.clone()),
            )
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn clob_auth_vector() {
        // polymarket.md §7.1: Amoy, ts 10000000, nonce 23, the Hardhat #0 key.
        let addr: Address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
            .parse()
            .unwrap();
        let d = clob_auth_digest(80002, addr, "10000000", 23);
        let sig = "0xf62319a987514da40e57e2f4d7529f7bac38f0355bd88bb5adbb3768d80de6c1682518e0af677d5260366425f4361e7b70c25ae232aff0ab2331e2b164a1aedc1b";
        assert_eq!(recover(sig, &d), Some(addr));
    }

    #[test]
    fn decimals() {
        assert_eq!(decimals_of(11_782_400), 4);
        assert_eq!(decimals_of(21_040_000), 2);
        assert_eq!(decimals_of(5_000_000), 0);
        assert_eq!(decimals_of(1), 6);
    }
}
