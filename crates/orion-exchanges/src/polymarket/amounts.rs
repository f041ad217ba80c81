//! `makerAmount` / `takerAmount` from price and size, exactly per tick size
//! (protocols §4).
//!
//! Both collateral and outcome tokens have 6 decimals, the same scale as
//! orion-core's micro-units, so an amount is a `Price`/`Quantity`/`Cash`
//! micro count with no conversion. Everything is integer arithmetic: the
//! official Python client floors binary floats and gets some inputs wrong
//! (size 1.13 becomes 1.12); we follow the TS and Rust clients, which are
//! exact.

use orion_core::{Cash, Price, Quantity, Rounding, Side, TickSize};

use super::PolymarketError;

/// What the order gives and gets, in 10^-6 units of collateral or shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrderAmounts {
    pub maker_amount: u128,
    pub taker_amount: u128,
}

/// The input of a market-style order (TS `getMarketOrderRawAmounts`): a BUY
/// spends collateral, a SELL sells shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarketOrderAmount {
    Buy { spend: Cash },
    Sell { shares: Quantity },
}

impl MarketOrderAmount {
    pub fn side(&self) -> Side {
        match self {
            MarketOrderAmount::Buy { .. } => Side::Buy,
            MarketOrderAmount::Sell { .. } => Side::Sell,
        }
    }
}

const MICROS: u128 = 1_000_000;
/// Sizes and market amounts are cut to 2 decimals (RS `LOT_SIZE_SCALE`).
const LOT_DECIMALS: u32 = 2;

/// Refuses a price that is off the tick or outside `tick..=1-tick`: prices
/// are never rounded silently, a wrong one is a bug upstream.
fn check_price(price: Price, tick: TickSize) -> Result<(), PolymarketError> {
    if tick.is_valid_price(price) {
        Ok(())
    } else {
        Err(PolymarketError::invalid(
            "price",
            format!(
                "{} is not a multiple of the tick {tick} within {tick}..={}",
                price.format(0),
                Price::ONE
                    .saturating_sub(Price::from_micros_clamped(tick.micros()))
                    .format(0)
            ),
        ))
    }
}

/// Truncates shares to 2 decimals; zero after truncation is refused.
fn lot_shares(size: Quantity, field: &'static str) -> Result<u128, PolymarketError> {
    let cut = size
        .round_to_decimals(LOT_DECIMALS, Rounding::TowardZero)
        .ok_or_else(|| PolymarketError::invalid(field, "out of range"))?;
    if cut.is_zero() {
        return Err(PolymarketError::invalid(
            field,
            format!("{} is below the 0.01 lot", size.format(0)),
        ));
    }
    Ok(u128::from(cut.micros()))
}

/// `shares × price` in collateral micro-units. With a 2-decimal size and a
/// price on the tick (at most 4 decimals) the product has at most `tick dp +
/// 2` decimals, so it is exact; a remainder would mean a broken invariant and
/// is reported rather than rounded.
fn collateral(shares_micros: u128, price: Price) -> Result<u128, PolymarketError> {
    let product = shares_micros
        .checked_mul(u128::from(price.micros()))
        .ok_or_else(|| PolymarketError::invalid("size", "amount overflows"))?;
    if product % MICROS != 0 {
        return Err(PolymarketError::invalid(
            "price",
            "size × price is finer than 10^-6 (price not on a supported tick)",
        ));
    }
    Ok(product / MICROS)
}

/// Amounts of a limit order (GTC/GTD, and FOK/FAK priced by Orion):
/// BUY gives `size × price` collateral for `size` shares, SELL the reverse.
pub fn limit_order_amounts(
    side: Side,
    price: Price,
    size: Quantity,
    tick: TickSize,
) -> Result<OrderAmounts, PolymarketError> {
    check_price(price, tick)?;
    let shares = lot_shares(size, "size")?;
    let cash = collateral(shares, price)?;
    Ok(match side {
        Side::Buy => OrderAmounts {
            maker_amount: cash,
            taker_amount: shares,
        },
        Side::Sell => OrderAmounts {
            maker_amount: shares,
            taker_amount: cash,
        },
    })
}

/// Amounts of a market-style order (TS `getMarketOrderRawAmounts`).
///
/// BUY: spend (cut to 2 decimals) / price shares. If the quotient has more
/// than the tick's amount decimals, TS rounds it up at `amount dp + 4`
/// decimals and, if that still leaves too many decimals, truncates to `amount
/// dp`: so the result is the truncation unless decimals `dp+1 … dp+4` are all
/// nines, in which case it is the rounded-up value.
/// (With a price on a supported tick the quotient's denominator is below
/// 10^4, so it cannot come within 10^-(dp+4) of a `dp`-decimal value without
/// being one: the round-up branch is kept to mirror TS, not because it fires.)
/// SELL: shares (cut to 2 decimals) × price, which is always exact.
pub fn market_order_amounts(
    price: Price,
    amount: MarketOrderAmount,
    tick: TickSize,
) -> Result<OrderAmounts, PolymarketError> {
    check_price(price, tick)?;
    match amount {
        MarketOrderAmount::Sell { shares } => {
            let shares = lot_shares(shares, "amount")?;
            Ok(OrderAmounts {
                maker_amount: shares,
                taker_amount: collateral(shares, price)?,
            })
        }
        MarketOrderAmount::Buy { spend } => {
            if spend.is_negative() {
                return Err(PolymarketError::invalid(
                    "amount",
                    "a spend cannot be negative",
                ));
            }
            let cut = spend
                .round_to_decimals(LOT_DECIMALS, Rounding::TowardZero)
                .ok_or_else(|| PolymarketError::invalid("amount", "out of range"))?;
            // Non-negative, checked above.
            let spend_micros = cut.micros().unsigned_abs();
            if spend_micros == 0 {
                return Err(PolymarketError::invalid(
                    "amount",
                    format!("{} is below $0.01", spend.format(2)),
                ));
            }
            let spend_micros = u128::from(spend_micros);
            let price_micros = u128::from(price.micros());
            let dp = tick.amount_decimals(); // <= 6, the token scale
            let overflow = || PolymarketError::invalid("amount", "amount overflows");
            let scale = 10u128.pow(dp);
            // shares in units of 10^-dp = spend_micros × 10^dp / price_micros
            let numerator = spend_micros.checked_mul(scale).ok_or_else(overflow)?;
            let truncated = numerator / price_micros;
            let shares_at_dp = if numerator % price_micros == 0 {
                truncated
            } else {
                let fine_num = numerator.checked_mul(10_000).ok_or_else(overflow)?;
                let rounded_up = fine_num.div_ceil(price_micros);
                if rounded_up % 10_000 == 0 {
                    rounded_up / 10_000
                } else {
                    truncated
                }
            };
            let taker = shares_at_dp
                .checked_mul(10u128.pow(6 - dp))
                .ok_or_else(overflow)?;
            Ok(OrderAmounts {
                maker_amount: spend_micros,
                taker_amount: taker,
            })
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn p(s: &str) -> Price {
        Price::parse(s).unwrap()
    }
    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap()
    }

    #[test]
    fn limit_examples() {
        let a = limit_order_amounts(Side::Buy, p("0.56"), q("21.04"), TickSize::Hundredth).unwrap();
        assert_eq!((a.maker_amount, a.taker_amount), (11_782_400, 21_040_000));
        // Size is truncated to the 0.01 lot, never rounded up.
        let a = limit_order_amounts(Side::Sell, p("0.7"), q("12.8299"), TickSize::Tenth).unwrap();
        assert_eq!((a.maker_amount, a.taker_amount), (12_820_000, 8_974_000));
    }

    #[test]
    fn refuses_bad_prices_and_sizes() {
        for (price, tick) in [
            ("0.565", TickSize::Hundredth),
            ("0", TickSize::Hundredth),
            ("1", TickSize::Hundredth),
            ("0.995", TickSize::Hundredth),
            ("0.0001", TickSize::Thousandth),
            ("0.437", TickSize::HalfCent),
        ] {
            let err = limit_order_amounts(Side::Buy, p(price), q("1"), tick).unwrap_err();
            assert!(err.to_string().contains("price"), "{price}: {err}");
        }
        let err =
            limit_order_amounts(Side::Buy, p("0.5"), q("0.009"), TickSize::Hundredth).unwrap_err();
        assert!(err.to_string().contains("size"), "{err}");
        assert!(
            market_order_amounts(
                p("0.5"),
                MarketOrderAmount::Buy {
                    spend: Cash::from_micros(-1)
                },
                TickSize::Hundredth
            )
            .is_err()
        );
        assert!(
            market_order_amounts(
                p("0.5"),
                MarketOrderAmount::Buy {
                    spend: Cash::from_micros(9_999)
                },
                TickSize::Hundredth
            )
            .is_err()
        );
    }

    #[test]
    fn market_buy_truncates_the_quotient() {
        // 1 / 0.57 = 1.75438596…: truncation at the tick's 4 amount decimals.
        let a = market_order_amounts(
            p("0.57"),
            MarketOrderAmount::Buy {
                spend: Cash::from_micros(1_000_000),
            },
            TickSize::Hundredth,
        )
        .unwrap();
        assert_eq!((a.maker_amount, a.taker_amount), (1_000_000, 1_754_300));
        // 1 / 0.9999 = 1.00010001… at 6 decimals (tick 0.0001).
        let a = market_order_amounts(
            p("0.9999"),
            MarketOrderAmount::Buy {
                spend: Cash::from_micros(1_000_000),
            },
            TickSize::TenThousandth,
        )
        .unwrap();
        assert_eq!(a.taker_amount, 1_000_100);
        // The spend is cut to cents first: 1.009 → 1.00; 1.00 / 0.7 = 1.428571…
        let a = market_order_amounts(
            p("0.7"),
            MarketOrderAmount::Buy {
                spend: Cash::from_micros(1_009_000),
            },
            TickSize::Tenth,
        )
        .unwrap();
        assert_eq!((a.maker_amount, a.taker_amount), (1_000_000, 1_428_000));
        // An exact quotient is kept as is.
        let a = market_order_amounts(
            p("0.0043"),
            MarketOrderAmount::Buy {
                spend: Cash::from_micros(430_000),
            },
            TickSize::TenThousandth,
        )
        .unwrap();
        assert_eq!(a.taker_amount, 100_000_000);
    }

    #[test]
    fn market_sell_is_exact() {
        let a = market_order_amounts(
            p("0.56"),
            MarketOrderAmount::Sell {
                shares: q("100.009"),
            },
            TickSize::Hundredth,
        )
        .unwrap();
        assert_eq!((a.maker_amount, a.taker_amount), (100_000_000, 56_000_000));
    }
    /// A tick and a valid price on it (in micro-dollars).
    fn tick_and_price() -> impl proptest::strategy::Strategy<Value = (TickSize, u32)> {
        use proptest::strategy::{Just, Strategy};
        proptest::sample::select(TickSize::ALL.to_vec()).prop_flat_map(|tick| {
            let steps = 1_000_000 / tick.micros();
            (Just(tick), (1..steps).prop_map(move |n| n * tick.micros()))
        })
    }

    proptest::proptest! {
        /// Limit amounts: shares are the size cut to 0.01, and collateral is
        /// exactly shares × price, for every tick and every on-tick price.
        #[test]
        fn limit_amounts_are_exact((tick, price_micros) in tick_and_price(), size in 0u64..1_000_000_000_000u64, buy: bool) {
            let price = Price::from_micros(price_micros).unwrap();
            let side = if buy { Side::Buy } else { Side::Sell };
            let result = limit_order_amounts(side, price, Quantity::from_micros(size), tick);
            let shares = u128::from(size / 10_000 * 10_000);
            if shares == 0 {
                proptest::prop_assert!(result.is_err());
            } else {
                let a = result.unwrap();
                let (cash, got_shares) = match side {
                    Side::Buy => (a.maker_amount, a.taker_amount),
                    Side::Sell => (a.taker_amount, a.maker_amount),
                };
                proptest::prop_assert_eq!(got_shares, shares);
                proptest::prop_assert_eq!(cash * 1_000_000, shares * u128::from(price_micros));
                // At most the tick's amount decimals.
                proptest::prop_assert_eq!(cash % 10u128.pow(6 - tick.amount_decimals()), 0);
            }
        }

        /// Market BUY: the shares are the quotient truncated to the tick's
        /// amount decimals: never more than the spend buys, and one more unit
        /// would cost more than the spend.
        #[test]
        fn market_buy_never_overshoots((tick, price_micros) in tick_and_price(), spend in 10_000i64..10_000_000_000_000i64) {
            let price = Price::from_micros(price_micros).unwrap();
            let a = market_order_amounts(price, MarketOrderAmount::Buy { spend: Cash::from_micros(spend) }, tick).unwrap();
            let spent = u128::try_from(spend / 10_000 * 10_000).unwrap();
            proptest::prop_assert_eq!(a.maker_amount, spent);
            let unit = 10u128.pow(6 - tick.amount_decimals());
            let p = u128::from(price_micros);
            proptest::prop_assert_eq!(a.taker_amount % unit, 0);
            proptest::prop_assert!(a.taker_amount * p <= spent * 1_000_000);
            proptest::prop_assert!((a.taker_amount + unit) * p > spent * 1_000_000);
        }
    }
}
