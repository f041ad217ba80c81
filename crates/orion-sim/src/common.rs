//! What both venues share: the engine behind a lock, the fault control, the
//! `/_sim/*` admin endpoints and small helpers.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::StatusCode;
use orion_core::{Price, Quantity};
use serde::Deserialize;

use crate::engine::{Exchange, Leg, NewOrder, Resolution, Stp, Tif};
use crate::faults::FaultSpec;
use crate::scenario::{BookSpec, ResultName};
use crate::server::{Ctl, lock};

/// Wall-clock Unix milliseconds. The simulator runs on real time because the
/// clients sign real timestamps and the venues check them.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// One venue's engine and control.
#[derive(Debug)]
pub struct VenueCore {
    pub ex: Mutex<Exchange>,
    pub ctl: Arc<Ctl>,
    /// Account that owns scripted liquidity.
    pub market_maker: Option<String>,
    /// Extra JSON merged into `/_sim/state` (e.g. the scenario's pairs).
    pub extra_state: serde_json::Value,
}

impl VenueCore {
    /// Place the market maker's resting orders for a scenario book.
    pub fn seed_book(&self, market: &str, book: &BookSpec) -> Result<(), String> {
        let Some(mm) = &self.market_maker else {
            return Ok(());
        };
        for (price, size) in &book.bids {
            self.mm_place(mm, market, Leg::BuyYes, price, size)?;
        }
        for (price, size) in &book.asks {
            self.mm_place(mm, market, Leg::BuyNo, price, size)?;
        }
        Ok(())
    }

    pub fn mm_place(
        &self,
        mm: &str,
        market: &str,
        leg: Leg,
        price: &str,
        size: &str,
    ) -> Result<(), String> {
        let price = Price::parse(price).map_err(|e| e.to_string())?;
        let qty = Quantity::parse(size).map_err(|e| e.to_string())?;
        let mut ex = lock(&self.ex);
        ex.place(
            NewOrder {
                account: mm.to_string(),
                market: market.to_string(),
                leg,
                price,
                qty,
                tif: Tif::Gtc,
                stp: Stp::CancelMaker,
                post_only: false,
                client_order_id: None,
                order_id: None,
                fill_cap: None,
                tag: String::new(),
            },
            now_ms(),
        )
        .map(|_| ())
        .map_err(|e| format!("{market}: market maker order refused: {e}"))
    }
}

#[derive(Debug, Deserialize)]
struct ResolveBody {
    market: String,
    result: ResultName,
}

#[derive(Debug, Deserialize)]
struct ClockBody {
    offset_ms: i64,
}

async fn clock(State(core): State<Arc<VenueCore>>, Json(body): Json<ClockBody>) -> Response {
    core.ctl.set_clock_offset(body.offset_ms);
    Json(serde_json::json!({"ok": true, "offset_ms": body.offset_ms})).into_response()
}

#[derive(Debug, Deserialize)]
struct DownBody {
    duration_ms: u64,
}

/// `/_sim/state`, `/_sim/resolve`, `/_sim/faults`, `/_sim/down`.
pub fn admin_routes(core: Arc<VenueCore>) -> Router {
    Router::new()
        .route("/_sim/state", get(state))
        .route("/_sim/resolve", post(resolve))
        .route(
            "/_sim/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/_sim/down", post(down))
        .route("/_sim/clock", post(clock))
        .with_state(core)
}

async fn state(State(core): State<Arc<VenueCore>>) -> Response {
    let mut v = lock(&core.ex).state_json();
    if let (Some(obj), Some(extra)) = (v.as_object_mut(), core.extra_state.as_object()) {
        for (k, val) in extra {
            obj.insert(k.clone(), val.clone());
        }
    }
    Json(v).into_response()
}

async fn resolve(State(core): State<Arc<VenueCore>>, Json(body): Json<ResolveBody>) -> Response {
    let res = match body.result {
        ResultName::Yes => Resolution::Yes,
        ResultName::No => Resolution::No,
    };
    match lock(&core.ex).settle(&body.market, res, now_ms()) {
        Ok(()) => Json(serde_json::json!({"resolved": body.market, "result": body.result}))
            .into_response(),
        Err(e) => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"error": e.to_string()})),
        )
            .into_response(),
    }
}

async fn list_faults(State(core): State<Arc<VenueCore>>) -> Response {
    Json(serde_json::json!({"faults": lock(&core.ctl.faults).list()})).into_response()
}

async fn add_fault(State(core): State<Arc<VenueCore>>, Json(spec): Json<FaultSpec>) -> Response {
    if let Err(e) = spec.check() {
        return (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": e})),
        )
            .into_response();
    }
    lock(&core.ctl.faults).add(spec);
    (StatusCode::CREATED, Json(serde_json::json!({"ok": true}))).into_response()
}

async fn clear_faults(State(core): State<Arc<VenueCore>>) -> Response {
    lock(&core.ctl.faults).clear();
    Json(serde_json::json!({"ok": true})).into_response()
}

async fn down(State(core): State<Arc<VenueCore>>, Json(body): Json<DownBody>) -> Response {
    // Answer first, then go away, so the caller learns it worked.
    let ctl = core.ctl.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        ctl.go_down(Duration::from_millis(body.duration_ms));
    });
    Json(serde_json::json!({"ok": true, "down_ms": body.duration_ms})).into_response()
}

/// Format signed micro-units with `decimals` places (positions can be negative).
pub fn fmt_signed(micros: i128, decimals: u32) -> String {
    let q = Quantity::from_micros(u64::try_from(micros.unsigned_abs()).unwrap_or(u64::MAX));
    let s = q.format(decimals);
    if micros < 0 { format!("-{s}") } else { s }
}

/// Page through a list with an opaque numeric cursor.
pub fn page<T: Clone>(items: &[T], cursor: Option<&str>, limit: usize) -> (Vec<T>, Option<usize>) {
    let start = cursor.and_then(|c| c.parse::<usize>().ok()).unwrap_or(0);
    let end = start.saturating_add(limit).min(items.len());
    let slice = items.get(start..end).map(<[T]>::to_vec).unwrap_or_default();
    let next = (end < items.len()).then_some(end);
    (slice, next)
}
