//! Property tests: exact money and the order book against naive references.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use std::collections::BTreeMap;

use orion_core::decimal::{format_scaled, parse_scaled};
use orion_core::{
    BookSide, Cash, LadderWalk, Level, LevelChange, LevelUpdate, OrderBook, Price, Quantity,
    Rounding, TickSize, Timestamp,
};
use proptest::prelude::*;

fn rounding() -> impl Strategy<Value = Rounding> {
    prop_oneof![
        Just(Rounding::Down),
        Just(Rounding::Up),
        Just(Rounding::TowardZero),
        Just(Rounding::HalfEven),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn price_round_trips_through_every_venue_form(micros in 0u32..=1_000_000) {
        let p = Price::from_micros(micros).unwrap();
        prop_assert_eq!(Price::parse(&p.to_kalshi_dollars()).unwrap(), p);
        for min in 0..=6 {
            prop_assert_eq!(Price::parse(&p.format(min)).unwrap(), p);
        }
        prop_assert_eq!(p.complement().complement(), p);
    }

    #[test]
    fn polymarket_prices_format_at_tick_decimals(steps in 1u32..10_000, tick_index in 0usize..6) {
        let tick = TickSize::ALL[tick_index];
        let micros = (steps * tick.micros()) % 1_000_000;
        let p = Price::from_micros(micros).unwrap();
        let text = p.format(tick.price_decimals());
        let decimals = text.split('.').nth(1).map_or(0, str::len) as u32;
        prop_assert!(decimals <= tick.price_decimals().max(1), "{} has {} decimals", text, decimals);
        prop_assert_eq!(Price::parse(&text).unwrap(), p);
    }

    #[test]
    fn quantity_round_trips(micros in 0u64..=Quantity::MAX.micros()) {
        let q = Quantity::from_micros(micros);
        prop_assert_eq!(Quantity::parse(&q.format(2)).unwrap(), q);
        if micros % 10_000 == 0 {
            let fp = q.to_kalshi_fp().unwrap();
            prop_assert!(fp.ends_with(|c: char| c.is_ascii_digit()) && fp.split('.').nth(1).map(str::len) == Some(2));
            prop_assert_eq!(Quantity::parse(&fp).unwrap(), q);
        } else {
            prop_assert!(q.to_kalshi_fp().is_none());
        }
    }

    #[test]
    fn cash_round_trips(micros in any::<i64>()) {
        let c = Cash::from_micros(micros);
        prop_assert_eq!(Cash::parse(&c.format(0)).unwrap(), c);
    }

    #[test]
    fn parsing_never_panics(text in "\\PC{0,60}", scale in 0u32..18) {
        let _ = parse_scaled(&text, scale, Rounding::Exact);
        let _ = Price::parse(&text);
        let _ = Quantity::parse(&text);
        let _ = Cash::parse(&text);
    }

    #[test]
    fn arithmetic_never_panics(a in any::<i64>(), b in any::<i64>(), n in any::<i64>(), d in any::<i64>(), mode in rounding()) {
        let (x, y) = (Cash::from_micros(a), Cash::from_micros(b));
        let _ = x.checked_add(y);
        let _ = x.checked_sub(y);
        let _ = x.saturating_add(y);
        let _ = x.mul_ratio(n, d, mode);
        let _ = x.round_to_decimals(2, mode);
        let _ = x.to_notional().to_cash(mode);
    }

    #[test]
    fn rounding_goes_the_stated_way(int in 0i64..1_000_000, frac in 0u64..1_000_000_000, neg in any::<bool>()) {
        // A value with nine decimals, rounded to six.
        let text = format!("{}{}.{:09}", if neg { "-" } else { "" }, int, frac);
        let exact = parse_scaled(&text, 9, Rounding::Exact).unwrap();
        let down = parse_scaled(&text, 6, Rounding::Down).unwrap();
        let up = parse_scaled(&text, 6, Rounding::Up).unwrap();
        let trunc = parse_scaled(&text, 6, Rounding::TowardZero).unwrap();
        let even = parse_scaled(&text, 6, Rounding::HalfEven).unwrap();
        prop_assert!(down * 1000 <= exact && exact <= up * 1000);
        prop_assert!(up - down <= 1);
        prop_assert_eq!(up == down, exact % 1000 == 0);
        prop_assert!((trunc * 1000).abs() <= exact.abs());
        prop_assert!((even * 1000 - exact).abs() <= 500);
        prop_assert_eq!(parse_scaled(&format_scaled(down, 6, 0), 6, Rounding::Exact).unwrap(), down);
    }

    #[test]
    fn costs_round_up_and_proceeds_down(p in 0u32..=1_000_000, q in 0u64..1_000_000_000_000) {
        let price = Price::from_micros(p).unwrap();
        let qty = Quantity::from_micros(q);
        let n = price.notional(qty);
        let up = n.to_cash(Rounding::Up).unwrap();
        let down = n.to_cash(Rounding::Down).unwrap();
        prop_assert!(up.to_notional() >= n && down.to_notional() <= n);
        prop_assert!(up.micros() - down.micros() <= 1);
    }
}

// ------------------------------------------------------------ book vs reference

#[derive(Debug, Clone)]
enum Op {
    Snapshot(Vec<(u32, u64)>, Vec<(u32, u64)>),
    Set(bool, u32, u64),
    Add(bool, u32, i64),
}

fn op() -> impl Strategy<Value = Op> {
    let price = 1u32..100; // cents, to collide often
    let qty = 0u64..50;
    prop_oneof![
        1 => (prop::collection::btree_map(price.clone(), 1u64..50, 0..8), prop::collection::btree_map(price.clone(), 1u64..50, 0..8))
            .prop_map(|(b, a)| Op::Snapshot(b.into_iter().collect(), a.into_iter().collect())),
        6 => (any::<bool>(), price.clone(), qty).prop_map(|(bid, p, q)| Op::Set(bid, p, q)),
        6 => (any::<bool>(), price, -20i64..20).prop_map(|(bid, p, d)| Op::Add(bid, p, d)),
    ]
}

fn px(cents: u32) -> Price {
    Price::from_micros(cents * 10_000).unwrap()
}

fn qty(n: u64) -> Quantity {
    Quantity::from_micros(n * 1_000_000)
}

/// The naive reference: two maps from price to quantity.
#[derive(Default)]
struct Reference {
    bids: BTreeMap<u32, u64>,
    asks: BTreeMap<u32, u64>,
    broken: bool,
}

fn naive_walk(levels: &[(u32, u64)], want: u64) -> (u64, u128, Option<u32>) {
    let (mut got, mut cost, mut last) = (0u64, 0u128, None);
    for &(price, q) in levels {
        if got == want {
            break;
        }
        let take = q.min(want - got);
        got += take;
        cost += u128::from(price) * u128::from(take);
        last = Some(price);
    }
    (got, cost, last)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn book_matches_naive_reference(first in op(), rest in prop::collection::vec(op(), 1..60), want in 0u64..200) {
        // Most sequences should start from a snapshot, or they only test refusals.
        let ops: Vec<Op> = match first {
            Op::Snapshot(..) => std::iter::once(first).chain(rest).collect(),
            _ => std::iter::once(Op::Snapshot(vec![(40, 10), (42, 5)], vec![(45, 4), (47, 3)])).chain(std::iter::once(first)).chain(rest).collect(),
        };
        let mut book = OrderBook::new();
        let mut reference = Reference { broken: true, ..Reference::default() };
        let mut seq = 0u64;
        for op in ops {
            seq += 1;
            match op {
                Op::Snapshot(bids, asks) => {
                    book.apply_snapshot(
                        bids.iter().map(|&(p, q)| Level::new(px(p), qty(q))),
                        asks.iter().map(|&(p, q)| Level::new(px(p), qty(q))),
                        Some(seq), None, Timestamp::ZERO,
                    ).unwrap();
                    reference.bids = bids.into_iter().collect();
                    reference.asks = asks.into_iter().collect();
                    reference.broken = false;
                }
                Op::Set(bid, p, q) => {
                    let side = if bid { BookSide::Bid } else { BookSide::Ask };
                    let r = book.apply_delta(&[LevelUpdate { side, price: px(p), change: LevelChange::Set(qty(q)) }], Some(seq), None, Timestamp::ZERO);
                    if reference.broken {
                        prop_assert!(r.is_err());
                        continue;
                    }
                    prop_assert!(r.is_ok());
                    let map = if bid { &mut reference.bids } else { &mut reference.asks };
                    if q == 0 { map.remove(&p); } else { map.insert(p, q); }
                }
                Op::Add(bid, p, d) => {
                    let side = if bid { BookSide::Bid } else { BookSide::Ask };
                    let r = book.apply_delta(&[LevelUpdate { side, price: px(p), change: LevelChange::Add(d * 1_000_000) }], Some(seq), None, Timestamp::ZERO);
                    if reference.broken {
                        prop_assert!(r.is_err());
                        continue;
                    }
                    let map = if bid { &mut reference.bids } else { &mut reference.asks };
                    let current = i64::try_from(map.get(&p).copied().unwrap_or(0)).unwrap();
                    let next = current + d;
                    if next < 0 {
                        prop_assert!(r.is_err());
                        reference.broken = true;
                    } else {
                        prop_assert!(r.is_ok());
                        if next == 0 { map.remove(&p); } else { map.insert(p, u64::try_from(next).unwrap()); }
                    }
                }
            }
            if reference.broken {
                continue;
            }
            // Best levels.
            let best_bid = reference.bids.iter().next_back().map(|(&p, &q)| Level::new(px(p), qty(q)));
            let best_ask = reference.asks.iter().next().map(|(&p, &q)| Level::new(px(p), qty(q)));
            prop_assert_eq!(book.best_bid(), best_bid);
            prop_assert_eq!(book.best_ask(), best_ask);
            // Whole ladders, best first.
            let bids: Vec<(u32, u64)> = reference.bids.iter().rev().map(|(&p, &q)| (p, q)).collect();
            let asks: Vec<(u32, u64)> = reference.asks.iter().map(|(&p, &q)| (p, q)).collect();
            prop_assert_eq!(book.bids().levels().iter().map(|l| (l.price.micros() / 10_000, l.qty.micros() / 1_000_000)).collect::<Vec<_>>(), bids.clone());
            prop_assert_eq!(book.asks().levels().iter().map(|l| (l.price.micros() / 10_000, l.qty.micros() / 1_000_000)).collect::<Vec<_>>(), asks.clone());
            // Walking the asks, and the complement of the bids.
            let walk = book.asks().walk(qty(want));
            let (got, cost, last) = naive_walk(&asks, want);
            prop_assert_eq!(walk.filled, qty(got));
            prop_assert_eq!(walk.notional.picos(), i128::try_from(cost).unwrap() * 10_000 * 1_000_000);
            prop_assert_eq!(walk.marginal_price, last.map(px));
            let comp: Vec<(u32, u64)> = bids.iter().map(|&(p, q)| (100 - p, q)).collect();
            let cwalk = LadderWalk::over(book.complement_buy_levels(), qty(want));
            let (cgot, ccost, clast) = naive_walk(&comp, want);
            prop_assert_eq!(cwalk.filled, qty(cgot));
            prop_assert_eq!(cwalk.notional.picos(), i128::try_from(ccost).unwrap() * 10_000 * 1_000_000);
            prop_assert_eq!(cwalk.marginal_price, clast.map(px));
            if let (Some(avg), true) = (walk.average_price(Rounding::Up), got > 0) {
                // The average lies between the best price and the marginal price.
                prop_assert!(avg >= px(asks[0].0) && avg <= px(last.unwrap()));
            }
        }
    }
}
