//! Fee reconciliation: what Kalshi charged on each fill (`fee_cost`) against
//! what Orion's model (`FeeSchedule`) says it should be.
//!
//! The venue's rounding is not settled (kalshi.md §8: $0.0001 per fill per
//! the docs, $0.000001 per some readings, cents in older material), so the
//! comparison takes a tolerance; anything beyond it is reported for an
//! operator to look at, since a fee model that is wrong on the low side
//! overstates every edge.

use orion_core::{Cash, FeeError, FeeSchedule};

use crate::kalshi::types::KalshiFill;

/// One fill's expected and charged fee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeCheck {
    pub fill_id: String,
    pub expected: Cash,
    pub charged: Cash,
    /// `charged − expected`.
    pub difference: Cash,
    /// Within the tolerance.
    pub matches: bool,
}

/// Compares every fill's `fee_cost` with the schedule's taker or maker fee
/// for its size and price.
pub fn reconcile_kalshi_fees(
    fills: &[KalshiFill],
    schedule: &FeeSchedule,
    tolerance: Cash,
) -> Result<Vec<FeeCheck>, FeeError> {
    fills
        .iter()
        .map(|f| {
            // P(1 − P) is symmetric: the YES price gives the same fee as the NO one.
            let expected = if f.is_taker {
                schedule.taker_fee(f.count, f.yes_price)?
            } else {
                schedule.maker_fee(f.count, f.yes_price)?
            };
            let difference = f.fee_cost.saturating_sub(expected);
            let abs = if difference.is_negative() {
                difference.checked_neg().unwrap_or(Cash::MAX)
            } else {
                difference
            };
            Ok(FeeCheck {
                fill_id: f.fill_id.clone(),
                expected,
                charged: f.fee_cost,
                difference,
                matches: abs <= tolerance,
            })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use orion_core::{
        InstrumentId, KalshiFeeType, Outcome, Price, Quantity, Rate, Side, Timestamp, Venue,
    };

    fn fill(count: &str, price: &str, fee: &str, taker: bool) -> KalshiFill {
        let p = Price::parse(price).unwrap();
        KalshiFill {
            fill_id: "f".into(),
            order_id: "o".into(),
            client_order_id: None,
            ticker: InstrumentId::new(Venue::Kalshi, "T").unwrap(),
            outcome: Outcome::Yes,
            side: Side::Buy,
            price: p,
            yes_price: p,
            count: Quantity::parse(count).unwrap(),
            is_taker: taker,
            fee_cost: Cash::parse(fee).unwrap(),
            ts: Timestamp::ZERO,
        }
    }

    #[test]
    fn documented_example_reconciles() {
        let s = FeeSchedule::Kalshi {
            fee_type: KalshiFeeType::Quadratic,
            multiplier: Rate::ONE,
        };
        // kalshi.md §8: 10 @ $0.50 → $0.1750; 1 @ $0.055 → $0.0037 (rounded up).
        let checks = reconcile_kalshi_fees(
            &[
                fill("10", "0.50", "0.1750", true),
                fill("1", "0.055", "0.0037", true),
                fill("1", "0.5", "0.03", true),
            ],
            &s,
            Cash::ZERO,
        )
        .unwrap();
        assert!(checks[0].matches && checks[1].matches);
        assert!(!checks[2].matches);
        assert_eq!(checks[2].difference, Cash::parse("0.0125").unwrap());
        // Makers pay nothing under plain quadratic.
        let m = reconcile_kalshi_fees(&[fill("10", "0.50", "0", false)], &s, Cash::ZERO).unwrap();
        assert!(m[0].matches);
    }
}
