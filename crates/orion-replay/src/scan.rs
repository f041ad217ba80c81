//! Detection-only replay: every recorded event goes through the decision
//! core (alert-only, so nothing executes) under a clock driven only by event
//! timestamps, and the opportunities it reports are gathered into episodes —
//! consecutive detections of one pair less than a second apart count once.
//!
//! Two entry points share one loop ([`Replay`]): [`scan_with`] takes any
//! stream of [`BookEvent`]s; [`scan_binary`] reads binary recordings in
//! place (instruments mapped to the core's slots once per file, levels
//! decoded into reused buffers), which is the throughput path: it neither
//! allocates nor hashes per event, and reports exactly what `scan_with`
//! reports for the same events.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::time::Duration;

use orion_config::Mode;
use orion_core::{BookEvent, BookEventKind, Cash, Price, Timestamp};
use orion_decision::{
    BookChange, BookUpdate, CoreSettings, DecisionCore, GateDecision, Input, InstrumentSlot,
    Output, TradeGate,
};
use orion_matching::detection::{DetectionParams, Opportunity, PairSpec};
use orion_recording::{BinaryReader, DecodedEvent, RecordingError};
use serde::Serialize;

/// The decision core's view of one decoded recording event, borrowing its
/// levels (the replay's hot path: no copy, no allocation).
pub(crate) fn book_update(event: &DecodedEvent, slot: InstrumentSlot) -> BookUpdate<'_> {
    let change = if event.snapshot {
        BookChange::Snapshot {
            bids: &event.bids,
            asks: &event.asks,
        }
    } else {
        BookChange::Delta {
            updates: &event.updates,
        }
    };
    BookUpdate {
        slot,
        change,
        seq: event.seq,
        exchange_ts: event.exchange_ts,
        received_at: event.received_at,
    }
}

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

/// How often the progress callback runs, in events.
const PROGRESS_EVERY: u64 = 65_536;

/// The replay loop's state: the core, the clock (driven only by event
/// timestamps, never backwards), the once-a-second staleness tick, and the
/// report being gathered.
struct Replay {
    core: DecisionCore,
    gate: NoTrades,
    out: Vec<Output>,
    report: ScanReport,
    now: Timestamp,
    next_tick: Option<Timestamp>,
    seen: u64,
}

impl Replay {
    fn new(
        pairs: Vec<PairSpec>,
        detection: DetectionParams,
        max_book_age_kalshi: Duration,
        max_book_age_polymarket: Duration,
    ) -> Replay {
        let settings = CoreSettings {
            mode: Mode::AlertOnly,
            auto_execute: false,
            detection,
            max_book_age_kalshi,
            max_book_age_polymarket,
        };
        Replay {
            core: DecisionCore::new(settings, pairs),
            gate: NoTrades,
            out: Vec::with_capacity(16),
            report: ScanReport::default(),
            now: Timestamp::ZERO,
            next_tick: None,
            seen: 0,
        }
    }

    /// Counts an event received at `received_at`, moves the clock to it
    /// (never backwards) and ticks when a second has passed since the last
    /// tick. Returns the new time.
    #[inline]
    fn advance(&mut self, received_at: Timestamp, progress: &mut impl FnMut(u64)) -> Timestamp {
        self.seen += 1;
        if self.seen.is_multiple_of(PROGRESS_EVERY) {
            progress(self.seen);
        }
        let now = self.now.max(received_at);
        self.now = now;
        self.report.first_event.get_or_insert(now);
        self.report.last_event = Some(now);
        if self.next_tick.is_none_or(|t| now >= t) {
            self.core
                .process(Input::Tick, now, &mut self.gate, &mut self.out);
            self.next_tick = Some(now.saturating_add(Duration::from_secs(1)));
        }
        now
    }

    /// Folds what the core reported into the findings.
    #[inline]
    fn gather(&mut self) {
        if self.out.is_empty() {
            return;
        }
        let now = self.now;
        let report = &mut self.report;
        for output in self.out.drain(..) {
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

    fn book_event(&mut self, event: BookEvent, progress: &mut impl FnMut(u64)) {
        let now = self.advance(event.received_at, progress);
        self.core
            .process(Input::Book(event), now, &mut self.gate, &mut self.out);
        self.gather();
    }

    /// One decoded event; `slot` is the core's slot for its instrument, or
    /// `None` when no pair uses it (`instrument` then names it for the core).
    fn decoded_event(
        &mut self,
        event: &DecodedEvent,
        slot: Option<InstrumentSlot>,
        instrument: impl FnOnce() -> Option<orion_core::InstrumentId>,
        progress: &mut impl FnMut(u64),
    ) {
        let now = self.advance(event.received_at, progress);
        match slot {
            Some(slot) => {
                let update = book_update(event, slot);
                self.core
                    .process_book(update, now, &mut self.gate, &mut self.out);
            }
            // Not part of any pair: the core only counts it, but let it do
            // so through its ordinary input (rare, so the copy is fine).
            None => {
                if let Some(instrument) = instrument() {
                    let kind = if event.snapshot {
                        BookEventKind::Snapshot {
                            bids: event.bids.clone(),
                            asks: event.asks.clone(),
                        }
                    } else {
                        BookEventKind::Delta {
                            updates: event.updates.clone(),
                        }
                    };
                    let event = BookEvent {
                        instrument,
                        kind,
                        seq: event.seq,
                        exchange_ts: event.exchange_ts,
                        received_at: event.received_at,
                    };
                    self.core
                        .process(Input::Book(event), now, &mut self.gate, &mut self.out);
                }
            }
        }
        self.gather();
    }

    fn finish(self) -> ScanReport {
        let mut report = self.report;
        let stats = self.core.stats();
        report.events = stats.events;
        report.evaluations = stats.evaluations;
        report
    }
}

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
    let mut replay = Replay::new(
        pairs,
        detection,
        max_book_age_kalshi,
        max_book_age_polymarket,
    );
    for event in events {
        replay.book_event(event?, &mut progress);
    }
    Ok(replay.finish())
}

/// [`scan_with`] over binary recordings, replayed one after the other in
/// the order given, read in place: each file's instruments are mapped to the
/// core's slots once, and events are decoded into one reused buffer. The
/// report is the one `scan_with` gives for the same events; the first
/// corrupt or truncated record ends the scan with its error.
pub fn scan_binary<R: BufRead>(
    readers: impl IntoIterator<Item = BinaryReader<R>>,
    pairs: Vec<PairSpec>,
    detection: DetectionParams,
    max_book_age_kalshi: Duration,
    max_book_age_polymarket: Duration,
    mut progress: impl FnMut(u64),
) -> Result<ScanReport, RecordingError> {
    let mut replay = Replay::new(
        pairs,
        detection,
        max_book_age_kalshi,
        max_book_age_polymarket,
    );
    let mut event = DecodedEvent::default();
    for mut reader in readers {
        // The file's instrument number -> the core's slot (None: unpaired).
        let mut slots: Vec<Option<InstrumentSlot>> = Vec::new();
        while reader.read_into(&mut event)? {
            let defined = reader.instruments();
            if slots.len() < defined.len() {
                let core = &replay.core;
                slots.extend(defined[slots.len()..].iter().map(|i| core.slot(i)));
            }
            let slot = slots.get(event.instrument).copied().flatten();
            replay.decoded_event(
                &event,
                slot,
                || defined.get(event.instrument).cloned(),
                &mut progress,
            );
        }
    }
    Ok(replay.finish())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

    use std::io::Cursor;

    use orion_core::Quantity;
    use orion_recording::BinaryWriter;

    use super::*;
    use crate::{GeneratorConfig, generate};

    fn params() -> DetectionParams {
        DetectionParams {
            min_edge: Price::parse("0.01").unwrap(),
            min_edge_beyond_horizon: Price::parse("0.03").unwrap(),
            horizon_days: 90,
            min_profit: Cash::parse("0.50").unwrap(),
            slippage: Price::parse("0.005").unwrap(),
            max_size: Quantity::MAX,
        }
    }

    /// A generated recording split into `files` binary files (each with its
    /// own instrument numbering and timestamp base), and its pairs.
    fn recording(files: usize) -> (Vec<Vec<u8>>, Vec<PairSpec>) {
        let config = GeneratorConfig {
            pairs: 12,
            events: 60_000,
            seed: 7,
            planted: 4,
            fake: 4,
            ..GeneratorConfig::default()
        };
        let per_file = config.events.div_ceil(files as u64);
        let mut out: Vec<Vec<u8>> = vec![Vec::new(); files];
        let mut writers: Vec<BinaryWriter<&mut Vec<u8>>> = out
            .iter_mut()
            .map(|b| BinaryWriter::new(b, config.start).unwrap())
            .collect();
        let mut written = 0u64;
        let generated = generate(&config, |e: &BookEvent| {
            let file = usize::try_from(written / per_file).unwrap();
            written += 1;
            writers[file].write_event(e)
        })
        .unwrap();
        drop(writers);
        (out, generated.pairs)
    }

    fn by_iterator(files: &[Vec<u8>], pairs: Vec<PairSpec>, age: Duration) -> ScanReport {
        let events = files
            .iter()
            .flat_map(|f| BinaryReader::new(Cursor::new(f)).unwrap());
        scan_with(events, pairs, params(), age, age, |_| {}).unwrap()
    }

    fn in_place(files: &[Vec<u8>], pairs: Vec<PairSpec>, age: Duration) -> ScanReport {
        let readers = files
            .iter()
            .map(|f| BinaryReader::new(Cursor::new(f)).unwrap());
        scan_binary(readers, pairs, params(), age, age, |_| {}).unwrap()
    }

    #[test]
    fn in_place_scan_reports_what_the_event_scan_reports() {
        let (files, pairs) = recording(1);
        let expected = by_iterator(&files, pairs.clone(), Duration::from_secs(30));
        // The comparison only means something if detection found things.
        assert_eq!(expected.events, 60_000);
        assert!(expected.detections > 0 && expected.episodes > 0);
        assert!(expected.evaluations > 0);
        assert_eq!(in_place(&files, pairs, Duration::from_secs(30)), expected);
    }

    #[test]
    fn in_place_scan_maps_instruments_per_file() {
        // Three files: instrument numbers restart in each, so a mapping kept
        // across files would send events to the wrong books.
        let (files, pairs) = recording(3);
        let expected = by_iterator(&files, pairs.clone(), Duration::from_secs(30));
        assert!(expected.detections > 0);
        assert_eq!(in_place(&files, pairs, Duration::from_secs(30)), expected);
    }

    #[test]
    fn in_place_scan_counts_unpaired_instruments_and_suspends_stale_pairs() {
        let (files, mut pairs) = recording(2);
        // Drop two pairs: their instruments' events reach no book but count.
        pairs.truncate(pairs.len() - 2);
        // Short limits: pairs go stale between events and resume.
        let age = Duration::from_millis(40);
        let expected = by_iterator(&files, pairs.clone(), age);
        assert_eq!(expected.events, 60_000);
        assert!(expected.suspensions > 0);
        assert_eq!(in_place(&files, pairs, age), expected);
    }

    #[test]
    fn in_place_scan_stops_at_a_corrupt_record() {
        let (mut files, pairs) = recording(1);
        let middle = files[0].len() / 2;
        files[0][middle] ^= 0x40;
        let readers = files
            .iter()
            .map(|f| BinaryReader::new(Cursor::new(f)).unwrap());
        let age = Duration::from_secs(30);
        let result = scan_binary(readers, pairs, params(), age, age, |_| {});
        assert!(
            matches!(result, Err(RecordingError::Corrupt { .. })),
            "{result:?}"
        );
    }
}
