//! The order book of one instrument, and walking it for a size.
//!
//! Each side is a [`Ladder`]: price levels kept sorted best first (bids
//! descending, asks ascending) in a vector, because venue books are shallow
//! (tens of levels) and a binary search plus a short memmove beats any tree at
//! that size. Kalshi's bids-only book is stored in YES terms: YES bids are the
//! bids and a NO bid at `q` is a YES ask at `1 - q` (the adapter converts); the
//! NO outcome is then bought by walking the bids' complement
//! ([`OrderBook::complement_buy_levels`]).

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::clock::Timestamp;
use crate::money::{Notional, Price, Quantity};

/// One price level: the total resting quantity at a price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Level {
    pub price: Price,
    pub qty: Quantity,
}

impl Level {
    pub const fn new(price: Price, qty: Quantity) -> Level {
        Level { price, qty }
    }
}

/// Which side of a book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BookSide {
    Bid,
    Ask,
}

/// A change to one level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LevelChange {
    /// The level's new total (Polymarket `price_change`); zero removes it.
    Set(Quantity),
    /// A signed change in micro-contracts (Kalshi `delta_fp`).
    Add(i64),
}

/// One level update of a delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LevelUpdate {
    pub side: BookSide,
    pub price: Price,
    pub change: LevelChange,
}

/// Why a book could not take an update. Every variant leaves the book
/// needing a fresh snapshot, except [`BookError::NotSynced`] which says so.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BookError {
    #[error("book has no snapshot since it was created or invalidated")]
    NotSynced,
    #[error("sequence gap: expected {expected}, got {got}")]
    SequenceGap { expected: u64, got: u64 },
    #[error("level {price:?} on the {side:?} side would go negative")]
    NegativeLevel { side: BookSide, price: Price },
    #[error("level {price:?} would exceed the maximum quantity")]
    LevelOverflow { price: Price },
    #[error("snapshot lists price {price:?} twice on the {side:?} side")]
    DuplicateLevel { side: BookSide, price: Price },
}

/// One side of a book, best level first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ladder {
    side: BookSide,
    levels: Vec<Level>,
}

impl Ladder {
    pub fn new(side: BookSide) -> Ladder {
        Ladder {
            side,
            levels: Vec::with_capacity(32),
        }
    }

    pub fn side(&self) -> BookSide {
        self.side
    }

    /// Levels, best first.
    pub fn levels(&self) -> &[Level] {
        &self.levels
    }

    pub fn best(&self) -> Option<Level> {
        self.levels.first().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    pub fn len(&self) -> usize {
        self.levels.len()
    }

    pub fn clear(&mut self) {
        self.levels.clear();
    }

    /// The quantity resting at `price`, zero if none.
    pub fn qty_at(&self, price: Price) -> Quantity {
        match self.search(price) {
            Ok(i) => self.levels[i].qty,
            Err(_) => Quantity::ZERO,
        }
    }

    fn search(&self, price: Price) -> Result<usize, usize> {
        match self.side {
            BookSide::Ask => self.levels.binary_search_by(|l| l.price.cmp(&price)),
            BookSide::Bid => self.levels.binary_search_by(|l| price.cmp(&l.price)),
        }
    }

    /// Sets the total at `price`; zero removes the level.
    pub fn set(&mut self, price: Price, qty: Quantity) {
        match (self.search(price), qty.is_zero()) {
            (Ok(i), true) => {
                self.levels.remove(i);
            }
            (Ok(i), false) => self.levels[i].qty = qty,
            (Err(_), true) => {}
            (Err(i), false) => self.levels.insert(i, Level { price, qty }),
        }
    }

    /// Adds a signed change at `price`.
    pub fn add(&mut self, price: Price, delta_micros: i64) -> Result<(), BookError> {
        let current = self.qty_at(price);
        let updated = current
            .checked_add_signed(delta_micros)
            .ok_or(if delta_micros < 0 {
                BookError::NegativeLevel {
                    side: self.side,
                    price,
                }
            } else {
                BookError::LevelOverflow { price }
            })?;
        self.set(price, updated);
        Ok(())
    }

    /// Replaces every level; refuses duplicates, drops empty levels.
    fn replace(&mut self, levels: impl IntoIterator<Item = Level>) -> Result<(), BookError> {
        self.levels.clear();
        self.levels
            .extend(levels.into_iter().filter(|l| !l.qty.is_zero()));
        match self.side {
            BookSide::Ask => self.levels.sort_unstable_by_key(|a| a.price),
            BookSide::Bid => self
                .levels
                .sort_unstable_by_key(|l| std::cmp::Reverse(l.price)),
        }
        if let Some(w) = self.levels.windows(2).find(|w| w[0].price == w[1].price) {
            let price = w[0].price;
            self.levels.clear();
            return Err(BookError::DuplicateLevel {
                side: self.side,
                price,
            });
        }
        Ok(())
    }

    /// Walks this side from the best level for `size`, as a taker would.
    pub fn walk(&self, size: Quantity) -> LadderWalk {
        LadderWalk::over(self.levels.iter().copied(), size)
    }
}

/// Whether the book can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookStatus {
    /// No snapshot yet.
    Empty,
    /// Snapshot plus in-sequence deltas.
    Synced,
    /// A gap or inconsistency was seen: only a snapshot repairs it.
    NeedsResync,
}

/// The book of one instrument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBook {
    bids: Ladder,
    asks: Ladder,
    status: BookStatus,
    last_seq: Option<u64>,
    exchange_ts: Option<Timestamp>,
    received_at: Timestamp,
}

impl Default for OrderBook {
    fn default() -> Self {
        OrderBook::new()
    }
}

impl OrderBook {
    pub fn new() -> OrderBook {
        OrderBook {
            bids: Ladder::new(BookSide::Bid),
            asks: Ladder::new(BookSide::Ask),
            status: BookStatus::Empty,
            last_seq: None,
            exchange_ts: None,
            received_at: Timestamp::ZERO,
        }
    }

    pub fn bids(&self) -> &Ladder {
        &self.bids
    }

    pub fn asks(&self) -> &Ladder {
        &self.asks
    }

    pub fn status(&self) -> BookStatus {
        self.status
    }

    pub fn is_synced(&self) -> bool {
        self.status == BookStatus::Synced
    }

    pub fn last_seq(&self) -> Option<u64> {
        self.last_seq
    }

    /// When the last update was received locally.
    pub fn received_at(&self) -> Timestamp {
        self.received_at
    }

    /// The venue's timestamp of the last update, when it sent one.
    pub fn exchange_ts(&self) -> Option<Timestamp> {
        self.exchange_ts
    }

    pub fn best_bid(&self) -> Option<Level> {
        self.bids.best()
    }

    pub fn best_ask(&self) -> Option<Level> {
        self.asks.best()
    }

    /// True when the best bid is at or above the best ask: impossible on a
    /// consistent venue book, so a sign of a missed update.
    pub fn is_crossed(&self) -> bool {
        matches!((self.best_bid(), self.best_ask()), (Some(b), Some(a)) if b.price >= a.price)
    }

    /// Marks the book untrustworthy until the next snapshot.
    pub fn invalidate(&mut self) {
        self.status = BookStatus::NeedsResync;
    }

    /// Replaces the whole book.
    pub fn apply_snapshot(
        &mut self,
        bids: impl IntoIterator<Item = Level>,
        asks: impl IntoIterator<Item = Level>,
        seq: Option<u64>,
        exchange_ts: Option<Timestamp>,
        received_at: Timestamp,
    ) -> Result<(), BookError> {
        let result = self
            .bids
            .replace(bids)
            .and_then(|()| self.asks.replace(asks));
        if let Err(e) = result {
            self.bids.clear();
            self.asks.clear();
            self.status = BookStatus::NeedsResync;
            return Err(e);
        }
        self.status = BookStatus::Synced;
        self.last_seq = seq;
        self.exchange_ts = exchange_ts;
        self.received_at = received_at;
        Ok(())
    }

    /// Applies a delta. A sequence gap or an impossible level marks the book
    /// as needing a resync and is returned as an error.
    pub fn apply_delta(
        &mut self,
        updates: &[LevelUpdate],
        seq: Option<u64>,
        exchange_ts: Option<Timestamp>,
        received_at: Timestamp,
    ) -> Result<(), BookError> {
        if self.status != BookStatus::Synced {
            return Err(BookError::NotSynced);
        }
        if let (Some(last), Some(got)) = (self.last_seq, seq) {
            let expected = last.wrapping_add(1);
            if got != expected {
                self.status = BookStatus::NeedsResync;
                return Err(BookError::SequenceGap { expected, got });
            }
        }
        for update in updates {
            let ladder = match update.side {
                BookSide::Bid => &mut self.bids,
                BookSide::Ask => &mut self.asks,
            };
            let applied = match update.change {
                LevelChange::Set(qty) => {
                    if qty > Quantity::MAX {
                        Err(BookError::LevelOverflow {
                            price: update.price,
                        })
                    } else {
                        ladder.set(update.price, qty);
                        Ok(())
                    }
                }
                LevelChange::Add(delta) => ladder.add(update.price, delta),
            };
            if let Err(e) = applied {
                self.status = BookStatus::NeedsResync;
                return Err(e);
            }
        }
        if seq.is_some() {
            self.last_seq = seq;
        }
        if exchange_ts.is_some() {
            self.exchange_ts = exchange_ts;
        }
        self.received_at = received_at;
        Ok(())
    }

    /// Levels at which this instrument can be bought: the asks, cheapest first.
    pub fn buy_levels(&self) -> impl Iterator<Item = Level> + '_ {
        self.asks.levels.iter().copied()
    }

    /// Levels at which this instrument can be sold: the bids, dearest first.
    pub fn sell_levels(&self) -> impl Iterator<Item = Level> + '_ {
        self.bids.levels.iter().copied()
    }

    /// Levels at which the *other* outcome of a YES-quoted binary book (NO on
    /// Kalshi) can be bought: each YES bid at `p` is a NO ask at `1 - p`.
    pub fn complement_buy_levels(&self) -> impl Iterator<Item = Level> + '_ {
        self.bids
            .levels
            .iter()
            .map(|l| Level::new(l.price.complement(), l.qty))
    }

    /// Levels at which the other outcome can be sold: YES asks at `p` are NO
    /// bids at `1 - p`.
    pub fn complement_sell_levels(&self) -> impl Iterator<Item = Level> + '_ {
        self.asks
            .levels
            .iter()
            .map(|l| Level::new(l.price.complement(), l.qty))
    }
}

/// The result of taking liquidity level by level for a size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LadderWalk {
    /// What was asked for.
    pub requested: Quantity,
    /// What the ladder could give (less than `requested` when it is too thin).
    pub filled: Quantity,
    /// The exact cost (or proceeds) of `filled`.
    pub notional: Notional,
    /// The price of the last contract taken: the marginal price.
    pub marginal_price: Option<Price>,
    /// How many levels were touched.
    pub levels_used: usize,
}

impl LadderWalk {
    /// Walks `levels` (best first) for `size`.
    pub fn over(levels: impl Iterator<Item = Level>, size: Quantity) -> LadderWalk {
        let mut remaining = size;
        let mut notional = Notional::ZERO;
        let mut marginal_price = None;
        let mut levels_used = 0;
        for level in levels {
            if remaining.is_zero() {
                break;
            }
            let take = remaining.min(level.qty);
            // Both factors are bounded (price <= 1e6, qty <= 1e18), so the
            // product and any realistic sum fit in i128.
            notional = Notional::from_picos(notional.picos() + level.price.notional(take).picos());
            remaining = remaining.saturating_sub(take);
            marginal_price = Some(level.price);
            levels_used += 1;
        }
        LadderWalk {
            requested: size,
            filled: size.saturating_sub(remaining),
            notional,
            marginal_price,
            levels_used,
        }
    }

    /// Whether the whole requested size is available.
    pub fn is_complete(&self) -> bool {
        self.filled == self.requested
    }

    /// The average price paid, rounded as asked (`Up` for costs).
    pub fn average_price(&self, rounding: crate::decimal::Rounding) -> Option<Price> {
        self.notional.per_contract(self.filled, rounding)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decimal::Rounding;

    fn p(s: &str) -> Price {
        Price::parse(s).unwrap()
    }
    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap()
    }

    fn book() -> OrderBook {
        let mut b = OrderBook::new();
        b.apply_snapshot(
            [
                Level::new(p("0.40"), q("10")),
                Level::new(p("0.42"), q("5")),
            ],
            [Level::new(p("0.47"), q("3")), Level::new(p("0.45"), q("4"))],
            Some(7),
            None,
            Timestamp::from_secs(1),
        )
        .unwrap();
        b
    }

    #[test]
    fn snapshot_sorts_best_first() {
        let b = book();
        assert_eq!(b.best_bid(), Some(Level::new(p("0.42"), q("5"))));
        assert_eq!(b.best_ask(), Some(Level::new(p("0.45"), q("4"))));
        assert!(!b.is_crossed());
    }

    #[test]
    fn deltas_in_sequence_apply() {
        let mut b = book();
        let updates = [
            LevelUpdate {
                side: BookSide::Ask,
                price: p("0.45"),
                change: LevelChange::Add(-4_000_000),
            },
            LevelUpdate {
                side: BookSide::Bid,
                price: p("0.43"),
                change: LevelChange::Set(q("2")),
            },
        ];
        b.apply_delta(&updates, Some(8), None, Timestamp::from_secs(2))
            .unwrap();
        assert_eq!(b.best_ask(), Some(Level::new(p("0.47"), q("3"))));
        assert_eq!(b.best_bid(), Some(Level::new(p("0.43"), q("2"))));
        assert_eq!(b.last_seq(), Some(8));
    }

    #[test]
    fn gap_forces_resync() {
        let mut b = book();
        let err = b.apply_delta(&[], Some(9), None, Timestamp::from_secs(2));
        assert_eq!(
            err,
            Err(BookError::SequenceGap {
                expected: 8,
                got: 9
            })
        );
        assert_eq!(b.status(), BookStatus::NeedsResync);
        assert_eq!(
            b.apply_delta(&[], Some(8), None, Timestamp::ZERO),
            Err(BookError::NotSynced)
        );
        let dup = b.apply_snapshot([], [], Some(20), None, Timestamp::ZERO);
        assert!(dup.is_ok());
        assert!(b.is_synced());
    }

    #[test]
    fn negative_level_is_an_error() {
        let mut b = book();
        let err = b.apply_delta(
            &[LevelUpdate {
                side: BookSide::Bid,
                price: p("0.40"),
                change: LevelChange::Add(-11_000_000),
            }],
            Some(8),
            None,
            Timestamp::ZERO,
        );
        assert!(matches!(err, Err(BookError::NegativeLevel { .. })));
        assert_eq!(b.status(), BookStatus::NeedsResync);
    }

    #[test]
    fn duplicate_snapshot_levels_are_refused() {
        let mut b = OrderBook::new();
        let err = b.apply_snapshot(
            [Level::new(p("0.40"), q("1")), Level::new(p("0.40"), q("2"))],
            [],
            None,
            None,
            Timestamp::ZERO,
        );
        assert!(matches!(err, Err(BookError::DuplicateLevel { .. })));
        assert!(!b.is_synced());
    }

    #[test]
    fn walk_reports_average_and_marginal() {
        let b = book();
        let w = b.asks().walk(q("6"));
        assert!(w.is_complete());
        assert_eq!(w.levels_used, 2);
        assert_eq!(w.marginal_price, Some(p("0.47")));
        // 4 @ 0.45 + 2 @ 0.47 = 1.80 + 0.94 = 2.74; average 0.456666..
        assert_eq!(
            w.notional.to_cash(Rounding::Exact).unwrap().micros(),
            2_740_000
        );
        assert_eq!(
            w.average_price(Rounding::Up),
            Some(Price::from_micros(456_667).unwrap())
        );
        assert_eq!(
            w.average_price(Rounding::Down),
            Some(Price::from_micros(456_666).unwrap())
        );
        let thin = b.asks().walk(q("100"));
        assert!(!thin.is_complete());
        assert_eq!(thin.filled, q("7"));
    }

    #[test]
    fn complement_of_kalshi_yes_book_buys_no() {
        // Kalshi YES book: YES bids 0.42 x5, 0.40 x10. NO can be bought at 0.58, 0.60.
        let b = book();
        let no_asks: Vec<Level> = b.complement_buy_levels().collect();
        assert_eq!(no_asks[0], Level::new(p("0.58"), q("5")));
        assert_eq!(no_asks[1], Level::new(p("0.60"), q("10")));
        let w = LadderWalk::over(b.complement_buy_levels(), q("6"));
        assert_eq!(w.marginal_price, Some(p("0.60")));
    }
}
