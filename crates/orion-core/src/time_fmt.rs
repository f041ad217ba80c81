//! RFC 3339 timestamps, as both venues write them ("2026-09-17T14:00:00Z",
//! "2026-09-17T14:00:00.123456+00:00"), and civil dates.

use thiserror::Error;

use crate::clock::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid RFC 3339 timestamp {text:?}: {reason}")]
pub struct TimeParseError {
    pub text: String,
    pub reason: &'static str,
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            if leap { 29 } else { 28 }
        }
    }
}

/// Formats as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn rfc3339_millis(t: Timestamp) -> String {
    let millis = t.millis();
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Parses an RFC 3339 date-time (or a bare `YYYY-MM-DD`, taken as midnight UTC).
pub fn parse_rfc3339(text: &str) -> Result<Timestamp, TimeParseError> {
    let fail = |reason| TimeParseError {
        text: text.chars().take(64).collect(),
        reason,
    };
    let b = text.as_bytes();
    if b.len() > 40 {
        return Err(fail("too long"));
    }
    let num = |from: usize, len: usize| -> Result<i64, TimeParseError> {
        let part = b.get(from..from + len).ok_or_else(|| fail("truncated"))?;
        let mut v = 0i64;
        for &c in part {
            if !c.is_ascii_digit() {
                return Err(fail("expected a digit"));
            }
            v = v * 10 + i64::from(c - b'0');
        }
        Ok(v)
    };
    let year = num(0, 4)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return Err(fail("expected YYYY-MM-DD"));
    }
    let month = num(5, 2)? as u32;
    let day = num(8, 2)? as u32;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(fail("no such date"));
    }
    let days = days_from_civil(year, month, day);
    // Nanoseconds in an i64 reach from 1677 to 2262; anything else is refused
    // rather than wrapped or saturated into a wrong time.
    let to_nanos = |secs: i64, nanos: i64| {
        secs.checked_mul(1_000_000_000)
            .and_then(|n| n.checked_add(nanos))
            .map(Timestamp::from_nanos)
            .ok_or_else(|| fail("outside the representable years 1677..2262"))
    };
    if b.len() == 10 {
        return to_nanos(days * 86_400, 0);
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return Err(fail("expected 'T' after the date"));
    }
    let hour = num(11, 2)?;
    let minute = num(14, 2)?;
    let second = num(17, 2)?;
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return Err(fail("expected HH:MM:SS"));
    }
    if hour > 23 || minute > 59 || second > 60 {
        return Err(fail("time of day out of range"));
    }
    let mut pos = 19;
    let mut nanos: i64 = 0;
    if b.get(pos) == Some(&b'.') {
        pos += 1;
        let start = pos;
        while pos < b.len() && b[pos].is_ascii_digit() {
            if pos - start < 9 {
                nanos = nanos * 10 + i64::from(b[pos] - b'0');
            }
            pos += 1;
        }
        if pos == start {
            return Err(fail("empty fraction"));
        }
        for _ in (pos - start).min(9)..9 {
            nanos *= 10;
        }
    }
    let offset_secs = match b.get(pos) {
        Some(b'Z' | b'z') if pos + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if pos + 6 == b.len() => {
            if b[pos + 3] != b':' {
                return Err(fail("expected +HH:MM offset"));
            }
            let h = num(pos + 1, 2)?;
            let m = num(pos + 4, 2)?;
            if h > 23 || m > 59 {
                return Err(fail("offset out of range"));
            }
            let s = h * 3600 + m * 60;
            if *sign == b'+' { s } else { -s }
        }
        _ => return Err(fail("expected 'Z' or an offset")),
    };
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second.min(59) - offset_secs;
    to_nanos(secs, nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_venue_times() {
        assert_eq!(
            parse_rfc3339("1970-01-01T00:00:00Z").unwrap(),
            Timestamp::ZERO
        );
        let t = parse_rfc3339("2026-09-17T14:00:00Z").unwrap();
        assert_eq!(t.secs(), 1_789_653_600);
        assert_eq!(parse_rfc3339("2026-09-17T16:00:00+02:00").unwrap(), t);
        assert_eq!(
            parse_rfc3339("2026-09-17T14:00:00.123456Z")
                .unwrap()
                .nanos(),
            t.nanos() + 123_456_000
        );
        assert_eq!(parse_rfc3339("2026-09-17").unwrap().secs(), 1_789_603_200);
        assert_eq!(rfc3339_millis(t), "2026-09-17T14:00:00.000Z");
    }

    #[test]
    fn rejects_bad_times() {
        for bad in [
            "",
            "2026-13-01T00:00:00Z",
            "2026-02-30",
            "2026-09-17T25:00:00Z",
            "2026-09-17T14:00:00",
            "x",
            "2026-09-17T14:00:00.Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn far_years_are_errors_not_overflows() {
        // Found by the money_parse fuzz target: year 6720 overflowed i64 nanoseconds.
        assert!(parse_rfc3339("6720-09-17T14:00:00Z").is_err());
        assert!(parse_rfc3339("9999-12-31").is_err());
        assert!(parse_rfc3339("1600-01-01T00:00:00Z").is_err());
        assert!(parse_rfc3339("2262-01-01T00:00:00Z").is_ok());
    }

    #[test]
    fn civil_round_trip() {
        for days in [-800_000i64, -1, 0, 1, 19_000, 20_500, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
