#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Execution against scripted venues and the real SQLite journal.
//!
//! `ScriptedVenue` below is a test double of `OrderGateway`, never shipped:
//! it keeps a small model of a venue (orders by client id, positions) so that
//! what the executor believes can be checked against what the "venue" did,
//! and answers each new order by a scripted step (fill, partial, reject,
//! timeout before or after arrival, 5xx or 409 after arrival, not sent).
//! A `Crash` switch shared by the store wrapper and the venues stops the
//! "process" right after a chosen journal write or venue submit: later
//! writes are lost and later calls never return, as if the process died.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use orion_config::{ExecutionConfig, KalshiLegTif, PolymarketLegType};
use orion_core::{
    Alert, Alerter, Balance, Cash, ClientOrderId, Clock, FeeSchedule, Fill, GatewayError,
    InstrumentId, IntentOutcome, JournaledIntent, KalshiFeeType, LegEvent, Level, MarketId,
    OrderBook, OrderGateway, OrderKey, OrderReport, OrderRequest, OrderStatus, Outcome, Position,
    PreparedOrder, Price, Quantity, Rate, Severity, Side, Store, StoreError, Timestamp,
    TradeIntent, Venue,
};
use orion_execution::{
    ExecutionError, ExecutionReport, ExecutionSettings, Executor, LegEnd, LegSpec, MarketView,
    ReconcilePolicy, RepairAction, SeededIds, TradePlan, Venues,
};
use orion_storage::Database;
use proptest::prelude::*;
use tokio::sync::Notify;

// ------------------------------------------------------------ helpers

fn p(s: &str) -> Price {
    Price::parse(s).unwrap()
}

fn q(contracts: u64) -> Quantity {
    Quantity::from_contracts(contracts).unwrap()
}

fn kalshi_instr() -> InstrumentId {
    InstrumentId::new(Venue::Kalshi, "KXTEST-26DEC31").unwrap()
}

fn poly_no_instr() -> InstrumentId {
    InstrumentId::new(Venue::Polymarket, "222").unwrap()
}

fn plan(quantity: Quantity) -> TradePlan {
    TradePlan {
        pair_id: "pair-1".into(),
        legs: [
            LegSpec {
                market: MarketId::new(Venue::Kalshi, "KXTEST-26DEC31").unwrap(),
                instrument: kalshi_instr(),
                outcome: Outcome::Yes,
                limit_price: p("0.42"),
            },
            LegSpec {
                market: MarketId::new(Venue::Polymarket, "0xcond").unwrap(),
                instrument: poly_no_instr(),
                outcome: Outcome::No,
                limit_price: p("0.55"),
            },
        ],
        quantity,
        expected_profit: Cash::from_micros(300_000),
    }
}

fn config(kalshi_tif: KalshiLegTif) -> ExecutionConfig {
    ExecutionConfig {
        leg_timeout_ms: 2_000,
        max_repair_attempts: 3,
        max_unwind_loss_per_trade: Cash::from_micros(5_000_000),
        kalshi_time_in_force: kalshi_tif,
        polymarket_order_type: PolymarketLegType::Fok,
    }
}

fn book(bids: &[(&str, u64)], asks: &[(&str, u64)]) -> OrderBook {
    let mut b = OrderBook::new();
    b.apply_snapshot(
        bids.iter().map(|(px, n)| Level::new(p(px), q(*n))),
        asks.iter().map(|(px, n)| Level::new(p(px), q(*n))),
        None,
        None,
        Timestamp::ZERO,
    )
    .unwrap();
    b
}

/// Books and fees.
#[derive(Debug, Clone)]
struct StaticView {
    books: HashMap<InstrumentId, OrderBook>,
    fees: HashMap<InstrumentId, FeeSchedule>,
}

impl StaticView {
    /// Completing the Polymarket leg is cheap here; unwinding Kalshi costs.
    fn default_books() -> StaticView {
        Self::with_poly_no_asks(&[("0.56", 100), ("0.57", 100)])
    }

    fn with_poly_no_asks(asks: &[(&str, u64)]) -> StaticView {
        let mut books = HashMap::new();
        books.insert(
            kalshi_instr(),
            book(
                &[("0.40", 100), ("0.39", 100)],
                &[("0.43", 100), ("0.44", 100)],
            ),
        );
        books.insert(poly_no_instr(), book(&[("0.53", 100), ("0.52", 100)], asks));
        let mut fees = HashMap::new();
        fees.insert(
            kalshi_instr(),
            FeeSchedule::Kalshi {
                fee_type: KalshiFeeType::Quadratic,
                multiplier: Rate::ONE,
            },
        );
        fees.insert(
            poly_no_instr(),
            FeeSchedule::Polymarket {
                rate: Rate::ZERO,
                exponent: 1,
            },
        );
        StaticView { books, fees }
    }
}

impl MarketView for StaticView {
    fn book(&self, instrument: &InstrumentId) -> Option<OrderBook> {
        self.books.get(instrument).cloned()
    }
    fn fees(&self, instrument: &InstrumentId) -> Option<FeeSchedule> {
        self.fees.get(instrument).copied()
    }
}

/// Time that follows tokio's (paused) clock, so journal timestamps move.
#[derive(Debug)]
struct TokioClock {
    start: tokio::time::Instant,
}

impl Clock for TokioClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_secs(1_790_000_000).saturating_add(self.start.elapsed())
    }
}

#[derive(Debug, Default)]
struct RecordingAlerter {
    alerts: Mutex<Vec<Alert>>,
}

impl Alerter for RecordingAlerter {
    fn alert(&self, alert: Alert) {
        self.alerts.lock().unwrap().push(alert);
    }
}

impl RecordingAlerter {
    fn critical(&self) -> usize {
        self.alerts
            .lock()
            .unwrap()
            .iter()
            .filter(|a| a.severity == Severity::Critical)
            .count()
    }
}

// ------------------------------------------------------------ trace and crash

#[derive(Debug, Clone, PartialEq, Eq)]
enum Trace {
    Intent(String),
    Sending(ClientOrderId, u32),
    Report(ClientOrderId),
    Unknown(ClientOrderId),
    Finish(String),
    Submit(ClientOrderId),
}

type TraceLog = Arc<Mutex<Vec<Trace>>>;

/// The "process" dies at a chosen point: after the N-th journal write, or
/// right after the N-th submit reached a venue.
#[derive(Debug, Default)]
struct Crash {
    dead: AtomicBool,
    notify: Notify,
    writes_left: Mutex<Option<usize>>,
    submits_left: Mutex<Option<usize>>,
}

impl Crash {
    fn after_writes(n: usize) -> Arc<Crash> {
        let c = Crash::default();
        *c.writes_left.lock().unwrap() = Some(n);
        Arc::new(c)
    }
    fn after_submits(n: usize) -> Arc<Crash> {
        let c = Crash::default();
        *c.submits_left.lock().unwrap() = Some(n);
        Arc::new(c)
    }
    fn never() -> Arc<Crash> {
        Arc::new(Crash::default())
    }
    fn is_dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }
    fn kill(&self) {
        self.dead.store(true, Ordering::SeqCst);
        self.notify.notify_one();
    }
    fn tick(slot: &Mutex<Option<usize>>) -> bool {
        let mut left = slot.lock().unwrap();
        match left.as_mut() {
            Some(n) => {
                *n = n.saturating_sub(1);
                *n == 0
            }
            None => false,
        }
    }
}

/// The real journal, traced, and cut off when the process "dies".
struct CrashStore {
    db: Database,
    trace: TraceLog,
    crash: Arc<Crash>,
}

impl CrashStore {
    fn after_write(&self) {
        if Crash::tick(&self.crash.writes_left) {
            self.crash.kill();
        }
    }
}

impl Store for CrashStore {
    fn record_intent(&mut self, intent: &TradeIntent) -> Result<(), StoreError> {
        if self.crash.is_dead() {
            return Ok(());
        }
        self.db.record_intent(intent)?;
        self.trace
            .lock()
            .unwrap()
            .push(Trace::Intent(intent.intent_id.clone()));
        self.after_write();
        Ok(())
    }

    fn record_leg_event(
        &mut self,
        intent_id: &str,
        client_order_id: &ClientOrderId,
        event: &LegEvent,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        if self.crash.is_dead() {
            return Ok(());
        }
        self.db
            .record_leg_event(intent_id, client_order_id, event, at)?;
        self.trace.lock().unwrap().push(match event {
            LegEvent::Sending { attempt } => Trace::Sending(client_order_id.clone(), *attempt),
            LegEvent::Report(_) => Trace::Report(client_order_id.clone()),
            LegEvent::Unknown { .. } => Trace::Unknown(client_order_id.clone()),
        });
        self.after_write();
        Ok(())
    }

    fn finish_intent(
        &mut self,
        intent_id: &str,
        outcome: &IntentOutcome,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        if self.crash.is_dead() {
            return Ok(());
        }
        self.db.finish_intent(intent_id, outcome, at)?;
        self.trace
            .lock()
            .unwrap()
            .push(Trace::Finish(intent_id.to_string()));
        self.after_write();
        Ok(())
    }

    fn unfinished_intents(&self) -> Result<Vec<JournaledIntent>, StoreError> {
        self.db.unfinished_intents()
    }
}

// ------------------------------------------------------------ scripted venue

/// How the venue answers one new order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Fill,
    /// Fills this many micro-contracts (capped at the order), rest cancelled.
    Partial(u64),
    Reject,
    /// The order fills but the answer never comes.
    TimeoutAfterFill,
    /// The request never arrives and no answer comes.
    TimeoutBeforeArrival,
    /// The order fills, the answer is a 502.
    ServerErrorAfterFill,
    /// The order fills, the answer is a 409 duplicate.
    DuplicateAfterFill,
    /// Refused before sending (connect failure).
    NotSent,
    /// The request is slow on the wire: it reaches the venue (and fills)
    /// this many milliseconds later, whatever became of the sender; no
    /// answer comes.
    ArrivesLate(u64),
}

#[derive(Debug, Default)]
struct VenueModel {
    orders: HashMap<ClientOrderId, OrderReport>,
    /// Every submit call: client id and bytes.
    submits: Vec<(ClientOrderId, Vec<u8>)>,
    script: VecDeque<Step>,
    /// The next this many queries fail with a 503.
    query_failures: u32,
    /// The next this many queries answer "no such order" even when it
    /// exists (a venue's indexing lag).
    query_hides: u32,
    /// Refuse a known client id as a business error (Polymarket's answer to
    /// a signed order it already has) instead of a 409.
    duplicate_as_rejection: bool,
    /// Net contracts held per instrument and outcome, in micro-contracts.
    positions: BTreeMap<(InstrumentId, Outcome), i128>,
}

#[derive(Debug, Clone)]
struct ScriptedVenue {
    venue: Venue,
    model: Arc<Mutex<VenueModel>>,
    trace: TraceLog,
    crash: Arc<Crash>,
}

impl ScriptedVenue {
    fn fill(model: &mut VenueModel, order: &PreparedOrder, filled: Quantity) -> OrderReport {
        let r = &order.request;
        let status = if filled == r.quantity {
            OrderStatus::Filled
        } else if filled.is_zero() {
            OrderStatus::Cancelled
        } else {
            OrderStatus::PartiallyFilled
        };
        let report = OrderReport {
            client_order_id: r.client_order_id.clone(),
            venue_order_id: Some(format!("v-{}", r.client_order_id)),
            status,
            filled,
            average_price: (!filled.is_zero()).then_some(r.limit_price),
            fees: Cash::ZERO,
            reason: None,
            updated_at: Timestamp::ZERO,
        };
        let delta = i128::from(filled.micros());
        let entry = model
            .positions
            .entry((r.instrument.clone(), r.outcome))
            .or_insert(0);
        match r.side {
            Side::Buy => *entry += delta,
            Side::Sell => *entry -= delta,
        }
        model
            .orders
            .insert(r.client_order_id.clone(), report.clone());
        report
    }

    async fn dead_forever(&self) -> ! {
        loop {
            std::future::pending::<()>().await;
        }
    }
}

#[async_trait]
impl OrderGateway for ScriptedVenue {
    fn venue(&self) -> Venue {
        self.venue
    }

    fn prepare(&self, request: &OrderRequest) -> Result<PreparedOrder, GatewayError> {
        // Stands in for signing: deterministic bytes of the whole request.
        let body = serde_json::to_vec(request).unwrap();
        Ok(PreparedOrder {
            request: request.clone(),
            venue_order_id: (self.venue == Venue::Polymarket)
                .then(|| format!("0xhash-{}", request.client_order_id)),
            body,
        })
    }

    async fn submit(&self, order: &PreparedOrder) -> Result<OrderReport, GatewayError> {
        if self.crash.is_dead() {
            self.dead_forever().await;
        }
        let coid = order.request.client_order_id.clone();
        self.trace.lock().unwrap().push(Trace::Submit(coid.clone()));
        let step = {
            let mut m = self.model.lock().unwrap();
            m.submits.push((coid.clone(), order.body.clone()));
            if m.orders.contains_key(&coid) {
                None
            } else {
                Some(m.script.pop_front().unwrap_or(Step::Fill))
            }
        };
        let venue = self.venue;
        let Some(step) = step else {
            if self.model.lock().unwrap().duplicate_as_rejection {
                return Err(GatewayError::Rejected {
                    venue,
                    code: "400".into(),
                    message: "order already exists".into(),
                });
            }
            return Err(GatewayError::Duplicate {
                venue,
                client_order_id: coid,
            });
        };
        if let Step::ArrivesLate(ms) = step {
            let model = self.model.clone();
            let order = order.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                let filled = order.request.quantity;
                ScriptedVenue::fill(&mut model.lock().unwrap(), &order, filled);
            });
            if Crash::tick(&self.crash.submits_left) {
                self.crash.kill();
            }
            self.dead_forever().await;
        }
        let arrived = !matches!(
            step,
            Step::Reject | Step::TimeoutBeforeArrival | Step::NotSent
        );
        let report = if arrived {
            let filled = match step {
                Step::Partial(m) => Quantity::from_micros(m).min(order.request.quantity),
                _ => order.request.quantity,
            };
            Some(Self::fill(&mut self.model.lock().unwrap(), order, filled))
        } else {
            None
        };
        if arrived && Crash::tick(&self.crash.submits_left) {
            self.crash.kill();
            self.dead_forever().await;
        }
        match (step, report) {
            (Step::Fill | Step::Partial(_), Some(r)) => Ok(r),
            (Step::Reject, _) => Err(GatewayError::Rejected {
                venue,
                code: "400".into(),
                message: "insufficient liquidity".into(),
            }),
            (Step::NotSent, _) => Err(GatewayError::NotSent {
                venue,
                detail: "connect refused".into(),
            }),
            (Step::ServerErrorAfterFill, _) => Err(GatewayError::Server {
                venue,
                status: 502,
                detail: "bad gateway".into(),
            }),
            (Step::DuplicateAfterFill, _) => Err(GatewayError::Duplicate {
                venue,
                client_order_id: coid,
            }),
            _ => self.dead_forever().await,
        }
    }

    async fn cancel(&self, key: &OrderKey) -> Result<OrderReport, GatewayError> {
        if self.crash.is_dead() {
            self.dead_forever().await;
        }
        self.model
            .lock()
            .unwrap()
            .orders
            .get(&key.client_order_id)
            .cloned()
            .ok_or(GatewayError::NotFound {
                venue: self.venue,
                detail: "no such order".into(),
            })
    }

    async fn query(&self, key: &OrderKey) -> Result<Option<OrderReport>, GatewayError> {
        if self.crash.is_dead() {
            self.dead_forever().await;
        }
        let mut m = self.model.lock().unwrap();
        if m.query_failures > 0 {
            m.query_failures -= 1;
            return Err(GatewayError::Server {
                venue: self.venue,
                status: 503,
                detail: "unavailable".into(),
            });
        }
        if m.query_hides > 0 {
            m.query_hides -= 1;
            return Ok(None);
        }
        Ok(m.orders.get(&key.client_order_id).cloned())
    }

    async fn balance(&self) -> Result<Balance, GatewayError> {
        Ok(Balance {
            venue: self.venue,
            available: Cash::from_micros(1_000_000_000),
            portfolio_value: None,
            as_of: Timestamp::ZERO,
        })
    }

    async fn positions(&self) -> Result<Vec<Position>, GatewayError> {
        let m = self.model.lock().unwrap();
        Ok(m.positions
            .iter()
            .filter(|(_, v)| **v != 0)
            .map(|((instrument, outcome), v)| Position {
                market: MarketId::new(instrument.venue, &instrument.symbol).unwrap(),
                instrument: instrument.clone(),
                outcome: *outcome,
                quantity: Quantity::from_micros(u64::try_from(*v).unwrap()),
            })
            .collect())
    }

    async fn fills(&self, _since: Option<Timestamp>) -> Result<Vec<Fill>, GatewayError> {
        Ok(Vec::new())
    }
}

// ------------------------------------------------------------ world

/// Two venue models that outlive any one "process".
#[derive(Debug, Clone, Default)]
struct World {
    kalshi: Arc<Mutex<VenueModel>>,
    poly: Arc<Mutex<VenueModel>>,
}

impl World {
    fn script(&self, venue: Venue, steps: &[Step]) {
        let model = match venue {
            Venue::Kalshi => &self.kalshi,
            Venue::Polymarket => &self.poly,
        };
        model.lock().unwrap().script.extend(steps.iter().copied());
    }

    fn submits(&self) -> Vec<(ClientOrderId, Vec<u8>)> {
        let mut all = self.kalshi.lock().unwrap().submits.clone();
        all.extend(self.poly.lock().unwrap().submits.clone());
        all
    }

    fn submits_of(&self, coid: &ClientOrderId) -> Vec<Vec<u8>> {
        self.submits()
            .into_iter()
            .filter(|(c, _)| c == coid)
            .map(|(_, b)| b)
            .collect()
    }

    fn submit_counts(&self) -> HashMap<ClientOrderId, usize> {
        let mut counts = HashMap::new();
        for (coid, _) in self.submits() {
            *counts.entry(coid).or_default() += 1;
        }
        counts
    }

    fn position(&self, instrument: &InstrumentId, outcome: Outcome) -> i128 {
        let model = match instrument.venue {
            Venue::Kalshi => &self.kalshi,
            Venue::Polymarket => &self.poly,
        };
        model
            .lock()
            .unwrap()
            .positions
            .get(&(instrument.clone(), outcome))
            .copied()
            .unwrap_or(0)
    }

    /// Venue-side imbalance of the pair, in micro-contracts.
    fn imbalance(&self) -> i128 {
        self.position(&kalshi_instr(), Outcome::Yes) - self.position(&poly_no_instr(), Outcome::No)
    }
}

struct Process {
    executor: Executor<CrashStore>,
    alerter: Arc<RecordingAlerter>,
    trace: TraceLog,
}

fn start(dir: &Path, world: &World, crash: Arc<Crash>, cfg: ExecutionConfig, seed: u64) -> Process {
    let trace: TraceLog = Arc::default();
    let db = Database::open(&dir.join("orion.db")).unwrap();
    let store = CrashStore {
        db,
        trace: trace.clone(),
        crash: crash.clone(),
    };
    let venue = |venue, model: &Arc<Mutex<VenueModel>>| -> Arc<dyn OrderGateway> {
        Arc::new(ScriptedVenue {
            venue,
            model: model.clone(),
            trace: trace.clone(),
            crash: crash.clone(),
        })
    };
    let venues = Venues {
        kalshi: venue(Venue::Kalshi, &world.kalshi),
        polymarket: venue(Venue::Polymarket, &world.poly),
    };
    let alerter = Arc::new(RecordingAlerter::default());
    let executor = Executor::new(
        store,
        venues,
        Arc::new(TokioClock {
            start: tokio::time::Instant::now(),
        }),
        alerter.clone(),
        Arc::new(SeededIds::new(seed)),
        ExecutionSettings::from_config(&cfg),
    );
    Process {
        executor,
        alerter,
        trace,
    }
}

/// Starts a process and reconciles its (empty or not) journal.
async fn start_ready(dir: &Path, world: &World, cfg: ExecutionConfig, seed: u64) -> Process {
    let proc = start(dir, world, Crash::never(), cfg, seed);
    let report = proc
        .executor
        .reconcile(
            &StaticView::default_books(),
            &[],
            ReconcilePolicy::default(),
        )
        .await
        .unwrap();
    assert!(report.ready, "{report:?}");
    proc
}

fn family(dir: &Path, parent: &str) -> Vec<orion_storage::JournalRecord> {
    let db = Database::open_read_only(&dir.join("orion.db")).unwrap();
    db.intent_family(parent).unwrap()
}

fn leg_events(record: &orion_storage::JournalRecord, coid: &ClientOrderId) -> Vec<String> {
    record
        .journal
        .events
        .iter()
        .filter(|(c, _, _)| c == coid)
        .map(|(_, e, _)| match e {
            LegEvent::Sending { attempt } => format!("sending{attempt}"),
            LegEvent::Report(r) => format!("report:{:?}", r.status).to_lowercase(),
            LegEvent::Unknown { .. } => "unknown".to_string(),
        })
        .collect()
}

/// The holdings the ledger keeps (written with each intent's finish, in the
/// same transaction): what the engine hands reconciliation.
fn ledger_positions(db: &Database) -> Vec<Position> {
    db.positions(false)
        .unwrap()
        .iter()
        .map(|p| p.to_position().unwrap())
        .collect()
}

/// Holdings implied by a family's journal: each order's last final report.
fn journal_positions(fam: &[orion_storage::JournalRecord]) -> Vec<Position> {
    let mut net: BTreeMap<(InstrumentId, Outcome), i128> = BTreeMap::new();
    for record in fam {
        for leg in &record.journal.intent.legs {
            let r = &leg.request;
            let filled = record
                .journal
                .events
                .iter()
                .rev()
                .filter(|(c, _, _)| *c == r.client_order_id)
                .find_map(|(_, e, _)| match e {
                    LegEvent::Report(rep) if rep.status.is_final() => Some(rep.filled),
                    _ => None,
                })
                .unwrap_or(Quantity::ZERO);
            let v = i128::from(filled.micros());
            *net.entry((r.instrument.clone(), r.outcome)).or_default() +=
                if r.side == Side::Buy { v } else { -v };
        }
    }
    net.into_iter()
        .filter(|(_, v)| *v != 0)
        .map(|((instrument, outcome), v)| Position {
            market: MarketId::new(instrument.venue, &instrument.symbol).unwrap(),
            instrument,
            outcome,
            quantity: Quantity::from_micros(u64::try_from(v).unwrap()),
        })
        .collect()
}

/// Checks the journal-before-send protocol on a trace.
fn assert_protocol(trace: &[Trace]) {
    let first_submit = trace.iter().position(|t| matches!(t, Trace::Submit(_)));
    let first_intent = trace.iter().position(|t| matches!(t, Trace::Intent(_)));
    if let Some(s) = first_submit {
        assert!(
            first_intent.is_some_and(|i| i < s),
            "intent after a submit: {trace:?}"
        );
    }
    // Every submit is immediately preceded (for its order) by a Sending,
    // with one Sending per submit.
    let mut sendings: HashMap<ClientOrderId, u32> = HashMap::new();
    let mut submits: HashMap<ClientOrderId, u32> = HashMap::new();
    for t in trace {
        match t {
            Trace::Sending(c, attempt) => {
                let n = sendings.entry(c.clone()).or_default();
                *n += 1;
                assert_eq!(*n, *attempt, "attempts numbered in order for {c}");
            }
            Trace::Submit(c) => {
                let n = submits.entry(c.clone()).or_default();
                *n += 1;
                assert!(
                    sendings.get(c).copied().unwrap_or(0) >= *n,
                    "submit of {c} without a journaled Sending: {trace:?}"
                );
            }
            _ => {}
        }
    }
}

fn assert_no_duplicate_orders(world: &World) {
    let mut bodies: HashMap<ClientOrderId, Vec<u8>> = HashMap::new();
    for (coid, body) in world.submits() {
        if let Some(prev) = bodies.get(&coid) {
            assert_eq!(prev, &body, "{coid} resent with different bytes");
        } else {
            bodies.insert(coid, body);
        }
    }
}

async fn run(proc: &Process, qty: Quantity, view: &StaticView) -> ExecutionReport {
    proc.executor.execute(&plan(qty), view).await.unwrap()
}

// ------------------------------------------------------------ scenarios

#[tokio::test(start_paused = true)]
async fn both_legs_fill() {
    let dir = tempfile::tempdir().unwrap();
    let world = World::default();
    let proc = start_ready(dir.path(), &world, config(KalshiLegTif::FillOrKill), 1).await;
    let report = run(&proc, q(10), &StaticView::default_books()).await;
    assert_eq!(report.outcome, Some(IntentOutcome::Completed));
    assert!(report.repairs.is_empty());
    assert_eq!(report.imbalance(), Quantity::ZERO);
    assert!(matches!(report.legs[0].end, LegEnd::Filled(_)));
    assert_eq!(world.imbalance(), 0);
    assert_eq!(
        world.position(&kalshi_instr(), Outcome::Yes),
        i128::from(q(10).micros())
    );
    assert_eq!(world.submits().len(), 2);

    // Planning: equal quantities, configured time in force, limits kept.
    let fam = family(dir.path(), &report.intent_id);
    assert_eq!(fam.len(), 1);
    let legs = &fam[0].journal.intent.legs;
    assert_eq!(legs.len(), 2);
    assert_eq!(legs[0].request.quantity, legs[1].request.quantity);
    assert_eq!(
        legs[0].request.time_in_force,
        orion_core::TimeInForce::FillOrKill
    );
    assert_eq!(legs[0].request.limit_price, p("0.42"));
    assert_eq!(legs[1].request.limit_price, p("0.55"));
    assert_ne!(
        legs[0].request.client_order_id,
        legs[1].request.client_order_id
    );
    assert_eq!(fam[0].outcome, Some(IntentOutcome::Completed));
    for leg in legs {
        assert_eq!(
            leg_events(&fam[0], &leg.request.client_order_id),
            ["sending1", "report:filled"]
        );
    }
    assert_protocol(&proc.trace.lock().unwrap());
    // Finished last.
    assert!(matches!(
        proc.trace.lock().unwrap().last(),
        Some(Trace::Finish(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn engine_refuses_to_trade_before_reconciliation() {
    let dir = tempfile::tempdir().unwrap();
    let world = World::default();
    let proc = start(
        dir.path(),
        &world,
        Crash::never(),
        config(KalshiLegTif::FillOrKill),
        1,
    );
    assert!(!proc.executor.readiness().is_ready());
    let err = proc
        .executor
        .execute(&plan(q(10)), &StaticView::default_books())
        .await
        .unwrap_err();
    assert!(matches!(err, ExecutionError::NotReady));
    assert!(world.submits().is_empty());
}

#[tokio::test(start_paused = true)]
async fn one_leg_rejected_completes_the_hedge_when_cheaper() {
    let dir = tempfile::tempdir().unwrap();
    let world = World::default();
    world.script(Venue::Polymarket, &[Step::Reject]);
    let proc = start_ready(dir.path(), &world, config(KalshiLegTif::FillOrKill), 2).await;
    let report = run(&proc, q(10), &StaticView::default_books()).await;
    assert_eq!(report.outcome, Some(IntentOutcome::Repaired));
    assert_eq!(report.repairs.len(), 1);
    let repair = &report.repairs[0];
    // Completing: buy 10 NO at 0.56 against YES at 0.42 locks +$0.20;
    // unwinding: sell 10 YES at 0.40 loses $0.20 plus Kalshi's fee.
    assert_eq!(repair.action, RepairAction::Complete);
    assert_eq!(repair.leg.instrument, poly_no_instr());
    assert_eq!(repair.leg.side, Side::Buy);
    assert_eq!(repair.leg.quantity, q(10));
    assert_eq!(repair.leg.limit_price, p("0.56"));
    assert_eq!(repair.expected_pnl, Cash::from_micros(200_000));
    assert_eq!(report.unwind_loss, Cash::ZERO);
    assert_eq!(world.imbalance(), 0);
    assert!(!report.halted);

    // The repair is a journaled child intent, finished after the parent.
    let fam = family(dir.path(), &report.intent_id);
    assert_eq!(fam.len(), 2);
    assert_eq!(
        fam[1].journal.intent.intent_id,
        format!("{}/repair-1", report.intent_id)
    );
    assert_eq!(fam[0].outcome, Some(IntentOutcome::Repaired));
    assert_eq!(fam[1].outcome, Some(IntentOutcome::Completed));
    let trace = proc.trace.lock().unwrap().clone();
    let finishes: Vec<_> = trace
        .iter()
        .filter_map(|t| match t {
            Trace::Finish(id) => Some(id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        finishes,
        [
            report.intent_id.clone(),
            format!("{}/repair-1", report.intent_id)
        ]
    );
    assert_protocol(&trace);
}

#[tokio::test(start_paused = true)]
async fn one_leg_rejected_unwinds_when_completing_costs_more() {
    let dir = tempfile::tempdir().unwrap();
    let world = World::default();
    world.script(Venue::Polymarket, &[Step::Reject]);
    let proc = start_ready(dir.path(), &world, config(KalshiLegTif::FillOrKill), 3).await;
    // NO now costs 0.70: completing loses $1.20, unwinding $0.368.
    let view = StaticView::with_poly_no_asks(&[("0.70", 100)]);
    let report = run(&proc, q(10), &view).await;
    assert_eq!(report.outcome, Some(IntentOutcome::Repaired));
    let repair = &report.repairs[0];
    assert_eq!(repair.action, RepairAction::Unwind);
    assert_eq!(repair.leg.instrument, kalshi_instr());
    assert_eq!(repair.leg.side, Side::Sell);
    assert_eq!(repair.leg.limit_price, p("0.40"));
    // 10 × (0.40 − 0.42) = −0.20 and the fee 0.07 × 10 × 0.4 × 0.6 = 0.168.
    assert_eq!(repair.expected_pnl, Cash::from_micros(-368_000));
    // The scripted venue charges no fee, so the realized loss is the price.
    assert_eq!(report.unwind_loss, Cash::from_micros(200_000));
    assert_eq!(world.position(&kalshi_instr(), Outcome::Yes), 0);
    assert_eq!(world.imbalance(), 0);
}

#[tokio::test(start_paused = true)]
async fn partial_fill_is_hedged_by_exactly_the_difference() {
    let dir = tempfile::tempdir().unwrap();
    let world = World::default();
    world.script(Venue::Kalshi, &[Step::Partial(6_000_000)]);
    let proc = start_ready(
        dir.path(),
        &world,
        config(KalshiLegTif::ImmediateOrCancel),
        4,
    )
    .await;
    let report = run(&proc, q(10), &StaticView::default_books()).await;
    assert!(matches!(report.legs[0].end, LegEnd::PartiallyFilled(_)));
    assert_eq!(report.repairs.len(), 1);
    let repair = &report.repairs[0];
    // Polymarket filled 10, Kalshi 6: 4 YES are bought (0.43 + 0.55 < 1)
    // rather than 4 NO sold at 0.53 below their 0.55 cost.
    assert_eq!(repair.action, RepairAction::Complete);
    assert_eq!(repair.leg.instrument, kalshi_instr());
    assert_eq!(repair.leg.quantity, q(4));
    assert_eq!(report.net, [i128::from(q(10).micros()); 2]);
    assert_eq!(world.imbalance(), 0);
    assert_eq!(report.outcome, Some(IntentOutcome::Repaired));
}

#[tokio::test(start_paused = true)]
async fn repair_never_sends_an_order_below_the_venue_minimum() {
    // Polymarket fills 6.4 of 10: Kalshi is long by 3.6. Completing would
    // buy 3.6 Polymarket NO (cheaper here), under its 5-share minimum.
    let run_with = |minimum: Option<Quantity>| async move {
        let dir = tempfile::tempdir().unwrap();
        let world = World::default();
        world.script(Venue::Polymarket, &[Step::Partial(6_400_000)]);
        let proc = start_ready(dir.path(), &world, config(KalshiLegTif::FillOrKill), 21).await;
        if let Some(m) = minimum {
            proc.executor.set_min_order_size(&poly_no_instr(), m);
        }
        let report = run(&proc, q(10), &StaticView::default_books()).await;
        let poly_submits = world.poly.lock().unwrap().submits.len();
        (report, poly_submits, world.imbalance())
    };
    // Unknown minimum: the cheaper completion on Polymarket is sent.
    let (report, poly_submits, _) = run_with(None).await;
    assert_eq!(report.repairs[0].action, RepairAction::Complete);
    assert_eq!(report.repairs[0].leg.instrument, poly_no_instr());
    assert_eq!(poly_submits, 2);
    // Known minimum: straight to the Kalshi unwind, nothing sent to
    // Polymarket beyond the original leg.
    let (report, poly_submits, imbalance) = run_with(Some(q(5))).await;
    assert_eq!(report.repairs.len(), 1, "{report:?}");
    let repair = &report.repairs[0];
    assert_eq!(repair.action, RepairAction::Unwind);
    assert_eq!(repair.leg.instrument, kalshi_instr());
    assert_eq!(repair.leg.quantity, Quantity::parse("3.6").unwrap());
    assert_eq!(poly_submits, 1, "no order below the minimum");
    assert_eq!(imbalance, 0);
    assert_eq!(report.outcome, Some(IntentOutcome::Repaired));
}

#[tokio::test(start_paused = true)]
async fn submit_timeout_resolved_by_query_without_resend() {
    let dir = tempfile::tempdir().unwrap();
    let world = World::default();
    world.script(Venue::Kalshi, &[Step::TimeoutAfterFill]);
    let proc = start_ready(dir.path(), &world, config(KalshiLegTif::FillOrKill), 5).await;
    let report = run(&proc, q(10), &StaticView::default_books()).await;
    assert_eq!(report.outcome, Some(IntentOutcome::Completed));
    let coid = &report.legs[0].client_order_id;
    assert_eq!(world.submits_of(coid).len(), 1, "no resend after a timeout");
    let fam = family(dir.path(), &report.intent_id);
    assert_eq!(
        leg_events(&fam[0], coid),
        ["sending1", "unknown", "report:filled"]
    );
}

#[tokio::test(start_paused = true)]
async fn submit_timeout_never_arrived_resends_the_same_bytes_once() {
    let dir = tempfile::tempdir().unwrap();
    let world = World::default();
    world.script(Venue::Kalshi, &[Step::TimeoutBeforeArrival, Step::Fill]);
    let proc = start_ready(dir.path(), &world, config(KalshiLegTif::FillOrKill), 6).await;
    let report = run(&proc, q(10), &StaticView::default_books()).await;
    assert_eq!(report.outcome, Some(IntentOutcome::Completed));
    let coid = &report.legs[0].client_order_id;
    let bodies = world.submits_of(coid);
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0], bodies[1], "a resend is the same signed order");
    assert_eq!(report.legs[0].attempts, 2);
    let fam = family(dir.path(), &report.intent_id);
    assert_eq!(
        leg_events(&fam[0], coid),
        ["sending1", "unknown", "sending2", "report:filled"]
    );
    assert_protocol(&proc.trace.lock().unwrap());
}

#[tokio::test(start_paused = true)]
async fn a_resend_refused_as_a_duplicate_is_settled_by_query_not_taken_as_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let world = World::default();
    // The order filled, but the venue's index lagged: "no such order" until
    // absence looks proven, then a resend of the same bytes is refused as
    // already known.
    world.script(Venue::Polymarket, &[Step::TimeoutAfterFill]);
    {
        let mut m = world.poly.lock().unwrap();
        // One answer inside the grace window, then two that count.
        m.query_hides = 3;
        m.duplicate_as_rejection = true;
    }
    let proc = start_ready(dir.path(), &world, config(KalshiLegTif::FillOrKill), 14).await;
    let report = run(&proc, q(10), &StaticView::default_books()).await;
    assert!(
        matches!(report.legs[1].end, LegEnd::Filled(_)),
        "{report:?}"
    );
    assert_eq!(report.outcome, Some(IntentOutcome::Completed));
    assert!(report.repairs.is_empty(), "no repair of a leg that filled");
    assert_eq!(world.submits_of(&report.legs[1].client_order_id).len(), 2);
    assert_eq!(world.imbalance(), 0);
}

#[tokio::test(start_paused = true)]
async fn never_arrived_twice_is_not_resent_a_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let world = World::default();
    world.script(
        Venue::Kalshi,
        &[
            Step::TimeoutBeforeArrival,
            Step::TimeoutBeforeArrival,
            Step::Fill,
        ],
    );
    let proc = start_ready(dir.path(), &world, config(KalshiLegTif::FillOrKill), 7).await;
    let report = run(&proc, q(10), &StaticView::default_books()).await;
    let coid = &report.legs[0].client_order_id;
    assert_eq!(world.submits_of(coid).len(), 2, "one resend at most");
    assert!(matches!(report.legs[0].end, LegEnd::Rejected { .. }));
    // Polymarket filled: repaired (completing on Kalshi at 0.43).
    assert_eq!(report.outcome, Some(IntentOutcome::Repaired));
    assert_eq!(world.imbalance(), 0);
}

#[tokio::test(start_paused = true)]
async fn duplicate_409_and_5xx_are_resolved_by_query() {
    let dir = tempfile::tempdir().unwrap();
    let world = World::default();
    world.script(Venue::Kalshi, &[Step::DuplicateAfterFill]);
    world.script(Venue::Polymarket, &[Step::ServerErrorAfterFill]);
    let proc = start_ready(dir.path(), &world, config(KalshiLegTif::FillOrKill), 8).await;
    let report = run(&proc, q(10), &StaticView::default_books()).await;
    assert_eq!(report.outcome, Some(IntentOutcome::Completed));
    assert_eq!(world.submits().len(), 2);
    let fam = family(dir.path(), &report.intent_id);
    for leg in &report.legs {
        assert_eq!(
            leg_events(&fam[0], &leg.client_order_id),
            ["sending1", "unknown", "report:filled"]
        );
    }
}

#[tokio::test(start_paused = true)]
async fn repair_failing_repeatedly_halts_the_pair_with_a_critical_alert() {
    let dir = tempfile::tempdir().unwrap();
    let world = World::default();
    world.script(Venue::Polymarket, &[Step::Reject; 10]);
    // The Kalshi leg fills; every unwind there is refused too.
    world.script(Venue::Kalshi, &[Step::Fill]);
    world.script(Venue::Kalshi, &[Step::Reject; 10]);
    let proc = start_ready(dir.path(), &world, config(KalshiLegTif::FillOrKill), 9).await;
    // The engine stores halts through this hook.
    let told: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let sink = told.clone();
    proc.executor
        .on_halt(Arc::new(move |pair: &str, why: &str| {
            sink.lock()
                .unwrap()
                .push((pair.to_string(), why.to_string()));
        }));
    let report = run(&proc, q(10), &StaticView::default_books()).await;
    assert_eq!(report.outcome, Some(IntentOutcome::NeedsAttention));
    assert!(report.halted);
    let told = told.lock().unwrap().clone();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].0, "pair-1");
    assert!(told[0].1.contains(&report.intent_id), "{told:?}");
    assert_eq!(report.repairs.len(), 3, "bounded by max_repair_attempts");
    assert!(proc.alerter.critical() >= 1);
    assert!(proc.executor.is_halted("pair-1"));
    let err = proc
        .executor
        .execute(&plan(q(10)), &StaticView::default_books())
        .await
        .unwrap_err();
    assert!(matches!(err, ExecutionError::PairHalted(_)));
    // Every repair attempt was journaled and finished.
    let fam = family(dir.path(), &report.intent_id);
    assert_eq!(fam.len(), 4);
    assert!(fam.iter().all(|r| r.outcome.is_some()));
    assert_protocol(&proc.trace.lock().unwrap());
}

#[tokio::test(start_paused = true)]
async fn a_refused_repair_falls_back_to_the_other_way() {
    let dir = tempfile::tempdir().unwrap();
    let world = World::default();
    // Completing on Polymarket is cheaper but refused (say, below its
    // minimum size): the next attempt unwinds on Kalshi instead.
    world.script(Venue::Polymarket, &[Step::Reject, Step::Reject]);
    let proc = start_ready(dir.path(), &world, config(KalshiLegTif::FillOrKill), 13).await;
    let report = run(&proc, q(10), &StaticView::default_books()).await;
    assert_eq!(report.outcome, Some(IntentOutcome::Repaired));
    let actions: Vec<_> = report.repairs.iter().map(|r| r.action).collect();
    assert_eq!(actions, [RepairAction::Complete, RepairAction::Unwind]);
    assert_eq!(world.imbalance(), 0);
    assert_eq!(world.position(&kalshi_instr(), Outcome::Yes), 0);
}

#[tokio::test(start_paused = true)]
async fn unresolvable_leg_leaves_the_intent_open_then_reconciliation_closes_it() {
    let dir = tempfile::tempdir().unwrap();
    let world = World::default();
    world.script(Venue::Kalshi, &[Step::TimeoutAfterFill]);
    let proc = start_ready(dir.path(), &world, config(KalshiLegTif::FillOrKill), 10).await;
    world.kalshi.lock().unwrap().query_failures = 100;
    let report = run(&proc, q(10), &StaticView::default_books()).await;
    assert_eq!(report.outcome, None, "left open: fate unknown");
    assert!(matches!(report.legs[0].end, LegEnd::Unknown { .. }));
    assert!(report.halted);
    assert!(proc.alerter.critical() >= 1);
    drop(proc);

    world.kalshi.lock().unwrap().query_failures = 0;
    let proc = start(
        dir.path(),
        &world,
        Crash::never(),
        config(KalshiLegTif::FillOrKill),
        11,
    );
    let rec = proc
        .executor
        .reconcile(
            &StaticView::default_books(),
            &[],
            ReconcilePolicy::default(),
        )
        .await
        .unwrap();
    assert!(rec.ready, "{rec:?}");
    assert_eq!(rec.resolved.len(), 1);
    assert_eq!(rec.resolved[0].outcome, Some(IntentOutcome::Completed));
    assert_eq!(world.submits().len(), 2, "resolved by query only");
}

#[tokio::test(start_paused = true)]
async fn reconciliation_reports_position_differences_and_stays_not_ready() {
    let dir = tempfile::tempdir().unwrap();
    let world = World::default();
    world
        .kalshi
        .lock()
        .unwrap()
        .positions
        .insert((kalshi_instr(), Outcome::Yes), 5_000_000);
    let proc = start(
        dir.path(),
        &world,
        Crash::never(),
        config(KalshiLegTif::FillOrKill),
        12,
    );
    let rec = proc
        .executor
        .reconcile(
            &StaticView::default_books(),
            &[],
            ReconcilePolicy::default(),
        )
        .await
        .unwrap();
    assert!(!rec.ready);
    assert_eq!(rec.position_diffs.len(), 1);
    assert_eq!(rec.position_diffs[0].venue, q(5));
    assert_eq!(rec.position_diffs[0].expected, Quantity::ZERO);
    assert!(!proc.executor.readiness().is_ready());
    assert_eq!(rec.balances.len(), 2);
    // Told about the holding, reconciliation agrees.
    let expected = [Position {
        market: MarketId::new(Venue::Kalshi, "KXTEST-26DEC31").unwrap(),
        instrument: kalshi_instr(),
        outcome: Outcome::Yes,
        quantity: q(5),
    }];
    let rec = proc
        .executor
        .reconcile(
            &StaticView::default_books(),
            &expected,
            ReconcilePolicy::default(),
        )
        .await
        .unwrap();
    assert!(rec.ready, "{rec:?}");

    // Scoped to other instruments (the engine passes its pairs'), the same
    // difference is still reported but no longer blocks.
    let rec = proc
        .executor
        .reconcile(
            &StaticView::default_books(),
            &[],
            ReconcilePolicy {
                block_on_position_mismatch: true,
                scope: Some([poly_no_instr()].into_iter().collect()),
            },
        )
        .await
        .unwrap();
    assert_eq!(rec.position_diffs.len(), 1);
    assert!(!rec.position_diffs[0].blocking);
    assert!(rec.ready, "{rec:?}");
    // In scope, it blocks again.
    let rec = proc
        .executor
        .reconcile(
            &StaticView::default_books(),
            &[],
            ReconcilePolicy {
                block_on_position_mismatch: true,
                scope: Some([kalshi_instr()].into_iter().collect()),
            },
        )
        .await
        .unwrap();
    assert!(rec.position_diffs[0].blocking);
    assert!(!rec.ready);
}

#[tokio::test(start_paused = true)]
async fn the_ledger_after_a_trade_is_what_reconciliation_expects() {
    // A completed trade writes its positions with the intent's finish; a
    // restart that passes the ledger's positions finds the venues agreeing.
    let dir = tempfile::tempdir().unwrap();
    let world = World::default();
    let proc = start_ready(dir.path(), &world, config(KalshiLegTif::FillOrKill), 14).await;
    let report = proc
        .executor
        .execute(&plan(q(10)), &StaticView::default_books())
        .await
        .unwrap();
    assert_eq!(report.outcome, Some(IntentOutcome::Completed));
    let db = proc.executor.into_store().db;
    let ledger: Vec<Position> = db
        .positions(false)
        .unwrap()
        .iter()
        .map(|p| p.to_position().unwrap())
        .collect();
    assert_eq!(ledger.len(), 2, "{ledger:?}");
    drop(db);
    let proc = start(
        dir.path(),
        &world,
        Crash::never(),
        config(KalshiLegTif::FillOrKill),
        15,
    );
    let rec = proc
        .executor
        .reconcile(
            &StaticView::default_books(),
            &ledger,
            ReconcilePolicy::default(),
        )
        .await
        .unwrap();
    assert!(rec.position_diffs.is_empty(), "{rec:?}");
    assert!(rec.ready);
    // Without the ledger, the venues' holdings are all differences.
    let rec = proc
        .executor
        .reconcile(
            &StaticView::default_books(),
            &[],
            ReconcilePolicy::default(),
        )
        .await
        .unwrap();
    assert_eq!(rec.position_diffs.len(), 2, "{rec:?}");
}

// ------------------------------------------------------------ crashes

/// Runs `steps` with the process killed at `crash`, restarts on the same
/// database and venues, reconciles, and checks nothing was lost or doubled.
async fn crash_and_recover(crash: Arc<Crash>, kalshi: &[Step], poly: &[Step], seed: u64) -> bool {
    crash_twice_and_recover(crash, None, kalshi, poly, seed).await
}

/// As [`crash_and_recover`], and when `in_reconcile` is given the first
/// restart dies too, part-way through its reconciliation.
async fn crash_twice_and_recover(
    crash: Arc<Crash>,
    in_reconcile: Option<Arc<Crash>>,
    kalshi: &[Step],
    poly: &[Step],
    seed: u64,
) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let world = World::default();
    world.script(Venue::Kalshi, kalshi);
    world.script(Venue::Polymarket, poly);
    let cfg = config(KalshiLegTif::FillOrKill);
    // A fresh process that will die at the chosen point.
    let proc = start(dir.path(), &world, crash.clone(), cfg.clone(), seed + 1_000);
    proc.executor
        .reconcile(
            &StaticView::default_books(),
            &[],
            ReconcilePolicy::default(),
        )
        .await
        .unwrap();
    let view = StaticView::default_books();
    let trade = plan(q(10));
    let finished = tokio::select! {
        r = proc.executor.execute(&trade, &view) => { r.unwrap(); true }
        () = crash.notify.notified() => false,
    };
    let trace = proc.trace.lock().unwrap().clone();
    assert_protocol(&trace);
    drop(proc);

    let submits_before = world.submit_counts();
    if let Some(second) = &in_reconcile {
        let proc = start(
            dir.path(),
            &world,
            second.clone(),
            cfg.clone(),
            seed + 3_000,
        );
        let view = StaticView::default_books();
        tokio::select! {
            r = proc.executor.reconcile(&view, &[], ReconcilePolicy::default()) => { r.unwrap(); }
            () = second.notify.notified() => {}
        }
        assert_protocol(&proc.trace.lock().unwrap());
    }
    let parent_id = trace.iter().find_map(|t| match t {
        Trace::Intent(id) => Some(id.clone()),
        _ => None,
    });
    // What the engine knew when it died: a finished family's fills (it had
    // the report); an open family is reconciliation's to add.
    let known_positions =
        ledger_positions(&Database::open_read_only(&dir.path().join("orion.db")).unwrap());
    // The ledger holds exactly the finished intents' fills: a finished
    // family's parent legs, as its journal says.
    if let Some(fam) = parent_id
        .map(|id| family(dir.path(), &id))
        .filter(|fam| fam.first().is_some_and(|r| r.outcome.is_some()))
    {
        let finished: Vec<_> = fam
            .iter()
            .filter(|r| r.outcome.is_some())
            .cloned()
            .collect();
        // (The journal helper names no market; compare the holdings.)
        let key = |list: &[Position]| {
            let mut v: Vec<_> = list
                .iter()
                .map(|p| (p.instrument.clone(), p.outcome, p.quantity))
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            key(&known_positions),
            key(&journal_positions(&finished)),
            "ledger and journal agree"
        );
    }
    let parent_coids: Vec<ClientOrderId> = {
        let db = Database::open_read_only(&dir.path().join("orion.db")).unwrap();
        db.unfinished_intents()
            .unwrap()
            .iter()
            .filter(|j| !j.intent.intent_id.contains("/repair-"))
            .flat_map(|j| {
                j.intent
                    .legs
                    .iter()
                    .map(|l| l.request.client_order_id.clone())
            })
            .collect()
    };

    // Restart: the venues answer again.
    let proc = start(dir.path(), &world, Crash::never(), cfg, seed + 2_000);
    let rec = proc
        .executor
        .reconcile(
            &StaticView::default_books(),
            &known_positions,
            ReconcilePolicy::default(),
        )
        .await
        .unwrap();
    assert!(rec.ready, "{rec:?}");
    assert!(rec.position_diffs.is_empty(), "{rec:?}");
    let db_open = proc.executor.into_store().db;
    assert!(db_open.unfinished_intents().unwrap().is_empty());
    drop(db_open);

    // Anything still on the wire has landed by now.
    tokio::time::sleep(Duration::from_secs(30)).await;
    // Reconciliation never sent a journaled parent leg again.
    for coid in &parent_coids {
        assert_eq!(
            world.submits_of(coid).len(),
            submits_before.get(coid).copied().unwrap_or(0),
            "reconciliation resent {coid}"
        );
    }
    assert_no_duplicate_orders(&world);
    let halted = rec.resolved.iter().any(|r| r.halted);
    assert!(
        world.imbalance() == 0 || halted,
        "orphaned exposure {}",
        world.imbalance()
    );
    let _ = finished;
    // Whether the kill point was reached at all.
    crash.is_dead()
}

#[tokio::test(start_paused = true)]
async fn crash_after_every_journal_write_recovers() {
    // Both fill: intent, 2×Sending, 2×Report, finish = 6 writes.
    for k in 1..=6 {
        assert!(
            crash_and_recover(Crash::after_writes(k), &[], &[], 100 + k as u64).await,
            "kill point {k} reached"
        );
    }
    // Legged then repaired: intent, 2×Sending, 2×Report, child intent,
    // Sending, Report, 2×finish = 10 writes.
    for k in 1..=10 {
        assert!(
            crash_and_recover(Crash::after_writes(k), &[], &[Step::Reject], 200 + k as u64).await,
            "kill point {k} reached"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_crash_during_reconciliation_is_recovered_by_the_next_one() {
    // Killed with both legs sent (one refused, so reconciliation repairs),
    // then killed again after each write of that reconciliation.
    let mut reached = 0;
    for first in [3, 4, 5] {
        for second in 1..=8 {
            let again = Crash::after_writes(second);
            crash_twice_and_recover(
                Crash::after_writes(first),
                Some(again.clone()),
                &[],
                &[Step::Reject],
                (600 + first * 10 + second) as u64,
            )
            .await;
            if again.is_dead() {
                reached += 1;
            }
        }
    }
    assert!(
        reached >= 9,
        "reconciliation kill points reached: {reached}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_order_landing_after_the_crash_is_not_declared_absent_too_early() {
    // The Kalshi request is still on the wire when the process dies and
    // lands a second later; the Polymarket leg never leaves. Reconciliation
    // must wait out the window before believing "not found".
    assert!(
        crash_and_recover(
            Crash::after_submits(1),
            &[Step::ArrivesLate(1_000)],
            &[],
            700
        )
        .await
    );
}

#[tokio::test(start_paused = true)]
async fn crash_after_a_venue_accepted_but_before_the_answer_was_journaled() {
    // The n-th order to reach a venue fills there, and the process dies
    // before its answer is journaled: parent legs and repair orders alike.
    for n in 1..=3 {
        let fired = crash_and_recover(Crash::after_submits(n), &[], &[], 300 + n as u64).await;
        assert_eq!(fired, n <= 2, "kill point {n} of a two-order trade");
        crash_and_recover(
            Crash::after_submits(n),
            &[],
            &[Step::Reject],
            400 + n as u64,
        )
        .await;
        crash_and_recover(
            Crash::after_submits(n),
            &[Step::Partial(3_000_000)],
            &[],
            500 + n as u64,
        )
        .await;
    }
}

// ------------------------------------------------------------ property

fn step_strategy() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => Just(Step::Fill),
        2 => (0u64..=10).prop_map(|n| Step::Partial(n * 1_000_000)),
        2 => Just(Step::Reject),
        1 => Just(Step::TimeoutAfterFill),
        1 => Just(Step::TimeoutBeforeArrival),
        1 => Just(Step::ServerErrorAfterFill),
        1 => Just(Step::DuplicateAfterFill),
        1 => Just(Step::NotSent),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_venue_behaviour_never_duplicates_or_orphans(
        kalshi in proptest::collection::vec(step_strategy(), 0..6),
        poly in proptest::collection::vec(step_strategy(), 0..6),
        query_failures in 0u32..10,
        ioc in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async move {
            let dir = tempfile::tempdir().unwrap();
            let world = World::default();
            world.script(Venue::Kalshi, &kalshi);
            world.script(Venue::Polymarket, &poly);
            let tif = if ioc { KalshiLegTif::ImmediateOrCancel } else { KalshiLegTif::FillOrKill };
            let cfg = config(tif);
            let proc = start_ready(dir.path(), &world, cfg.clone(), seed).await;
            world.kalshi.lock().unwrap().query_failures = query_failures;
            world.poly.lock().unwrap().query_failures = query_failures / 2;
            let report = run(&proc, q(10), &StaticView::default_books()).await;
            assert_protocol(&proc.trace.lock().unwrap());
            assert_no_duplicate_orders(&world);
            // One client id per leg for life.
            let fam = family(dir.path(), &report.intent_id);
            let parent = &fam[0].journal.intent;
            assert_eq!(parent.legs.len(), 2);
            let journaled: Vec<ClientOrderId> = fam
                .iter()
                .flat_map(|r| r.journal.intent.legs.iter().map(|l| l.request.client_order_id.clone()))
                .collect();
            for (coid, _) in world.submits() {
                assert!(journaled.contains(&coid), "{coid} sent but never journaled");
            }
            assert!(report.unwind_loss <= cfg.max_unwind_loss_per_trade);
            if report.outcome.is_some() {
                // Journal and venue agree.
                assert_eq!(report.net[0], world.position(&kalshi_instr(), Outcome::Yes));
                assert_eq!(report.net[1], world.position(&poly_no_instr(), Outcome::No));
            }
            if !report.halted {
                assert_eq!(world.imbalance(), 0);
                assert!(report.outcome.is_some());
            } else {
                assert!(proc.alerter.critical() >= 1);
            }
            drop(proc);
            // Whatever was left open, a restart closes without new parent orders.
            world.kalshi.lock().unwrap().query_failures = 0;
            world.poly.lock().unwrap().query_failures = 0;
            let before = world.submit_counts();
            let proc = start(dir.path(), &world, Crash::never(), cfg, seed ^ 1);
            let rec = proc
                .executor
                .reconcile(&StaticView::default_books(), &[], ReconcilePolicy {
                    block_on_position_mismatch: false,
                    scope: None,
                })
                .await
                .unwrap();
            assert!(rec.unresolved.is_empty(), "{rec:?}");
            for leg in &parent.legs {
                let coid = &leg.request.client_order_id;
                assert_eq!(
                    world.submits_of(coid).len(),
                    before.get(coid).copied().unwrap_or(0),
                    "reconciliation resent a parent leg"
                );
            }
            assert_no_duplicate_orders(&world);
            let halted = report.halted || rec.resolved.iter().any(|r| r.halted);
            assert!(world.imbalance() == 0 || halted);
        });
    }
}

// ------------------------------------------------------------ planning

#[test]
fn an_opportunity_becomes_two_equal_limit_orders() {
    use orion_matching::detection::{Direction, LegPlan, Opportunity};
    let leg =
        |venue, market: &str, instrument: &str, outcome, marginal: &str, limit: &str| LegPlan {
            venue,
            market: MarketId::new(venue, market).unwrap(),
            instrument: InstrumentId::new(venue, instrument).unwrap(),
            outcome,
            quantity: q(20),
            best_price: p(marginal),
            marginal_price: p(marginal),
            limit_price: p(limit),
            cost: Cash::ZERO,
            fees: Cash::ZERO,
        };
    let opp = Opportunity {
        pair_id: "pair-9".into(),
        event_key: "fed".into(),
        direction: Direction::KalshiYes,
        quantity: q(20),
        legs: [
            leg(Venue::Kalshi, "K", "K", Outcome::Yes, "0.41", "0.42"),
            leg(Venue::Polymarket, "0xc", "222", Outcome::No, "0.54", "0.55"),
        ],
        total_cost: Cash::ZERO,
        payout: Cash::from_micros(20_000_000),
        net_profit: Cash::from_micros(1_000_001),
        worst_case_profit: Cash::ZERO,
        marginal_edge: p("0.01"),
        average_edge: p("0.02"),
        annualized_return_bps: 0,
        days_to_resolution: 10,
        detected_at: Timestamp::ZERO,
    };
    assert!(matches!(
        TradePlan::from_opportunity(&opp, q(21)),
        Err(orion_execution::PlanError::AboveDetected { .. })
    ));
    let plan = TradePlan::from_opportunity(&opp, q(10)).unwrap();
    assert_eq!(
        plan.expected_profit,
        Cash::from_micros(500_000),
        "scaled, rounded down"
    );
    let ids = SeededIds::new(5);
    let mut cfg = config(KalshiLegTif::ImmediateOrCancel);
    cfg.polymarket_order_type = PolymarketLegType::Fak;
    let [a, b] = orion_execution::plan_orders(&plan, &cfg, &ids).unwrap();
    assert_eq!((a.quantity, b.quantity), (q(10), q(10)));
    assert_eq!((a.limit_price, b.limit_price), (p("0.42"), p("0.55")));
    assert_eq!((a.side, b.side), (Side::Buy, Side::Buy));
    assert_eq!(a.time_in_force, orion_core::TimeInForce::ImmediateOrCancel);
    assert_eq!(b.time_in_force, orion_core::TimeInForce::ImmediateOrCancel);
    // Deterministic ids from the seed, distinct per leg.
    let again = orion_execution::plan_orders(&plan, &cfg, &SeededIds::new(5)).unwrap();
    assert_eq!(a.client_order_id, again[0].client_order_id);
    assert_ne!(a.client_order_id, b.client_order_id);
}

// ------------------------------------------------------------ settlement

#[test]
fn settlement_closes_positions_and_records_pnl_per_pair() {
    use orion_execution::{HeldLeg, settle_pair};
    use orion_storage::{PositionRecord, SettlementRecord};
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(&dir.path().join("orion.db")).unwrap();
    let kalshi_market = MarketId::new(Venue::Kalshi, "KXTEST-26DEC31").unwrap();
    let poly_market = MarketId::new(Venue::Polymarket, "0xcond").unwrap();
    let legs = [
        HeldLeg {
            market: kalshi_market.clone(),
            instrument: kalshi_instr(),
            outcome: Outcome::Yes,
            quantity: q(10),
            cost: Cash::from_micros(4_368_000),
        },
        HeldLeg {
            market: poly_market.clone(),
            instrument: poly_no_instr(),
            outcome: Outcome::No,
            quantity: q(10),
            cost: Cash::from_micros(5_500_000),
        },
    ];
    for leg in &legs {
        db.upsert_position(&PositionRecord {
            venue: leg.instrument.venue,
            instrument: leg.instrument.symbol.to_string(),
            market: leg.market.symbol.to_string(),
            outcome: leg.outcome,
            pair_id: Some("pair-1".into()),
            quantity: leg.quantity,
            cost: leg.cost,
            simulated: false,
            updated_at: Timestamp::from_secs(1),
        })
        .unwrap();
    }
    assert_eq!(db.positions(false).unwrap().len(), 2);

    // Kalshi resolves NO first: its leg closes at $0; Polymarket's stays open.
    let first = settle_pair("pair-1", &legs, |m| {
        (m == &kalshi_market).then_some(Outcome::No)
    })
    .unwrap();
    assert_eq!(first.settled.len(), 1);
    assert_eq!(first.open.len(), 1);
    assert_eq!(first.realized_pnl, Cash::from_micros(-4_368_000));
    // Then Polymarket: NO wins there too, the pair made 10 − 9.868.
    let all = settle_pair("pair-1", &legs, |_| Some(Outcome::No)).unwrap();
    assert!(all.is_complete());
    assert_eq!(all.realized_pnl, Cash::from_micros(132_000));
    for s in &all.settled {
        db.record_settlement(&SettlementRecord {
            pair_id: Some("pair-1".into()),
            venue: s.leg.instrument.venue,
            market: s.leg.market.symbol.to_string(),
            winning_outcome: s.winning_outcome,
            quantity: s.leg.quantity,
            payout: s.payout,
            cost: s.leg.cost,
            realized_pnl: s.realized_pnl,
            simulated: false,
            settled_at: Timestamp::from_secs(2),
        })
        .unwrap();
        db.upsert_position(&PositionRecord {
            venue: s.leg.instrument.venue,
            instrument: s.leg.instrument.symbol.to_string(),
            market: s.leg.market.symbol.to_string(),
            outcome: s.leg.outcome,
            pair_id: Some("pair-1".into()),
            quantity: Quantity::ZERO,
            cost: Cash::ZERO,
            simulated: false,
            updated_at: Timestamp::from_secs(2),
        })
        .unwrap();
    }
    assert!(db.positions(false).unwrap().is_empty(), "positions closed");
    assert_eq!(
        db.realized_pnl_by_pair().unwrap(),
        vec![("pair-1".to_string(), Cash::from_micros(132_000))]
    );
    assert_eq!(db.settlements(Some("pair-1")).unwrap().len(), 2);
}

// ------------------------------------------------------------ real clients

mod against_the_simulator {
    use super::*;
    use orion_core::SystemClock;
    use orion_exchanges::http::Backoff;
    use orion_exchanges::kalshi::KalshiSigner;
    use orion_exchanges::kalshi::rest::{
        KalshiClient, KalshiConfig, KalshiGateway, KalshiRequestSigner,
    };
    use orion_exchanges::polymarket::rest::{
        L2Signer, PolymarketClient, PolymarketConfig, PolymarketGateway,
    };
    use orion_exchanges::polymarket::{Chain, PolymarketWallet, SignatureType};
    use orion_sim::{FaultKind, FaultSpec, Scenario, Sim, SimHandle, VenueName};
    use std::path::PathBuf;

    const KEY_ID: &str = "a3b1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
    const HARDHAT_KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    const FED: &str = "KXFEDDECISION-26DEC-C25";
    const P1: &str = "0x1111111111111111111111111111111111111111111111111111111111111111";
    const P1_NO: &str =
        "52552210993830432218834405712139431049387440581211214930913512419081868128421";

    fn fixtures() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
    }

    fn clock() -> Arc<dyn Clock> {
        Arc::new(SystemClock)
    }

    fn backoff() -> Backoff {
        Backoff {
            base: Duration::from_millis(20),
            cap: Duration::from_millis(200),
            max_retries: 3,
        }
    }

    fn kalshi(sim: &SimHandle) -> KalshiGateway {
        kalshi_at(&sim.urls.kalshi_rest)
    }

    fn kalshi_at(rest: &str) -> KalshiGateway {
        let pem = std::fs::read(fixtures().join("kalshi_test_key_pkcs8.pem")).unwrap();
        let signer = Arc::new(KalshiRequestSigner::new(
            KalshiSigner::from_pem(KEY_ID, &pem).unwrap(),
            clock(),
        ));
        let mut config =
            KalshiConfig::for_tier(rest.to_string(), orion_config::KalshiTier::Premier);
        config.http.backoff = backoff();
        KalshiGateway::new(KalshiClient::new(&config, Some(signer)).unwrap(), clock())
    }

    async fn polymarket(sim: &SimHandle) -> PolymarketGateway {
        polymarket_at(&sim.urls.polymarket_clob, &sim.urls.gamma).await
    }

    async fn polymarket_at(clob: &str, gamma: &str) -> PolymarketGateway {
        let mut config = PolymarketConfig::new(clob.to_string(), gamma.to_string(), Chain::Polygon);
        config.http.backoff = backoff();
        let wallet = Arc::new(PolymarketWallet::from_hex(HARDHAT_KEY).unwrap());
        let creds = PolymarketClient::new(&config)
            .unwrap()
            .create_or_derive_api_key(wallet.clone(), 0, clock())
            .await
            .unwrap();
        let signer = Arc::new(L2Signer::new(creds.clone(), wallet.address(), clock()));
        let client = PolymarketClient::new(&config)
            .unwrap()
            .authenticated(signer);
        let gw = PolymarketGateway::new(client, wallet, &creds, SignatureType::Eoa, None, clock());
        gw.refresh_version().await.unwrap();
        gw.load_market(P1).await.unwrap();
        gw
    }

    /// The scenario's books as detection would hold them: Kalshi YES-quoted;
    /// the Polymarket NO token mirrors the YES book written in the scenario.
    fn view() -> StaticView {
        let kalshi = InstrumentId::new(Venue::Kalshi, FED).unwrap();
        let no = InstrumentId::new(Venue::Polymarket, P1_NO).unwrap();
        let mut books = HashMap::new();
        books.insert(
            kalshi.clone(),
            book(
                &[("0.40", 100), ("0.39", 200)],
                &[("0.42", 100), ("0.45", 200)],
            ),
        );
        books.insert(
            no.clone(),
            book(
                &[("0.40", 100), ("0.38", 40)],
                &[("0.50", 100), ("0.51", 50)],
            ),
        );
        let mut fees = HashMap::new();
        fees.insert(
            kalshi,
            FeeSchedule::Kalshi {
                fee_type: KalshiFeeType::Quadratic,
                multiplier: Rate::ONE,
            },
        );
        fees.insert(
            no,
            FeeSchedule::Polymarket {
                rate: Rate::parse("0.04").unwrap(),
                exponent: 1,
            },
        );
        StaticView { books, fees }
    }

    fn trade() -> TradePlan {
        trade_sized(q(10))
    }

    fn trade_sized(quantity: Quantity) -> TradePlan {
        TradePlan {
            pair_id: "fed-dec-25".into(),
            legs: [
                LegSpec {
                    market: MarketId::new(Venue::Kalshi, FED).unwrap(),
                    instrument: InstrumentId::new(Venue::Kalshi, FED).unwrap(),
                    outcome: Outcome::Yes,
                    limit_price: p("0.42"),
                },
                LegSpec {
                    market: MarketId::new(Venue::Polymarket, P1).unwrap(),
                    instrument: InstrumentId::new(Venue::Polymarket, P1_NO).unwrap(),
                    outcome: Outcome::No,
                    limit_price: p("0.50"),
                },
            ],
            quantity,
            expected_profit: Cash::from_micros(500_000),
        }
    }

    fn held(positions: &[Position], symbol: &str) -> Quantity {
        positions
            .iter()
            .filter(|p| &*p.instrument.symbol == symbol)
            .map(|p| p.quantity)
            .fold(Quantity::ZERO, |a, b| a.checked_add(b).unwrap())
    }

    #[tokio::test]
    async fn both_legs_then_a_rejected_leg_repaired_through_the_real_clients() {
        let scenario = Scenario::load(&fixtures().join("sim_pair.toml")).unwrap();
        let sim = Sim::start(scenario).await.unwrap();
        let kalshi: Arc<dyn OrderGateway> = Arc::new(kalshi(&sim));
        let poly: Arc<dyn OrderGateway> = Arc::new(polymarket(&sim).await);
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&dir.path().join("orion.db")).unwrap();
        let alerter = Arc::new(RecordingAlerter::default());
        let executor = Executor::new(
            db,
            Venues {
                kalshi: kalshi.clone(),
                polymarket: poly.clone(),
            },
            clock(),
            alerter.clone(),
            Arc::new(SeededIds::new(77)),
            ExecutionSettings::from_config(&config(KalshiLegTif::FillOrKill)),
        );
        let rec = executor
            .reconcile(&view(), &[], ReconcilePolicy::default())
            .await
            .unwrap();
        assert!(rec.ready, "{rec:?}");

        // Both legs fill at their limits.
        let first = executor.execute(&trade(), &view()).await.unwrap();
        assert_eq!(first.outcome, Some(IntentOutcome::Completed), "{first:?}");

        // The Polymarket leg is refused once: the Kalshi leg is hedged by
        // completing on Polymarket (NO at 0.50 + YES at 0.42 < $1), the
        // cheaper of the two repairs.
        sim.add_fault(FaultSpec {
            venue: VenueName::Polymarket,
            endpoint: "POST /order".into(),
            kind: FaultKind::Reject,
            after: 0,
            count: Some(1),
            probability_ppm: 1_000_000,
            latency_ms: None,
            status: None,
            fill_percent: None,
            duration_ms: None,
            message: None,
        });
        let second = executor.execute(&trade(), &view()).await.unwrap();
        assert!(
            matches!(second.legs[1].end, LegEnd::Rejected { .. }),
            "{second:?}"
        );
        assert_eq!(second.outcome, Some(IntentOutcome::Repaired), "{second:?}");
        assert_eq!(second.repairs.len(), 1);
        assert_eq!(second.repairs[0].action, RepairAction::Complete);
        assert!(!second.halted);

        // The venues agree: 20 YES on Kalshi, 20 NO on Polymarket.
        let k = kalshi.positions().await.unwrap();
        let pm = poly.positions().await.unwrap();
        assert_eq!(held(&k, FED), q(20), "{k:?}");
        assert_eq!(held(&pm, P1_NO), q(20), "{pm:?}");

        // And a restart finds nothing open and positions that match.
        let db = executor.into_store();
        assert!(db.unfinished_intents().unwrap().is_empty());
        drop(db);
        let db = Database::open(&dir.path().join("orion.db")).unwrap();
        let executor = Executor::new(
            db,
            Venues {
                kalshi: kalshi.clone(),
                polymarket: poly.clone(),
            },
            clock(),
            alerter,
            Arc::new(SeededIds::new(78)),
            ExecutionSettings::from_config(&config(KalshiLegTif::FillOrKill)),
        );
        let expected: Vec<Position> = k.into_iter().chain(pm).collect();
        let rec = executor
            .reconcile(&view(), &expected, ReconcilePolicy::default())
            .await
            .unwrap();
        assert!(rec.ready, "{rec:?}");
        assert!(rec.resolved.is_empty());
    }

    // -------------------------------------------------------- seeded soak

    fn fast_settings() -> ExecutionSettings {
        let mut cfg = config(KalshiLegTif::FillOrKill);
        cfg.leg_timeout_ms = 400;
        let mut s = ExecutionSettings::from_config(&cfg);
        s.query_backoff = Duration::from_millis(25);
        s.query_backoff_max = Duration::from_millis(200);
        s.query_attempts = 8;
        s
    }

    fn spec(venue: VenueName, endpoint: &str, kind: FaultKind, count: u64) -> FaultSpec {
        FaultSpec {
            venue,
            endpoint: endpoint.into(),
            kind,
            after: 0,
            count: Some(count),
            probability_ppm: 1_000_000,
            latency_ms: None,
            status: None,
            fill_percent: None,
            duration_ms: None,
            message: None,
        }
    }

    const KALSHI_SUBMIT: &str = "POST /trade-api/v2/portfolio/events/orders";
    const KALSHI_QUERY: &str = "GET /trade-api/v2/portfolio/orders*";
    const POLY_SUBMIT: &str = "POST /order";
    const POLY_QUERY: &str = "GET /data/order/*";

    /// The faults of one seeded run, and a label for the fault matrix.
    fn seeded_faults(seed: u64) -> (Vec<FaultSpec>, Vec<String>) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut faults = Vec::new();
        let mut labels = Vec::new();
        for (venue, submit, query, name) in [
            (VenueName::Kalshi, KALSHI_SUBMIT, KALSHI_QUERY, "kalshi"),
            (VenueName::Polymarket, POLY_SUBMIT, POLY_QUERY, "poly"),
        ] {
            if rng.random_bool(0.6) {
                let count = rng.random_range(1..=2);
                let (mut f, label) = match rng.random_range(0..8) {
                    0 => (spec(venue, submit, FaultKind::RateLimit, count), "429"),
                    1 => {
                        let mut f = spec(venue, submit, FaultKind::ServerError, count);
                        f.status = Some([500, 502, 503][rng.random_range(0..3)]);
                        (f, "5xx")
                    }
                    2 => (spec(venue, submit, FaultKind::Timeout, count), "timeout"),
                    3 => (spec(venue, submit, FaultKind::Drop, count), "drop"),
                    4 => {
                        let mut f = spec(venue, submit, FaultKind::PartialFill, count);
                        f.fill_percent = Some(rng.random_range(0..=90));
                        (f, "partial")
                    }
                    5 => (spec(venue, submit, FaultKind::Reject, count), "reject"),
                    6 => {
                        // The venue goes away as the order arrives.
                        let mut f = spec(venue, submit, FaultKind::Down, 1);
                        f.duration_ms = Some(rng.random_range(100..=600));
                        (f, "down")
                    }
                    _ => {
                        let mut f = spec(venue, submit, FaultKind::Latency, count);
                        f.latency_ms = Some(rng.random_range(50..=700));
                        (f, "latency")
                    }
                };
                f.after = rng.random_range(0..=1);
                faults.push(f);
                labels.push(format!("{name}:{label}"));
            }
            if rng.random_bool(0.3) {
                let mut f = spec(
                    venue,
                    query,
                    FaultKind::ServerError,
                    rng.random_range(1..=4),
                );
                f.status = Some(503);
                faults.push(f);
                labels.push(format!("{name}:query-5xx"));
            }
        }
        if labels.is_empty() {
            labels.push("none".into());
        }
        (faults, labels)
    }

    /// What one seeded run showed.
    #[derive(Debug)]
    struct RunResult {
        seed: u64,
        labels: Vec<String>,
        outcome: String,
    }

    async fn soak_run(seed: u64) -> RunResult {
        let scenario = Scenario::load(&fixtures().join("sim_pair.toml")).unwrap();
        let sim = Sim::start(scenario).await.unwrap();
        let kalshi: Arc<dyn OrderGateway> = Arc::new(kalshi(&sim));
        let poly: Arc<dyn OrderGateway> = Arc::new(polymarket(&sim).await);
        let venues = Venues {
            kalshi: kalshi.clone(),
            polymarket: poly.clone(),
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orion.db");
        let alerter = Arc::new(RecordingAlerter::default());
        let executor = Executor::new(
            Database::open(&path).unwrap(),
            venues.clone(),
            clock(),
            alerter.clone(),
            Arc::new(SeededIds::new(seed)),
            fast_settings(),
        );
        let rec = executor
            .reconcile(&view(), &[], ReconcilePolicy::default())
            .await
            .unwrap();
        assert!(rec.ready, "seed {seed}: {rec:?}");
        let (faults, labels) = seeded_faults(seed);
        for f in faults {
            sim.add_fault(f);
        }
        let report = executor.execute(&trade(), &view()).await.unwrap();
        assert!(
            report.unwind_loss <= fast_settings().config.max_unwind_loss_per_trade,
            "seed {seed}"
        );
        if report.halted {
            assert!(alerter.critical() >= 1, "seed {seed}: halted without alert");
        }
        let mut outcome = format!("{:?}", report.outcome);
        if std::env::var("ORION_SOAK_VERBOSE").is_ok() {
            println!("seed {seed} {labels:?}: {report:#?}");
        }
        drop(executor);

        // Let outages end, then a restart resolves whatever is open.
        tokio::time::sleep(Duration::from_millis(700)).await;
        let executor = Executor::new(
            Database::open(&path).unwrap(),
            venues,
            clock(),
            alerter.clone(),
            Arc::new(SeededIds::new(seed ^ 0xdead)),
            fast_settings(),
        );
        let journal_positions = super::ledger_positions(&Database::open_read_only(&path).unwrap());
        // Like the engine, retry reconciliation while a venue is unreachable.
        let mut rec = executor
            .reconcile(&view(), &journal_positions, ReconcilePolicy::default())
            .await
            .unwrap();
        for _ in 0..5 {
            if rec.venue_errors.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            rec = executor
                .reconcile(&view(), &journal_positions, ReconcilePolicy::default())
                .await
                .unwrap();
        }
        if report.outcome.is_none() {
            outcome = format!(
                "open→{:?}",
                rec.resolved.first().and_then(|r| r.outcome.clone())
            );
        }
        assert!(rec.unresolved.is_empty(), "seed {seed} {labels:?}: {rec:?}");
        // Journal and venues agree.
        assert!(
            rec.position_diffs.is_empty(),
            "seed {seed} {labels:?}: {rec:?}"
        );
        assert!(rec.ready, "seed {seed} {labels:?}: {rec:?}");

        // No orphaned exposure unless halted (and then at most one trade's size).
        let k = held(&kalshi.positions().await.unwrap(), FED);
        let pm = held(&poly.positions().await.unwrap(), P1_NO);
        let halted = report.halted || rec.resolved.iter().any(|r| r.halted);
        if !halted {
            assert_eq!(k, pm, "seed {seed} {labels:?}: orphaned exposure");
        } else {
            let diff = k.micros().abs_diff(pm.micros());
            assert!(
                diff <= q(10).micros(),
                "seed {seed}: exposure beyond one trade"
            );
            outcome.push_str(" halted");
        }

        // No duplicate orders: every venue fill belongs to one journaled
        // order and no order filled beyond its size.
        let db = executor.into_store();
        let fam = db.intent_family(&report.intent_id).unwrap();
        let mut orders: Vec<(ClientOrderId, Option<String>, Quantity, Quantity)> = Vec::new();
        for r in &fam {
            for leg in &r.journal.intent.legs {
                let coid = &leg.request.client_order_id;
                let venue_id = leg.venue_order_id.clone().or_else(|| {
                    r.journal.events.iter().find_map(|(c, e, _)| match e {
                        LegEvent::Report(rep) if c == coid => rep.venue_order_id.clone(),
                        _ => None,
                    })
                });
                orders.push((coid.clone(), venue_id, leg.request.quantity, Quantity::ZERO));
            }
        }
        for gw in [&kalshi, &poly] {
            for fill in gw.fills(None).await.unwrap() {
                let slot = orders
                    .iter_mut()
                    .find(|(c, v, _, _)| {
                        fill.client_order_id.as_ref() == Some(c)
                            || v.as_deref() == Some(fill.venue_order_id.as_str())
                    })
                    .unwrap_or_else(|| {
                        panic!("seed {seed}: fill of an order not in the journal: {fill:?}")
                    });
                slot.3 = slot.3.checked_add(fill.quantity).unwrap();
                assert!(
                    slot.3 <= slot.2,
                    "seed {seed}: {} filled beyond its size",
                    slot.0
                );
            }
        }
        RunResult {
            seed,
            labels,
            outcome,
        }
    }

    /// Seeded fault injection against orion-sim: 200 runs by default
    /// (`ORION_SOAK_RUNS=2000` for a longer soak), eight at a time.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn seeded_fault_injection_soak() {
        let runs: u64 = std::env::var("ORION_SOAK_RUNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(200);
        let first: u64 = std::env::var("ORION_SOAK_FIRST_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut results = Vec::new();
        let mut next = first;
        let mut set = tokio::task::JoinSet::new();
        while next < first + runs || !set.is_empty() {
            while next < first + runs && set.len() < 8 {
                set.spawn(soak_run(next));
                next += 1;
            }
            if let Some(done) = set.join_next().await {
                results.push(done.unwrap());
            }
        }
        // The fault matrix: each fault seen, and where its runs ended.
        let mut matrix: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
        for r in &results {
            for l in &r.labels {
                *matrix
                    .entry(l.clone())
                    .or_default()
                    .entry(r.outcome.clone())
                    .or_default() += 1;
            }
        }
        println!("soak: {} runs", results.len());
        let halted: Vec<u64> = results
            .iter()
            .filter(|r| r.outcome.contains("halted"))
            .map(|r| r.seed)
            .collect();
        println!("  halted seeds (ORION_SOAK_FIRST_SEED=<seed> ORION_SOAK_RUNS=1): {halted:?}");
        for (fault, outcomes) in &matrix {
            println!("  {fault:<22} {outcomes:?}");
        }
        assert_eq!(results.len() as u64, runs);
    }

    // -------------------------------------------------------- SIGKILL

    /// Every journaled order with what the venues filled of it, and whether
    /// any family ended needing attention. Panics on a fill of an order the
    /// journal does not know, or beyond an order's size: a duplicate.
    async fn check_fills_against_journal(
        db: &Database,
        kalshi: &Arc<dyn OrderGateway>,
        poly: &Arc<dyn OrderGateway>,
        label: &str,
    ) -> bool {
        let mut orders: Vec<(ClientOrderId, Option<String>, Quantity, Quantity)> = Vec::new();
        let mut attention = false;
        for id in db.intent_ids().unwrap() {
            let Some(r) = db.intent_journal(&id).unwrap() else {
                continue;
            };
            attention |= r.outcome == Some(IntentOutcome::NeedsAttention);
            for leg in &r.journal.intent.legs {
                let coid = &leg.request.client_order_id;
                let venue_id = leg.venue_order_id.clone().or_else(|| {
                    r.journal.events.iter().find_map(|(c, e, _)| match e {
                        LegEvent::Report(rep) if c == coid => rep.venue_order_id.clone(),
                        _ => None,
                    })
                });
                orders.push((coid.clone(), venue_id, leg.request.quantity, Quantity::ZERO));
            }
        }
        for gw in [kalshi, poly] {
            for fill in gw.fills(None).await.unwrap() {
                let slot = orders
                    .iter_mut()
                    .find(|(c, v, _, _)| {
                        fill.client_order_id.as_ref() == Some(c)
                            || v.as_deref() == Some(fill.venue_order_id.as_str())
                    })
                    .unwrap_or_else(|| {
                        panic!("{label}: fill of an order not in the journal: {fill:?}")
                    });
                slot.3 = slot.3.checked_add(fill.quantity).unwrap();
                assert!(
                    slot.3 <= slot.2,
                    "{label}: {} filled beyond its size",
                    slot.0
                );
            }
        }
        attention
    }

    /// Holdings implied by every family finished in the journal.
    /// What the engine would hand reconciliation after the kill: the ledger,
    /// written with each intent's finish in one transaction, so a kill can
    /// never leave it behind the journal.
    fn finished_positions(db: &Database) -> Vec<Position> {
        super::ledger_positions(db)
    }

    fn env(name: &str) -> String {
        std::env::var(name).unwrap_or_else(|_| panic!("{name} not set"))
    }

    /// The process the SIGKILL test kills: trades until killed. A no-op
    /// unless started by `sigkill_at_random_points_then_reconcile`.
    #[test]
    fn sigkill_child() {
        let Ok(db_path) = std::env::var("ORION_KILL_DB") else {
            return;
        };
        let seed: u64 = env("ORION_KILL_SEED").parse().unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let kalshi: Arc<dyn OrderGateway> = Arc::new(kalshi_at(&env("ORION_KILL_KALSHI")));
            let poly: Arc<dyn OrderGateway> =
                Arc::new(polymarket_at(&env("ORION_KILL_CLOB"), &env("ORION_KILL_GAMMA")).await);
            let executor = Executor::new(
                Database::open(Path::new(&db_path)).unwrap(),
                Venues {
                    kalshi,
                    polymarket: poly,
                },
                clock(),
                Arc::new(orion_core::NullAlerter),
                Arc::new(SeededIds::new(seed)),
                fast_settings(),
            );
            let rec = executor
                .reconcile(&view(), &[], ReconcilePolicy::default())
                .await
                .unwrap();
            assert!(rec.ready);
            println!("started");
            use std::io::Write;
            std::io::stdout().flush().unwrap();
            for _ in 0..12 {
                if executor.execute(&trade_sized(q(5)), &view()).await.is_err() {
                    break;
                }
            }
            println!("done");
            // Wait to be killed, like a process between opportunities.
            std::future::pending::<()>().await;
        });
    }

    /// Really kills a trading process (SIGKILL at a seeded random instant)
    /// `ORION_SIGKILL_RUNS` times (20 by default), restarts on its database,
    /// reconciles against the venues, and checks: nothing left open, no
    /// order lost or duplicated, journal and venues agree, no orphaned
    /// exposure unless the pair was halted.
    #[test]
    fn sigkill_at_random_points_then_reconcile() {
        use rand::{Rng, SeedableRng};
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let runs: u64 = std::env::var("ORION_SIGKILL_RUNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let exe = std::env::current_exe().unwrap();
        let (mut killed, mut open_at_restart) = (0u64, 0u64);
        for run in 0..runs {
            let seed = 9_000 + run;
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let scenario = Scenario::load(&fixtures().join("sim_pair.toml")).unwrap();
            let sim = rt.block_on(Sim::start(scenario)).unwrap();
            // Orders take a while to answer, so the kill lands mid-trade;
            // some are refused or lost, so it lands mid-repair too.
            for (venue, submit) in [
                (VenueName::Kalshi, KALSHI_SUBMIT),
                (VenueName::Polymarket, POLY_SUBMIT),
            ] {
                let mut slow = spec(venue, submit, FaultKind::Latency, 1_000);
                slow.count = None;
                slow.latency_ms = Some(rng.random_range(40..=200));
                sim.add_fault(slow);
            }
            if rng.random_bool(0.5) {
                let mut f = spec(VenueName::Polymarket, POLY_SUBMIT, FaultKind::Reject, 1);
                f.after = rng.random_range(0..6);
                sim.add_fault(f);
            }
            if rng.random_bool(0.4) {
                let mut f = spec(VenueName::Kalshi, KALSHI_SUBMIT, FaultKind::Timeout, 1);
                f.after = rng.random_range(0..6);
                sim.add_fault(f);
            }
            let dir = tempfile::tempdir().unwrap();
            let db_path = dir.path().join("orion.db");
            let mut child = Command::new(&exe)
                .args([
                    "--exact",
                    "against_the_simulator::sigkill_child",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("ORION_KILL_DB", &db_path)
                .env("ORION_KILL_SEED", seed.to_string())
                .env("ORION_KILL_KALSHI", &sim.urls.kalshi_rest)
                .env("ORION_KILL_CLOB", &sim.urls.polymarket_clob)
                .env("ORION_KILL_GAMMA", &sim.urls.gamma)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let stdout = child.stdout.take().unwrap();
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stdout)
                    .lines()
                    .map_while(Result::ok)
                {
                    let _ = tx.send(line);
                }
            });
            loop {
                let line = rx
                    .recv_timeout(Duration::from_secs(60))
                    .unwrap_or_else(|e| panic!("run {run}: child never started: {e}"));
                // libtest prints the test's name on the same line.
                if line.trim_end().ends_with("started") {
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(rng.random_range(0..=1_200)));
            // `Child::kill` is SIGKILL on Unix: no destructor, no flush.
            let _ = child.kill();
            let status = child.wait().unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::process::ExitStatusExt;
                if status.signal() == Some(9) {
                    killed += 1;
                }
            }
            #[cfg(not(unix))]
            let _ = status;

            let label = format!("sigkill run {run} (seed {seed})");
            rt.block_on(async {
                let (known, open) = {
                    let db = Database::open_read_only(&db_path).unwrap();
                    (
                        finished_positions(&db),
                        db.unfinished_intents().unwrap().len(),
                    )
                };
                if open > 0 {
                    open_at_restart += 1;
                }
                let kalshi: Arc<dyn OrderGateway> = Arc::new(kalshi(&sim));
                let poly: Arc<dyn OrderGateway> = Arc::new(polymarket(&sim).await);
                let executor = Executor::new(
                    Database::open(&db_path).unwrap(),
                    Venues {
                        kalshi: kalshi.clone(),
                        polymarket: poly.clone(),
                    },
                    clock(),
                    Arc::new(orion_core::NullAlerter),
                    Arc::new(SeededIds::new(seed ^ 0xbeef)),
                    fast_settings(),
                );
                let mut rec = executor
                    .reconcile(&view(), &known, ReconcilePolicy::default())
                    .await
                    .unwrap();
                for _ in 0..5 {
                    if rec.venue_errors.is_empty() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    rec = executor
                        .reconcile(&view(), &known, ReconcilePolicy::default())
                        .await
                        .unwrap();
                }
                assert!(rec.unresolved.is_empty(), "{label}: {rec:?}");
                assert!(
                    rec.position_diffs.is_empty(),
                    "{label}: journal and venues differ: {rec:?}"
                );
                assert!(rec.ready, "{label}: {rec:?}");
                let db = executor.into_store();
                assert!(db.unfinished_intents().unwrap().is_empty(), "{label}");
                let attention = check_fills_against_journal(&db, &kalshi, &poly, &label).await;
                let k = held(&kalshi.positions().await.unwrap(), FED);
                let pm = held(&poly.positions().await.unwrap(), P1_NO);
                let halted = attention || rec.resolved.iter().any(|r| r.halted);
                assert!(
                    k == pm || halted,
                    "{label}: orphaned exposure {k:?} vs {pm:?}"
                );
                // After reconciliation the ledger itself equals the venues.
                let ledger = super::ledger_positions(&db);
                assert_eq!(held(&ledger, FED), k, "{label}: Kalshi ledger");
                assert_eq!(held(&ledger, P1_NO), pm, "{label}: Polymarket ledger");
            });
            drop(sim);
        }
        println!(
            "sigkill: {runs} runs, {killed} killed by SIGKILL, {open_at_restart} left open intents"
        );
        assert!(
            killed * 2 >= runs,
            "most runs must really be killed ({killed}/{runs})"
        );
    }
}
