//! Polymarket CLOB and Gamma REST client (polymarket.md §5–§9, §12) and the
//! Polymarket [`OrderGateway`].
//!
//! Reads draw from the documented sliding windows and are retried; `POST
//! /order` and `DELETE /order` are sent once. Trading calls carry L2 HMAC
//! headers computed per attempt over the exact body bytes sent.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use http::header::{HeaderName, HeaderValue};
use http::{Method, Uri};
use orion_core::{
    Balance, Cash, Clock, FeeSchedule, Fill, GatewayError, MarketId, OrderGateway, OrderKey,
    OrderReport, OrderRequest, OrderStatus, Outcome, Position, PreparedOrder, Price, Quantity,
    Rounding, Side, TickSize, TimeInForce, Timestamp, Venue,
};

use super::types::{
    self, ClobMarket, GammaMarket, MarketInfo, MarketsPage, OpenOrder, PolyBook, PostOrderResponse,
};
use super::{
    Address, ApiCredentials, B256, Chain, ExchangeDomain, OrderParams, OrderType, PolymarketWallet,
    PostOrderOptions, SignatureType, U256, l1_headers, l2_headers, limit_order_amounts,
    post_order_body, random_salt,
};
use crate::http::{
    ApiRequest, ApiResponse, Budget, Endpoint, HttpClient, HttpConfig, HttpError, Limiter,
    RequestSigner, SlidingWindow, TimeSource, TokioTime,
};
use crate::kalshi::rest::transport_error;

const V: Venue = Venue::Polymarket;
const MAX_PAGES: usize = 10_000;
/// The only exchange version Orion signs for.
pub const SUPPORTED_VERSION: u32 = 2;

/// Where and how to reach Polymarket.
#[derive(Debug, Clone)]
pub struct PolymarketConfig {
    pub clob_url: String,
    pub gamma_url: String,
    pub chain: Chain,
    pub read_timeout: Duration,
    pub write_timeout: Duration,
    pub http: HttpConfig,
}

impl PolymarketConfig {
    pub fn new(clob_url: impl Into<String>, gamma_url: impl Into<String>, chain: Chain) -> Self {
        PolymarketConfig {
            clob_url: clob_url.into(),
            gamma_url: gamma_url.into(),
            chain,
            read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            http: HttpConfig::default(),
        }
    }
}

/// The documented windows (polymarket.md §12), one limiter each.
#[derive(Debug, Clone)]
struct Limits {
    clob: Limiter,
    book: Limiter,
    books: Limiter,
    data_orders: Limiter,
    data_trades: Limiter,
    balance: Limiter,
    api_key: Limiter,
    post_order_burst: Limiter,
    post_order_sustained: Limiter,
    cancel_burst: Limiter,
    cancel_sustained: Limiter,
    gamma: Limiter,
    gamma_markets: Limiter,
}

impl Limits {
    fn new(time: &Arc<dyn TimeSource>) -> Limits {
        let ten = Duration::from_secs(10);
        let w =
            |name, n, d| Limiter::Window(Arc::new(SlidingWindow::new(name, n, d, time.clone())));
        Limits {
            clob: w("poly_clob", 9_000, ten),
            book: w("poly_book", 1_500, ten),
            books: w("poly_books", 500, ten),
            data_orders: w("poly_data_orders", 500, ten),
            data_trades: w("poly_data_trades", 500, ten),
            balance: w("poly_balance", 200, ten),
            api_key: w("poly_api_key", 100, ten),
            post_order_burst: w("poly_post_order", 3_500, ten),
            post_order_sustained: w("poly_post_order_10m", 36_000, Duration::from_secs(600)),
            cancel_burst: w("poly_cancel", 3_000, ten),
            cancel_sustained: w("poly_cancel_10m", 30_000, Duration::from_secs(600)),
            gamma: w("gamma", 4_000, ten),
            gamma_markets: w("gamma_markets", 300, ten),
        }
    }
}

/// L2 HMAC headers over the exact bytes of each attempt.
#[derive(Debug)]
pub struct L2Signer {
    creds: ApiCredentials,
    address: Address,
    clock: Arc<dyn Clock>,
}

impl L2Signer {
    pub fn new(creds: ApiCredentials, address: Address, clock: Arc<dyn Clock>) -> L2Signer {
        L2Signer {
            creds,
            address,
            clock,
        }
    }
}

fn header_pairs<'a>(
    pairs: impl IntoIterator<Item = (&'static str, &'a str)>,
) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    pairs
        .into_iter()
        .map(|(k, v)| {
            Ok((
                HeaderName::from_bytes(k.as_bytes()).map_err(|e| e.to_string())?,
                HeaderValue::from_str(v).map_err(|e| e.to_string())?,
            ))
        })
        .collect()
}

impl RequestSigner for L2Signer {
    fn headers(
        &self,
        method: &Method,
        path: &str,
        body: &[u8],
    ) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
        let ts = u64::try_from(self.clock.now().secs()).map_err(|_| "clock before 1970")?;
        let body = (!body.is_empty()).then_some(body);
        let h = l2_headers(&self.creds, self.address, ts, method.as_str(), path, body)
            .map_err(|e| e.to_string())?;
        header_pairs(h.pairs())
    }
}

/// L1 `ClobAuth` headers (create/derive API keys).
#[derive(Debug)]
struct L1Signer {
    wallet: Arc<PolymarketWallet>,
    chain: Chain,
    nonce: u64,
    clock: Arc<dyn Clock>,
}

impl RequestSigner for L1Signer {
    fn headers(
        &self,
        _method: &Method,
        _path: &str,
        _body: &[u8],
    ) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
        let ts = u64::try_from(self.clock.now().secs()).map_err(|_| "clock before 1970")?;
        let h = l1_headers(&self.wallet, self.chain, ts, self.nonce).map_err(|e| e.to_string())?;
        header_pairs(h.pairs())
    }
}

fn status_error(status: u16, body: &[u8]) -> GatewayError {
    let e = types::api_error(status, body);
    match status {
        401 | 403 => GatewayError::Auth {
            venue: V,
            detail: e.message,
        },
        404 => GatewayError::NotFound {
            venue: V,
            detail: e.message,
        },
        429 => GatewayError::RateLimited {
            venue: V,
            retry_after: None,
        },
        500..=599 => GatewayError::Server {
            venue: V,
            status,
            detail: e.message,
        },
        _ => GatewayError::Rejected {
            venue: V,
            code: format!("http_{status}"),
            message: e.message,
        },
    }
}

fn ok_body(resp: ApiResponse) -> Result<bytes::Bytes, GatewayError> {
    if resp.status.is_success() {
        Ok(resp.body)
    } else {
        Err(status_error(resp.status.as_u16(), &resp.body))
    }
}

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

/// The Polymarket REST client (CLOB and Gamma).
#[derive(Clone)]
pub struct PolymarketClient {
    http: HttpClient,
    clob: String,
    gamma: String,
    chain: Chain,
    limits: Limits,
    read_timeout: Duration,
    write_timeout: Duration,
    l2: Option<Arc<L2Signer>>,
}

impl fmt::Debug for PolymarketClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolymarketClient")
            .field("clob", &self.clob)
            .field("gamma", &self.gamma)
            .field("authenticated", &self.l2.is_some())
            .finish()
    }
}

impl PolymarketClient {
    pub fn new(config: &PolymarketConfig) -> Result<PolymarketClient, GatewayError> {
        Self::with_time(config, Arc::new(TokioTime))
    }

    pub fn with_time(
        config: &PolymarketConfig,
        time: Arc<dyn TimeSource>,
    ) -> Result<PolymarketClient, GatewayError> {
        Ok(PolymarketClient {
            http: HttpClient::new(&config.http).map_err(|e| transport_error(V, e))?,
            clob: config.clob_url.trim_end_matches('/').to_string(),
            gamma: config.gamma_url.trim_end_matches('/').to_string(),
            chain: config.chain,
            limits: Limits::new(&time),
            read_timeout: config.read_timeout,
            write_timeout: config.write_timeout,
            l2: None,
        })
    }

    /// This client with L2 credentials for trading calls.
    pub fn authenticated(mut self, signer: Arc<L2Signer>) -> PolymarketClient {
        self.l2 = Some(signer);
        self
    }

    pub fn chain(&self) -> Chain {
        self.chain
    }

    fn uri(base: &str, path: &str) -> Result<Uri, GatewayError> {
        format!("{base}{path}")
            .parse()
            .map_err(|e| GatewayError::NotSent {
                venue: V,
                detail: format!("bad URL: {e}"),
            })
    }

    fn ep(&self, name: &'static str, idempotent: bool, limiters: &[&Limiter]) -> Endpoint {
        let mut budget = Budget::none();
        for l in limiters {
            budget = budget.with(l, 1);
        }
        Endpoint {
            venue: V,
            name,
            idempotent,
            timeout: if idempotent {
                self.read_timeout
            } else {
                self.write_timeout
            },
            budget,
        }
    }

    fn l2(&self, req: ApiRequest) -> Result<ApiRequest, GatewayError> {
        match &self.l2 {
            Some(s) => Ok(req.signed(s.clone())),
            None => Err(GatewayError::Auth {
                venue: V,
                detail: "no L2 API credentials".into(),
            }),
        }
    }

    async fn send(&self, req: ApiRequest) -> Result<bytes::Bytes, GatewayError> {
        let resp = self
            .http
            .send(req)
            .await
            .map_err(|e| transport_error(V, e))?;
        ok_body(resp)
    }

    async fn clob_get(
        &self,
        name: &'static str,
        path: &str,
        limiters: &[&Limiter],
        signed: bool,
    ) -> Result<bytes::Bytes, GatewayError> {
        let mut all: Vec<&Limiter> = vec![&self.limits.clob];
        all.extend_from_slice(limiters);
        let mut req = ApiRequest::new(
            Method::GET,
            Self::uri(&self.clob, path)?,
            self.ep(name, true, &all),
        );
        if signed {
            req = self.l2(req)?;
        }
        self.send(req).await
    }

    /// `GET /version`.
    pub async fn version(&self) -> Result<u32, GatewayError> {
        let body = self.clob_get("get_version", "/version", &[], false).await?;
        Ok(types::version(&body)?)
    }

    /// `GET /book`.
    pub async fn book(&self, token_id: &str) -> Result<PolyBook, GatewayError> {
        let book = self.limits.book.clone();
        let body = self
            .clob_get(
                "get_book",
                &format!("/book?token_id={}", enc(token_id)),
                &[&book],
                false,
            )
            .await?;
        Ok(types::book(&body)?)
    }

    /// `POST /books`: a read, so retried like one.
    pub async fn books(&self, token_ids: &[&str]) -> Result<Vec<PolyBook>, GatewayError> {
        let params: Vec<serde_json::Value> = token_ids
            .iter()
            .map(|t| serde_json::json!({"token_id": t}))
            .collect();
        let body = serde_json::to_vec(&params).map_err(|e| GatewayError::NotSent {
            venue: V,
            detail: e.to_string(),
        })?;
        let req = ApiRequest::new(
            Method::POST,
            Self::uri(&self.clob, "/books")?,
            self.ep("post_books", true, &[&self.limits.clob, &self.limits.books]),
        )
        .json_body(body);
        let body = self.send(req).await?;
        Ok(types::books(&body)?)
    }

    /// One page of `GET /markets`.
    pub async fn markets_page(&self, cursor: Option<&str>) -> Result<MarketsPage, GatewayError> {
        let cursor = cursor.unwrap_or(types::START_CURSOR);
        let body = self
            .clob_get(
                "get_markets",
                &format!("/markets?next_cursor={}", enc(cursor)),
                &[],
                false,
            )
            .await?;
        Ok(types::markets_page(&body)?)
    }

    /// Every CLOB market, following cursors.
    pub async fn markets(&self) -> Result<Vec<ClobMarket>, GatewayError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self.markets_page(cursor.as_deref()).await?;
            out.extend(page.markets);
            match page.next_cursor {
                Some(c) if Some(&c) != cursor.as_ref() => cursor = Some(c),
                _ => return Ok(out),
            }
        }
        Ok(out)
    }

    /// `GET /markets/{condition_id}`: whether the market has closed and
    /// which token won (settlement).
    pub async fn market_resolution(
        &self,
        condition_id: &str,
    ) -> Result<types::ClobResolution, GatewayError> {
        let body = self
            .clob_get(
                "get_market",
                &format!("/markets/{}", enc(condition_id)),
                &[],
                false,
            )
            .await?;
        Ok(types::clob_resolution(&body)?)
    }

    /// `GET /clob-markets/{condition_id}`.
    pub async fn market_info(&self, condition_id: &str) -> Result<MarketInfo, GatewayError> {
        let body = self
            .clob_get(
                "get_clob_market",
                &format!("/clob-markets/{}", enc(condition_id)),
                &[],
                false,
            )
            .await?;
        Ok(types::market_info(&body)?)
    }

    /// `GET /neg-risk`.
    pub async fn neg_risk(&self, token_id: &str) -> Result<bool, GatewayError> {
        let body = self
            .clob_get(
                "get_neg_risk",
                &format!("/neg-risk?token_id={}", enc(token_id)),
                &[],
                false,
            )
            .await?;
        Ok(types::neg_risk(&body)?)
    }

    /// `GET /tick-size`.
    pub async fn tick_size(&self, token_id: &str) -> Result<TickSize, GatewayError> {
        let body = self
            .clob_get(
                "get_tick_size",
                &format!("/tick-size?token_id={}", enc(token_id)),
                &[],
                false,
            )
            .await?;
        Ok(types::tick_size(&body)?)
    }

    /// Gamma `GET /markets` (offset paging).
    pub async fn gamma_markets(
        &self,
        limit: u32,
        offset: u32,
        extra_query: &str,
    ) -> Result<Vec<GammaMarket>, GatewayError> {
        let mut path = format!("/markets?limit={limit}&offset={offset}");
        if !extra_query.is_empty() {
            path.push('&');
            path.push_str(extra_query);
        }
        let req = ApiRequest::new(
            Method::GET,
            Self::uri(&self.gamma, &path)?,
            self.ep(
                "gamma_markets",
                true,
                &[&self.limits.gamma, &self.limits.gamma_markets],
            ),
        );
        let body = self.send(req).await?;
        Ok(types::gamma_markets(&body)?)
    }

    /// Create (or, if one exists for `nonce`, derive) API credentials.
    pub async fn create_or_derive_api_key(
        &self,
        wallet: Arc<PolymarketWallet>,
        nonce: u64,
        clock: Arc<dyn Clock>,
    ) -> Result<ApiCredentials, GatewayError> {
        let signer = Arc::new(L1Signer {
            wallet,
            chain: self.chain,
            nonce,
            clock,
        });
        let create = ApiRequest::new(
            Method::POST,
            Self::uri(&self.clob, "/auth/api-key")?,
            self.ep(
                "create_api_key",
                false,
                &[&self.limits.clob, &self.limits.api_key],
            ),
        )
        .signed(signer.clone());
        let body = match self.send(create).await {
            Ok(b) => b,
            // The CLOB refuses to create twice for a nonce: derive instead.
            Err(GatewayError::Rejected { .. }) => {
                let derive = ApiRequest::new(
                    Method::GET,
                    Self::uri(&self.clob, "/auth/derive-api-key")?,
                    self.ep(
                        "derive_api_key",
                        true,
                        &[&self.limits.clob, &self.limits.api_key],
                    ),
                )
                .signed(signer);
                self.send(derive).await?
            }
            Err(e) => return Err(e),
        };
        let (key, secret, passphrase) = types::api_credentials(&body)?;
        ApiCredentials::new(key, &secret, passphrase).map_err(|e| GatewayError::Decode {
            venue: V,
            field: "secret".into(),
            detail: e.to_string(),
        })
    }

    /// `POST /order` with exactly `body`, once.
    pub async fn post_order(&self, body: &[u8]) -> Result<ApiResponse, HttpError> {
        let uri = Self::uri(&self.clob, "/order").map_err(|e| HttpError::NotSent(e.to_string()))?;
        let req = ApiRequest::new(
            Method::POST,
            uri,
            self.ep(
                "post_order",
                false,
                &[
                    &self.limits.post_order_burst,
                    &self.limits.post_order_sustained,
                ],
            ),
        )
        .json_body(bytes::Bytes::copy_from_slice(body));
        let req = self
            .l2(req)
            .map_err(|e| HttpError::NotSent(e.to_string()))?;
        self.http.send(req).await
    }

    /// `DELETE /order`, once: (cancelled ids, refusals).
    pub async fn cancel_order(&self, order_id: &str) -> Result<types::CancelOutcome, GatewayError> {
        let body = serde_json::to_vec(&serde_json::json!({"orderID": order_id})).map_err(|e| {
            GatewayError::NotSent {
                venue: V,
                detail: e.to_string(),
            }
        })?;
        let req = ApiRequest::new(
            Method::DELETE,
            Self::uri(&self.clob, "/order")?,
            self.ep(
                "delete_order",
                false,
                &[&self.limits.cancel_burst, &self.limits.cancel_sustained],
            ),
        )
        .json_body(body);
        let body = self.send(self.l2(req)?).await?;
        Ok(types::cancel_response(&body)?)
    }

    /// `GET /data/order/{id}`.
    pub async fn order(&self, order_id: &str) -> Result<Option<OpenOrder>, GatewayError> {
        let lim = self.limits.data_orders.clone();
        let body = self
            .clob_get(
                "get_order",
                &format!("/data/order/{}", enc(order_id)),
                &[&lim],
                true,
            )
            .await?;
        Ok(types::data_order(&body)?)
    }

    /// `GET /balance-allowance` in 10^-6 units.
    pub async fn balance_allowance(
        &self,
        asset_type: &str,
        token_id: Option<&str>,
        signature_type: u8,
    ) -> Result<u64, GatewayError> {
        let mut path = format!(
            "/balance-allowance?asset_type={}&signature_type={signature_type}",
            enc(asset_type)
        );
        if let Some(t) = token_id {
            path.push_str(&format!("&token_id={}", enc(t)));
        }
        let lim = self.limits.balance.clone();
        let body = self.clob_get("get_balance", &path, &[&lim], true).await?;
        Ok(types::balance_micros(&body)?)
    }

    /// `GET /data/trades` (all pages), raw JSON items.
    pub async fn trades(&self) -> Result<Vec<serde_json::Value>, GatewayError> {
        let mut out = Vec::new();
        let mut cursor = types::START_CURSOR.to_string();
        let lim = self.limits.data_trades.clone();
        for _ in 0..MAX_PAGES {
            let body = self
                .clob_get(
                    "get_trades",
                    &format!("/data/trades?next_cursor={}", enc(&cursor)),
                    &[&lim],
                    true,
                )
                .await?;
            let v = crate::decode::parse(V, &body)?;
            let n = crate::decode::Node::root(V, &v);
            let items = n.with("data", |d| d.each(|x| Ok(x.value.clone())))?;
            out.extend(items);
            match crate::decode::opt_str(&n, "next_cursor")? {
                Some(c) if !c.is_empty() && c != types::END_CURSOR && c != cursor => cursor = c,
                _ => return Ok(out),
            }
        }
        Ok(out)
    }
}

// ------------------------------------------------------------ gateway

/// What signing an order for a token needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub condition_id: String,
    pub outcome: Option<Outcome>,
    pub tick: TickSize,
    pub neg_risk: bool,
    pub fee: Option<FeeSchedule>,
}

/// Polymarket as an [`OrderGateway`].
#[derive(Debug, Clone)]
pub struct PolymarketGateway {
    client: PolymarketClient,
    wallet: Arc<PolymarketWallet>,
    api_key: String,
    signature_type: SignatureType,
    funder: Option<Address>,
    tokens: Arc<Mutex<HashMap<String, TokenInfo>>>,
    /// The exchange version last read from `/version` (0 = unknown).
    version: Arc<AtomicU32>,
    clock: Arc<dyn Clock>,
}

fn invalid(detail: impl Into<String>) -> GatewayError {
    GatewayError::InvalidOrder {
        venue: V,
        detail: detail.into(),
    }
}

fn poly_err(e: super::PolymarketError) -> GatewayError {
    invalid(e.to_string())
}

impl PolymarketGateway {
    /// `client` must already carry the L2 signer for `creds`.
    pub fn new(
        client: PolymarketClient,
        wallet: Arc<PolymarketWallet>,
        creds: &ApiCredentials,
        signature_type: SignatureType,
        funder: Option<Address>,
        clock: Arc<dyn Clock>,
    ) -> PolymarketGateway {
        PolymarketGateway {
            client,
            wallet,
            api_key: creds.api_key().to_string(),
            signature_type,
            funder,
            tokens: Arc::new(Mutex::new(HashMap::new())),
            version: Arc::new(AtomicU32::new(0)),
            clock,
        }
    }

    pub fn client(&self) -> &PolymarketClient {
        &self.client
    }

    /// Reads `/version`; trading is refused unless it is the supported one.
    pub async fn refresh_version(&self) -> Result<u32, GatewayError> {
        let v = self.client.version().await?;
        self.version.store(v, Ordering::SeqCst);
        if v != SUPPORTED_VERSION {
            tracing::warn!(
                version = v,
                "Polymarket exchange version not supported: not trading"
            );
        }
        Ok(v)
    }

    /// Sets the exchange version without asking the venue (a value read
    /// elsewhere, e.g. by another client of the same venue).
    pub fn set_version(&self, version: u32) {
        self.version.store(version, Ordering::SeqCst);
    }

    /// Loads a market's tokens, tick, neg-risk flag and fee details.
    pub async fn load_market(&self, condition_id: &str) -> Result<MarketInfo, GatewayError> {
        let info = self.client.market_info(condition_id).await?;
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        for (token, outcome) in &info.tokens {
            let outcome = match outcome.trim().to_ascii_lowercase().as_str() {
                "yes" => Some(Outcome::Yes),
                "no" => Some(Outcome::No),
                _ => None,
            };
            tokens.insert(
                token.clone(),
                TokenInfo {
                    condition_id: info.condition_id.clone(),
                    outcome,
                    tick: info.tick_size,
                    neg_risk: info.neg_risk,
                    fee: info.fee,
                },
            );
        }
        Ok(info)
    }

    /// Registers a token directly (e.g. from config).
    pub fn register_token(&self, token_id: &str, info: TokenInfo) {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token_id.to_string(), info);
    }

    /// The market's fee schedule; an unknown fee fails closed.
    pub fn fee_schedule(&self, token_id: &str) -> Result<FeeSchedule, GatewayError> {
        self.token(token_id)?.fee.ok_or_else(|| {
            invalid(format!(
                "fee details unknown for token {token_id}: not traded"
            ))
        })
    }

    fn token(&self, token_id: &str) -> Result<TokenInfo, GatewayError> {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(token_id)
            .cloned()
            .ok_or_else(|| {
                invalid(format!(
                    "token {token_id} not loaded: call load_market first"
                ))
            })
    }

    /// Signs `request` into the exact `POST /order` body and its hash.
    fn sign(&self, request: &OrderRequest) -> Result<(Vec<u8>, String), GatewayError> {
        if request.instrument.venue != V {
            return Err(invalid("instrument is not a Polymarket token"));
        }
        let version = self.version.load(Ordering::SeqCst);
        if version != SUPPORTED_VERSION {
            return Err(invalid(format!(
                "exchange version {version} (0 = not read yet) is not {SUPPORTED_VERSION}: call refresh_version"
            )));
        }
        let token = self.token(&request.instrument.symbol)?;
        // Fail closed: a market whose fee is unknown is not traded.
        if token.fee.is_none() {
            return Err(invalid("fee details unknown: market not traded"));
        }
        let amounts = limit_order_amounts(
            request.side,
            request.limit_price,
            request.quantity,
            token.tick,
        )
        .map_err(poly_err)?;
        let token_id = U256::from_dec_str(&request.instrument.symbol)
            .map_err(|e| invalid(format!("token id: {e}")))?;
        let timestamp_ms =
            u64::try_from(self.clock.now().millis()).map_err(|_| invalid("clock before 1970"))?;
        let params = OrderParams {
            token_id,
            side: request.side,
            amounts,
            signature_type: self.signature_type,
            funder: self.funder,
            salt: random_salt().map_err(poly_err)?,
            timestamp_ms,
            metadata: B256::ZERO,
            builder: B256::ZERO,
        };
        let domain = ExchangeDomain::v2(self.client.chain(), token.neg_risk);
        let signed = params
            .build(self.wallet.address())
            .map_err(poly_err)?
            .sign(&self.wallet, &domain, 0)
            .map_err(poly_err)?;
        let order_type = match request.time_in_force {
            TimeInForce::FillOrKill => OrderType::Fok,
            TimeInForce::ImmediateOrCancel => OrderType::Fak,
            TimeInForce::GoodTillCancel => OrderType::Gtc,
        };
        let body = post_order_body(&signed, &self.api_key, &PostOrderOptions::new(order_type))
            .map_err(poly_err)?;
        Ok((body, signed.order_id().to_string()))
    }

    fn estimated_fee(&self, token: &str, filled: Quantity, price: Option<Price>) -> Cash {
        // V2 fees are applied at match time and not echoed in the answer:
        // estimate from the market's schedule (reconcile with trades later).
        match (self.token(token).ok().and_then(|t| t.fee), price) {
            (Some(fee), Some(p)) if !filled.is_zero() => {
                fee.taker_fee(filled, p).unwrap_or(Cash::ZERO)
            }
            _ => Cash::ZERO,
        }
    }

    fn report(&self, order: &PreparedOrder, resp: &PostOrderResponse) -> OrderReport {
        let req = &order.request;
        // Shares filled and cash moved, by side (polymarket.md §5).
        let (shares, cash) = match req.side {
            Side::Buy => (
                resp.taking.unwrap_or(Quantity::ZERO),
                resp.making.unwrap_or(Quantity::ZERO),
            ),
            Side::Sell => (
                resp.making.unwrap_or(Quantity::ZERO),
                resp.taking.unwrap_or(Quantity::ZERO),
            ),
        };
        let average_price = if shares.is_zero() {
            None
        } else {
            i64::try_from(cash.micros()).ok().and_then(|c| {
                Cash::from_micros(c)
                    .to_notional()
                    .per_contract(shares, Rounding::HalfEven)
            })
        };
        let status = match resp.status.as_str() {
            "matched" if shares >= req.quantity => OrderStatus::Filled,
            "matched" => OrderStatus::PartiallyFilled,
            "live" | "delayed" => OrderStatus::Open,
            _ if shares.is_zero() => OrderStatus::Cancelled,
            _ => OrderStatus::PartiallyFilled,
        };
        OrderReport {
            client_order_id: req.client_order_id.clone(),
            venue_order_id: Some(if resp.order_id.is_empty() {
                order.venue_order_id.clone().unwrap_or_default()
            } else {
                resp.order_id.clone()
            }),
            status,
            filled: shares,
            average_price,
            fees: self.estimated_fee(&req.instrument.symbol, shares, average_price),
            reason: None,
            updated_at: self.clock.now(),
        }
    }

    fn killed(order: &PreparedOrder, message: &str, now: Timestamp) -> OrderReport {
        OrderReport {
            client_order_id: order.request.client_order_id.clone(),
            venue_order_id: order.venue_order_id.clone(),
            status: OrderStatus::Cancelled,
            filled: Quantity::ZERO,
            average_price: None,
            fees: Cash::ZERO,
            reason: Some(message.chars().take(256).collect()),
            updated_at: now,
        }
    }

    async fn post_once(
        &self,
        order: &PreparedOrder,
    ) -> Result<Result<OrderReport, (u16, String)>, GatewayError> {
        let resp = self
            .client
            .post_order(&order.body)
            .await
            .map_err(|e| transport_error(V, e))?;
        let status = resp.status.as_u16();
        if resp.status.is_success() {
            let decoded = types::post_order_response(&resp.body)?;
            if !decoded.error_msg.is_empty() || !decoded.success {
                return Ok(Err((status, decoded.error_msg)));
            }
            return Ok(Ok(self.report(order, &decoded)));
        }
        match status {
            400 | 422 => Ok(Err((status, types::api_error(status, &resp.body).message))),
            s => Err(status_error(s, &resp.body)),
        }
    }
}

/// The venue already has this order (same hash).
fn is_duplicate(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("already exists") || m.contains("duplicate")
}

/// FOK/FAK orders that found nothing to match: killed, not malformed.
fn is_kill(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("fully filled or killed") || m.contains("partially filled or killed")
}

#[async_trait]
impl OrderGateway for PolymarketGateway {
    fn venue(&self) -> Venue {
        V
    }

    fn prepare(&self, request: &OrderRequest) -> Result<PreparedOrder, GatewayError> {
        let (body, hash) = self.sign(request)?;
        Ok(PreparedOrder {
            request: request.clone(),
            venue_order_id: Some(hash),
            body,
        })
    }

    async fn submit(&self, order: &PreparedOrder) -> Result<OrderReport, GatewayError> {
        let mut outcome = self.post_once(order).await?;
        if let Err((_, msg)) = &outcome
            && msg.contains("order_version_mismatch")
        {
            // The clients re-read /version and retry once (polymarket.md §3).
            // The prepared bytes are journaled and signed for version 2, so
            // they are re-sent as they are only if the venue still says 2;
            // otherwise the order is refused here and must be re-prepared.
            let v = self.refresh_version().await?;
            if v == SUPPORTED_VERSION {
                outcome = self.post_once(order).await?;
            }
        }
        match outcome {
            Ok(report) => Ok(report),
            Err((_, msg)) if is_kill(&msg) => Ok(Self::killed(order, &msg, self.clock.now())),
            // The same signed payload again: the first attempt reached the
            // venue. Not a rejection: the order exists; resolve by query.
            Err((_, msg)) if is_duplicate(&msg) => Err(GatewayError::Duplicate {
                venue: V,
                client_order_id: order.request.client_order_id.clone(),
            }),
            Err((status, msg)) => Err(GatewayError::Rejected {
                venue: V,
                code: if msg.contains("order_version_mismatch") {
                    "order_version_mismatch".into()
                } else {
                    format!("http_{status}")
                },
                message: msg,
            }),
        }
    }

    async fn cancel(&self, key: &OrderKey) -> Result<OrderReport, GatewayError> {
        let id = key
            .venue_order_id
            .clone()
            .ok_or_else(|| GatewayError::NotFound {
                venue: V,
                detail: "a Polymarket order is found by its hash; none given".into(),
            })?;
        let (_, refused) = self.client.cancel_order(&id).await?;
        if let Some((_, reason)) = refused.iter().find(|(k, _)| *k == id)
            && reason.contains("not found")
        {
            return Err(GatewayError::NotFound {
                venue: V,
                detail: reason.clone(),
            });
        }
        self.query(key)
            .await?
            .ok_or_else(|| GatewayError::NotFound {
                venue: V,
                detail: format!("order {id} unknown after cancel"),
            })
    }

    async fn query(&self, key: &OrderKey) -> Result<Option<OrderReport>, GatewayError> {
        let Some(id) = &key.venue_order_id else {
            return Err(GatewayError::NotFound {
                venue: V,
                detail: "a Polymarket order is found by its hash; none given".into(),
            });
        };
        Ok(self.client.order(id).await?.map(|o| {
            let filled = o.size_matched;
            // The order view carries the limit price, not the fill prices:
            // an upper bound for buys, reconciled from trades later.
            let average_price = (!filled.is_zero()).then_some(o.price);
            OrderReport {
                client_order_id: key.client_order_id.clone(),
                venue_order_id: Some(o.id.clone()),
                status: o.order_status(),
                filled,
                average_price,
                fees: self.estimated_fee(&key.instrument.symbol, filled, average_price),
                reason: None,
                updated_at: self.clock.now(),
            }
        }))
    }

    async fn balance(&self) -> Result<Balance, GatewayError> {
        let micros = self
            .client
            .balance_allowance("COLLATERAL", None, self.signature_type.code())
            .await?;
        Ok(Balance {
            venue: V,
            available: Cash::from_micros(i64::try_from(micros).unwrap_or(i64::MAX)),
            portfolio_value: None,
            as_of: self.clock.now(),
        })
    }

    /// Holdings of every loaded token, from the conditional-token balances.
    async fn positions(&self) -> Result<Vec<Position>, GatewayError> {
        let tokens: Vec<(String, TokenInfo)> = self
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut out = Vec::new();
        for (token, info) in tokens {
            let Some(outcome) = info.outcome else {
                continue;
            };
            let micros = self
                .client
                .balance_allowance("CONDITIONAL", Some(&token), self.signature_type.code())
                .await?;
            if micros == 0 {
                continue;
            }
            let bad = |e: orion_core::IdError| GatewayError::Decode {
                venue: V,
                field: "token".into(),
                detail: e.to_string(),
            };
            out.push(Position {
                market: MarketId::new(V, &info.condition_id).map_err(bad)?,
                instrument: orion_core::InstrumentId::new(V, &token).map_err(bad)?,
                outcome,
                quantity: Quantity::from_micros(micros),
            });
        }
        Ok(out)
    }

    async fn fills(&self, since: Option<Timestamp>) -> Result<Vec<Fill>, GatewayError> {
        let items = self.client.trades().await?;
        let mut out = Vec::new();
        for v in &items {
            let n = crate::decode::Node::root(V, v);
            let taker = crate::decode::opt_str(&n, "trader_side")?.as_deref() != Some("MAKER");
            let ts = n.with("match_time", |c| c.i64())?;
            let ts = Timestamp::from_secs(ts);
            if since.is_some_and(|s| ts < s) {
                continue;
            }
            // A maker's own order is the first maker order of the trade.
            let (order_id, asset, side, price, size) = if taker {
                (
                    n.with("taker_order_id", |c| c.id().map(str::to_string))?,
                    n.with("asset_id", |c| c.instrument())?,
                    n.with("side", |c| c.str().map(str::to_string))?,
                    n.with("price", |c| c.level_price())?,
                    n.with("size", |c| c.qty())?,
                )
            } else {
                n.with("maker_orders", |m| {
                    m.at(0, |o| {
                        Ok((
                            o.with("order_id", |c| c.id().map(str::to_string))?,
                            o.with("asset_id", |c| c.instrument())?,
                            o.with("side", |c| c.str().map(str::to_string))?,
                            o.with("price", |c| c.level_price())?,
                            o.with("matched_amount", |c| c.qty())?,
                        ))
                    })
                })?
            };
            let info = self.token(&asset.symbol).ok();
            out.push(Fill {
                fill_id: n.with("id", |c| c.id().map(str::to_string))?,
                venue_order_id: order_id,
                client_order_id: None,
                outcome: info
                    .as_ref()
                    .and_then(|i| i.outcome)
                    .unwrap_or(Outcome::Yes),
                fee: if taker {
                    self.estimated_fee(&asset.symbol, size, Some(price))
                } else {
                    Cash::ZERO
                },
                instrument: asset,
                side: if side.eq_ignore_ascii_case("SELL") {
                    Side::Sell
                } else {
                    Side::Buy
                },
                price,
                quantity: size,
                is_taker: taker,
                ts,
            });
        }
        Ok(out)
    }
}
