//! Settlement: when a market resolves, its positions close at $1 or $0 and
//! the pair's realized P&L is the payout minus what the holdings cost.
//! Pure computation; the caller persists the result (orion-storage
//! `record_settlement`).

use orion_core::{Cash, InstrumentId, MarketId, Outcome, Price, Quantity, Rounding};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// One holding of a pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldLeg {
    pub market: MarketId,
    pub instrument: InstrumentId,
    pub outcome: Outcome,
    pub quantity: Quantity,
    /// Everything paid for it, fees included, net of any proceeds of sales.
    pub cost: Cash,
}

/// One holding closed by a resolution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettledLeg {
    pub leg: HeldLeg,
    pub winning_outcome: Outcome,
    pub payout: Cash,
    pub realized_pnl: Cash,
}

/// A pair's settlement so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairSettlement {
    pub pair_id: String,
    pub settled: Vec<SettledLeg>,
    /// Holdings whose market has not resolved yet.
    pub open: Vec<HeldLeg>,
    pub payout: Cash,
    pub cost: Cash,
    pub realized_pnl: Cash,
}

impl PairSettlement {
    pub fn is_complete(&self) -> bool {
        self.open.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SettlementError {
    #[error("settlement amount overflowed")]
    Overflow,
}

/// Closes every holding whose market `winner` knows; a winning contract pays
/// $1, a losing one nothing.
pub fn settle_pair(
    pair_id: &str,
    legs: &[HeldLeg],
    winner: impl Fn(&MarketId) -> Option<Outcome>,
) -> Result<PairSettlement, SettlementError> {
    let mut settled = Vec::new();
    let mut open = Vec::new();
    let mut payout_total = Cash::ZERO;
    let mut cost_total = Cash::ZERO;
    for leg in legs {
        let Some(winning) = winner(&leg.market) else {
            open.push(leg.clone());
            continue;
        };
        let payout = if winning == leg.outcome {
            // Exact: a whole micro-contract count times $1.
            Price::ONE
                .notional(leg.quantity)
                .to_cash(Rounding::Down)
                .ok_or(SettlementError::Overflow)?
        } else {
            Cash::ZERO
        };
        let pnl = payout
            .checked_sub(leg.cost)
            .ok_or(SettlementError::Overflow)?;
        payout_total = payout_total
            .checked_add(payout)
            .ok_or(SettlementError::Overflow)?;
        cost_total = cost_total
            .checked_add(leg.cost)
            .ok_or(SettlementError::Overflow)?;
        settled.push(SettledLeg {
            leg: leg.clone(),
            winning_outcome: winning,
            payout,
            realized_pnl: pnl,
        });
    }
    Ok(PairSettlement {
        pair_id: pair_id.to_string(),
        settled,
        open,
        payout: payout_total,
        cost: cost_total,
        realized_pnl: payout_total
            .checked_sub(cost_total)
            .ok_or(SettlementError::Overflow)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use orion_core::Venue;

    fn leg(venue: Venue, market: &str, outcome: Outcome, qty: u64, cost_micros: i64) -> HeldLeg {
        HeldLeg {
            market: MarketId::new(venue, market).unwrap(),
            instrument: InstrumentId::new(venue, market).unwrap(),
            outcome,
            quantity: Quantity::from_contracts(qty).unwrap(),
            cost: Cash::from_micros(cost_micros),
        }
    }

    #[test]
    fn hedged_pair_realizes_its_edge_whichever_way_it_resolves() {
        // Kalshi YES and Polymarket NO of the same question: exactly one pays.
        let legs = [
            leg(Venue::Kalshi, "K", Outcome::Yes, 10, 4_200_000),
            leg(Venue::Polymarket, "P", Outcome::No, 10, 5_500_000),
        ];
        for kalshi_winner in [Outcome::Yes, Outcome::No] {
            let s = settle_pair("pair", &legs, |_| Some(kalshi_winner)).unwrap();
            assert!(s.is_complete());
            assert_eq!(s.payout, Cash::from_micros(10_000_000));
            assert_eq!(s.cost, Cash::from_micros(9_700_000));
            assert_eq!(s.realized_pnl, Cash::from_micros(300_000));
            assert_eq!(
                s.settled.iter().filter(|l| l.payout != Cash::ZERO).count(),
                1
            );
        }
    }

    #[test]
    fn unresolved_markets_stay_open() {
        let legs = [
            leg(Venue::Kalshi, "K", Outcome::Yes, 10, 4_200_000),
            leg(Venue::Polymarket, "P", Outcome::No, 10, 5_500_000),
        ];
        let s = settle_pair("pair", &legs, |m| {
            (m.venue == Venue::Kalshi).then_some(Outcome::No)
        })
        .unwrap();
        assert_eq!(s.open.len(), 1);
        assert_eq!(s.realized_pnl, Cash::from_micros(-4_200_000));
        assert!(!s.is_complete());
    }
}
