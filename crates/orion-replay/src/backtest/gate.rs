//! The decision core's risk port over orion-risk, as the engine wires it:
//! the circuit breaker first, then the capital manager, which holds a
//! reservation of both legs' cost until the execution finishes.
//!
//! This mirrors `orion-runtime`'s `RiskGate` call for call (the same
//! `orion_risk::check_trade`, the same reservation per pair, the same
//! release with the position's cost); it lives here because orion-replay
//! may not depend on the runtime (see the backtest's known limits).

use std::collections::HashMap;
use std::sync::Arc;

use orion_core::{Cash, Timestamp};
use orion_decision::{GateDecision, TradeGate};
use orion_matching::detection::Opportunity;
use orion_risk::{
    CapitalManager, CircuitBreaker, OpenPosition, PerVenue, PortfolioView, ReservationId,
    RiskDecision, check_trade,
};

/// Breaker + capital, as the decision core sees them.
#[derive(Debug)]
pub struct BacktestGate {
    pub breaker: CircuitBreaker,
    pub capital: CapitalManager,
    portfolio: PortfolioView,
    reservations: HashMap<Arc<str>, ReservationId>,
}

impl BacktestGate {
    pub fn new(breaker: CircuitBreaker, capital: CapitalManager) -> BacktestGate {
        BacktestGate {
            breaker,
            capital,
            portfolio: PortfolioView::default(),
            reservations: HashMap::new(),
        }
    }

    /// New balance readings (cash available per venue).
    pub fn set_available(&mut self, available: PerVenue<Option<Cash>>) {
        self.portfolio.available = available;
    }

    /// A pair's trade finished: its reservation is released and, when it
    /// left a position, the position counts against the exposure limits.
    pub fn finish(&mut self, pair_id: &Arc<str>, position_cost: Option<Cash>) {
        if let Some(id) = self.reservations.remove(pair_id)
            && let Some(reservation) = self.capital.release(id)
            && let Some(cost) = position_cost
            && cost > Cash::ZERO
        {
            self.portfolio.positions.push(OpenPosition {
                pair_id: reservation.pair_id.clone(),
                event_key: reservation.event_key.clone(),
                cost,
            });
        }
    }
}

impl TradeGate for BacktestGate {
    fn review(&mut self, opportunity: &Opportunity, now: Timestamp) -> GateDecision {
        match check_trade(
            &self.breaker,
            &mut self.capital,
            opportunity,
            &self.portfolio,
            now,
        ) {
            RiskDecision::Approved {
                quantity,
                reservation,
                ..
            } => {
                // One execution per pair at a time (the core's guard), so at
                // most one reservation per pair; a stale one is released.
                if let Some(old) = self
                    .reservations
                    .insert(opportunity.pair_id.clone(), reservation.id)
                {
                    let _ = self.capital.release(old);
                }
                GateDecision::Approve { quantity }
            }
            RiskDecision::Refused(refusal) => GateDecision::Refuse {
                reason: refusal.to_string(),
            },
        }
    }
}
