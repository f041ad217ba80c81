//! The capital manager: how much of an opportunity may be traded, given the
//! money on each venue and the limits on size, positions and exposure.
//!
//! A trade costs money on *both* venues at once, so both legs' cost is
//! checked against each venue's spendable balance and reserved until the
//! trade completes; the size cap and the exposure limits apply to the two
//! legs together. Costs are bounded from above: each leg at its order's limit
//! price (never below the walked cost), plus its share of the walked fees,
//! rounded up to the cent as the venues debit.
//!
//! When a limit that grows with size binds (size cap, balances, exposure),
//! the quantity is cut by whole lots, both legs together, down to the
//! largest size that fits; if even the minimum trade does not fit, the
//! refusal names that limit with its numbers.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use orion_config::RiskConfig;
use orion_core::{Cash, Fraction, Price, Quantity, Rounding, Timestamp, Venue};
use orion_matching::detection::Opportunity;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::PerVenue;
use crate::breaker::{NotReadyReason, TripReason};

/// The capital limits (from `[risk]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapitalLimits {
    /// Kept untouched on each venue, as a fraction of its available balance.
    pub reserve_fraction: Fraction,
    /// Both legs' cost together, as a fraction of the bankroll.
    pub max_trade_fraction: Fraction,
    pub min_trade: Quantity,
    /// Distinct pairs with a position or a reservation.
    pub max_open_positions: u32,
    pub max_exposure_per_event: Cash,
    pub max_exposure_per_pair: Cash,
    pub max_days_to_resolution: u32,
}

impl CapitalLimits {
    pub fn from_config(risk: &RiskConfig) -> CapitalLimits {
        CapitalLimits {
            reserve_fraction: risk.reserve_fraction,
            max_trade_fraction: risk.max_trade_fraction,
            min_trade: risk.min_trade_contracts,
            max_open_positions: risk.max_open_positions,
            max_exposure_per_event: risk.max_exposure_per_event,
            max_exposure_per_pair: risk.max_exposure_per_pair,
            max_days_to_resolution: risk.max_days_to_resolution,
        }
    }
}

/// A position the engine holds in one pair (both legs), at cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPosition {
    pub pair_id: Arc<str>,
    pub event_key: Arc<str>,
    pub cost: Cash,
}

/// What the engine knows of its money and positions when it asks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortfolioView {
    /// Cash available to trade on each venue; `None` = not read yet.
    pub available: PerVenue<Option<Cash>>,
    pub positions: Vec<OpenPosition>,
}

/// One leg as the capital manager sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegProposal {
    pub venue: Venue,
    /// The order's limit: no contract costs more.
    pub limit_price: Price,
    /// The walked cost of the full quantity.
    pub cost: Cash,
    /// The walked fees of the full quantity.
    pub fees: Cash,
}

/// A trade to check: an [`Opportunity`] reduced to what limits need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeProposal {
    pub pair_id: Arc<str>,
    pub event_key: Arc<str>,
    pub quantity: Quantity,
    /// Sizes may only move by whole lots.
    pub lot: Quantity,
    pub legs: [LegProposal; 2],
    pub days_to_resolution: u32,
    /// The venues' own minimum order size for this pair (Polymarket's
    /// `min_order_size`), if known; the larger of it and the configured
    /// minimum applies.
    pub venue_min_size: Quantity,
}

/// The smallest size step at which a Polymarket FOK/FAK buy at `limit` has
/// a whole-cent amount (size × price with at most two decimals), in steps of
/// 0.01 contract (Kalshi's count step). Detection's lot (0.01 / tick) is
/// always a multiple of it, so cutting by this lot keeps both venues valid.
pub fn polymarket_lot(limit: Price) -> Quantity {
    fn gcd(mut a: u64, mut b: u64) -> u64 {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    }
    // k hundredths of a contract at p micro-dollars cost k·p/10^6 cents.
    let hundredths = 1_000_000 / gcd(u64::from(limit.micros()), 1_000_000);
    Quantity::from_micros(hundredths * 10_000)
}

impl TradeProposal {
    /// The proposal for a detected opportunity, with the lot that keeps the
    /// Polymarket leg's amount in whole cents at its limit price.
    pub fn from_opportunity(opp: &Opportunity) -> Result<TradeProposal, Refusal> {
        let legs = opp.legs.each_ref().map(|l| LegProposal {
            venue: l.venue,
            limit_price: l.limit_price,
            cost: l.cost,
            fees: l.fees,
        });
        let poly = legs
            .iter()
            .find(|l| l.venue == Venue::Polymarket)
            .ok_or_else(|| Refusal::InvalidProposal {
                detail: "no Polymarket leg".into(),
            })?;
        Ok(TradeProposal {
            pair_id: opp.pair_id.clone(),
            event_key: opp.event_key.clone(),
            quantity: opp.quantity,
            lot: polymarket_lot(poly.limit_price),
            legs,
            days_to_resolution: opp.days_to_resolution,
            venue_min_size: Quantity::ZERO,
        })
    }

    /// Sets the venues' minimum order size (from the pair's market data).
    pub fn with_venue_min_size(mut self, min: Quantity) -> TradeProposal {
        self.venue_min_size = min;
        self
    }

    /// Replaces the lot (for example with the pair's own, coarser lot).
    pub fn with_lot(mut self, lot: Quantity) -> TradeProposal {
        self.lot = lot;
        self
    }

    fn validate(&self) -> Result<(), Refusal> {
        let bad = |detail: &str| {
            Err(Refusal::InvalidProposal {
                detail: detail.to_string(),
            })
        };
        if self.quantity.is_zero() || self.quantity > Quantity::MAX {
            return bad("quantity is zero or too large");
        }
        if self.lot.is_zero() {
            return bad("lot is zero");
        }
        if self.legs[0].venue == self.legs[1].venue {
            return bad("both legs are on the same venue");
        }
        if self
            .legs
            .iter()
            .any(|l| l.cost.is_negative() || l.fees.is_negative())
        {
            return bad("negative leg cost or fee");
        }
        Ok(())
    }

    /// An upper bound on what one leg spends at `qty`: the limit price (or
    /// the walked average, if higher) plus the fee share, up to the cent.
    fn leg_cost(&self, leg: &LegProposal, qty: Quantity) -> Option<Cash> {
        let q = i64::try_from(qty.micros()).ok()?;
        let full = i64::try_from(self.quantity.micros()).ok()?;
        let at_limit = leg.limit_price.notional(qty).to_cash(Rounding::Up)?;
        let walked = leg.cost.mul_ratio(q, full, Rounding::Up)?;
        let fees = leg.fees.mul_ratio(q, full, Rounding::Up)?;
        at_limit
            .max(walked)
            .checked_add(fees)?
            .round_to_decimals(2, Rounding::Up)
    }
}

/// Identifies a reservation until it is released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ReservationId(pub u64);

impl fmt::Display for ReservationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "R{}", self.0)
    }
}

/// Money set aside on one venue for one leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegReservation {
    pub venue: Venue,
    pub cost: Cash,
}

/// Capital held for an approved trade until [`CapitalManager::release`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub id: ReservationId,
    pub pair_id: Arc<str>,
    pub event_key: Arc<str>,
    /// Both legs' size.
    pub quantity: Quantity,
    pub legs: [LegReservation; 2],
    /// Both legs together.
    pub total: Cash,
    /// Whether this trade opens a pair not held before.
    pub opens_position: bool,
    pub created_at: Timestamp,
}

impl Reservation {
    pub fn on(&self, venue: Venue) -> Cash {
        self.legs
            .iter()
            .filter(|l| l.venue == venue)
            .fold(Cash::ZERO, |sum, l| sum.saturating_add(l.cost))
    }
}

/// Why a trade is refused, with the numbers. Amounts called `needed` are
/// what the *smallest* acceptable trade would take: a refusal means no size
/// at all fits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Refusal {
    #[error("circuit breaker halted: {reason}")]
    Halted { reason: TripReason },
    #[error("risk not ready: {}", join(reasons))]
    NotReady { reasons: Vec<NotReadyReason> },
    #[error("invalid proposal: {detail}")]
    InvalidProposal { detail: String },
    #[error("resolves in {days} days, beyond the limit of {limit}")]
    DaysToResolution { days: u32, limit: u32 },
    #[error("{open} open positions (with reservations) reached the limit of {limit}")]
    MaxOpenPositions { open: u32, limit: u32 },
    #[error("{venue} balance is not loaded")]
    BalanceUnknown { venue: Venue },
    #[error("size {quantity} is below the minimum {minimum}")]
    BelowMinimum {
        quantity: Quantity,
        minimum: Quantity,
    },
    #[error(
        "trade cost ${needed} exceeds the size cap ${cap} ({fraction} of bankroll ${bankroll})"
    )]
    TradeSizeCap {
        needed: Cash,
        cap: Cash,
        bankroll: Cash,
        fraction: Fraction,
    },
    #[error(
        "{venue} leg needs ${needed} but ${spendable} is spendable (available ${available}, reserve ${reserve}, reserved ${reserved})"
    )]
    InsufficientBalance {
        venue: Venue,
        needed: Cash,
        spendable: Cash,
        available: Cash,
        reserve: Cash,
        reserved: Cash,
    },
    #[error("pair {pair_id}: exposure ${current} + ${needed} exceeds the limit ${limit}")]
    PairExposure {
        pair_id: String,
        current: Cash,
        needed: Cash,
        limit: Cash,
    },
    #[error("event {event_key}: exposure ${current} + ${needed} exceeds the limit ${limit}")]
    EventExposure {
        event_key: String,
        current: Cash,
        needed: Cash,
        limit: Cash,
    },
}

fn join(reasons: &[NotReadyReason]) -> String {
    reasons
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Refusal {
    /// The metrics label.
    pub fn label(&self) -> &'static str {
        match self {
            Refusal::Halted { .. } => "halted",
            Refusal::NotReady { .. } => "not_ready",
            Refusal::InvalidProposal { .. } => "invalid_proposal",
            Refusal::DaysToResolution { .. } => "days_to_resolution",
            Refusal::MaxOpenPositions { .. } => "max_open_positions",
            Refusal::BalanceUnknown { .. } => "balance_unknown",
            Refusal::BelowMinimum { .. } => "below_minimum",
            Refusal::TradeSizeCap { .. } => "trade_size_cap",
            Refusal::InsufficientBalance { .. } => "insufficient_balance",
            Refusal::PairExposure { .. } => "pair_exposure",
            Refusal::EventExposure { .. } => "event_exposure",
        }
    }
}

/// The answer to "may this trade go ahead, and at what size?".
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "an approval holds a reservation that must be released"]
pub enum RiskDecision {
    Approved {
        /// Both legs' size: the requested one, or fewer whole lots.
        quantity: Quantity,
        requested: Quantity,
        reservation: Reservation,
    },
    Refused(Refusal),
}

impl RiskDecision {
    pub(crate) fn refused(refusal: Refusal) -> RiskDecision {
        metrics::counter!("orion_risk_refusals_total", "reason" => refusal.label()).increment(1);
        RiskDecision::Refused(refusal)
    }

    pub fn is_approved(&self) -> bool {
        matches!(self, RiskDecision::Approved { .. })
    }
}

/// Money and room left, computed once per check.
struct Room {
    size_cap: Cash,
    bankroll: Cash,
    spendable: PerVenue<Cash>,
    available: PerVenue<Cash>,
    reserve: PerVenue<Cash>,
    reserved: PerVenue<Cash>,
    pair_used: Cash,
    event_used: Cash,
}

fn clamp_cash(v: i128) -> Cash {
    Cash::from_micros(
        i64::try_from(v.clamp(i128::from(i64::MIN), i128::from(i64::MAX))).unwrap_or(0),
    )
}

/// Checks trades against the capital limits and holds reservations for the
/// approved ones until they complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapitalManager {
    limits: CapitalLimits,
    reservations: BTreeMap<ReservationId, Reservation>,
    next_id: u64,
}

impl CapitalManager {
    pub fn new(limits: CapitalLimits) -> CapitalManager {
        CapitalManager {
            limits,
            reservations: BTreeMap::new(),
            next_id: 1,
        }
    }

    pub fn limits(&self) -> &CapitalLimits {
        &self.limits
    }

    /// Reservations not yet released, oldest first.
    pub fn outstanding(&self) -> impl Iterator<Item = &Reservation> {
        self.reservations.values()
    }

    /// Reserved on `venue` by outstanding reservations.
    pub fn reserved_on(&self, venue: Venue) -> Cash {
        self.reservations
            .values()
            .fold(Cash::ZERO, |sum, r| sum.saturating_add(r.on(venue)))
    }

    /// Releases a reservation when its trade completes (filled, failed or
    /// repaired): from then on the venues' balances and the positions carry
    /// what it spent.
    pub fn release(&mut self, id: ReservationId) -> Option<Reservation> {
        self.reservations.remove(&id)
    }

    /// Checks a detected opportunity; see [`CapitalManager::check_proposal`].
    pub fn check(
        &mut self,
        opp: &Opportunity,
        portfolio: &PortfolioView,
        now: Timestamp,
    ) -> RiskDecision {
        match TradeProposal::from_opportunity(opp) {
            Ok(p) => self.check_proposal(&p, portfolio, now),
            Err(r) => RiskDecision::refused(r),
        }
    }

    /// Approves the largest size (the requested one, or fewer whole lots)
    /// that fits every limit, reserving both legs' cost; or refuses with the
    /// first limit that even the minimum size breaks.
    pub fn check_proposal(
        &mut self,
        p: &TradeProposal,
        portfolio: &PortfolioView,
        now: Timestamp,
    ) -> RiskDecision {
        match self.evaluate(p, portfolio) {
            Ok((quantity, legs, total, opens_position)) => {
                let id = ReservationId(self.next_id);
                self.next_id = self.next_id.saturating_add(1);
                let reservation = Reservation {
                    id,
                    pair_id: p.pair_id.clone(),
                    event_key: p.event_key.clone(),
                    quantity,
                    legs,
                    total,
                    opens_position,
                    created_at: now,
                };
                self.reservations.insert(id, reservation.clone());
                let reduced = if quantity < p.quantity {
                    "true"
                } else {
                    "false"
                };
                metrics::counter!("orion_risk_approvals_total", "reduced" => reduced).increment(1);
                RiskDecision::Approved {
                    quantity,
                    requested: p.quantity,
                    reservation,
                }
            }
            Err(r) => RiskDecision::refused(r),
        }
    }

    #[allow(clippy::type_complexity)]
    fn evaluate(
        &self,
        p: &TradeProposal,
        portfolio: &PortfolioView,
    ) -> Result<(Quantity, [LegReservation; 2], Cash, bool), Refusal> {
        let limits = &self.limits;
        p.validate()?;
        if p.days_to_resolution > limits.max_days_to_resolution {
            return Err(Refusal::DaysToResolution {
                days: p.days_to_resolution,
                limit: limits.max_days_to_resolution,
            });
        }

        let mut open_pairs: BTreeSet<&str> =
            portfolio.positions.iter().map(|o| &*o.pair_id).collect();
        open_pairs.extend(self.reservations.values().map(|r| &*r.pair_id));
        let opens_position = !open_pairs.contains(&*p.pair_id);
        let open = u32::try_from(open_pairs.len()).unwrap_or(u32::MAX);
        if opens_position && open >= limits.max_open_positions {
            return Err(Refusal::MaxOpenPositions {
                open,
                limit: limits.max_open_positions,
            });
        }

        let room = self.room(p, portfolio)?;

        let minimum = limits
            .min_trade
            .max(p.venue_min_size)
            .max(Quantity::from_micros(1));
        if p.quantity < minimum {
            return Err(Refusal::BelowMinimum {
                quantity: p.quantity,
                minimum,
            });
        }
        // Sizes tried: quantity - n·lot for n in 0..=max_cuts, all >= minimum.
        let max_cuts = (p.quantity.micros() - minimum.micros()) / p.lot.micros();
        let size_after = |n: u64| Quantity::from_micros(p.quantity.micros() - n * p.lot.micros());
        // Every cost grows with size, so "fits" is monotone in n: find the
        // fewest cuts that fit, knowing whether the most cuts fit at all.
        self.fits(p, &room, size_after(max_cuts))?;
        let (mut lo, mut hi) = (0u64, max_cuts);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.fits(p, &room, size_after(mid)).is_ok() {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        let quantity = size_after(hi);
        let (legs, total) = self.costs(p, quantity)?;
        Ok((quantity, legs, total, opens_position))
    }

    fn room(&self, p: &TradeProposal, portfolio: &PortfolioView) -> Result<Room, Refusal> {
        let mut available = PerVenue::<Cash>::default();
        for (venue, value) in portfolio.available.iter() {
            let Some(cash) = value else {
                return Err(Refusal::BalanceUnknown { venue });
            };
            *available.get_mut(venue) = *cash;
        }
        let mut reserve = PerVenue::<Cash>::default();
        let mut reserved = PerVenue::<Cash>::default();
        let mut spendable = PerVenue::<Cash>::default();
        for venue in Venue::ALL {
            let avail = (*available.get(venue)).max(Cash::ZERO);
            // The reserve rounds up: it is what must stay.
            let kept = self
                .limits
                .reserve_fraction
                .of(avail, Rounding::Up)
                .unwrap_or(avail);
            let held = self.reserved_on(venue);
            *reserve.get_mut(venue) = kept;
            *reserved.get_mut(venue) = held;
            *spendable.get_mut(venue) = avail
                .saturating_sub(kept)
                .saturating_sub(held)
                .max(Cash::ZERO);
        }

        let positions_cost: i128 = portfolio
            .positions
            .iter()
            .map(|o| i128::from(o.cost.micros().max(0)))
            .sum();
        let cash_total: i128 = Venue::ALL
            .iter()
            .map(|v| i128::from(available.get(*v).micros().max(0)))
            .sum();
        let bankroll = clamp_cash(cash_total + positions_cost);
        let size_cap = self
            .limits
            .max_trade_fraction
            .of(bankroll, Rounding::Down)
            .unwrap_or(Cash::ZERO);

        let used = |same: &dyn Fn(&str, &str) -> bool| -> Cash {
            let held: i128 = portfolio
                .positions
                .iter()
                .filter(|o| same(&o.pair_id, &o.event_key))
                .map(|o| i128::from(o.cost.micros().max(0)))
                .sum();
            let reserved: i128 = self
                .reservations
                .values()
                .filter(|r| same(&r.pair_id, &r.event_key))
                .map(|r| i128::from(r.total.micros()))
                .sum();
            clamp_cash(held + reserved)
        };
        let pair_used = used(&|pair, _| pair == &*p.pair_id);
        let event_used = used(&|_, event| event == &*p.event_key);
        Ok(Room {
            size_cap,
            bankroll,
            spendable,
            available,
            reserve,
            reserved,
            pair_used,
            event_used,
        })
    }

    fn costs(
        &self,
        p: &TradeProposal,
        qty: Quantity,
    ) -> Result<([LegReservation; 2], Cash), Refusal> {
        let overflow = || Refusal::InvalidProposal {
            detail: "leg cost overflows".into(),
        };
        let mut legs = [LegReservation {
            venue: Venue::Kalshi,
            cost: Cash::ZERO,
        }; 2];
        let mut total = Cash::ZERO;
        for (slot, leg) in legs.iter_mut().zip(&p.legs) {
            let cost = p.leg_cost(leg, qty).ok_or_else(overflow)?;
            *slot = LegReservation {
                venue: leg.venue,
                cost,
            };
            total = total.checked_add(cost).ok_or_else(overflow)?;
        }
        Ok((legs, total))
    }

    /// The first limit `qty` breaks, in the order an operator reads them.
    fn fits(&self, p: &TradeProposal, room: &Room, qty: Quantity) -> Result<(), Refusal> {
        let (legs, total) = self.costs(p, qty)?;
        if total > room.size_cap {
            return Err(Refusal::TradeSizeCap {
                needed: total,
                cap: room.size_cap,
                bankroll: room.bankroll,
                fraction: self.limits.max_trade_fraction,
            });
        }
        for leg in &legs {
            let spendable = *room.spendable.get(leg.venue);
            if leg.cost > spendable {
                return Err(Refusal::InsufficientBalance {
                    venue: leg.venue,
                    needed: leg.cost,
                    spendable,
                    available: *room.available.get(leg.venue),
                    reserve: *room.reserve.get(leg.venue),
                    reserved: *room.reserved.get(leg.venue),
                });
            }
        }
        let within = |used: Cash, limit: Cash| {
            i128::from(used.micros()) + i128::from(total.micros()) <= i128::from(limit.micros())
        };
        if !within(room.pair_used, self.limits.max_exposure_per_pair) {
            return Err(Refusal::PairExposure {
                pair_id: p.pair_id.to_string(),
                current: room.pair_used,
                needed: total,
                limit: self.limits.max_exposure_per_pair,
            });
        }
        if !within(room.event_used, self.limits.max_exposure_per_event) {
            return Err(Refusal::EventExposure {
                event_key: p.event_key.to_string(),
                current: room.event_used,
                needed: total,
                limit: self.limits.max_exposure_per_event,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polymarket_lots() {
        let lot = |p: &str| polymarket_lot(Price::parse(p).unwrap());
        assert_eq!(lot("0.56"), Quantity::parse("0.25").unwrap());
        assert_eq!(lot("0.5"), Quantity::parse("0.02").unwrap());
        assert_eq!(lot("0.01"), Quantity::parse("1").unwrap());
        assert_eq!(lot("0.123"), Quantity::parse("10").unwrap());
        assert_eq!(lot("0"), Quantity::parse("0.01").unwrap());
        assert_eq!(lot("1"), Quantity::parse("0.01").unwrap());
        // The amount at the lot is whole cents.
        for micros in (0..=1_000_000).step_by(1_000) {
            let p = Price::from_micros(micros).unwrap();
            let amount = p
                .notional(polymarket_lot(p))
                .to_cash(Rounding::Exact)
                .unwrap();
            assert_eq!(amount.micros() % 10_000, 0, "price {p}");
        }
    }

    #[test]
    fn leg_cost_bounds_walk_and_limit() {
        let p = TradeProposal {
            pair_id: "p".into(),
            event_key: "e".into(),
            quantity: Quantity::parse("10").unwrap(),
            lot: Quantity::parse("1").unwrap(),
            legs: [
                LegProposal {
                    venue: Venue::Kalshi,
                    limit_price: Price::parse("0.50").unwrap(),
                    cost: Cash::parse("4.80").unwrap(),
                    fees: Cash::parse("0.175").unwrap(),
                },
                LegProposal {
                    venue: Venue::Polymarket,
                    limit_price: Price::parse("0.40").unwrap(),
                    // Walked above the limit (hand-built data): the walk wins.
                    cost: Cash::parse("4.10").unwrap(),
                    fees: Cash::ZERO,
                },
            ],
            days_to_resolution: 3,
            venue_min_size: Quantity::ZERO,
        };
        let q = Quantity::parse("10").unwrap();
        assert_eq!(
            p.leg_cost(&p.legs[0], q),
            Some(Cash::parse("5.18").unwrap())
        );
        assert_eq!(
            p.leg_cost(&p.legs[1], q),
            Some(Cash::parse("4.10").unwrap())
        );
        let half = Quantity::parse("5").unwrap();
        assert_eq!(
            p.leg_cost(&p.legs[0], half),
            Some(Cash::parse("2.59").unwrap())
        );
    }
}
