//! Detection-only replay: every recorded event goes through the decision
//! core (alert-only, so nothing executes) under a clock driven only by event
//! timestamps, and the opportunities it reports are gathered into episodes —
//! consecutive detections of one pair less than a second apart count once.

use std::collections::BTreeMap;
use std::time::Duration;

use orion_config::Mode;
use orion_core::{BookEvent, Cash, Clock, Price, SimulatedClock, Timestamp};
use orion_decision::{CoreSettings, DecisionCore, GateDecision, Input, Output, TradeGate};
use orion_matching::detection::{DetectionParams, Opportunity, PairSpec};
use serde::Serialize;

/// A gate that refuses everything: scanning never trades.
struct NoTrades;

impl TradeGate for NoTrades {
    fn review(&mut self, _: &Opportunity, _: Timestamp) -> GateDecision {
        GateDecision::Refuse {
            reason: "scan".into(),
        }
    }
}

/// One pair's findings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PairFindings {
    pub episodes: u64,
    pub detections: u64,
    pub best_net_profit: Cash,
    pub best_average_edge: Price,
    pub first_seen: Option<Timestamp>,
    #[serde(skip)]
    last_seen: Option<Timestamp>,
}

/// What a scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScanReport {
    pub events: u64,
    pub evaluations: u64,
    pub detections: u64,
    pub episodes: u64,
    pub suspensions: u64,
    pub resyncs: u64,
    pub first_event: Option<Timestamp>,
    pub last_event: Option<Timestamp>,
    pub pairs: BTreeMap<String, PairFindings>,
}

/// The gap after which a new detection of a pair starts a new episode.
const EPISODE_GAP: Duration = Duration::from_secs(1);

/// Replays `events` (in recording order) and reports what detection saw.
pub fn scan<E>(
    events: impl IntoIterator<Item = Result<BookEvent, E>>,
    pairs: Vec<PairSpec>,
    detection: DetectionParams,
    max_book_age: Duration,
) -> Result<ScanReport, E> {
    scan_with(events, pairs, detection, max_book_age, max_book_age, |_| {})
}

/// [`scan`] with per-venue staleness limits and a progress callback (called
/// with the event count every 65,536 events).
pub fn scan_with<E>(
    events: impl IntoIterator<Item = Result<BookEvent, E>>,
    pairs: Vec<PairSpec>,
    detection: DetectionParams,
    max_book_age_kalshi: Duration,
    max_book_age_polymarket: Duration,
    mut progress: impl FnMut(u64),
) -> Result<ScanReport, E> {
    let settings = CoreSettings {
        mode: Mode::AlertOnly,
        auto_execute: false,
        detection,
        max_book_age_kalshi,
        max_book_age_polymarket,
    };
    let mut core = DecisionCore::new(settings, pairs);
    let clock = SimulatedClock::new(Timestamp::ZERO);
    let mut gate = NoTrades;
    let mut out = Vec::with_capacity(16);
    let mut report = ScanReport::default();
    let mut next_tick: Option<Timestamp> = None;
    let mut seen = 0u64;
    for event in events {
        let event = event?;
        seen += 1;
        if seen.is_multiple_of(65_536) {
            progress(seen);
        }
        let now = clock.advance_to(event.received_at);
        report.first_event.get_or_insert(now);
        report.last_event = Some(now);
        if next_tick.is_none_or(|t| now >= t) {
            core.process(Input::Tick, now, &mut gate, &mut out);
            next_tick = Some(now.saturating_add(Duration::from_secs(1)));
        }
        core.process(Input::Book(event), clock.now(), &mut gate, &mut out);
        for output in out.drain(..) {
            match output {
                Output::Detected(o) => {
                    report.detections += 1;
                    let findings = report.pairs.entry(o.pair_id.to_string()).or_default();
                    findings.detections += 1;
                    if findings
                        .last_seen
                        .is_none_or(|t| now.since(t) > EPISODE_GAP)
                    {
                        findings.episodes += 1;
                        report.episodes += 1;
                    }
                    findings.first_seen.get_or_insert(now);
                    findings.last_seen = Some(now);
                    findings.best_net_profit = findings.best_net_profit.max(o.net_profit);
                    findings.best_average_edge = findings.best_average_edge.max(o.average_edge);
                }
                Output::PairSuspended { .. } => report.suspensions += 1,
                Output::Resync(_) => report.resyncs += 1,
                _ => {}
            }
        }
    }
    let stats = core.stats();
    report.events = stats.events;
    report.evaluations = stats.evaluations;
    Ok(report)
}
