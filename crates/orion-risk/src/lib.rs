//! Risk controls that stand between a detected opportunity and an order.
//!
//! This crate owns the circuit breaker (daily loss, drawdown from peak,
//! consecutive execution failures, unwind losses; Active/Halted, persisted
//! through the `Store` port) and the capital manager (per-venue balances,
//! reserve, size caps, open-position and exposure limits). Every check returns
//! an approval or a refusal with its reason as a type. Pure domain logic: time
//! comes from a `Clock`, state from the ports.
//!
//! - [`breaker`]: [`CircuitBreaker`] with its persistent [`BreakerState`]
//!   (a versioned JSON snapshot the engine stores as the database's breaker
//!   record). Missing equity makes it *not ready*, never tripped. Only an
//!   [`AdminReset`] (actor and reason) clears a halt, producing the audit
//!   record; a trip produces a [`TripEvent`] to alert on.
//! - [`capital`]: [`CapitalManager::check`] sizes an [`Opportunity`]
//!   against balances and limits and reserves *both* legs' cost until
//!   [`CapitalManager::release`].
//! - [`check_trade`]: the one pre-trade gate: breaker first, then capital;
//!   [`RiskGate`] holds the three pieces for an engine's trade-gate port.
//!
//! Every refusal is counted in `orion_risk_refusals_total{reason}`; trips in
//! `orion_risk_breaker_trips_total{reason}`; `orion_risk_breaker_halted` is
//! 1 while halted. Nothing here reads the wall clock or does I/O: times come
//! in as [`Timestamp`] arguments (from the engine's `Clock`).
//!
//! [`Opportunity`]: orion_matching::detection::Opportunity
//! [`Timestamp`]: orion_core::Timestamp

// Tests assert with unwrap/expect/panic on purpose.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod breaker;
pub mod capital;
pub mod gate;
mod venues;

use orion_config::RiskConfig;
use orion_core::Timestamp;
use orion_matching::detection::Opportunity;

pub use breaker::{
    AdminActionError, AdminHalt, AdminReset, AuditRecord, BreakerLimits, BreakerState,
    BreakerStatus, CircuitBreaker, EquityObservation, NotReadyReason, Readiness, ResetOutcome,
    ResetRecord, RestoreError, TripEvent, TripReason,
};
pub use capital::{
    CapitalLimits, CapitalManager, LegProposal, LegReservation, OpenPosition, PortfolioView,
    Refusal, Reservation, ReservationId, RiskDecision, TradeProposal, polymarket_lot,
};
pub use gate::DecisionGate;
pub use venues::PerVenue;

/// The pre-trade gate: a halted or not-ready breaker refuses before any
/// capital is looked at; otherwise the capital manager decides (and, on
/// approval, holds the reservation).
pub fn check_trade(
    breaker: &CircuitBreaker,
    capital: &mut CapitalManager,
    opp: &Opportunity,
    portfolio: &PortfolioView,
    now: Timestamp,
) -> RiskDecision {
    if let BreakerStatus::Halted { reason, .. } = breaker.state().status() {
        return RiskDecision::refused(Refusal::Halted {
            reason: reason.clone(),
        });
    }
    if let Readiness::NotReady(reasons) = breaker.readiness() {
        return RiskDecision::refused(Refusal::NotReady {
            reasons: reasons.clone(),
        });
    }
    capital.check(opp, portfolio, now)
}

/// The breaker, the capital manager and the engine's latest view of its
/// money and positions, behind one call. The engine keeps `portfolio` and
/// the breaker's equity fresh, and releases each approval's reservation when
/// its execution is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskGate {
    pub breaker: CircuitBreaker,
    pub capital: CapitalManager,
    pub portfolio: PortfolioView,
}

impl RiskGate {
    /// Limits from the configuration; the breaker state as restored (or
    /// [`BreakerState::new`] on a fresh installation). Not ready, so not
    /// trading, until balances have been read.
    pub fn new(risk: &RiskConfig, state: BreakerState) -> RiskGate {
        RiskGate {
            breaker: CircuitBreaker::new(BreakerLimits::from_config(risk), state),
            capital: CapitalManager::new(CapitalLimits::from_config(risk)),
            portfolio: PortfolioView::default(),
        }
    }

    /// See [`check_trade`].
    pub fn review(&mut self, opp: &Opportunity, now: Timestamp) -> RiskDecision {
        check_trade(&self.breaker, &mut self.capital, opp, &self.portfolio, now)
    }
}
