//! Book message decode + apply per venue: the market-data hot path from the
//! WebSocket text to an updated `OrderBook`. Messages are hand-written in
//! the venues' shapes (kalshi.md §7, polymarket.md §10) with realistic depth.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use orion_core::{OrderBook, Timestamp};
use orion_exchanges::kalshi::types::{WsMessage, ws_message};
use orion_exchanges::polymarket::types::ws_events;
use orion_exchanges::polymarket::ws::apply_event;

const TOKEN: &str = "71321045679252212594626385532706912750332728571942532289631379312455583992563";

fn kalshi_snapshot(levels: usize) -> String {
    let side = |from: usize| {
        (0..levels)
            .map(|i| format!(r#"["0.{:04}","{}.00"]"#, (from + i) * 10, 100 + i))
            .collect::<Vec<_>>()
            .join(",")
    };
    format!(
        r#"{{"type":"orderbook_snapshot","sid":1,"seq":1,"msg":{{"market_ticker":"KXFEDDECISION-26DEC-C25","market_id":"x","yes_dollars_fp":[{}],"no_dollars_fp":[{}]}}}}"#,
        side(100),
        side(500)
    )
}

fn kalshi(c: &mut Criterion) {
    let snapshot = kalshi_snapshot(50);
    let delta = r#"{"type":"orderbook_delta","sid":1,"seq":2,"msg":{"market_ticker":"KXFEDDECISION-26DEC-C25","market_id":"x","price_dollars":"0.1200","delta_fp":"-54.00","side":"yes","ts_ms":1669149841000}}"#;
    let mut g = c.benchmark_group("kalshi");
    g.bench_function("ws_snapshot_50x2_decode+apply", |b| {
        let mut book = OrderBook::new();
        b.iter(|| {
            let WsMessage::Snapshot { seq, book: yes, .. } =
                ws_message(black_box(snapshot.as_bytes())).unwrap()
            else {
                panic!()
            };
            book.apply_snapshot(yes.bids, yes.asks, Some(seq), None, Timestamp::ZERO)
                .unwrap();
        })
    });
    g.bench_function("ws_delta_decode+apply", |b| {
        let WsMessage::Snapshot { book: yes, .. } = ws_message(snapshot.as_bytes()).unwrap() else {
            panic!()
        };
        let mut book = OrderBook::new();
        b.iter(|| {
            // Re-seed the sequence so every iteration applies in order.
            book.apply_snapshot(
                yes.bids.iter().copied(),
                yes.asks.iter().copied(),
                Some(1),
                None,
                Timestamp::ZERO,
            )
            .unwrap();
            let WsMessage::Delta {
                seq, update, ts, ..
            } = ws_message(black_box(delta.as_bytes())).unwrap()
            else {
                panic!()
            };
            book.apply_delta(&[update], Some(seq), ts, Timestamp::ZERO)
                .unwrap();
        })
    });
    g.bench_function("ws_delta_decode_only", |b| {
        b.iter(|| ws_message(black_box(delta.as_bytes())).unwrap())
    });
    g.finish();
}

fn poly_book(levels: usize) -> String {
    let side = |from: usize, step: isize| {
        (0..levels)
            .map(|i| {
                let cents = from as isize + step * i as isize;
                format!(r#"{{"price":"0.{cents:02}","size":"{}.5"}}"#, 100 + i)
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    // Best level last on both sides, as the venue sends it.
    format!(
        r#"[{{"event_type":"book","asset_id":"{TOKEN}","market":"0x1111","timestamp":"1781178206890","hash":"h","bids":[{}],"asks":[{}]}}]"#,
        side(49 - levels + 1, 1),
        side(50 + levels, -1)
    )
}

fn polymarket(c: &mut Criterion) {
    let book_msg = poly_book(40);
    let change = format!(
        r#"{{"event_type":"price_change","market":"0x1111","timestamp":"1781178206891","price_changes":[{{"asset_id":"{TOKEN}","price":"0.45","size":"3300","side":"BUY","hash":"h","best_bid":"0.49","best_ask":"0.51"}},{{"asset_id":"{TOKEN}","price":"0.55","size":"0","side":"SELL","hash":"h","best_bid":"0.49","best_ask":"0.51"}}]}}"#
    );
    let mut g = c.benchmark_group("polymarket");
    g.bench_function("ws_book_40x2_decode+apply", |b| {
        let mut books = HashMap::new();
        let mut out = Vec::new();
        let mut resync = Vec::new();
        b.iter(|| {
            out.clear();
            for ev in ws_events(black_box(book_msg.as_bytes())).unwrap() {
                apply_event(&mut books, ev, Timestamp::ZERO, &mut out, &mut resync);
            }
        })
    });
    g.bench_function("ws_price_change_2_decode+apply", |b| {
        let mut books = HashMap::new();
        let mut out = Vec::new();
        let mut resync = Vec::new();
        for ev in ws_events(book_msg.as_bytes()).unwrap() {
            apply_event(&mut books, ev, Timestamp::ZERO, &mut out, &mut resync);
        }
        b.iter(|| {
            out.clear();
            for ev in ws_events(black_box(change.as_bytes())).unwrap() {
                apply_event(&mut books, ev, Timestamp::ZERO, &mut out, &mut resync);
            }
        });
        assert!(resync.is_empty());
    });
    g.finish();
}

criterion_group!(benches, kalshi, polymarket);
criterion_main!(benches);
