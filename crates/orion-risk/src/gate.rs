//! The decision core's risk port (`orion_decision::TradeGate`), shared by
//! the engine and the backtester: the circuit breaker first, then the
//! capital manager, which holds a reservation of both legs' cost until the
//! execution finishes and then counts what the trade left as a position.

use std::collections::HashMap;
use std::sync::Arc;

use orion_core::{Cash, Timestamp};
use orion_decision::{GateDecision, TradeGate};
use orion_matching::detection::Opportunity;

use crate::{
    CapitalManager, CircuitBreaker, OpenPosition, PerVenue, PortfolioView, ReservationId,
    RiskDecision, check_trade,
};

/// Breaker + capital, as the decision core sees them.
#[derive(Debug)]
pub struct DecisionGate {
    pub breaker: CircuitBreaker,
    pub capital: CapitalManager,
    portfolio: PortfolioView,
    reservations: HashMap<Arc<str>, ReservationId>,
}

impl DecisionGate {
    pub fn new(breaker: CircuitBreaker, capital: CapitalManager) -> DecisionGate {
        DecisionGate {
            breaker,
            capital,
            portfolio: PortfolioView::default(),
            reservations: HashMap::new(),
        }
    }

    /// New balance readings (cash available per venue; `None` = unknown).
    pub fn set_available(&mut self, available: PerVenue<Option<Cash>>) {
        self.portfolio.available = available;
    }

    pub fn available(&self) -> PerVenue<Option<Cash>> {
        self.portfolio.available
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

impl TradeGate for DecisionGate {
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
                // The core allows one execution per pair, so at most one
                // reservation per pair is outstanding; a stale one is released.
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
