//! Fixed-point money: [`Price`], [`Quantity`] and [`Cash`].
//!
//! All three count micro-units (10^-6): a price in micro-dollars per contract,
//! a quantity in micro-contracts (Polymarket's 1e-6 share units; Kalshi's 0.01
//! contract steps are multiples), cash in signed micro-dollars (1e-6 USD, the
//! unit of Polymarket's collateral amounts and below Kalshi's sub-penny fees).
//! A price times a quantity is exact in pico-dollars ([`Notional`]), and is
//! turned into [`Cash`] only through an explicit [`Rounding`].

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::decimal::{DecimalError, Rounding, div_round, format_scaled, parse_scaled};

/// Micro-units in one whole unit.
pub const MICROS_PER_UNIT: i64 = 1_000_000;
const SCALE: u32 = 6;

/// A money value could not be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MoneyError {
    #[error("{what} {text:?}: {source}")]
    Parse {
        what: &'static str,
        text: String,
        #[source]
        source: DecimalError,
    },
    #[error("{what} {value} is outside {min}..={max}")]
    OutOfRange {
        what: &'static str,
        value: String,
        min: String,
        max: String,
    },
    #[error("{what} {value} is not a multiple of {step}")]
    OffGrid {
        what: &'static str,
        value: String,
        step: String,
    },
    #[error("arithmetic overflow in {0}")]
    Overflow(&'static str),
}

fn parse_units(
    what: &'static str,
    text: &str,
    scale: u32,
    rounding: Rounding,
) -> Result<i128, MoneyError> {
    parse_scaled(text, scale, rounding).map_err(|source| MoneyError::Parse {
        what,
        // Bound what an error can carry: input may be hostile.
        text: text.chars().take(64).collect(),
        source,
    })
}

// ---------------------------------------------------------------- Price

/// The price of one binary contract, in micro-dollars, within $0..=$1.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Price(u32);

impl Price {
    pub const ZERO: Price = Price(0);
    pub const ONE: Price = Price(1_000_000);
    /// One micro-dollar: the finest price step Orion represents.
    pub const MICRO: Price = Price(1);

    /// A price from micro-dollars; refuses anything above $1.
    pub const fn from_micros(micros: u32) -> Result<Price, MoneyError> {
        if micros > 1_000_000 {
            return Err(MoneyError::Overflow("price above $1"));
        }
        Ok(Price(micros))
    }

    /// Builds a price from micro-dollars known to be in range at compile time
    /// or by construction. Values above $1 are clamped to $1.
    pub const fn from_micros_clamped(micros: u32) -> Price {
        if micros > 1_000_000 {
            Price(1_000_000)
        } else {
            Price(micros)
        }
    }

    pub const fn micros(self) -> u32 {
        self.0
    }

    /// `1 - self`: the price of the other outcome of a binary market.
    pub const fn complement(self) -> Price {
        Price(1_000_000 - self.0)
    }

    /// Parses a dollar string ("0.56", "0.5600", "0.0550") exactly; more than
    /// six significant decimals, negatives and values above 1 are refused.
    pub fn parse(text: &str) -> Result<Price, MoneyError> {
        Self::parse_rounded(text, Rounding::Exact)
    }

    /// Parses a dollar string, rounding extra decimals by `rounding`.
    pub fn parse_rounded(text: &str, rounding: Rounding) -> Result<Price, MoneyError> {
        let units = parse_units("price", text, SCALE, rounding)?;
        if !(0..=1_000_000).contains(&units) {
            return Err(MoneyError::OutOfRange {
                what: "price",
                value: text.chars().take(64).collect(),
                min: "0".into(),
                max: "1".into(),
            });
        }
        // In 0..=1_000_000, checked just above.
        Ok(Price(units as u32))
    }

    /// Formats with at least `min_decimals` places, more only when needed.
    pub fn format(self, min_decimals: u32) -> String {
        format_scaled(i128::from(self.0), SCALE, min_decimals.min(SCALE))
    }

    /// Kalshi's `FixedPointDollars` request form: four decimals ("0.5600"),
    /// six when the price is finer than $0.0001.
    pub fn to_kalshi_dollars(self) -> String {
        self.format(4)
    }

    pub fn checked_add(self, other: Price) -> Option<Price> {
        let sum = self.0.checked_add(other.0)?;
        (sum <= 1_000_000).then_some(Price(sum))
    }

    pub fn checked_sub(self, other: Price) -> Option<Price> {
        self.0.checked_sub(other.0).map(Price)
    }

    /// `self + other`, clamped to $1.
    pub fn saturating_add(self, other: Price) -> Price {
        Price((self.0.saturating_add(other.0)).min(1_000_000))
    }

    /// `self - other`, clamped to $0.
    pub fn saturating_sub(self, other: Price) -> Price {
        Price(self.0.saturating_sub(other.0))
    }

    /// The exact cost of `qty` contracts at this price.
    pub fn notional(self, qty: Quantity) -> Notional {
        Notional(i128::from(self.0) * i128::from(qty.0))
    }

    /// Rounds down (or up) onto a multiple of `step` micro-dollars.
    pub fn round_to_step(self, step: u32, rounding: Rounding) -> Option<Price> {
        if step == 0 {
            return None;
        }
        let steps = div_round(i128::from(self.0), i128::from(step), rounding)?;
        let micros = u32::try_from(steps.checked_mul(i128::from(step))?).ok()?;
        Price::from_micros(micros).ok()
    }
}

impl TryFrom<u32> for Price {
    type Error = MoneyError;
    fn try_from(micros: u32) -> Result<Self, Self::Error> {
        Price::from_micros(micros)
    }
}

impl From<Price> for u32 {
    fn from(p: Price) -> u32 {
        p.0
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format(2))
    }
}

impl fmt::Debug for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${}", self.format(2))
    }
}

// ---------------------------------------------------------------- Quantity

/// A non-negative number of contracts (or shares), in micro-contracts.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Quantity(u64);

impl Quantity {
    pub const ZERO: Quantity = Quantity(0);
    /// The most any single book level or order may hold: 10^12 contracts.
    /// Bounding it keeps every product with a price inside i128 with room to sum.
    pub const MAX: Quantity = Quantity(1_000_000_000_000 * 1_000_000);

    pub const fn from_micros(micros: u64) -> Quantity {
        Quantity(micros)
    }

    /// Whole contracts.
    pub const fn from_contracts(contracts: u64) -> Option<Quantity> {
        match contracts.checked_mul(1_000_000) {
            Some(m) => Some(Quantity(m)),
            None => None,
        }
    }

    /// Hundredths of a contract (Kalshi's count step, Polymarket's lot).
    pub const fn from_centis(centis: u64) -> Option<Quantity> {
        match centis.checked_mul(10_000) {
            Some(m) => Some(Quantity(m)),
            None => None,
        }
    }

    pub const fn micros(self) -> u64 {
        self.0
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Parses a count such as "10.00", "21.04" or "10" exactly.
    pub fn parse(text: &str) -> Result<Quantity, MoneyError> {
        Self::parse_rounded(text, Rounding::Exact)
    }

    pub fn parse_rounded(text: &str, rounding: Rounding) -> Result<Quantity, MoneyError> {
        let units = parse_units("quantity", text, SCALE, rounding)?;
        if units < 0 || units > i128::from(Quantity::MAX.0) {
            return Err(MoneyError::OutOfRange {
                what: "quantity",
                value: text.chars().take(64).collect(),
                min: "0".into(),
                max: "1000000000000".into(),
            });
        }
        // In 0..=MAX, checked just above.
        Ok(Quantity(units as u64))
    }

    /// Formats with at least `min_decimals` places.
    pub fn format(self, min_decimals: u32) -> String {
        format_scaled(i128::from(self.0), SCALE, min_decimals.min(SCALE))
    }

    /// Kalshi's `FixedPointCount` form, always two decimals ("10.00"). Refuses
    /// (returns `None`) a quantity finer than 0.01 contract.
    pub fn to_kalshi_fp(self) -> Option<String> {
        self.0.is_multiple_of(10_000).then(|| self.format(2))
    }

    /// Truncates (or rounds) to a multiple of `10^-decimals` contracts.
    pub fn round_to_decimals(self, decimals: u32, rounding: Rounding) -> Option<Quantity> {
        if decimals >= SCALE {
            return Some(self);
        }
        let step = 10i128.pow(SCALE - decimals);
        let steps = div_round(i128::from(self.0), step, rounding)?;
        u64::try_from(steps * step).ok().map(Quantity)
    }

    pub fn checked_add(self, other: Quantity) -> Option<Quantity> {
        let sum = self.0.checked_add(other.0)?;
        (sum <= Quantity::MAX.0).then_some(Quantity(sum))
    }

    pub fn checked_sub(self, other: Quantity) -> Option<Quantity> {
        self.0.checked_sub(other.0).map(Quantity)
    }

    pub fn saturating_sub(self, other: Quantity) -> Quantity {
        Quantity(self.0.saturating_sub(other.0))
    }

    pub fn min(self, other: Quantity) -> Quantity {
        Quantity(self.0.min(other.0))
    }

    /// Applies a signed change in micro-contracts; `None` if the result would
    /// be negative or exceed [`Quantity::MAX`].
    pub fn checked_add_signed(self, delta_micros: i64) -> Option<Quantity> {
        let value = self.0.checked_add_signed(delta_micros)?;
        (value <= Quantity::MAX.0).then_some(Quantity(value))
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format(0))
    }
}

impl fmt::Debug for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}c", self.format(0))
    }
}

// ---------------------------------------------------------------- Cash

/// A signed amount of money in micro-dollars (or 1e-6 collateral units).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cash(i64);

impl Cash {
    pub const ZERO: Cash = Cash(0);
    pub const MAX: Cash = Cash(i64::MAX);

    pub const fn from_micros(micros: i64) -> Cash {
        Cash(micros)
    }

    /// Whole cents, as Kalshi's legacy `balance` field reports.
    pub const fn from_cents(cents: i64) -> Option<Cash> {
        match cents.checked_mul(10_000) {
            Some(m) => Some(Cash(m)),
            None => None,
        }
    }

    pub const fn micros(self) -> i64 {
        self.0
    }

    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Parses a signed dollar amount exactly ("12.3400", "-0.017250").
    pub fn parse(text: &str) -> Result<Cash, MoneyError> {
        Self::parse_rounded(text, Rounding::Exact)
    }

    pub fn parse_rounded(text: &str, rounding: Rounding) -> Result<Cash, MoneyError> {
        let units = parse_units("cash", text, SCALE, rounding)?;
        i64::try_from(units)
            .map(Cash)
            .map_err(|_| MoneyError::Overflow("cash"))
    }

    /// Formats with at least `min_decimals` places.
    pub fn format(self, min_decimals: u32) -> String {
        format_scaled(i128::from(self.0), SCALE, min_decimals.min(SCALE))
    }

    /// Rounds to a multiple of `10^-decimals` dollars (2 for cents).
    pub fn round_to_decimals(self, decimals: u32, rounding: Rounding) -> Option<Cash> {
        if decimals >= SCALE {
            return Some(self);
        }
        let step = 10i128.pow(SCALE - decimals);
        let steps = div_round(i128::from(self.0), step, rounding)?;
        i64::try_from(steps * step).ok().map(Cash)
    }

    pub fn checked_add(self, other: Cash) -> Option<Cash> {
        self.0.checked_add(other.0).map(Cash)
    }

    pub fn checked_sub(self, other: Cash) -> Option<Cash> {
        self.0.checked_sub(other.0).map(Cash)
    }

    pub fn checked_neg(self) -> Option<Cash> {
        self.0.checked_neg().map(Cash)
    }

    pub fn saturating_add(self, other: Cash) -> Cash {
        Cash(self.0.saturating_add(other.0))
    }

    pub fn saturating_sub(self, other: Cash) -> Cash {
        Cash(self.0.saturating_sub(other.0))
    }

    /// `self * numerator / denominator`, rounded; for fractions of equity and
    /// bankroll given as exact ratios.
    pub fn mul_ratio(self, numerator: i64, denominator: i64, rounding: Rounding) -> Option<Cash> {
        if denominator <= 0 {
            return None;
        }
        let product = i128::from(self.0) * i128::from(numerator);
        let value = div_round(product, i128::from(denominator), rounding)?;
        i64::try_from(value).ok().map(Cash)
    }

    /// This amount as an exact notional, for comparisons with unrounded costs.
    pub fn to_notional(self) -> Notional {
        Notional(i128::from(self.0) * i128::from(MICROS_PER_UNIT))
    }
}

impl fmt::Display for Cash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format(2))
    }
}

impl fmt::Debug for Cash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${}", self.format(2))
    }
}

// ---------------------------------------------------------------- Notional

/// An exact money amount in pico-dollars (10^-12): a price times a quantity
/// without any rounding. Sums of notionals stay exact; converting to [`Cash`]
/// takes a [`Rounding`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Notional(i128);

impl Notional {
    pub const ZERO: Notional = Notional(0);

    pub const fn from_picos(picos: i128) -> Notional {
        Notional(picos)
    }

    pub const fn picos(self) -> i128 {
        self.0
    }

    pub fn checked_add(self, other: Notional) -> Option<Notional> {
        self.0.checked_add(other.0).map(Notional)
    }

    pub fn checked_sub(self, other: Notional) -> Option<Notional> {
        self.0.checked_sub(other.0).map(Notional)
    }

    /// Rounds to whole micro-dollars.
    pub fn to_cash(self, rounding: Rounding) -> Option<Cash> {
        let micros = div_round(self.0, i128::from(MICROS_PER_UNIT), rounding)?;
        i64::try_from(micros).ok().map(Cash)
    }

    /// The average price of `qty` contracts costing this much, rounded.
    pub fn per_contract(self, qty: Quantity, rounding: Rounding) -> Option<Price> {
        if qty.is_zero() {
            return None;
        }
        let micros = div_round(self.0, i128::from(qty.micros()), rounding)?;
        Price::from_micros(u32::try_from(micros).ok()?).ok()
    }
}

impl fmt::Debug for Notional {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${}", format_scaled(self.0, 12, 2))
    }
}

// ---------------------------------------------------------------- Fraction

/// A fraction in parts per million, within 0..=1 (limits "as fractions of
/// equity", reserve and size caps).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Fraction(u32);

impl Fraction {
    pub const ZERO: Fraction = Fraction(0);
    pub const ONE: Fraction = Fraction(1_000_000);

    pub const fn from_ppm(ppm: u32) -> Result<Fraction, MoneyError> {
        if ppm > 1_000_000 {
            return Err(MoneyError::Overflow("fraction above 1"));
        }
        Ok(Fraction(ppm))
    }

    pub const fn ppm(self) -> u32 {
        self.0
    }

    /// Parses "0.05" (five percent) exactly, within 0..=1.
    pub fn parse(text: &str) -> Result<Fraction, MoneyError> {
        let units = parse_units("fraction", text, SCALE, Rounding::Exact)?;
        if !(0..=1_000_000).contains(&units) {
            return Err(MoneyError::OutOfRange {
                what: "fraction",
                value: text.chars().take(64).collect(),
                min: "0".into(),
                max: "1".into(),
            });
        }
        // In 0..=1_000_000, checked just above.
        Ok(Fraction(units as u32))
    }

    /// `amount * self`, rounded.
    pub fn of(self, amount: Cash, rounding: Rounding) -> Option<Cash> {
        amount.mul_ratio(i64::from(self.0), MICROS_PER_UNIT, rounding)
    }

    pub fn format(self) -> String {
        format_scaled(i128::from(self.0), SCALE, 2)
    }
}

impl TryFrom<u32> for Fraction {
    type Error = MoneyError;
    fn try_from(ppm: u32) -> Result<Self, Self::Error> {
        Fraction::from_ppm(ppm)
    }
}

impl From<Fraction> for u32 {
    fn from(f: Fraction) -> u32 {
        f.0
    }
}

impl fmt::Debug for Fraction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.format())
    }
}

impl fmt::Display for Fraction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format())
    }
}

// ---------------------------------------------------------------- Tick rules

/// Polymarket's per-market minimum tick sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TickSize {
    #[serde(rename = "0.1")]
    Tenth,
    #[serde(rename = "0.01")]
    Hundredth,
    #[serde(rename = "0.005")]
    HalfCent,
    #[serde(rename = "0.0025")]
    QuarterCent,
    #[serde(rename = "0.001")]
    Thousandth,
    #[serde(rename = "0.0001")]
    TenThousandth,
}

impl TickSize {
    pub const ALL: [TickSize; 6] = [
        TickSize::Tenth,
        TickSize::Hundredth,
        TickSize::HalfCent,
        TickSize::QuarterCent,
        TickSize::Thousandth,
        TickSize::TenThousandth,
    ];

    /// The tick in micro-dollars.
    pub const fn micros(self) -> u32 {
        match self {
            TickSize::Tenth => 100_000,
            TickSize::Hundredth => 10_000,
            TickSize::HalfCent => 5_000,
            TickSize::QuarterCent => 2_500,
            TickSize::Thousandth => 1_000,
            TickSize::TenThousandth => 100,
        }
    }

    /// Decimals of a price at this tick (Polymarket's rounding table).
    pub const fn price_decimals(self) -> u32 {
        match self {
            TickSize::Tenth => 1,
            TickSize::Hundredth => 2,
            TickSize::HalfCent | TickSize::Thousandth => 3,
            TickSize::QuarterCent | TickSize::TenThousandth => 4,
        }
    }

    /// Decimals of a size (shares): always 2.
    pub const fn size_decimals(self) -> u32 {
        2
    }

    /// Decimals of a collateral amount (price x size).
    pub const fn amount_decimals(self) -> u32 {
        self.price_decimals() + 2
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TickSize::Tenth => "0.1",
            TickSize::Hundredth => "0.01",
            TickSize::HalfCent => "0.005",
            TickSize::QuarterCent => "0.0025",
            TickSize::Thousandth => "0.001",
            TickSize::TenThousandth => "0.0001",
        }
    }

    /// Parses a tick as the venue writes it ("0.01", "0.010", "0.0025").
    pub fn parse(text: &str) -> Result<TickSize, MoneyError> {
        let price = Price::parse(text)?;
        TickSize::ALL
            .into_iter()
            .find(|t| t.micros() == price.micros())
            .ok_or_else(|| MoneyError::OffGrid {
                what: "tick size",
                value: text.chars().take(64).collect(),
                step: "one of 0.1, 0.01, 0.005, 0.0025, 0.001, 0.0001".into(),
            })
    }

    /// Whether `price` is a valid limit price at this tick: a multiple of the
    /// tick within `tick..=1-tick`.
    pub fn is_valid_price(self, price: Price) -> bool {
        let tick = self.micros();
        price.micros().is_multiple_of(tick)
            && price.micros() >= tick
            && price.micros() <= 1_000_000 - tick
    }

    /// The whole price grid for this tick.
    pub fn grid(self) -> PriceGrid {
        let tick = self.micros();
        PriceGrid::uniform(tick)
    }
}

impl fmt::Display for TickSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One band of a price grid: prices `start..=end` in steps of `step`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PriceBand {
    pub start: Price,
    pub end: Price,
    pub step: u32,
}

/// The set of valid order prices of a market: Kalshi's `price_ranges`
/// (`linear_cent`, `tapered_deci_cent`, `deci_cent`) or a Polymarket tick.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PriceGrid {
    bands: Vec<PriceBand>,
}

impl PriceGrid {
    /// `step..=1-step` in steps of `step` micro-dollars.
    pub fn uniform(step: u32) -> PriceGrid {
        PriceGrid {
            bands: vec![PriceBand {
                start: Price::from_micros_clamped(step),
                end: Price::ONE.saturating_sub(Price::from_micros_clamped(step)),
                step,
            }],
        }
    }

    /// Kalshi's `linear_cent`: $0.01..=$0.99 by cents.
    pub fn kalshi_linear_cent() -> PriceGrid {
        PriceGrid::uniform(10_000)
    }

    /// Kalshi's `deci_cent`: $0.001..=$0.999 by tenths of a cent.
    pub fn kalshi_deci_cent() -> PriceGrid {
        PriceGrid::uniform(1_000)
    }

    /// Kalshi's `tapered_deci_cent`: 0.001 steps below $0.10 and above $0.90,
    /// cents between.
    pub fn kalshi_tapered_deci_cent() -> PriceGrid {
        PriceGrid {
            bands: vec![
                PriceBand {
                    start: Price::from_micros_clamped(1_000),
                    end: Price::from_micros_clamped(100_000),
                    step: 1_000,
                },
                PriceBand {
                    start: Price::from_micros_clamped(100_000),
                    end: Price::from_micros_clamped(900_000),
                    step: 10_000,
                },
                PriceBand {
                    start: Price::from_micros_clamped(900_000),
                    end: Price::from_micros_clamped(999_000),
                    step: 1_000,
                },
            ],
        }
    }

    /// A grid from explicit bands (Kalshi `price_ranges`). Bands with a zero
    /// step, or whose start is above their end, are refused.
    pub fn from_bands(bands: Vec<PriceBand>) -> Result<PriceGrid, MoneyError> {
        for band in &bands {
            if band.step == 0 || band.start > band.end {
                return Err(MoneyError::OffGrid {
                    what: "price band",
                    value: format!("{}..={}", band.start, band.end),
                    step: band.step.to_string(),
                });
            }
        }
        Ok(PriceGrid { bands })
    }

    pub fn bands(&self) -> &[PriceBand] {
        &self.bands
    }

    pub fn contains(&self, price: Price) -> bool {
        self.bands.iter().any(|b| {
            price >= b.start
                && price <= b.end
                && (price.micros() - b.start.micros()).is_multiple_of(b.step)
        })
    }

    /// The nearest valid price at or below `price` (`Rounding::Down`) or at or
    /// above it (`Rounding::Up`); `None` if there is none on that side.
    pub fn snap(&self, price: Price, rounding: Rounding) -> Option<Price> {
        let mut best: Option<Price> = None;
        for band in &self.bands {
            let candidate = match rounding {
                Rounding::Up => {
                    if price > band.end {
                        continue;
                    }
                    if price <= band.start {
                        band.start
                    } else {
                        let offset = price.micros() - band.start.micros();
                        let steps = offset.div_ceil(band.step);
                        let p = band.start.micros() + steps * band.step;
                        if p > band.end.micros() {
                            continue;
                        }
                        Price::from_micros_clamped(p)
                    }
                }
                Rounding::Down => {
                    if price < band.start {
                        continue;
                    }
                    let capped = price.min(band.end);
                    let offset = capped.micros() - band.start.micros();
                    Price::from_micros_clamped(band.start.micros() + offset / band.step * band.step)
                }
                _ => return None,
            };
            best = match (best, rounding) {
                (None, _) => Some(candidate),
                (Some(b), Rounding::Up) => Some(b.min(candidate)),
                (Some(b), _) => Some(b.max(candidate)),
            };
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_parses_venue_forms() {
        assert_eq!(Price::parse("0.5600").map(Price::micros), Ok(560_000));
        assert_eq!(Price::parse("0.56").map(Price::micros), Ok(560_000));
        assert_eq!(Price::parse("0.0550").map(Price::micros), Ok(55_000));
        assert_eq!(Price::parse("0.123456").map(Price::micros), Ok(123_456));
        assert_eq!(Price::parse("1").map(Price::micros), Ok(1_000_000));
        assert_eq!(Price::parse("0").map(Price::micros), Ok(0));
        assert!(Price::parse("1.0001").is_err());
        assert!(Price::parse("-0.1").is_err());
        assert!(Price::parse("0.1234567").is_err());
        assert_eq!(
            Price::parse_rounded("0.1234567", Rounding::Down).map(Price::micros),
            Ok(123_456)
        );
        assert_eq!(
            Price::parse_rounded("0.1234561", Rounding::Up).map(Price::micros),
            Ok(123_457)
        );
    }

    #[test]
    fn price_formats_for_venues() {
        let p = Price::parse("0.56").unwrap();
        assert_eq!(p.to_kalshi_dollars(), "0.5600");
        assert_eq!(p.format(TickSize::Hundredth.price_decimals()), "0.56");
        assert_eq!(
            Price::parse("0.123456").unwrap().to_kalshi_dollars(),
            "0.123456"
        );
        assert_eq!(p.complement(), Price::parse("0.44").unwrap());
    }

    #[test]
    fn quantity_forms() {
        assert_eq!(
            Quantity::parse("10.00").map(Quantity::micros),
            Ok(10_000_000)
        );
        assert_eq!(
            Quantity::parse("21.04").map(Quantity::micros),
            Ok(21_040_000)
        );
        assert_eq!(
            Quantity::from_micros(21_040_000).to_kalshi_fp().as_deref(),
            Some("21.04")
        );
        assert_eq!(
            Quantity::from_micros(10_000_000).to_kalshi_fp().as_deref(),
            Some("10.00")
        );
        assert_eq!(Quantity::from_micros(10_000_001).to_kalshi_fp(), None);
        assert!(Quantity::parse("-1").is_err());
        assert_eq!(
            Quantity::from_micros(1_139_999).round_to_decimals(2, Rounding::TowardZero),
            Some(Quantity::from_micros(1_130_000))
        );
    }

    #[test]
    fn cash_forms_and_rounding() {
        assert_eq!(Cash::parse("-0.017250").map(Cash::micros), Ok(-17_250));
        let fee = Cash::from_micros(3_639);
        assert_eq!(
            fee.round_to_decimals(4, Rounding::Up),
            Some(Cash::from_micros(3_700))
        );
        assert_eq!(Cash::from_cents(518), Some(Cash::from_micros(5_180_000)));
        assert_eq!(
            Cash::from_micros(5_175_000).round_to_decimals(2, Rounding::Up),
            Some(Cash::from_micros(5_180_000))
        );
        assert_eq!(
            Cash::from_micros(-5_175_000).round_to_decimals(2, Rounding::Down),
            Some(Cash::from_micros(-5_180_000))
        );
        assert_eq!(
            Cash::from_micros(1_000_000).mul_ratio(1, 3, Rounding::Down),
            Some(Cash::from_micros(333_333))
        );
    }

    #[test]
    fn notional_is_exact() {
        let p = Price::parse("0.56").unwrap();
        let q = Quantity::parse("21.04").unwrap();
        let n = p.notional(q);
        assert_eq!(
            n.to_cash(Rounding::Exact),
            Some(Cash::from_micros(11_782_400))
        );
        let p3 = Price::parse("0.333333").unwrap();
        let n3 = p3.notional(Quantity::parse("0.5").unwrap());
        assert_eq!(n3.to_cash(Rounding::Exact), None);
        assert_eq!(n3.to_cash(Rounding::Up), Some(Cash::from_micros(166_667)));
        assert_eq!(n3.to_cash(Rounding::Down), Some(Cash::from_micros(166_666)));
    }

    #[test]
    fn fractions() {
        let f = Fraction::parse("0.05").unwrap();
        assert_eq!(f.ppm(), 50_000);
        assert_eq!(
            f.of(Cash::from_micros(1_000_000_000), Rounding::Down),
            Some(Cash::from_micros(50_000_000))
        );
        assert!(Fraction::parse("1.5").is_err());
        assert!(Fraction::parse("-0.1").is_err());
        assert_eq!(Fraction::parse("1").unwrap(), Fraction::ONE);
    }

    #[test]
    fn tick_sizes() {
        for t in TickSize::ALL {
            assert_eq!(TickSize::parse(t.as_str()), Ok(t));
            assert!(t.is_valid_price(Price::from_micros_clamped(t.micros())));
            assert!(!t.is_valid_price(Price::ZERO));
            assert!(!t.is_valid_price(Price::ONE));
        }
        assert!(TickSize::parse("0.02").is_err());
        assert!(TickSize::Hundredth.is_valid_price(Price::parse("0.56").unwrap()));
        assert!(!TickSize::Hundredth.is_valid_price(Price::parse("0.565").unwrap()));
        assert_eq!(TickSize::QuarterCent.amount_decimals(), 6);
    }

    #[test]
    fn kalshi_tapered_grid() {
        let g = PriceGrid::kalshi_tapered_deci_cent();
        assert!(g.contains(Price::parse("0.055").unwrap()));
        assert!(g.contains(Price::parse("0.56").unwrap()));
        assert!(!g.contains(Price::parse("0.565").unwrap()));
        assert!(g.contains(Price::parse("0.905").unwrap()));
        assert_eq!(
            g.snap(Price::parse("0.565").unwrap(), Rounding::Up),
            Some(Price::parse("0.57").unwrap())
        );
        assert_eq!(
            g.snap(Price::parse("0.565").unwrap(), Rounding::Down),
            Some(Price::parse("0.56").unwrap())
        );
        assert_eq!(g.snap(Price::parse("0.9995").unwrap(), Rounding::Up), None);
        assert_eq!(
            g.snap(Price::parse("0.0005").unwrap(), Rounding::Down),
            None
        );
    }
}
