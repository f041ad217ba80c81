//! Blocking, scoring, resolution-term comparison, orientation and one-to-one
//! assignment.
//!
//! The matcher is a set of hard rules with a score for ranking: any
//! disagreement that changes what a contract pays (threshold, comparator,
//! period, market type, event date, participants, league) is a *blocking*
//! flag and the pair is never proposed, whatever its text similarity. A
//! wrong pair is a guaranteed loss; a missed pair is only a missed trade.

use std::collections::{HashMap, HashSet};

use orion_core::ids::{InstrumentId, MarketId, Venue};
use serde::{Deserialize, Serialize};

use super::catalog::{KalshiMarket, PolyMarket};
use super::entities::{Kind, Period, Threshold, Unit};
use super::features::{
    Features, Participant, SlotBasis, SlotMeaning, YesMeaning, kalshi_features, poly_features,
};
use super::normalize::is_weak_name_word;

/// Matching knobs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MatchConfig {
    /// Close/expiration times further apart than this are flagged
    /// (`close_time_differs`). Kalshi game markets close days after the
    /// game, so this is a flag, not a block; the event *date* is compared
    /// separately and does block.
    pub close_time_tolerance_secs: i64,
    /// Proposals below this score (basis points, 0..=10000) are dropped.
    pub min_score_bps: u16,
    /// A blocking key shared by more markets than this says nothing about
    /// identity ("bitcoin" in a ladder of 500 strikes) and is skipped.
    pub max_posting: usize,
    /// Keep the blocked candidate pairs and their flags in the outcome (for
    /// evaluation and review).
    pub keep_rejections: bool,
    /// Worker threads for feature extraction and scoring; 0 uses one per
    /// available core. Results do not depend on it.
    pub threads: usize,
}

impl Default for MatchConfig {
    fn default() -> Self {
        MatchConfig {
            close_time_tolerance_secs: 36 * 3600,
            min_score_bps: 7000,
            max_posting: 256,
            keep_rejections: false,
            threads: 0,
        }
    }
}

/// A named difference between the two markets of a candidate pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    // Blocking: the two contracts would pay on different events.
    ThresholdDiffers,
    DirectionDiffers,
    /// "above X" against "at least X": both sides lose at exactly X.
    ComparatorBoundaryDiffers,
    /// A closing value against a high or low over a window ("above $100k on
    /// Dec 31" against "reach $100k by Dec 31").
    MeasureDiffers,
    UnitDiffers,
    PeriodDiffers,
    MarketTypeDiffers,
    LeagueDiffers,
    EventDateDiffers,
    /// One side states a date or month, the other none.
    EventDateUnknown,
    SeasonDiffers,
    /// Scheduled start times more than 90 minutes apart (another game of a
    /// doubleheader).
    EventTimeDiffers,
    ParticipantsDiffer,
    ParticipantsAmbiguous,
    SubjectDiffers,
    OrientationUnknown,
    /// An inverted head-to-head pair where a draw pays NO on both venues.
    DrawPossible,
    // Informational: the operator should look, the pair may still be good.
    /// Same fixture, dates one day apart (tennis, MMA: one meeting per event).
    EventDateOneDayApart,
    CloseTimeDiffers,
    ResolutionSourceDiffers,
    ResolutionSourceUnknown,
    /// Polymarket published no outcomes: outcome 0 (long side) is taken to be
    /// the first participant of the slug, by the venue's convention.
    OrientationByConvention,
    /// "Will X win" against "Will Y win": valid only in a two-way contest.
    TwoWayAssumed,
    /// One side does not state the year.
    YearUnstated,
    /// One side states no unit ("100k" against "$100k").
    UnitUnstated,
    /// The Kalshi record is a bare ticker; everything came from parsing it.
    ThinRecord,
    ThresholdFromTicker,
}

impl Flag {
    /// Whether this difference forbids proposing the pair.
    pub fn blocks(self) -> bool {
        matches!(
            self,
            Flag::ThresholdDiffers
                | Flag::DirectionDiffers
                | Flag::ComparatorBoundaryDiffers
                | Flag::MeasureDiffers
                | Flag::UnitDiffers
                | Flag::PeriodDiffers
                | Flag::MarketTypeDiffers
                | Flag::LeagueDiffers
                | Flag::EventDateDiffers
                | Flag::EventDateUnknown
                | Flag::SeasonDiffers
                | Flag::EventTimeDiffers
                | Flag::ParticipantsDiffer
                | Flag::ParticipantsAmbiguous
                | Flag::SubjectDiffers
                | Flag::OrientationUnknown
                | Flag::DrawPossible
        )
    }
}

/// Whether Kalshi YES maps to Polymarket's affirmative outcome or to its
/// negation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Orientation {
    /// Kalshi YES pays exactly when Polymarket "Yes" pays (for a market whose
    /// outcomes are participants: the first-listed participant, outcome 0,
    /// the long side).
    Direct,
    /// Kalshi YES pays exactly when Polymarket "No" pays ("above X" against
    /// "at or below X"; "Will A win" against "Will B win"), or the second
    /// participant outcome.
    Inverted,
}

/// The Polymarket outcome one Kalshi outcome corresponds to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeMap {
    /// Index into the market's `outcomes` / `clobTokenIds` (`None` when the
    /// source gave only a team-to-token map).
    pub outcome_index: Option<u8>,
    /// Outcome text ("Yes", "Nuggets", "long").
    pub outcome: String,
    pub token: Option<InstrumentId>,
}

/// A proposed pair, for an operator to confirm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub kalshi: MarketId,
    /// Condition id when known, else the slug (the key labels use too).
    pub polymarket: MarketId,
    pub polymarket_slug: Option<String>,
    /// What the operator reads when confirming: the Kalshi market (or event)
    /// title with its YES sub-title, and the Polymarket question (or event
    /// title).
    pub kalshi_title: Option<String>,
    pub polymarket_title: Option<String>,
    /// The Polymarket token that pays exactly when Kalshi YES pays.
    pub polymarket_yes_token: Option<InstrumentId>,
    /// The Polymarket token that pays exactly when Kalshi NO pays.
    pub polymarket_no_token: Option<InstrumentId>,
    pub orientation: Orientation,
    pub kalshi_yes: OutcomeMap,
    pub kalshi_no: OutcomeMap,
    pub orientation_basis: SlotBasis,
    /// 0..=10000. A similarity, not money: integer basis points so that
    /// proposals sort and compare exactly.
    pub score_bps: u16,
    pub flags: Vec<Flag>,
    pub reasons: Vec<String>,
}

/// A candidate pair that was scored but blocked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub kalshi_ticker: String,
    pub polymarket_key: String,
    pub score_bps: u16,
    pub flags: Vec<Flag>,
}

/// What one matching run produced.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MatchOutcome {
    pub proposals: Vec<Proposal>,
    /// Pairs that blocking let through to scoring (compare with N x M).
    pub pairs_scored: usize,
    pub rejections: Vec<Rejection>,
    /// Markets that could not be used (invalid identifiers).
    pub skipped: Vec<String>,
}

/// The comparison of one candidate pair.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub score_bps: u16,
    pub flags: Vec<Flag>,
    pub reasons: Vec<String>,
    /// Index into the Polymarket features' slots of the outcome Kalshi YES
    /// maps to.
    pub yes_slot: Option<usize>,
    pub no_slot: Option<usize>,
}

impl Assessment {
    pub fn blocked(&self) -> bool {
        self.flags.iter().any(|f| f.blocks())
    }
}

/// Fuzzy equality of two name words: equal, or one transliteration apart
/// ("moller"/"moeller"), or a prefix of at least four letters.
fn word_eq(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.len() >= 4 && long.starts_with(short) && long.len() - short.len() <= 3 {
        return true;
    }
    short.len() >= 5 && within_one_edit(short, long)
}

fn within_one_edit(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let (mut i, mut j, mut edits) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            i += 1;
            j += 1;
            continue;
        }
        edits += 1;
        if edits > 1 {
            return false;
        }
        match a.len().cmp(&b.len()) {
            std::cmp::Ordering::Less => j += 1,
            std::cmp::Ordering::Greater => i += 1,
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
        }
    }
    edits + (a.len() - i) + (b.len() - j) <= 1
}

fn name_words(n: &str) -> Vec<&str> {
    n.split([' ', '-'])
        .filter(|w| !w.is_empty() && !super::normalize::is_stopword(w))
        .collect()
}

/// How sure it is that two participants are the same team or player,
/// 0..=100; `None` when they are certainly different.
pub fn participant_strength(a: &Participant, b: &Participant) -> Option<u8> {
    if let (Some(x), Some(y)) = (a.team, b.team) {
        return if x == y { Some(100) } else { None };
    }
    let mut best: u8 = 0;
    let code_eq = match (&a.code, &b.code) {
        (Some(x), Some(y)) if x.len() >= 2 && x.eq_ignore_ascii_case(y) => {
            best = best.max(85);
            true
        }
        _ => false,
    };
    let code_overlap = match (&a.code, &b.code) {
        (Some(x), Some(y)) if x.len() >= 2 && y.len() >= 2 => {
            let (x, y) = (x.to_ascii_lowercase(), y.to_ascii_lowercase());
            x.contains(&y) || y.contains(&x)
        }
        _ => false,
    };
    if let (Some(na), Some(nb)) = (&a.name, &b.name) {
        let wa = name_words(na);
        let wb = name_words(nb);
        let contained = |xs: &[&str], ys: &[&str]| {
            !xs.is_empty() && xs.iter().all(|x| ys.iter().any(|y| word_eq(x, y)))
        };
        let full = contained(&wa, &wb) || contained(&wb, &wa);
        let (shorter, longer) = if wa.len() <= wb.len() {
            (&wa, &wb)
        } else {
            (&wb, &wa)
        };
        let distinctive = shorter
            .iter()
            .any(|w| w.len() >= 3 && !is_weak_name_word(w))
            || (shorter.len() == 1 && longer.last() == shorter.first());
        if full && distinctive {
            // "New York M" and "New York Yankees" share two words but the
            // single-letter disambiguator does not match: not full.
            best = best.max(90);
        } else if full {
            best = best.max(if code_overlap { 70 } else { 40 });
        } else {
            let shared = wa
                .iter()
                .filter(|x| {
                    x.len() >= 4 && !is_weak_name_word(x) && wb.iter().any(|y| word_eq(x, y))
                })
                .count();
            if shared > 0 {
                // Unmatched distinctive words on both sides ("Chennai Super
                // Kings" and "Punjab Kings"): not enough alone.
                best = best.max(if code_overlap { 60 } else { 45 });
            } else if code_overlap && !code_eq {
                best = best.max(30);
            }
        }
    } else if code_overlap && !code_eq {
        // A bare ticker code against a named participant: "MUS" is the tail
        // of the slug code "LORMUS" and begins the surname "musetti". Two
        // independent agreements, so a usable (not strong) match.
        let code_begins_word = |code: &Option<String>, name: &Option<String>| match (code, name) {
            (Some(c), Some(n)) if c.len() >= 3 => {
                let c = c.to_ascii_lowercase();
                name_words(n)
                    .iter()
                    .any(|w| w.len() >= c.len() && w.starts_with(&c))
            }
            _ => false,
        };
        if code_begins_word(&a.code, &b.name) || code_begins_word(&b.code, &a.name) {
            best = best.max(60);
        } else {
            best = best.max(30);
        }
    }
    Some(best)
}

/// Minimum strength for two participants to be taken as the same.
const PARTICIPANT_MIN: u8 = 50;

/// Aligns Kalshi participants with Polymarket participants: `Ok(mapping,
/// strength)` where `mapping[k]` is the Polymarket index of Kalshi
/// participant `k`.
fn align(k: &[Participant], p: &[Participant]) -> Result<(Vec<usize>, u8), Flag> {
    let s = |i: usize, j: usize| participant_strength(&k[i], &p[j]);
    match (k.len(), p.len()) {
        (1, 1) => match s(0, 0) {
            Some(v) if v >= PARTICIPANT_MIN => Ok((vec![0], v)),
            _ => Err(Flag::ParticipantsDiffer),
        },
        (2, 2) => {
            let pair = |a: Option<u8>, b: Option<u8>| match (a, b) {
                (Some(x), Some(y)) => Some(x.min(y)),
                _ => None,
            };
            let straight = pair(s(0, 0), s(1, 1));
            let crossed = pair(s(0, 1), s(1, 0));
            let ok = |v: Option<u8>| v.filter(|&x| x >= PARTICIPANT_MIN);
            match (ok(straight), ok(crossed)) {
                (Some(a), Some(b)) => {
                    // Both ways plausible (two players with one surname):
                    // only a clear margin decides.
                    if a >= b.saturating_add(30) {
                        Ok((vec![0, 1], a))
                    } else if b >= a.saturating_add(30) {
                        Ok((vec![1, 0], b))
                    } else {
                        Err(Flag::ParticipantsAmbiguous)
                    }
                }
                (Some(a), None) => Ok((vec![0, 1], a)),
                (None, Some(b)) => Ok((vec![1, 0], b)),
                (None, None) => Err(Flag::ParticipantsDiffer),
            }
        }
        _ => Err(Flag::ParticipantsDiffer),
    }
}

fn jaccard_bps(a: &[String], b: &[String]) -> u32 {
    if a.is_empty() && b.is_empty() {
        return 0;
    }
    // u64: word lists come from venue text of any length.
    let (mut i, mut j, mut inter) = (0, 0, 0u64);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                inter += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = (a.len() as u64 + b.len() as u64).saturating_sub(inter);
    let bps = (inter * 10_000).checked_div(union).unwrap_or(0);
    // At most 10,000: inter <= union.
    u32::try_from(bps).unwrap_or(10_000)
}

fn name_set(f: &Features) -> Vec<String> {
    let mut v: Vec<String> = f
        .names
        .iter()
        .flat_map(|n| n.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .filter(|w| !is_weak_name_word(w))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Threshold comparison: `Ok(inverted)` or the blocking flag.
fn compare_thresholds(a: &Threshold, b: &Threshold, flags: &mut Vec<Flag>) -> Result<bool, Flag> {
    let (ua, va, upa) = a.value_in_common_unit();
    let (ub, vb, upb) = b.value_in_common_unit();
    if ua != ub {
        if ua == Unit::Count || ub == Unit::Count {
            flags.push(Flag::UnitUnstated);
        } else {
            return Err(Flag::UnitDiffers);
        }
    }
    if (a.comparator.direction() == 0) != (b.comparator.direction() == 0) {
        // A range against a one-sided bound.
        return Err(Flag::DirectionDiffers);
    }
    if va != vb || upa != upb {
        return Err(Flag::ThresholdDiffers);
    }
    if a.comparator == b.comparator {
        return Ok(false);
    }
    if a.comparator.complement() == Some(b.comparator) {
        return Ok(true);
    }
    if a.comparator.direction() == 0 || b.comparator.direction() == 0 {
        return Err(Flag::DirectionDiffers);
    }
    // Same direction with another boundary ("above" / "at least"), or
    // opposite directions that both lose at the strike ("above" / "below").
    Err(Flag::ComparatorBoundaryDiffers)
}

/// Compares one Kalshi market with one Polymarket market.
pub fn assess(k: &Features, p: &Features, cfg: &MatchConfig) -> Assessment {
    let mut flags: Vec<Flag> = Vec::new();
    let mut reasons: Vec<String> = Vec::new();
    let mut score: u32 = 0;

    // League and market shape.
    match (k.league, p.league) {
        (Some(a), Some(b)) if a != b => flags.push(Flag::LeagueDiffers),
        (Some(a), Some(_)) => {
            score += 1500;
            reasons.push(format!("same league ({a:?})"));
        }
        _ => score += 700,
    }
    if k.kind != p.kind {
        flags.push(Flag::MarketTypeDiffers);
        reasons.push(format!("market type {:?} vs {:?}", k.kind, p.kind));
    }
    if k.period != p.period {
        flags.push(Flag::PeriodDiffers);
        reasons.push(format!("period {:?} vs {:?}", k.period, p.period));
    }
    if k.period == Period::Season && p.period == Period::Season && k.season_scope != p.season_scope
    {
        flags.push(Flag::PeriodDiffers);
        reasons.push(format!(
            "season scope {:?} vs {:?}",
            k.season_scope, p.season_scope
        ));
    }
    match (k.season, p.season) {
        (Some(a), Some(b)) if a != b => flags.push(Flag::SeasonDiffers),
        (Some(_), None) | (None, Some(_)) if k.period == Period::Season => {
            flags.push(Flag::YearUnstated);
        }
        _ => {}
    }

    // Dates.
    let mut date_points = 0u32;
    match (k.event_day, p.event_day, k.month, p.month) {
        (Some(a), Some(b), _, _) => {
            let d = (a - b).abs();
            let one_day_ok = k
                .league
                .or(p.league)
                .is_some_and(|l| l.one_fixture_per_pairing());
            if d == 0 {
                date_points = 2500;
                reasons.push("same event date".to_owned());
            } else if d == 1 && one_day_ok {
                date_points = 2000;
                flags.push(Flag::EventDateOneDayApart);
            } else {
                flags.push(Flag::EventDateDiffers);
                reasons.push(format!("event dates {d} day(s) apart"));
            }
        }
        (None, None, Some((ya, ma)), Some((yb, mb))) => {
            if ma != mb {
                flags.push(Flag::EventDateDiffers);
            } else {
                match (ya, yb) {
                    (Some(x), Some(y)) if x != y => flags.push(Flag::EventDateDiffers),
                    (Some(_), Some(_)) => {
                        date_points = 2500;
                        reasons.push("same month".to_owned());
                    }
                    _ => {
                        date_points = 2000;
                        flags.push(Flag::YearUnstated);
                    }
                }
            }
        }
        (Some(day), None, _, None) | (None, Some(day), None, _)
            if k.partial_day.or(p.partial_day).is_some() =>
        {
            let (_, m, d) = orion_core::time_fmt::civil_from_days(day);
            if k.partial_day.or(p.partial_day) == Some((m, d)) {
                date_points = 2000;
                flags.push(Flag::YearUnstated);
            } else {
                flags.push(Flag::EventDateDiffers);
            }
        }
        (None, None, None, None) => {
            date_points = if k.period == Period::Season {
                2000
            } else {
                1000
            };
        }
        _ => flags.push(Flag::EventDateUnknown),
    }
    score += date_points;

    if let (Some(a), Some(b)) = (k.start_minutes_et, p.start_minutes_et) {
        // Circular difference: 23:50 and 00:10 are 20 minutes apart.
        let d = a.abs_diff(b) % 1440;
        if d.min(1440 - d) > 90 {
            flags.push(Flag::EventTimeDiffers);
            reasons.push(format!("start times {a} and {b} minutes after midnight ET"));
        }
    }
    if !k.years.is_empty() && !p.years.is_empty() && !k.years.iter().any(|y| p.years.contains(y)) {
        flags.push(Flag::EventDateDiffers);
        reasons.push(format!("years {:?} vs {:?}", k.years, p.years));
    }

    // Thresholds.
    let mut inverted = false;
    match (&k.threshold, &p.threshold) {
        (Some(a), Some(b)) => match compare_thresholds(a, b, &mut flags) {
            Ok(inv) => {
                inverted = inv;
                score += 2000;
                reasons.push(if inv {
                    "same strike, complementary comparators".to_owned()
                } else {
                    "same strike and comparator".to_owned()
                });
            }
            Err(f) => {
                flags.push(f);
                reasons.push(format!("threshold {:?} vs {:?}", a, b));
            }
        },
        (None, None) => {}
        _ => flags.push(Flag::ThresholdDiffers),
    }
    if let (Some(a), Some(b)) = (k.measure, p.measure)
        && a != b
    {
        flags.push(Flag::MeasureDiffers);
        reasons.push(format!("measure {a:?} vs {b:?}"));
    }

    // Subject: assets, participants, names, words.
    let content = jaccard_bps(&k.content, &p.content);
    let mut mapping: Option<Vec<usize>> = None;
    if !k.assets.is_empty() || !p.assets.is_empty() {
        if k.assets.iter().any(|a| p.assets.contains(a)) {
            score += 3000;
            reasons.push(format!("same asset {:?}", k.assets));
        } else {
            flags.push(Flag::SubjectDiffers);
        }
    } else if !k.participants.is_empty() || !p.participants.is_empty() {
        match align(&k.participants, &p.participants) {
            Ok((map, strength)) => {
                score += u32::from(strength) * 50;
                reasons.push(format!("participants match (strength {strength})"));
                mapping = Some(map);
            }
            Err(f) => {
                flags.push(f);
                reasons.push(format!(
                    "participants {:?} vs {:?}",
                    k.participants
                        .iter()
                        .map(Participant::label)
                        .collect::<Vec<_>>(),
                    p.participants
                        .iter()
                        .map(Participant::label)
                        .collect::<Vec<_>>()
                ));
            }
        }
    } else {
        let (kn, pn) = (name_set(k), name_set(p));
        let names = jaccard_bps(&kn, &pn);
        // Without participants or assets, the words must carry identity:
        // when both name people or places, the names must agree ("Gavin
        // Newsom" and "Josh Shapiro" share every other word of a
        // nomination question); otherwise most words must.
        let ok = if !kn.is_empty() && !pn.is_empty() {
            names >= 5000
        } else {
            content >= 5000
        };
        if !ok {
            flags.push(Flag::SubjectDiffers);
        }
        score += names * 4000 / 10_000 + content * 3000 / 10_000;
        if k.offices != p.offices && !k.offices.is_empty() && !p.offices.is_empty() {
            flags.push(Flag::SubjectDiffers);
        }
    }
    score += content * 500 / 10_000;

    // Orientation: which Polymarket outcome pays when Kalshi YES pays.
    let slot_of = |m: SlotMeaning| p.slots.iter().position(|s| s.meaning == m);
    let (yes_slot, no_slot) = match (k.yes, &mapping) {
        (YesMeaning::Participant(ki), Some(map)) => {
            let pj = map.get(ki).copied();
            match pj {
                Some(pj) if slot_of(SlotMeaning::Participant(pj)).is_some() => {
                    let other = (0..p.participants.len()).find(|&x| x != pj);
                    (
                        slot_of(SlotMeaning::Participant(pj)),
                        other.and_then(|o| slot_of(SlotMeaning::Participant(o))),
                    )
                }
                Some(pj) => match p.yes {
                    YesMeaning::Participant(q) if q == pj => {
                        (slot_of(SlotMeaning::Yes), slot_of(SlotMeaning::No))
                    }
                    YesMeaning::Participant(_)
                        if p.participants.len() == 2 && k.participants.len() == 2 =>
                    {
                        flags.push(Flag::TwoWayAssumed);
                        if k.league.or(p.league).is_some_and(|l| l.draws_possible()) {
                            flags.push(Flag::DrawPossible);
                        }
                        (slot_of(SlotMeaning::No), slot_of(SlotMeaning::Yes))
                    }
                    _ => (None, None),
                },
                None => (None, None),
            }
        }
        (YesMeaning::Proposition, _) if p.yes == YesMeaning::Proposition => {
            if inverted {
                (slot_of(SlotMeaning::No), slot_of(SlotMeaning::Yes))
            } else {
                (slot_of(SlotMeaning::Yes), slot_of(SlotMeaning::No))
            }
        }
        _ => (None, None),
    };
    if yes_slot.is_none() || no_slot.is_none() {
        flags.push(Flag::OrientationUnknown);
    } else if matches!(
        p.slot_basis,
        SlotBasis::SlugOrderConvention | SlotBasis::YesNoConvention
    ) {
        flags.push(Flag::OrientationByConvention);
    }

    // Resolution terms.
    if let (Some(a), Some(b)) = (k.close_time, p.close_time)
        && (a.secs() - b.secs()).abs() > cfg.close_time_tolerance_secs
    {
        flags.push(Flag::CloseTimeDiffers);
        reasons.push(format!(
            "close times {} h apart",
            (a.secs() - b.secs()).abs() / 3600
        ));
    }
    if !k.resolution_sources.is_empty() && !p.resolution_sources.is_empty() {
        if !k
            .resolution_sources
            .iter()
            .any(|s| p.resolution_sources.contains(s))
        {
            flags.push(Flag::ResolutionSourceDiffers);
            reasons.push(format!(
                "resolution sources {:?} vs {:?}",
                k.resolution_sources, p.resolution_sources
            ));
        }
    } else if k.kind == Kind::Threshold {
        flags.push(Flag::ResolutionSourceUnknown);
    }
    if k.thin {
        flags.push(Flag::ThinRecord);
    }
    if k.threshold_from_ticker {
        flags.push(Flag::ThresholdFromTicker);
    }
    flags.sort();
    flags.dedup();
    Assessment {
        score_bps: u16::try_from(score.min(10_000)).unwrap_or(10_000),
        flags,
        reasons,
        yes_slot,
        no_slot,
    }
}

/// Keys under which a market is indexed: entities (teams, codes,
/// distinctive name words, assets, content words for other markets),
/// each combined with a time bucket.
fn entity_keys(f: &Features) -> Vec<String> {
    let mut keys = Vec::new();
    for p in &f.participants {
        if let Some(t) = p.team {
            keys.push(format!("t{:?}{}", t.league, t.index));
        }
        if let Some(c) = &p.code
            && c.len() >= 2
        {
            keys.push(format!("c{}", c.to_ascii_lowercase()));
        }
        if let Some(n) = &p.name {
            for w in name_words(n) {
                if w.len() >= 3 && !is_weak_name_word(w) {
                    keys.push(format!("n{w}"));
                    // Where a bare ticker code ("MUS") may meet this name.
                    if let Some(pre) = w.get(..3) {
                        keys.push(format!("k{pre}"));
                    }
                }
            }
        } else if let Some(c) = &p.code
            && c.len() >= 3
            && let Some(pre) = c.get(..3)
        {
            keys.push(format!("k{}", pre.to_ascii_lowercase()));
        }
    }
    for a in &f.assets {
        keys.push(format!("a{a}"));
    }
    if f.participants.is_empty() && f.assets.is_empty() {
        for n in name_set(f) {
            keys.push(format!("n{n}"));
        }
        for w in &f.content {
            if w.len() >= 4 && !is_weak_name_word(w) && !w.bytes().all(|b| b.is_ascii_digit()) {
                keys.push(format!("w{w}"));
            }
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

fn own_bucket(f: &Features) -> String {
    if let Some(d) = f.event_day {
        format!("d{d}")
    } else if let Some((y, m)) = f.month {
        match y {
            Some(y) => format!("m{y}-{m}"),
            None => format!("m?-{m}"),
        }
    } else if let Some(s) = f.season {
        format!("s{s}")
    } else {
        "x".to_owned()
    }
}

/// Buckets a Kalshi market looks up: its own, the neighbouring days, the
/// same month without a year, and "no date".
fn query_buckets(f: &Features) -> Vec<String> {
    let mut v = vec![own_bucket(f), "x".to_owned()];
    if let Some(d) = f.event_day {
        v.push(format!("d{}", d - 1));
        v.push(format!("d{}", d + 1));
    }
    if let Some((_, m)) = f.month {
        v.push(format!("m?-{m}"));
    }
    if f.season.is_some() {
        v.push("x".to_owned());
    }
    v.sort();
    v.dedup();
    v
}

/// Extracted features of both catalogs; reusable across runs.
#[derive(Debug)]
pub struct PreparedCatalogs<'a> {
    pub kalshi: Vec<(&'a KalshiMarket, Features)>,
    pub poly: Vec<(&'a PolyMarket, Features)>,
}

pub fn prepare<'a>(kalshi: &'a [KalshiMarket], poly: &'a [PolyMarket]) -> PreparedCatalogs<'a> {
    prepare_with(kalshi, poly, 0)
}

fn prepare_with<'a>(
    kalshi: &'a [KalshiMarket],
    poly: &'a [PolyMarket],
    threads: usize,
) -> PreparedCatalogs<'a> {
    PreparedCatalogs {
        kalshi: par_map(kalshi, threads, |m| (m, kalshi_features(m))),
        poly: par_map(poly, threads, |m| (m, poly_features(m))),
    }
}

/// Maps `f` over `items` on up to `threads` scoped threads (0: one per
/// available core), keeping the order. Feature extraction and candidate
/// scoring are independent per market, so this is the whole of the
/// parallelism; small inputs stay on the calling thread.
fn par_map<'a, T: Sync, R: Send>(
    items: &'a [T],
    threads: usize,
    f: impl Fn(&'a T) -> R + Sync,
) -> Vec<R> {
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    } else {
        threads
    }
    .clamp(1, 16);
    if threads == 1 || items.len() < 256 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for h in handles {
            match h.join() {
                Ok(mut v) => out.append(&mut v),
                // A panic in feature code is a bug; re-raise it on the
                // caller's thread rather than return a partial result.
                Err(e) => std::panic::resume_unwind(e),
            }
        }
        out
    })
}

/// Matches two catalogs: blocking, scoring, one-to-one assignment.
pub fn match_catalogs(
    kalshi: &[KalshiMarket],
    poly: &[PolyMarket],
    cfg: &MatchConfig,
) -> MatchOutcome {
    let prepared = prepare_with(kalshi, poly, cfg.threads);
    match_prepared(&prepared, cfg)
}

/// A scored, unblocked candidate pair.
struct Cand {
    score: u16,
    k: usize,
    p: usize,
    yes: usize,
    no: usize,
    flags: Vec<Flag>,
    reasons: Vec<String>,
}

pub fn match_prepared(prep: &PreparedCatalogs<'_>, cfg: &MatchConfig) -> MatchOutcome {
    let mut out = MatchOutcome::default();
    // Index Polymarket markets.
    let mut index: HashMap<String, Vec<u32>> = HashMap::new();
    for (pi, (_, f)) in prep.poly.iter().enumerate() {
        let bucket = own_bucket(f);
        let Ok(pi) = u32::try_from(pi) else { break };
        for k in entity_keys(f) {
            index.entry(format!("{k}|{bucket}")).or_default().push(pi);
        }
    }
    // Score each Kalshi market's candidates.
    let indexed: Vec<(usize, &Features)> = prep
        .kalshi
        .iter()
        .enumerate()
        .map(|(ki, (_, kf))| (ki, kf))
        .collect();
    let per_market = par_map(&indexed, cfg.threads, |&(ki, kf)| {
        let mut seen: HashSet<u32> = HashSet::new();
        let buckets = query_buckets(kf);
        for key in entity_keys(kf) {
            for b in &buckets {
                if let Some(list) = index.get(&format!("{key}|{b}"))
                    && list.len() <= cfg.max_posting
                {
                    seen.extend(list.iter().copied());
                }
            }
        }
        let mut ps: Vec<u32> = seen.into_iter().collect();
        ps.sort_unstable();
        let mut cands = Vec::new();
        let mut rejections = Vec::new();
        let mut scored = 0usize;
        for pi in ps {
            let pi = pi as usize;
            let Some((pm, pf)) = prep.poly.get(pi) else {
                continue;
            };
            scored += 1;
            let a = assess(kf, pf, cfg);
            if a.blocked() {
                if cfg.keep_rejections {
                    rejections.push(Rejection {
                        kalshi_ticker: kf.key.clone(),
                        polymarket_key: pm.key().unwrap_or_default().to_owned(),
                        score_bps: a.score_bps,
                        flags: a.flags.iter().copied().filter(|f| f.blocks()).collect(),
                    });
                }
                continue;
            }
            if a.score_bps < cfg.min_score_bps {
                continue;
            }
            if let (Some(yes), Some(no)) = (a.yes_slot, a.no_slot) {
                cands.push(Cand {
                    score: a.score_bps,
                    k: ki,
                    p: pi,
                    yes,
                    no,
                    flags: a.flags,
                    reasons: a.reasons,
                });
            }
        }
        (cands, rejections, scored)
    });
    let mut cands: Vec<Cand> = Vec::new();
    for (mut c, mut r, n) in per_market {
        cands.append(&mut c);
        out.rejections.append(&mut r);
        out.pairs_scored += n;
    }
    // Greedy one-to-one assignment by score. After the hard rules nearly
    // every Kalshi market has at most one surviving candidate outcome, so
    // greedy equals the optimum here; where it does not, taking the
    // strongest pair first is the conservative choice (it is the pair the
    // evidence supports best). A Kalshi market is used once, and each
    // Polymarket outcome is the YES-equivalent of at most one Kalshi market
    // (both team markets of one game pair with the same Polymarket market,
    // on its two outcomes).
    cands.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then_with(|| prep.kalshi[a.k].1.key.cmp(&prep.kalshi[b.k].1.key))
            .then_with(|| prep.poly[a.p].1.key.cmp(&prep.poly[b.p].1.key))
    });
    // A Polymarket outcome claimed at the top score by Kalshi markets of
    // two games with different start times (a doubleheader: same teams, same
    // day) cannot be told apart: propose neither rather than guess. Two
    // listings of one game (same start, or none stated) are both correct,
    // and the greedy pass keeps one.
    // (Polymarket market, outcome slot) -> (top score, start times at it)
    type SlotKey = (usize, usize);
    let mut top: HashMap<SlotKey, (u16, HashSet<Option<u32>>)> = HashMap::new();
    for c in &cands {
        let e = top.entry((c.p, c.yes)).or_insert((c.score, HashSet::new()));
        if c.score == e.0 {
            e.1.insert(prep.kalshi[c.k].1.start_hhmm);
        }
    }
    let contested: HashSet<(usize, usize)> = top
        .into_iter()
        .filter(|(_, (_, starts))| starts.iter().flatten().count() > 1)
        .map(|(slot, _)| slot)
        .collect();
    let mut used_k: HashSet<usize> = HashSet::new();
    let mut used_slot: HashSet<(usize, usize)> = HashSet::new();
    for c in cands {
        if used_k.contains(&c.k) || used_slot.contains(&(c.p, c.yes)) {
            continue;
        }
        if contested.contains(&(c.p, c.yes)) {
            if cfg.keep_rejections {
                out.rejections.push(Rejection {
                    kalshi_ticker: prep.kalshi[c.k].1.key.clone(),
                    polymarket_key: prep.poly[c.p].1.key.clone(),
                    score_bps: c.score,
                    flags: vec![Flag::ParticipantsAmbiguous],
                });
            }
            continue;
        }
        let (km, _) = &prep.kalshi[c.k];
        let (pm, pf) = &prep.poly[c.p];
        match build_proposal(km, pm, pf, c.yes, c.no, c.score, c.flags, c.reasons) {
            Ok(prop) => {
                used_k.insert(c.k);
                used_slot.insert((c.p, c.yes));
                out.proposals.push(prop);
            }
            Err(e) => out.skipped.push(e),
        }
    }
    out.proposals
        .sort_by(|a, b| a.kalshi.symbol.cmp(&b.kalshi.symbol));
    out
}

#[allow(clippy::too_many_arguments)]
fn build_proposal(
    km: &KalshiMarket,
    pm: &PolyMarket,
    pf: &Features,
    yes: usize,
    no: usize,
    score: u16,
    flags: Vec<Flag>,
    reasons: Vec<String>,
) -> Result<Proposal, String> {
    let kalshi =
        MarketId::new(Venue::Kalshi, &km.ticker).map_err(|e| format!("{}: {e}", km.ticker))?;
    let pkey = pm.key().unwrap_or_default();
    let polymarket = MarketId::new(Venue::Polymarket, pkey).map_err(|e| format!("{pkey}: {e}"))?;
    let map = |i: usize| -> Result<OutcomeMap, String> {
        let s = pf
            .slots
            .get(i)
            .ok_or_else(|| format!("{pkey}: no outcome {i}"))?;
        let token = match &s.token_id {
            Some(t) => Some(
                InstrumentId::new(Venue::Polymarket, t)
                    .map_err(|e| format!("{pkey}: token: {e}"))?,
            ),
            None => None,
        };
        Ok(OutcomeMap {
            outcome_index: s.index,
            outcome: s.text.clone(),
            token,
        })
    };
    let kalshi_yes = map(yes)?;
    let kalshi_no = map(no)?;
    let direct = match pf.slots.get(yes).map(|s| s.meaning) {
        Some(SlotMeaning::Yes) => true,
        Some(SlotMeaning::No) => false,
        _ => match kalshi_yes.outcome_index {
            Some(i) => i == 0,
            None => matches!(
                pf.slots.get(yes).map(|s| s.meaning),
                Some(SlotMeaning::Participant(0))
            ),
        },
    };
    let event_title = km.event.as_ref().and_then(|e| e.title.clone());
    let kalshi_title = match (km.title.clone().or(event_title), &km.yes_sub_title) {
        (Some(t), Some(y)) => Some(format!("{t} [YES: {y}]")),
        (t, _) => t,
    };
    Ok(Proposal {
        kalshi,
        polymarket,
        polymarket_slug: pm.slug.clone(),
        kalshi_title,
        polymarket_title: pm
            .question
            .clone()
            .or_else(|| pm.event_titles.first().cloned())
            .or_else(|| pm.x_description.clone()),
        polymarket_yes_token: kalshi_yes.token.clone(),
        polymarket_no_token: kalshi_no.token.clone(),
        orientation: if direct {
            Orientation::Direct
        } else {
            Orientation::Inverted
        },
        kalshi_yes,
        kalshi_no,
        orientation_basis: pf.slot_basis,
        score_bps: score,
        flags,
        reasons,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::entities::Comparator;

    fn part(code: Option<&str>, name: Option<&str>) -> Participant {
        Participant {
            code: code.map(str::to_owned),
            name: name.map(str::to_owned),
            team: None,
        }
    }

    #[test]
    fn names_match_across_spellings() {
        let s =
            |a, b| participant_strength(&part(None, Some(a)), &part(None, Some(b))).unwrap_or(0);
        assert!(s("bolt", "alex bolt") >= PARTICIPANT_MIN);
        assert!(s("wu", "tung-lin wu") >= PARTICIPANT_MIN);
        assert!(s("moller", "elmer moeller") >= PARTICIPANT_MIN);
        assert!(s("ferreira silva", "frederico ferreira silva") >= PARTICIPANT_MIN);
        assert!(s("taka", "yasutaka uchiyama") < PARTICIPANT_MIN);
        assert!(s("chennai super kings", "punjab kings") < PARTICIPANT_MIN);
        assert!(s("new york m", "new york yankees") < PARTICIPANT_MIN);
        assert!(within_one_edit("moller", "moeller"));
        assert!(!within_one_edit("moller", "muller1"));
    }

    #[test]
    fn boundary_and_direction_rules() {
        let t = |c, v| Threshold {
            comparator: c,
            value: v,
            upper: None,
            unit: Unit::Usd,
        };
        let mut f = Vec::new();
        assert_eq!(
            compare_thresholds(&t(Comparator::Above, 1), &t(Comparator::Above, 1), &mut f),
            Ok(false)
        );
        assert_eq!(
            compare_thresholds(&t(Comparator::Above, 1), &t(Comparator::AtMost, 1), &mut f),
            Ok(true)
        );
        assert_eq!(
            compare_thresholds(&t(Comparator::Above, 1), &t(Comparator::Below, 1), &mut f),
            Err(Flag::ComparatorBoundaryDiffers)
        );
        assert_eq!(
            compare_thresholds(&t(Comparator::Above, 1), &t(Comparator::AtLeast, 1), &mut f),
            Err(Flag::ComparatorBoundaryDiffers)
        );
        assert_eq!(
            compare_thresholds(&t(Comparator::Above, 1), &t(Comparator::Above, 2), &mut f),
            Err(Flag::ThresholdDiffers)
        );
    }
}
