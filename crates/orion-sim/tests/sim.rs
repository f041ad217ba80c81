//! Integration tests: drive every simulated endpoint over loopback HTTP and
//! WebSocket. Requests are signed here with ring (Kalshi RSA-PSS) and k256
//! plus a hand-written EIP-712 encoder (Polymarket), not with the
//! simulator's code or Orion's clients, so a mistake on either side shows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use alloy_primitives::U256;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use hmac::{Hmac, Mac};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use k256::ecdsa::SigningKey;
use orion_sim::{FaultKind, FaultSpec, Scenario, Sim, SimHandle, VenueName};
use serde_json::{Value, json};
use sha2::Sha256;
use sha3::{Digest, Keccak256};
use tokio_tungstenite::tungstenite::Message as WsMsg;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const KEY_ID: &str = "a3b1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
const HARDHAT_KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const HARDHAT_ADDR: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const FED: &str = "KXFEDDECISION-26DEC-C25";
const P1: &str = "0x1111111111111111111111111111111111111111111111111111111111111111";
const P1_YES: &str =
    "71321045679252212594626385532706912750332728571942532289631379312455583992563";
const P1_NO: &str = "52552210993830432218834405712139431049387440581211214930913512419081868128421";
const P2_YES: &str =
    "52114319501245915516055106046884209969926127482827954674443846427813813222426";
const PROXY_FUNDER: &str = "0x1111111111111111111111111111111111111111";
const EXCHANGE_V2: &str = "E111180000d2663C0091e4f400237545B87B996B";
const NEG_RISK_V2: &str = "e2222d279d744050d28e00520010520000310F59";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

async fn start() -> SimHandle {
    let scenario = Scenario::load(&fixtures().join("scenario.toml")).unwrap();
    Sim::start(scenario).await.unwrap()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

// ------------------------------------------------------------------ HTTP

struct Resp {
    status: StatusCode,
    body: Value,
}

async fn send(
    method: Method,
    url: &str,
    headers: &[(&str, String)],
    body: Option<String>,
) -> Result<Resp, String> {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let mut b = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        b = b.header(*k, v);
    }
    if body.is_some() {
        b = b.header("content-type", "application/json");
    }
    let req = b
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .unwrap();
    let resp = client.request(req).await.map_err(|e| format!("{e:?}"))?;
    let status = resp.status();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
    Ok(Resp { status, body })
}

async fn get(url: &str) -> Resp {
    send(Method::GET, url, &[], None).await.unwrap()
}

// ---------------------------------------------------------------- Kalshi

fn kalshi_key() -> ring::signature::RsaKeyPair {
    let pem = std::fs::read_to_string(fixtures().join("kalshi_test_key_pkcs8.pem")).unwrap();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(b64).unwrap();
    ring::signature::RsaKeyPair::from_pkcs8(&der).unwrap()
}

fn kalshi_headers(method: &str, path: &str, ts: i64) -> Vec<(&'static str, String)> {
    let key = kalshi_key();
    let msg = format!("{ts}{method}{path}");
    let mut sig = vec![0u8; key.public().modulus_len()];
    key.sign(
        &ring::signature::RSA_PSS_SHA256,
        &ring::rand::SystemRandom::new(),
        msg.as_bytes(),
        &mut sig,
    )
    .unwrap();
    vec![
        ("KALSHI-ACCESS-KEY", KEY_ID.to_string()),
        ("KALSHI-ACCESS-TIMESTAMP", ts.to_string()),
        ("KALSHI-ACCESS-SIGNATURE", STANDARD.encode(sig)),
    ]
}

/// A signed Kalshi request; `path` is relative to `/trade-api/v2` and may carry a query.
async fn kalshi(sim: &SimHandle, method: Method, path: &str, body: Option<Value>) -> Resp {
    let full = format!("/trade-api/v2{path}");
    let signed_path = full.split('?').next().unwrap().to_string();
    let headers = kalshi_headers(method.as_str(), &signed_path, now_ms());
    let url = format!("{}{}", sim.urls.kalshi_admin, full);
    send(method, &url, &headers, body.map(|b| b.to_string()))
        .await
        .unwrap()
}

fn order(side: &str, price: &str, count: &str, tif: &str, cid: &str) -> Value {
    json!({"ticker": FED, "side": side, "price": price, "count": count, "time_in_force": tif,
        "self_trade_prevention_type": "taker_at_cross", "client_order_id": cid})
}

fn dollars(v: &Value) -> i64 {
    // "12.3400" -> micro-dollars, without floats.
    let s = v.as_str().unwrap();
    let neg = s.starts_with('-');
    let s = s.trim_start_matches('-');
    let (i, f) = s.split_once('.').unwrap_or((s, ""));
    let mut frac = f.to_string();
    while frac.len() < 6 {
        frac.push('0');
    }
    let m = i.parse::<i64>().unwrap() * 1_000_000 + frac[..6].parse::<i64>().unwrap();
    if neg { -m } else { m }
}

#[tokio::test]
async fn kalshi_public_market_data() {
    let sim = start().await;
    let base = &sim.urls.kalshi_rest;

    let status = get(&format!("{base}/exchange/status")).await;
    assert_eq!(
        status.body,
        json!({"exchange_active": true, "trading_active": true})
    );

    // Paging: cursor always present, "" on the last page.
    let p1 = get(&format!("{base}/markets?limit=2")).await;
    assert_eq!(p1.status, 200);
    assert_eq!(p1.body["markets"].as_array().unwrap().len(), 2);
    let cursor = p1.body["cursor"].as_str().unwrap().to_string();
    assert!(!cursor.is_empty());
    let p2 = get(&format!("{base}/markets?limit=2&cursor={cursor}")).await;
    assert_eq!(p2.body["markets"].as_array().unwrap().len(), 2);
    assert_eq!(p2.body["cursor"], "");
    assert_eq!(get(&format!("{base}/markets?limit=1001")).await.status, 400);
    // Framework-level errors keep Kalshi's error shape.
    let bad_query = get(&format!("{base}/markets?limit=lots")).await;
    assert_eq!(bad_query.status, 400);
    assert_eq!(bad_query.body["error"]["code"], "invalid_parameters");
    let no_route = get(&format!("{base}/no/such/route")).await;
    assert_eq!(no_route.status, 404);
    assert_eq!(no_route.body["error"]["code"], "not_found");

    let by_event = get(&format!("{base}/markets?event_ticker=KXNBA-27")).await;
    assert_eq!(by_event.body["markets"][0]["ticker"], "KXNBA-27-OKC");
    let by_series = get(&format!(
        "{base}/markets?series_ticker=KXFEDDECISION&status=open"
    ))
    .await;
    assert_eq!(by_series.body["markets"].as_array().unwrap().len(), 2);
    assert_eq!(
        get(&format!("{base}/markets?status=settled")).await.body["markets"],
        json!([])
    );

    let m = get(&format!("{base}/markets/{FED}")).await.body["market"].clone();
    for field in [
        "settlement_bounds_type",
        "yes_bid_dollars",
        "yes_ask_dollars",
        "no_bid_dollars",
        "no_ask_dollars",
        "yes_bid_size_fp",
        "volume_fp",
        "open_interest_fp",
        "price_ranges",
        "price_level_structure",
        "rules_primary",
        "latest_expiration_time",
        "expiration_value",
        "notional_value_dollars",
    ] {
        assert!(m.get(field).is_some(), "market lacks {field}");
    }
    assert_eq!(m["status"], "active");
    assert_eq!(m["yes_bid_dollars"], "0.4000");
    assert_eq!(m["yes_ask_dollars"], "0.4200");
    assert_eq!(m["no_bid_dollars"], "0.5800");
    assert_eq!(m["no_ask_dollars"], "0.6000");
    assert_eq!(m["yes_bid_size_fp"], "100.00");
    assert_eq!(
        get(&format!("{base}/markets/NOPE")).await.body["error"]["code"],
        "market_not_found"
    );

    let ob = get(&format!("{base}/markets/{FED}/orderbook")).await.body;
    assert_eq!(
        ob["orderbook_fp"]["yes_dollars"],
        json!([["0.3900", "200.00"], ["0.4000", "100.00"]])
    );
    assert_eq!(
        ob["orderbook_fp"]["no_dollars"],
        json!([["0.5500", "200.00"], ["0.5800", "100.00"]])
    );
    let ob1 = get(&format!("{base}/markets/{FED}/orderbook?depth=1"))
        .await
        .body;
    assert_eq!(
        ob1["orderbook_fp"]["yes_dollars"],
        json!([["0.4000", "100.00"]])
    );
    // Tapered grid: a deci-cent level below 0.10.
    let okc = get(&format!("{base}/markets/KXNBA-27-OKC/orderbook"))
        .await
        .body;
    assert_eq!(
        okc["orderbook_fp"]["no_dollars"],
        json!([["0.9450", "10.00"]])
    );

    let events = get(&format!("{base}/events?with_nested_markets=true"))
        .await
        .body;
    assert_eq!(events["events"].as_array().unwrap().len(), 3);
    assert_eq!(events["events"][0]["markets"].as_array().unwrap().len(), 2);
    assert_eq!(events["cursor"], "");
    let ev = get(&format!("{base}/events/KXNBA-27")).await.body;
    assert_eq!(ev["event"]["series_ticker"], "KXNBA");
    let series = get(&format!("{base}/series/KXNBA")).await.body;
    assert_eq!(series["series"]["fee_type"], "quadratic");
    assert_eq!(series["series"]["fee_multiplier"], json!(0.5));
}

#[tokio::test]
async fn kalshi_auth_is_checked_exactly() {
    let sim = start().await;
    let url = format!("{}/portfolio/balance", sim.urls.kalshi_rest);
    let path = "/trade-api/v2/portfolio/balance";

    let ok = send(
        Method::GET,
        &url,
        &kalshi_headers("GET", path, now_ms()),
        None,
    )
    .await
    .unwrap();
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    assert_eq!(ok.body["balance"], 100_000);
    assert_eq!(ok.body["balance_dollars"], "1000.0000");

    let missing = send(Method::GET, &url, &[], None).await.unwrap();
    assert_eq!(missing.status, 401);

    // Market data needs no signature, but a wrong one is still refused.
    let ob_path = format!("/trade-api/v2/markets/{FED}/orderbook");
    let ob_url = format!("{}{ob_path}", sim.urls.kalshi_admin);
    assert_eq!(
        send(
            Method::GET,
            &ob_url,
            &kalshi_headers("GET", &ob_path, now_ms()),
            None
        )
        .await
        .unwrap()
        .status,
        200
    );
    let wrong_ob = kalshi_headers("GET", "/trade-api/v2/markets", now_ms());
    assert_eq!(
        send(Method::GET, &ob_url, &wrong_ob, None)
            .await
            .unwrap()
            .status,
        401
    );

    // Signature over another path.
    let wrong = send(
        Method::GET,
        &url,
        &kalshi_headers("GET", "/trade-api/v2/portfolio/positions", now_ms()),
        None,
    )
    .await
    .unwrap();
    assert_eq!(wrong.status, 401);
    assert!(
        wrong.body["error"]["details"]
            .as_str()
            .unwrap()
            .contains("INCORRECT_API_KEY_SIGNATURE")
    );

    // The query string is not signed: signing it fails.
    let q = format!("{url}?subaccount=0");
    let with_query = send(
        Method::GET,
        &q,
        &kalshi_headers("GET", &format!("{path}?subaccount=0"), now_ms()),
        None,
    )
    .await
    .unwrap();
    assert_eq!(with_query.status, 401);
    let without = send(
        Method::GET,
        &q,
        &kalshi_headers("GET", path, now_ms()),
        None,
    )
    .await
    .unwrap();
    assert_eq!(without.status, 200);

    // Lower-case method signed.
    let lower = send(
        Method::GET,
        &url,
        &kalshi_headers("get", path, now_ms()),
        None,
    )
    .await
    .unwrap();
    assert_eq!(lower.status, 401);

    // Stale and second-resolution timestamps.
    let stale = send(
        Method::GET,
        &url,
        &kalshi_headers("GET", path, now_ms() - 60_000),
        None,
    )
    .await
    .unwrap();
    assert_eq!(stale.status, 401);
    assert_eq!(stale.body["error"]["code"], "header_timestamp_expired");
    let seconds = send(
        Method::GET,
        &url,
        &kalshi_headers("GET", path, now_ms() / 1000),
        None,
    )
    .await
    .unwrap();
    assert_eq!(seconds.status, 401);

    // A venue whose clock runs 60 s ahead refuses a correct client clock,
    // and accepts a client that matches it.
    let clock = format!("{}/_sim/clock", sim.urls.kalshi_admin);
    send(
        Method::POST,
        &clock,
        &[],
        Some(json!({"offset_ms": 60_000}).to_string()),
    )
    .await
    .unwrap();
    assert_eq!(
        send(
            Method::GET,
            &url,
            &kalshi_headers("GET", path, now_ms()),
            None
        )
        .await
        .unwrap()
        .status,
        401
    );
    assert_eq!(
        send(
            Method::GET,
            &url,
            &kalshi_headers("GET", path, now_ms() + 60_000),
            None
        )
        .await
        .unwrap()
        .status,
        200
    );
    send(
        Method::POST,
        &clock,
        &[],
        Some(json!({"offset_ms": 0}).to_string()),
    )
    .await
    .unwrap();

    // Corrupted signature bytes and an unknown key.
    let mut h = kalshi_headers("GET", path, now_ms());
    h[2].1 = STANDARD.encode([7u8; 256]);
    assert_eq!(send(Method::GET, &url, &h, None).await.unwrap().status, 401);
    let mut h = kalshi_headers("GET", path, now_ms());
    h[0].1 = "00000000-0000-0000-0000-000000000000".into();
    assert_eq!(send(Method::GET, &url, &h, None).await.unwrap().status, 401);
}

#[tokio::test]
async fn kalshi_orders_fills_fees_and_settlement() {
    let sim = start().await;

    // Buy 150 YES at up to 0.45: 100 @ 0.42 then 50 @ 0.45 (price-time, best first).
    let r = kalshi(
        &sim,
        Method::POST,
        "/portfolio/events/orders",
        Some(order("bid", "0.45", "150", "immediate_or_cancel", "c1")),
    )
    .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["fill_count"], "150.00");
    assert_eq!(r.body["remaining_count"], "0.00");
    assert_eq!(r.body["client_order_id"], "c1");
    assert_eq!(r.body["average_fill_price"], "0.4300");
    let order_id = r.body["order_id"].as_str().unwrap().to_string();

    // Fees: ceil_0.0001(0.07×100×0.42×0.58)=1.7052, ceil(0.07×50×0.45×0.55)=0.86625→0.8663.
    let fills = kalshi(
        &sim,
        Method::GET,
        &format!("/portfolio/fills?order_id={order_id}"),
        None,
    )
    .await
    .body;
    let fills = fills["fills"].as_array().unwrap();
    assert_eq!(fills.len(), 2);
    let mut fees: Vec<&str> = fills
        .iter()
        .map(|f| f["fee_cost"].as_str().unwrap())
        .collect();
    fees.sort();
    assert_eq!(fees, vec!["0.8663", "1.7052"]);
    assert!(
        fills.iter().all(|f| f["is_taker"] == true
            && f["book_side"] == "bid"
            && f["outcome_side"] == "yes")
    );

    let bal = kalshi(&sim, Method::GET, "/portfolio/balance", None)
        .await
        .body;
    // 1000 − 42 − 22.5 − 1.7052 − 0.8663 = 932.9285
    assert_eq!(bal["balance_dollars"], "932.9285");
    let pos = kalshi(&sim, Method::GET, "/portfolio/positions", None)
        .await
        .body;
    assert_eq!(pos["market_positions"][0]["position_fp"], "150.00");
    assert_eq!(pos["market_positions"][0]["fees_paid_dollars"], "2.5715");

    // Duplicate client order id → 409.
    let dup = kalshi(
        &sim,
        Method::POST,
        "/portfolio/events/orders",
        Some(order("bid", "0.30", "1", "good_till_canceled", "c1")),
    )
    .await;
    assert_eq!(dup.status, 409);

    // FOK that cannot fill: 201, nothing filled, nothing resting, book untouched.
    let fok = kalshi(
        &sim,
        Method::POST,
        "/portfolio/events/orders",
        Some(order("bid", "0.45", "500", "fill_or_kill", "c2")),
    )
    .await;
    assert_eq!(fok.status, 201);
    assert_eq!(fok.body["fill_count"], "0.00");
    assert_eq!(fok.body["remaining_count"], "0.00");
    assert!(fok.body.get("average_fill_price").is_none());
    let ob = get(&format!("{}/markets/{FED}/orderbook", sim.urls.kalshi_rest))
        .await
        .body;
    assert_eq!(
        ob["orderbook_fp"]["no_dollars"],
        json!([["0.5500", "150.00"]])
    );

    // IOC partial fill: 150 available at 0.45, ask 200.
    let ioc = kalshi(
        &sim,
        Method::POST,
        "/portfolio/events/orders",
        Some(order("bid", "0.45", "200", "immediate_or_cancel", "c3")),
    )
    .await;
    assert_eq!(ioc.body["fill_count"], "150.00");
    assert_eq!(ioc.body["remaining_count"], "0.00");

    // Sell YES (ask) at 0.40 against the 0.40 bid: closes part of the position.
    let sell = kalshi(
        &sim,
        Method::POST,
        "/portfolio/events/orders",
        Some(order("ask", "0.40", "50", "fill_or_kill", "c4")),
    )
    .await;
    assert_eq!(sell.body["fill_count"], "50.00");
    let pos = kalshi(
        &sim,
        Method::GET,
        &format!("/portfolio/positions?ticker={FED}"),
        None,
    )
    .await
    .body;
    assert_eq!(pos["market_positions"][0]["position_fp"], "250.00");

    // GTC rests, shows in orders and the book, cancels once.
    let gtc = kalshi(
        &sim,
        Method::POST,
        "/portfolio/events/orders",
        Some(order("bid", "0.35", "10", "good_till_canceled", "c5")),
    )
    .await;
    assert_eq!(gtc.body["remaining_count"], "10.00");
    let gid = gtc.body["order_id"].as_str().unwrap().to_string();
    let orders = kalshi(&sim, Method::GET, "/portfolio/orders?status=resting", None)
        .await
        .body;
    assert_eq!(orders["orders"].as_array().unwrap().len(), 1);
    assert_eq!(orders["orders"][0]["client_order_id"], "c5");
    assert_eq!(orders["orders"][0]["yes_price_dollars"], "0.3500");
    assert_eq!(orders["cursor"], "");
    let one = kalshi(&sim, Method::GET, &format!("/portfolio/orders/{gid}"), None)
        .await
        .body;
    assert_eq!(one["order"]["status"], "resting");
    let c = kalshi(
        &sim,
        Method::DELETE,
        &format!("/portfolio/events/orders/{gid}?market_ticker={FED}"),
        None,
    )
    .await;
    assert_eq!(c.status, 200);
    assert_eq!(c.body["reduced_by"], "10.00");
    let again = kalshi(
        &sim,
        Method::DELETE,
        &format!("/portfolio/events/orders/{gid}"),
        None,
    )
    .await;
    assert_eq!(again.status, 404);

    // Bad requests are the venue's errors.
    let bad = kalshi(
        &sim,
        Method::POST,
        "/portfolio/events/orders",
        Some(order("buy", "0.35", "1", "good_till_canceled", "c6")),
    )
    .await;
    assert_eq!(bad.status, 400);
    let off_grid = kalshi(
        &sim,
        Method::POST,
        "/portfolio/events/orders",
        Some(order("bid", "0.355", "1", "good_till_canceled", "c7")),
    )
    .await;
    assert_eq!(off_grid.status, 400);
    let broke = kalshi(
        &sim,
        Method::POST,
        "/portfolio/events/orders",
        Some(order("bid", "0.35", "100000", "good_till_canceled", "c8")),
    )
    .await;
    assert_eq!(broke.body["error"]["code"], "insufficient_balance");
    let legacy = kalshi(
        &sim,
        Method::POST,
        "/portfolio/orders",
        Some(json!({"ticker": FED})),
    )
    .await;
    assert_eq!(legacy.status, 410);
    assert_eq!(legacy.body["error"]["code"], "deprecated_v1_order_endpoint");

    // Settlement: 250 YES pay $250.
    let before = dollars(
        &kalshi(&sim, Method::GET, "/portfolio/balance", None)
            .await
            .body["balance_dollars"],
    );
    let r = send(
        Method::POST,
        &format!("{}/_sim/resolve", sim.urls.kalshi_admin),
        &[],
        Some(json!({"market": FED, "result": "yes"}).to_string()),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    let after = dollars(
        &kalshi(&sim, Method::GET, "/portfolio/balance", None)
            .await
            .body["balance_dollars"],
    );
    assert_eq!(after - before, 250_000_000);
    let st = kalshi(&sim, Method::GET, "/portfolio/settlements", None)
        .await
        .body;
    let st = &st["settlements"][0];
    assert_eq!(st["ticker"], FED);
    assert_eq!(st["market_result"], "yes");
    assert_eq!(st["yes_count_fp"], "250.00");
    assert_eq!(st["revenue"], 25_000);
    // Settling twice is refused.
    let again = send(
        Method::POST,
        &format!("{}/_sim/resolve", sim.urls.kalshi_admin),
        &[],
        Some(json!({"market": FED, "result": "no"}).to_string()),
    )
    .await
    .unwrap();
    assert_ne!(again.status, 200);
    let m = get(&format!("{}/markets/{FED}", sim.urls.kalshi_rest))
        .await
        .body;
    assert_eq!(m["market"]["status"], "finalized");
    assert_eq!(
        m["market"]["open_interest_fp"], "0.00",
        "settlement closes every position"
    );
    assert_eq!(m["market"]["result"], "yes");

    // /_sim/state shows accounts, positions, fills.
    let state = get(&format!("{}/_sim/state", sim.urls.kalshi_admin))
        .await
        .body;
    assert_eq!(
        state["accounts"]["orion"]["fills"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(state["pairs"][0]["kalshi"], FED);
}

#[tokio::test]
async fn kalshi_self_trade_prevention_and_scripted_changes() {
    let sim = start().await;
    // The script places a market-maker bid at 0.30 after 300 ms: not yet there.
    let url = format!(
        "{}/markets/KXFEDDECISION-26DEC-H0/orderbook",
        sim.urls.kalshi_rest
    );
    assert_eq!(
        get(&url).await.body["orderbook_fp"]["yes_dollars"],
        json!([])
    );
    let r = kalshi(&sim, Method::POST, "/portfolio/events/orders",
        Some(json!({"ticker": "KXFEDDECISION-26DEC-H0", "side": "ask", "price": "0.60", "count": "5",
            "time_in_force": "good_till_canceled", "self_trade_prevention_type": "maker", "client_order_id": "s1"}))).await;
    assert_eq!(r.status, 201);
    // Crossing our own ask with taker_at_cross: the incoming order is cancelled.
    let r = kalshi(&sim, Method::POST, "/portfolio/events/orders",
        Some(json!({"ticker": "KXFEDDECISION-26DEC-H0", "side": "bid", "price": "0.60", "count": "5",
            "time_in_force": "immediate_or_cancel", "self_trade_prevention_type": "taker_at_cross", "client_order_id": "s2"}))).await;
    assert_eq!(r.body["fill_count"], "0.00");
    // Post-only crossing is refused.
    let r = kalshi(&sim, Method::POST, "/portfolio/events/orders",
        Some(json!({"ticker": "KXFEDDECISION-26DEC-H0", "side": "bid", "price": "0.60", "count": "5", "post_only": true,
            "time_in_force": "good_till_canceled", "self_trade_prevention_type": "maker", "client_order_id": "s3"}))).await;
    assert_eq!(r.status, 400);

    // Good-till-date: gone from the book once its time passes.
    let exp = now_ms() / 1000 + 1;
    let r = kalshi(&sim, Method::POST, "/portfolio/events/orders",
        Some(json!({"ticker": "KXFEDDECISION-26DEC-H0", "side": "bid", "price": "0.20", "count": "5", "expiration_time": exp,
            "time_in_force": "good_till_canceled", "self_trade_prevention_type": "maker", "client_order_id": "s4"}))).await;
    assert_eq!(r.body["remaining_count"], "5.00");
    let gtd = r.body["order_id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let o = kalshi(&sim, Method::GET, &format!("/portfolio/orders/{gtd}"), None)
        .await
        .body;
    assert_eq!(o["order"]["status"], "canceled");

    // By now the scripted bid rests (and the expired GTD bid is gone).
    assert_eq!(
        get(&url).await.body["orderbook_fp"]["yes_dollars"],
        json!([["0.3000", "10.00"]])
    );
}

fn fault(venue: VenueName, endpoint: &str, kind: FaultKind) -> FaultSpec {
    serde_json::from_value(json!({"venue": venue, "endpoint": endpoint, "kind": kind, "count": 1}))
        .unwrap()
}

#[tokio::test]
async fn kalshi_injected_faults() {
    let sim = start().await;
    let base = sim.urls.kalshi_rest.clone();
    let status = format!("{base}/exchange/status");

    sim.add_fault(fault(
        VenueName::Kalshi,
        "GET /trade-api/v2/exchange/status",
        FaultKind::RateLimit,
    ));
    let r = get(&status).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.body, json!({"error": "too many requests"}));
    assert_eq!(get(&status).await.status, 200, "count = 1");

    // 503 through the admin endpoint.
    let add = send(Method::POST, &format!("{}/_sim/faults", sim.urls.kalshi_admin), &[],
        Some(json!({"venue": "kalshi", "endpoint": "/trade-api/v2/markets*", "kind": "server_error", "status": 503, "count": 1}).to_string()))
        .await.unwrap();
    assert_eq!(add.status, 201);
    let r = get(&format!("{base}/markets")).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.body["error"]["code"], "internal_server_error");

    let mut lat = fault(VenueName::Kalshi, "*", FaultKind::Latency);
    lat.latency_ms = Some(300);
    sim.add_fault(lat);
    let t = Instant::now();
    assert_eq!(get(&status).await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));

    sim.add_fault(fault(VenueName::Kalshi, "*", FaultKind::Timeout));
    let timed_out = tokio::time::timeout(Duration::from_millis(400), get(&status)).await;
    assert!(timed_out.is_err(), "the request must hang");

    sim.add_fault(fault(VenueName::Kalshi, "*", FaultKind::Drop));
    let dropped = send(Method::GET, &status, &[], None).await;
    assert!(
        dropped.is_err(),
        "connection must be dropped: {:?}",
        dropped.as_ref().map(|r| r.status)
    );
    assert_eq!(get(&status).await.status, 200);

    // Business rejection and forced partial fill on order placement.
    let mut rej = fault(
        VenueName::Kalshi,
        "POST /trade-api/v2/portfolio/events/orders",
        FaultKind::Reject,
    );
    rej.message = Some("exchange is busy".into());
    sim.add_fault(rej);
    let r = kalshi(
        &sim,
        Method::POST,
        "/portfolio/events/orders",
        Some(order("bid", "0.42", "10", "fill_or_kill", "f1")),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["message"], "exchange is busy");
    let mut pf = fault(
        VenueName::Kalshi,
        "POST /trade-api/v2/portfolio/events/orders",
        FaultKind::PartialFill,
    );
    pf.fill_percent = Some(30);
    sim.add_fault(pf);
    let r = kalshi(
        &sim,
        Method::POST,
        "/portfolio/events/orders",
        Some(order("bid", "0.42", "10", "immediate_or_cancel", "f2")),
    )
    .await;
    assert_eq!(r.body["fill_count"], "3.00");

    // The venue goes away (connection refused) and comes back on the same port.
    let r = send(
        Method::POST,
        &format!("{}/_sim/down", sim.urls.kalshi_admin),
        &[],
        Some(json!({"duration_ms": 1500}).to_string()),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(send(Method::GET, &status, &[], None).await.is_err());
    tokio::time::sleep(Duration::from_millis(1800)).await;
    assert_eq!(get(&status).await.status, 200);
}

async fn kalshi_ws_connect(
    sim: &SimHandle,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let mut req = sim.urls.kalshi_ws.as_str().into_client_request().unwrap();
    for (k, v) in kalshi_headers("GET", "/trade-api/ws/v2", now_ms()) {
        req.headers_mut().insert(k, v.parse().unwrap());
    }
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Next text frame as JSON (skipping pings), or None on close/timeout.
async fn next_json(ws: &mut Ws) -> Option<Value> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(3), ws.next())
            .await
            .ok()??
            .ok()?;
        match msg {
            WsMsg::Text(t) => {
                return Some(
                    serde_json::from_str(t.as_str()).unwrap_or(Value::String(t.to_string())),
                );
            }
            WsMsg::Close(_) => return None,
            _ => {}
        }
    }
}

#[tokio::test]
async fn kalshi_websocket_book_fill_heartbeat_and_faults() {
    let sim = start().await;

    // Unsigned upgrade is refused.
    let unsigned = tokio_tungstenite::connect_async(sim.urls.kalshi_ws.as_str()).await;
    assert!(unsigned.is_err());

    let mut ws = kalshi_ws_connect(&sim).await;
    ws.send(WsMsg::Text(json!({"id": 1, "cmd": "subscribe", "params": {"channels": ["orderbook_delta"], "market_tickers": [FED]}}).to_string().into()))
        .await
        .unwrap();
    let sub = next_json(&mut ws).await.unwrap();
    assert_eq!(sub["type"], "subscribed");
    let sid = sub["msg"]["sid"].as_u64().unwrap();
    let snap = next_json(&mut ws).await.unwrap();
    assert_eq!(snap["type"], "orderbook_snapshot");
    assert_eq!(snap["seq"], 1);
    assert_eq!(
        snap["msg"]["yes_dollars_fp"],
        json!([["0.3900", "200.00"], ["0.4000", "100.00"]])
    );

    ws.send(WsMsg::Text(
        json!({"id": 2, "cmd": "subscribe", "params": {"channels": ["fill"]}})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    assert_eq!(next_json(&mut ws).await.unwrap()["type"], "subscribed");

    // A resting bid at 0.41 → one delta with seq 2.
    kalshi(
        &sim,
        Method::POST,
        "/portfolio/events/orders",
        Some(order("bid", "0.41", "7", "good_till_canceled", "w1")),
    )
    .await;
    let d = next_json(&mut ws).await.unwrap();
    assert_eq!(d["type"], "orderbook_delta");
    assert_eq!(d["sid"], sid);
    assert_eq!(d["seq"], 2);
    assert_eq!(d["msg"]["price_dollars"], "0.4100");
    assert_eq!(d["msg"]["delta_fp"], "7.00");
    assert_eq!(d["msg"]["side"], "yes");
    // Legacy integer fields the 2026-03 AsyncAPI copy still requires.
    assert_eq!(
        (d["msg"]["price"].as_u64(), d["msg"]["delta"].as_i64()),
        (Some(41), Some(7))
    );

    // A gap fault makes the next seq jump.
    sim.add_fault(fault(
        VenueName::Kalshi,
        "/trade-api/ws/v2",
        FaultKind::WsGap,
    ));
    kalshi(
        &sim,
        Method::POST,
        "/portfolio/events/orders",
        Some(order("bid", "0.42", "2", "fill_or_kill", "w2")),
    )
    .await;
    let mut seqs = Vec::new();
    let mut fill = None;
    for _ in 0..2 {
        let m = next_json(&mut ws).await.unwrap();
        match m["type"].as_str() {
            Some("orderbook_delta") => seqs.push(m["seq"].as_u64().unwrap()),
            Some("fill") => fill = Some(m),
            _ => {}
        }
    }
    assert_eq!(seqs, vec![4], "seq 3 skipped");
    let fill = fill.expect("fill message");
    assert_eq!(fill["msg"]["client_order_id"], "w2");
    assert_eq!(fill["msg"]["is_taker"], true);
    assert_eq!(fill["msg"]["count_fp"], "2.00");
    assert_eq!(fill["msg"]["post_position_fp"], "2.00");
    assert_eq!(
        (
            fill["msg"]["action"].as_str(),
            fill["msg"]["count"].as_u64()
        ),
        (Some("buy"), Some(2))
    );

    // Resync with get_snapshot.
    ws.send(WsMsg::Text(json!({"id": 3, "cmd": "update_subscription", "params": {"sid": sid, "action": "get_snapshot"}}).to_string().into()))
        .await
        .unwrap();
    let snap = next_json(&mut ws).await.unwrap();
    assert_eq!(snap["type"], "orderbook_snapshot");
    assert_eq!(snap["seq"], 5);
    ws.send(WsMsg::Text(
        json!({"id": 4, "cmd": "unsubscribe", "params": {"sids": [99]}})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    assert_eq!(next_json(&mut ws).await.unwrap()["msg"]["code"], 7);

    // Heartbeat pings arrive (200 ms in the test scenario).
    let mut saw_ping = false;
    for _ in 0..10 {
        if let Ok(Some(Ok(WsMsg::Ping(p)))) =
            tokio::time::timeout(Duration::from_secs(1), ws.next()).await
        {
            assert_eq!(p.as_ref(), b"heartbeat");
            saw_ping = true;
            break;
        }
    }
    assert!(saw_ping);

    // Disconnect fault closes the stream on the next sequenced message.
    sim.add_fault(fault(
        VenueName::Kalshi,
        "/trade-api/ws/v2",
        FaultKind::WsDisconnect,
    ));
    kalshi(
        &sim,
        Method::POST,
        "/portfolio/events/orders",
        Some(order("bid", "0.36", "1", "good_till_canceled", "w3")),
    )
    .await;
    let mut closed = false;
    for _ in 0..5 {
        match tokio::time::timeout(Duration::from_secs(2), ws.next()).await {
            Ok(Some(Ok(WsMsg::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => {
                closed = true;
                break;
            }
            _ => {}
        }
    }
    assert!(closed);
}

/// Every JSON message that arrives within `window`.
async fn drain_json(ws: &mut Ws, window: Duration) -> Vec<Value> {
    let mut out = Vec::new();
    let end = tokio::time::Instant::now() + window;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(end, ws.next()).await {
        if let WsMsg::Text(t) = msg {
            out.push(serde_json::from_str(t.as_str()).unwrap());
        }
    }
    out
}

#[tokio::test]
async fn kalshi_websocket_private_and_ticker_channels() {
    let sim = start().await;
    let mut ws = kalshi_ws_connect(&sim).await;
    ws.send(WsMsg::Text(json!({"id": 1, "cmd": "subscribe", "params": {"channels": ["user_orders", "market_positions", "ticker"], "market_tickers": [FED]}}).to_string().into()))
        .await
        .unwrap();
    let subs = drain_json(&mut ws, Duration::from_millis(300)).await;
    assert_eq!(subs.iter().filter(|m| m["type"] == "subscribed").count(), 3);

    let r = kalshi(
        &sim,
        Method::POST,
        "/portfolio/events/orders",
        Some(order("bid", "0.38", "4", "good_till_canceled", "u1")),
    )
    .await;
    let resting_id = r.body["order_id"].as_str().unwrap().to_string();
    kalshi(
        &sim,
        Method::POST,
        "/portfolio/events/orders",
        Some(order("bid", "0.42", "3", "immediate_or_cancel", "u2")),
    )
    .await;
    let msgs = drain_json(&mut ws, Duration::from_millis(500)).await;
    let of = |t: &str| {
        msgs.iter()
            .filter(|m| m["type"] == t)
            .cloned()
            .collect::<Vec<_>>()
    };

    let orders = of("user_order");
    assert_eq!(orders.len(), 2, "{msgs:?}");
    assert_eq!(orders[0]["msg"]["order_id"], resting_id.as_str());
    assert_eq!(orders[0]["msg"]["status"], "resting");
    assert_eq!(orders[0]["msg"]["remaining_count_fp"], "4.00");
    assert_eq!(orders[1]["msg"]["client_order_id"], "u2");
    assert_eq!(orders[1]["msg"]["status"], "executed");
    assert_eq!(orders[1]["msg"]["fill_count_fp"], "3.00");
    assert_eq!(orders[1]["msg"]["taker_fees_dollars"], "0.0512");

    let positions = of("market_position");
    assert_eq!(positions.len(), 1);
    assert_eq!(positions[0]["msg"]["position_fp"], "3.00");
    assert_eq!(positions[0]["msg"]["fees_paid"], 512);

    let tickers = of("ticker");
    assert!(!tickers.is_empty());
    let last = &tickers.last().unwrap()["msg"];
    assert_eq!(last["yes_bid_dollars"], "0.4000");
    assert_eq!(last["price_dollars"], "0.4200");

    // Lifecycle: settlement announces determined then settled.
    ws.send(WsMsg::Text(
        json!({"id": 2, "cmd": "subscribe", "params": {"channels": ["market_lifecycle_v2"]}})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    assert_eq!(next_json(&mut ws).await.unwrap()["type"], "subscribed");
    sim.resolve(VenueName::Kalshi, FED, false).unwrap();
    let msgs = drain_json(&mut ws, Duration::from_millis(500)).await;
    let life: Vec<&Value> = msgs
        .iter()
        .filter(|m| m["type"] == "market_lifecycle_v2")
        .collect();
    assert_eq!(life.len(), 2, "{msgs:?}");
    assert_eq!(life[0]["msg"]["event_type"], "determined");
    assert_eq!(life[1]["msg"]["event_type"], "settled");
    assert_eq!(life[1]["msg"]["result"], "no");
    // The resting bid was cancelled by settlement and reported as such.
    assert!(
        msgs.iter()
            .any(|m| m["type"] == "user_order" && m["msg"]["status"] == "canceled")
    );
}

// ------------------------------------------------------------ Polymarket

fn keccak(data: &[u8]) -> [u8; 32] {
    Keccak256::digest(data).into()
}

fn word_u256(v: U256) -> [u8; 32] {
    v.to_be_bytes::<32>()
}

fn word_addr(addr: &str) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(&hex::decode(addr.trim_start_matches("0x")).unwrap());
    w
}

fn sign_digest(digest: [u8; 32]) -> String {
    let key = SigningKey::from_slice(&hex::decode(HARDHAT_KEY).unwrap()).unwrap();
    let (sig, recid) = key.sign_prehash_recoverable(&digest).unwrap();
    let mut out = sig.to_bytes().to_vec();
    out.push(27 + recid.to_byte());
    format!("0x{}", hex::encode(out))
}

fn eip712(domain_sep: [u8; 32], struct_hash: [u8; 32]) -> [u8; 32] {
    let mut m = vec![0x19, 0x01];
    m.extend_from_slice(&domain_sep);
    m.extend_from_slice(&struct_hash);
    keccak(&m)
}

fn exchange_domain(chain: u64, contract: &str) -> [u8; 32] {
    let mut e = keccak(
        b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)",
    )
    .to_vec();
    e.extend_from_slice(&keccak(b"Polymarket CTF Exchange"));
    e.extend_from_slice(&keccak(b"2"));
    e.extend_from_slice(&word_u256(U256::from(chain)));
    e.extend_from_slice(&word_addr(contract));
    keccak(&e)
}

fn clob_auth_headers(ts: &str, nonce: u64) -> Vec<(&'static str, String)> {
    let mut d = keccak(b"EIP712Domain(string name,string version,uint256 chainId)").to_vec();
    d.extend_from_slice(&keccak(b"ClobAuthDomain"));
    d.extend_from_slice(&keccak(b"1"));
    d.extend_from_slice(&word_u256(U256::from(137u64)));
    let mut s =
        keccak(b"ClobAuth(address address,string timestamp,uint256 nonce,string message)").to_vec();
    s.extend_from_slice(&word_addr(HARDHAT_ADDR));
    s.extend_from_slice(&keccak(ts.as_bytes()));
    s.extend_from_slice(&word_u256(U256::from(nonce)));
    s.extend_from_slice(&keccak(
        b"This message attests that I control the given wallet",
    ));
    let sig = sign_digest(eip712(keccak(&d), keccak(&s)));
    vec![
        ("POLY_ADDRESS", HARDHAT_ADDR.to_string()),
        ("POLY_SIGNATURE", sig),
        ("POLY_TIMESTAMP", ts.to_string()),
        ("POLY_NONCE", nonce.to_string()),
    ]
}

#[derive(Clone)]
struct Creds {
    key: String,
    secret: String,
    passphrase: String,
}

async fn create_creds(sim: &SimHandle) -> Creds {
    let ts = (now_ms() / 1000).to_string();
    let r = send(
        Method::POST,
        &format!("{}/auth/api-key", sim.urls.polymarket_clob),
        &clob_auth_headers(&ts, 0),
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{:?}", r.body);
    Creds {
        key: r.body["apiKey"].as_str().unwrap().into(),
        secret: r.body["secret"].as_str().unwrap().into(),
        passphrase: r.body["passphrase"].as_str().unwrap().into(),
    }
}

fn l2_headers(
    c: &Creds,
    method: &str,
    path: &str,
    body: &str,
    ts: i64,
) -> Vec<(&'static str, String)> {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(&URL_SAFE.decode(&c.secret).unwrap()).unwrap();
    mac.update(format!("{ts}{method}{path}{body}").as_bytes());
    let sig = URL_SAFE.encode(mac.finalize().into_bytes());
    vec![
        ("POLY_ADDRESS", HARDHAT_ADDR.to_string()),
        ("POLY_SIGNATURE", sig),
        ("POLY_TIMESTAMP", ts.to_string()),
        ("POLY_API_KEY", c.key.clone()),
        ("POLY_PASSPHRASE", c.passphrase.clone()),
    ]
}

async fn poly(
    sim: &SimHandle,
    c: &Creds,
    method: Method,
    path_q: &str,
    body: Option<String>,
) -> Resp {
    let path = path_q.split('?').next().unwrap();
    let b = body.clone().unwrap_or_default();
    let h = l2_headers(c, method.as_str(), path, &b, now_ms() / 1000);
    send(
        method,
        &format!("{}{path_q}", sim.urls.polymarket_clob),
        &h,
        body,
    )
    .await
    .unwrap()
}

struct OrderArgs<'a> {
    token: &'a str,
    side: u8,
    maker_amount: u64,
    taker_amount: u64,
    exchange: &'a str,
    salt: u64,
}

/// Build and sign a V2 order body with the hand-written encoder.
fn signed_order(c: &Creds, a: &OrderArgs, order_type: &str) -> (String, String) {
    signed_order_as(c, a, order_type, HARDHAT_ADDR, 0)
}

/// Same, with another `maker` (proxy / Safe funder) and signature type.
fn signed_order_as(
    c: &Creds,
    a: &OrderArgs,
    order_type: &str,
    maker: &str,
    sig_type: u8,
) -> (String, String) {
    let ts = now_ms().to_string();
    let mut s = keccak(b"Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,bytes32 builder)").to_vec();
    s.extend_from_slice(&word_u256(U256::from(a.salt)));
    s.extend_from_slice(&word_addr(maker));
    s.extend_from_slice(&word_addr(HARDHAT_ADDR));
    s.extend_from_slice(&word_u256(U256::from_str_radix(a.token, 10).unwrap()));
    s.extend_from_slice(&word_u256(U256::from(a.maker_amount)));
    s.extend_from_slice(&word_u256(U256::from(a.taker_amount)));
    s.extend_from_slice(&word_u256(U256::from(a.side)));
    s.extend_from_slice(&word_u256(U256::from(sig_type)));
    s.extend_from_slice(&word_u256(U256::from_str_radix(&ts, 10).unwrap()));
    s.extend_from_slice(&[0u8; 64]);
    let digest = eip712(exchange_domain(137, a.exchange), keccak(&s));
    let body = json!({"order": {"salt": a.salt, "maker": maker, "signer": HARDHAT_ADDR, "tokenId": a.token,
        "makerAmount": a.maker_amount.to_string(), "takerAmount": a.taker_amount.to_string(),
        "side": if a.side == 0 { "BUY" } else { "SELL" }, "expiration": "0", "signatureType": sig_type, "timestamp": ts,
        "metadata": format!("0x{}", "00".repeat(32)), "builder": format!("0x{}", "00".repeat(32)),
        "signature": sign_digest(digest)},
        "owner": c.key, "orderType": order_type, "deferExec": false, "postOnly": false});
    (body.to_string(), format!("0x{}", hex::encode(digest)))
}

#[tokio::test]
async fn polymarket_public_market_data_and_gamma() {
    let sim = start().await;
    let clob = &sim.urls.polymarket_clob;
    assert_eq!(
        get(&format!("{clob}/version")).await.body,
        json!({"version": 2})
    );
    assert_eq!(get(&format!("{clob}/ok")).await.body, json!("OK"));
    let t = get(&format!("{clob}/time")).await.body.as_i64().unwrap();
    assert!((t - now_ms() / 1000).abs() < 5);
    send(
        Method::POST,
        &format!("{}/_sim/clock", sim.urls.polymarket_admin),
        &[],
        Some(json!({"offset_ms": -3_600_000}).to_string()),
    )
    .await
    .unwrap();
    let skewed = get(&format!("{clob}/time")).await.body.as_i64().unwrap();
    assert!(
        (t - skewed - 3600).abs() < 5,
        "the venue clock moved back an hour"
    );

    let book = get(&format!("{clob}/book?token_id={P1_YES}")).await.body;
    for f in [
        "market",
        "asset_id",
        "timestamp",
        "hash",
        "bids",
        "asks",
        "min_order_size",
        "tick_size",
        "neg_risk",
        "last_trade_price",
    ] {
        assert!(book.get(f).is_some(), "book lacks {f}");
    }
    // Best level last on both sides.
    assert_eq!(
        book["bids"],
        json!([{"price": "0.49", "size": "50"}, {"price": "0.5", "size": "100"}])
    );
    assert_eq!(
        book["asks"],
        json!([{"price": "0.62", "size": "40"}, {"price": "0.6", "size": "100"}])
    );
    assert_eq!(book["neg_risk"], json!(false));
    // The NO token's book mirrors the YES book.
    let no = get(&format!("{clob}/book?token_id={P1_NO}")).await.body;
    assert_eq!(
        no["bids"],
        json!([{"price": "0.38", "size": "40"}, {"price": "0.4", "size": "100"}])
    );
    assert_eq!(get(&format!("{clob}/book?token_id=123")).await.status, 404);
    let bad = send(
        Method::POST,
        &format!("{clob}/books"),
        &[],
        Some("not json".into()),
    )
    .await
    .unwrap();
    assert_eq!(bad.status, 400);
    assert!(bad.body["error"].is_string());
    let wrong_method = send(Method::PUT, &format!("{clob}/book"), &[], None)
        .await
        .unwrap();
    assert_eq!(wrong_method.status, 405);
    assert!(wrong_method.body["error"].is_string());

    let books = send(
        Method::POST,
        &format!("{clob}/books"),
        &[],
        Some(json!([{"token_id": P1_YES}, {"token_id": P2_YES}]).to_string()),
    )
    .await
    .unwrap()
    .body;
    assert_eq!(books.as_array().unwrap().len(), 2);
    assert_eq!(books[1]["neg_risk"], json!(true));
    assert_eq!(
        get(&format!("{clob}/price?token_id={P1_YES}&side=BUY"))
            .await
            .body,
        json!({"price": "0.6"})
    );
    assert_eq!(
        get(&format!("{clob}/price?token_id={P1_YES}&side=SELL"))
            .await
            .body,
        json!({"price": "0.5"})
    );
    assert_eq!(
        get(&format!("{clob}/midpoint?token_id={P1_YES}"))
            .await
            .body,
        json!({"mid": "0.55"})
    );
    assert_eq!(
        get(&format!("{clob}/tick-size?token_id={P1_YES}"))
            .await
            .body,
        json!({"minimum_tick_size": 0.01})
    );
    assert_eq!(
        get(&format!("{clob}/neg-risk?token_id={P2_YES}"))
            .await
            .body,
        json!({"neg_risk": true})
    );

    // Paging: MA== … LTE= (page size 2 in the test scenario).
    let p1 = get(&format!("{clob}/markets")).await.body;
    assert_eq!(p1["data"].as_array().unwrap().len(), 2);
    let next = p1["next_cursor"].as_str().unwrap().to_string();
    assert_ne!(next, "LTE=");
    let p2 = get(&format!("{clob}/sampling-markets?next_cursor={next}"))
        .await
        .body;
    assert_eq!(p2["data"].as_array().unwrap().len(), 1);
    assert_eq!(p2["next_cursor"], "LTE=");
    let m = get(&format!("{clob}/markets/{P1}")).await.body;
    assert_eq!(m["tokens"][0]["token_id"], P1_YES);
    assert_eq!(m["minimum_tick_size"], json!(0.01));
    let cm = get(&format!("{clob}/clob-markets/{P1}")).await.body;
    assert_eq!(cm["fd"], json!({"r": 0.04, "e": 1, "to": true}));
    assert_eq!(cm["nr"], json!(false));
    assert_eq!(cm["t"][1]["t"], P1_NO);

    let gm = get(&format!(
        "{}/markets?slug=will-the-oklahoma-city-thunder-win-the-2027-nba-finals",
        sim.urls.gamma
    ))
    .await
    .body;
    let gm = &gm[0];
    let ids: Vec<String> = serde_json::from_str(gm["clobTokenIds"].as_str().unwrap()).unwrap();
    assert_eq!(ids[0], P2_YES);
    let outcomes: Vec<String> = serde_json::from_str(gm["outcomes"].as_str().unwrap()).unwrap();
    assert_eq!(outcomes, vec!["Yes", "No"]);
    assert_eq!(gm["negRisk"], json!(true));
    let ev = get(&format!(
        "{}/events?slug=fed-decision-in-december-2026",
        sim.urls.gamma
    ))
    .await
    .body;
    assert_eq!(ev[0]["markets"][0]["conditionId"], P1);
}

#[tokio::test]
async fn polymarket_l1_and_l2_auth() {
    let sim = start().await;
    let clob = sim.urls.polymarket_clob.clone();
    let c = create_creds(&sim).await;
    // Same nonce → same credentials; creating twice is refused.
    let ts = (now_ms() / 1000).to_string();
    let d = send(
        Method::GET,
        &format!("{clob}/auth/derive-api-key"),
        &clob_auth_headers(&ts, 0),
        None,
    )
    .await
    .unwrap();
    assert_eq!(d.body["apiKey"], c.key.as_str());
    assert_eq!(d.body["secret"], c.secret.as_str());
    assert_eq!(d.body["passphrase"], c.passphrase.as_str());
    let again = send(
        Method::POST,
        &format!("{clob}/auth/api-key"),
        &clob_auth_headers(&ts, 0),
        None,
    )
    .await
    .unwrap();
    assert_eq!(again.status, 400);
    // Another nonce gives other credentials.
    let other = send(
        Method::POST,
        &format!("{clob}/auth/api-key"),
        &clob_auth_headers(&ts, 1),
        None,
    )
    .await
    .unwrap();
    assert_ne!(other.body["apiKey"], c.key.as_str());

    // A signature by someone else (wrong address header) fails.
    let mut h = clob_auth_headers(&ts, 2);
    h[0].1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8".into();
    assert_eq!(
        send(Method::POST, &format!("{clob}/auth/api-key"), &h, None)
            .await
            .unwrap()
            .status,
        401
    );
    // The official vector (Amoy, ts 10000000) is stale and for another chain: refused.
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("polymarket_vectors.json")).unwrap(),
    )
    .unwrap();
    let vh: Vec<(&str, String)> = v["cases"][0]["l1_headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                if k == "POLY_ADDRESS" {
                    "POLY_ADDRESS"
                } else if k == "POLY_SIGNATURE" {
                    "POLY_SIGNATURE"
                } else if k == "POLY_TIMESTAMP" {
                    "POLY_TIMESTAMP"
                } else {
                    "POLY_NONCE"
                },
                v.as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        send(Method::POST, &format!("{clob}/auth/api-key"), &vh, None)
            .await
            .unwrap()
            .status,
        401
    );

    // L2: good, bad HMAC, wrong passphrase, stale timestamp.
    let ok = poly(
        &sim,
        &c,
        Method::GET,
        "/balance-allowance?asset_type=COLLATERAL",
        None,
    )
    .await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    assert_eq!(ok.body["balance"], "1000000000");
    let url = format!("{clob}/balance-allowance?asset_type=COLLATERAL");
    let mut h = l2_headers(&c, "GET", "/balance-allowance", "", now_ms() / 1000);
    h[1].1 = URL_SAFE.encode([1u8; 32]);
    assert_eq!(send(Method::GET, &url, &h, None).await.unwrap().status, 401);
    let h = l2_headers(
        &c,
        "GET",
        "/balance-allowance?asset_type=COLLATERAL",
        "",
        now_ms() / 1000,
    );
    assert_eq!(
        send(Method::GET, &url, &h, None).await.unwrap().status,
        401,
        "query is not signed"
    );
    let mut h = l2_headers(&c, "GET", "/balance-allowance", "", now_ms() / 1000);
    h[4].1 = "nope".into();
    assert_eq!(send(Method::GET, &url, &h, None).await.unwrap().status, 401);
    let h = l2_headers(&c, "GET", "/balance-allowance", "", now_ms() / 1000 - 3600);
    assert_eq!(send(Method::GET, &url, &h, None).await.unwrap().status, 401);
    // Body tampering after signing.
    let body = json!({"orderID": "0x01"}).to_string();
    let h = l2_headers(&c, "DELETE", "/order", &body, now_ms() / 1000);
    let r = send(
        Method::DELETE,
        &format!("{clob}/order"),
        &h,
        Some(json!({"orderID": "0x02"}).to_string()),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn polymarket_orders_match_and_cancel() {
    let sim = start().await;
    let c = create_creds(&sim).await;
    let vectors: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("polymarket_vectors.json")).unwrap(),
    )
    .unwrap();
    let case = |name: &str| {
        vectors["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()
            .clone()
    };

    // The official client's signed order, posted unchanged except for the owner:
    // the sim's order hash must equal the official digest.
    let v = case("v2_polygon_buy_0.01_eoa");
    let mut body = v["post_order_body"].clone();
    body["owner"] = json!(c.key);
    let r = poly(&sim, &c, Method::POST, "/order", Some(body.to_string())).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["success"], true);
    assert_eq!(r.body["orderID"], v["order_hash_eip712_digest"]);
    assert_eq!(r.body["status"], "live");
    let vector_id = r.body["orderID"].as_str().unwrap().to_string();
    // Posting the same order again is refused.
    let dup = poly(&sim, &c, Method::POST, "/order", Some(body.to_string())).await;
    assert_eq!(dup.status, 400);
    // Neg-risk vector against the neg-risk market.
    let nv = case("v2_polygon_negrisk_buy_0.01_eoa");
    let mut nb = nv["post_order_body"].clone();
    nb["owner"] = json!(c.key);
    let r = poly(&sim, &c, Method::POST, "/order", Some(nb.to_string())).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["orderID"], nv["order_hash_eip712_digest"]);
    // Tampered amount: the signature no longer recovers the signer.
    let mut bad = v["post_order_body"].clone();
    bad["owner"] = json!(c.key);
    bad["order"]["salt"] = json!(4);
    let r = poly(&sim, &c, Method::POST, "/order", Some(bad.to_string())).await;
    assert_eq!(r.status, 400);
    assert!(
        r.body["error"]
            .as_str()
            .unwrap()
            .contains("invalid signature")
    );

    // Own order signed for the wrong exchange on a neg-risk market.
    let wrong = OrderArgs {
        token: P2_YES,
        side: 0,
        maker_amount: 4_250_000,
        taker_amount: 5_000_000,
        exchange: EXCHANGE_V2,
        salt: 11,
    };
    let (b, _) = signed_order(&c, &wrong, "GTC");
    let r = poly(&sim, &c, Method::POST, "/order", Some(b)).await;
    assert!(
        r.body["error"]
            .as_str()
            .unwrap()
            .contains("invalid signature"),
        "{:?}",
        r.body
    );
    let right = OrderArgs {
        exchange: NEG_RISK_V2,
        ..wrong
    };
    let (b, _) = signed_order(&c, &right, "FOK");
    let r = poly(&sim, &c, Method::POST, "/order", Some(b)).await;
    assert_eq!(r.body["status"], "matched", "{:?}", r.body);

    // FOK BUY 10 YES @ 0.60 against 100 @ 0.60: fills; taker fee 0.04×10×0.6×0.4 = 0.096.
    let before = poly(
        &sim,
        &c,
        Method::GET,
        "/balance-allowance?asset_type=COLLATERAL",
        None,
    )
    .await
    .body["balance"]
        .as_str()
        .unwrap()
        .parse::<i64>()
        .unwrap();
    let fok = OrderArgs {
        token: P1_YES,
        side: 0,
        maker_amount: 6_000_000,
        taker_amount: 10_000_000,
        exchange: EXCHANGE_V2,
        salt: 21,
    };
    let (b, id) = signed_order(&c, &fok, "FOK");
    let r = poly(&sim, &c, Method::POST, "/order", Some(b)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["orderID"], id.as_str());
    assert_eq!(r.body["status"], "matched");
    assert_eq!(r.body["takingAmount"], "10");
    assert_eq!(r.body["makingAmount"], "6");
    assert_eq!(r.body["transactionsHashes"].as_array().unwrap().len(), 1);
    let after = poly(
        &sim,
        &c,
        Method::GET,
        "/balance-allowance?asset_type=COLLATERAL",
        None,
    )
    .await
    .body["balance"]
        .as_str()
        .unwrap()
        .parse::<i64>()
        .unwrap();
    assert_eq!(before - after, 6_000_000 + 96_000);
    let tokens = poly(
        &sim,
        &c,
        Method::GET,
        &format!("/balance-allowance?asset_type=CONDITIONAL&token_id={P1_YES}"),
        None,
    )
    .await;
    assert_eq!(tokens.body["balance"], "10000000");

    // FOK that cannot fill: refused, book untouched.
    let big = OrderArgs {
        token: P1_YES,
        side: 0,
        maker_amount: 120_000_000,
        taker_amount: 200_000_000,
        exchange: EXCHANGE_V2,
        salt: 22,
    };
    let (b, _) = signed_order(&c, &big, "FOK");
    let r = poly(&sim, &c, Method::POST, "/order", Some(b)).await;
    assert_eq!(r.status, 400);
    assert!(r.body["error"].as_str().unwrap().contains("FOK"));
    // FAK: partial fill of what is there at ≤ 0.60 (90 left).
    let fak = OrderArgs {
        token: P1_YES,
        side: 0,
        maker_amount: 60_000_000,
        taker_amount: 100_000_000,
        exchange: EXCHANGE_V2,
        salt: 23,
    };
    let (b, _) = signed_order(&c, &fak, "FAK");
    let r = poly(&sim, &c, Method::POST, "/order", Some(b)).await;
    assert_eq!(r.body["takingAmount"], "90", "{:?}", r.body);

    // SELL NO token (we hold none): not enough balance.
    let sell_no = OrderArgs {
        token: P1_NO,
        side: 1,
        maker_amount: 5_000_000,
        taker_amount: 2_000_000,
        exchange: EXCHANGE_V2,
        salt: 24,
    };
    let (b, _) = signed_order(&c, &sell_no, "GTC");
    let r = poly(&sim, &c, Method::POST, "/order", Some(b)).await;
    assert_eq!(r.body["error"], "not enough balance / allowance");

    // Off-tick price and too-precise size are refused.
    let off = OrderArgs {
        token: P1_YES,
        side: 0,
        maker_amount: 2_525_000,
        taker_amount: 5_000_000,
        exchange: EXCHANGE_V2,
        salt: 25,
    };
    let (b, _) = signed_order(&c, &off, "GTC");
    assert_eq!(
        poly(&sim, &c, Method::POST, "/order", Some(b)).await.status,
        400
    );
    let lot = OrderArgs {
        token: P1_YES,
        side: 0,
        maker_amount: 2_500_500,
        taker_amount: 5_001_000,
        exchange: EXCHANGE_V2,
        salt: 26,
    };
    let (b, _) = signed_order(&c, &lot, "GTC");
    let r = poly(&sim, &c, Method::POST, "/order", Some(b)).await;
    assert!(
        r.body["error"]
            .as_str()
            .unwrap()
            .contains("invalid amounts"),
        "{:?}",
        r.body
    );
    // Below the minimum size (5).
    let small = OrderArgs {
        token: P1_YES,
        side: 0,
        maker_amount: 1_000_000,
        taker_amount: 2_000_000,
        exchange: EXCHANGE_V2,
        salt: 27,
    };
    let (b, _) = signed_order(&c, &small, "GTC");
    assert!(
        poly(&sim, &c, Method::POST, "/order", Some(b)).await.body["error"]
            .as_str()
            .unwrap()
            .contains("minimum")
    );

    // A V1-shaped order → order_version_mismatch.
    let mut v1 = body.clone();
    v1["order"]["nonce"] = json!("0");
    v1["order"]["feeRateBps"] = json!("0");
    let r = poly(&sim, &c, Method::POST, "/order", Some(v1.to_string())).await;
    assert!(
        r.body["error"]
            .as_str()
            .unwrap()
            .contains("order_version_mismatch")
    );

    // Open orders, one order, trades.
    let open = poly(&sim, &c, Method::GET, "/data/orders", None).await.body;
    assert_eq!(open["next_cursor"], "LTE=");
    let ids: Vec<&str> = open["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&vector_id.as_str()));
    let one = poly(
        &sim,
        &c,
        Method::GET,
        &format!("/data/order/{vector_id}"),
        None,
    )
    .await
    .body;
    assert_eq!(one["status"], "LIVE");
    assert_eq!(one["price"], "0.56");
    assert_eq!(one["original_size"], "21.04");
    assert_eq!(one["asset_id"], P1_YES);
    let trades = poly(&sim, &c, Method::GET, "/data/trades", None).await.body;
    let t = &trades["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["taker_order_id"] == id.as_str())
        .unwrap();
    assert_eq!(t["size"], "10");
    assert_eq!(t["price"], "0.6");
    assert_eq!(t["fee_rate_bps"], "400");
    assert_eq!(t["trader_side"], "TAKER");

    // Cancel; cancel again → not_canceled.
    let cb = json!({"orderID": vector_id}).to_string();
    let r = poly(&sim, &c, Method::DELETE, "/order", Some(cb.clone())).await;
    assert_eq!(r.body["canceled"], json!([vector_id]));
    let r = poly(&sim, &c, Method::DELETE, "/order", Some(cb)).await;
    assert!(r.body["not_canceled"].get(&vector_id).is_some());
    let r = poly(&sim, &c, Method::DELETE, "/cancel-all", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        poly(&sim, &c, Method::GET, "/data/orders", None).await.body["data"],
        json!([])
    );

    // Settlement: the 100 YES held pay out.
    let before = poly(
        &sim,
        &c,
        Method::GET,
        "/balance-allowance?asset_type=COLLATERAL",
        None,
    )
    .await
    .body["balance"]
        .as_str()
        .unwrap()
        .parse::<i64>()
        .unwrap();
    sim.resolve(VenueName::Polymarket, P1, true).unwrap();
    let after = poly(
        &sim,
        &c,
        Method::GET,
        "/balance-allowance?asset_type=COLLATERAL",
        None,
    )
    .await
    .body["balance"]
        .as_str()
        .unwrap()
        .parse::<i64>()
        .unwrap();
    assert_eq!(after - before, 100_000_000);
    let m = get(&format!("{}/markets/{P1}", sim.urls.polymarket_clob))
        .await
        .body;
    assert_eq!(m["tokens"][0]["winner"], json!(true));
    assert_eq!(m["closed"], json!(true));
}

#[tokio::test]
async fn polymarket_faults_partial_fill_and_down() {
    let sim = start().await;
    let c = create_creds(&sim).await;
    let clob = sim.urls.polymarket_clob.clone();
    sim.add_fault(fault(
        VenueName::Polymarket,
        "GET /book",
        FaultKind::RateLimit,
    ));
    let r = get(&format!("{clob}/book?token_id={P1_YES}")).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.body, json!({"error": "Too Many Requests"}));
    sim.add_fault(fault(
        VenueName::Polymarket,
        "POST /order",
        FaultKind::ServerError,
    ));
    let (b, _) = signed_order(
        &c,
        &OrderArgs {
            token: P1_YES,
            side: 0,
            maker_amount: 3_000_000,
            taker_amount: 5_000_000,
            exchange: EXCHANGE_V2,
            salt: 1,
        },
        "FOK",
    );
    assert_eq!(
        poly(&sim, &c, Method::POST, "/order", Some(b)).await.status,
        500
    );

    let mut pf = fault(VenueName::Polymarket, "POST /order", FaultKind::PartialFill);
    pf.fill_percent = Some(50);
    sim.add_fault(pf);
    let (b, _) = signed_order(
        &c,
        &OrderArgs {
            token: P1_YES,
            side: 0,
            maker_amount: 12_000_000,
            taker_amount: 20_000_000,
            exchange: EXCHANGE_V2,
            salt: 2,
        },
        "FAK",
    );
    let r = poly(&sim, &c, Method::POST, "/order", Some(b)).await;
    assert_eq!(r.body["takingAmount"], "10", "{:?}", r.body);
    let mut rej = fault(VenueName::Polymarket, "POST /order", FaultKind::Reject);
    rej.message = Some("market is temporarily halted".into());
    sim.add_fault(rej);
    let (b, _) = signed_order(
        &c,
        &OrderArgs {
            token: P1_YES,
            side: 0,
            maker_amount: 3_000_000,
            taker_amount: 5_000_000,
            exchange: EXCHANGE_V2,
            salt: 3,
        },
        "FOK",
    );
    assert_eq!(
        poly(&sim, &c, Method::POST, "/order", Some(b)).await.body["error"],
        "market is temporarily halted"
    );

    let mut gamma_down = fault(VenueName::Gamma, "*", FaultKind::ServerError);
    gamma_down.status = Some(502);
    sim.add_fault(gamma_down);
    assert_eq!(
        get(&format!("{}/markets", sim.urls.gamma)).await.status,
        502
    );

    let mut down = fault(VenueName::Polymarket, "GET /ok", FaultKind::Down);
    down.duration_ms = Some(1500);
    sim.add_fault(down);
    assert!(
        send(Method::GET, &format!("{clob}/ok"), &[], None)
            .await
            .is_err()
    );
    assert!(
        send(Method::GET, &format!("{clob}/version"), &[], None)
            .await
            .is_err()
    );
    tokio::time::sleep(Duration::from_millis(1800)).await;
    assert_eq!(get(&format!("{clob}/ok")).await.status, 200);
}

#[tokio::test]
async fn polymarket_market_channel() {
    let sim = start().await;
    let c = create_creds(&sim).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(sim.urls.polymarket_ws.as_str())
        .await
        .unwrap();
    ws.send(WsMsg::Text(
        json!({"type": "market", "assets_ids": [P1_YES, P1_NO], "initial_dump": true})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    let books = next_json(&mut ws).await.unwrap();
    let books = books.as_array().unwrap();
    assert_eq!(books.len(), 2);
    assert_eq!(books[0]["event_type"], "book");
    assert_eq!(books[0]["asset_id"], P1_YES);
    assert_eq!(books[0]["bids"][1], json!({"price": "0.5", "size": "100"}));

    ws.send(WsMsg::Text("PING".into())).await.unwrap();
    assert_eq!(next_json(&mut ws).await.unwrap(), json!("PONG"));

    // A trade of 10 @ 0.60: price_change (new total 90) and last_trade_price.
    let (b, _) = signed_order(
        &c,
        &OrderArgs {
            token: P1_YES,
            side: 0,
            maker_amount: 6_000_000,
            taker_amount: 10_000_000,
            exchange: EXCHANGE_V2,
            salt: 5,
        },
        "FOK",
    );
    assert_eq!(
        poly(&sim, &c, Method::POST, "/order", Some(b)).await.status,
        200
    );
    let pc = next_json(&mut ws).await.unwrap();
    assert_eq!(pc["event_type"], "price_change");
    let changes = pc["price_changes"].as_array().unwrap();
    let yes = changes.iter().find(|c| c["asset_id"] == P1_YES).unwrap();
    assert_eq!(
        (
            yes["price"].as_str(),
            yes["size"].as_str(),
            yes["side"].as_str()
        ),
        (Some("0.6"), Some("90"), Some("SELL"))
    );
    let no = changes.iter().find(|c| c["asset_id"] == P1_NO).unwrap();
    assert_eq!(
        (no["price"].as_str(), no["side"].as_str()),
        (Some("0.4"), Some("BUY"))
    );
    let mut last = Vec::new();
    for _ in 0..2 {
        let m = next_json(&mut ws).await.unwrap();
        assert_eq!(m["event_type"], "last_trade_price");
        last.push((
            m["asset_id"].as_str().unwrap().to_string(),
            m["price"].as_str().unwrap().to_string(),
            m["side"].as_str().unwrap().to_string(),
        ));
    }
    assert!(last.contains(&(P1_YES.to_string(), "0.6".into(), "BUY".into())));
    assert!(last.contains(&(P1_NO.to_string(), "0.4".into(), "SELL".into())));

    sim.add_fault(fault(
        VenueName::Polymarket,
        "/ws/market",
        FaultKind::WsDisconnect,
    ));
    let (b, _) = signed_order(
        &c,
        &OrderArgs {
            token: P1_YES,
            side: 0,
            maker_amount: 2_500_000,
            taker_amount: 5_000_000,
            exchange: EXCHANGE_V2,
            salt: 6,
        },
        "GTC",
    );
    poly(&sim, &c, Method::POST, "/order", Some(b)).await;
    assert!(next_json(&mut ws).await.is_none());

    // A connection with custom features sees best_bid_ask and market_resolved.
    let (mut custom, _) = tokio_tungstenite::connect_async(sim.urls.polymarket_ws.as_str())
        .await
        .unwrap();
    custom
        .send(WsMsg::Text(json!({"type": "market", "assets_ids": [P1_YES], "initial_dump": false, "custom_feature_enabled": true}).to_string().into()))
        .await
        .unwrap();
    let (mut plain, _) = tokio_tungstenite::connect_async(sim.urls.polymarket_ws.as_str())
        .await
        .unwrap();
    plain
        .send(WsMsg::Text(
            json!({"type": "market", "assets_ids": [P1_YES], "initial_dump": false})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (b, _) = signed_order(
        &c,
        &OrderArgs {
            token: P1_YES,
            side: 0,
            maker_amount: 2_750_000,
            taker_amount: 5_000_000,
            exchange: EXCHANGE_V2,
            salt: 7,
        },
        "GTC",
    );
    assert_eq!(
        poly(&sim, &c, Method::POST, "/order", Some(b)).await.body["status"],
        "live"
    );
    let got = drain_json(&mut custom, Duration::from_millis(400)).await;
    let bba = got
        .iter()
        .find(|m| m["event_type"] == "best_bid_ask")
        .expect("best_bid_ask");
    assert_eq!(bba["best_bid"], "0.55");
    sim.resolve(VenueName::Polymarket, P1, true).unwrap();
    let got = drain_json(&mut custom, Duration::from_millis(400)).await;
    let resolved = got
        .iter()
        .find(|m| m["event_type"] == "market_resolved")
        .expect("market_resolved");
    assert_eq!(resolved["winning_asset_id"], P1_YES);
    assert_eq!(resolved["winning_outcome"], "Yes");
    // Without custom features neither message is sent.
    let seen = drain_json(&mut plain, Duration::from_millis(300)).await;
    assert!(seen.iter().any(|m| m["event_type"] == "price_change"));
    assert!(
        seen.iter()
            .all(|m| m["event_type"] != "best_bid_ask" && m["event_type"] != "market_resolved")
    );
}

#[tokio::test]
async fn polymarket_user_channel() {
    let sim = start().await;
    let c = create_creds(&sim).await;

    // Wrong secret: the connection is closed.
    let (mut bad, _) = tokio_tungstenite::connect_async(sim.urls.polymarket_ws_user.as_str())
        .await
        .unwrap();
    bad.send(WsMsg::Text(json!({"type": "user", "markets": [], "auth": {"apiKey": c.key, "secret": "x", "passphrase": c.passphrase}}).to_string().into()))
        .await
        .unwrap();
    assert!(next_json(&mut bad).await.is_none());

    let (mut ws, _) = tokio_tungstenite::connect_async(sim.urls.polymarket_ws_user.as_str())
        .await
        .unwrap();
    ws.send(WsMsg::Text(json!({"type": "user", "markets": [P1], "auth": {"apiKey": c.key, "secret": c.secret, "passphrase": c.passphrase}}).to_string().into()))
        .await
        .unwrap();
    ws.send(WsMsg::Text("PING".into())).await.unwrap();
    assert_eq!(next_json(&mut ws).await.unwrap(), json!("PONG"));

    // Resting order → PLACEMENT; cancel → CANCELLATION.
    let (b, id) = signed_order(
        &c,
        &OrderArgs {
            token: P1_YES,
            side: 0,
            maker_amount: 2_250_000,
            taker_amount: 5_000_000,
            exchange: EXCHANGE_V2,
            salt: 31,
        },
        "GTC",
    );
    assert_eq!(
        poly(&sim, &c, Method::POST, "/order", Some(b)).await.status,
        200
    );
    let placed = next_json(&mut ws).await.unwrap();
    assert_eq!(placed["event_type"], "order");
    assert_eq!(placed["type"], "PLACEMENT");
    assert_eq!(placed["id"], id.as_str());
    assert_eq!(placed["price"], "0.45");
    poly(
        &sim,
        &c,
        Method::DELETE,
        "/order",
        Some(json!({"orderID": id}).to_string()),
    )
    .await;
    assert_eq!(next_json(&mut ws).await.unwrap()["type"], "CANCELLATION");

    // A taker fill → trade message with the taker's view.
    let (b, id) = signed_order(
        &c,
        &OrderArgs {
            token: P1_NO,
            side: 0,
            maker_amount: 2_500_000,
            taker_amount: 5_000_000,
            exchange: EXCHANGE_V2,
            salt: 32,
        },
        "FOK",
    );
    let r = poly(&sim, &c, Method::POST, "/order", Some(b)).await;
    assert_eq!(r.body["status"], "matched", "{:?}", r.body);
    let t = next_json(&mut ws).await.unwrap();
    assert_eq!(t["event_type"], "trade");
    assert_eq!(t["status"], "MATCHED");
    assert_eq!(t["taker_order_id"], id.as_str());
    assert_eq!(t["asset_id"], P1_NO);
    assert_eq!(t["price"], "0.5");
    assert_eq!(t["size"], "5");
    assert_eq!(t["trader_side"], "TAKER");
}

#[tokio::test]
async fn batch_and_admin_endpoints() {
    let sim = start().await;
    let c = create_creds(&sim).await;

    // POST /orders: per-order results, a bad one does not sink the rest.
    let (a, id_a) = signed_order(
        &c,
        &OrderArgs {
            token: P1_YES,
            side: 0,
            maker_amount: 2_000_000,
            taker_amount: 5_000_000,
            exchange: EXCHANGE_V2,
            salt: 41,
        },
        "GTC",
    );
    let (b, id_b) = signed_order(
        &c,
        &OrderArgs {
            token: P1_YES,
            side: 0,
            maker_amount: 1_950_000,
            taker_amount: 5_000_000,
            exchange: EXCHANGE_V2,
            salt: 42,
        },
        "GTC",
    );
    let (bad, _) = signed_order(
        &c,
        &OrderArgs {
            token: P1_YES,
            side: 0,
            maker_amount: 1_000_000,
            taker_amount: 2_000_000,
            exchange: EXCHANGE_V2,
            salt: 43,
        },
        "GTC",
    );
    let batch = format!("[{a},{b},{bad}]");
    let r = poly(&sim, &c, Method::POST, "/orders", Some(batch)).await;
    assert_eq!(r.status, 200);
    let results = r.body.as_array().unwrap();
    assert_eq!(results[0]["orderID"], id_a.as_str());
    assert_eq!(results[1]["status"], "live");
    assert_eq!(results[2]["success"], false);
    assert!(results[2]["errorMsg"].as_str().unwrap().contains("minimum"));
    // DELETE /cancel-market-orders by token: only that token's orders go.
    let (n, id_n) = signed_order(
        &c,
        &OrderArgs {
            token: P1_NO,
            side: 0,
            maker_amount: 1_000_000,
            taker_amount: 5_000_000,
            exchange: EXCHANGE_V2,
            salt: 44,
        },
        "GTC",
    );
    assert_eq!(
        poly(&sim, &c, Method::POST, "/order", Some(n)).await.body["status"],
        "live"
    );
    let r = poly(
        &sim,
        &c,
        Method::DELETE,
        "/cancel-market-orders",
        Some(json!({"asset_id": P1_NO}).to_string()),
    )
    .await;
    assert_eq!(r.body["canceled"], json!([id_n]));
    // DELETE /orders with one unknown id.
    let r = poly(
        &sim,
        &c,
        Method::DELETE,
        "/orders",
        Some(json!([id_a, id_b, "0xdead"]).to_string()),
    )
    .await;
    assert_eq!(r.body["canceled"].as_array().unwrap().len(), 2);
    assert!(r.body["not_canceled"].get("0xdead").is_some());

    // Polymarket /_sim/state shows the cancelled orders gone and the balance whole.
    let state = get(&format!("{}/_sim/state", sim.urls.polymarket_admin))
        .await
        .body;
    assert_eq!(state["accounts"]["orion"]["open_orders"], json!([]));
    assert_eq!(state["accounts"]["orion"]["balance"], "1000.0000");
    assert_eq!(state["accounts"]["orion"]["locked"], "0.0000");
    assert_eq!(state["markets"][P1]["status"], "open");

    // Fault rules can be listed and cleared.
    let admin = format!("{}/_sim/faults", sim.urls.kalshi_admin);
    let rule = json!({"venue": "kalshi", "endpoint": "GET /trade-api/v2/exchange/status", "kind": "server_error", "after": 1});
    assert_eq!(
        send(Method::POST, &admin, &[], Some(rule.to_string()))
            .await
            .unwrap()
            .status,
        201
    );
    let bad_rule = json!({"venue": "kalshi", "kind": "latency"});
    assert_eq!(
        send(Method::POST, &admin, &[], Some(bad_rule.to_string()))
            .await
            .unwrap()
            .status,
        400
    );
    let status = format!("{}/exchange/status", sim.urls.kalshi_rest);
    assert_eq!(
        get(&status).await.status,
        200,
        "after = 1 lets the first through"
    );
    assert_eq!(get(&status).await.status, 500);
    let listed = get(&admin).await.body;
    assert_eq!(listed["faults"][0]["seen"], 2);
    assert_eq!(listed["faults"][0]["fired"], 1);
    assert_eq!(
        send(Method::DELETE, &admin, &[], None)
            .await
            .unwrap()
            .status,
        200
    );
    assert_eq!(get(&status).await.status, 200);

    // Kalshi batches: per-item results and errors.
    let batch = json!({"orders": [
        order("bid", "0.20", "2", "good_till_canceled", "b1"),
        order("bid", "0.21", "2", "good_till_canceled", "b1"),
        order("bid", "0.203", "2", "good_till_canceled", "b2"),
    ]});
    let r = kalshi(
        &sim,
        Method::POST,
        "/portfolio/events/orders/batched",
        Some(batch),
    )
    .await;
    assert_eq!(r.status, 201);
    let items = r.body["orders"].as_array().unwrap().clone();
    assert_eq!(items[0]["remaining_count"], "2.00");
    assert_eq!(items[1]["error"]["code"], "order_already_exists");
    assert_eq!(items[2]["error"]["code"], "invalid_price");
    let first = items[0]["order_id"].as_str().unwrap();
    let r = kalshi(
        &sim,
        Method::DELETE,
        "/portfolio/events/orders/batched",
        Some(json!({"orders": [{"order_id": first}, {"order_id": "nope"}]})),
    )
    .await;
    assert_eq!(r.body["orders"][0]["reduced_by"], "2.00");
    assert_eq!(r.body["orders"][1]["error"]["code"], "not_found");

    // Kalshi paging of orders and unknown ids.
    for i in 0..3 {
        kalshi(
            &sim,
            Method::POST,
            "/portfolio/events/orders",
            Some(order(
                "bid",
                "0.10",
                "1",
                "good_till_canceled",
                &format!("p{i}"),
            )),
        )
        .await;
    }
    let page = kalshi(&sim, Method::GET, "/portfolio/orders?limit=2", None)
        .await
        .body;
    assert_eq!(page["orders"].as_array().unwrap().len(), 2);
    let cursor = page["cursor"].as_str().unwrap().to_string();
    let page2 = kalshi(
        &sim,
        Method::GET,
        &format!("/portfolio/orders?limit=2&cursor={cursor}"),
        None,
    )
    .await
    .body;
    assert_eq!(
        page2["orders"].as_array().unwrap().len(),
        2,
        "3 singles and 1 batched order"
    );
    assert_eq!(page2["cursor"], "");
    assert_eq!(
        kalshi(&sim, Method::GET, "/portfolio/orders/nope", None)
            .await
            .status,
        404
    );
    assert_eq!(
        get(&format!("{}/events/NOPE", sim.urls.kalshi_rest))
            .await
            .status,
        404
    );
    assert_eq!(
        get(&format!("{}/series/NOPE", sim.urls.kalshi_rest))
            .await
            .status,
        404
    );

    // Gamma by id.
    let gm = get(&format!("{}/markets", sim.urls.gamma)).await.body;
    let id = gm[0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        get(&format!("{}/markets/{id}", sim.urls.gamma)).await.body["conditionId"],
        P1
    );
    let ev = get(&format!("{}/events", sim.urls.gamma)).await.body;
    let eid = ev[0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        get(&format!("{}/events/{eid}", sim.urls.gamma)).await.body["slug"],
        "fed-decision-in-december-2026"
    );
    assert_eq!(
        get(&format!("{}/events/999", sim.urls.gamma)).await.status,
        404
    );
}

#[tokio::test]
async fn scripted_halt_and_outage() {
    let sim = start().await;
    let market = |open: bool| {
        let url = format!(
            "{}/markets/0x4444444444444444444444444444444444444444444444444444444444444444",
            sim.urls.polymarket_clob
        );
        async move { get(&url).await.body["accepting_orders"] == json!(open) }
    };
    assert!(market(true).await);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(market(false).await, "closed by the script at 300 ms");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(market(true).await, "reopened at 1500 ms");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        send(
            Method::GET,
            &format!("{}/markets", sim.urls.gamma),
            &[],
            None
        )
        .await
        .is_err(),
        "gamma down at 2 s"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        get(&format!("{}/markets", sim.urls.gamma)).await.status,
        200
    );
}

#[tokio::test]
async fn polymarket_proxy_wallet_orders() {
    let sim = start().await;
    let c = create_creds(&sim).await;
    let args = OrderArgs {
        token: P1_YES,
        side: 0,
        maker_amount: 2_000_000,
        taker_amount: 5_000_000,
        exchange: EXCHANGE_V2,
        salt: 51,
    };
    // The registered funder, signature type 1 (POLY_PROXY): accepted.
    let (b, id) = signed_order_as(&c, &args, "GTC", PROXY_FUNDER, 1);
    let r = poly(&sim, &c, Method::POST, "/order", Some(b)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["orderID"], id.as_str());
    let one = poly(&sim, &c, Method::GET, &format!("/data/order/{id}"), None)
        .await
        .body;
    assert_eq!(
        one["maker_address"].as_str().unwrap().to_lowercase(),
        PROXY_FUNDER.to_lowercase()
    );
    // Someone else's wallet as maker: refused.
    let (b, _) = signed_order_as(
        &c,
        &OrderArgs { salt: 52, ..args },
        "GTC",
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        2,
    );
    let r = poly(&sim, &c, Method::POST, "/order", Some(b)).await;
    assert_eq!(r.status, 400);
    // An EOA order whose maker differs from the signer: refused.
    let (b, _) = signed_order_as(&c, &OrderArgs { salt: 53, ..args }, "GTC", PROXY_FUNDER, 0);
    assert_eq!(
        poly(&sim, &c, Method::POST, "/order", Some(b)).await.status,
        400
    );
}

#[tokio::test]
async fn binary_prints_one_ready_line() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_orion-sim"))
        .arg("--scenario")
        .arg(fixtures().join("scenario.toml"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .map(|_| line)
    });
    let line = tokio::time::timeout(Duration::from_secs(30), line).await;
    let checked = async {
        let line = line.unwrap().unwrap().unwrap();
        let urls: Value = serde_json::from_str(&line).unwrap();
        for k in [
            "kalshi_rest",
            "kalshi_ws",
            "polymarket_clob",
            "polymarket_ws",
            "gamma",
        ] {
            assert!(urls[k].as_str().unwrap().contains("127.0.0.1:"), "{k}");
        }
        get(&format!(
            "{}/exchange/status",
            urls["kalshi_rest"].as_str().unwrap()
        ))
        .await
        .status
    };
    let status = checked.await;
    // Stop the child we started, by its handle, whatever the outcome.
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 200);
}

#[tokio::test]
async fn scenario_validation_collects_problems() {
    let bad = r#"
[[accounts]]
name = "x"
kalshi_balance = "lots"
[[kalshi.markets]]
ticker = "T"
event_ticker = "MISSING"
title = "t"
yes_sub_title = "y"
no_sub_title = "n"
open_time = "yesterday"
close_time = "2026-01-01T00:00:00Z"
latest_expiration_time = "2026-01-01T00:00:00Z"
book = { bids = [["1.5", "10"]] }
"#;
    let s = Scenario::from_toml(bad).unwrap();
    let err = s.validate().unwrap_err().to_string();
    for needle in [
        "kalshi_balance",
        "unknown event",
        "bad price",
        "market_maker",
        "bad time",
    ] {
        assert!(err.contains(needle), "{needle} missing from {err}");
    }
    let demo = Scenario::load(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/sim/demo.toml"),
    )
    .unwrap();
    let sim = Sim::start(demo).await.unwrap();
    let state = get(&format!("{}/_sim/state", sim.urls.polymarket_admin))
        .await
        .body;
    assert!(state["markets"].as_object().unwrap().len() >= 3);
}
