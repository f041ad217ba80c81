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

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use orion_config::Mode;
use orion_core::{
    Alert, BookEvent, BookEventKind, InstrumentId, OrderBook, Quantity, Severity, Timestamp, Venue,
};
use orion_matching::detection::{
    DetectionError, DetectionParams, Opportunity, PairIndex, PairSpec, evaluate_pair,
};

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

/// The decision core.
#[derive(Debug)]
pub struct DecisionCore {
    settings: CoreSettings,
    pairs: PairIndex,
    books: HashMap<InstrumentId, OrderBook>,
    suspended: HashMap<Arc<str>, String>,
    in_flight: HashSet<Arc<str>>,
    paused: bool,
    halted: Option<String>,
    stats: CoreStats,
}

impl DecisionCore {
    pub fn new(settings: CoreSettings, pairs: Vec<PairSpec>) -> DecisionCore {
        let index = PairIndex::new(pairs);
        let books = index
            .instruments()
            .map(|i| (i.clone(), OrderBook::new()))
            .collect();
        let suspended = index
            .pairs()
            .iter()
            .map(|p| (p.pair_id.clone(), "no data yet".to_string()))
            .collect();
        DecisionCore {
            settings,
            pairs: index,
            books,
            suspended,
            in_flight: HashSet::new(),
            paused: false,
            halted: None,
            stats: CoreStats::default(),
        }
    }

    pub fn stats(&self) -> CoreStats {
        self.stats
    }

    pub fn book(&self, instrument: &InstrumentId) -> Option<&OrderBook> {
        self.books.get(instrument)
    }

    pub fn pairs(&self) -> &[PairSpec] {
        self.pairs.pairs()
    }

    /// Suspended pairs and why.
    pub fn suspended(&self) -> impl Iterator<Item = (&Arc<str>, &String)> {
        self.suspended.iter()
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
                if let Some(book) = self.books.get_mut(&instrument) {
                    book.invalidate();
                    self.stats.resyncs += 1;
                    out.push(Output::Resync(instrument.clone()));
                    self.suspend_pairs_of(&instrument, &reason, out);
                }
            }
            Input::VenueDown { venue, reason } => {
                let affected: Vec<InstrumentId> = self
                    .books
                    .keys()
                    .filter(|i| i.venue == venue)
                    .cloned()
                    .collect();
                for instrument in affected {
                    if let Some(book) = self.books.get_mut(&instrument) {
                        book.invalidate();
                    }
                    self.suspend_pairs_of(
                        &instrument,
                        &format!("{venue} stream down: {reason}"),
                        out,
                    );
                }
            }
            Input::VenueUp { venue } => {
                // Books stay invalid until fresh snapshots arrive; ask for them.
                for instrument in self.books.keys().filter(|i| i.venue == venue) {
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

    fn suspend_pairs_of(&mut self, instrument: &InstrumentId, reason: &str, out: &mut Vec<Output>) {
        for &i in self.pairs.affected(instrument) {
            if let Some(pair) = self.pairs.get(i)
                && !self.suspended.contains_key(&pair.pair_id)
            {
                self.suspended
                    .insert(pair.pair_id.clone(), reason.to_string());
                out.push(Output::PairSuspended {
                    pair_id: pair.pair_id.clone(),
                    reason: reason.to_string(),
                });
            }
        }
    }

    /// Why a pair cannot be trusted right now, if it cannot.
    fn pair_problem(&self, pair: &PairSpec, now: Timestamp) -> Option<String> {
        for instrument in [
            &pair.kalshi_instrument,
            &pair.polymarket_yes,
            &pair.polymarket_no,
        ] {
            let Some(book) = self.books.get(instrument) else {
                return Some(format!("no book for {instrument}"));
            };
            if !book.is_synced() {
                return Some(format!("{instrument} not synced"));
            }
            let age = now.since(book.received_at());
            if age > self.settings.max_age(instrument.venue) {
                return Some(format!("{instrument} stale for {} ms", age.as_millis()));
            }
        }
        None
    }

    fn check_staleness(&mut self, now: Timestamp, out: &mut Vec<Output>) {
        for pair in self.pairs.pairs() {
            let problem = self.pair_problem(pair, now);
            match (problem, self.suspended.contains_key(&pair.pair_id)) {
                (Some(reason), false) => {
                    self.suspended.insert(pair.pair_id.clone(), reason.clone());
                    out.push(Output::PairSuspended {
                        pair_id: pair.pair_id.clone(),
                        reason,
                    });
                }
                (None, true) => {
                    self.suspended.remove(&pair.pair_id);
                    out.push(Output::PairResumed {
                        pair_id: pair.pair_id.clone(),
                    });
                }
                _ => {}
            }
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
        let Some(book) = self.books.get_mut(&event.instrument) else {
            return; // not part of any pair
        };
        let applied = match &event.kind {
            BookEventKind::Snapshot { bids, asks } => book.apply_snapshot(
                bids.iter().copied(),
                asks.iter().copied(),
                event.seq,
                event.exchange_ts,
                event.received_at,
            ),
            BookEventKind::Delta { updates } => {
                book.apply_delta(updates, event.seq, event.exchange_ts, event.received_at)
            }
        };
        if let Err(e) = applied {
            self.stats.resyncs += 1;
            out.push(Output::Resync(event.instrument.clone()));
            self.suspend_pairs_of(&event.instrument, &e.to_string(), out);
            return;
        }
        for &index in self.pairs.affected(&event.instrument) {
            let Some(pair) = self.pairs.get(index) else {
                continue;
            };
            // A fresh snapshot can lift a suspension; staleness is re-checked here
            // rather than waiting for the next tick.
            match self.pair_problem(pair, now) {
                Some(reason) => {
                    if !self.suspended.contains_key(&pair.pair_id) {
                        self.suspended.insert(pair.pair_id.clone(), reason.clone());
                        out.push(Output::PairSuspended {
                            pair_id: pair.pair_id.clone(),
                            reason,
                        });
                    }
                    continue;
                }
                None => {
                    if self.suspended.remove(&pair.pair_id).is_some() {
                        out.push(Output::PairResumed {
                            pair_id: pair.pair_id.clone(),
                        });
                    }
                }
            }
            let (Some(k), Some(y), Some(n)) = (
                self.books.get(&pair.kalshi_instrument),
                self.books.get(&pair.polymarket_yes),
                self.books.get(&pair.polymarket_no),
            ) else {
                continue;
            };
            self.stats.evaluations += 1;
            match evaluate_pair(pair, k, y, n, &self.settings.detection, now) {
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
                    self.suspended.insert(pair.pair_id.clone(), e.to_string());
                    out.push(Output::PairSuspended {
                        pair_id: pair.pair_id.clone(),
                        reason: e.to_string(),
                    });
                }
                Err(e @ DetectionError::Fee { .. }) => {
                    // Fail closed: a pair whose fees cannot be computed is not traded.
                    self.suspended.insert(pair.pair_id.clone(), e.to_string());
                    out.push(Output::Alert(Alert {
                        severity: Severity::Warning,
                        key: format!("fees.{}", pair.pair_id),
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
