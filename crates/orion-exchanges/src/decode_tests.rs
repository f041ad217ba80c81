//! Decoder tests: hand-written JSON, a table-driven bad-input matrix per
//! decoder, and the shared real samples when they are present.
//!
//! The matrix mutates one field of a valid document at a time (wrong type,
//! missing, out of range, too many decimals, huge, negative, non-ASCII, very
//! long) and requires an error that names the venue and that field; it also
//! truncates every document and feeds non-object roots. Extra fields must be
//! accepted (venues add fields all the time). Nothing may panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use orion_core::{BookSide, LevelChange, OrderStatus, Price, Quantity, Venue};
use serde_json::{Value, json};

use crate::decode::DecodeError;
use crate::kalshi::types as k;
use crate::polymarket::types as pm;

type Decoder = fn(&[u8]) -> Result<(), DecodeError>;

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// A dollar price in 0..=1.
    Price,
    /// A book level price in (0, 1).
    LevelPrice,
    Qty,
    SignedQty,
    Id,
    Bool,
    UInt,
    Int,
    Time,
    TokenId,
}

fn bad_values(kind: Kind) -> Vec<Value> {
    let long_digits = format!("0.{}", "1".repeat(5_000));
    let common = vec![
        json!({}),
        json!([1]),
        json!(true),
        json!("abc"),
        json!("0.5€"),
        json!(long_digits),
    ];
    let mut v = match kind {
        Kind::Price => vec![
            json!("-0.5"),
            json!("1.5"),
            json!("0.1234567"),
            json!("1e400"),
            json!("99999999999999999999999"),
        ],
        Kind::LevelPrice => vec![
            json!("0"),
            json!("1"),
            json!("1.0000"),
            json!("0.0000"),
            json!("-0.5"),
            json!("1.5"),
            json!("0.1234567"),
            json!("1e400"),
        ],
        Kind::Qty => vec![
            json!("-1"),
            json!("1.1234567"),
            json!("1e400"),
            json!("99999999999999999999999"),
            json!("١٢"),
        ],
        Kind::SignedQty => vec![
            json!("--1"),
            json!("1.1234567"),
            json!("1e400"),
            json!("99999999999999999999999"),
        ],
        Kind::Id => vec![
            json!(""),
            json!("a b"),
            json!("KX€"),
            json!("A".repeat(10_000)),
            json!(12),
        ],
        Kind::Bool => vec![json!("true"), json!(1)],
        Kind::UInt => vec![json!(-1), json!(1.5), json!("99999999999999999999999")],
        Kind::Int => vec![json!(1.5), json!("99999999999999999999999"), json!(1e300)],
        Kind::Time => vec![json!("yesterday"), json!("2026-13-45T99:00:00Z"), json!(12)],
        Kind::TokenId => vec![json!("0x12"), json!("-5"), json!("1".repeat(100))],
    };
    if matches!(kind, Kind::Id) {
        // "abc" is a perfectly good identifier.
        v.extend(common.into_iter().filter(|c| c != "abc"));
    } else if !matches!(kind, Kind::Bool | Kind::UInt | Kind::Int) {
        v.extend(common);
    } else {
        v.push(json!({}));
        v.push(json!("abc"));
    }
    v
}

/// JSON pointer → the path our errors print (`/a/0/b` → `a[0].b`).
fn display_path(pointer: &str) -> String {
    let mut out = String::new();
    for part in pointer.split('/').skip(1) {
        if part.parse::<usize>().is_ok() {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(part);
        }
    }
    if out.is_empty() { "<body>".into() } else { out }
}

fn remove(doc: &mut Value, pointer: &str) {
    let (parent, last) = pointer.rsplit_once('/').unwrap();
    let p = if parent.is_empty() {
        Some(doc)
    } else {
        doc.pointer_mut(parent)
    };
    match p {
        Some(Value::Object(m)) => {
            m.remove(last);
        }
        Some(Value::Array(a)) => {
            let i: usize = last.parse().unwrap();
            a.truncate(i);
        }
        _ => panic!("no parent at {pointer}"),
    }
}

struct Case {
    name: &'static str,
    venue: Venue,
    decode: Decoder,
    valid: Value,
    /// (pointer, kind, required)
    fields: Vec<(&'static str, Kind, bool)>,
}

fn run_matrix(case: &Case) {
    let valid = serde_json::to_vec(&case.valid).unwrap();
    (case.decode)(&valid)
        .unwrap_or_else(|e| panic!("{}: the valid document fails: {e}", case.name));

    // Truncated at every eighth byte.
    for cut in (0..valid.len()).step_by(8) {
        let e = (case.decode)(&valid[..cut]).expect_err(case.name);
        assert_eq!(e.venue, case.venue);
        assert_eq!(e.field, "<body>", "{}: truncated at {cut}", case.name);
    }
    // Extra fields are fine.
    if let Value::Object(m) = &case.valid {
        let mut extra = m.clone();
        extra.insert("some_new_field".into(), json!({"nested": [1, 2, 3]}));
        (case.decode)(&serde_json::to_vec(&extra).unwrap())
            .unwrap_or_else(|e| panic!("{}: extra field refused: {e}", case.name));
    }
    // Wrong root types.
    for root in ["42", "\"x\"", "true"] {
        let e = (case.decode)(root.as_bytes()).expect_err(case.name);
        assert_eq!(e.venue, case.venue);
    }
    for (pointer, kind, required) in &case.fields {
        let field = display_path(pointer);
        for bad in bad_values(*kind) {
            let mut doc = case.valid.clone();
            *doc.pointer_mut(pointer)
                .unwrap_or_else(|| panic!("{}: no {pointer}", case.name)) = bad.clone();
            let text = serde_json::to_vec(&doc).unwrap();
            let e = (case.decode)(&text).err().unwrap_or_else(|| {
                panic!(
                    "{}: {pointer} = {bad} accepted",
                    case.name,
                    bad = short(&bad)
                )
            });
            assert_eq!(e.venue, case.venue, "{}", case.name);
            assert!(
                e.field == field || e.field.starts_with(&field),
                "{}: {pointer} = {}: error names {:?} ({}), expected {field:?}",
                case.name,
                short(&bad),
                e.field,
                e.detail
            );
        }
        if *required {
            let mut doc = case.valid.clone();
            remove(&mut doc, pointer);
            let e = (case.decode)(&serde_json::to_vec(&doc).unwrap())
                .err()
                .unwrap_or_else(|| panic!("{}: missing {pointer} accepted", case.name));
            assert!(
                e.field.starts_with(&field) || field.starts_with(&e.field),
                "{}: missing {pointer}: error names {:?}",
                case.name,
                e.field
            );
        }
    }
}

fn short(v: &Value) -> String {
    v.to_string().chars().take(40).collect()
}

fn ok<T>(r: Result<T, DecodeError>) -> Result<(), DecodeError> {
    r.map(|_| ())
}

// ------------------------------------------------------------ Kalshi

fn kalshi_market() -> Value {
    json!({"ticker": "KXFED-26DEC-C25", "event_ticker": "KXFED-26DEC", "title": "Fed cut?",
        "yes_sub_title": "Cut", "no_sub_title": "Cut", "status": "active", "result": "",
        "open_time": "2026-10-29T18:00:00Z", "close_time": "2026-12-09T18:59:00Z",
        "expected_expiration_time": "", "yes_bid_dollars": "0.4000", "yes_ask_dollars": "0.4200",
        "no_bid_dollars": "0.5800", "no_ask_dollars": "0.6000", "last_price_dollars": "0.4100",
        "volume_fp": "10.00", "open_interest_fp": "5.00", "price_level_structure": "linear_cent",
        "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}]})
}

#[test]
fn kalshi_matrix() {
    let cases = vec![
        Case {
            name: "kalshi markets page",
            venue: Venue::Kalshi,
            decode: |b| ok(k::markets_page(b)),
            valid: json!({"markets": [kalshi_market()], "cursor": "abc"}),
            fields: vec![
                ("/markets/0/ticker", Kind::Id, true),
                ("/markets/0/event_ticker", Kind::Id, true),
                ("/markets/0/status", Kind::Id, true),
                ("/markets/0/yes_bid_dollars", Kind::Price, false),
                ("/markets/0/last_price_dollars", Kind::Price, false),
                ("/markets/0/volume_fp", Kind::Qty, false),
                ("/markets/0/close_time", Kind::Time, false),
                ("/markets/0/price_ranges/0/step", Kind::Price, true),
                ("/markets", Kind::Bool, true),
            ],
        },
        Case {
            name: "kalshi orderbook_fp",
            venue: Venue::Kalshi,
            decode: |b| ok(k::orderbook(b)),
            valid: json!({"orderbook_fp": {"yes_dollars": [["0.2200", "252.00"], ["0.2400", "1.00"]],
                                           "no_dollars": [["0.7300", "40.34"]]}}),
            fields: vec![
                ("/orderbook_fp/yes_dollars/0/0", Kind::LevelPrice, true),
                ("/orderbook_fp/yes_dollars/1/1", Kind::Qty, true),
                ("/orderbook_fp/no_dollars/0/0", Kind::LevelPrice, true),
                ("/orderbook_fp/no_dollars/0/1", Kind::Qty, true),
            ],
        },
        Case {
            name: "kalshi legacy orderbook",
            venue: Venue::Kalshi,
            decode: |b| ok(k::orderbook(b)),
            valid: json!({"orderbook": {"yes": [[22, 252], [24, 1]], "no": [[73, 40]]}}),
            fields: vec![
                ("/orderbook/yes/0/0", Kind::UInt, true),
                ("/orderbook/no/0/1", Kind::Qty, true),
            ],
        },
        Case {
            name: "kalshi series",
            venue: Venue::Kalshi,
            decode: |b| ok(k::series_fee(b)),
            valid: json!({"series": {"ticker": "KXFED", "fee_type": "quadratic", "fee_multiplier": 1}}),
            fields: vec![
                ("/series/fee_type", Kind::Id, true),
                ("/series/fee_multiplier", Kind::Qty, true),
            ],
        },
        Case {
            name: "kalshi balance",
            venue: Venue::Kalshi,
            decode: |b| ok(k::balance(b)),
            valid: json!({"balance": 100000, "portfolio_value": 5, "updated_ts": 1}),
            fields: vec![
                ("/balance", Kind::Int, true),
                ("/portfolio_value", Kind::Int, false),
            ],
        },
        Case {
            name: "kalshi positions",
            venue: Venue::Kalshi,
            decode: |b| ok(k::positions(b)),
            valid: json!({"market_positions": [{"ticker": "KXA", "position_fp": "-10.00"}], "cursor": ""}),
            fields: vec![
                ("/market_positions/0/ticker", Kind::Id, true),
                ("/market_positions/0/position_fp", Kind::SignedQty, true),
            ],
        },
        Case {
            name: "kalshi fills",
            venue: Venue::Kalshi,
            decode: |b| ok(k::fills(b)),
            valid: json!({"fills": [{"fill_id": "f1", "order_id": "o1", "ticker": "KXA", "outcome_side": "no",
                "book_side": "ask", "count_fp": "10.00", "yes_price_dollars": "0.4000", "is_taker": true,
                "fee_cost": "0.1680", "created_time": "2026-11-24T10:00:00Z"}], "cursor": ""}),
            fields: vec![
                ("/fills/0/order_id", Kind::Id, true),
                ("/fills/0/ticker", Kind::Id, false),
                ("/fills/0/count_fp", Kind::Qty, true),
                ("/fills/0/yes_price_dollars", Kind::LevelPrice, true),
                ("/fills/0/is_taker", Kind::Bool, true),
                ("/fills/0/outcome_side", Kind::Id, true),
                ("/fills/0/book_side", Kind::Id, true),
            ],
        },
        Case {
            name: "kalshi orders",
            venue: Venue::Kalshi,
            decode: |b| ok(k::orders(b)),
            valid: json!({"orders": [{"order_id": "o1", "client_order_id": "c1", "ticker": "KXA", "status": "resting",
                "outcome_side": "yes", "book_side": "bid", "yes_price_dollars": "0.3000",
                "initial_count_fp": "5.00", "fill_count_fp": "0.00", "remaining_count_fp": "5.00",
                "taker_fill_cost_dollars": "0.0000", "taker_fees_dollars": "0.0000",
                "last_update_time": "2026-11-24T10:00:00Z"}], "cursor": ""}),
            fields: vec![
                ("/orders/0/order_id", Kind::Id, true),
                ("/orders/0/status", Kind::Id, true),
                ("/orders/0/yes_price_dollars", Kind::Price, true),
                ("/orders/0/initial_count_fp", Kind::Qty, true),
                ("/orders/0/fill_count_fp", Kind::Qty, true),
                ("/orders/0/last_update_time", Kind::Time, false),
            ],
        },
        Case {
            name: "kalshi create order",
            venue: Venue::Kalshi,
            decode: |b| ok(k::create_order_response(b)),
            valid: json!({"order_id": "o1", "client_order_id": "c1", "fill_count": "10.00", "remaining_count": "0.00",
                "average_fill_price": "0.4400", "average_fee_paid": "0.017250", "ts_ms": 1715793600123_i64}),
            fields: vec![
                ("/order_id", Kind::Id, true),
                ("/fill_count", Kind::Qty, true),
                ("/remaining_count", Kind::Qty, true),
                ("/average_fill_price", Kind::Price, false),
            ],
        },
        Case {
            name: "kalshi ws snapshot",
            venue: Venue::Kalshi,
            decode: |b| ok(k::ws_message(b)),
            valid: json!({"type": "orderbook_snapshot", "sid": 2, "seq": 2, "msg": {"market_ticker": "FED-23DEC-T3.00",
                "yes_dollars_fp": [["0.0800", "300.00"]], "no_dollars_fp": [["0.5400", "20.00"]]}}),
            fields: vec![
                ("/sid", Kind::UInt, true),
                ("/seq", Kind::UInt, true),
                ("/msg/market_ticker", Kind::Id, true),
                ("/msg/yes_dollars_fp/0/0", Kind::LevelPrice, true),
                ("/msg/no_dollars_fp/0/1", Kind::Qty, true),
            ],
        },
        Case {
            name: "kalshi ws delta",
            venue: Venue::Kalshi,
            decode: |b| ok(k::ws_message(b)),
            valid: json!({"type": "orderbook_delta", "sid": 2, "seq": 3, "msg": {"market_ticker": "FED-23DEC-T3.00",
                "price_dollars": "0.9600", "delta_fp": "-54.00", "side": "yes", "ts_ms": 1669149841000_i64}}),
            fields: vec![
                ("/seq", Kind::UInt, true),
                ("/msg/price_dollars", Kind::LevelPrice, true),
                ("/msg/delta_fp", Kind::SignedQty, true),
                ("/msg/side", Kind::Id, true),
                ("/type", Kind::Id, true),
            ],
        },
    ];
    for c in &cases {
        run_matrix(c);
    }
}

#[test]
fn kalshi_values_are_exact_and_yes_normalized() {
    let book = k::orderbook(br#"{"orderbook_fp":{"no_dollars":[["0.7300","40.34"],["0.7500","40.00"]],"yes_dollars":[["0.2200","252.00"],["0.2400","100000.00"]]}}"#).unwrap();
    assert_eq!(book.bids[0].price, Price::parse("0.24").unwrap());
    assert_eq!(
        book.asks[0].price,
        Price::parse("0.25").unwrap(),
        "best NO bid 0.75 → YES ask 0.25"
    );
    assert_eq!(book.asks[1].qty, Quantity::parse("40.34").unwrap());
    // Empty book: both sides absent.
    let empty = k::orderbook(br#"{"orderbook_fp":{}}"#).unwrap();
    assert!(empty.bids.is_empty() && empty.asks.is_empty());
    // Duplicated level refused.
    assert!(
        k::orderbook(br#"{"orderbook_fp":{"yes_dollars":[["0.2","1"],["0.2","2"]]}}"#).is_err()
    );
    // A NO delta at q is an ask update at 1 − q.
    let m = k::ws_message(br#"{"type":"orderbook_delta","sid":1,"seq":5,"msg":{"market_ticker":"T","price_dollars":"0.5400","delta_fp":"-3.50","side":"no","ts":"2025-03-01T18:26:53.361842Z"}}"#).unwrap();
    match m {
        k::WsMessage::Delta { update, ts, .. } => {
            assert_eq!(update.side, BookSide::Ask);
            assert_eq!(update.price, Price::parse("0.46").unwrap());
            assert_eq!(update.change, LevelChange::Add(-3_500_000));
            assert!(ts.is_some());
        }
        other => panic!("{other:?}"),
    }
    // Fee types: unknown and flat fail closed.
    for t in ["flat", "mystery", ""] {
        let body = format!(r#"{{"series":{{"fee_type":"{t}","fee_multiplier":1}}}}"#);
        let e = k::series_fee(body.as_bytes()).unwrap_err();
        assert_eq!(e.field, "series.fee_type");
    }
    let half = k::series_fee(
        br#"{"series":{"fee_type":"quadratic_with_maker_fees","fee_multiplier":0.5}}"#,
    )
    .unwrap();
    assert_eq!(
        half,
        orion_core::FeeSchedule::Kalshi {
            fee_type: orion_core::KalshiFeeType::QuadraticWithMakerFees,
            multiplier: orion_core::Rate::from_ppm(500_000)
        }
    );
    // Create response: status from counts.
    let r = k::create_order_response(br#"{"order_id":"o","fill_count":"4.00","remaining_count":"0.00","average_fill_price":"0.4400","average_fee_paid":"0.017250"}"#).unwrap();
    assert_eq!(
        r.status(Quantity::parse("10").unwrap()),
        OrderStatus::PartiallyFilled
    );
    assert_eq!(r.fees(), orion_core::Cash::parse("0.069").unwrap());
}

#[test]
fn kalshi_error_bodies_in_every_shape() {
    let cases: &[(u16, &[u8], &str, &str)] = &[
        (400, br#"{"code":"invalid_parameters","message":"bad","details":"x","service":"s"}"#, "invalid_parameters", "bad"),
        (401, br#"{"error":{"code":"authentication_error","message":"authentication_error","details":"rpc error: code = Unauthenticated desc = INCORRECT_API_KEY_SIGNATURE"}}"#, "authentication_error", "INCORRECT_API_KEY_SIGNATURE"),
        (401, br#"{"error":{"code":"header_timestamp_expired"}}"#, "header_timestamp_expired", ""),
        (410, br#"{"error":{"code":"deprecated_v1_order_endpoint","message":"gone"}}"#, "deprecated_v1_order_endpoint", "gone"),
        (429, br#"{"error":"too many requests"}"#, "too_many_requests", "too many requests"),
        (500, br#"{"msg":"boom"}"#, "http_500", "boom"),
        (503, b"", "http_503", ""),
        (502, b"<html>bad gateway</html>", "http_502", "bad gateway"),
        (404, br#"{"error":{"code":"user_not_found:_8c35ecb3","message":"no"}}"#, "user_not_found", "no"),
    ];
    for (status, body, code, msg) in cases {
        let e = k::api_error(*status, body);
        assert!(e.is(code), "{status}: code {:?}", e.code);
        assert!(e.message.contains(msg), "{status}: message {:?}", e.message);
    }
    // Hostile bodies: bounded, no panic.
    let long = format!(r#"{{"error":"{}"}}"#, "é".repeat(100_000));
    assert!(k::api_error(400, long.as_bytes()).message.chars().count() <= 512);
    let _ = k::api_error(400, &[0xff, 0xfe, 0x00]);
}

// ------------------------------------------------------------ Polymarket

const TOKEN: &str = "71321045679252212594626385532706912750332728571942532289631379312455583992563";

fn poly_book() -> Value {
    json!({"market": "0x1111", "asset_id": TOKEN, "timestamp": "1781178206890", "hash": "h",
        "bids": [{"price": "0.49", "size": "50"}, {"price": "0.5", "size": "100"}],
        "asks": [{"price": "0.62", "size": "40"}, {"price": "0.6", "size": "100"}],
        "min_order_size": "5", "tick_size": "0.01", "neg_risk": false, "last_trade_price": "0.5"})
}

#[test]
fn polymarket_matrix() {
    let cases = vec![
        Case {
            name: "poly book",
            venue: Venue::Polymarket,
            decode: |b| ok(pm::book(b)),
            valid: poly_book(),
            fields: vec![
                ("/asset_id", Kind::Id, true),
                ("/market", Kind::Id, true),
                ("/timestamp", Kind::UInt, false),
                ("/bids/0/price", Kind::LevelPrice, true),
                ("/bids/1/size", Kind::Qty, true),
                ("/asks/0/price", Kind::LevelPrice, true),
                ("/asks", Kind::Bool, true),
                ("/neg_risk", Kind::Bool, false),
                ("/min_order_size", Kind::Qty, false),
            ],
        },
        Case {
            name: "poly markets page",
            venue: Venue::Polymarket,
            decode: |b| ok(pm::markets_page(b)),
            valid: json!({"limit": 100, "count": 1, "next_cursor": "MTAw", "data": [{"condition_id": "0x1111",
                "question": "Q?", "market_slug": "q", "end_date_iso": "2026-12-09T00:00:00Z", "active": true,
                "closed": false, "accepting_orders": true, "neg_risk": false, "minimum_tick_size": 0.01,
                "tokens": [{"token_id": TOKEN, "outcome": "Yes", "price": 0.5, "winner": false}]}]}),
            fields: vec![
                ("/data/0/condition_id", Kind::Id, true),
                ("/data/0/neg_risk", Kind::Bool, false),
                ("/data/0/end_date_iso", Kind::Time, false),
                ("/data/0/tokens/0/token_id", Kind::TokenId, true),
                ("/data", Kind::Bool, true),
            ],
        },
        Case {
            name: "poly clob-market",
            venue: Venue::Polymarket,
            decode: |b| ok(pm::market_info(b)),
            valid: json!({"c": "0x1111", "t": [{"t": TOKEN, "o": "Yes"}], "mts": 0.01, "mos": 5, "nr": false,
                "fd": {"r": 0.04, "e": 1, "to": true}}),
            fields: vec![
                ("/c", Kind::Id, true),
                ("/t/0/t", Kind::TokenId, true),
                ("/nr", Kind::Bool, false),
                ("/fd/r", Kind::Qty, true),
                ("/fd/e", Kind::UInt, true),
            ],
        },
        Case {
            name: "poly neg-risk",
            venue: Venue::Polymarket,
            decode: |b| ok(pm::neg_risk(b)),
            valid: json!({"neg_risk": true}),
            fields: vec![("/neg_risk", Kind::Bool, true)],
        },
        Case {
            name: "poly gamma markets",
            venue: Venue::Polymarket,
            decode: |b| ok(pm::gamma_markets(b)),
            valid: json!([{"id": "12", "question": "Q?", "conditionId": "0x1111", "slug": "q",
                "endDate": "2026-12-09T00:00:00Z", "outcomes": "[\"Yes\", \"No\"]",
                "clobTokenIds": format!("[\"{TOKEN}\", \"5\"]"), "negRisk": false}]),
            fields: vec![
                ("/0/conditionId", Kind::Id, true),
                ("/0/outcomes", Kind::Bool, true),
                ("/0/clobTokenIds", Kind::TokenId, true),
                ("/0/negRisk", Kind::Bool, false),
                ("/0/endDate", Kind::Time, false),
            ],
        },
        Case {
            name: "poly post order",
            venue: Venue::Polymarket,
            decode: |b| ok(pm::post_order_response(b)),
            valid: json!({"success": true, "errorMsg": "", "orderID": "0xabc", "status": "matched",
                "takingAmount": "21.04", "makingAmount": "11.7824", "transactionsHashes": [], "tradeIDs": []}),
            fields: vec![
                ("/success", Kind::Bool, false),
                ("/takingAmount", Kind::Qty, false),
                ("/makingAmount", Kind::Qty, false),
            ],
        },
        Case {
            name: "poly data order",
            venue: Venue::Polymarket,
            decode: |b| ok(pm::data_order(b)),
            valid: json!({"id": "0xabc", "status": "MATCHED", "original_size": "10", "size_matched": "5",
                "price": "0.5", "side": "BUY"}),
            fields: vec![
                ("/id", Kind::Id, true),
                ("/original_size", Kind::Qty, true),
                ("/size_matched", Kind::Qty, true),
                ("/price", Kind::Price, true),
            ],
        },
        Case {
            name: "poly ws price_change",
            venue: Venue::Polymarket,
            decode: |b| ok(pm::ws_events(b)),
            valid: json!({"event_type": "price_change", "market": "0x1111", "timestamp": "1723967931411",
                "price_changes": [{"asset_id": TOKEN, "price": "0.6", "side": "BUY", "size": "3300", "hash": "h",
                "best_bid": "0.6", "best_ask": "0.7"}]}),
            fields: vec![
                ("/price_changes/0/asset_id", Kind::Id, true),
                ("/price_changes/0/price", Kind::LevelPrice, true),
                ("/price_changes/0/size", Kind::Qty, true),
                ("/price_changes/0/side", Kind::Id, true),
                ("/timestamp", Kind::UInt, false),
            ],
        },
        Case {
            name: "poly ws book",
            venue: Venue::Polymarket,
            decode: |b| ok(pm::ws_events(b)),
            valid: {
                let mut b = poly_book();
                b["event_type"] = json!("book");
                b
            },
            fields: vec![
                ("/bids/0/price", Kind::LevelPrice, true),
                ("/asks/1/size", Kind::Qty, true),
            ],
        },
    ];
    for c in &cases {
        run_matrix(c);
    }
}

#[test]
fn polymarket_values() {
    let b = pm::book(&serde_json::to_vec(&poly_book()).unwrap()).unwrap();
    assert_eq!(
        b.bids[0].price,
        Price::parse("0.5").unwrap(),
        "best bid first"
    );
    assert_eq!(
        b.asks[0].price,
        Price::parse("0.6").unwrap(),
        "best ask first"
    );
    // `neg_risk` must be a real boolean: "false" is truthy in some clients.
    assert!(pm::neg_risk(br#"{"neg_risk":"false"}"#).is_err());
    // Empty book sides.
    let e = pm::book(
        format!(r#"{{"market":"m","asset_id":"{TOKEN}","bids":[],"asks":[]}}"#).as_bytes(),
    )
    .unwrap();
    assert!(e.bids.is_empty() && e.asks.is_empty());
    // Missing fee details: None (callers fail closed); a bad exponent: error.
    let info = pm::market_info(
        format!(r#"{{"c":"0x1","t":[{{"t":"{TOKEN}","o":"Yes"}}],"mts":0.01}}"#).as_bytes(),
    )
    .unwrap();
    assert!(info.fee.is_none());
    assert!(pm::market_info(br#"{"c":"0x1","t":[],"mts":0.01,"fd":{"r":0.04,"e":9}}"#).is_err());
    assert!(
        pm::market_info(br#"{"c":"0x1","t":[],"mts":0.02}"#).is_err(),
        "unknown tick size"
    );
    // Gamma stringified arrays, token by outcome text, not position.
    let g = pm::gamma_markets(format!(r#"[{{"id":1,"conditionId":"0x1","outcomes":"[\"No\", \"Yes\"]","clobTokenIds":"[\"1\", \"{TOKEN}\"]"}}]"#).as_bytes()).unwrap();
    assert_eq!(g[0].yes_token(), Some(TOKEN));
    assert_eq!(g[0].no_token(), Some("1"));
    let mismatch = pm::gamma_markets(
        br#"[{"id":1,"conditionId":"0x1","outcomes":"[\"Yes\",\"No\"]","clobTokenIds":"[\"1\"]"}]"#,
    )
    .unwrap_err();
    assert_eq!(mismatch.field, "[0].clobTokenIds");
    // WS: arrays, legacy price_change, PONG.
    assert!(pm::ws_events(b"PONG").unwrap().is_empty());
    let legacy = pm::ws_events(format!(r#"{{"asset_id":"{TOKEN}","event_type":"price_change","market":"m","price":"0.514","side":"SELL","size":"0","timestamp":"1"}}"#).as_bytes()).unwrap();
    match &legacy[0] {
        pm::WsEvent::PriceChange { updates, .. } => {
            assert_eq!(updates[0].side, BookSide::Ask);
            assert_eq!(updates[0].change, LevelChange::Set(Quantity::ZERO));
        }
        other => panic!("{other:?}"),
    }
    assert!(pm::data_order(b"null").unwrap().is_none());
    assert!(pm::data_order(b"{}").unwrap().is_none());
    let e = pm::api_error(400, br#"{"error":"order_version_mismatch: x"}"#);
    assert!(e.message.starts_with("order_version_mismatch"));
    let e = pm::api_error(400, br#"{"error":{"message":"nested"}}"#);
    assert_eq!(e.message, "nested");
}

// ------------------------------------------------------------ shared samples

fn samples() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/samples");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("SKIPPED: shared samples not found at {}", dir.display());
        None
    }
}

fn read(dir: &std::path::Path, rel: &str) -> Option<Vec<u8>> {
    match std::fs::read(dir.join(rel)) {
        Ok(b) => Some(b),
        Err(_) => {
            println!("SKIPPED: sample {rel} missing");
            None
        }
    }
}

/// The `response.body_raw` of a recorded exchange.
fn recorded_body(bytes: &[u8]) -> Vec<u8> {
    let v: Value = serde_json::from_slice(bytes).unwrap();
    match &v["response"]["body_raw"] {
        Value::String(s) => s.as_bytes().to_vec(),
        _ => serde_json::to_vec(&v["response"]["body"]).unwrap(),
    }
}

#[test]
fn kalshi_samples_decode() {
    let Some(dir) = samples() else { return };
    if let Some(b) = read(&dir, "kalshi/markets/kalshi_markets_page.json") {
        let page = k::markets_page(&b).unwrap();
        assert_eq!(page.markets.len(), 3);
        assert!(page.cursor.is_some());
    }
    if let Some(b) = read(&dir, "kalshi/markets/kalshi_markets.json") {
        assert_eq!(k::markets_array(&b).unwrap().len(), 5);
    }
    if let Some(b) = read(&dir, "kalshi/orderbook/kalshi_orderbook_nonempty.json") {
        let book = k::orderbook(&b).unwrap();
        assert_eq!(book.bids[0].price, Price::parse("0.24").unwrap());
        assert_eq!(book.asks[0].price, Price::parse("0.25").unwrap());
    }
    for f in [
        "kalshi/schema-only/ws_orderbook_snapshot.json",
        "kalshi/schema-only/ws_orderbook_delta.json",
    ] {
        if let Some(b) = read(&dir, f) {
            k::ws_message(&b).unwrap_or_else(|e| panic!("{f}: {e}"));
        }
    }
    for (f, code) in [
        (
            "kalshi/orders/kalshi_market_not_found.json",
            "market_not_found",
        ),
        (
            "kalshi/orders/kalshi_sell_insufficient_position_real.json",
            "insufficient",
        ),
    ] {
        if let Some(b) = read(&dir, f) {
            let v: Value = serde_json::from_slice(&b).unwrap();
            let status = u16::try_from(v["response"]["status"].as_u64().unwrap()).unwrap();
            let e = k::api_error(status, &recorded_body(&b));
            assert!(e.is(code), "{f}: {e:?}");
        }
    }
}

#[test]
fn polymarket_samples_decode() {
    let Some(dir) = samples() else { return };
    if let Some(b) = read(&dir, "polymarket/clob/markets.json") {
        let page = pm::markets_page(&b).unwrap();
        assert_eq!(page.markets.len(), 100);
        assert_eq!(page.next_cursor.as_deref(), Some("MTAw"));
    }
    for f in [
        "polymarket/clob/market.json",
        "polymarket/clob/clob_market_closed_binary_accepting_true.json",
    ] {
        if let Some(b) = read(&dir, f) {
            pm::clob_market(&b).unwrap_or_else(|e| panic!("{f}: {e}"));
        }
    }
    for f in [
        "polymarket/clob/book.json",
        "polymarket/clob/poly_book.json",
    ] {
        if let Some(b) = read(&dir, f) {
            let book = pm::book(&b).unwrap_or_else(|e| panic!("{f}: {e}"));
            if let (Some(bid), Some(ask)) = (book.bids.first(), book.asks.first()) {
                assert!(
                    bid.price < ask.price,
                    "{f}: sorted best first and not crossed"
                );
            }
        }
    }
    if let Some(b) = read(&dir, "polymarket/gamma/polymarket_markets.json") {
        let list = pm::gamma_markets(&b).unwrap();
        assert_eq!(list.len(), 5);
        assert!(list.iter().all(|m| m.token_ids.len() == m.outcomes.len()));
    }
    for f in [
        "polymarket/gamma/gamma_market.json",
        "polymarket/gamma/gamma_market_sports_market_money_line.json",
        "polymarket/gamma/gamma_market_closed_binary_accepting_true.json",
    ] {
        if let Some(b) = read(&dir, f) {
            pm::gamma_market(&b).unwrap_or_else(|e| panic!("{f}: {e}"));
        }
    }
    for f in [
        "polymarket/ws-market/book.json",
        "polymarket/ws-market/ws_book_snapshot_captured.json",
        "polymarket/ws-market/price_change.json",
        "polymarket/ws-market/tick_size_change.json",
        "polymarket/ws-market/last_trade_price.json",
        "polymarket/schema-only/price_change_v2.json",
    ] {
        if let Some(b) = read(&dir, f) {
            let events = pm::ws_events(&b).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert!(!events.is_empty(), "{f}");
        }
    }
    for f in [
        "polymarket/orders/poly_full_fill_real.json",
        "polymarket/orders/poly_partial_fill_real.json",
    ] {
        if let Some(b) = read(&dir, f) {
            let r =
                pm::post_order_response(&recorded_body(&b)).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert_eq!(r.status, "matched");
        }
    }
    for f in [
        "polymarket/orders/poly_order_status_full_real.json",
        "polymarket/orders/poly_order_status_partial_real.json",
    ] {
        if let Some(b) = read(&dir, f) {
            let o = pm::data_order(&recorded_body(&b))
                .unwrap_or_else(|e| panic!("{f}: {e}"))
                .unwrap();
            assert!(!o.size_matched.is_zero());
        }
    }
}
