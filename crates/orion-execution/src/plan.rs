//! Planning: an approved opportunity and size become two limit orders.
//!
//! Both legs get the same quantity (a pair pays $1 only when the counts
//! match), a limit at the leg's detected marginal price plus slippage (the
//! detector already computed it on the venue's grid), the configured time in
//! force, and a fresh client order id from the injected [`IdGenerator`].

use orion_config::{ExecutionConfig, KalshiLegTif, PolymarketLegType};
use orion_core::{
    Cash, ClientOrderId, IdError, InstrumentId, MarketId, OrderRequest, Outcome, Price, Quantity,
    Rounding, Side, TimeInForce, Venue,
};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use orion_matching::detection::Opportunity;

use crate::ids::IdGenerator;

/// One leg to buy, as detection priced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegSpec {
    pub market: MarketId,
    pub instrument: InstrumentId,
    /// The venue-local outcome bought.
    pub outcome: Outcome,
    /// Detected marginal price plus slippage: the order's limit.
    pub limit_price: Price,
}

impl LegSpec {
    pub fn venue(&self) -> Venue {
        self.instrument.venue
    }
}

/// An approved trade: which pair, both legs, and the size risk approved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradePlan {
    pub pair_id: String,
    pub legs: [LegSpec; 2],
    /// The approved size, equal on both legs.
    pub quantity: Quantity,
    /// Expected net profit, journaled for later comparison.
    pub expected_profit: Cash,
}

impl TradePlan {
    /// The plan for an approved opportunity at the size risk approved (at
    /// most the detected size). Expected profit scales with the size,
    /// rounded down (never overstated).
    pub fn from_opportunity(
        opportunity: &Opportunity,
        approved: Quantity,
    ) -> Result<TradePlan, PlanError> {
        if approved.is_zero() {
            return Err(PlanError::ZeroQuantity);
        }
        if approved > opportunity.quantity {
            return Err(PlanError::AboveDetected {
                approved,
                detected: opportunity.quantity,
            });
        }
        let leg = |i: usize| LegSpec {
            market: opportunity.legs[i].market.clone(),
            instrument: opportunity.legs[i].instrument.clone(),
            outcome: opportunity.legs[i].outcome,
            limit_price: opportunity.legs[i].limit_price,
        };
        let detected = i64::try_from(opportunity.quantity.micros()).unwrap_or(i64::MAX);
        let approved_micros = i64::try_from(approved.micros()).unwrap_or(i64::MAX);
        let expected_profit = opportunity
            .net_profit
            .mul_ratio(approved_micros, detected, Rounding::Down)
            .unwrap_or(Cash::ZERO);
        Ok(TradePlan {
            pair_id: opportunity.pair_id.to_string(),
            legs: [leg(0), leg(1)],
            quantity: approved,
            expected_profit,
        })
    }
}

/// Why a plan could not become orders.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PlanError {
    #[error("approved quantity is zero")]
    ZeroQuantity,
    #[error("approved quantity {approved:?} exceeds the detected {detected:?}")]
    AboveDetected {
        approved: Quantity,
        detected: Quantity,
    },
    #[error("both legs are on {0}: a cross-venue pair needs one leg per venue")]
    SameVenue(Venue),
    #[error("leg {leg}: market {market} and instrument {instrument} are on different venues")]
    VenueMismatch {
        leg: usize,
        market: String,
        instrument: String,
    },
    #[error("leg {leg}: limit price {price:?} is not strictly between 0 and 1")]
    BadLimit { leg: usize, price: Price },
    #[error("generated client order id is invalid: {0}")]
    BadId(#[from] IdError),
}

/// The time in force each venue's arbitrage legs use.
pub fn leg_time_in_force(venue: Venue, config: &ExecutionConfig) -> TimeInForce {
    match venue {
        Venue::Kalshi => match config.kalshi_time_in_force {
            KalshiLegTif::FillOrKill => TimeInForce::FillOrKill,
            KalshiLegTif::ImmediateOrCancel => TimeInForce::ImmediateOrCancel,
        },
        Venue::Polymarket => match config.polymarket_order_type {
            PolymarketLegType::Fok => TimeInForce::FillOrKill,
            PolymarketLegType::Fak => TimeInForce::ImmediateOrCancel,
        },
    }
}

/// A fresh client order id.
pub fn new_client_order_id(ids: &dyn IdGenerator) -> Result<ClientOrderId, IdError> {
    ClientOrderId::new(&ids.next_id())
}

/// Turns an approved plan into the two buy orders, in leg order.
pub fn plan_orders(
    plan: &TradePlan,
    config: &ExecutionConfig,
    ids: &dyn IdGenerator,
) -> Result<[OrderRequest; 2], PlanError> {
    if plan.quantity.is_zero() {
        return Err(PlanError::ZeroQuantity);
    }
    let [a, b] = &plan.legs;
    if a.venue() == b.venue() {
        return Err(PlanError::SameVenue(a.venue()));
    }
    let order = |index: usize, leg: &LegSpec| -> Result<OrderRequest, PlanError> {
        if leg.market.venue != leg.instrument.venue {
            return Err(PlanError::VenueMismatch {
                leg: index,
                market: leg.market.to_string(),
                instrument: leg.instrument.to_string(),
            });
        }
        if leg.limit_price == Price::ZERO || leg.limit_price >= Price::ONE {
            return Err(PlanError::BadLimit {
                leg: index,
                price: leg.limit_price,
            });
        }
        Ok(OrderRequest {
            client_order_id: new_client_order_id(ids)?,
            market: leg.market.clone(),
            instrument: leg.instrument.clone(),
            outcome: leg.outcome,
            side: Side::Buy,
            limit_price: leg.limit_price,
            quantity: plan.quantity,
            time_in_force: leg_time_in_force(leg.venue(), config),
        })
    };
    Ok([order(0, a)?, order(1, b)?])
}
