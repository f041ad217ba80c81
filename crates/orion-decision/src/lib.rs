//! The decision core: one synchronous state machine that turns market data
//! and execution results into decisions, shared by `orion-engine` (live,
//! fed by channels) and `orion-backtest` (fed from recordings with a
//! simulated clock).
//!
//! It owns the books of every paired instrument, the stale-data guard
//! (a pair whose book on either venue is unsynced or older than its venue's
//! limit is suspended), incremental detection (a book event re-evaluates only
//! the pairs containing that instrument), the operating mode (dry-run,
//! alert-only, live; pause and halt), the one-execution-per-pair guard, and
//! the hand-off to risk through the [`TradeGate`] port. It does no I/O and
//! reads no clock: every call carries `now`. Runners act on the [`Output`]s.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use orion_config::Mode;
use orion_core::{
    Alert, BookEvent, BookEventKind, InstrumentId, Level, LevelUpdate, OrderBook, Quantity,
    Severity, Timestamp, Venue,
};
use orion_matching::detection::{
    DetectionError, DetectionParams, Opportunity, PairSpec, evaluate_pair,
};
use rustc_hash::FxHashMap;

/// What risk says about an opportunity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateDecision {
    /// Trade this many contracts (at most the opportunity's size).
    Approve {
        quantity: Quantity,
    },
    Refuse {
        reason: String,
    },
}

/// The risk port: the circuit breaker and the capital manager behind one call.
pub trait TradeGate {
    fn review(&mut self, opportunity: &Opportunity, now: Timestamp) -> GateDecision;
}

/// Operator commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Stop opening trades (detection and alerts continue).
    Pause,
    Resume,
    /// Stop opening trades until an operator resumes; raises a critical alert.
    Halt {
        reason: String,
    },
}

/// Everything the core reacts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Book(BookEvent),
    /// A stream says this book can no longer be trusted.
    BookInvalidated {
        instrument: InstrumentId,
        reason: String,
    },
    VenueDown {
        venue: Venue,
        reason: String,
    },
    VenueUp {
        venue: Venue,
    },
    /// An execution for this pair has finished (whatever its outcome).
    ExecutionDone {
        pair_id: Arc<str>,
    },
    /// Periodic timer: re-check staleness.
    Tick,
    Control(Control),
}

/// What the runner must do or report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// An opportunity exists (whether or not it is traded).
    Detected(Opportunity),
    /// Execute this opportunity with `quantity` contracts per leg; `simulated`
    /// in dry-run, where no order may reach a venue.
    Execute {
        opportunity: Opportunity,
        quantity: Quantity,
        simulated: bool,
    },
    /// Risk refused it.
    Refused {
        pair_id: Arc<str>,
        reason: String,
    },
    PairSuspended {
        pair_id: Arc<str>,
        reason: String,
    },
    PairResumed {
        pair_id: Arc<str>,
    },
    /// Ask the venue stream for a fresh snapshot of this book.
    Resync(InstrumentId),
    Alert(Alert),
}

/// What changed in one book, borrowed from wherever it was decoded (a
/// recording reader's reused buffers), so a replay feeds the core without
/// allocating or cloning per event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookChange<'a> {
    /// The whole book: replaces what was there.
    Snapshot {
        bids: &'a [Level],
        asks: &'a [Level],
    },
    /// Changes to some levels.
    Delta { updates: &'a [LevelUpdate] },
}

/// The core's number for a paired instrument, from [`DecisionCore::slot`]:
/// look it up once (per recording file, say) rather than hashing the
/// identifier on every event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InstrumentSlot(usize);

/// A book event addressed by slot, with borrowed levels: the replay hot
/// path's form of [`Input::Book`]. Handled exactly as the equivalent
/// [`BookEvent`] would be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookUpdate<'a> {
    pub slot: InstrumentSlot,
    pub change: BookChange<'a>,
    pub seq: Option<u64>,
    pub exchange_ts: Option<Timestamp>,
    pub received_at: Timestamp,
}

/// Settings the core needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreSettings {
    pub mode: Mode,
    pub auto_execute: bool,
    pub detection: DetectionParams,
    pub max_book_age_kalshi: Duration,
    pub max_book_age_polymarket: Duration,
}

impl CoreSettings {
    fn max_age(&self, venue: Venue) -> Duration {
        match venue {
            Venue::Kalshi => self.max_book_age_kalshi,
            Venue::Polymarket => self.max_book_age_polymarket,
        }
    }
}

/// Counters for telemetry and the backtest summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CoreStats {
    pub events: u64,
    pub evaluations: u64,
    pub opportunities: u64,
    pub executions: u64,
    pub refusals: u64,
    pub resyncs: u64,
}

/// Why a pair cannot be trusted right now. Copy, so the hot path allocates
/// nothing; text is made only when a suspension is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    NotSynced(usize),
    Stale(usize, Duration),
}

/// The decision core.
#[derive(Debug)]
pub struct DecisionCore {
    settings: CoreSettings,
    pairs: Vec<PairSpec>,
    /// Instruments are numbered once so each event costs one hash lookup.
    /// A fast non-cryptographic hash: keys are venue identifiers, not attacker-chosen
    /// collisions, and this lookup runs once per book event.
    instrument_index: FxHashMap<InstrumentId, usize>,
    instruments: Vec<InstrumentId>,
    books: Vec<OrderBook>,
    /// For each instrument, its venue's staleness limit in nanoseconds
    /// (saturated).
    max_age_nanos: Vec<u64>,
    /// For each instrument, a time before which its book is certainly synced
    /// and fresh: `received_at + max_age + 1` (clamped) while synced,
    /// `i64::MIN` otherwise. The stale guard runs for every evaluated pair
    /// and every pair on each tick, so its common case is three integer
    /// compares; anything else takes the exact check. Updated wherever a
    /// book changes (`note_book`).
    fresh_before: Vec<i64>,
    /// For each instrument, the pairs it belongs to.
    pairs_of: Vec<Vec<usize>>,
    /// For each pair, its Kalshi, Polymarket YES and Polymarket NO books.
    books_of: Vec<[usize; 3]>,
    /// For each pair, why it is suspended (if it is).
    suspended: Vec<Option<String>>,
    in_flight: HashSet<Arc<str>>,
    paused: bool,
    halted: Option<String>,
    stats: CoreStats,
}

impl DecisionCore {
    pub fn new(settings: CoreSettings, pairs: Vec<PairSpec>) -> DecisionCore {
        let mut core = DecisionCore {
            settings,
            pairs: Vec::with_capacity(pairs.len()),
            instrument_index: FxHashMap::default(),
            instruments: Vec::new(),
            books: Vec::new(),
            max_age_nanos: Vec::new(),
            fresh_before: Vec::new(),
            pairs_of: Vec::new(),
            books_of: Vec::with_capacity(pairs.len()),
            suspended: Vec::with_capacity(pairs.len()),
            in_flight: HashSet::new(),
            paused: false,
            halted: None,
            stats: CoreStats::default(),
        };
        for pair in pairs {
            core.register(pair);
        }
        core
    }

    /// Adds a pair to a running core (an operator confirmed it while the
    /// engine ran). Instruments it shares with existing pairs keep their
    /// slots and books; new ones get fresh, unsynced books. The pair starts
    /// suspended ("no data yet") exactly like a pair loaded at start-up,
    /// until its three books are synced and fresh. Existing pairs are not
    /// touched. Returns false (and changes nothing) when a pair with this id
    /// is already in the core.
    pub fn add_pair(&mut self, pair: PairSpec) -> bool {
        if self.pairs.iter().any(|p| p.pair_id == pair.pair_id) {
            return false;
        }
        self.register(pair);
        true
    }

    /// Removes a pair (an operator rejected it while the engine ran): it is
    /// never evaluated again. Its instruments keep their slots and books, so
    /// slots handed out earlier stay valid and pairs sharing them are
    /// unaffected. An execution already in flight finishes normally. Returns
    /// false when no pair has this id.
    pub fn remove_pair(&mut self, pair_id: &str) -> bool {
        let Some(p) = self
            .pairs
            .iter()
            .position(|s| s.pair_id.as_ref() == pair_id)
        else {
            return false;
        };
        self.pairs.remove(p);
        self.books_of.remove(p);
        self.suspended.remove(p);
        // Pair numbers above `p` shift down by one.
        for list in &mut self.pairs_of {
            list.retain(|&q| q != p);
            for q in list.iter_mut() {
                if *q > p {
                    *q -= 1;
                }
            }
        }
        true
    }

    /// Numbers the pair's instruments (reusing known ones) and appends it.
    fn register(&mut self, pair: PairSpec) {
        let p = self.pairs.len();
        let mut slots = [0usize; 3];
        for (slot, instrument) in [
            &pair.kalshi_instrument,
            &pair.polymarket_yes,
            &pair.polymarket_no,
        ]
        .into_iter()
        .enumerate()
        {
            let index = match self.instrument_index.get(instrument) {
                Some(&index) => index,
                None => {
                    let index = self.instruments.len();
                    self.instrument_index.insert(instrument.clone(), index);
                    self.instruments.push(instrument.clone());
                    self.pairs_of.push(Vec::new());
                    self.books.push(OrderBook::new());
                    self.max_age_nanos.push(
                        u64::try_from(self.settings.max_age(instrument.venue).as_nanos())
                            .unwrap_or(u64::MAX),
                    );
                    self.fresh_before.push(i64::MIN);
                    index
                }
            };
            if !self.pairs_of[index].contains(&p) {
                self.pairs_of[index].push(p);
            }
            slots[slot] = index;
        }
        self.books_of.push(slots);
        self.suspended.push(Some("no data yet".to_string()));
        self.pairs.push(pair);
    }

    pub fn stats(&self) -> CoreStats {
        self.stats
    }

    pub fn book(&self, instrument: &InstrumentId) -> Option<&OrderBook> {
        self.instrument_index
            .get(instrument)
            .map(|&i| &self.books[i])
    }

    /// The slot of a paired instrument; `None` for one no pair uses (its
    /// events would be ignored).
    pub fn slot(&self, instrument: &InstrumentId) -> Option<InstrumentSlot> {
        self.instrument_index
            .get(instrument)
            .copied()
            .map(InstrumentSlot)
    }

    /// Handles one book event given by slot, as [`Self::process`] handles
    /// the equivalent [`Input::Book`].
    pub fn process_book(
        &mut self,
        update: BookUpdate<'_>,
        now: Timestamp,
        gate: &mut dyn TradeGate,
        out: &mut Vec<Output>,
    ) {
        self.stats.events += 1;
        self.on_book_at(update, now, gate, out);
    }

    pub fn pairs(&self) -> &[PairSpec] {
        &self.pairs
    }

    /// Suspended pairs and why.
    pub fn suspended(&self) -> impl Iterator<Item = (&Arc<str>, &String)> {
        self.pairs
            .iter()
            .zip(&self.suspended)
            .filter_map(|(p, s)| s.as_ref().map(|reason| (&p.pair_id, reason)))
    }

    pub fn is_paused(&self) -> bool {
        self.paused || self.halted.is_some()
    }

    pub fn mode(&self) -> Mode {
        self.settings.mode
    }

    /// Handles one input at time `now`, appending what to do to `out`.
    pub fn process(
        &mut self,
        input: Input,
        now: Timestamp,
        gate: &mut dyn TradeGate,
        out: &mut Vec<Output>,
    ) {
        match input {
            Input::Book(event) => self.on_book(event, now, gate, out),
            Input::BookInvalidated { instrument, reason } => {
                if let Some(&index) = self.instrument_index.get(&instrument) {
                    self.books[index].invalidate();
                    self.note_book(index);
                    self.stats.resyncs += 1;
                    out.push(Output::Resync(instrument));
                    self.suspend_pairs_of(index, &reason, out);
                }
            }
            Input::VenueDown { venue, reason } => {
                let reason = format!("{venue} stream down: {reason}");
                for index in 0..self.instruments.len() {
                    if self.instruments[index].venue == venue {
                        self.books[index].invalidate();
                        self.note_book(index);
                        self.suspend_pairs_of(index, &reason, out);
                    }
                }
            }
            Input::VenueUp { venue } => {
                // Books stay invalid until fresh snapshots arrive; ask for them.
                for instrument in self.instruments.iter().filter(|i| i.venue == venue) {
                    out.push(Output::Resync(instrument.clone()));
                }
            }
            Input::ExecutionDone { pair_id } => {
                self.in_flight.remove(&pair_id);
            }
            Input::Tick => self.check_staleness(now, out),
            Input::Control(Control::Pause) => self.paused = true,
            Input::Control(Control::Resume) => {
                self.paused = false;
                self.halted = None;
            }
            Input::Control(Control::Halt { reason }) => {
                out.push(Output::Alert(Alert {
                    severity: Severity::Critical,
                    key: "engine.halt".into(),
                    message: format!("trading halted: {reason}"),
                    at: now,
                }));
                self.halted = Some(reason);
            }
        }
    }

    fn suspend_pairs_of(&mut self, instrument: usize, reason: &str, out: &mut Vec<Output>) {
        for &p in &self.pairs_of[instrument] {
            if self.suspended[p].is_none() {
                self.suspended[p] = Some(reason.to_string());
                out.push(Output::PairSuspended {
                    pair_id: self.pairs[p].pair_id.clone(),
                    reason: reason.to_string(),
                });
            }
        }
    }

    /// Records a change of book `index` for the stale guard's fast path.
    fn note_book(&mut self, index: usize) {
        let book = &self.books[index];
        self.fresh_before[index] = if book.is_synced() {
            let limit =
                i128::from(book.received_at().nanos()) + i128::from(self.max_age_nanos[index]) + 1;
            i64::try_from(limit).unwrap_or(if limit > 0 { i64::MAX } else { i64::MIN })
        } else {
            i64::MIN
        };
    }

    /// Why pair `p` cannot be trusted right now, if it cannot.
    #[inline]
    fn pair_problem(&self, p: usize, now: Timestamp) -> Option<Problem> {
        let [a, b, c] = self.books_of[p];
        let t = now.nanos();
        // Before every book's `fresh_before`, each is synced and
        // `now - received_at <= max_age`: nothing to find.
        if t < self.fresh_before[a] && t < self.fresh_before[b] && t < self.fresh_before[c] {
            return None;
        }
        self.pair_problem_exact(p, now)
    }

    /// [`Self::pair_problem`] from the books themselves.
    fn pair_problem_exact(&self, p: usize, now: Timestamp) -> Option<Problem> {
        for index in self.books_of[p] {
            let book = &self.books[index];
            if !book.is_synced() {
                return Some(Problem::NotSynced(index));
            }
            // `now.since(received) > max_age` in integers: a book received
            // at or after `now` has age zero, never stale.
            let delta = now.nanos().saturating_sub(book.received_at().nanos());
            if delta > 0 && delta.unsigned_abs() > self.max_age_nanos[index] {
                return Some(Problem::Stale(index, now.since(book.received_at())));
            }
        }
        None
    }

    fn describe(&self, problem: Problem) -> String {
        match problem {
            Problem::NotSynced(i) => format!("{} not synced", self.instruments[i]),
            Problem::Stale(i, age) => {
                format!("{} stale for {} ms", self.instruments[i], age.as_millis())
            }
        }
    }

    /// Suspends or resumes pair `p` after a fresh look; true when it may trade.
    fn refresh(&mut self, p: usize, now: Timestamp, out: &mut Vec<Output>) -> bool {
        match (self.pair_problem(p, now), self.suspended[p].is_some()) {
            (Some(problem), false) => {
                let reason = self.describe(problem);
                self.suspended[p] = Some(reason.clone());
                out.push(Output::PairSuspended {
                    pair_id: self.pairs[p].pair_id.clone(),
                    reason,
                });
                false
            }
            (Some(_), true) => false,
            (None, true) => {
                self.suspended[p] = None;
                out.push(Output::PairResumed {
                    pair_id: self.pairs[p].pair_id.clone(),
                });
                true
            }
            (None, false) => true,
        }
    }

    fn check_staleness(&mut self, now: Timestamp, out: &mut Vec<Output>) {
        for p in 0..self.pairs.len() {
            self.refresh(p, now, out);
        }
    }

    fn on_book(
        &mut self,
        event: BookEvent,
        now: Timestamp,
        gate: &mut dyn TradeGate,
        out: &mut Vec<Output>,
    ) {
        self.stats.events += 1;
        let Some(&index) = self.instrument_index.get(&event.instrument) else {
            return; // not part of any pair
        };
        let change = match &event.kind {
            BookEventKind::Snapshot { bids, asks } => BookChange::Snapshot { bids, asks },
            BookEventKind::Delta { updates } => BookChange::Delta { updates },
        };
        let update = BookUpdate {
            slot: InstrumentSlot(index),
            change,
            seq: event.seq,
            exchange_ts: event.exchange_ts,
            received_at: event.received_at,
        };
        self.on_book_at(update, now, gate, out);
    }

    fn on_book_at(
        &mut self,
        update: BookUpdate<'_>,
        now: Timestamp,
        gate: &mut dyn TradeGate,
        out: &mut Vec<Output>,
    ) {
        let index = update.slot.0;
        let Some(book) = self.books.get_mut(index) else {
            return; // a slot from another core: not part of any pair here
        };
        let applied = match update.change {
            BookChange::Snapshot { bids, asks } => book.apply_snapshot(
                bids.iter().copied(),
                asks.iter().copied(),
                update.seq,
                update.exchange_ts,
                update.received_at,
            ),
            BookChange::Delta { updates } => {
                book.apply_delta(updates, update.seq, update.exchange_ts, update.received_at)
            }
        };
        self.note_book(index);
        if let Err(e) = applied {
            self.stats.resyncs += 1;
            out.push(Output::Resync(self.instruments[index].clone()));
            self.suspend_pairs_of(index, &e.to_string(), out);
            return;
        }
        for i in 0..self.pairs_of[index].len() {
            let p = self.pairs_of[index][i];
            // A fresh snapshot can lift a suspension; staleness is re-checked
            // here rather than waiting for the next tick.
            if !self.refresh(p, now, out) {
                continue;
            }
            let [k, y, n] = self.books_of[p];
            let pair = &self.pairs[p];
            self.stats.evaluations += 1;
            match evaluate_pair(
                pair,
                &self.books[k],
                &self.books[y],
                &self.books[n],
                &self.settings.detection,
                now,
            ) {
                Ok(Some(opportunity)) => {
                    self.stats.opportunities += 1;
                    Self::decide(
                        &self.settings,
                        self.paused || self.halted.is_some(),
                        &mut self.in_flight,
                        &mut self.stats,
                        opportunity,
                        now,
                        gate,
                        out,
                    );
                }
                Ok(None) | Err(DetectionError::BookNotReady { .. }) => {}
                Err(e @ DetectionError::Resolved { .. }) => {
                    let pair_id = pair.pair_id.clone();
                    self.suspended[p] = Some(e.to_string());
                    out.push(Output::PairSuspended {
                        pair_id,
                        reason: e.to_string(),
                    });
                }
                Err(e @ DetectionError::Fee { .. }) => {
                    // Fail closed: a pair whose fees cannot be computed is not traded.
                    let key = format!("fees.{}", pair.pair_id);
                    self.suspended[p] = Some(e.to_string());
                    out.push(Output::Alert(Alert {
                        severity: Severity::Warning,
                        key,
                        message: e.to_string(),
                        at: now,
                    }));
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)] // split borrows of `self`'s fields
    fn decide(
        settings: &CoreSettings,
        paused: bool,
        in_flight: &mut HashSet<Arc<str>>,
        stats: &mut CoreStats,
        opportunity: Opportunity,
        now: Timestamp,
        gate: &mut dyn TradeGate,
        out: &mut Vec<Output>,
    ) {
        let may_execute = settings.auto_execute
            && !paused
            && matches!(settings.mode, Mode::DryRun | Mode::Live)
            && !in_flight.contains(&opportunity.pair_id);
        if !may_execute {
            out.push(Output::Detected(opportunity));
            return;
        }
        match gate.review(&opportunity, now) {
            GateDecision::Approve { quantity } => {
                let quantity = quantity.min(opportunity.quantity);
                if quantity.is_zero() {
                    out.push(Output::Detected(opportunity));
                    return;
                }
                stats.executions += 1;
                in_flight.insert(opportunity.pair_id.clone());
                out.push(Output::Detected(opportunity.clone()));
                out.push(Output::Execute {
                    opportunity,
                    quantity,
                    simulated: settings.mode == Mode::DryRun,
                });
            }
            GateDecision::Refuse { reason } => {
                stats.refusals += 1;
                let pair_id = opportunity.pair_id.clone();
                out.push(Output::Detected(opportunity));
                out.push(Output::Refused { pair_id, reason });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

    use super::*;
    use orion_core::{
        BookSide, Cash, FeeSchedule, KalshiFeeType, LevelChange, MarketId, Price, Rate, TickSize,
    };
    use proptest::prelude::*;

    fn id(venue: Venue, s: &str) -> InstrumentId {
        InstrumentId::new(venue, s).unwrap()
    }

    /// Two pairs sharing one Kalshi book: K+Y1+N1 and K+Y2+N2.
    fn instruments() -> Vec<InstrumentId> {
        vec![
            id(Venue::Kalshi, "K"),
            id(Venue::Polymarket, "Y1"),
            id(Venue::Polymarket, "N1"),
            id(Venue::Polymarket, "Y2"),
            id(Venue::Polymarket, "N2"),
        ]
    }

    fn pair(name: &str, yes: &InstrumentId, no: &InstrumentId) -> PairSpec {
        PairSpec {
            pair_id: Arc::from(name),
            event_key: Arc::from(name),
            kalshi_market: MarketId::new(Venue::Kalshi, "K").unwrap(),
            kalshi_instrument: id(Venue::Kalshi, "K"),
            polymarket_market: MarketId::new(Venue::Polymarket, "0xc").unwrap(),
            polymarket_yes: yes.clone(),
            polymarket_no: no.clone(),
            inverted: false,
            kalshi_fees: FeeSchedule::Kalshi {
                fee_type: KalshiFeeType::Quadratic,
                multiplier: Rate::ONE,
            },
            polymarket_fees: FeeSchedule::Polymarket {
                rate: Rate::ZERO,
                exponent: 1,
            },
            polymarket_tick: TickSize::Hundredth,
            polymarket_min_size: Quantity::from_micros(1_000_000),
            resolves_at: Timestamp::from_secs(30 * 86_400),
        }
    }

    fn core() -> DecisionCore {
        let i = instruments();
        let settings = CoreSettings {
            mode: Mode::AlertOnly,
            auto_execute: false,
            detection: DetectionParams {
                min_edge: Price::parse("0.01").unwrap(),
                min_edge_beyond_horizon: Price::parse("0.03").unwrap(),
                horizon_days: 60,
                min_profit: Cash::parse("0.10").unwrap(),
                slippage: Price::ZERO,
                max_size: Quantity::MAX,
            },
            // Different limits per venue, in whole milliseconds.
            max_book_age_kalshi: Duration::from_millis(2_000),
            max_book_age_polymarket: Duration::from_millis(3_000),
        };
        DecisionCore::new(
            settings,
            vec![pair("A", &i[1], &i[2]), pair("B", &i[3], &i[4])],
        )
    }

    struct Refuse;
    impl TradeGate for Refuse {
        fn review(&mut self, _: &Opportunity, _: Timestamp) -> GateDecision {
            GateDecision::Refuse {
                reason: "test".into(),
            }
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Snapshot {
            instrument: usize,
            at_ms: i64,
        },
        Delta {
            instrument: usize,
            at_ms: i64,
            seq: u64,
        },
        Invalidate {
            instrument: usize,
        },
        VenueDown {
            kalshi: bool,
        },
        Tick {
            at_ms: i64,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0usize..5, -1_000i64..20_000)
                .prop_map(|(instrument, at_ms)| Op::Snapshot { instrument, at_ms }),
            (0usize..5, -1_000i64..20_000, 0u64..4).prop_map(|(instrument, at_ms, seq)| {
                Op::Delta {
                    instrument,
                    at_ms,
                    seq,
                }
            }),
            (0usize..5).prop_map(|instrument| Op::Invalidate { instrument }),
            any::<bool>().prop_map(|kalshi| Op::VenueDown { kalshi }),
            (-1_000i64..20_000).prop_map(|at_ms| Op::Tick { at_ms }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// The stale guard's integer fast path finds exactly the problems
        /// the books themselves show, at any time, after any mix of
        /// snapshots, deltas (in and out of sequence, at any receive time),
        /// invalidations and venue outages.
        #[test]
        fn fast_stale_guard_matches_the_books(ops in prop::collection::vec(op(), 1..40), probes in prop::collection::vec(-2_000i64..30_000, 1..8)) {
            let ids = instruments();
            let mut core = core();
            let mut out = Vec::new();
            let mut gate = Refuse;
            let mut seqs = [0u64; 5];
            let mut clock = Timestamp::ZERO;
            for op in ops {
                let input = match op {
                    Op::Snapshot { instrument, at_ms } => {
                        seqs[instrument] = 1;
                        Input::Book(BookEvent {
                            instrument: ids[instrument].clone(),
                            kind: BookEventKind::Snapshot {
                                bids: vec![Level::new(Price::parse("0.40").unwrap(), Quantity::from_micros(5_000_000))],
                                asks: vec![Level::new(Price::parse("0.60").unwrap(), Quantity::from_micros(5_000_000))],
                            },
                            seq: Some(1),
                            exchange_ts: None,
                            received_at: Timestamp::from_millis(at_ms),
                        })
                    }
                    Op::Delta { instrument, at_ms, seq } => {
                        // seq 0 continues the sequence; anything else is a gap.
                        let seq = seqs[instrument] + 1 + seq;
                        seqs[instrument] = seq;
                        Input::Book(BookEvent {
                            instrument: ids[instrument].clone(),
                            kind: BookEventKind::Delta {
                                updates: vec![orion_core::LevelUpdate {
                                    side: BookSide::Ask,
                                    price: Price::parse("0.61").unwrap(),
                                    change: LevelChange::Set(Quantity::from_micros(1_000_000)),
                                }],
                            },
                            seq: Some(seq),
                            exchange_ts: None,
                            received_at: Timestamp::from_millis(at_ms),
                        })
                    }
                    Op::Invalidate { instrument } => Input::BookInvalidated {
                        instrument: ids[instrument].clone(),
                        reason: "test".into(),
                    },
                    Op::VenueDown { kalshi } => Input::VenueDown {
                        venue: if kalshi { Venue::Kalshi } else { Venue::Polymarket },
                        reason: "test".into(),
                    },
                    Op::Tick { at_ms } => {
                        clock = clock.max(Timestamp::from_millis(at_ms));
                        Input::Tick
                    }
                };
                core.process(input, clock, &mut gate, &mut out);
                let extremes = [Timestamp::from_nanos(i64::MIN), Timestamp::from_nanos(i64::MAX)];
                let times = probes.iter().map(|&ms| Timestamp::from_millis(ms)).chain(extremes);
                for now in times {
                    for p in 0..2 {
                        prop_assert_eq!(core.pair_problem(p, now), core.pair_problem_exact(p, now));
                    }
                }
            }
        }
    }
}
