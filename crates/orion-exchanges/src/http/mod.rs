//! The one HTTP stack every outbound REST call goes through.
//!
//! hyper 1 with hyper-util's pooled client (HTTP/1.1 keep-alive; HTTP/2 by
//! ALPN where the venue offers it) over rustls with the ring provider and
//! webpki roots, optionally pinned ([`tls`]). Plain `http://` is refused
//! except to loopback, which only the simulator uses.
//!
//! tower layers, outermost first:
//!
//! 1. observe: debug logging with credentials masked ([`mask`]), a latency
//!    histogram and status counters (`metrics` facade);
//! 2. retry ([`retry`]): exponential backoff with full jitter, for requests
//!    marked idempotent only, on timeouts, transport errors, 429 and 5xx;
//! 3. rate limit ([`limit`]): reserve in the endpoint's limiters and wait;
//! 4. timeout: per endpoint class, per attempt;
//! 5. hyper: sign (just before sending, so a retried request carries a fresh
//!    timestamp), send, read the body up to a size limit.
//!
//! Each request names its [`Endpoint`]: venue, metric name, idempotency,
//! timeout and budget. The venue clients build those per endpoint class.

pub mod limit;
pub mod mask;
pub mod retry;
pub mod tls;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use orion_core::Venue;
use tower::util::BoxCloneSyncService;
use tower::{Layer, Service, ServiceBuilder, ServiceExt};

pub use limit::{Budget, Limiter, SlidingWindow, TimeSource, TokenBucket, TokioTime};
pub use retry::{Backoff, RetryPolicy};
pub use tls::{SpkiPin, parse_pin};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What kind of call a request is: drives limits, retries, timeout, metrics.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub venue: Venue,
    /// Metric and log label ("get_orderbook", "post_order", ...).
    pub name: &'static str,
    /// Safe to send twice. Only reads are; order submits and cancels never.
    pub idempotent: bool,
    pub timeout: Duration,
    pub budget: Budget,
}

/// Computes authentication headers for one attempt, just before sending.
pub trait RequestSigner: Send + Sync + fmt::Debug {
    fn headers(
        &self,
        method: &Method,
        path: &str,
        body: &[u8],
    ) -> Result<Vec<(HeaderName, HeaderValue)>, String>;
}

/// A request as the stack sees it: cheap to clone for retries.
#[derive(Clone)]
pub struct ApiRequest {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub endpoint: Endpoint,
    pub signer: Option<Arc<dyn RequestSigner>>,
    /// 0 for the first attempt.
    pub attempt: u32,
}

impl fmt::Debug for ApiRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiRequest")
            .field("method", &self.method)
            .field("uri", &self.uri)
            .field("endpoint", &self.endpoint.name)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl ApiRequest {
    pub fn new(method: Method, uri: Uri, endpoint: Endpoint) -> ApiRequest {
        ApiRequest {
            method,
            uri,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            endpoint,
            signer: None,
            attempt: 0,
        }
    }

    pub fn json_body(mut self, body: impl Into<Bytes>) -> ApiRequest {
        self.body = body.into();
        self.headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        self
    }

    pub fn signed(mut self, signer: Arc<dyn RequestSigner>) -> ApiRequest {
        self.signer = Some(signer);
        self
    }
}

/// A complete response.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Why a request produced no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// Nothing reached the venue: bad URL, refused plain http, signing
    /// failure, or the connection could not be made.
    #[error("not sent: {0}")]
    NotSent(String),
    /// No answer in time: the venue may have acted on the request.
    #[error("no response within {0:?}")]
    Timeout(Duration),
    /// The connection failed after the request may have been written.
    #[error("transport error: {0}")]
    Transport(String),
    /// The answer exceeded the body size limit.
    #[error("response body larger than {0} bytes")]
    TooLarge(usize),
}

impl HttpError {
    fn from_box(e: BoxError) -> HttpError {
        match e.downcast::<HttpError>() {
            Ok(h) => *h,
            Err(other) => HttpError::Transport(other.to_string()),
        }
    }

    /// True when the request certainly did not reach the venue.
    pub fn not_sent(&self) -> bool {
        matches!(self, HttpError::NotSent(_))
    }
}

/// Per-venue transport settings.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// SPKI SHA-256 pins; empty = normal webpki validation only.
    pub pins: Vec<SpkiPin>,
    /// Offer HTTP/2 by ALPN (HTTP/1.1 is always offered).
    pub http2: bool,
    pub backoff: Backoff,
    pub pool_idle_timeout: Duration,
    /// Largest response body read.
    pub max_body: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            pins: Vec::new(),
            http2: true,
            backoff: Backoff::default(),
            pool_idle_timeout: Duration::from_secs(90),
            max_body: 16 << 20,
        }
    }
}

/// True for 127.0.0.0/8, ::1 and `localhost`.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    h.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// Refuses cleartext to anything but loopback.
pub fn check_scheme(uri: &Uri) -> Result<(), HttpError> {
    let host = uri.host().unwrap_or_default();
    match uri.scheme_str() {
        Some("https") | Some("wss") => Ok(()),
        Some("http") | Some("ws") if is_loopback_host(host) => Ok(()),
        Some("http") | Some("ws") => Err(HttpError::NotSent(format!(
            "plain {} to {host} refused: cleartext is allowed to loopback only",
            uri.scheme_str().unwrap_or_default()
        ))),
        other => Err(HttpError::NotSent(format!(
            "unsupported URL scheme {other:?}"
        ))),
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

// ------------------------------------------------------------ hyper

/// The innermost service: sign, send, read.
#[derive(Clone)]
struct HyperService {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    max_body: usize,
}

impl Service<ApiRequest> for HyperService {
    type Response = ApiResponse;
    type Error = BoxError;
    type Future = BoxFuture<Result<ApiResponse, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: ApiRequest) -> Self::Future {
        let client = self.client.clone();
        let max_body = self.max_body;
        Box::pin(async move {
            check_scheme(&req.uri)?;
            let mut builder = http::Request::builder()
                .method(req.method.clone())
                .uri(req.uri.clone());
            for (k, v) in &req.headers {
                builder = builder.header(k, v);
            }
            if let Some(signer) = &req.signer {
                let headers = signer
                    .headers(&req.method, req.uri.path(), &req.body)
                    .map_err(|e| HttpError::NotSent(format!("signing: {e}")))?;
                for (k, v) in headers {
                    builder = builder.header(k, v);
                }
            }
            let request = builder
                .body(Full::new(req.body.clone()))
                .map_err(|e| HttpError::NotSent(format!("building the request: {e}")))?;
            let response = client.request(request).await.map_err(|e| {
                if e.is_connect() {
                    HttpError::NotSent(format!("connect: {e}"))
                } else {
                    HttpError::Transport(e.to_string())
                }
            })?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, max_body)
                .collect()
                .await
                .map_err(|e| {
                    if e.downcast_ref::<http_body_util::LengthLimitError>()
                        .is_some()
                    {
                        HttpError::TooLarge(max_body)
                    } else {
                        HttpError::Transport(format!("reading the body: {e}"))
                    }
                })?
                .to_bytes();
            Ok(ApiResponse {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        })
    }
}

// ------------------------------------------------------------ timeout

/// Per-attempt timeout from the request's endpoint class.
#[derive(Debug, Clone, Copy, Default)]
struct TimeoutLayer;

#[derive(Debug, Clone)]
struct TimeoutService<S> {
    inner: S,
}

impl<S> Layer<S> for TimeoutLayer {
    type Service = TimeoutService<S>;
    fn layer(&self, inner: S) -> TimeoutService<S> {
        TimeoutService { inner }
    }
}

impl<S> Service<ApiRequest> for TimeoutService<S>
where
    S: Service<ApiRequest, Response = ApiResponse, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = ApiResponse;
    type Error = BoxError;
    type Future = BoxFuture<Result<ApiResponse, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: ApiRequest) -> Self::Future {
        let limit = req.endpoint.timeout;
        let fut = self.inner.call(req);
        Box::pin(async move {
            match tokio::time::timeout(limit, fut).await {
                Ok(r) => r,
                Err(_) => Err(Box::new(HttpError::Timeout(limit)) as BoxError),
            }
        })
    }
}

// ------------------------------------------------------------ rate limit

/// Reserve in the endpoint's limiters and wait for the slot.
#[derive(Debug, Clone, Copy, Default)]
struct RateLimitLayer;

#[derive(Debug, Clone)]
struct RateLimitService<S> {
    inner: S,
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimitService<S>;
    fn layer(&self, inner: S) -> RateLimitService<S> {
        RateLimitService { inner }
    }
}

impl<S> Service<ApiRequest> for RateLimitService<S>
where
    S: Service<ApiRequest, Response = ApiResponse, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = ApiResponse;
    type Error = BoxError;
    type Future = BoxFuture<Result<ApiResponse, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Readiness is decided per request in `call` (which limiter, what
        // cost); the inner hyper service is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: ApiRequest) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let wait = req.endpoint.budget.reserve();
            if !wait.is_zero() {
                let venue = req.endpoint.venue.as_str();
                metrics::counter!("orion_http_rate_limit_waits_total",
                    "venue" => venue, "endpoint" => req.endpoint.name)
                .increment(1);
                metrics::histogram!("orion_http_rate_limit_wait_seconds",
                    "venue" => venue, "endpoint" => req.endpoint.name)
                .record(wait);
                tracing::debug!(
                    venue,
                    endpoint = req.endpoint.name,
                    ?wait,
                    "rate limit: waiting"
                );
                tokio::time::sleep(wait).await;
            }
            let budget = req.endpoint.budget.clone();
            let result = inner.ready().await?.call(req).await;
            if let Ok(resp) = &result
                && resp.status == StatusCode::TOO_MANY_REQUESTS
            {
                // The venue's budget is tighter than our model of it (another
                // process on the key, a lower tier): stop everyone drawing
                // from these limiters until they refill, submits included.
                budget.drain();
            }
            result
        })
    }
}

// ------------------------------------------------------------ observe

#[derive(Debug, Clone, Copy, Default)]
struct ObserveLayer;

#[derive(Debug, Clone)]
struct ObserveService<S> {
    inner: S,
}

impl<S> Layer<S> for ObserveLayer {
    type Service = ObserveService<S>;
    fn layer(&self, inner: S) -> ObserveService<S> {
        ObserveService { inner }
    }
}

impl<S> Service<ApiRequest> for ObserveService<S>
where
    S: Service<ApiRequest, Response = ApiResponse, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = ApiResponse;
    type Error = HttpError;
    type Future = BoxFuture<Result<ApiResponse, HttpError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), HttpError>> {
        self.inner.poll_ready(cx).map_err(HttpError::from_box)
    }

    fn call(&mut self, req: ApiRequest) -> Self::Future {
        let venue = req.endpoint.venue.as_str();
        let name = req.endpoint.name;
        if tracing::enabled!(tracing::Level::DEBUG) {
            tracing::debug!(
                venue, endpoint = name, method = %req.method, uri = %req.uri,
                headers = %mask::headers(&req.headers),
                body = %mask::body(&req.body),
                "request"
            );
        }
        let fut = self.inner.call(req);
        Box::pin(async move {
            let start = tokio::time::Instant::now();
            let result = fut.await.map_err(HttpError::from_box);
            let elapsed = start.elapsed();
            let status: &'static str = match &result {
                Ok(r) => status_label(r.status),
                Err(HttpError::Timeout(_)) => "timeout",
                Err(HttpError::NotSent(_)) => "not_sent",
                Err(_) => "transport_error",
            };
            metrics::histogram!("orion_http_request_duration_seconds",
                "venue" => venue, "endpoint" => name)
            .record(elapsed);
            metrics::counter!("orion_http_responses_total",
                "venue" => venue, "endpoint" => name, "status" => status)
            .increment(1);
            if tracing::enabled!(tracing::Level::DEBUG) {
                match &result {
                    Ok(r) => tracing::debug!(venue, endpoint = name, status = r.status.as_u16(),
                        ?elapsed, body = %mask::body(&r.body), "response"),
                    Err(e) => {
                        tracing::debug!(venue, endpoint = name, ?elapsed, error = %e, "request failed")
                    }
                }
            }
            result
        })
    }
}

fn status_label(s: StatusCode) -> &'static str {
    // Metric labels must be 'static: the codes the venues document, then classes.
    match s.as_u16() {
        200 => "200",
        201 => "201",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        409 => "409",
        429 => "429",
        500 => "500",
        502 => "502",
        503 => "503",
        504 => "504",
        other => match other / 100 {
            1 => "1xx",
            2 => "2xx",
            3 => "3xx",
            4 => "4xx",
            _ => "5xx",
        },
    }
}

// ------------------------------------------------------------ client

/// One venue's layered HTTP client; cheap to clone (shares the pool).
#[derive(Clone)]
pub struct HttpClient {
    svc: BoxCloneSyncService<ApiRequest, ApiResponse, HttpError>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HttpClient")
    }
}

impl HttpClient {
    pub fn new(config: &HttpConfig) -> Result<HttpClient, HttpError> {
        // hyper-rustls sets ALPN itself from enable_http1/enable_http2 (h2
        // first when HTTP/2 is on) and refuses a config that has it already.
        let tls = tls::client_config(&config.pins, &[]).map_err(HttpError::NotSent)?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(Duration::from_secs(10)));
        let builder = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            // Plain http is let through here and refused per request unless
            // the host is loopback (check_scheme).
            .https_or_http();
        let connector = if config.http2 {
            builder.enable_http1().enable_http2().wrap_connector(http)
        } else {
            builder.enable_http1().wrap_connector(http)
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(config.pool_idle_timeout)
            .build(connector);
        let svc = ServiceBuilder::new()
            .layer(ObserveLayer)
            .layer(tower::retry::RetryLayer::new(RetryPolicy::new(
                config.backoff,
            )))
            .layer(RateLimitLayer)
            .layer(TimeoutLayer)
            .service(HyperService {
                client,
                max_body: config.max_body,
            });
        Ok(HttpClient {
            svc: BoxCloneSyncService::new(svc),
        })
    }

    /// Sends through every layer.
    pub async fn send(&self, req: ApiRequest) -> Result<ApiResponse, HttpError> {
        self.svc.clone().oneshot(req).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Answers from a script and records when each call arrived.
    #[derive(Clone)]
    struct Scripted {
        statuses: Arc<Mutex<Vec<u16>>>,
        calls: Arc<Mutex<Vec<tokio::time::Instant>>>,
    }

    impl Scripted {
        fn new(statuses: &[u16]) -> Scripted {
            Scripted {
                statuses: Arc::new(Mutex::new(statuses.iter().rev().copied().collect())),
                calls: Arc::new(Mutex::new(Vec::new())),
            }
        }
    }

    impl Service<ApiRequest> for Scripted {
        type Response = ApiResponse;
        type Error = BoxError;
        type Future = BoxFuture<Result<ApiResponse, BoxError>>;
        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, _req: ApiRequest) -> Self::Future {
            self.calls.lock().unwrap().push(tokio::time::Instant::now());
            let status = self.statuses.lock().unwrap().pop().unwrap_or(200);
            Box::pin(async move {
                Ok(ApiResponse {
                    status: StatusCode::from_u16(status).unwrap(),
                    headers: HeaderMap::new(),
                    body: Bytes::new(),
                })
            })
        }
    }

    fn stack(inner: Scripted) -> BoxCloneSyncService<ApiRequest, ApiResponse, HttpError> {
        BoxCloneSyncService::new(
            ServiceBuilder::new()
                .layer(ObserveLayer)
                .layer(tower::retry::RetryLayer::new(RetryPolicy::new(Backoff {
                    base: Duration::from_millis(100),
                    cap: Duration::from_secs(1),
                    max_retries: 3,
                })))
                .layer(RateLimitLayer)
                .layer(TimeoutLayer)
                .service(inner),
        )
    }

    fn req(idempotent: bool, budget: Budget) -> ApiRequest {
        ApiRequest::new(
            if idempotent {
                Method::GET
            } else {
                Method::POST
            },
            "http://127.0.0.1:1/x".parse().unwrap(),
            Endpoint {
                venue: Venue::Kalshi,
                name: "test",
                idempotent,
                timeout: Duration::from_secs(5),
                budget,
            },
        )
    }

    #[tokio::test(start_paused = true)]
    async fn stack_paces_requests_within_the_bucket() {
        // Kalshi Basic writes: 100 tokens/s, capacity 100, 10 per request.
        let bucket = Limiter::Bucket(Arc::new(TokenBucket::new(
            "w",
            100,
            100,
            Arc::new(TokioTime),
        )));
        let inner = Scripted::new(&[]);
        let svc = stack(inner.clone());
        let start = tokio::time::Instant::now();
        let handles: Vec<_> = (0..30)
            .map(|_| {
                let s = svc.clone();
                let r = req(false, Budget::none().with(&bucket, 10));
                tokio::spawn(async move { s.oneshot(r).await })
            })
            .collect();
        for h in handles {
            assert_eq!(h.await.unwrap().unwrap().status, StatusCode::OK);
        }
        let calls = inner.calls.lock().unwrap().clone();
        assert_eq!(calls.len(), 30);
        // Ten at once, then one every 100 ms: never more than capacity + rate × t.
        for (i, t) in calls.iter().enumerate() {
            let allowed = 10 + (t.duration_since(start).as_millis() / 100) as usize;
            assert!(
                i < allowed,
                "call {i} at {:?} exceeds the budget",
                t.duration_since(start)
            );
        }
        assert!(calls[29].duration_since(start) >= Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn stack_retries_reads_only() {
        let inner = Scripted::new(&[503, 429, 200]);
        let r = stack(inner.clone())
            .oneshot(req(true, Budget::none()))
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(inner.calls.lock().unwrap().len(), 3);

        let inner = Scripted::new(&[503, 200]);
        let r = stack(inner.clone())
            .oneshot(req(false, Budget::none()))
            .await
            .unwrap();
        assert_eq!(
            r.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "a submit is sent once"
        );
        assert_eq!(inner.calls.lock().unwrap().len(), 1);

        // Retries give up after max_retries.
        let inner = Scripted::new(&[500, 500, 500, 500, 500, 500]);
        let r = stack(inner.clone())
            .oneshot(req(true, Budget::none()))
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(inner.calls.lock().unwrap().len(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_drains_the_bucket() {
        let bucket = Limiter::Bucket(Arc::new(TokenBucket::new(
            "r",
            100,
            100,
            Arc::new(TokioTime),
        )));
        let inner = Scripted::new(&[429]);
        let svc = stack(inner.clone());
        let start = tokio::time::Instant::now();
        // A write that hits 429: not retried, but the bucket is emptied, so
        // the next request waits for refill instead of bursting.
        let r = svc
            .clone()
            .oneshot(req(false, Budget::none().with(&bucket, 10)))
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        svc.oneshot(req(false, Budget::none().with(&bucket, 10)))
            .await
            .unwrap();
        let calls = inner.calls.lock().unwrap().clone();
        assert_eq!(calls[1].duration_since(start), Duration::from_millis(100));
    }

    #[test]
    fn cleartext_only_to_loopback() {
        let ok = [
            "http://127.0.0.1:1/x",
            "http://localhost/x",
            "http://[::1]:8/x",
            "https://a.b/x",
            "ws://127.0.0.1/",
        ];
        for u in ok {
            assert!(check_scheme(&u.parse().unwrap()).is_ok(), "{u}");
        }
        let bad = [
            "http://example.com/x",
            "http://10.0.0.1/x",
            "ftp://127.0.0.1/",
            "ws://kalshi.com/",
        ];
        for u in bad {
            assert!(
                check_scheme(&u.parse().unwrap()).unwrap_err().not_sent(),
                "{u}"
            );
        }
    }
}
