//! What a market is about, in venue-neutral terms: league, participants and
//! which of them YES pays for, period and kind, event date or month,
//! threshold, assets, names, and the Polymarket outcome slots.
//!
//! Kalshi records are often thin (a ticker and its event), so the ticker is
//! parsed as well: `KXMLBGAME-26MAY081910WSHMIA-MIA` says league MLB, game
//! winner, 8 May 2026, teams WSH and MIA, YES = MIA. Titles, when present,
//! override or cross-check what the ticker says.

use orion_core::clock::Timestamp;
use orion_core::time_fmt::{civil_from_days, days_from_civil};
use serde::{Deserialize, Serialize};

use super::catalog::{KalshiMarket, PolyMarket};
use super::entities::{
    Comparator, DateMention, Kind, Period, Threshold, Unit, extract, extract_dates, iso_dates,
};
use super::gazetteer::{
    League, TeamRef, asset_from_word, league_from_competition, league_from_kalshi_series,
    league_from_word, team_by_code, team_by_name, teams_in_text,
};
use super::normalize::{Fixed, is_stopword, normalize, tokenize};

/// One side of a contest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Participant {
    /// Upper-case code from a ticker or slug ("MIA", "ALEBOL").
    pub code: Option<String>,
    /// Normalized name ("miami marlins", "bolt").
    pub name: Option<String>,
    /// Gazetteer team, when the league has a table and the name or code
    /// resolves.
    pub team: Option<TeamRef>,
}

impl Participant {
    fn resolve(&mut self, league: Option<League>) {
        let Some(league) = league else { return };
        let by_code = self.code.as_deref().and_then(|c| team_by_code(league, c));
        let by_name = self.name.as_deref().and_then(|n| team_by_name(league, n));
        self.team = match (by_code, by_name) {
            (Some(a), Some(b)) if a != b => None,
            (a, b) => a.or(b),
        };
    }

    pub fn label(&self) -> String {
        self.name
            .clone()
            .or_else(|| self.code.clone())
            .unwrap_or_default()
    }
}

/// What the YES side of a market pays on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum YesMeaning {
    /// YES pays when this participant wins.
    Participant(usize),
    /// YES pays when the stated proposition holds (a threshold question).
    Proposition,
    Unknown,
}

/// What a Polymarket outcome pays on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlotMeaning {
    /// the "Yes" outcome of a yes/no question
    Yes,
    /// the "No" outcome
    No,
    /// the outcome naming this participant
    Participant(usize),
}

/// How the slots of a Polymarket market were tied to their meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlotBasis {
    /// outcome texts ("Yes"/"No", or team names) read from the market
    OutcomeText,
    /// a team code to token id map given by the source
    TeamTokenMap,
    /// no outcomes published: first participant of the slug is outcome 0
    /// (Polymarket convention; Polymarket US: the long side)
    SlugOrderConvention,
    /// no outcomes published for a yes/no question: "Yes" is outcome 0
    YesNoConvention,
}

/// One Polymarket outcome with its meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub index: Option<u8>,
    pub text: String,
    pub token_id: Option<String>,
    pub meaning: SlotMeaning,
}

/// A venue-neutral description of one market.
#[derive(Debug, Clone)]
pub struct Features {
    pub key: String,
    pub league: Option<League>,
    pub kind: Kind,
    pub period: Period,
    /// Local calendar day of the event (days since epoch).
    pub event_day: Option<i64>,
    /// A calendar month the market is about (year may be unstated).
    pub month: Option<(Option<i64>, u32)>,
    pub participants: Vec<Participant>,
    pub yes: YesMeaning,
    pub threshold: Option<Threshold>,
    pub assets: Vec<&'static str>,
    pub names: Vec<String>,
    pub offices: Vec<&'static str>,
    /// Sorted, de-duplicated content words.
    pub content: Vec<String>,
    pub close_time: Option<Timestamp>,
    pub resolution_sources: Vec<String>,
    pub slots: Vec<Slot>,
    pub slot_basis: SlotBasis,
    /// Only a ticker (and maybe an event title) was available.
    pub thin: bool,
    pub threshold_from_ticker: bool,
    /// Year of a season-long market ("2026 NBA Finals").
    pub season: Option<i64>,
    /// Years named in the text ("2028 nomination").
    pub years: Vec<i64>,
    /// Month and day of a date written without a year, when nothing else
    /// tells the year.
    pub partial_day: Option<(u32, u32)>,
    /// Start time "HHMM" from a Kalshi event ticker (two games of the same
    /// teams on one day differ only there).
    pub start_hhmm: Option<u32>,
    /// Qualifiers of a season market ("east", "conference", "mvp").
    pub season_scope: Vec<String>,
    /// Close-type or touch-type threshold (see [`super::entities::Measure`]).
    pub measure: Option<super::entities::Measure>,
    /// Scheduled start, minutes after midnight US Eastern: Kalshi's ticker
    /// time, Polymarket's "at 9:30PM ET" or its UTC `gameStartTime`.
    pub start_minutes_et: Option<u32>,
}

impl Features {
    fn empty(key: String) -> Features {
        Features {
            key,
            league: None,
            kind: Kind::Proposition,
            period: Period::Full,
            event_day: None,
            month: None,
            participants: Vec::new(),
            yes: YesMeaning::Unknown,
            threshold: None,
            assets: Vec::new(),
            names: Vec::new(),
            offices: Vec::new(),
            content: Vec::new(),
            close_time: None,
            resolution_sources: Vec::new(),
            slots: Vec::new(),
            slot_basis: SlotBasis::OutcomeText,
            thin: false,
            threshold_from_ticker: false,
            season: None,
            years: Vec::new(),
            partial_day: None,
            start_hhmm: None,
            start_minutes_et: None,
            measure: None,
            season_scope: Vec::new(),
        }
    }
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

/// "26APR14..." at the start of a ticker segment: (year, month, day, rest).
fn ticker_date(seg: &str) -> Option<(i64, u32, Option<u32>, &str)> {
    let b = seg.as_bytes();
    if b.len() < 5 || !b[0].is_ascii_digit() || !b[1].is_ascii_digit() {
        return None;
    }
    let yy = i64::from(b[0] - b'0') * 10 + i64::from(b[1] - b'0');
    let mon = seg.get(2..5)?;
    let month = MONTHS.iter().position(|m| *m == mon)? as u32 + 1;
    let rest = &seg[5..];
    let rb = rest.as_bytes();
    if rb.len() >= 2 && rb[0].is_ascii_digit() && rb[1].is_ascii_digit() {
        let day = u32::from(rb[0] - b'0') * 10 + u32::from(rb[1] - b'0');
        if (1..=31).contains(&day) {
            return Some((2000 + yy, month, Some(day), &rest[2..]));
        }
    }
    Some((2000 + yy, month, None, rest))
}

/// Strips an "HHMM" start time ("1910WSHMIA" gives "WSHMIA").
fn strip_time(rest: &str) -> &str {
    let b = rest.as_bytes();
    if b.len() > 4 && b[..4].iter().all(u8::is_ascii_digit) {
        let hh = u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0');
        let mm = u32::from(b[2] - b'0') * 10 + u32::from(b[3] - b'0');
        if hh < 24 && mm < 60 {
            return &rest[4..];
        }
    }
    rest
}

/// Splits "A vs B", "A at B", "A vs. B", "A v B" into two names, after
/// dropping a "Competition:" prefix or a ": Set 1 Winner" suffix and
/// parenthesized seeds or dates.
pub fn split_contest(title: &str) -> Option<(String, String)> {
    let mut best: Option<(String, String)> = None;
    for part in title.split(':') {
        let cleaned = strip_parens(part);
        let lowered = format!(" {} ", cleaned.to_lowercase());
        // "at" separates away and home teams ("Atlanta at Denver") but is
        // also prose ("close at or below", "at least 3", "at the Fed"):
        // refuse it in questions and before comparator or article words.
        let question = lowered.trim_start().starts_with("will ")
            || lowered.trim_start().starts_with("who ")
            || lowered.trim_start().starts_with("what ");
        for sep in [" vs. ", " vs ", " v. ", " v ", " at ", " @ "] {
            if let Some(pos) = lowered.find(sep) {
                if sep == " at " {
                    let next = lowered[pos + sep.len()..]
                        .split_whitespace()
                        .next()
                        .unwrap_or("");
                    let prose = matches!(
                        next,
                        "least" | "most" | "or" | "the" | "a" | "an" | "any" | "all"
                    ) || next.starts_with(|c: char| c.is_ascii_digit() || c == '$');
                    if question || prose {
                        continue;
                    }
                }
                let a = lowered[..pos].trim();
                let b = lowered[pos + sep.len()..].trim();
                let b = strip_tail_words(b);
                if !a.is_empty() && !b.is_empty() {
                    best = Some((a.to_owned(), b));
                }
                break;
            }
        }
        if best.is_some() {
            break;
        }
    }
    best
}

fn strip_parens(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0u32;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Drops trailing "winner?", "map 1", "set 1 winner", an ISO date.
fn strip_tail_words(b: &str) -> String {
    let mut words: Vec<&str> = b.split_whitespace().collect();
    while let Some(last) = words.last().copied() {
        let l = last.trim_matches(|c: char| !c.is_alphanumeric());
        let is_iso = iso_dates(l).len() == 1;
        let is_num = l.chars().all(|c| c.is_ascii_digit()) && !l.is_empty();
        if is_iso || l == "winner" || l.is_empty() {
            words.pop();
            continue;
        }
        if is_num && words.len() >= 2 {
            let prev = words[words.len() - 2];
            if matches!(prev, "map" | "set" | "game" | "quarter") {
                words.pop();
                words.pop();
                continue;
            }
        }
        break;
    }
    words.join(" ")
}

fn content_words(texts: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = texts
        .iter()
        .flat_map(|t| tokenize(t))
        .map(|t| t.key())
        .filter(|w| !is_stopword(w))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn threshold_from_strike_type(
    strike_type: Option<&str>,
    floor: Option<Fixed>,
    cap: Option<Fixed>,
) -> Option<Threshold> {
    let cmp = match strike_type? {
        "greater" => Comparator::Above,
        "greater_or_equal" => Comparator::AtLeast,
        "less" => Comparator::Below,
        "less_or_equal" => Comparator::AtMost,
        "between" => Comparator::Between,
        _ => return None,
    };
    let (value, upper) = match cmp {
        Comparator::Between => (floor?.0, Some(cap?.0)),
        Comparator::Below | Comparator::AtMost => (cap.or(floor)?.0, None),
        _ => (floor.or(cap)?.0, None),
    };
    Some(Threshold {
        comparator: cmp,
        value,
        upper,
        unit: Unit::Count,
    })
}

fn resolution_keywords(texts: &[&str]) -> Vec<String> {
    const KNOWN: &[(&str, &str)] = &[
        ("cf benchmarks", "cf benchmarks"),
        ("cfbenchmarks", "cf benchmarks"),
        ("brti", "cf benchmarks"),
        ("binance", "binance"),
        ("coinbase", "coinbase"),
        ("kraken", "kraken"),
        ("chainlink", "chainlink"),
        ("coingecko", "coingecko"),
        ("coinmarketcap", "coinmarketcap"),
        ("bls gov", "bls"),
        ("bureau of labor statistics", "bls"),
        ("federalreserve", "federal reserve"),
        ("federal reserve", "federal reserve"),
        ("associated press", "ap"),
        ("ap news", "ap"),
    ];
    let mut out = Vec::new();
    for t in texts {
        let n = normalize(t);
        for (needle, name) in KNOWN {
            if n.contains(needle) && !out.iter().any(|o: &String| o == name) {
                out.push((*name).to_owned());
            }
        }
    }
    out
}

/// Years named in a text: whole numbers 2000..=2100 that are not amounts
/// ("$2,050", "above 2000", "2050%").
fn years_in(tokens: &[super::normalize::Token]) -> Vec<i64> {
    use super::normalize::Token;
    let mut v: Vec<i64> = tokens
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let Token::Number(n) = t else { return None };
            if n.0 % super::normalize::FIXED_SCALE != 0 {
                return None;
            }
            let prev = i.checked_sub(1).and_then(|j| tokens.get(j));
            let next = tokens.get(i + 1);
            let amount = matches!(prev, Some(Token::Currency))
                || matches!(
                    next,
                    Some(Token::Currency | Token::Percent | Token::BasisPoints)
                )
                || matches!(
                    prev.and_then(Token::as_word),
                    Some(
                        "above"
                            | "below"
                            | "over"
                            | "under"
                            | "reach"
                            | "reaches"
                            | "hit"
                            | "least"
                            | "most"
                            | "than"
                            | "to"
                            | "between"
                            | "and"
                            | "exactly"
                    )
                );
            (!amount).then_some(n.0 / super::normalize::FIXED_SCALE)
        })
        .filter(|y| (2000..=2100).contains(y))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn set_dates(f: &mut Features, dates: &[DateMention]) {
    for d in dates {
        if f.event_day.is_none()
            && let Some(day) = d.epoch_day()
        {
            f.event_day = Some(day);
        }
    }
    // "on December 31" without a year: the year of the market's own close
    // time (the nearest such date to it), else keep month and day only.
    if f.event_day.is_none()
        && let Some(d) = dates.iter().find(|d| d.day.is_some() && d.year.is_none())
        && let Some(day) = d.day
    {
        match f.close_time {
            Some(t) => {
                let close_day = t.secs().div_euclid(86_400);
                let (cy, _, _) = civil_from_days(close_day);
                f.event_day = [cy - 1, cy, cy + 1]
                    .iter()
                    .map(|y| days_from_civil(*y, d.month, day))
                    .min_by_key(|x| (x - close_day).abs());
            }
            None => f.partial_day = Some((d.month, day)),
        }
    }
    if f.event_day.is_none()
        && f.month.is_none()
        && let Some(d) = dates.iter().find(|d| d.day.is_none())
    {
        f.month = Some((d.year, d.month));
    }
}

/// Features of a Kalshi market.
pub fn kalshi_features(m: &KalshiMarket) -> Features {
    let mut f = Features::empty(m.ticker.clone());
    let event = m.event.clone().unwrap_or_default();
    let ticker = m.ticker.to_ascii_uppercase();
    let segs: Vec<&str> = ticker.split('-').collect();
    let series = event
        .series_ticker
        .clone()
        .unwrap_or_else(|| segs.first().copied().unwrap_or("").to_owned())
        .to_ascii_uppercase();
    let series_body = series.strip_prefix("KX").unwrap_or(&series).to_owned();
    f.league = event
        .competition
        .as_deref()
        .and_then(league_from_competition)
        .or_else(|| league_from_kalshi_series(&series));
    f.thin = m.title.is_none() && event.title.is_none();
    f.close_time = m
        .expected_expiration_time
        .or(m.close_time)
        .or(m.expiration_time);

    // Texts: the market title (a question), the YES sub-title, the event.
    let title = m.title.clone().unwrap_or_default();
    let ev_title = event.title.clone().unwrap_or_default();
    let ev_sub = event.sub_title.clone().unwrap_or_default();
    let scope = event.competition_scope.clone().unwrap_or_default();
    let yes_sub = m.yes_sub_title.clone().unwrap_or_default();
    let rules = m.rules_primary.clone().unwrap_or_default();
    let all_text = format!("{title} | {ev_title} | {ev_sub} | {scope}");
    let ent = extract(&all_text);

    // Period and kind: series naming, then text.
    let (series_period, series_kind) = series_shape(&series_body);
    f.period = ent.period.or(series_period).unwrap_or(Period::Full);
    if let Some(n) = segs
        .iter()
        .skip(2)
        .rev()
        .skip(1)
        .find_map(|s| s.parse::<u8>().ok())
        && matches!(f.period, Period::Set(_) | Period::Map(_))
    {
        // "...-1-ETC": the set or map number is its own segment.
        f.period = match f.period {
            Period::Set(_) => Period::Set(n),
            _ => Period::Map(n),
        };
    }
    f.kind = ent.kind.or(series_kind).unwrap_or(Kind::Proposition);

    // Date and participant codes from the ticker.
    let mut codes: Option<(String, String)> = None;
    let mut yes_index: Option<usize> = None;
    let suffix = if segs.len() >= 3 {
        segs.last().copied()
    } else {
        None
    };
    for seg in segs.iter().skip(1) {
        if let Some((y, mo, d, rest)) = ticker_date(seg) {
            match d {
                Some(day) if !series_body.ends_with("MON") => {
                    f.event_day = Some(days_from_civil(y, mo, day));
                }
                _ => f.month = Some((Some(y), mo)),
            }
            let stripped = strip_time(rest);
            if stripped.len() != rest.len() {
                f.start_hhmm = rest.get(..4).and_then(|t| t.parse().ok());
                f.start_minutes_et = f.start_hhmm.map(|t| (t / 100) * 60 + t % 100);
            }
            let rest = stripped;
            if let Some(s) = suffix
                && !rest.is_empty()
                && *seg != s
            {
                let starts = rest.len() > s.len() && rest.starts_with(s);
                let ends = rest.len() > s.len() && rest.ends_with(s);
                if starts && !ends {
                    codes = Some((s.to_owned(), rest[s.len()..].to_owned()));
                    yes_index = Some(0);
                } else if ends && !starts {
                    codes = Some((rest[..rest.len() - s.len()].to_owned(), s.to_owned()));
                    yes_index = Some(1);
                }
            }
            break;
        }
        if segs.len() == 3 && seg.len() == 2 && seg.bytes().all(|b| b.is_ascii_digit()) {
            // "KXNBA-26-CLE": a season market.
            if let Ok(yy) = seg.parse::<i64>() {
                f.month = None;
                f.event_day = None;
                f.period = Period::Season;
                f.kind = Kind::Winner;
                f.season = Some(2000 + yy);
                f.season_scope = super::gazetteer::kalshi_series_residue(&series).map_or_else(
                    || vec![format!("series:{series}")],
                    |r| super::gazetteer::season_scope_from_series_residue(&r),
                );
            }
        }
    }
    if f.event_day.is_none() && f.month.is_none() {
        set_dates(&mut f, &ent.dates);
    }

    // Participants: event title names, with the ticker codes attached to
    // the names they abbreviate. Kalshi usually writes the codes in title
    // order ("ATL at DEN", ATLDEN), but not always ("Mumbai Indians vs
    // Punjab Kings" is PBKSMI): the sub-title's codes or the letters decide.
    if let Some((a, b)) = split_contest(&ev_title).or_else(|| split_contest(&title)) {
        let (mut ca, mut cb) = match &codes {
            Some((x, y)) => (Some(x.clone()), Some(y.clone())),
            None => (None, None),
        };
        if let (Some(x), Some(y)) = (ca.clone(), cb.clone())
            && codes_swapped(&x, &y, &a, &b, &ev_sub, f.league)
        {
            std::mem::swap(&mut ca, &mut cb);
            yes_index = yes_index.map(|i| 1 - i);
        }
        f.participants = vec![
            Participant {
                code: ca,
                name: Some(normalize(&a)),
                team: None,
            },
            Participant {
                code: cb,
                name: Some(normalize(&b)),
                team: None,
            },
        ];
    } else if let Some((a, b)) = &codes {
        f.participants = vec![
            Participant {
                code: Some(a.clone()),
                name: None,
                team: None,
            },
            Participant {
                code: Some(b.clone()),
                name: None,
                team: None,
            },
        ];
    } else if f.period == Period::Season
        && let Some(s) = suffix
    {
        f.participants = vec![Participant {
            code: Some(s.to_owned()),
            name: (!yes_sub.is_empty()).then(|| normalize(&yes_sub)),
            team: None,
        }];
        yes_index = Some(0);
    }
    for p in &mut f.participants {
        p.resolve(f.league);
    }
    // The YES sub-title names the YES participant: it wins over the ticker.
    if !yes_sub.is_empty() && f.participants.len() == 2 {
        let ys = normalize(&yes_sub);
        let hits: Vec<usize> = f
            .participants
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                p.name.as_deref() == Some(ys.as_str())
                    || (f.league.is_some()
                        && p.team.is_some()
                        && f.league.and_then(|l| team_by_name(l, &ys)) == p.team)
            })
            .map(|(i, _)| i)
            .collect();
        if let [one] = hits.as_slice() {
            yes_index = Some(*one);
        }
    }
    f.yes = match yes_index {
        Some(i) if i < f.participants.len() => YesMeaning::Participant(i),
        _ if !f.participants.is_empty() => YesMeaning::Unknown,
        _ => YesMeaning::Proposition,
    };
    if !f.participants.is_empty() && f.kind == Kind::Proposition {
        f.kind = Kind::Winner;
    }

    // Threshold: the API's strike fields, then the title, then the curated
    // strike, then the ticker (Kalshi writes strikes in cents there).
    // The market's own question and YES sub-title (not the event's).
    let market_ent = extract(&format!("{title} {yes_sub}"));
    let text_threshold = market_ent.thresholds.first().copied();
    let mut threshold =
        threshold_from_strike_type(m.strike_type.as_deref(), m.floor_strike, m.cap_strike)
            .map(|mut t| {
                // The strike fields carry no unit; the title does.
                if let Some(tt) = text_threshold
                    && tt.value == t.value
                {
                    t.unit = tt.unit;
                }
                t
            })
            .or(text_threshold);
    let series_cmp = series_comparator(&series_body);
    if threshold.is_none()
        && let Some(cmp) = series_cmp
    {
        let value = m.x_strike.map(|x| x.0).or_else(|| {
            let s = suffix?;
            let cents = Fixed::parse(s)?;
            f.threshold_from_ticker = true;
            cents.div_exact(100).map(|v| v.0)
        });
        if let Some(v) = value {
            threshold = Some(Threshold {
                comparator: cmp,
                value: v,
                upper: None,
                unit: Unit::Count,
            });
        }
    }
    // Assets: series ticker, segments, text.
    // Not the last segment: that is a participant code or a strike.
    let middle = segs.get(1..segs.len().saturating_sub(1)).unwrap_or(&[]);
    for seg in std::iter::once(series_body.as_str()).chain(middle.iter().copied()) {
        let head: String = seg.chars().take_while(char::is_ascii_alphabetic).collect();
        for len in (3..=head.len().min(5)).rev() {
            if let Some(a) = head.get(..len).and_then(asset_from_word) {
                if !f.assets.contains(&a) {
                    f.assets.push(a);
                }
                break;
            }
        }
    }
    for t in &ent.tokens {
        if let Some(a) = t.as_word().and_then(asset_from_word)
            && !f.assets.contains(&a)
        {
            f.assets.push(a);
        }
    }
    if let Some(mut t) = threshold {
        if t.unit == Unit::Count && !f.assets.is_empty() {
            t.unit = Unit::Usd;
        }
        f.threshold = Some(t);
        f.kind = Kind::Threshold;
        f.yes = YesMeaning::Proposition;
        // A monthly maximum or minimum series is a touch market whatever the
        // title says; otherwise the title's verbs decide.
        f.measure = Some(if series_cmp.is_some() {
            super::entities::Measure::Touch
        } else {
            super::entities::measure_of(&market_ent.tokens)
        });
    }
    f.names = {
        let mut n = ent.names.clone();
        n.append(&mut f.names);
        n
    };
    f.offices = ent.offices.clone();
    f.years = years_in(&market_ent.tokens);
    f.content = content_words(&[&title, &ev_title, &yes_sub]);
    f.resolution_sources = resolution_keywords(
        &m.settlement_sources
            .iter()
            .map(String::as_str)
            .chain([rules.as_str(), m.rules_secondary.as_deref().unwrap_or("")])
            .collect::<Vec<_>>(),
    );
    f
}

/// Whether ticker codes `x`, `y` (in ticker order) belong to names `b`, `a`
/// (the reverse of title order). The sub-title "MI vs PBKS (Apr 16)" settles
/// it when it lists the codes; otherwise the code whose letters spell out a
/// name (in order, from its first letter) is attached to that name.
fn codes_swapped(
    x: &str,
    y: &str,
    a: &str,
    b: &str,
    sub_title: &str,
    league: Option<League>,
) -> bool {
    // The gazetteer, when both codes and both names resolve to teams.
    if let Some(l) = league
        && let (Some(tx), Some(ty), Some(ta), Some(tb)) = (
            team_by_code(l, x),
            team_by_code(l, y),
            team_by_name(l, a),
            team_by_name(l, b),
        )
    {
        if tx == tb && ty == ta && tx != ty {
            return true;
        }
        if tx == ta && ty == tb {
            return false;
        }
    }
    if let Some((sa, sb)) = split_contest(sub_title) {
        let (sa, sb) = (sa.to_ascii_uppercase(), sb.to_ascii_uppercase());
        if sa == y && sb == x {
            return true;
        }
        if sa == x && sb == y {
            return false;
        }
    }
    let fits = |code: &str, name: &str| abbreviates(code, name);
    let straight = usize::from(fits(x, a)) + usize::from(fits(y, b));
    let crossed = usize::from(fits(x, b)) + usize::from(fits(y, a));
    crossed > straight
}

/// "PBKS" abbreviates "punjab kings": same first letter, remaining letters
/// in order.
pub fn abbreviates(code: &str, name: &str) -> bool {
    let code = code.to_ascii_lowercase();
    let name: String = normalize(name)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect();
    let mut cs = code.chars();
    let Some(first) = cs.next() else { return false };
    if !name.starts_with(first) {
        return false;
    }
    let mut rest = name.chars().skip(1);
    cs.all(|c| rest.any(|n| n == c))
}

/// Period and kind a Kalshi series name implies.
fn series_shape(body: &str) -> (Option<Period>, Option<Kind>) {
    if body.ends_with("SETWINNER") || body.ends_with("SET") {
        (Some(Period::Set(1)), Some(Kind::Winner))
    } else if body.ends_with("MAP") {
        (Some(Period::Map(1)), Some(Kind::Winner))
    } else if body.ends_with("SERIES") {
        (Some(Period::Series), Some(Kind::Winner))
    } else if body.ends_with("GAME") || body.ends_with("MATCH") || body.ends_with("FIGHT") {
        (Some(Period::Full), Some(Kind::Winner))
    } else if body.ends_with("SPREAD") {
        (Some(Period::Full), Some(Kind::Spread))
    } else if body.ends_with("TOTAL") {
        (Some(Period::Full), Some(Kind::Total))
    } else if body.ends_with("1H") || body.ends_with("1HWINNER") {
        (Some(Period::Half(1)), Some(Kind::Winner))
    } else {
        (None, None)
    }
}

/// Comparator a Kalshi series name implies: a monthly maximum at or above
/// the strike ("MAX"), a monthly minimum at or below it ("MIN").
fn series_comparator(body: &str) -> Option<Comparator> {
    if body.contains("MAXMON") || body.contains("MAXY") || body.ends_with("MAX") {
        Some(Comparator::AtLeast)
    } else if body.contains("MINMON") || body.contains("MINY") || body.ends_with("MIN") {
        Some(Comparator::AtMost)
    } else {
        None
    }
}

/// A sports slug: `aec-mlb-wsh-mia-2026-05-08`, `nba-atl-den-2026-01-09`,
/// `nba-atl-den-2026-01-09-spread-home-2pt5`.
struct SportsSlug {
    league: Option<League>,
    kind: Option<Kind>,
    codes: Vec<String>,
    date: Option<DateMention>,
    tail: String,
}

fn parse_sports_slug(slug: &str) -> Option<SportsSlug> {
    let parts: Vec<&str> = slug.split('-').collect();
    let mut at = 0;
    let mut kind = None;
    match parts.first().copied() {
        Some("aec") => {
            kind = Some(Kind::Winner);
            at = 1;
        }
        Some("asc") => {
            kind = Some(Kind::Spread);
            at = 1;
        }
        Some("tsc") => {
            kind = Some(Kind::Total);
            at = 1;
        }
        _ => {}
    }
    // A Polymarket US market-type prefix marks a sports slug even when the
    // league word is one this gazetteer does not know ("aec-r6-...").
    let league_word = parts.get(at)?;
    let league = league_from_word(league_word);
    if league.is_none() && kind.is_none() {
        return None;
    }
    at += 1;
    let date_pos = (at..parts.len().saturating_sub(2)).find(|&i| {
        parts[i].len() == 4
            && parts[i].bytes().all(|b| b.is_ascii_digit())
            && parts[i + 1].len() == 2
            && parts[i + 2].len() == 2
    })?;
    let date = iso_dates(&parts[date_pos..date_pos + 3].join("-"))
        .first()
        .copied();
    let codes: Vec<String> = parts[at..date_pos]
        .iter()
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let tail = parts[date_pos + 3..].join(" ");
    Some(SportsSlug {
        league,
        kind,
        codes,
        date,
        tail,
    })
}

fn is_yes_no(outcomes: &[super::catalog::PolyOutcome]) -> Option<(usize, usize)> {
    let yes = outcomes.iter().position(|o| normalize(&o.text) == "yes")?;
    let no = outcomes.iter().position(|o| normalize(&o.text) == "no")?;
    (outcomes.len() == 2).then_some((yes, no))
}

/// Features of a Polymarket market.
pub fn poly_features(m: &PolyMarket) -> Features {
    let mut f = Features::empty(m.key().unwrap_or_default().to_owned());
    // A record without a question may carry the curator's wording of it.
    let question = m
        .question
        .clone()
        .or_else(|| m.x_description.clone())
        .unwrap_or_default();
    let slug = m.slug.clone().unwrap_or_default();
    let slug_words = slug.replace('-', " ");
    let ev_title = m.event_titles.first().cloned().unwrap_or_default();
    let desc = if m.question.is_some() {
        m.x_description.clone().unwrap_or_default()
    } else {
        String::new()
    };
    let group = m.group_item_title.clone().unwrap_or_default();
    let sslug = parse_sports_slug(&slug);
    f.league = m
        .league
        .as_deref()
        .and_then(league_from_word)
        .or(sslug.as_ref().and_then(|s| s.league));
    f.close_time = m.game_start_time.or(m.end_date);
    // "scheduled for January 10 at 9:30PM ET" in the rules, else the UTC
    // start time converted to Eastern.
    f.start_minutes_et = m
        .description
        .as_deref()
        .and_then(|d| {
            super::entities::extract_times(d)
                .into_iter()
                .find(|t| t.zone == Some(super::entities::Zone::Eastern))
        })
        .map(|t| t.hour * 60 + t.minute)
        .or_else(|| m.game_start_time.map(eastern_minutes));
    let text = format!("{question} | {desc} | {group}");
    let ent = extract(&text);
    let slug_ent = extract(&slug_words);
    let smt = m.sports_market_type.clone().unwrap_or_default();
    let smt_kind = match smt.as_str() {
        "moneyline" => Some((Period::Full, Kind::Winner)),
        "first_half_moneyline" => Some((Period::Half(1), Kind::Winner)),
        "spreads" | "map_handicap" => Some((Period::Full, Kind::Spread)),
        "totals" => Some((Period::Full, Kind::Total)),
        "" => None,
        _ => Some((Period::Full, Kind::Proposition)),
    };
    let tail_ent = sslug.as_ref().map(|s| extract(&s.tail));
    f.period = smt_kind
        .map(|(p, _)| p)
        .or(ent.period)
        .or(tail_ent.as_ref().and_then(|t| t.period))
        .or(slug_ent.period)
        .unwrap_or(Period::Full);
    f.kind = smt_kind
        .map(|(_, k)| k)
        .or(ent.kind)
        .or(tail_ent.as_ref().and_then(|t| t.kind))
        .or(sslug.as_ref().and_then(|s| s.kind))
        .unwrap_or(Kind::Proposition);
    if let Some(t) = &tail_ent
        && !t.tokens.is_empty()
        && t.kind.is_none()
        && t.period.is_none()
    {
        // An unknown slug tail ("-more-markets", "-exact-score") means a
        // market other than the plain moneyline.
        f.kind = Kind::Proposition;
    }

    // Dates: the slug's date is the local date of the event.
    if let Some(d) = sslug.as_ref().and_then(|s| s.date) {
        f.event_day = d.epoch_day();
    } else {
        let mut dates = ent.dates.clone();
        dates.extend(extract_dates(&slug_words, &slug_ent.tokens));
        set_dates(&mut f, &dates);
    }

    // Participants.
    let yes_no = is_yes_no(&m.outcomes);
    let contest = split_contest(&ev_title).or_else(|| split_contest(&question));
    if yes_no.is_none() && m.outcomes.len() == 2 {
        // Outcomes name the participants; slug codes are kept only as a set
        // to cross-check, never by position.
        f.participants = m
            .outcomes
            .iter()
            .map(|o| Participant {
                code: None,
                name: Some(normalize(&o.text)),
                team: None,
            })
            .collect();
        f.slots = m
            .outcomes
            .iter()
            .enumerate()
            .map(|(i, o)| Slot {
                index: u8::try_from(i).ok(),
                text: o.text.clone(),
                token_id: o.token_id.clone(),
                meaning: SlotMeaning::Participant(i),
            })
            .collect();
        f.slot_basis = SlotBasis::OutcomeText;
        if let Some(s) = &sslug
            && s.codes.len() == 2
            && let Some(league) = f.league
        {
            // Attach a slug code to the participant it resolves to.
            for code in &s.codes {
                if let Some(t) = team_by_code(league, code) {
                    for p in &mut f.participants {
                        if p.name.as_deref().and_then(|n| team_by_name(league, n)) == Some(t) {
                            p.code = Some(code.clone());
                        }
                    }
                }
            }
        }
        f.yes = YesMeaning::Unknown;
    } else if let Some((yes_i, no_i)) = yes_no {
        f.slots = vec![
            Slot {
                index: u8::try_from(yes_i).ok(),
                text: m.outcomes[yes_i].text.clone(),
                token_id: m.outcomes[yes_i].token_id.clone(),
                meaning: SlotMeaning::Yes,
            },
            Slot {
                index: u8::try_from(no_i).ok(),
                text: m.outcomes[no_i].text.clone(),
                token_id: m.outcomes[no_i].token_id.clone(),
                meaning: SlotMeaning::No,
            },
        ];
        f.yes = YesMeaning::Proposition;
    } else if let Some(s) = &sslug
        && s.codes.len() == 2
    {
        // The event title names the participants; the slug orders them (its
        // first participant is outcome 0, the long side). Attach each name to
        // the code it abbreviates rather than trusting the title's order.
        let names = contest.clone().map(|(a, b)| {
            if codes_swapped(&s.codes[0], &s.codes[1], &a, &b, "", f.league) {
                (b, a)
            } else {
                (a, b)
            }
        });
        f.participants = s
            .codes
            .iter()
            .enumerate()
            .map(|(i, c)| Participant {
                code: Some(c.clone()),
                name: names
                    .as_ref()
                    .map(|(a, b)| normalize(if i == 0 { a } else { b })),
                team: None,
            })
            .collect();
        if !m.token_ids_by_team.is_empty() {
            f.slot_basis = SlotBasis::TeamTokenMap;
            for (code, token) in &m.token_ids_by_team {
                if let Some(i) = s.codes.iter().position(|c| c.eq_ignore_ascii_case(code)) {
                    f.slots.push(Slot {
                        index: None,
                        text: code.clone(),
                        token_id: Some(token.clone()),
                        meaning: SlotMeaning::Participant(i),
                    });
                }
            }
        } else if m.outcomes.is_empty() {
            f.slot_basis = SlotBasis::SlugOrderConvention;
            let long_short = m.venue_variant.as_deref() == Some("polymarket-us");
            f.slots = (0..2)
                .map(|i| Slot {
                    index: Some(i),
                    text: if long_short {
                        if i == 0 {
                            "long".to_owned()
                        } else {
                            "short".to_owned()
                        }
                    } else {
                        f.participants[usize::from(i)].label()
                    },
                    token_id: None,
                    meaning: SlotMeaning::Participant(usize::from(i)),
                })
                .collect();
        }
        f.yes = YesMeaning::Unknown;
    }
    // A question-form binary market whose outcomes were not published:
    // Polymarket's binary markets list "Yes" then "No".
    let question_form = normalize(&question).starts_with("will ")
        || slug.starts_with("will-")
        || question.trim_end().ends_with('?');
    if m.outcomes.is_empty() && f.slots.is_empty() && f.participants.is_empty() && question_form {
        f.slots = vec![
            Slot {
                index: Some(0),
                text: "Yes".to_owned(),
                token_id: None,
                meaning: SlotMeaning::Yes,
            },
            Slot {
                index: Some(1),
                text: "No".to_owned(),
                token_id: None,
                meaning: SlotMeaning::No,
            },
        ];
        f.slot_basis = SlotBasis::YesNoConvention;
        f.yes = YesMeaning::Proposition;
    }
    // A yes/no question names its subject: "Will the Cleveland Cavaliers win
    // the 2026 NBA Finals?", "Will the Lakers beat the Celtics?".
    if yes_no.is_some() || f.slot_basis == SlotBasis::YesNoConvention {
        let league = f
            .league
            .or_else(|| {
                ent.tokens
                    .iter()
                    .find_map(|t| t.as_word().and_then(league_from_word))
            })
            .or_else(|| {
                // No league named: a nickname that exists in exactly one
                // league ("Knicks") still says which; a shared one ("Giants",
                // "Kings") does not.
                if !ent.thresholds.is_empty() || !slug_ent.thresholds.is_empty() {
                    // A price or count question is not about a team.
                    return None;
                }
                let q = normalize(&question);
                let words: Vec<&str> = q.split(' ').collect();
                let hits: Vec<League> = [
                    League::Nba,
                    League::Mlb,
                    League::Nhl,
                    League::Nfl,
                    League::Wnba,
                ]
                .into_iter()
                .filter(|l| !super::gazetteer::teams_in_words(*l, &words).is_empty())
                .collect();
                match hits.as_slice() {
                    [one] => Some(*one),
                    _ => None,
                }
            });
        if let Some(l) = league {
            let teams = teams_in_text(l, &question);
            if !teams.is_empty() && teams.len() <= 2 {
                f.league = Some(l);
                // The first team named is the one the question is about.
                let q = normalize(&question);
                let mut ordered: Vec<(usize, TeamRef)> = teams
                    .iter()
                    .map(|t| {
                        let name = normalize(&super::gazetteer::team_name(*t));
                        let nick = name.split(' ').next_back().unwrap_or("").to_owned();
                        (q.find(&nick).unwrap_or(usize::MAX), *t)
                    })
                    .collect();
                ordered.sort();
                f.participants = ordered
                    .iter()
                    .map(|(_, t)| Participant {
                        code: Some(super::gazetteer::team_code(*t).to_owned()),
                        name: Some(normalize(&super::gazetteer::team_name(*t))),
                        team: Some(*t),
                    })
                    .collect();
                f.yes = YesMeaning::Participant(0);
                if f.kind == Kind::Proposition {
                    f.kind = Kind::Winner;
                }
            }
        }
        if f.participants.is_empty()
            && let Some((a, b)) = split_contest(&question)
        {
            f.participants = vec![
                Participant {
                    code: None,
                    name: Some(normalize(&a)),
                    team: None,
                },
                Participant {
                    code: None,
                    name: Some(normalize(&b)),
                    team: None,
                },
            ];
            f.yes = YesMeaning::Unknown;
        }
    }
    for p in &mut f.participants {
        if p.team.is_none() {
            p.resolve(f.league);
        }
    }
    // A plain game slug ("nfl-gb-chi-2026-01-10", no market suffix) is the
    // moneyline.
    if f.kind == Kind::Proposition
        && f.participants.len() == 2
        && sslug.as_ref().is_some_and(|s| s.tail.is_empty())
        && f.threshold.is_none()
    {
        f.kind = Kind::Winner;
    }
    // Season markets: "win the 2026 NBA Finals".
    if f.period == Period::Season
        && let Some(y) = ent
            .tokens
            .iter()
            .filter_map(|t| match t {
                super::normalize::Token::Number(n) => Some(n.0 / super::normalize::FIXED_SCALE),
                _ => None,
            })
            .find(|y| (2000..=2100).contains(y))
    {
        f.season = Some(y);
        f.event_day = None;
        f.month = None;
        let q = normalize(&question);
        let words: Vec<&str> = q.split(' ').collect();
        f.season_scope = super::gazetteer::season_scope_from_words(&words);
    }

    // Threshold from the question, else the slug, else the curated strike.
    let threshold = ent
        .thresholds
        .first()
        .copied()
        .or_else(|| slug_ent.thresholds.first().copied());
    for t in ent.tokens.iter().chain(slug_ent.tokens.iter()) {
        if let Some(a) = t.as_word().and_then(asset_from_word)
            && !f.assets.contains(&a)
        {
            f.assets.push(a);
        }
    }
    if let Some(mut t) = threshold {
        if let Some(x) = m.x_strike
            && t.value != x.0
        {
            // The curated strike disagrees with the text: trust neither.
            t.value = i64::MIN;
        }
        if t.unit == Unit::Count && !f.assets.is_empty() {
            t.unit = Unit::Usd;
        }
        f.threshold = Some(t);
        f.kind = Kind::Threshold;
        let words = if ent.thresholds.is_empty() {
            &slug_ent.tokens
        } else {
            &ent.tokens
        };
        f.measure = Some(super::entities::measure_of(words));
    }
    f.names.extend(ent.names.iter().cloned());
    f.offices = ent.offices.clone();
    f.years = years_in(&super::normalize::tokenize(&question));
    let texts = [
        question.as_str(),
        ev_title.as_str(),
        group.as_str(),
        desc.as_str(),
    ];
    f.content = if question.is_empty() && ev_title.is_empty() {
        content_words(&[&slug_words])
    } else {
        content_words(&texts)
    };
    f.resolution_sources = resolution_keywords(&[
        m.resolution_source.as_deref().unwrap_or(""),
        m.description.as_deref().unwrap_or(""),
    ]);
    f
}

/// Whether US daylight time is in effect at a UTC instant: from 2:00 local
/// on the second Sunday of March to 2:00 local on the first Sunday of
/// November (rules since 2007).
pub fn us_daylight_at(utc_secs: i64) -> bool {
    let day = utc_secs.div_euclid(86_400);
    let (y, _, _) = civil_from_days(day);
    // 1970-01-01 was a Thursday; Sunday = 0.
    let weekday = |d: i64| (d + 4).rem_euclid(7);
    let nth_sunday = |month: u32, n: i64| {
        let first = days_from_civil(y, month, 1);
        first + (7 - weekday(first)) % 7 + 7 * (n - 1)
    };
    // 2:00 EST = 07:00 UTC; 2:00 EDT = 06:00 UTC.
    let start = nth_sunday(3, 2) * 86_400 + 7 * 3600;
    let end = nth_sunday(11, 1) * 86_400 + 6 * 3600;
    utc_secs >= start && utc_secs < end
}

/// Minutes after midnight US Eastern of a UTC instant.
pub fn eastern_minutes(t: Timestamp) -> u32 {
    let secs = t.secs();
    let offset = if us_daylight_at(secs) { -4 } else { -5 };
    let local = secs + offset * 3600;
    u32::try_from(local.rem_euclid(86_400) / 60).unwrap_or(0)
}

/// The (year, month) of an epoch day.
pub fn month_of_day(day: i64) -> (i64, u32) {
    let (y, m, _) = civil_from_days(day);
    (y, m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::catalog::{KalshiEvent, PolyOutcome};

    fn kalshi(ticker: &str, title: &str) -> KalshiMarket {
        KalshiMarket {
            ticker: ticker.to_owned(),
            event: Some(KalshiEvent {
                title: Some(title.to_owned()),
                ..KalshiEvent::default()
            }),
            ..KalshiMarket::default()
        }
    }

    #[test]
    fn kalshi_ticker_gives_date_codes_and_yes_side() {
        let f = kalshi_features(&kalshi(
            "KXMLBGAME-26MAY081910WSHMIA-MIA",
            "Washington vs Miami",
        ));
        assert_eq!(f.league, Some(League::Mlb));
        assert_eq!(f.event_day, Some(days_from_civil(2026, 5, 8)));
        assert_eq!(f.participants.len(), 2);
        assert_eq!(f.participants[1].code.as_deref(), Some("MIA"));
        assert_eq!(f.yes, YesMeaning::Participant(1));
        assert_eq!((f.period, f.kind), (Period::Full, Kind::Winner));
        assert!(f.participants.iter().all(|p| p.team.is_some()));

        let f = kalshi_features(&kalshi(
            "KXATPSETWINNER-26APR15BORETC-1-ETC",
            "Nuno Borges vs Tomas Martin Etcheverry: Set 1 Winner",
        ));
        assert_eq!(f.period, Period::Set(1));
        assert_eq!(
            f.participants[1].name.as_deref(),
            Some("tomas martin etcheverry")
        );
        assert_eq!(f.yes, YesMeaning::Participant(1));

        let f = kalshi_features(&kalshi(
            "KXCS2GAME-26MAY0910009ZPRV-9Z",
            "9z vs. PARIVISION",
        ));
        assert_eq!(f.yes, YesMeaning::Participant(0));
    }

    #[test]
    fn kalshi_crypto_strike_from_ticker_cents() {
        let m = KalshiMarket {
            ticker: "KXBTCMAXMON-BTC-26JUL31-6750000".to_owned(),
            ..KalshiMarket::default()
        };
        let f = kalshi_features(&m);
        assert_eq!(f.assets, vec!["BTC"]);
        assert_eq!(f.month, Some((Some(2026), 7)));
        let t = f.threshold.unwrap_or(Threshold {
            comparator: Comparator::Exactly,
            value: 0,
            upper: None,
            unit: Unit::Count,
        });
        assert_eq!(
            (t.comparator, t.value, t.unit),
            (Comparator::AtLeast, Fixed::from_int(67_500).0, Unit::Usd)
        );
        assert!(f.threshold_from_ticker);
    }

    #[test]
    fn poly_us_slug_and_gamma_outcomes() {
        let m = PolyMarket {
            slug: Some("aec-mlb-wsh-mia-2026-05-08".to_owned()),
            event_titles: vec!["washington nationals vs. miami marlins".to_owned()],
            venue_variant: Some("polymarket-us".to_owned()),
            ..PolyMarket::default()
        };
        let f = poly_features(&m);
        assert_eq!(f.league, Some(League::Mlb));
        assert_eq!(f.slot_basis, SlotBasis::SlugOrderConvention);
        assert_eq!(f.participants[0].team, team_by_code(League::Mlb, "WSH"));
        assert_eq!(f.slots[0].text, "long");

        let g = PolyMarket {
            condition_id: Some("0x1".to_owned()),
            slug: Some("nba-atl-den-2026-01-09".to_owned()),
            question: Some("Hawks vs. Nuggets".to_owned()),
            outcomes: vec![
                PolyOutcome {
                    text: "Nuggets".to_owned(),
                    token_id: Some("2".to_owned()),
                },
                PolyOutcome {
                    text: "Hawks".to_owned(),
                    token_id: Some("1".to_owned()),
                },
            ],
            sports_market_type: Some("moneyline".to_owned()),
            ..PolyMarket::default()
        };
        let f = poly_features(&g);
        assert_eq!(
            f.participants[0].team,
            team_by_code(League::Nba, "DEN"),
            "by outcome text, not slug order"
        );
        assert_eq!(f.slots[0].token_id.as_deref(), Some("2"));
        assert_eq!(f.event_day, Some(days_from_civil(2026, 1, 9)));

        let s = PolyMarket {
            slug: Some("nba-atl-den-2026-01-09-spread-home-2pt5".to_owned()),
            question: Some("Spread: Nuggets (-2.5)".to_owned()),
            ..PolyMarket::default()
        };
        assert_eq!(poly_features(&s).kind, Kind::Spread);
    }

    #[test]
    fn contest_titles_split() {
        assert_eq!(
            split_contest("Atlanta at Denver"),
            Some(("atlanta".into(), "denver".into()))
        );
        assert_eq!(
            split_contest("Series Winner: Houston (5) vs Los Angeles L (4)"),
            Some(("houston".into(), "los angeles l".into()))
        );
        assert_eq!(
            split_contest("LPL 2026: Oh My God vs. ThunderTalk Gaming Map 1"),
            Some(("oh my god".into(), "thundertalk gaming".into()))
        );
        assert_eq!(
            split_contest("alex bolt vs. tung-lin wu 2026-04-15"),
            Some(("alex bolt".into(), "tung-lin wu".into()))
        );
        assert_eq!(
            split_contest("Green Bay at Chicago Winner?"),
            Some(("green bay".into(), "chicago".into()))
        );
        assert_eq!(split_contest("Will it rain?"), None);
        assert_eq!(split_contest("Will Bitcoin close at or below $100k?"), None);
        assert_eq!(split_contest("Rates at the Fed"), None);
    }
}

#[cfg(test)]
mod order_tests {
    use super::*;

    #[test]
    fn eastern_time_follows_us_daylight_rules() {
        let at = |s: &str| {
            orion_core::time_fmt::parse_rfc3339(s)
                .map(eastern_minutes)
                .ok()
        };
        // 2026-01-11 02:30 UTC is 21:30 EST on the 10th.
        assert_eq!(at("2026-01-11T02:30:00Z"), Some(21 * 60 + 30));
        // 2026-05-08 23:10 UTC is 19:10 EDT.
        assert_eq!(at("2026-05-08T23:10:00Z"), Some(19 * 60 + 10));
        // 2026 DST starts 8 March 07:00 UTC.
        let t = |s: &str| {
            orion_core::time_fmt::parse_rfc3339(s)
                .map(|t| us_daylight_at(t.secs()))
                .ok()
        };
        assert_eq!(t("2026-03-08T06:59:00Z"), Some(false));
        assert_eq!(t("2026-03-08T07:00:00Z"), Some(true));
        assert_eq!(t("2026-11-01T05:59:00Z"), Some(true));
        assert_eq!(t("2026-11-01T06:00:00Z"), Some(false));
    }

    #[test]
    fn title_order_does_not_decide_which_code_is_which() {
        // Kalshi lists PBKS first in the ticker, Mumbai first in the title.
        let m = KalshiMarket {
            ticker: "KXIPLGAME-26APR16PBKSMI-MI".to_owned(),
            event: Some(crate::matching::catalog::KalshiEvent {
                title: Some("Mumbai Indians vs Punjab Kings".to_owned()),
                ..Default::default()
            }),
            ..KalshiMarket::default()
        };
        let f = kalshi_features(&m);
        assert_eq!(f.participants[0].code.as_deref(), Some("MI"));
        assert_eq!(f.yes, YesMeaning::Participant(0));

        // A Polymarket US title listed in the reverse of the slug order:
        // outcome 0 is still the slug's first code (Miami here).
        let p = PolyMarket {
            slug: Some("aec-mlb-mia-wsh-2026-05-08".to_owned()),
            event_titles: vec!["washington nationals vs. miami marlins".to_owned()],
            venue_variant: Some("polymarket-us".to_owned()),
            ..PolyMarket::default()
        };
        let f = poly_features(&p);
        assert_eq!(f.participants[0].name.as_deref(), Some("miami marlins"));
        assert_eq!(f.participants[0].team, team_by_code(League::Mlb, "MIA"));
        assert!(abbreviates("PBKS", "Punjab Kings"));
        assert!(!abbreviates("MI", "Punjab Kings"));
    }
}
