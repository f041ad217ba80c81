//! `/metrics` (Prometheus text), `/health` (the process answers) and `/ready`
//! (every check the operator needs before trusting the engine, as JSON; 503
//! when any fails), served by axum on the configured loopback address.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The book-event-to-both-orders latency histogram.
pub const LATENCY_METRIC: &str = "orion_book_event_to_orders_seconds";

/// Latency buckets, in seconds: sub-millisecond to seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
];

static PROMETHEUS: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide Prometheus recorder. `metrics` allows one global
/// recorder per process, so engines started in the same process (tests)
/// share it; the first call installs it.
pub fn prometheus() -> PrometheusHandle {
    PROMETHEUS
        .get_or_init(|| {
            let builder = PrometheusBuilder::new();
            let builder = match builder
                .set_buckets_for_metric(Matcher::Full(LATENCY_METRIC.into()), LATENCY_BUCKETS)
            {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "latency buckets refused; using summaries");
                    PrometheusBuilder::new()
                }
            };
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if let Err(e) = metrics::set_global_recorder(recorder) {
                tracing::warn!(error = %e, "another metrics recorder is installed; /metrics shows only its own");
            }
            handle
        })
        .clone()
}

/// What `/ready` reports, updated by the engine as things change.
#[derive(Debug, Default)]
pub struct ReadyState {
    pub kalshi_reachable: AtomicBool,
    pub polymarket_reachable: AtomicBool,
    pub database_open: AtomicBool,
    pub reconciled: AtomicBool,
    /// The breaker's state name and whether it allows new trades.
    breaker: Mutex<(String, bool)>,
    reconcile_detail: Mutex<String>,
}

impl ReadyState {
    pub fn set_breaker(&self, name: &str, allows_trades: bool) {
        *self.breaker.lock().unwrap_or_else(|e| e.into_inner()) = (name.to_string(), allows_trades);
    }

    pub fn set_reconcile_detail(&self, detail: &str) {
        *self
            .reconcile_detail
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = detail.to_string();
    }

    pub fn venue(&self, venue: orion_core::Venue) -> &AtomicBool {
        match venue {
            orion_core::Venue::Kalshi => &self.kalshi_reachable,
            orion_core::Venue::Polymarket => &self.polymarket_reachable,
        }
    }

    /// The checks, and whether all pass.
    pub fn report(&self) -> (bool, serde_json::Value) {
        let (breaker, breaker_ok) = self
            .breaker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let detail = self
            .reconcile_detail
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let k = self.kalshi_reachable.load(Ordering::Acquire);
        let p = self.polymarket_reachable.load(Ordering::Acquire);
        let db = self.database_open.load(Ordering::Acquire);
        let rec = self.reconciled.load(Ordering::Acquire);
        let ready = k && p && db && rec && breaker_ok;
        let body = json!({
            "ready": ready,
            "checks": {
                "kalshi_reachable": k,
                "polymarket_reachable": p,
                "database_open": db,
                "reconciliation_done": { "ok": rec, "detail": detail },
                "breaker": { "ok": breaker_ok, "state": breaker },
            }
        });
        (ready, body)
    }
}

#[derive(Debug, Clone)]
struct AppState {
    metrics: PrometheusHandle,
    ready: Arc<ReadyState>,
}

async fn metrics_page(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.render(),
    )
}

async fn health() -> impl IntoResponse {
    Json(json!({ "status": "alive" }))
}

async fn ready_page(State(s): State<AppState>) -> impl IntoResponse {
    let (ok, body) = s.ready.report();
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

/// The routes, for embedding in a bigger server (the dashboard, later).
pub fn router(ready: Arc<ReadyState>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_page))
        .route("/health", get(health))
        .route("/ready", get(ready_page))
        .with_state(AppState {
            metrics: prometheus(),
            ready,
        })
}

/// Binds `addr` and serves until `stop` turns true. Returns the bound
/// address (port 0 picks a free one).
pub async fn serve(
    addr: SocketAddr,
    ready: Arc<ReadyState>,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = router(ready);
    let handle = prometheus();
    let task = tokio::spawn(async move {
        // Histograms are drained into their buckets by upkeep; without it
        // their samples would accumulate between scrapes.
        let mut upkeep_stop = stop.clone();
        let upkeep = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(5));
            loop {
                tokio::select! {
                    _ = every.tick() => handle.run_upkeep(),
                    _ = crate::stopped(&mut upkeep_stop) => break,
                }
            }
        });
        let shutdown = async move {
            crate::stopped(&mut stop).await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "telemetry server failed");
        }
        upkeep.abort();
    });
    Ok((bound, task))
}
