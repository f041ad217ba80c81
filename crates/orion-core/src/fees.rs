//! The venues' trading fee formulas, computed exactly and rounded up.
//!
//! * Kalshi (protocols/kalshi.md §8): taker fee `0.07 × C × P × (1 − P) × M`,
//!   maker fee `0.0175 × C × P × (1 − P) × M` where the series' `fee_type`
//!   charges makers; the fee of one fill is rounded **up** to $0.0001.
//! * Polymarket (protocols/polymarket.md §11): takers pay
//!   `C × rate × (P × (1 − P))^exponent` with `rate`/`exponent` from the
//!   market's fee details; makers pay nothing. The published rounding is
//!   uncertain (4 or 5 decimals), so Orion rounds the fee **up** to $0.0001,
//!   which can only overstate it.
//!
//! A market whose fee schedule is unknown has no [`FeeSchedule`]: callers
//! must not trade it (fail closed).

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::decimal::{Rounding, div_round, parse_scaled};
use crate::money::{Cash, Price, Quantity};

/// A non-negative decimal rate or multiplier in parts per million (1.0 = 1_000_000).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Rate(u64);

impl Rate {
    pub const ZERO: Rate = Rate(0);
    pub const ONE: Rate = Rate(1_000_000);

    pub const fn from_ppm(ppm: u64) -> Rate {
        Rate(ppm)
    }

    pub const fn ppm(self) -> u64 {
        self.0
    }

    /// Parses "0.07", "1", "0.0175" exactly; at most six decimals; at most 1000.
    pub fn parse(text: &str) -> Result<Rate, FeeError> {
        let units = parse_scaled(text, 6, Rounding::Exact).map_err(|e| FeeError::BadRate {
            text: text.chars().take(32).collect(),
            reason: e.to_string(),
        })?;
        if !(0..=1_000_000_000).contains(&units) {
            return Err(FeeError::BadRate {
                text: text.chars().take(32).collect(),
                reason: "must be within 0..=1000".into(),
            });
        }
        // In 0..=1e9, checked just above.
        Ok(Rate(units as u64))
    }
}

/// Kalshi's series `fee_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KalshiFeeType {
    /// Takers pay the quadratic fee; makers pay nothing.
    Quadratic,
    /// Takers and makers pay (makers at a quarter of the taker rate).
    QuadraticWithMakerFees,
}

impl KalshiFeeType {
    /// Maps the venue's `fee_type` string. `flat` and anything unknown are
    /// refused: their formula is not published, so such markets are not traded.
    pub fn parse(text: &str) -> Result<KalshiFeeType, FeeError> {
        match text {
            "quadratic" => Ok(KalshiFeeType::Quadratic),
            "quadratic_with_maker_fees" | "quadratic_with_combo_maker_fees" => {
                Ok(KalshiFeeType::QuadraticWithMakerFees)
            }
            other => Err(FeeError::UnsupportedFeeType(
                other.chars().take(48).collect(),
            )),
        }
    }
}

/// One market's fee schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FeeSchedule {
    Kalshi {
        fee_type: KalshiFeeType,
        multiplier: Rate,
    },
    Polymarket {
        rate: Rate,
        exponent: u8,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FeeError {
    #[error("fee type {0:?} has no published formula; the market is not traded")]
    UnsupportedFeeType(String),
    #[error("invalid fee rate {text:?}: {reason}")]
    BadRate { text: String, reason: String },
    #[error("fee exponent {0} outside 0..=4")]
    BadExponent(u8),
    #[error("fee computation overflowed (size too large)")]
    Overflow,
}

/// Kalshi's taker and maker coefficients, in ppm.
const KALSHI_TAKER_PPM: u128 = 70_000;
const KALSHI_MAKER_PPM: u128 = 17_500;
/// Fees are rounded up to $0.0001 = 100 micro-dollars.
const FEE_INCREMENT_MICROS: i128 = 100;

impl FeeSchedule {
    /// The fee a taker pays for `qty` contracts filled at `price` (one fill).
    pub fn taker_fee(&self, qty: Quantity, price: Price) -> Result<Cash, FeeError> {
        match *self {
            FeeSchedule::Kalshi { multiplier, .. } => {
                kalshi_fee(KALSHI_TAKER_PPM, multiplier, qty, price)
            }
            FeeSchedule::Polymarket { rate, exponent } => {
                polymarket_fee(rate, exponent, qty, price)
            }
        }
    }

    /// The fee a maker pays.
    pub fn maker_fee(&self, qty: Quantity, price: Price) -> Result<Cash, FeeError> {
        match *self {
            FeeSchedule::Kalshi {
                fee_type: KalshiFeeType::QuadraticWithMakerFees,
                multiplier,
            } => kalshi_fee(KALSHI_MAKER_PPM, multiplier, qty, price),
            FeeSchedule::Kalshi { .. } | FeeSchedule::Polymarket { .. } => Ok(Cash::ZERO),
        }
    }

    /// The unrounded taker fee of one contract at `price`, in atto-dollars
    /// (10^-18), rounded up at that precision: for comparing marginal edges,
    /// where the per-fill $0.0001 rounding does not apply.
    pub fn taker_fee_per_contract_atto(&self, price: Price) -> Result<u128, FeeError> {
        let pq = u128::from(price.micros()) * u128::from(price.complement().micros()); // 1e-12
        match *self {
            FeeSchedule::Kalshi { multiplier, .. } => {
                // 1e-12 × coefficient 1e-6 × multiplier 1e-6 = 1e-24 → 1e-18.
                let exact = pq
                    .checked_mul(KALSHI_TAKER_PPM)
                    .and_then(|v| v.checked_mul(u128::from(multiplier.ppm())))
                    .ok_or(FeeError::Overflow)?;
                Ok(exact.div_ceil(1_000_000))
            }
            FeeSchedule::Polymarket { rate, exponent } => {
                polymarket_per_contract_atto(rate, exponent, pq)
            }
        }
    }

    /// Checks the schedule's parameters.
    pub fn validate(&self) -> Result<(), FeeError> {
        match *self {
            FeeSchedule::Polymarket { exponent, .. } if exponent > 4 => {
                Err(FeeError::BadExponent(exponent))
            }
            _ => Ok(()),
        }
    }
}

/// `coefficient × C × P × (1 − P) × M`, rounded up to $0.0001.
fn kalshi_fee(
    coefficient_ppm: u128,
    multiplier: Rate,
    qty: Quantity,
    price: Price,
) -> Result<Cash, FeeError> {
    let p = u128::from(price.micros());
    let q = u128::from(price.complement().micros());
    // Scale: qty 1e-6 × p 1e-6 × q 1e-6 × coefficient 1e-6 × multiplier 1e-6 = 1e-30 dollars.
    let exact = u128::from(qty.micros())
        .checked_mul(p * q)
        .and_then(|v| v.checked_mul(coefficient_ppm))
        .and_then(|v| v.checked_mul(u128::from(multiplier.ppm())))
        .ok_or(FeeError::Overflow)?;
    round_up_fee(exact, 30)
}

/// `C × rate × (P × (1 − P))^exponent`, rounded up to $0.0001.
fn polymarket_fee(rate: Rate, exponent: u8, qty: Quantity, price: Price) -> Result<Cash, FeeError> {
    if exponent > 4 {
        return Err(FeeError::BadExponent(exponent));
    }
    let pq = u128::from(price.micros()) * u128::from(price.complement().micros()); // 1e-12
    let per_contract = polymarket_per_contract_atto(rate, exponent, pq)?;
    // × quantity (1e-6) → 1e-24 dollars.
    let exact = per_contract
        .checked_mul(u128::from(qty.micros()))
        .ok_or(FeeError::Overflow)?;
    round_up_fee(exact, 24)
}

/// Per-contract fee in atto-dollars (1e-18), rounded up at each step: the
/// rounding can only overstate the fee, by far less than the final $0.0001.
fn polymarket_per_contract_atto(rate: Rate, exponent: u8, pq: u128) -> Result<u128, FeeError> {
    if exponent > 4 {
        return Err(FeeError::BadExponent(exponent));
    }
    let mut per_contract: u128 = 1_000_000_000_000_000_000; // 1.0 at 1e-18
    for _ in 0..exponent {
        per_contract = ceil_div(
            per_contract.checked_mul(pq).ok_or(FeeError::Overflow)?,
            1_000_000_000_000,
        );
    }
    Ok(ceil_div(
        per_contract
            .checked_mul(u128::from(rate.ppm()))
            .ok_or(FeeError::Overflow)?,
        1_000_000,
    ))
}

fn ceil_div(n: u128, d: u128) -> u128 {
    n.div_ceil(d)
}

/// Rounds an exact amount at scale `10^-scale` dollars up to $0.0001.
fn round_up_fee(exact: u128, scale: u32) -> Result<Cash, FeeError> {
    let per_micro = 10u128.pow(scale - 6);
    let micros = i128::try_from(exact.div_ceil(per_micro)).map_err(|_| FeeError::Overflow)?;
    let rounded = div_round(micros, FEE_INCREMENT_MICROS, Rounding::Up)
        .ok_or(FeeError::Overflow)?
        * FEE_INCREMENT_MICROS;
    i64::try_from(rounded)
        .map(Cash::from_micros)
        .map_err(|_| FeeError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Price {
        Price::parse(s).unwrap()
    }
    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap()
    }
    fn cash(s: &str) -> Cash {
        Cash::parse(s).unwrap()
    }

    const KALSHI: FeeSchedule = FeeSchedule::Kalshi {
        fee_type: KalshiFeeType::Quadratic,
        multiplier: Rate::ONE,
    };

    #[test]
    fn kalshi_documented_examples() {
        // Kalshi's fee-rounding page: 1 contract at $0.055 -> model fee 0.00363825 -> $0.0037.
        assert_eq!(KALSHI.taker_fee(q("1"), p("0.055")), Ok(cash("0.0037")));
        // 10 @ $0.50: 0.07 × 10 × 0.25 = 0.175 exactly.
        assert_eq!(KALSHI.taker_fee(q("10"), p("0.50")), Ok(cash("0.175")));
        // 100 @ $0.01: 0.07 × 100 × 0.0099 = 0.0693.
        assert_eq!(KALSHI.taker_fee(q("100"), p("0.01")), Ok(cash("0.0693")));
        assert_eq!(KALSHI.maker_fee(q("100"), p("0.50")), Ok(Cash::ZERO));
        let with_makers = FeeSchedule::Kalshi {
            fee_type: KalshiFeeType::QuadraticWithMakerFees,
            multiplier: Rate::ONE,
        };
        // 0.0175 × 100 × 0.25 = 0.4375.
        assert_eq!(
            with_makers.maker_fee(q("100"), p("0.50")),
            Ok(cash("0.4375"))
        );
        let half = FeeSchedule::Kalshi {
            fee_type: KalshiFeeType::Quadratic,
            multiplier: Rate::parse("0.5").unwrap(),
        };
        assert_eq!(half.taker_fee(q("10"), p("0.50")), Ok(cash("0.0875")));
    }

    #[test]
    fn kalshi_fee_is_zero_at_the_edges_and_symmetric() {
        assert_eq!(KALSHI.taker_fee(q("10"), Price::ONE), Ok(Cash::ZERO));
        assert_eq!(KALSHI.taker_fee(q("10"), Price::ZERO), Ok(Cash::ZERO));
        for cents in 1..100u32 {
            let price = Price::from_micros(cents * 10_000).unwrap();
            assert_eq!(
                KALSHI.taker_fee(q("7"), price),
                KALSHI.taker_fee(q("7"), price.complement())
            );
        }
    }

    #[test]
    fn polymarket_official_test_values() {
        // TS client tests: rate 0.25, exponent 2, 100 shares.
        let s = FeeSchedule::Polymarket {
            rate: Rate::parse("0.25").unwrap(),
            exponent: 2,
        };
        assert_eq!(s.taker_fee(q("100"), p("0.5")), Ok(cash("1.5625")));
        assert_eq!(s.taker_fee(q("100"), p("0.3")), Ok(cash("1.1025")));
        assert_eq!(s.taker_fee(q("100"), p("0.1")), Ok(cash("0.2025")));
        // 0.05640625 rounds up to 0.0565; 0.00245025 to 0.0025.
        assert_eq!(s.taker_fee(q("100"), p("0.05")), Ok(cash("0.0565")));
        assert_eq!(s.taker_fee(q("100"), p("0.01")), Ok(cash("0.0025")));
        assert_eq!(s.maker_fee(q("100"), p("0.5")), Ok(Cash::ZERO));
        // The current linear form: rate 0.04, exponent 1: 10 × 0.04 × 0.24 = 0.096.
        let linear = FeeSchedule::Polymarket {
            rate: Rate::parse("0.04").unwrap(),
            exponent: 1,
        };
        assert_eq!(linear.taker_fee(q("10"), p("0.6")), Ok(cash("0.096")));
    }

    #[test]
    fn per_contract_rates_are_exact() {
        // 0.07 × 0.055 × 0.945 = 0.00363825.
        assert_eq!(
            KALSHI.taker_fee_per_contract_atto(p("0.055")),
            Ok(3_638_250_000_000_000)
        );
        let s = FeeSchedule::Polymarket {
            rate: Rate::parse("0.25").unwrap(),
            exponent: 2,
        };
        // 0.25 × 0.0025^... : p = 0.5 → 0.25 × 0.0625 = 0.015625.
        assert_eq!(
            s.taker_fee_per_contract_atto(p("0.5")),
            Ok(15_625_000_000_000_000)
        );
    }

    #[test]
    fn unknown_fee_types_fail_closed() {
        assert!(KalshiFeeType::parse("flat").is_err());
        assert!(KalshiFeeType::parse("").is_err());
        assert_eq!(
            KalshiFeeType::parse("quadratic"),
            Ok(KalshiFeeType::Quadratic)
        );
        assert!(Rate::parse("-0.1").is_err());
        assert!(Rate::parse("0.0000001").is_err());
        let bad = FeeSchedule::Polymarket {
            rate: Rate::ONE,
            exponent: 9,
        };
        assert!(bad.taker_fee(q("1"), p("0.5")).is_err());
    }

    #[test]
    fn huge_sizes_are_errors_not_panics() {
        assert_eq!(
            FeeSchedule::Kalshi {
                fee_type: KalshiFeeType::Quadratic,
                multiplier: Rate::from_ppm(1_000_000_000)
            }
            .taker_fee(Quantity::MAX, p("0.5")),
            Err(FeeError::Overflow)
        );
    }
}
