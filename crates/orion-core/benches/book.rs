//! Order book hot paths: applying a delta and walking the ask ladder.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // benchmarks fail loudly

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use orion_core::{
    BookSide, LadderWalk, Level, LevelChange, LevelUpdate, OrderBook, Price, Quantity, Timestamp,
};

fn ten_level_book() -> OrderBook {
    let mut book = OrderBook::new();
    let bids = (0..10u32).map(|i| {
        Level::new(
            Price::from_micros_clamped(400_000 - i * 10_000),
            Quantity::from_micros(100_000_000 + u64::from(i) * 7_000_000),
        )
    });
    let asks = (0..10u32).map(|i| {
        Level::new(
            Price::from_micros_clamped(410_000 + i * 10_000),
            Quantity::from_micros(90_000_000 + u64::from(i) * 5_000_000),
        )
    });
    // Constructed levels are distinct, so the snapshot cannot fail.
    let _ = book.apply_snapshot(bids, asks, Some(0), None, Timestamp::ZERO);
    book
}

fn apply_delta(c: &mut Criterion) {
    let mut book = ten_level_book();
    let mut seq = 0u64;
    let mut i = 0u32;
    c.bench_function(
        "book/apply_delta (10 levels, change an existing level)",
        |b| {
            b.iter(|| {
                seq += 1;
                i = (i + 1) % 10;
                let delta = if seq.is_multiple_of(2) {
                    1_000_000
                } else {
                    -1_000_000
                };
                let update = [LevelUpdate {
                    side: BookSide::Ask,
                    price: Price::from_micros_clamped(410_000 + i * 10_000),
                    change: LevelChange::Add(delta),
                }];
                black_box(book.apply_delta(black_box(&update), Some(seq), None, Timestamp::ZERO))
                    .ok();
            })
        },
    );
    let mut book = ten_level_book();
    let mut seq = 0u64;
    c.bench_function(
        "book/apply_delta (10 levels, insert then remove a level)",
        |b| {
            b.iter(|| {
                seq += 1;
                let qty = if seq.is_multiple_of(2) {
                    Quantity::ZERO
                } else {
                    Quantity::from_micros(5_000_000)
                };
                let update = [LevelUpdate {
                    side: BookSide::Bid,
                    price: Price::from_micros_clamped(355_000),
                    change: LevelChange::Set(qty),
                }];
                black_box(book.apply_delta(black_box(&update), Some(seq), None, Timestamp::ZERO))
                    .ok();
            })
        },
    );
}

fn walk(c: &mut Criterion) {
    let book = ten_level_book();
    let size = Quantity::from_micros(500_000_000);
    c.bench_function("book/walk asks for 500 contracts (10 levels)", |b| {
        b.iter(|| black_box(book.asks().walk(black_box(size))))
    });
    c.bench_function("book/walk complement of bids for 500 contracts", |b| {
        b.iter(|| {
            black_box(LadderWalk::over(
                book.complement_buy_levels(),
                black_box(size),
            ))
        })
    });
}

criterion_group!(benches, apply_delta, walk);
criterion_main!(benches);
