//! Detection per changed pair with 10-level books (target <= 1 us).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // benchmarks fail loudly

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use orion_core::{
    FeeSchedule, InstrumentId, KalshiFeeType, Level, MarketId, OrderBook, Price, Quantity, Rate,
    TickSize, Timestamp, Venue,
};
use orion_matching::detection::{DetectionParams, PairSpec, evaluate_pair};

fn book(bids: impl Iterator<Item = Level>, asks: impl Iterator<Item = Level>) -> OrderBook {
    let mut b = OrderBook::new();
    // Generated levels are distinct, so the snapshot cannot fail.
    let _ = b.apply_snapshot(bids, asks, Some(1), None, Timestamp::ZERO);
    b
}

fn levels(start_cents: u32, step: i32) -> impl Iterator<Item = Level> {
    (0..10).map(move |i| {
        let cents = (start_cents as i32 + step * i) as u32;
        Level::new(
            Price::from_micros_clamped(cents * 10_000),
            Quantity::from_micros(25_000_000 + u64::from(cents) * 1_000_000),
        )
    })
}

fn detection(c: &mut Criterion) {
    let id = |v, s: &str| InstrumentId::new(v, s).unwrap_or_else(|e| panic!("{e}"));
    let pair = PairSpec {
        pair_id: "P".into(),
        event_key: "E".into(),
        kalshi_market: MarketId::new(Venue::Kalshi, "K").unwrap_or_else(|e| panic!("{e}")),
        kalshi_instrument: id(Venue::Kalshi, "K"),
        polymarket_market: MarketId::new(Venue::Polymarket, "C").unwrap_or_else(|e| panic!("{e}")),
        polymarket_yes: id(Venue::Polymarket, "Y"),
        polymarket_no: id(Venue::Polymarket, "N"),
        inverted: false,
        kalshi_fees: FeeSchedule::Kalshi {
            fee_type: KalshiFeeType::Quadratic,
            multiplier: Rate::ONE,
        },
        polymarket_fees: FeeSchedule::Polymarket {
            rate: Rate::from_ppm(40_000),
            exponent: 1,
        },
        polymarket_tick: TickSize::Hundredth,
        polymarket_min_size: Quantity::from_micros(1_000_000),
        resolves_at: Timestamp::from_secs(30 * 86_400),
    };
    // Kalshi YES asks from 0.40 up, NO asks (from YES bids) from 0.62 up;
    // Polymarket NO asks from 0.50 up, YES asks from 0.55 up: an edge over
    // the first few levels in one direction, none in the other.
    let kalshi = book(levels(38, -1), levels(40, 1));
    let yes = book(levels(45, -1), levels(55, 1));
    let no = book(levels(48, -1), levels(50, 1));
    let params = DetectionParams {
        min_edge: Price::from_micros_clamped(10_000),
        min_edge_beyond_horizon: Price::from_micros_clamped(30_000),
        horizon_days: 60,
        min_profit: orion_core::Cash::from_micros(500_000),
        slippage: Price::from_micros_clamped(5_000),
        max_size: Quantity::from_micros(1_000_000_000_000),
    };
    assert!(
        evaluate_pair(&pair, &kalshi, &yes, &no, &params, Timestamp::ZERO)
            .ok()
            .flatten()
            .is_some()
    );
    c.bench_function(
        "detection/evaluate_pair (both directions, 10-level books)",
        |b| {
            b.iter(|| {
                black_box(evaluate_pair(
                    black_box(&pair),
                    &kalshi,
                    &yes,
                    &no,
                    &params,
                    Timestamp::ZERO,
                ))
            })
        },
    );
}

criterion_group!(benches, detection);
criterion_main!(benches);
