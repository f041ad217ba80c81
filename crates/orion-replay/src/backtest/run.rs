//! The run loop: recorded events through the decision core exactly as
//! `scan` feeds it, with the real risk gate, and every `Output::Execute`
//! handed to the real executor against the simulated venues.
//!
//! The executor is asynchronous (concurrent legs, tokio timers for leg
//! timeouts and query backoff). It runs on a current-thread tokio runtime
//! whose clock is paused and moved only by this driver, in step with the
//! simulated clock, so both read the same simulated time. Executions are
//! futures the driver polls itself, deterministically and in start order:
//! after an execution starts, after an order's arrival is delivered, and
//! after an executor timer fires. Between two events the driver moves time
//! in steps that end at the next order arrival or the next executor timer,
//! whichever comes first (the paused runtime's auto-advance finds the
//! timer), so each arrival meets the books as they were at that instant
//! and each timeout fires when it would have. Tokio timers have millisecond
//! resolution; arrivals are exact to the nanosecond.
//!
//! Events that start no execution while nothing is in flight take the same
//! path as `scan` (`run_backtest_binary`: decoded in place, by slot) plus
//! a few flag checks: no allocation, no async.

use std::fmt;
use std::future::Future;
use std::io::BufRead;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use orion_config::Mode;
use orion_core::{
    BookEvent, BookEventKind, Cash, Clock, InstrumentId, IntentOutcome, NullAlerter, OrderStatus,
    Quantity, SimulatedClock, Timestamp, Venue,
};
use orion_decision::{CoreSettings, DecisionCore, Input, InstrumentSlot, Output};
use orion_execution::{
    ExecutionError, ExecutionReport, ExecutionSettings, Executor, ReconcilePolicy, SeededIds,
    TradePlan, Venues,
};
use orion_matching::detection::{Opportunity, PairSpec};
use orion_recording::{BinaryReader, DecodedEvent, RecordingError};
use orion_risk::{
    BreakerLimits, BreakerState, CapitalLimits, CapitalManager, CircuitBreaker, DecisionGate,
    PerVenue,
};
use rustc_hash::{FxHashMap, FxHashSet};

use super::BacktestSettings;
use super::store::MemoryStore;
use super::venue::{SimMarket, SimState, SimVenue, locked, shared};
use crate::report::{BacktestRun, TradeRecord};

/// Why a run could not finish.
#[derive(Debug)]
pub enum BacktestError<E> {
    /// Reading the events failed.
    Input(E),
    /// The run could not be set up (runtime, executor readiness).
    Setup(String),
}

impl<E: fmt::Display> fmt::Display for BacktestError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BacktestError::Input(e) => write!(f, "reading events: {e}"),
            BacktestError::Setup(e) => write!(f, "setting up the backtest: {e}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for BacktestError<E> {}

type Execution = Pin<Box<dyn Future<Output = Result<ExecutionReport, ExecutionError>>>>;

/// An execution the driver is running.
struct InFlight {
    trade_no: u64,
    pair_id: Arc<str>,
    instruments: [InstrumentId; 3],
    detected_at: Timestamp,
    planned: Quantity,
    expected_profit: Cash,
    direction: String,
    future: Execution,
}

/// The executions' waker: raises a flag (a timer fired or a future asked
/// to be polled again) and, while time is being advanced, wakes the
/// advancing task so that it stops at that instant.
#[derive(Debug, Default)]
struct Flag {
    raised: AtomicBool,
    forward: Mutex<Option<Waker>>,
}

impl Flag {
    fn raise(&self) {
        self.raised.store(true, Ordering::Release);
        let forward = self
            .forward
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(waker) = forward {
            waker.wake();
        }
    }

    fn lower(&self) {
        self.raised.store(false, Ordering::Release);
    }

    fn is_raised(&self) -> bool {
        self.raised.load(Ordering::Acquire)
    }

    fn forward_to(&self, waker: Option<Waker>) {
        *self.forward.lock().unwrap_or_else(|e| e.into_inner()) = waker;
    }
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.raise();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.raise();
    }
}

/// How long after the last event in-flight executions may still run.
const DRAIN_LIMIT: Duration = Duration::from_secs(3_600);
/// Steps (arrivals delivered or timers fired) in one advance, at most: a
/// guard against a future that re-arms a timer for the same instant forever.
const MAX_STEPS: u32 = 1_000_000;
/// Re-polls of the executions after one step, at most (a guard: each
/// re-poll follows a wake, and wakes come from timers that have fired).
const MAX_POLL_ROUNDS: u32 = 64;

struct Driver {
    rt: tokio::runtime::Runtime,
    clock: SimulatedClock,
    /// A tokio instant and the simulated time it stands for (set on first
    /// use): tokio's paused clock moves only when the driver advances it.
    origin: Option<(tokio::time::Instant, Timestamp)>,
    state: Arc<Mutex<SimState>>,
    executor: Arc<Executor<MemoryStore>>,
    view: Arc<SimMarket>,
    gate: DecisionGate,
    flag: Arc<Flag>,
    waker: Waker,
    in_flight: Vec<InFlight>,
    /// Instruments the venues hold a copy of.
    copied: FxHashSet<InstrumentId>,
    pair_instruments: FxHashMap<Arc<str>, [InstrumentId; 3]>,
    /// Anything in flight or on its way: the event loop's only check.
    active: bool,
    trade_no: u64,
    /// $1 per contract hedged so far: settlement value for the breaker's equity.
    hedged_value: Cash,
    trades: Vec<TradeRecord>,
    scratch: Vec<Output>,
}

impl Driver {
    /// Moves simulated time (and tokio's paused clock with it) towards
    /// `t`, stopping early at the first executor timer that fires before
    /// then. Returns the time reached.
    fn step_to(&mut self, t: Timestamp) -> Timestamp {
        let Some((origin, origin_at)) = self.origin else {
            let _enter = self.rt.enter();
            self.origin = Some((tokio::time::Instant::now(), t));
            return self.clock.advance_to(t);
        };
        let deadline = origin + t.since(origin_at);
        let flag = self.flag.clone();
        flag.lower();
        // Idle with a paused clock, the runtime jumps to the next timer:
        // the executors' (which raise the flag and end the step there) or
        // this sleep's (the target).
        let reached = self.rt.block_on(async move {
            let sleep = tokio::time::sleep_until(deadline);
            let mut sleep = std::pin::pin!(sleep);
            std::future::poll_fn(|cx| {
                if flag.is_raised() {
                    return Poll::Ready(());
                }
                flag.forward_to(Some(cx.waker().clone()));
                sleep.as_mut().poll(cx)
            })
            .await;
            flag.forward_to(None);
            tokio::time::Instant::now()
        });
        // Timers fire on whole milliseconds: never report beyond `t`.
        let at = origin_at
            .saturating_add(reached.saturating_duration_since(origin))
            .min(t);
        self.clock.advance_to(at)
    }

    /// Runs simulated time to `t`: orders arriving before `t` (and at `t`
    /// when `inclusive`) are delivered in time order, each against the books
    /// as they are then; executor timers fire at their time; executions are
    /// polled after each step.
    fn run_until(&mut self, t: Timestamp, inclusive: bool, core: &mut DecisionCore) {
        for _ in 0..MAX_STEPS {
            let next = locked(&self.state)
                .next_arrival()
                .filter(|&a| a < t || (inclusive && a == t));
            if next.is_none() && self.in_flight.is_empty() {
                break;
            }
            let target = next.unwrap_or(t);
            let reached = self.step_to(target);
            if reached >= target
                && let Some(a) = next
            {
                let copied = locked(&self.state).process_arrivals(a, &|i| core.book(i).cloned());
                self.copied.extend(copied);
            }
            self.poll(core);
            if next.is_none() && reached >= t {
                break;
            }
        }
        self.update_active();
    }

    /// Polls every execution until none asks to be polled again; finishes
    /// those that are done.
    fn poll(&mut self, core: &mut DecisionCore) {
        for _ in 0..MAX_POLL_ROUNDS {
            let mut done = Vec::new();
            {
                // Timers made while polling belong to this runtime.
                let _enter = self.rt.enter();
                self.flag.lower();
                let mut cx = Context::from_waker(&self.waker);
                let mut i = 0;
                while i < self.in_flight.len() {
                    match self.in_flight[i].future.as_mut().poll(&mut cx) {
                        Poll::Ready(result) => done.push((self.in_flight.remove(i), result)),
                        Poll::Pending => i += 1,
                    }
                }
            }
            let woke = self.flag.is_raised();
            for (flight, result) in done {
                self.finish(flight, result, core);
            }
            if !woke || self.in_flight.is_empty() {
                break;
            }
        }
        self.update_active();
    }

    fn update_active(&mut self) {
        self.active = !self.in_flight.is_empty() || locked(&self.state).has_pending();
    }

    /// Before an event at `t`: everything due strictly before `t` happens
    /// (an order arriving at `t` sees the events stamped `t`).
    fn settle_before(&mut self, t: Timestamp, core: &mut DecisionCore) {
        self.run_until(t, false, core);
    }

    /// After a recorded update of `instrument`: a venue copy becomes the
    /// recorded book again (consumption lasts until the next update); it is
    /// kept only while an execution may still look at it.
    fn refresh_copy(&mut self, instrument: &InstrumentId, core: &DecisionCore) {
        let watched = self
            .in_flight
            .iter()
            .any(|f| f.instruments.contains(instrument));
        let mut state = locked(&self.state);
        match core.book(instrument) {
            Some(book) if watched => state.put_book(instrument, book.clone()),
            _ => {
                state.drop_book(instrument);
                drop(state);
                self.copied.remove(instrument);
            }
        }
    }

    fn start(
        &mut self,
        opportunity: Opportunity,
        quantity: Quantity,
        now: Timestamp,
        core: &mut DecisionCore,
    ) {
        let pair_id = opportunity.pair_id.clone();
        if self.executor.is_halted(&pair_id) {
            // The executor would refuse before sending anything (as live):
            // no trade, the pair is freed at once.
            self.release(pair_id, None, now, core);
            return;
        }
        self.trade_no += 1;
        let Some(instruments) = self.pair_instruments.get(&pair_id).cloned() else {
            self.release(pair_id, None, now, core);
            return;
        };
        let plan = match TradePlan::from_opportunity(&opportunity, quantity) {
            Ok(plan) => plan,
            Err(_) => {
                self.release(pair_id, None, now, core);
                return;
            }
        };
        {
            // The venues' view of this pair's books, for the fills and for
            // repair decisions; a copy already consumed stays as it is.
            let mut state = locked(&self.state);
            for instrument in &instruments {
                if !self.copied.contains(instrument)
                    && let Some(book) = core.book(instrument)
                {
                    state.put_book(instrument, book.clone());
                    self.copied.insert(instrument.clone());
                }
            }
        }
        self.step_to(now);
        let executor = self.executor.clone();
        let view = self.view.clone();
        let direction = format!(
            "kalshi_{}+polymarket_{}",
            opportunity.legs[0].outcome.as_str(),
            opportunity.legs[1].outcome.as_str()
        );
        self.in_flight.push(InFlight {
            trade_no: self.trade_no,
            pair_id,
            instruments,
            detected_at: opportunity.detected_at,
            planned: quantity,
            expected_profit: plan.expected_profit,
            direction,
            future: Box::pin(async move { executor.execute(&plan, view.as_ref()).await }),
        });
        self.poll(core);
    }

    /// Frees a pair: reservation released, the core told it is done.
    fn release(
        &mut self,
        pair_id: Arc<str>,
        position_cost: Option<Cash>,
        now: Timestamp,
        core: &mut DecisionCore,
    ) {
        self.gate.finish(&pair_id, position_cost);
        core.process(
            Input::ExecutionDone { pair_id },
            now,
            &mut self.gate,
            &mut self.scratch,
        );
        self.scratch.clear();
    }

    /// Balances to the capital manager, equity (cash plus $1 per hedged
    /// contract, as the engine values it) to the breaker.
    fn observe(&mut self, now: Timestamp) {
        let (k, p) = {
            let state = locked(&self.state);
            (state.cash(Venue::Kalshi), state.cash(Venue::Polymarket))
        };
        self.gate.set_available(PerVenue::new(Some(k), Some(p)));
        let equity = PerVenue::new(Some(k.saturating_add(self.hedged_value)), Some(p));
        let _ = self.gate.breaker.observe_equity(&equity, now);
    }

    fn finish(
        &mut self,
        flight: InFlight,
        result: Result<ExecutionReport, ExecutionError>,
        core: &mut DecisionCore,
    ) {
        let now = self.clock.now();
        let mut position_cost = None;
        if let Ok(report) = &result {
            let record = self.record(&flight, report, now);
            // What the engine tells the breaker after a real trade.
            let failed = report.halted
                || matches!(
                    report.outcome,
                    Some(IntentOutcome::Repaired | IntentOutcome::NeedsAttention) | None
                );
            if failed {
                let _ = self.gate.breaker.record_execution_failure(now);
            } else {
                self.gate.breaker.record_execution_success(now);
            }
            if report.unwind_loss > Cash::ZERO {
                let _ = self
                    .gate
                    .breaker
                    .record_unwind_loss(report.unwind_loss, now);
            }
            position_cost = Some(
                record
                    .kalshi_cost
                    .saturating_add(record.polymarket_cost)
                    .saturating_add(record.fees),
            );
            self.hedged_value = self.hedged_value.saturating_add(Cash::from_micros(
                i64::try_from(record.contracts_hedged.micros()).unwrap_or(i64::MAX),
            ));
            self.trades.push(record);
        }
        self.release(flight.pair_id, position_cost, now, core);
        self.observe(now);
    }

    /// The trade as the venues booked it, split so that
    /// `net = gross − fees − repair_loss` is exactly the cash result
    /// (payout of the hedged contracts less everything paid):
    ///
    /// * the parent legs' cash goes to each venue's cost, their fees to `fees`;
    /// * a repair order that lost money (by the executor's own account, which
    ///   the breaker also sees as `unwind_loss`) contributes its cash and fee
    ///   less that loss to its venue's cost, and the loss to `repair_loss`:
    ///   an unwind removes the unwound contracts' cost basis, a completion
    ///   adds the completed contracts at their break-even;
    /// * a repair that made money books its cash as cost and its fee as fee.
    ///
    /// So the costs are those of the position held to settlement and
    /// `gross = $1 × hedged − costs`.
    fn record(&self, flight: &InFlight, report: &ExecutionReport, now: Timestamp) -> TradeRecord {
        let state = locked(&self.state);
        let mut costs = [Cash::ZERO; 2];
        let mut fees = Cash::ZERO;
        let slot = |venue: Venue| match venue {
            Venue::Kalshi => 0,
            Venue::Polymarket => 1,
        };
        for leg in &report.legs {
            if let Some(b) = state.booking(&leg.client_order_id) {
                let c = &mut costs[slot(b.venue)];
                *c = c.saturating_add(b.cash);
                fees = fees.saturating_add(b.fees);
            }
        }
        for repair in &report.repairs {
            if let Some(b) = state.booking(&repair.leg.client_order_id) {
                let c = &mut costs[slot(b.venue)];
                if repair.realized_pnl.is_negative() {
                    *c = c
                        .saturating_add(b.cash)
                        .saturating_add(b.fees)
                        .saturating_add(repair.realized_pnl);
                } else {
                    *c = c.saturating_add(b.cash);
                    fees = fees.saturating_add(b.fees);
                }
            }
        }
        let [kalshi_cost, polymarket_cost] = costs;
        let hedged_micros = report.net[0].min(report.net[1]).max(0);
        let contracts_hedged = Quantity::from_micros(u64::try_from(hedged_micros).unwrap_or(0));
        // $1 × contracts: micro-contracts are micro-dollars of payout.
        let payout = Cash::from_micros(i64::try_from(hedged_micros).unwrap_or(i64::MAX));
        let repair_loss = report.unwind_loss.max(Cash::ZERO);
        let gross_pnl = payout
            .saturating_sub(kalshi_cost)
            .saturating_sub(polymarket_cost);
        let net_pnl = gross_pnl.saturating_sub(fees).saturating_sub(repair_loss);
        let outcome = match (&report.outcome, report.halted) {
            (_, true) | (None | Some(IntentOutcome::NeedsAttention), _) => "halted",
            (Some(IntentOutcome::Completed), false) => "completed",
            (Some(IntentOutcome::Repaired), false) => "repaired",
            (Some(IntentOutcome::NothingFilled), false) => "nothing_filled",
        };
        let partial = report.legs.iter().any(|l| {
            l.end
                .report()
                .is_some_and(|r| r.status == OrderStatus::PartiallyFilled)
        });
        TradeRecord {
            trade_no: flight.trade_no,
            pair_id: flight.pair_id.to_string(),
            detected_at: flight.detected_at,
            executed_at: now,
            direction: flight.direction.clone(),
            contracts_planned: flight.planned,
            contracts_hedged,
            kalshi_cost,
            polymarket_cost,
            fees,
            expected_profit: flight.expected_profit,
            outcome: outcome.to_string(),
            partial,
            repair_loss,
            gross_pnl,
            net_pnl,
        }
    }

    /// After the last event: lets executions in flight finish in simulated
    /// time (bounded by [`DRAIN_LIMIT`]).
    fn drain(&mut self, core: &mut DecisionCore) {
        let limit = self.clock.now().saturating_add(DRAIN_LIMIT);
        self.run_until(limit, true, core);
    }
}

/// A run in progress: the decision core, the driver and what is gathered.
struct Backtest {
    core: DecisionCore,
    driver: Driver,
    out: Vec<Output>,
    run: BacktestRun,
    next_tick: Option<Timestamp>,
    seen: u64,
}

/// Progress is reported every this many events.
const PROGRESS_EVERY: u64 = 65_536;

impl Backtest {
    fn new(pairs: Vec<PairSpec>, settings: &BacktestSettings) -> Result<Backtest, String> {
        let core_settings = CoreSettings {
            mode: Mode::Live,
            auto_execute: true,
            detection: settings.detection,
            max_book_age_kalshi: settings.max_book_age_kalshi,
            max_book_age_polymarket: settings.max_book_age_polymarket,
        };
        let pair_instruments: FxHashMap<Arc<str>, [InstrumentId; 3]> = pairs
            .iter()
            .map(|p| {
                (
                    p.pair_id.clone(),
                    [
                        p.kalshi_instrument.clone(),
                        p.polymarket_yes.clone(),
                        p.polymarket_no.clone(),
                    ],
                )
            })
            .collect();
        let state = shared(SimState::new(
            settings.seed,
            [settings.kalshi, settings.polymarket],
            settings.kalshi_grid.clone(),
            &pairs,
            [
                settings.starting_balance_kalshi,
                settings.starting_balance_polymarket,
            ],
        ));
        let core = DecisionCore::new(core_settings, pairs);
        let clock = SimulatedClock::new(Timestamp::ZERO);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .map_err(|e| format!("tokio runtime: {e}"))?;
        let venues = Venues {
            kalshi: Arc::new(SimVenue::new(Venue::Kalshi, state.clone(), clock.clone())),
            polymarket: Arc::new(SimVenue::new(
                Venue::Polymarket,
                state.clone(),
                clock.clone(),
            )),
        };
        let executor = Arc::new(Executor::new(
            MemoryStore::default(),
            venues,
            Arc::new(clock.clone()),
            Arc::new(NullAlerter),
            Arc::new(SeededIds::new(settings.seed)),
            ExecutionSettings::from_config(&settings.execution),
        ));
        let view = Arc::new(SimMarket::new(state.clone()));
        // As at engine start-up: reconciliation (of an empty journal) makes
        // the executor ready.
        let reconciled = rt
            .block_on(executor.reconcile(view.as_ref(), &[], ReconcilePolicy::default()))
            .map_err(|e| format!("reconciliation: {e}"))?;
        if !reconciled.ready {
            return Err(format!(
                "executor not ready after reconciliation: {:?}",
                reconciled.venue_errors
            ));
        }
        let flag = Arc::new(Flag::default());
        let driver = Driver {
            rt,
            clock,
            origin: None,
            state,
            executor,
            view,
            gate: DecisionGate::new(
                CircuitBreaker::new(
                    BreakerLimits::from_config(&settings.risk),
                    BreakerState::new(),
                ),
                CapitalManager::new(CapitalLimits::from_config(&settings.risk)),
            ),
            waker: Waker::from(flag.clone()),
            flag,
            in_flight: Vec::new(),
            copied: FxHashSet::default(),
            pair_instruments,
            active: false,
            trade_no: 0,
            hedged_value: Cash::ZERO,
            trades: Vec::new(),
            scratch: Vec::new(),
        };
        Ok(Backtest {
            core,
            driver,
            out: Vec::with_capacity(16),
            run: BacktestRun {
                label: settings.label.clone(),
                seed: settings.seed,
                events: 0,
                opportunities_seen: 0,
                first_event: None,
                last_event: None,
                starting_capital: settings
                    .starting_balance_kalshi
                    .saturating_add(settings.starting_balance_polymarket),
                orders_sent: 0,
                orders_filled: 0,
                orders_partially_filled: 0,
                orders_rejected: 0,
                detected_edges: Vec::new(),
                trades: Vec::new(),
            },
            next_tick: None,
            seen: 0,
        })
    }

    /// Before an event received at `received_at`: orders due earlier are
    /// delivered, the clock moves, the core ticks once a second. Returns
    /// the new time.
    #[inline]
    fn advance(&mut self, received_at: Timestamp, progress: &mut impl FnMut(u64)) -> Timestamp {
        self.seen += 1;
        if self.seen.is_multiple_of(PROGRESS_EVERY) {
            progress(self.seen);
        }
        if self.driver.active {
            self.driver.settle_before(received_at, &mut self.core);
        }
        let now = self.driver.clock.advance_to(received_at);
        if self.run.first_event.is_none() {
            self.run.first_event = Some(now);
            // The first balance and equity reading: the breaker is ready.
            self.driver.observe(now);
        }
        self.run.last_event = Some(now);
        if self.next_tick.is_none_or(|t| now >= t) {
            self.core
                .process(Input::Tick, now, &mut self.driver.gate, &mut self.out);
            self.driver.gate.breaker.tick(now);
            self.next_tick = Some(now.saturating_add(Duration::from_secs(1)));
        }
        now
    }

    /// Whether the venues hold a copy of `instrument`'s book (refreshed
    /// after the event); one emptiness check when they hold none.
    #[inline]
    fn copied(&self, instrument: &InstrumentId) -> bool {
        !self.driver.copied.is_empty() && self.driver.copied.contains(instrument)
    }

    /// After the core handled an event: venue copies refreshed, outputs
    /// gathered, executions started.
    #[inline]
    fn gather(&mut self, now: Timestamp, refresh: Option<InstrumentId>) {
        if let Some(instrument) = refresh {
            self.driver.refresh_copy(&instrument, &self.core);
        }
        if self.out.is_empty() {
            return;
        }
        let Backtest {
            core,
            driver,
            out,
            run,
            ..
        } = self;
        for output in out.drain(..) {
            match output {
                Output::Detected(o) => {
                    run.opportunities_seen += 1;
                    run.detected_edges.push(o.average_edge);
                }
                Output::Execute {
                    opportunity,
                    quantity,
                    ..
                } => driver.start(opportunity, quantity, now, core),
                _ => {}
            }
        }
    }

    fn book_event(&mut self, event: BookEvent, progress: &mut impl FnMut(u64)) {
        let now = self.advance(event.received_at, progress);
        let refresh = self
            .copied(&event.instrument)
            .then(|| event.instrument.clone());
        self.core.process(
            Input::Book(event),
            now,
            &mut self.driver.gate,
            &mut self.out,
        );
        self.gather(now, refresh);
    }

    /// One event decoded in place; `slot` is the core's slot for its
    /// instrument (`None` when no pair uses it), `instrument` its name.
    fn decoded_event(
        &mut self,
        event: &DecodedEvent,
        slot: Option<InstrumentSlot>,
        instrument: Option<&InstrumentId>,
        progress: &mut impl FnMut(u64),
    ) {
        let now = self.advance(event.received_at, progress);
        let refresh = instrument.filter(|i| self.copied(i)).cloned();
        match slot {
            Some(slot) => {
                let update = crate::scan::book_update(event, slot);
                self.core
                    .process_book(update, now, &mut self.driver.gate, &mut self.out);
            }
            // Not part of any pair: the core only counts it.
            None => {
                if let Some(instrument) = instrument {
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
                        instrument: instrument.clone(),
                        kind,
                        seq: event.seq,
                        exchange_ts: event.exchange_ts,
                        received_at: event.received_at,
                    };
                    self.core.process(
                        Input::Book(event),
                        now,
                        &mut self.driver.gate,
                        &mut self.out,
                    );
                }
            }
        }
        self.gather(now, refresh);
    }

    /// Lets executions in flight finish and assembles the run.
    fn finish(mut self) -> BacktestRun {
        self.driver.drain(&mut self.core);
        let counts = locked(&self.driver.state).counts();
        let mut run = self.run;
        run.events = self.core.stats().events;
        run.orders_sent = counts.sent;
        run.orders_filled = counts.filled;
        run.orders_partially_filled = counts.partially_filled;
        run.orders_rejected = counts.rejected;
        let mut trades = std::mem::take(&mut self.driver.trades);
        trades.sort_by_key(|t| (t.executed_at, t.trade_no));
        run.trades = trades;
        run
    }
}

/// Runs a backtest over `events` (in recording order). `progress` is
/// called with the event count every 65,536 events.
pub fn run_backtest<E>(
    events: impl IntoIterator<Item = Result<BookEvent, E>>,
    pairs: Vec<PairSpec>,
    settings: &BacktestSettings,
    mut progress: impl FnMut(u64),
) -> Result<BacktestRun, BacktestError<E>> {
    let mut bt = Backtest::new(pairs, settings).map_err(BacktestError::Setup)?;
    for event in events {
        bt.book_event(event.map_err(BacktestError::Input)?, &mut progress);
    }
    Ok(bt.finish())
}

/// [`run_backtest`] over binary recordings read in place, the way
/// `scan_binary` reads them: events that start no execution cost what they
/// cost a scan. The run is the same as over the decoded events.
pub fn run_backtest_binary<R: BufRead>(
    readers: impl IntoIterator<Item = BinaryReader<R>>,
    pairs: Vec<PairSpec>,
    settings: &BacktestSettings,
    mut progress: impl FnMut(u64),
) -> Result<BacktestRun, BacktestError<RecordingError>> {
    let mut bt = Backtest::new(pairs, settings).map_err(BacktestError::Setup)?;
    let mut event = DecodedEvent::default();
    for mut reader in readers {
        // The file's instrument number -> the core's slot (None: unpaired).
        let mut slots: Vec<Option<InstrumentSlot>> = Vec::new();
        while reader.read_into(&mut event).map_err(BacktestError::Input)? {
            let defined = reader.instruments();
            if slots.len() < defined.len() {
                let core = &bt.core;
                slots.extend(defined[slots.len()..].iter().map(|i| core.slot(i)));
            }
            let slot = slots.get(event.instrument).copied().flatten();
            bt.decoded_event(&event, slot, defined.get(event.instrument), &mut progress);
        }
    }
    Ok(bt.finish())
}
