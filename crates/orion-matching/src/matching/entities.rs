//! Entity extraction from normalized text: dates and times with their zone,
//! numeric thresholds with comparator and unit, market period and kind
//! (full game, set 1, first half, spread, total), capitalized names and
//! offices.

use serde::{Deserialize, Serialize};

use super::normalize::{Fixed, Token, tokenize};

/// How a threshold compares the observed value with the strike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparator {
    /// strictly above ("above", "more than", "over")
    Above,
    /// at or above ("at least", "or more", "reach")
    AtLeast,
    /// strictly below ("below", "under", "less than")
    Below,
    /// at or below ("at most", "or less", "dip to")
    AtMost,
    /// inside a closed range ("between 4.25 and 4.5")
    Between,
    /// exactly ("exactly 3")
    Exactly,
}

impl Comparator {
    /// The comparator whose truth is exactly the negation of this one, for
    /// the same strike: "above X" is true exactly when "at most X" is false.
    pub fn complement(self) -> Option<Comparator> {
        match self {
            Comparator::Above => Some(Comparator::AtMost),
            Comparator::AtMost => Some(Comparator::Above),
            Comparator::AtLeast => Some(Comparator::Below),
            Comparator::Below => Some(Comparator::AtLeast),
            Comparator::Between | Comparator::Exactly => None,
        }
    }

    /// +1 for "high" comparators, -1 for "low", 0 for ranges.
    pub fn direction(self) -> i8 {
        match self {
            Comparator::Above | Comparator::AtLeast => 1,
            Comparator::Below | Comparator::AtMost => -1,
            Comparator::Between | Comparator::Exactly => 0,
        }
    }
}

/// Unit of a threshold value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Usd,
    Percent,
    BasisPoints,
    /// A bare number (goals, seats, a count).
    Count,
}

/// A numeric condition: "above $100k", "at least 3", "between 4.25 and 4.5".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Threshold {
    pub comparator: Comparator,
    /// Exact value in millionths (see [`Fixed`]); the lower bound for `Between`.
    pub value: i64,
    /// Upper bound for `Between`.
    pub upper: Option<i64>,
    pub unit: Unit,
}

impl Threshold {
    /// Same quantity after unit conversion (1 percent = 100 bps).
    pub fn value_in_common_unit(&self) -> (Unit, i64, Option<i64>) {
        match self.unit {
            Unit::BasisPoints => (Unit::Percent, self.value / 100, self.upper.map(|u| u / 100)),
            u => (u, self.value, self.upper),
        }
    }
}

/// What a threshold is applied to: the value at one moment (a close or
/// settlement price: "above $100k on Dec 31") or the extreme over a window
/// ("reach $100k in July", "dip to $50k", a monthly maximum). The two pay
/// differently with the same strike and date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    Settle,
    Touch,
}

/// The measure a text implies, if it has a threshold at all.
pub fn measure_of(tokens: &[Token]) -> Measure {
    let touch = tokens.iter().filter_map(Token::as_word).any(|w| {
        matches!(
            w,
            "reach"
                | "reaches"
                | "reached"
                | "hit"
                | "hits"
                | "touch"
                | "touches"
                | "dip"
                | "dips"
                | "high"
                | "low"
                | "highest"
                | "lowest"
                | "ath"
                | "peak"
        )
    });
    if touch {
        Measure::Touch
    } else {
        Measure::Settle
    }
}

/// Time zones a market text names ("9:30PM ET").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Zone {
    Utc,
    Eastern,
    Central,
    Mountain,
    Pacific,
}

impl Zone {
    /// Offset from UTC in hours. US zones are taken as daylight time when the
    /// text says only "ET": a one-hour uncertainty that is well inside any
    /// sensible close-time tolerance.
    pub fn offset_hours(self, daylight: Option<bool>) -> i64 {
        let dst = i64::from(daylight.unwrap_or(true));
        match self {
            Zone::Utc => 0,
            Zone::Eastern => -5 + dst,
            Zone::Central => -6 + dst,
            Zone::Mountain => -7 + dst,
            Zone::Pacific => -8 + dst,
        }
    }
}

/// A date as written: "December 31, 2025", "Dec. 31", "in July 2026",
/// "2026-05-08".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DateMention {
    pub year: Option<i64>,
    pub month: u32,
    pub day: Option<u32>,
}

impl DateMention {
    /// Days since the epoch when the date is complete.
    pub fn epoch_day(&self) -> Option<i64> {
        let (y, d) = (self.year?, self.day?);
        Some(orion_core::time_fmt::days_from_civil(y, self.month, d))
    }
}

/// A time of day as written ("9:30 PM ET").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TimeMention {
    pub hour: u32,
    pub minute: u32,
    pub zone: Option<Zone>,
}

/// Which part of a fixture a market is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "n")]
pub enum Period {
    /// the whole match or game, overtime included
    Full,
    Set(u8),
    Map(u8),
    Half(u8),
    Quarter(u8),
    /// a multi-game series (playoff round)
    Series,
    /// a season-long title (championship, finals, MVP...)
    Season,
}

/// What a market pays on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// who wins (moneyline, match winner, champion)
    Winner,
    /// winner against a handicap
    Spread,
    /// combined score over/under
    Total,
    /// a numeric threshold on a quantity (price, rate, count)
    Threshold,
    /// a yes/no proposition without a number
    Proposition,
}

fn month_number(w: &str) -> Option<u32> {
    Some(match w {
        "january" => 1,
        "february" => 2,
        "march" => 3,
        "april" => 4,
        "may" => 5,
        "june" => 6,
        "july" => 7,
        "august" => 8,
        "september" => 9,
        "october" => 10,
        "november" => 11,
        "december" => 12,
        _ => return None,
    })
}

fn int_value(t: Option<&Token>) -> Option<i64> {
    match t {
        Some(Token::Number(Fixed(v))) if v % super::normalize::FIXED_SCALE == 0 => {
            Some(v / super::normalize::FIXED_SCALE)
        }
        _ => None,
    }
}

/// Every date in a token stream, plus ISO dates ("2026-05-08") found in the
/// raw text (slugs and titles carry them).
pub fn extract_dates(raw: &str, tokens: &[Token]) -> Vec<DateMention> {
    let mut out = iso_dates(raw);
    let mut i = 0;
    while i < tokens.len() {
        let month = tokens[i].as_word().and_then(month_number);
        if let Some(m) = month {
            // "may" is also a verb: require a number next to it.
            let next = int_value(tokens.get(i + 1));
            let prev = if i > 0 {
                int_value(tokens.get(i - 1))
            } else {
                None
            };
            let (day, mut consumed) = match next {
                Some(d) if (1..=31).contains(&d) => (Some(d as u32), 2),
                _ => match prev {
                    Some(d) if (1..=31).contains(&d) => (Some(d as u32), 1),
                    _ => (None, 1),
                },
            };
            let year_pos = i + consumed;
            let year = match int_value(tokens.get(year_pos)) {
                Some(y) if (1900..=2200).contains(&y) => {
                    consumed += 1;
                    Some(y)
                }
                _ => None,
            };
            let year = year.or_else(|| match next {
                Some(y) if (1900..=2200).contains(&y) => Some(y),
                _ => None,
            });
            if day.is_some() || year.is_some() || m != 5 {
                // Without a year, 29 February is allowed (a leap year is
                // possible); 30 February never is.
                if let Some(d) = day
                    && d > days_in_month(year.unwrap_or(2024), m)
                {
                    i += 1;
                    continue;
                }
                out.push(DateMention {
                    year,
                    month: m,
                    day,
                });
            }
            i += consumed;
            continue;
        }
        i += 1;
    }
    out.dedup();
    out
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

/// "YYYY-MM-DD" anywhere in the text.
pub fn iso_dates(raw: &str) -> Vec<DateMention> {
    let b = raw.as_bytes();
    let mut out = Vec::new();
    if b.len() < 10 {
        return out;
    }
    let digits = |s: &[u8]| -> Option<i64> {
        let mut v = 0i64;
        for &c in s {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
        }
        Some(v)
    };
    let mut i = 0;
    while i + 10 <= b.len() {
        let w = &b[i..i + 10];
        let boundary_before = i == 0 || !b[i - 1].is_ascii_digit();
        let boundary_after = b.get(i + 10).is_none_or(|c| !c.is_ascii_digit());
        if boundary_before
            && boundary_after
            && w[4] == b'-'
            && w[7] == b'-'
            && let (Some(y), Some(m), Some(d)) =
                (digits(&w[0..4]), digits(&w[5..7]), digits(&w[8..10]))
            && (1..=12).contains(&m)
            && d >= 1
            && d <= i64::from(days_in_month(y, m as u32))
        {
            out.push(DateMention {
                year: Some(y),
                month: m as u32,
                day: Some(d as u32),
            });
            i += 10;
            continue;
        }
        i += 1;
    }
    out
}

/// Times of day: "9:30 PM ET", "21:30 UTC", "noon ET" is not handled.
pub fn extract_times(raw: &str) -> Vec<TimeMention> {
    let lower = super::normalize::fold(raw);
    let chars: Vec<char> = lower.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == ':' && i > 0 && chars[i - 1].is_ascii_digit() {
            let mut start = i - 1;
            if start > 0 && chars[start - 1].is_ascii_digit() {
                start -= 1;
            }
            let h: String = chars[start..i].iter().collect();
            let m: String = chars
                .get(i + 1..i + 3)
                .map(|s| s.iter().collect())
                .unwrap_or_default();
            if let (Ok(mut hour), Ok(minute)) = (h.parse::<u32>(), m.parse::<u32>()) {
                let rest: String = chars
                    .get(i + 3..)
                    .map(|s| s.iter().collect())
                    .unwrap_or_default();
                let rest_words: Vec<&str> = rest
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .filter(|s| !s.is_empty())
                    .take(2)
                    .collect();
                let mut idx = 0;
                match rest_words.first().copied() {
                    Some("pm") => {
                        if hour < 12 {
                            hour += 12;
                        }
                        idx = 1;
                    }
                    Some("am") => {
                        if hour == 12 {
                            hour = 0;
                        }
                        idx = 1;
                    }
                    _ => {}
                }
                let zone = rest_words.get(idx).and_then(|w| zone_word(w));
                if hour < 24 && minute < 60 {
                    out.push(TimeMention { hour, minute, zone });
                }
            }
        }
        i += 1;
    }
    out
}

fn zone_word(w: &str) -> Option<Zone> {
    Some(match w {
        "utc" | "gmt" | "z" => Zone::Utc,
        "et" | "est" | "edt" | "eastern" => Zone::Eastern,
        "ct" | "cst" | "cdt" | "central" => Zone::Central,
        "mt" | "mst" | "mdt" | "mountain" => Zone::Mountain,
        "pt" | "pst" | "pdt" | "pacific" => Zone::Pacific,
        _ => return None,
    })
}

/// Comparator phrases, longest first. Each entry is (words, comparator,
/// whether the phrase comes after the number: "3 or more").
const PREFIX_PHRASES: &[(&[&str], Comparator)] = &[
    (
        &["greater", "than", "or", "equal", "to"],
        Comparator::AtLeast,
    ),
    (&["less", "than", "or", "equal", "to"], Comparator::AtMost),
    (&["at", "or", "above"], Comparator::AtLeast),
    (&["at", "or", "below"], Comparator::AtMost),
    (&["at", "or", "over"], Comparator::AtLeast),
    (&["at", "or", "under"], Comparator::AtMost),
    (&["no", "more", "than"], Comparator::AtMost),
    (&["no", "less", "than"], Comparator::AtLeast),
    (&["at", "least"], Comparator::AtLeast),
    (&["at", "most"], Comparator::AtMost),
    (&["more", "than"], Comparator::Above),
    (&["greater", "than"], Comparator::Above),
    (&["higher", "than"], Comparator::Above),
    (&["less", "than"], Comparator::Below),
    (&["fewer", "than"], Comparator::Below),
    (&["lower", "than"], Comparator::Below),
    (&["dip", "to"], Comparator::AtMost),
    (&["dips", "to"], Comparator::AtMost),
    (&["fall", "to"], Comparator::AtMost),
    (&["falls", "to"], Comparator::AtMost),
    (&["drop", "to"], Comparator::AtMost),
    (&["drops", "to"], Comparator::AtMost),
    (&["minimum", "of"], Comparator::AtLeast),
    (&["maximum", "of"], Comparator::AtMost),
    (&["above"], Comparator::Above),
    (&["over"], Comparator::Above),
    (&["exceed"], Comparator::Above),
    (&["exceeds"], Comparator::Above),
    (&["exceeding"], Comparator::Above),
    (&["surpass"], Comparator::Above),
    (&["surpasses"], Comparator::Above),
    (&["reach"], Comparator::AtLeast),
    (&["reaches"], Comparator::AtLeast),
    (&["hit"], Comparator::AtLeast),
    (&["hits"], Comparator::AtLeast),
    (&["below"], Comparator::Below),
    (&["under"], Comparator::Below),
    (&["exactly"], Comparator::Exactly),
];

const SUFFIX_PHRASES: &[(&[&str], Comparator)] = &[
    (&["or", "more"], Comparator::AtLeast),
    (&["or", "above"], Comparator::AtLeast),
    (&["or", "higher"], Comparator::AtLeast),
    (&["or", "greater"], Comparator::AtLeast),
    (&["or", "over"], Comparator::AtLeast),
    (&["or", "less"], Comparator::AtMost),
    (&["or", "below"], Comparator::AtMost),
    (&["or", "lower"], Comparator::AtMost),
    (&["or", "fewer"], Comparator::AtMost),
    (&["or", "under"], Comparator::AtMost),
    (&["plus"], Comparator::AtLeast),
];

fn words_at(tokens: &[Token], at: usize, words: &[&str]) -> bool {
    words
        .iter()
        .enumerate()
        .all(|(k, w)| tokens.get(at + k).and_then(Token::as_word) == Some(*w))
}

/// A number with its unit starting at `at` (skipping "$", "the", "a"):
/// (value, unit, index after).
fn number_at(tokens: &[Token], mut at: usize) -> Option<(i64, Unit, usize)> {
    let mut unit = None;
    for _ in 0..3 {
        match tokens.get(at) {
            Some(Token::Currency) => {
                unit = Some(Unit::Usd);
                at += 1;
            }
            Some(Token::Word(w)) if w == "the" || w == "a" || w == "of" => at += 1,
            _ => break,
        }
    }
    let Some(Token::Number(Fixed(v))) = tokens.get(at) else {
        return None;
    };
    at += 1;
    match tokens.get(at) {
        Some(Token::Currency) => {
            unit = Some(Unit::Usd);
            at += 1;
        }
        Some(Token::Percent) => {
            unit = Some(Unit::Percent);
            at += 1;
        }
        Some(Token::BasisPoints) => {
            unit = Some(Unit::BasisPoints);
            at += 1;
        }
        _ => {}
    }
    Some((*v, unit.unwrap_or(Unit::Count), at))
}

/// Every numeric threshold in a token stream.
pub fn extract_thresholds(tokens: &[Token]) -> Vec<Threshold> {
    let mut out = Vec::new();
    let mut i = 0;
    'scan: while i < tokens.len() {
        // "between X and Y"
        if words_at(tokens, i, &["between"])
            && let Some((lo, u1, j)) = number_at(tokens, i + 1)
            && words_at(tokens, j, &["and"])
            && let Some((hi, u2, k)) = number_at(tokens, j + 1)
        {
            let unit = if u1 == Unit::Count { u2 } else { u1 };
            out.push(Threshold {
                comparator: Comparator::Between,
                value: lo.min(hi),
                upper: Some(lo.max(hi)),
                unit,
            });
            i = k;
            continue;
        }
        for (words, cmp) in PREFIX_PHRASES {
            if words_at(tokens, i, words)
                && let Some((v, unit, j)) = number_at(tokens, i + words.len())
            {
                // "above 3 or more" does not occur; a suffix phrase after a
                // prefix phrase would be contradictory, so the prefix wins.
                out.push(Threshold {
                    comparator: *cmp,
                    value: v,
                    upper: None,
                    unit,
                });
                i = j;
                continue 'scan;
            }
        }
        if let Some((v, unit, j)) = number_at(tokens, i) {
            // Kalshi range buckets: "$100,000 to $100,999.99".
            if words_at(tokens, j, &["to"])
                && let Some((hi, u2, k)) = number_at(tokens, j + 1)
                && hi > v
            {
                out.push(Threshold {
                    comparator: Comparator::Between,
                    value: v,
                    upper: Some(hi),
                    unit: if unit == Unit::Count { u2 } else { unit },
                });
                i = k;
                continue 'scan;
            }
            for (words, cmp) in SUFFIX_PHRASES {
                if words_at(tokens, j, words) {
                    out.push(Threshold {
                        comparator: *cmp,
                        value: v,
                        upper: None,
                        unit,
                    });
                    i = j + words.len();
                    continue 'scan;
                }
            }
        }
        i += 1;
    }
    out
}

/// Period and kind stated in a text ("Set 1 Winner", "1H Moneyline",
/// "Spread: Nuggets (-2.5)", "Series Winner", "O/U 220.5").
pub fn extract_period_kind(tokens: &[Token]) -> (Option<Period>, Option<Kind>) {
    let mut period = None;
    let mut kind = None;
    let word = |k: usize| tokens.get(k).and_then(Token::as_word);
    let num_u8 = |k: usize| int_value(tokens.get(k)).and_then(|v| u8::try_from(v).ok());
    for i in 0..tokens.len() {
        let Some(w) = word(i) else { continue };
        match w {
            "set" => {
                if let Some(n) = num_u8(i + 1) {
                    period = Some(Period::Set(n));
                }
            }
            "map" => {
                if let Some(n) = num_u8(i + 1) {
                    period = Some(Period::Map(n));
                }
            }
            "1h" | "first" if w == "1h" || word(i + 1) == Some("half") => {
                period = Some(Period::Half(1));
            }
            "2h" => period = Some(Period::Half(2)),
            "second" if word(i + 1) == Some("half") => period = Some(Period::Half(2)),
            "1q" => period = Some(Period::Quarter(1)),
            "quarter" => {
                if let Some(n) = num_u8(i + 1) {
                    period = Some(Period::Quarter(n));
                }
            }
            "series" if word(i + 1) == Some("winner") || word(i + 1).is_none() => {
                period = Some(Period::Series);
            }
            "champion" | "championship" | "finals" | "mvp" | "pennant" | "conference"
            | "division"
                if period.is_none() =>
            {
                period = Some(Period::Season);
            }
            "spread" | "spreads" | "handicap" => kind = Some(Kind::Spread),
            "total" | "totals" => kind = Some(Kind::Total),
            "o" if word(i + 1) == Some("u") => kind = Some(Kind::Total),
            "moneyline" => kind = Some(Kind::Winner),
            _ => {}
        }
    }
    (period, kind)
}

/// Capitalized spans in the original text ("Jerome Powell", "New York"):
/// people, teams and places, lower-cased and accent-folded. The first word
/// of the text is skipped when it is a question word.
pub fn extract_names(raw: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Vec<String> = Vec::new();
    let mut first = true;
    let flush = |cur: &mut Vec<String>, out: &mut Vec<String>| {
        if !cur.is_empty() {
            out.push(cur.join(" "));
            cur.clear();
        }
    };
    for piece in raw.split(|c: char| {
        c.is_whitespace() || matches!(c, ',' | '?' | ':' | ';' | '(' | ')' | '"' | '!')
    }) {
        if piece.is_empty() {
            continue;
        }
        let trimmed = piece.trim_matches(|c: char| !c.is_alphanumeric());
        let starts_upper = trimmed.chars().next().is_some_and(char::is_uppercase);
        // Only capitalized words can join a name; normalizing the others
        // would be wasted work on every title.
        let folded = if starts_upper {
            super::normalize::normalize_word(trimmed)
        } else {
            String::new()
        };
        let skip_question = first
            && matches!(
                folded.as_str(),
                "will"
                    | "who"
                    | "what"
                    | "which"
                    | "when"
                    | "how"
                    | "is"
                    | "does"
                    | "do"
                    | "can"
                    | "the"
            );
        first = false;
        if starts_upper && !skip_question && !folded.is_empty() && month_number(&folded).is_none() {
            cur.push(folded);
        } else {
            flush(&mut cur, &mut out);
        }
        if piece.ends_with('.') && !trimmed.is_empty() && trimmed.len() > 3 {
            flush(&mut cur, &mut out);
        }
    }
    flush(&mut cur, &mut out);
    out.retain(|n| n != "vs" && n.len() > 1);
    out
}

/// Offices a political market is about.
pub fn extract_offices(tokens: &[Token]) -> Vec<&'static str> {
    let mut out = Vec::new();
    let word = |k: usize| tokens.get(k).and_then(Token::as_word);
    for i in 0..tokens.len() {
        let office = match word(i) {
            Some("president" | "presidential" | "presidency") => Some("president"),
            Some("governor" | "gubernatorial") => Some("governor"),
            Some("senate" | "senator") => Some("senate"),
            Some("mayor" | "mayoral") => Some("mayor"),
            Some("house") if word(i + 1) != Some("of") => Some("house"),
            Some("speaker") => Some("speaker"),
            Some("prime") if word(i + 1) == Some("minister") => Some("prime minister"),
            Some("chancellor") => Some("chancellor"),
            Some("fed" | "federal") if word(i + 1) == Some("chair") => Some("fed chair"),
            _ => None,
        };
        if let Some(o) = office
            && !out.contains(&o)
        {
            out.push(o);
        }
    }
    out
}

/// Convenience: everything extractable from one text.
#[derive(Debug, Clone, Default)]
pub struct TextEntities {
    pub tokens: Vec<Token>,
    pub dates: Vec<DateMention>,
    pub times: Vec<TimeMention>,
    pub thresholds: Vec<Threshold>,
    pub period: Option<Period>,
    pub kind: Option<Kind>,
    pub names: Vec<String>,
    pub offices: Vec<&'static str>,
}

pub fn extract(raw: &str) -> TextEntities {
    let tokens = tokenize(raw);
    let (period, kind) = extract_period_kind(&tokens);
    TextEntities {
        dates: extract_dates(raw, &tokens),
        times: extract_times(raw),
        thresholds: extract_thresholds(&tokens),
        names: extract_names(raw),
        offices: extract_offices(&tokens),
        period,
        kind,
        tokens,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn th(text: &str) -> Vec<Threshold> {
        extract_thresholds(&tokenize(text))
    }

    fn fx(s: &str) -> i64 {
        Fixed::parse(s).map_or(-1, |f| f.0)
    }

    #[test]
    fn thresholds_with_comparators_and_units() {
        let t = th("Will Bitcoin be above $100k on Dec. 31?");
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].comparator, Comparator::Above);
        assert_eq!(t[0].value, fx("100000"));
        assert_eq!(t[0].unit, Unit::Usd);

        let t = th("at least 3 goals");
        assert_eq!(
            (t[0].comparator, t[0].value, t[0].unit),
            (Comparator::AtLeast, fx("3"), Unit::Count)
        );

        let t = th("Fed funds rate between 4.25 and 4.5%");
        assert_eq!(t[0].comparator, Comparator::Between);
        assert_eq!((t[0].value, t[0].upper), (fx("4.25"), Some(fx("4.5"))));
        assert_eq!(t[0].unit, Unit::Percent);

        let t = th("BTC ≥ 120,000 USD");
        assert_eq!(
            (t[0].comparator, t[0].value, t[0].unit),
            (Comparator::AtLeast, fx("120000"), Unit::Usd)
        );

        let t = th("close at or below $100k");
        assert_eq!(
            (t[0].comparator, t[0].value),
            (Comparator::AtMost, fx("100000"))
        );

        let t = th("$100,000 to $100,999.99");
        assert_eq!(
            (t[0].comparator, t[0].value, t[0].upper),
            (Comparator::Between, fx("100000"), Some(fx("100999.99")))
        );

        let t = th("3 or more seats");
        assert_eq!(t[0].comparator, Comparator::AtLeast);

        let t = th("will-bitcoin-dip-to-50k-in-july-2026");
        assert_eq!(
            (t[0].comparator, t[0].value),
            (Comparator::AtMost, fx("50000"))
        );

        let t = th("will-xrp-reach-1pt2-in-july-2026");
        assert_eq!(
            (t[0].comparator, t[0].value),
            (Comparator::AtLeast, fx("1.2"))
        );

        let t = th("CPI below three percent");
        assert_eq!(
            (t[0].comparator, t[0].value, t[0].unit),
            (Comparator::Below, fx("3"), Unit::Percent)
        );
        assert!(th("Hawks vs. Nuggets").is_empty());
    }

    #[test]
    fn touch_and_settle_measures() {
        assert_eq!(
            measure_of(&tokenize("Will Bitcoin reach $100k by December 31?")),
            Measure::Touch
        );
        assert_eq!(
            measure_of(&tokenize("will-solana-dip-to-60-in-july-2026")),
            Measure::Touch
        );
        assert_eq!(
            measure_of(&tokenize("Will Bitcoin be above $100k on Dec 31?")),
            Measure::Settle
        );
    }

    #[test]
    fn complements_are_exact() {
        assert_eq!(Comparator::Above.complement(), Some(Comparator::AtMost));
        assert_eq!(Comparator::AtLeast.complement(), Some(Comparator::Below));
        assert_eq!(Comparator::Between.complement(), None);
    }

    #[test]
    fn dates_in_every_spelling() {
        let d = extract_dates("Dec. 31, 2025", &tokenize("Dec. 31, 2025"));
        assert_eq!(
            d,
            vec![DateMention {
                year: Some(2025),
                month: 12,
                day: Some(31)
            }]
        );
        let d2 = extract_dates("December 31 2025", &tokenize("December 31 2025"));
        assert_eq!(d, d2);
        let d = extract_dates("31 December", &tokenize("31 December"));
        assert_eq!(
            d,
            vec![DateMention {
                year: None,
                month: 12,
                day: Some(31)
            }]
        );
        let raw = "will-bitcoin-reach-80k-in-july-2026";
        let d = extract_dates(raw, &tokenize(raw));
        assert_eq!(
            d,
            vec![DateMention {
                year: Some(2026),
                month: 7,
                day: None
            }]
        );
        let raw = "aec-mlb-wsh-mia-2026-05-08";
        assert!(extract_dates(raw, &tokenize(raw)).contains(&DateMention {
            year: Some(2026),
            month: 5,
            day: Some(8)
        }));
        // "may" the verb is not a date.
        assert!(extract_dates("Who may win", &tokenize("Who may win")).is_empty());
        // Impossible dates are dropped.
        assert!(extract_dates("February 30 2025", &tokenize("February 30 2025")).is_empty());
    }

    #[test]
    fn times_and_zones() {
        let t = extract_times("scheduled for January 10 at 9:30PM ET:");
        assert_eq!(
            t,
            vec![TimeMention {
                hour: 21,
                minute: 30,
                zone: Some(Zone::Eastern)
            }]
        );
        let t = extract_times("closes 14:00 UTC");
        assert_eq!(
            t,
            vec![TimeMention {
                hour: 14,
                minute: 0,
                zone: Some(Zone::Utc)
            }]
        );
        assert_eq!(Zone::Eastern.offset_hours(Some(false)), -5);
    }

    #[test]
    fn periods_and_kinds() {
        let pk = |s: &str| extract_period_kind(&tokenize(s));
        assert_eq!(
            pk("Nuno Borges vs Tomas Etcheverry: Set 1 Winner").0,
            Some(Period::Set(1))
        );
        assert_eq!(pk("Map 1: K27 vs. FAL").0, Some(Period::Map(1)));
        assert_eq!(
            pk("Hawks vs. Nuggets: 1H Moneyline").0,
            Some(Period::Half(1))
        );
        assert_eq!(pk("Spread: Nuggets (-2.5)").1, Some(Kind::Spread));
        assert_eq!(
            pk("Series Winner: Houston vs Los Angeles L").0,
            Some(Period::Series)
        );
        assert_eq!(
            pk("Will the Cavaliers win the 2026 NBA Finals?").0,
            Some(Period::Season)
        );
        assert_eq!(pk("Hawks vs. Nuggets"), (None, None));
    }

    #[test]
    fn names_and_offices() {
        let n = extract_names("Will Jerome Powell remain Fed Chair through December?");
        assert!(n.contains(&"jerome powell".to_owned()), "{n:?}");
        let o = extract_offices(&tokenize("Who will win the 2028 presidential election?"));
        assert_eq!(o, vec!["president"]);
    }
}
