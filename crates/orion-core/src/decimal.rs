//! Exact decimal text <-> scaled integer conversion, shared by every money type.
//!
//! Venue numbers arrive as decimal strings ("0.5600", "10.00", "-3.5"). They are
//! parsed digit by digit into an integer count of `10^-scale` units, never
//! through binary floating point, and anything the target scale cannot hold
//! exactly is either refused or rounded by an explicit [`Rounding`] mode.

use thiserror::Error;

/// How to round a value that falls between two representable units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rounding {
    /// Refuse any value that is not exactly representable.
    Exact,
    /// Toward negative infinity (floor). Proceeds are rounded this way.
    Down,
    /// Toward positive infinity (ceiling). Costs and fees are rounded this way.
    Up,
    /// Toward zero (truncation), as the venues' lot rules do for sizes.
    TowardZero,
    /// To the nearest unit, ties to even.
    HalfEven,
}

/// Why a decimal string could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecimalError {
    #[error("empty number")]
    Empty,
    #[error("number text longer than {max} characters")]
    TooLong { max: usize },
    #[error(
        "invalid character {found:?} at position {position} (expected digits with at most one '.')"
    )]
    InvalidCharacter { found: char, position: usize },
    #[error("no digits")]
    NoDigits,
    #[error("more than {max_decimals} decimal places")]
    TooManyDecimals { max_decimals: u32 },
    #[error("negative value where only non-negative is allowed")]
    Negative,
    #[error("value out of range")]
    Overflow,
}

/// The longest number text accepted. Longer input is hostile or broken, and
/// bounding it keeps parsing O(1) per field.
pub const MAX_DECIMAL_TEXT: usize = 48;

/// Divides `numerator` by a positive `denominator`, rounding as `mode` says.
/// Returns `None` for [`Rounding::Exact`] when the division leaves a remainder.
pub fn div_round(numerator: i128, denominator: i128, mode: Rounding) -> Option<i128> {
    debug_assert!(denominator > 0, "denominator must be positive");
    let quotient = numerator.div_euclid(denominator); // floor for positive denominators
    let remainder = numerator.rem_euclid(denominator);
    if remainder == 0 {
        return Some(quotient);
    }
    Some(match mode {
        Rounding::Exact => return None,
        Rounding::Down => quotient,
        Rounding::Up => quotient + 1,
        Rounding::TowardZero => {
            if numerator < 0 {
                quotient + 1
            } else {
                quotient
            }
        }
        Rounding::HalfEven => {
            let twice = remainder * 2;
            if twice > denominator || (twice == denominator && quotient.rem_euclid(2) == 1) {
                quotient + 1
            } else {
                quotient
            }
        }
    })
}

/// Parses decimal text into an integer number of `10^-scale` units.
///
/// Accepts an optional leading `-` (or `+`), digits, and an optional fraction.
/// No exponents, spaces, thousands separators or bare dots. Digits beyond
/// `scale` are accepted only when `rounding` allows (trailing zeros always are).
pub fn parse_scaled(text: &str, scale: u32, rounding: Rounding) -> Result<i128, DecimalError> {
    if text.is_empty() {
        return Err(DecimalError::Empty);
    }
    if text.len() > MAX_DECIMAL_TEXT {
        return Err(DecimalError::TooLong {
            max: MAX_DECIMAL_TEXT,
        });
    }
    let (negative, body_start) = match text.as_bytes()[0] {
        b'-' => (true, 1),
        b'+' => (false, 1),
        _ => (false, 0),
    };
    let mut magnitude: i128 = 0;
    let mut kept_fraction_digits: u32 = 0;
    let mut first_dropped: Option<u8> = None;
    let mut sticky = false; // a non-zero digit after the first dropped one
    let mut seen_dot = false;
    let mut int_digits = 0usize;
    let mut fraction_digits = 0usize;
    for (position, ch) in text.char_indices().skip(body_start) {
        match ch {
            '0'..='9' => {
                let digit = ch as u8 - b'0';
                if seen_dot {
                    fraction_digits += 1;
                    if kept_fraction_digits == scale {
                        match first_dropped {
                            None => first_dropped = Some(digit),
                            Some(_) => sticky |= digit != 0,
                        }
                        continue;
                    }
                    kept_fraction_digits += 1;
                } else {
                    int_digits += 1;
                }
                magnitude = magnitude
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(i128::from(digit)))
                    .ok_or(DecimalError::Overflow)?;
            }
            '.' if !seen_dot => seen_dot = true,
            other => {
                return Err(DecimalError::InvalidCharacter {
                    found: other,
                    position,
                });
            }
        }
    }
    if int_digits == 0 || (seen_dot && fraction_digits == 0) {
        return Err(DecimalError::NoDigits);
    }
    let unit = pow10(scale - kept_fraction_digits).ok_or(DecimalError::Overflow)?;
    magnitude = magnitude.checked_mul(unit).ok_or(DecimalError::Overflow)?;
    let inexact = first_dropped.is_some_and(|d| d != 0) || sticky;
    if inexact {
        let away_from_zero = match rounding {
            Rounding::Exact => {
                return Err(DecimalError::TooManyDecimals {
                    max_decimals: scale,
                });
            }
            Rounding::TowardZero => false,
            Rounding::Down => negative,
            Rounding::Up => !negative,
            Rounding::HalfEven => match first_dropped.unwrap_or(0) {
                d if d > 5 => true,
                5 => sticky || magnitude % 2 == 1,
                _ => false,
            },
        };
        if away_from_zero {
            magnitude = magnitude.checked_add(1).ok_or(DecimalError::Overflow)?;
        }
    }
    Ok(if negative { -magnitude } else { magnitude })
}

/// `10^exp` as an i128, if it fits.
pub fn pow10(exp: u32) -> Option<i128> {
    10i128.checked_pow(exp)
}

/// Formats `units` (a count of `10^-scale`) with between `min_decimals` and
/// `scale` decimal places: trailing zeros past `min_decimals` are dropped.
pub fn format_scaled(units: i128, scale: u32, min_decimals: u32) -> String {
    let unit = 10i128.pow(scale);
    let negative = units < 0;
    let magnitude = units.unsigned_abs();
    let unit_u = unit.unsigned_abs();
    let integer = magnitude / unit_u;
    let mut fraction = magnitude % unit_u;
    let mut decimals = scale;
    while decimals > min_decimals && fraction.is_multiple_of(10) {
        fraction /= 10;
        decimals -= 1;
    }
    let mut out = String::with_capacity(24);
    if negative && magnitude != 0 {
        out.push('-');
    }
    out.push_str(&integer.to_string());
    if decimals > 0 {
        out.push('.');
        let digits = fraction.to_string();
        for _ in digits.len()..decimals as usize {
            out.push('0');
        }
        out.push_str(&digits);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_forms() {
        assert_eq!(parse_scaled("0.5600", 6, Rounding::Exact), Ok(560_000));
        assert_eq!(parse_scaled("10", 2, Rounding::Exact), Ok(1_000));
        assert_eq!(parse_scaled("-3.5", 6, Rounding::Exact), Ok(-3_500_000));
        assert_eq!(parse_scaled("+1.25", 2, Rounding::Exact), Ok(125));
        assert_eq!(parse_scaled("0.1230000000", 4, Rounding::Exact), Ok(1_230));
    }

    #[test]
    fn refuses_malformed_text() {
        for bad in [
            "", ".", "-", "1.", ".5", "1e5", "1,000", " 1", "1 ", "1.2.3", "0x10", "--1", "١",
        ] {
            assert!(
                parse_scaled(bad, 6, Rounding::Exact).is_err(),
                "{bad:?} parsed"
            );
        }
        let long = "1".repeat(MAX_DECIMAL_TEXT + 1);
        assert_eq!(
            parse_scaled(&long, 0, Rounding::Exact),
            Err(DecimalError::TooLong {
                max: MAX_DECIMAL_TEXT
            })
        );
        assert_eq!(
            parse_scaled("99999999999999999999999999999999999999", 6, Rounding::Exact),
            Err(DecimalError::Overflow)
        );
    }

    #[test]
    fn rounds_only_when_asked() {
        assert_eq!(
            parse_scaled("0.123456789", 6, Rounding::Exact),
            Err(DecimalError::TooManyDecimals { max_decimals: 6 })
        );
        assert_eq!(parse_scaled("0.1234561", 6, Rounding::Down), Ok(123_456));
        assert_eq!(parse_scaled("0.1234561", 6, Rounding::Up), Ok(123_457));
        assert_eq!(parse_scaled("-0.1234561", 6, Rounding::Down), Ok(-123_457));
        assert_eq!(parse_scaled("-0.1234561", 6, Rounding::Up), Ok(-123_456));
        assert_eq!(
            parse_scaled("-0.1234561", 6, Rounding::TowardZero),
            Ok(-123_456)
        );
        assert_eq!(
            parse_scaled("0.1234565", 6, Rounding::HalfEven),
            Ok(123_456)
        );
        assert_eq!(
            parse_scaled("0.1234575", 6, Rounding::HalfEven),
            Ok(123_458)
        );
        assert_eq!(
            parse_scaled("0.12345650001", 6, Rounding::HalfEven),
            Ok(123_457)
        );
    }

    #[test]
    fn div_round_modes() {
        assert_eq!(div_round(7, 2, Rounding::Down), Some(3));
        assert_eq!(div_round(7, 2, Rounding::Up), Some(4));
        assert_eq!(div_round(-7, 2, Rounding::Down), Some(-4));
        assert_eq!(div_round(-7, 2, Rounding::Up), Some(-3));
        assert_eq!(div_round(-7, 2, Rounding::TowardZero), Some(-3));
        assert_eq!(div_round(5, 2, Rounding::HalfEven), Some(2));
        assert_eq!(div_round(7, 2, Rounding::HalfEven), Some(4));
        assert_eq!(div_round(7, 2, Rounding::Exact), None);
        assert_eq!(div_round(8, 2, Rounding::Exact), Some(4));
    }

    #[test]
    fn formats_with_minimum_decimals() {
        assert_eq!(format_scaled(560_000, 6, 4), "0.5600");
        assert_eq!(format_scaled(560_001, 6, 4), "0.560001");
        assert_eq!(format_scaled(1_000_000, 6, 0), "1");
        assert_eq!(format_scaled(-3_500_000, 6, 2), "-3.50");
        assert_eq!(format_scaled(0, 6, 2), "0.00");
        assert_eq!(format_scaled(-1, 6, 0), "-0.000001");
    }
}
