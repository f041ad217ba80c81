//! Choosing how to repair a legged trade, from the current books.
//!
//! When one leg filled more than the other, `excess` contracts of the long
//! leg are unhedged. Either *complete* the short leg (buy `excess` more on
//! its venue, walking its asks: the pair then pays $1 per contract at
//! settlement) or *unwind* (sell `excess` of the long leg on its venue,
//! walking its bids). Each is valued exactly (integer money, fees per level
//! rounded up, proceeds rounded down) against what the long leg cost; the one
//! with the better outcome is chosen if its loss fits the remaining loss
//! budget and the book holds the whole size. An option whose order would be
//! below its venue's minimum size (Polymarket's per-market minimum, in
//! shares) is not offered: the venue would only refuse it, and a refusal
//! costs a repair attempt. Pure: no I/O.

use orion_core::{
    Cash, FeeSchedule, InstrumentId, Level, MarketId, Notional, OrderBook, Outcome, Price,
    Quantity, Rounding, Side, Venue,
};
use serde::{Deserialize, Serialize};

/// The two ways to remove an imbalance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepairAction {
    /// Buy the missing contracts of the short leg.
    Complete,
    /// Sell the excess contracts of the long leg.
    Unwind,
}

/// One leg of the pair as repair sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairLeg {
    pub market: MarketId,
    pub instrument: InstrumentId,
    pub outcome: Outcome,
    /// What one contract of this leg cost (average fill, else its limit).
    pub cost_price: Price,
}

/// What repair decides from.
#[derive(Debug, Clone)]
pub struct RepairInput<'a> {
    /// The leg holding the excess.
    pub long: &'a RepairLeg,
    /// The leg that is short.
    pub short: &'a RepairLeg,
    pub excess: Quantity,
    pub long_book: Option<&'a OrderBook>,
    pub short_book: Option<&'a OrderBook>,
    pub long_fees: Option<FeeSchedule>,
    pub short_fees: Option<FeeSchedule>,
    /// Loss still allowed on this trade.
    pub loss_budget: Cash,
    /// The smallest order each leg's venue accepts for that instrument
    /// (`None`: no minimum known).
    pub long_min: Option<Quantity>,
    pub short_min: Option<Quantity>,
}

/// A priced repair order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairCandidate {
    pub action: RepairAction,
    pub market: MarketId,
    pub instrument: InstrumentId,
    pub outcome: Outcome,
    pub side: Side,
    pub quantity: Quantity,
    /// The marginal level walked: the order's limit.
    pub limit_price: Price,
    /// Estimated P&L of the repaired contracts (negative is a loss).
    pub expected_pnl: Cash,
    pub fees: Cash,
}

impl RepairCandidate {
    pub fn expected_loss(&self) -> Cash {
        if self.expected_pnl.is_negative() {
            self.expected_pnl.checked_neg().unwrap_or(Cash::MAX)
        } else {
            Cash::ZERO
        }
    }
}

/// Why a repair option cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Infeasible {
    NoBook,
    /// The book is not synced: its prices cannot be trusted.
    BookStale,
    NoFees,
    TooThin {
        available: Quantity,
    },
    OverBudget {
        loss: Cash,
        budget: Cash,
    },
    /// The order would be smaller than the venue's minimum for the instrument.
    BelowMinimum {
        minimum: Quantity,
    },
    Arithmetic,
}

fn check_minimum(excess: Quantity, minimum: Option<Quantity>) -> Result<(), Infeasible> {
    match minimum {
        Some(minimum) if excess < minimum => Err(Infeasible::BelowMinimum { minimum }),
        _ => Ok(()),
    }
}

/// Both options and the choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairDecision {
    pub complete: Result<RepairCandidate, Infeasible>,
    pub unwind: Result<RepairCandidate, Infeasible>,
    pub chosen: Option<RepairCandidate>,
}

/// The levels at which `outcome` can be bought or sold from `book`. Kalshi
/// books are YES-quoted, so its NO trades on the complement.
pub fn tradable_levels(book: &OrderBook, venue: Venue, outcome: Outcome, side: Side) -> Vec<Level> {
    match (venue, outcome, side) {
        (Venue::Kalshi, Outcome::No, Side::Buy) => book.complement_buy_levels().collect(),
        (Venue::Kalshi, Outcome::No, Side::Sell) => book.complement_sell_levels().collect(),
        (_, _, Side::Buy) => book.buy_levels().collect(),
        (_, _, Side::Sell) => book.sell_levels().collect(),
    }
}

struct Walked {
    notional: Notional,
    fees: Cash,
    marginal: Price,
}

/// Walks `levels` for exactly `qty`; fees per level, each rounded up.
fn walk(levels: &[Level], qty: Quantity, fees: &FeeSchedule) -> Result<Walked, Infeasible> {
    let mut remaining = qty;
    let mut notional = Notional::ZERO;
    let mut fee_total = Cash::ZERO;
    let mut marginal = None;
    for level in levels {
        if remaining.is_zero() {
            break;
        }
        let take = remaining.min(level.qty);
        if take.is_zero() {
            continue;
        }
        notional = notional
            .checked_add(level.price.notional(take))
            .ok_or(Infeasible::Arithmetic)?;
        let fee = fees
            .taker_fee(take, level.price)
            .map_err(|_| Infeasible::Arithmetic)?;
        fee_total = fee_total.checked_add(fee).ok_or(Infeasible::Arithmetic)?;
        remaining = remaining.saturating_sub(take);
        marginal = Some(level.price);
    }
    match marginal {
        Some(marginal) if remaining.is_zero() => Ok(Walked {
            notional,
            fees: fee_total,
            marginal,
        }),
        _ => Err(Infeasible::TooThin {
            available: qty.saturating_sub(remaining),
        }),
    }
}

fn to_cash_down(n: Notional) -> Result<Cash, Infeasible> {
    n.to_cash(Rounding::Down).ok_or(Infeasible::Arithmetic)
}

fn usable_book(book: Option<&OrderBook>) -> Result<&OrderBook, Infeasible> {
    match book {
        None => Err(Infeasible::NoBook),
        Some(b) if !b.is_synced() => Err(Infeasible::BookStale),
        Some(b) => Ok(b),
    }
}

fn within_budget(c: RepairCandidate, budget: Cash) -> Result<RepairCandidate, Infeasible> {
    let loss = c.expected_loss();
    if loss > budget {
        Err(Infeasible::OverBudget { loss, budget })
    } else {
        Ok(c)
    }
}

fn price_complete(input: &RepairInput<'_>) -> Result<RepairCandidate, Infeasible> {
    check_minimum(input.excess, input.short_min)?;
    let book = usable_book(input.short_book)?;
    let fees = input.short_fees.ok_or(Infeasible::NoFees)?;
    let levels = tradable_levels(
        book,
        input.short.instrument.venue,
        input.short.outcome,
        Side::Buy,
    );
    let w = walk(&levels, input.excess, &fees)?;
    // Each completed pair pays $1; the long side was already paid for.
    let payout = Price::ONE.notional(input.excess);
    let long_cost = input.long.cost_price.notional(input.excess);
    let gross = payout
        .checked_sub(long_cost)
        .and_then(|n| n.checked_sub(w.notional))
        .ok_or(Infeasible::Arithmetic)?;
    let pnl = to_cash_down(gross)?
        .checked_sub(w.fees)
        .ok_or(Infeasible::Arithmetic)?;
    within_budget(
        RepairCandidate {
            action: RepairAction::Complete,
            market: input.short.market.clone(),
            instrument: input.short.instrument.clone(),
            outcome: input.short.outcome,
            side: Side::Buy,
            quantity: input.excess,
            limit_price: w.marginal,
            expected_pnl: pnl,
            fees: w.fees,
        },
        input.loss_budget,
    )
}

fn price_unwind(input: &RepairInput<'_>) -> Result<RepairCandidate, Infeasible> {
    check_minimum(input.excess, input.long_min)?;
    let book = usable_book(input.long_book)?;
    let fees = input.long_fees.ok_or(Infeasible::NoFees)?;
    let levels = tradable_levels(
        book,
        input.long.instrument.venue,
        input.long.outcome,
        Side::Sell,
    );
    let w = walk(&levels, input.excess, &fees)?;
    let long_cost = input.long.cost_price.notional(input.excess);
    let gross = w
        .notional
        .checked_sub(long_cost)
        .ok_or(Infeasible::Arithmetic)?;
    let pnl = to_cash_down(gross)?
        .checked_sub(w.fees)
        .ok_or(Infeasible::Arithmetic)?;
    within_budget(
        RepairCandidate {
            action: RepairAction::Unwind,
            market: input.long.market.clone(),
            instrument: input.long.instrument.clone(),
            outcome: input.long.outcome,
            side: Side::Sell,
            quantity: input.excess,
            limit_price: w.marginal,
            expected_pnl: pnl,
            fees: w.fees,
        },
        input.loss_budget,
    )
}

/// Prices both options and picks the one that loses less (on a tie, the
/// unwind: it frees capital instead of committing more).
pub fn choose_repair(input: &RepairInput<'_>) -> RepairDecision {
    let complete = if input.excess.is_zero() {
        Err(Infeasible::TooThin {
            available: Quantity::ZERO,
        })
    } else {
        price_complete(input)
    };
    let unwind = if input.excess.is_zero() {
        Err(Infeasible::TooThin {
            available: Quantity::ZERO,
        })
    } else {
        price_unwind(input)
    };
    let chosen = match (&complete, &unwind) {
        (Ok(c), Ok(u)) => Some(if c.expected_pnl > u.expected_pnl {
            c.clone()
        } else {
            u.clone()
        }),
        (Ok(c), Err(_)) => Some(c.clone()),
        (Err(_), Ok(u)) => Some(u.clone()),
        (Err(_), Err(_)) => None,
    };
    RepairDecision {
        complete,
        unwind,
        chosen,
    }
}

impl RepairDecision {
    /// The better feasible option whose action is not in `avoid` (actions a
    /// venue just refused, e.g. below its minimum size); the plain choice
    /// when every feasible option is to be avoided.
    pub fn best_avoiding(&self, avoid: &[RepairAction]) -> Option<RepairCandidate> {
        // Unwind first so that, as in `choose_repair`, a tie goes to it.
        let mut options: Vec<&RepairCandidate> = [&self.unwind, &self.complete]
            .into_iter()
            .flatten()
            .collect();
        options.sort_by_key(|c| std::cmp::Reverse(c.expected_pnl));
        options
            .into_iter()
            .find(|c| !avoid.contains(&c.action))
            .cloned()
            .or_else(|| self.chosen.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orion_core::{KalshiFeeType, Rate, Timestamp};

    fn p(s: &str) -> Price {
        Price::parse(s).unwrap()
    }

    fn q(n: u64) -> Quantity {
        Quantity::from_contracts(n).unwrap()
    }

    fn book(bids: &[(&str, u64)], asks: &[(&str, u64)]) -> OrderBook {
        let mut b = OrderBook::new();
        b.apply_snapshot(
            bids.iter().map(|(x, n)| Level::new(p(x), q(*n))),
            asks.iter().map(|(x, n)| Level::new(p(x), q(*n))),
            None,
            None,
            Timestamp::ZERO,
        )
        .unwrap();
        b
    }

    fn leg(venue: Venue, outcome: Outcome, cost: &str) -> RepairLeg {
        RepairLeg {
            market: MarketId::new(venue, "M").unwrap(),
            instrument: InstrumentId::new(venue, "M").unwrap(),
            outcome,
            cost_price: p(cost),
        }
    }

    const NO_FEES: FeeSchedule = FeeSchedule::Polymarket {
        rate: Rate::ZERO,
        exponent: 1,
    };

    #[test]
    fn kalshi_no_trades_on_the_complement_of_the_yes_book() {
        let b = book(&[("0.40", 5)], &[("0.43", 7)]);
        let buy_no = tradable_levels(&b, Venue::Kalshi, Outcome::No, Side::Buy);
        assert_eq!(buy_no, vec![Level::new(p("0.60"), q(5))]);
        let sell_no = tradable_levels(&b, Venue::Kalshi, Outcome::No, Side::Sell);
        assert_eq!(sell_no, vec![Level::new(p("0.57"), q(7))]);
        let buy_yes_poly = tradable_levels(&b, Venue::Polymarket, Outcome::No, Side::Buy);
        assert_eq!(buy_yes_poly, vec![Level::new(p("0.43"), q(7))]);
    }

    #[test]
    fn picks_the_smaller_loss_within_the_budget_and_walks_depth() {
        // Long Kalshi YES at 0.42; short Polymarket NO.
        let long = leg(Venue::Kalshi, Outcome::Yes, "0.42");
        let short = leg(Venue::Polymarket, Outcome::No, "0.55");
        let kalshi_book = book(&[("0.41", 4), ("0.30", 100)], &[("0.43", 100)]);
        let poly_book = book(&[("0.50", 100)], &[("0.59", 3), ("0.61", 100)]);
        let kalshi_fees = FeeSchedule::Kalshi {
            fee_type: KalshiFeeType::Quadratic,
            multiplier: Rate::ONE,
        };
        let input = RepairInput {
            long: &long,
            short: &short,
            excess: q(5),
            long_book: Some(&kalshi_book),
            short_book: Some(&poly_book),
            long_fees: Some(kalshi_fees),
            short_fees: Some(NO_FEES),
            loss_budget: Cash::from_micros(5_000_000),
            long_min: None,
            short_min: None,
        };
        let d = choose_repair(&input);
        // Complete: 3 at 0.59 + 2 at 0.61 = 2.99; 5 × (1 − 0.42) = 2.90: −0.09.
        let c = d.complete.clone().unwrap();
        assert_eq!(c.limit_price, p("0.61"));
        assert_eq!(c.expected_pnl, Cash::from_micros(-90_000));
        // Unwind: 4 at 0.41 + 1 at 0.30 = 1.94 vs 2.10 paid, plus fees.
        let u = d.unwind.clone().unwrap();
        assert_eq!(u.limit_price, p("0.30"));
        assert!(u.expected_pnl < Cash::from_micros(-160_000));
        assert_eq!(d.chosen.unwrap().action, RepairAction::Complete);
        // A tighter budget leaves nothing feasible.
        let tight = RepairInput {
            loss_budget: Cash::from_micros(50_000),
            ..input.clone()
        };
        let d = choose_repair(&tight);
        assert!(matches!(d.complete, Err(Infeasible::OverBudget { .. })));
        assert!(d.chosen.is_none());
        // A thin book is not used for more than it holds.
        let thin = book(&[("0.50", 1)], &[("0.59", 2)]);
        let d = choose_repair(&RepairInput {
            short_book: Some(&thin),
            ..input
        });
        assert_eq!(d.complete, Err(Infeasible::TooThin { available: q(2) }));
        assert_eq!(d.chosen.unwrap().action, RepairAction::Unwind);
    }

    #[test]
    fn a_stale_book_is_not_priced() {
        let long = leg(Venue::Kalshi, Outcome::Yes, "0.42");
        let short = leg(Venue::Polymarket, Outcome::No, "0.55");
        let mut stale = book(&[("0.41", 100)], &[("0.43", 100)]);
        stale.invalidate();
        let d = choose_repair(&RepairInput {
            long: &long,
            short: &short,
            excess: q(1),
            long_book: Some(&stale),
            short_book: None,
            long_fees: Some(NO_FEES),
            short_fees: Some(NO_FEES),
            loss_budget: Cash::from_micros(5_000_000),
            long_min: None,
            short_min: None,
        });
        assert_eq!(d.unwind, Err(Infeasible::BookStale));
        assert_eq!(d.complete, Err(Infeasible::NoBook));
        assert!(d.chosen.is_none());
    }

    #[test]
    fn an_order_below_the_venue_minimum_is_not_offered() {
        // Long Kalshi YES by 3.6 contracts; completing means buying 3.6
        // Polymarket NO, under the market's 5-share minimum.
        let long = leg(Venue::Kalshi, Outcome::Yes, "0.42");
        let short = leg(Venue::Polymarket, Outcome::No, "0.55");
        let kalshi_book = book(&[("0.40", 100)], &[("0.43", 100)]);
        let poly_book = book(&[("0.53", 100)], &[("0.56", 100)]);
        let excess = Quantity::parse("3.6").unwrap();
        let input = RepairInput {
            long: &long,
            short: &short,
            excess,
            long_book: Some(&kalshi_book),
            short_book: Some(&poly_book),
            long_fees: Some(NO_FEES),
            short_fees: Some(NO_FEES),
            loss_budget: Cash::from_micros(5_000_000),
            long_min: None,
            short_min: None,
        };
        // Without the minimum, completing is the better option.
        assert_eq!(
            choose_repair(&input).chosen.unwrap().action,
            RepairAction::Complete
        );
        let d = choose_repair(&RepairInput {
            short_min: Some(q(5)),
            ..input.clone()
        });
        assert_eq!(d.complete, Err(Infeasible::BelowMinimum { minimum: q(5) }));
        let chosen = d.chosen.unwrap();
        assert_eq!(
            (chosen.action, chosen.quantity),
            (RepairAction::Unwind, excess)
        );
        // Exactly the minimum is allowed; below it on both venues, nothing is.
        assert!(
            choose_repair(&RepairInput {
                short_min: Some(excess),
                ..input.clone()
            })
            .complete
            .is_ok()
        );
        let d = choose_repair(&RepairInput {
            long_min: Some(q(4)),
            short_min: Some(q(5)),
            ..input
        });
        assert_eq!(d.unwind, Err(Infeasible::BelowMinimum { minimum: q(4) }));
        assert!(d.chosen.is_none());
    }
}
