//! One loopback HTTP listener per simulated venue, with the connection-level
//! faults a plain `axum::serve` cannot express: answering nothing, dropping
//! the connection, and the whole venue going away (listener closed, so new
//! connections are refused) and coming back on the same port.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, broadcast, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tower::ServiceExt;

use crate::faults::{FaultKind, FaultSet, HTTP_KINDS};
use crate::scenario::VenueName;

/// Lock a std mutex, recovering the data if a panicking thread poisoned it:
/// the simulator's state stays usable and every mutation is atomic under the lock.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Per-connection handle a handler can use to drop its own connection.
#[derive(Debug, Clone)]
pub struct ConnKill(pub Arc<Notify>);

/// Control shared by a venue's listener, middleware and handlers.
#[derive(Debug)]
pub struct Ctl {
    pub venue: VenueName,
    pub faults: Mutex<FaultSet>,
    down_until: Mutex<Option<Instant>>,
    wake: Notify,
    kill_all: broadcast::Sender<()>,
    shutdown: watch::Receiver<bool>,
    /// Added to the wall clock wherever the venue judges request timestamps
    /// (and Polymarket's `/time`), to test clients against a skewed venue.
    clock_offset_ms: std::sync::atomic::AtomicI64,
}

impl Ctl {
    pub fn new(venue: VenueName, seed: u64, shutdown: watch::Receiver<bool>) -> Arc<Ctl> {
        let (kill_all, _) = broadcast::channel(4);
        Arc::new(Ctl {
            venue,
            faults: Mutex::new(FaultSet::new(seed)),
            down_until: Mutex::new(None),
            wake: Notify::new(),
            kill_all,
            shutdown,
            clock_offset_ms: std::sync::atomic::AtomicI64::new(0),
        })
    }

    /// Take the venue away for `duration`: every open connection (HTTP and
    /// WebSocket) is closed and the port refuses connections until it rebinds.
    pub fn go_down(&self, duration: Duration) {
        *lock(&self.down_until) = Some(Instant::now() + duration);
        let _ = self.kill_all.send(());
        // Several listeners (CLOB and its WebSocket) may share one control.
        self.wake.notify_waiters();
    }

    /// The venue's clock: wall time plus the configured skew.
    pub fn now_ms(&self) -> i64 {
        crate::common::now_ms().saturating_add(
            self.clock_offset_ms
                .load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    pub fn set_clock_offset(&self, offset_ms: i64) {
        self.clock_offset_ms
            .store(offset_ms, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn is_down(&self) -> bool {
        lock(&self.down_until).is_some_and(|t| t > Instant::now())
    }

    /// Resolves when the venue goes down or the simulator shuts down; WebSocket
    /// tasks select on it.
    pub fn killed(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut kill = self.kill_all.subscribe();
        let mut shutdown = self.shutdown.clone();
        async move {
            tokio::select! {
                _ = kill.recv() => {}
                _ = shutdown.wait_for(|s| *s) => {}
            }
        }
    }

    /// The venue's own body for a 429 or 5xx.
    fn error_response(&self, status: StatusCode, message: Option<&str>) -> Response {
        let body = match (self.venue, status.as_u16()) {
            // kalshi.md §9: a plain string error, no Retry-After.
            (VenueName::Kalshi, 429) => serde_json::json!({"error": "too many requests"}),
            (VenueName::Kalshi, _) => serde_json::json!({"error": {
                "code": "internal_server_error",
                "message": message.unwrap_or("internal server error"),
                "service": "exchange"}}),
            (_, 429) => serde_json::json!({"error": "Too Many Requests"}),
            (_, _) => serde_json::json!({"error": message.unwrap_or("Internal Server Error")}),
        };
        (status, axum::Json(body)).into_response()
    }
}

/// Middleware: applies HTTP-level faults before the handler (`/_sim/*` is
/// exempt), and gives framework-made errors (unknown route, wrong method,
/// unparsable query or body) the venue's JSON error shape.
pub async fn fault_layer(State(ctl): State<Arc<Ctl>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/_sim/") {
        return next.run(req).await;
    }
    let resp = apply_faults(&ctl, &path, req, next).await;
    venue_shaped(&ctl, resp).await
}

/// Rewrite a non-JSON 4xx (axum's plain-text rejections) into the venue's error body.
async fn venue_shaped(ctl: &Ctl, resp: Response) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    // 101 upgrades and everything JSON pass untouched.
    if !status.is_client_error() || is_json {
        return resp;
    }
    let text = match http_body_util::BodyExt::collect(resp.into_body()).await {
        Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
        Err(_) => String::new(),
    };
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_lowercase()
    } else {
        text
    };
    let body = match ctl.venue {
        VenueName::Kalshi => {
            let code = match status {
                StatusCode::NOT_FOUND => "not_found",
                StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
                _ => "invalid_parameters",
            };
            serde_json::json!({"error": {"code": code, "message": message, "service": "exchange"}})
        }
        _ => serde_json::json!({"error": message}),
    };
    (status, axum::Json(body)).into_response()
}

async fn apply_faults(ctl: &Arc<Ctl>, path: &str, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_string();
    let fired = lock(&ctl.faults).fire(&method, path, HTTP_KINDS);
    for f in fired {
        match f.kind {
            FaultKind::Latency => {
                tokio::time::sleep(Duration::from_millis(f.latency_ms.unwrap_or(0))).await;
            }
            FaultKind::RateLimit => {
                return ctl.error_response(StatusCode::TOO_MANY_REQUESTS, f.message.as_deref());
            }
            FaultKind::ServerError => {
                let status = f
                    .status
                    .and_then(|s| StatusCode::from_u16(s).ok())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return ctl.error_response(status, f.message.as_deref());
            }
            FaultKind::Timeout => {
                // Accept and never answer; the connection dies with the client
                // or when the simulator stops.
                std::future::pending::<()>().await;
            }
            FaultKind::Drop => {
                if let Some(k) = req.extensions().get::<ConnKill>() {
                    k.0.notify_one();
                }
                std::future::pending::<()>().await;
            }
            FaultKind::Down => {
                ctl.go_down(Duration::from_millis(f.duration_ms.unwrap_or(1_000)));
                std::future::pending::<()>().await;
            }
            _ => {}
        }
    }
    next.run(req).await
}

/// A running listener.
#[derive(Debug)]
pub struct VenueServer {
    pub addr: SocketAddr,
    pub ctl: Arc<Ctl>,
    task: JoinHandle<()>,
}

impl Drop for VenueServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl VenueServer {
    /// Bind `addr` and serve `router` (already wrapped in [`fault_layer`]).
    pub async fn start(
        addr: SocketAddr,
        router: Router,
        ctl: Arc<Ctl>,
    ) -> std::io::Result<VenueServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(accept_loop(listener, addr, router, ctl.clone()));
        Ok(VenueServer { addr, ctl, task })
    }
}

async fn accept_loop(listener: TcpListener, addr: SocketAddr, router: Router, ctl: Arc<Ctl>) {
    let mut listener = Some(listener);
    let mut shutdown = ctl.shutdown.clone();
    loop {
        if *shutdown.borrow() {
            return;
        }
        let until = *lock(&ctl.down_until);
        if let Some(until) = until {
            // Closing the listener makes new connections fail with "refused",
            // which is what a client sees when a venue really goes away.
            listener = None;
            tokio::select! {
                _ = tokio::time::sleep_until(until) => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
            *lock(&ctl.down_until) = None;
            continue;
        }
        let Some(l) = listener.as_ref() else {
            match rebind(addr).await {
                Some(l) => listener = Some(l),
                None => return,
            }
            continue;
        };
        tokio::select! {
            accepted = l.accept() => {
                if let Ok((stream, _)) = accepted {
                    tokio::spawn(serve_conn(stream, router.clone(), ctl.clone()));
                }
            }
            _ = ctl.wake.notified() => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}

async fn rebind(addr: SocketAddr) -> Option<TcpListener> {
    // The old socket may linger for a moment; retry briefly.
    for _ in 0..100 {
        if let Ok(l) = TcpListener::bind(addr).await {
            return Some(l);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tracing::error!(%addr, "could not rebind after a down fault");
    None
}

async fn serve_conn(stream: TcpStream, router: Router, ctl: Arc<Ctl>) {
    let _ = stream.set_nodelay(true);
    let kill = Arc::new(Notify::new());
    let kill_for_req = kill.clone();
    let svc = hyper::service::service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(ConnKill(kill_for_req.clone()));
        let router = router.clone();
        async move { router.oneshot(req.map(Body::new)).await }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), svc)
        .with_upgrades();
    let killed = ctl.killed();
    tokio::select! {
        _ = conn => {}
        _ = kill.notified() => {}
        _ = killed => {}
    }
}
