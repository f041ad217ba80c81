//! Polymarket's Gamma metadata API (polymarket.md §9), served on its own
//! listener as the real one lives on its own host. `outcomes`,
//! `outcomePrices` and `clobTokenIds` are JSON arrays encoded as strings.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;
use orion_core::Price;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::engine::MarketStatus;
use crate::poly::Poly;
use crate::scenario::PolyMarket;
use crate::server::lock;

type S = State<Arc<Poly>>;

pub fn router(p: Arc<Poly>) -> Router {
    Router::new()
        .route("/markets", get(markets))
        .route("/markets/{id}", get(market))
        .route("/events", get(events))
        .route("/events/{id}", get(event))
        .with_state(p)
}

fn market_id(p: &Poly, m: &PolyMarket) -> usize {
    // Gamma ids are small integers; position in the scenario keeps them stable.
    p.markets
        .iter()
        .position(|x| x.condition_id == m.condition_id)
        .unwrap_or(0)
        + 500_000
}

fn market_json(p: &Poly, m: &PolyMarket, with_events: bool) -> Value {
    let ex = lock(&p.core.ex);
    let status = ex
        .books
        .get(&m.condition_id)
        .map(|b| b.status)
        .unwrap_or(MarketStatus::Open);
    let open = status == MarketStatus::Open;
    let yes = p.tokens.get(&m.yes_token_id);
    let (bid, ask) = match yes {
        Some(t) => (
            p.token_levels(&ex, t, true).first().map(|l| l.0),
            p.token_levels(&ex, t, false).first().map(|l| l.0),
        ),
        None => (None, None),
    };
    let last = ex.books.get(&m.condition_id).and_then(|b| b.last_trade);
    drop(ex);
    let yes_price = match (bid, ask) {
        (Some(b), Some(a)) => Price::from_micros((b.micros() + a.micros()) / 2).unwrap_or(b),
        _ => last.unwrap_or(Price::from_micros_clamped(500_000)),
    };
    let prices = json!([yes_price.format(0), yes_price.complement().format(0)]).to_string();
    let number = |s: String| serde_json::from_str::<Value>(&s).unwrap_or(Value::Null);
    let mut v = json!({
        "id": market_id(p, m).to_string(),
        "question": m.question,
        "conditionId": m.condition_id,
        "questionID": m.question_id.clone().unwrap_or_else(|| m.condition_id.clone()),
        "slug": m.slug,
        "description": m.description,
        "startDate": m.start_date.clone().unwrap_or_else(|| m.end_date.clone()),
        "endDate": m.end_date,
        "endDateIso": m.end_date.get(..10).unwrap_or(""),
        "outcomes": json!([m.yes_outcome, m.no_outcome]).to_string(),
        "outcomePrices": prices,
        "clobTokenIds": json!([m.yes_token_id, m.no_token_id]).to_string(),
        "active": open,
        "closed": !open,
        "archived": false,
        "acceptingOrders": open,
        "enableOrderBook": true,
        "orderPriceMinTickSize": number(m.tick_size.clone()),
        "orderMinSize": number(m.min_order_size.clone()),
        "negRisk": m.neg_risk,
        "negRiskMarketID": if m.neg_risk { m.question_id.clone().unwrap_or_default() } else { String::new() },
        "feesEnabled": m.fee_rate != "0",
        "makerBaseFee": 0,
        "takerBaseFee": 0,
        "bestBid": number(bid.map(|b| b.format(0)).unwrap_or_else(|| "0".into())),
        "bestAsk": number(ask.map(|a| a.format(0)).unwrap_or_else(|| "1".into())),
        "lastTradePrice": number(last.map(|l| l.format(0)).unwrap_or_else(|| "0".into())),
        "volumeNum": 0,
        "liquidityNum": 0,
    });
    if with_events && let (Some(obj), Some(slug)) = (v.as_object_mut(), &m.event_slug) {
        obj.insert("events".into(), json!([event_stub(p, slug)]));
    }
    v
}

fn event_stub(p: &Poly, slug: &str) -> Value {
    let members: Vec<&PolyMarket> = p
        .markets
        .iter()
        .filter(|m| m.event_slug.as_deref() == Some(slug))
        .collect();
    let first = members.first();
    json!({
        "id": event_id(p, slug).to_string(),
        "ticker": slug,
        "slug": slug,
        "title": first.and_then(|m| m.event_title.clone()).unwrap_or_else(|| slug.to_string()),
        "endDate": first.map(|m| m.end_date.clone()).unwrap_or_default(),
        "negRisk": first.is_some_and(|m| m.neg_risk),
        "active": true,
        "closed": false,
    })
}

fn event_id(p: &Poly, slug: &str) -> usize {
    let slugs: Vec<&str> = event_slugs(p);
    slugs.iter().position(|s| *s == slug).unwrap_or(0) + 90_000
}

fn event_slugs(p: &Poly) -> Vec<&str> {
    let mut seen = BTreeMap::new();
    for (i, m) in p.markets.iter().enumerate() {
        if let Some(s) = &m.event_slug {
            seen.entry(s.as_str()).or_insert(i);
        }
    }
    let mut v: Vec<(&str, usize)> = seen.into_iter().collect();
    v.sort_by_key(|(_, i)| *i);
    v.into_iter().map(|(s, _)| s).collect()
}

#[derive(Debug, Deserialize)]
struct MarketsQuery {
    limit: Option<usize>,
    offset: Option<usize>,
    slug: Option<String>,
    condition_ids: Option<String>,
    clob_token_ids: Option<String>,
    closed: Option<bool>,
    active: Option<bool>,
}

async fn markets(State(p): S, Query(q): Query<MarketsQuery>) -> Response {
    let list: Vec<Value> = p
        .markets
        .iter()
        .filter(|m| q.slug.as_ref().is_none_or(|s| *s == m.slug))
        .filter(|m| {
            q.condition_ids
                .as_ref()
                .is_none_or(|c| c.split(',').any(|x| x == m.condition_id))
        })
        .filter(|m| {
            q.clob_token_ids.as_ref().is_none_or(|c| {
                c.split(',')
                    .any(|x| x == m.yes_token_id || x == m.no_token_id)
            })
        })
        .map(|m| market_json(&p, m, true))
        .filter(|v| q.closed.is_none_or(|c| v["closed"] == json!(c)))
        .filter(|v| q.active.is_none_or(|a| v["active"] == json!(a)))
        .skip(q.offset.unwrap_or(0))
        .take(q.limit.unwrap_or(100))
        .collect();
    axum::Json(list).into_response()
}

async fn market(State(p): S, Path(id): Path<String>) -> Response {
    match p
        .markets
        .iter()
        .find(|m| market_id(&p, m).to_string() == id || m.condition_id == id)
    {
        Some(m) => axum::Json(market_json(&p, m, true)).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"type": "not found", "error": "market not found"})),
        )
            .into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct EventsQuery {
    limit: Option<usize>,
    offset: Option<usize>,
    slug: Option<String>,
}

fn event_json(p: &Poly, slug: &str) -> Value {
    let mut v = event_stub(p, slug);
    let markets: Vec<Value> = p
        .markets
        .iter()
        .filter(|m| m.event_slug.as_deref() == Some(slug))
        .map(|m| market_json(p, m, false))
        .collect();
    if let Some(obj) = v.as_object_mut() {
        obj.insert("markets".into(), json!(markets));
    }
    v
}

async fn events(State(p): S, Query(q): Query<EventsQuery>) -> Response {
    let list: Vec<Value> = event_slugs(&p)
        .into_iter()
        .filter(|s| q.slug.as_ref().is_none_or(|x| x == s))
        .skip(q.offset.unwrap_or(0))
        .take(q.limit.unwrap_or(100))
        .map(|s| event_json(&p, s))
        .collect();
    axum::Json(list).into_response()
}

async fn event(State(p): S, Path(id): Path<String>) -> Response {
    match event_slugs(&p)
        .into_iter()
        .find(|s| event_id(&p, s).to_string() == id || *s == id)
    {
        Some(s) => axum::Json(event_json(&p, s)).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"type": "not found", "error": "event not found"})),
        )
            .into_response(),
    }
}
