//! Kalshi REST client (kalshi.md §4–§6, §9, §10) and the Kalshi
//! [`OrderGateway`].
//!
//! Every call goes through the layered [`HttpClient`]: reads draw from the
//! read bucket and are retried with backoff; order creation and cancels
//! draw from the write bucket and are sent exactly once. Authenticated calls
//! are signed per attempt (fresh timestamp) by [`KalshiRequestSigner`].

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use http::header::{HeaderName, HeaderValue};
use http::{Method, Uri};
use orion_config::KalshiTier;
use orion_core::{
    Balance, Clock, FeeSchedule, Fill, GatewayError, InstrumentId, KalshiBookSide, KalshiOrderSide,
    MarketId, OrderGateway, OrderKey, OrderReport, OrderRequest, OrderStatus, Outcome, Position,
    PreparedOrder, Price, PriceGrid, Quantity, TimeInForce, Timestamp, Venue,
};
use serde::Serialize;

use super::auth::KalshiSigner;
use super::types::{
    self, CreateOrderResponse, KalshiApiError, KalshiFill, KalshiMarket, KalshiOrder, MarketsPage,
    YesBook, outcome_price,
};
use crate::http::{
    ApiRequest, ApiResponse, Budget, Endpoint, HttpClient, HttpConfig, HttpError, Limiter,
    RequestSigner, TimeSource, TokenBucket, TokioTime,
};

const V: Venue = Venue::Kalshi;
/// Default token cost of a request (kalshi.md §9).
const DEFAULT_COST: u32 = 10;
/// `GET /portfolio/orders/{id}` and `DELETE …/orders/{id}` cost 2.
const CHEAP_COST: u32 = 2;
/// Longest pagination walk, so a venue returning cursors forever cannot hang us.
const MAX_PAGES: usize = 10_000;

/// Everything the Kalshi client needs to know.
#[derive(Debug, Clone)]
pub struct KalshiConfig {
    /// REST base including `/trade-api/v2`.
    pub rest_url: String,
    /// Read and write buckets: (capacity, tokens per second).
    pub read_bucket: (u32, u32),
    pub write_bucket: (u32, u32),
    pub read_timeout: Duration,
    pub write_timeout: Duration,
    pub http: HttpConfig,
}

impl KalshiConfig {
    /// The documented budgets of a tier: one second of read tokens; write
    /// buckets above Basic hold two seconds (OAS `BucketLimit`).
    pub fn for_tier(rest_url: impl Into<String>, tier: KalshiTier) -> KalshiConfig {
        let (read, write) = tier.token_rates();
        let write_capacity = if tier == KalshiTier::Basic {
            write
        } else {
            write.saturating_mul(2)
        };
        KalshiConfig {
            rest_url: rest_url.into(),
            read_bucket: (read, read),
            write_bucket: (write_capacity, write),
            read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            http: HttpConfig::default(),
        }
    }
}

/// Signs each attempt with the three `KALSHI-ACCESS-*` headers.
#[derive(Debug)]
pub struct KalshiRequestSigner {
    signer: KalshiSigner,
    clock: Arc<dyn Clock>,
}

impl KalshiRequestSigner {
    pub fn new(signer: KalshiSigner, clock: Arc<dyn Clock>) -> KalshiRequestSigner {
        KalshiRequestSigner { signer, clock }
    }

    pub fn signer(&self) -> &KalshiSigner {
        &self.signer
    }

    /// Header pairs for `method path` now.
    pub fn header_pairs(
        &self,
        method: &str,
        path: &str,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
        let ts = u64::try_from(self.clock.now().millis()).map_err(|_| "clock before 1970")?;
        let h = self
            .signer
            .sign(ts, method, path)
            .map_err(|e| e.to_string())?;
        h.pairs()
            .into_iter()
            .map(|(k, v)| {
                Ok((
                    HeaderName::from_static(static_lower(k)),
                    HeaderValue::from_str(v).map_err(|e| e.to_string())?,
                ))
            })
            .collect()
    }
}

fn static_lower(name: &'static str) -> &'static str {
    // HeaderName::from_static wants lower case.
    match name {
        "KALSHI-ACCESS-KEY" => "kalshi-access-key",
        "KALSHI-ACCESS-TIMESTAMP" => "kalshi-access-timestamp",
        "KALSHI-ACCESS-SIGNATURE" => "kalshi-access-signature",
        _ => "x-unknown",
    }
}

impl RequestSigner for KalshiRequestSigner {
    fn headers(
        &self,
        method: &Method,
        path: &str,
        _body: &[u8],
    ) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
        // The body is not signed (kalshi.md §2.2).
        self.header_pairs(method.as_str(), path)
    }
}

/// Maps a transport failure onto the port's error.
pub fn transport_error(venue: Venue, e: HttpError) -> GatewayError {
    match e {
        HttpError::NotSent(d) => GatewayError::NotSent { venue, detail: d },
        HttpError::TooLarge(n) => GatewayError::Decode {
            venue,
            field: "<body>".into(),
            detail: format!("larger than {n} bytes"),
        },
        e @ (HttpError::Timeout(_) | HttpError::Transport(_)) => GatewayError::OutcomeUnknown {
            venue,
            detail: e.to_string(),
        },
    }
}

/// Maps an error status onto the port's error.
pub fn status_error(e: KalshiApiError) -> GatewayError {
    let detail = format!("{}: {}", e.code, e.message);
    match e.status {
        401 | 403 => GatewayError::Auth { venue: V, detail },
        404 => GatewayError::NotFound { venue: V, detail },
        429 => GatewayError::RateLimited {
            venue: V,
            retry_after: None,
        },
        500..=599 => GatewayError::Server {
            venue: V,
            status: e.status,
            detail,
        },
        _ => GatewayError::Rejected {
            venue: V,
            code: e.code,
            message: e.message,
        },
    }
}

fn ok_body(resp: ApiResponse) -> Result<bytes::Bytes, GatewayError> {
    if resp.status.is_success() {
        Ok(resp.body)
    } else {
        Err(status_error(types::api_error(
            resp.status.as_u16(),
            &resp.body,
        )))
    }
}

/// Query string encoding of one value (tickers and cursors are ASCII, but a
/// cursor may carry `=`/`+`/`/`).
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Filters of `GET /markets`.
#[derive(Debug, Clone, Default)]
pub struct MarketsQuery {
    pub limit: Option<u32>,
    pub status: Option<String>,
    pub event_ticker: Option<String>,
    pub series_ticker: Option<String>,
    pub tickers: Vec<String>,
}

/// The Kalshi REST client.
#[derive(Clone)]
pub struct KalshiClient {
    http: HttpClient,
    base: String,
    signer: Option<Arc<KalshiRequestSigner>>,
    read: Limiter,
    write: Limiter,
    read_timeout: Duration,
    write_timeout: Duration,
}

impl fmt::Debug for KalshiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KalshiClient")
            .field("base", &self.base)
            .field("authenticated", &self.signer.is_some())
            .finish()
    }
}

impl KalshiClient {
    pub fn new(
        config: &KalshiConfig,
        signer: Option<Arc<KalshiRequestSigner>>,
    ) -> Result<KalshiClient, GatewayError> {
        Self::with_time(config, signer, Arc::new(TokioTime))
    }

    /// With an explicit limiter time source (tests).
    pub fn with_time(
        config: &KalshiConfig,
        signer: Option<Arc<KalshiRequestSigner>>,
        time: Arc<dyn TimeSource>,
    ) -> Result<KalshiClient, GatewayError> {
        let http = HttpClient::new(&config.http).map_err(|e| transport_error(V, e))?;
        let base = config.rest_url.trim_end_matches('/').to_string();
        let _: Uri = base.parse().map_err(|e| GatewayError::NotSent {
            venue: V,
            detail: format!("bad REST URL: {e}"),
        })?;
        Ok(KalshiClient {
            http,
            base,
            signer,
            read: Limiter::Bucket(Arc::new(TokenBucket::new(
                "kalshi_read",
                config.read_bucket.0,
                config.read_bucket.1,
                time.clone(),
            ))),
            write: Limiter::Bucket(Arc::new(TokenBucket::new(
                "kalshi_write",
                config.write_bucket.0,
                config.write_bucket.1,
                time,
            ))),
            read_timeout: config.read_timeout,
            write_timeout: config.write_timeout,
        })
    }

    fn uri(&self, path_and_query: &str) -> Result<Uri, GatewayError> {
        format!("{}{}", self.base, path_and_query)
            .parse()
            .map_err(|e| GatewayError::NotSent {
                venue: V,
                detail: format!("bad URL: {e}"),
            })
    }

    fn read_ep(&self, name: &'static str, cost: u32) -> Endpoint {
        Endpoint {
            venue: V,
            name,
            idempotent: true,
            timeout: self.read_timeout,
            budget: Budget::none().with(&self.read, cost),
        }
    }

    fn write_ep(&self, name: &'static str, cost: u32) -> Endpoint {
        Endpoint {
            venue: V,
            name,
            idempotent: false,
            timeout: self.write_timeout,
            budget: Budget::none().with(&self.write, cost),
        }
    }

    fn auth(&self, req: ApiRequest) -> Result<ApiRequest, GatewayError> {
        match &self.signer {
            Some(s) => Ok(req.signed(s.clone())),
            None => Err(GatewayError::Auth {
                venue: V,
                detail: "no API key configured".into(),
            }),
        }
    }

    async fn get(
        &self,
        name: &'static str,
        path: &str,
        signed: bool,
        cost: u32,
    ) -> Result<bytes::Bytes, GatewayError> {
        let mut req = ApiRequest::new(Method::GET, self.uri(path)?, self.read_ep(name, cost));
        if signed {
            req = self.auth(req)?;
        } else if let Some(s) = &self.signer {
            // Sign when we can: harmless where not required.
            req = req.signed(s.clone());
        }
        let resp = self
            .http
            .send(req)
            .await
            .map_err(|e| transport_error(V, e))?;
        ok_body(resp)
    }

    /// One page of the catalog.
    pub async fn markets_page(
        &self,
        query: &MarketsQuery,
        cursor: Option<&str>,
    ) -> Result<MarketsPage, GatewayError> {
        let mut q = vec![format!("limit={}", query.limit.unwrap_or(1000).min(1000))];
        if let Some(c) = cursor {
            q.push(format!("cursor={}", enc(c)));
        }
        if let Some(s) = &query.status {
            q.push(format!("status={}", enc(s)));
        }
        if let Some(e) = &query.event_ticker {
            q.push(format!("event_ticker={}", enc(e)));
        }
        if let Some(s) = &query.series_ticker {
            q.push(format!("series_ticker={}", enc(s)));
        }
        if !query.tickers.is_empty() {
            let t: Vec<String> = query.tickers.iter().map(|t| enc(t)).collect();
            q.push(format!("tickers={}", t.join(",")));
        }
        let body = self
            .get(
                "get_markets",
                &format!("/markets?{}", q.join("&")),
                false,
                DEFAULT_COST,
            )
            .await?;
        Ok(types::markets_page(&body)?)
    }

    /// The whole catalog matching `query`, following cursors.
    pub async fn markets(&self, query: &MarketsQuery) -> Result<Vec<KalshiMarket>, GatewayError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self.markets_page(query, cursor.as_deref()).await?;
            out.extend(page.markets);
            match page.cursor {
                Some(c) if Some(&c) != cursor.as_ref() => cursor = Some(c),
                _ => return Ok(out),
            }
        }
        Err(GatewayError::Decode {
            venue: V,
            field: "cursor".into(),
            detail: format!("more than {MAX_PAGES} pages"),
        })
    }

    pub async fn market(&self, ticker: &str) -> Result<KalshiMarket, GatewayError> {
        let body = self
            .get(
                "get_market",
                &format!("/markets/{}", enc(ticker)),
                false,
                DEFAULT_COST,
            )
            .await?;
        Ok(types::market(&body)?)
    }

    /// The book in YES terms. Signed: whether it needs auth is uncertain
    /// (kalshi.md §4).
    pub async fn orderbook(&self, ticker: &str, depth: u32) -> Result<YesBook, GatewayError> {
        let body = self
            .get(
                "get_orderbook",
                &format!(
                    "/markets/{}/orderbook?depth={}",
                    enc(ticker),
                    depth.min(100)
                ),
                false,
                DEFAULT_COST,
            )
            .await?;
        Ok(types::orderbook(&body)?)
    }

    /// A series' fee schedule; unknown fee types fail closed.
    pub async fn series_fee(&self, series_ticker: &str) -> Result<FeeSchedule, GatewayError> {
        let body = self
            .get(
                "get_series",
                &format!("/series/{}", enc(series_ticker)),
                false,
                DEFAULT_COST,
            )
            .await?;
        Ok(types::series_fee(&body)?)
    }

    pub async fn balance(
        &self,
    ) -> Result<(orion_core::Cash, Option<orion_core::Cash>), GatewayError> {
        let body = self
            .get("get_balance", "/portfolio/balance", true, DEFAULT_COST)
            .await?;
        Ok(types::balance(&body)?)
    }

    pub async fn positions(&self) -> Result<Vec<(InstrumentId, i64)>, GatewayError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut path = "/portfolio/positions?limit=1000".to_string();
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={}", enc(c)));
            }
            let body = self.get("get_positions", &path, true, DEFAULT_COST).await?;
            let (list, next) = types::positions(&body)?;
            out.extend(list);
            match next {
                Some(c) if Some(&c) != cursor.as_ref() => cursor = Some(c),
                _ => return Ok(out),
            }
        }
        Ok(out)
    }

    pub async fn fills(
        &self,
        ticker: Option<&str>,
        min_ts_secs: Option<i64>,
    ) -> Result<Vec<KalshiFill>, GatewayError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut path = "/portfolio/fills?limit=1000".to_string();
            if let Some(t) = ticker {
                path.push_str(&format!("&ticker={}", enc(t)));
            }
            if let Some(ts) = min_ts_secs {
                path.push_str(&format!("&min_ts={ts}"));
            }
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={}", enc(c)));
            }
            let body = self.get("get_fills", &path, true, DEFAULT_COST).await?;
            let (list, next) = types::fills(&body)?;
            out.extend(list);
            match next {
                Some(c) if Some(&c) != cursor.as_ref() => cursor = Some(c),
                _ => return Ok(out),
            }
        }
        Ok(out)
    }

    /// Every order on `ticker` (all statuses).
    pub async fn orders(&self, ticker: &str) -> Result<Vec<KalshiOrder>, GatewayError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut path = format!("/portfolio/orders?limit=1000&ticker={}", enc(ticker));
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={}", enc(c)));
            }
            let body = self.get("get_orders", &path, true, DEFAULT_COST).await?;
            let (list, next) = types::orders(&body)?;
            out.extend(list);
            match next {
                Some(c) if Some(&c) != cursor.as_ref() => cursor = Some(c),
                _ => return Ok(out),
            }
        }
        Ok(out)
    }

    /// `POST /portfolio/events/orders` with exactly `body`, once.
    pub async fn create_order(&self, body: &[u8]) -> Result<ApiResponse, HttpError> {
        let uri = self
            .uri("/portfolio/events/orders")
            .map_err(|e| HttpError::NotSent(e.to_string()))?;
        let req = ApiRequest::new(
            Method::POST,
            uri,
            self.write_ep("create_order", DEFAULT_COST),
        )
        .json_body(bytes::Bytes::copy_from_slice(body));
        let req = self
            .auth(req)
            .map_err(|e| HttpError::NotSent(e.to_string()))?;
        self.http.send(req).await
    }

    /// `DELETE /portfolio/events/orders/{id}`, once.
    pub async fn cancel_order(&self, order_id: &str) -> Result<Quantity, GatewayError> {
        let req = ApiRequest::new(
            Method::DELETE,
            self.uri(&format!("/portfolio/events/orders/{}", enc(order_id)))?,
            self.write_ep("cancel_order", CHEAP_COST),
        );
        let resp = self
            .http
            .send(self.auth(req)?)
            .await
            .map_err(|e| transport_error(V, e))?;
        let body = ok_body(resp)?;
        Ok(types::cancel_response(&body)?.1)
    }
}

// ------------------------------------------------------------ gateway

#[derive(Serialize)]
struct CreateOrderBody<'a> {
    ticker: &'a str,
    client_order_id: &'a str,
    side: &'static str,
    count: String,
    price: String,
    time_in_force: &'static str,
    self_trade_prevention_type: &'static str,
}

/// Kalshi as an [`OrderGateway`].
#[derive(Debug, Clone)]
pub struct KalshiGateway {
    client: KalshiClient,
    clock: Arc<dyn Clock>,
    /// Known price grids by ticker, checked by `prepare` when present.
    grids: Arc<Mutex<HashMap<String, PriceGrid>>>,
}

impl KalshiGateway {
    pub fn new(client: KalshiClient, clock: Arc<dyn Clock>) -> KalshiGateway {
        KalshiGateway {
            client,
            clock,
            grids: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    pub fn client(&self) -> &KalshiClient {
        &self.client
    }

    /// Remembers a market's price grid (from its `price_ranges`).
    pub fn set_grid(&self, ticker: &str, grid: PriceGrid) {
        self.grids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(ticker.to_string(), grid);
    }

    fn invalid(detail: impl Into<String>) -> GatewayError {
        GatewayError::InvalidOrder {
            venue: V,
            detail: detail.into(),
        }
    }

    fn report_from_order(&self, o: &KalshiOrder, key: &OrderKey) -> OrderReport {
        OrderReport {
            client_order_id: key.client_order_id.clone(),
            venue_order_id: Some(o.order_id.clone()),
            status: o.order_status(),
            filled: o.filled,
            average_price: o.average_price(),
            fees: o.fees,
            reason: None,
            updated_at: o.updated.unwrap_or_else(|| self.clock.now()),
        }
    }
}

/// A new UUID v4 client order id.
pub fn new_client_order_id() -> orion_core::ClientOrderId {
    // A UUID's text is 36 ASCII characters: always a valid id.
    orion_core::ClientOrderId::new(&uuid::Uuid::new_v4().to_string())
        .unwrap_or_else(|_| unreachable_id())
}

#[allow(clippy::panic)]
fn unreachable_id() -> orion_core::ClientOrderId {
    // Proven unreachable: a hyphenated UUID is non-empty, 36 bytes, with no
    // whitespace or control characters, which is all ClientOrderId checks.
    panic!("a UUID is always a valid client order id")
}

/// The wire body of an order request.
pub fn order_body(
    request: &OrderRequest,
    grid: Option<&PriceGrid>,
) -> Result<Vec<u8>, GatewayError> {
    if request.instrument.venue != V {
        return Err(KalshiGateway::invalid("instrument is not a Kalshi market"));
    }
    let price = request.limit_price;
    if price == Price::ZERO || price >= Price::ONE {
        return Err(KalshiGateway::invalid("limit price outside (0, 1)"));
    }
    let wire = KalshiOrderSide::from_intent(request.outcome, request.side, price);
    if let Some(g) = grid
        && !g.contains(wire.yes_price)
    {
        return Err(KalshiGateway::invalid(format!(
            "YES price {} is not on the market's price grid",
            wire.yes_price
        )));
    }
    if !wire.yes_price.micros().is_multiple_of(100) {
        return Err(KalshiGateway::invalid(
            "Kalshi prices have at most 4 decimals",
        ));
    }
    if request.quantity.is_zero() {
        return Err(KalshiGateway::invalid("quantity is zero"));
    }
    // Kalshi wants a UUID in practice (kalshi.md §6.1); refuse anything else
    // here rather than learn it from a rejection.
    if uuid::Uuid::parse_str(request.client_order_id.as_str()).is_err() {
        return Err(KalshiGateway::invalid("client_order_id must be a UUID"));
    }
    let count = request
        .quantity
        .to_kalshi_fp()
        .ok_or_else(|| KalshiGateway::invalid("Kalshi counts are in steps of 0.01"))?;
    let body = CreateOrderBody {
        ticker: &request.instrument.symbol,
        client_order_id: request.client_order_id.as_str(),
        side: match wire.book_side {
            KalshiBookSide::Bid => "bid",
            KalshiBookSide::Ask => "ask",
        },
        count,
        price: wire.yes_price.to_kalshi_dollars(),
        time_in_force: match request.time_in_force {
            TimeInForce::FillOrKill => "fill_or_kill",
            TimeInForce::ImmediateOrCancel => "immediate_or_cancel",
            TimeInForce::GoodTillCancel => "good_till_canceled",
        },
        // Cancel our own incoming order rather than trade with ourselves.
        self_trade_prevention_type: "taker_at_cross",
    };
    serde_json::to_vec(&body).map_err(|e| KalshiGateway::invalid(format!("serialising: {e}")))
}

/// A submit's report from the 201 answer.
pub fn create_report(
    request: &OrderRequest,
    resp: &CreateOrderResponse,
    now: Timestamp,
) -> OrderReport {
    OrderReport {
        client_order_id: request.client_order_id.clone(),
        venue_order_id: Some(resp.order_id.clone()),
        status: resp.status(request.quantity),
        filled: resp.fill_count,
        average_price: resp
            .average_fill_price
            .map(|p| outcome_price(request.outcome, p)),
        fees: resp.fees(),
        reason: None,
        updated_at: resp.ts_ms.map_or(now, Timestamp::from_millis),
    }
}

#[async_trait]
impl OrderGateway for KalshiGateway {
    fn venue(&self) -> Venue {
        V
    }

    fn prepare(&self, request: &OrderRequest) -> Result<PreparedOrder, GatewayError> {
        let grid = self
            .grids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(request.instrument.symbol.as_ref())
            .cloned();
        Ok(PreparedOrder {
            request: request.clone(),
            venue_order_id: None,
            body: order_body(request, grid.as_ref())?,
        })
    }

    async fn submit(&self, order: &PreparedOrder) -> Result<OrderReport, GatewayError> {
        let resp = self
            .client
            .create_order(&order.body)
            .await
            .map_err(|e| transport_error(V, e))?;
        match resp.status.as_u16() {
            200 | 201 => {
                let decoded = types::create_order_response(&resp.body)?;
                Ok(create_report(&order.request, &decoded, self.clock.now()))
            }
            409 => Err(GatewayError::Duplicate {
                venue: V,
                client_order_id: order.request.client_order_id.clone(),
            }),
            s => Err(status_error(types::api_error(s, &resp.body))),
        }
    }

    async fn cancel(&self, key: &OrderKey) -> Result<OrderReport, GatewayError> {
        let order_id = match &key.venue_order_id {
            Some(id) => id.clone(),
            None => match self.query(key).await? {
                Some(r) => r.venue_order_id.ok_or_else(|| GatewayError::NotFound {
                    venue: V,
                    detail: "order has no venue id".into(),
                })?,
                None => {
                    return Err(GatewayError::NotFound {
                        venue: V,
                        detail: format!("no order with client id {}", key.client_order_id),
                    });
                }
            },
        };
        self.client.cancel_order(&order_id).await?;
        let mut key = key.clone();
        key.venue_order_id = Some(order_id);
        self.query(&key)
            .await?
            .ok_or_else(|| GatewayError::NotFound {
                venue: V,
                detail: "cancelled order no longer listed".into(),
            })
    }

    async fn query(&self, key: &OrderKey) -> Result<Option<OrderReport>, GatewayError> {
        // No client_order_id filter exists: list the market's orders and
        // match (kalshi.md §5).
        let orders = self.client.orders(&key.instrument.symbol).await?;
        Ok(orders
            .iter()
            .find(|o| {
                o.client_order_id.as_deref() == Some(key.client_order_id.as_str())
                    || key.venue_order_id.as_deref() == Some(o.order_id.as_str())
            })
            .map(|o| self.report_from_order(o, key)))
    }

    async fn balance(&self) -> Result<Balance, GatewayError> {
        let (available, portfolio_value) = self.client.balance().await?;
        Ok(Balance {
            venue: V,
            available,
            portfolio_value,
            as_of: self.clock.now(),
        })
    }

    async fn positions(&self) -> Result<Vec<Position>, GatewayError> {
        let list = self.client.positions().await?;
        let mut out = Vec::new();
        for (ticker, micros) in list {
            if micros == 0 {
                continue;
            }
            let market = MarketId::new(V, &ticker.symbol).map_err(|e| GatewayError::Decode {
                venue: V,
                field: "market_positions.ticker".into(),
                detail: e.to_string(),
            })?;
            out.push(Position {
                market,
                instrument: ticker,
                outcome: if micros > 0 {
                    Outcome::Yes
                } else {
                    Outcome::No
                },
                quantity: Quantity::from_micros(micros.unsigned_abs()),
            });
        }
        Ok(out)
    }

    async fn fills(&self, since: Option<Timestamp>) -> Result<Vec<Fill>, GatewayError> {
        let list = self.client.fills(None, since.map(Timestamp::secs)).await?;
        Ok(list
            .into_iter()
            .filter(|f| since.is_none_or(|s| f.ts >= s))
            .map(|f| Fill {
                fill_id: f.fill_id,
                venue_order_id: f.order_id,
                client_order_id: f
                    .client_order_id
                    .as_deref()
                    .and_then(types::client_order_id),
                instrument: f.ticker,
                outcome: f.outcome,
                side: f.side,
                price: f.price,
                quantity: f.count,
                fee: f.fee_cost,
                is_taker: f.is_taker,
                ts: f.ts,
            })
            .collect())
    }
}

impl KalshiGateway {
    /// Whether a status is final (no more fills possible).
    pub fn is_final(status: OrderStatus) -> bool {
        status.is_final()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use orion_core::ClientOrderId;

    fn req(
        outcome: Outcome,
        side: orion_core::Side,
        price: &str,
        qty: &str,
        tif: TimeInForce,
    ) -> OrderRequest {
        OrderRequest {
            client_order_id: ClientOrderId::new("8c35ecb3-328f-4f52-8c7c-0f4b9862f8d1").unwrap(),
            market: MarketId::new(V, "KXFED-26SEP-T4.00").unwrap(),
            instrument: InstrumentId::new(V, "KXFED-26SEP-T4.00").unwrap(),
            outcome,
            side,
            limit_price: Price::parse(price).unwrap(),
            quantity: Quantity::parse(qty).unwrap(),
            time_in_force: tif,
        }
    }

    #[test]
    fn body_matches_the_documented_example() {
        // kalshi.md §6.1: buy 10 NO at $0.56, all or nothing.
        let body = order_body(
            &req(
                Outcome::No,
                orion_core::Side::Buy,
                "0.56",
                "10",
                TimeInForce::FillOrKill,
            ),
            None,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"ticker":"KXFED-26SEP-T4.00","client_order_id":"8c35ecb3-328f-4f52-8c7c-0f4b9862f8d1","side":"ask","count":"10.00","price":"0.4400","time_in_force":"fill_or_kill","self_trade_prevention_type":"taker_at_cross"}"#
        );
    }

    #[test]
    fn bad_orders_are_refused_before_sending() {
        let ok = req(
            Outcome::Yes,
            orion_core::Side::Sell,
            "0.41",
            "1.5",
            TimeInForce::ImmediateOrCancel,
        );
        let body: serde_json::Value =
            serde_json::from_slice(&order_body(&ok, None).unwrap()).unwrap();
        assert_eq!(body["side"], "ask");
        assert_eq!(body["time_in_force"], "immediate_or_cancel");
        assert_eq!(body["count"], "1.50");
        let grid = PriceGrid::kalshi_linear_cent();
        let off = req(
            Outcome::Yes,
            orion_core::Side::Buy,
            "0.415",
            "1",
            TimeInForce::GoodTillCancel,
        );
        assert!(order_body(&off, Some(&grid)).is_err(), "off the cent grid");
        let frac = req(
            Outcome::Yes,
            orion_core::Side::Buy,
            "0.41",
            "1.005",
            TimeInForce::GoodTillCancel,
        );
        assert!(order_body(&frac, None).is_err(), "counts step 0.01");
        let mut bad_id = ok.clone();
        bad_id.client_order_id = ClientOrderId::new("not-a-uuid").unwrap();
        assert!(order_body(&bad_id, None).is_err());
        let one = req(
            Outcome::Yes,
            orion_core::Side::Buy,
            "1",
            "1",
            TimeInForce::GoodTillCancel,
        );
        assert!(order_body(&one, None).is_err());
        assert!(uuid::Uuid::parse_str(new_client_order_id().as_str()).is_ok());
    }

    #[test]
    fn transport_errors_map_to_outcomes() {
        assert!(matches!(
            transport_error(V, HttpError::NotSent("x".into())),
            GatewayError::NotSent { .. }
        ));
        assert!(transport_error(V, HttpError::Timeout(Duration::from_secs(1))).outcome_unknown());
        assert!(transport_error(V, HttpError::Transport("reset".into())).outcome_unknown());
        let e = status_error(types::api_error(
            409,
            br#"{"error":{"code":"order_already_exists"}}"#,
        ));
        assert!(matches!(e, GatewayError::Rejected { .. }));
        assert!(matches!(
            status_error(types::api_error(429, b"")),
            GatewayError::RateLimited { .. }
        ));
        assert!(matches!(
            status_error(types::api_error(503, b"")),
            GatewayError::Server { status: 503, .. }
        ));
    }
}
