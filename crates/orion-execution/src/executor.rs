//! The two-leg executor: journal first, send both legs concurrently, resolve
//! unknowns by query, repair any difference, finish.
//!
//! Journal protocol (every write goes through the `Store` port and is durable
//! before the next step):
//!
//! 1. `record_intent(PARENT)` with both prepared (signed) orders: before any
//!    byte is sent. A crash after this point leaves an unfinished intent that
//!    start-up reconciliation resolves.
//! 2. Per leg, `Sending{attempt}` before each network attempt; then the
//!    answer as `Report` (venue or query answer; refusals as a synthetic
//!    `Rejected` report) or `Unknown` (timeout, transport, 5xx, 409).
//! 3. Repairs: each repair order is a child intent `PARENT/repair-N` with one
//!    leg, journaled (step 1) before it is sent and driven like a leg (step 2).
//! 4. `finish_intent(PARENT)` first, then every child. Children stay open
//!    while the parent is open, so a restart always sees a whole family; a
//!    child left open under a finished parent was already accounted for and
//!    is only resolved and closed.
//!
//! A leg whose fate stays unknown after bounded queries leaves its intent
//! open and halts the pair: only reconciliation (by query) may close it.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use orion_config::ExecutionConfig;
use orion_core::{
    Alert, Alerter, Cash, ClientOrderId, Clock, FeeSchedule, GatewayError, InstrumentId,
    IntentOutcome, LegEvent, OrderBook, OrderGateway, OrderKey, OrderReport, OrderRequest,
    OrderStatus, PreparedOrder, Price, Quantity, Rounding, Severity, Side, Store, StoreError,
    TradeIntent, Venue,
};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ids::IdGenerator;
use crate::plan::{PlanError, TradePlan, new_client_order_id, plan_orders};
use crate::repair::{RepairAction, RepairCandidate, RepairInput, RepairLeg, choose_repair};
use crate::state::{LegEnd, LegOrder, LegPhase};

/// The venues' order gateways.
#[derive(Clone)]
pub struct Venues {
    pub kalshi: Arc<dyn OrderGateway>,
    pub polymarket: Arc<dyn OrderGateway>,
}

impl Venues {
    pub fn get(&self, venue: Venue) -> &Arc<dyn OrderGateway> {
        match venue {
            Venue::Kalshi => &self.kalshi,
            Venue::Polymarket => &self.polymarket,
        }
    }
}

impl fmt::Debug for Venues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Venues").finish_non_exhaustive()
    }
}

/// The current books and fee schedules, as repair needs them.
pub trait MarketView: Send + Sync {
    fn book(&self, instrument: &InstrumentId) -> Option<OrderBook>;
    fn fees(&self, instrument: &InstrumentId) -> Option<FeeSchedule>;
    /// The smallest order the venue accepts for `instrument`, if known
    /// (see also [`Executor::set_min_order_size`]).
    fn min_order_size(&self, _instrument: &InstrumentId) -> Option<Quantity> {
        None
    }
}

/// Whether the engine may trade: false until reconciliation succeeded.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::Release);
    }
}

/// Execution tuning: the configured limits plus the resolution bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionSettings {
    pub config: ExecutionConfig,
    /// Queries of an order whose fate is unknown before giving up.
    pub query_attempts: u32,
    /// First wait before a query; doubles up to `query_backoff_max`.
    pub query_backoff: Duration,
    pub query_backoff_max: Duration,
    /// Consecutive "no such order" answers that prove an order never arrived
    /// (one could be a venue's indexing lag).
    pub absent_confirmations: u32,
    /// Resends of the same prepared order after it was proven absent.
    pub max_resends: u32,
    /// Cancels of an order that unexpectedly rests, before resolving by query.
    pub max_cancels: u32,
    /// After a restart, how long after its last `Sending` an order must be
    /// before "not found" proves it never arrived.
    pub absent_grace: Duration,
}

impl ExecutionSettings {
    pub fn from_config(config: &ExecutionConfig) -> ExecutionSettings {
        ExecutionSettings {
            config: config.clone(),
            query_attempts: 6,
            query_backoff: Duration::from_millis(250),
            query_backoff_max: Duration::from_secs(4),
            absent_confirmations: 2,
            max_resends: 1,
            max_cancels: 2,
            absent_grace: Duration::from_millis(config.leg_timeout_ms.saturating_mul(2)),
        }
    }

    fn leg_timeout(&self) -> Duration {
        Duration::from_millis(self.config.leg_timeout_ms)
    }

    fn backoff(&self, query: u32) -> Duration {
        let factor = 1u32.checked_shl(query.min(16)).unwrap_or(u32::MAX);
        self.query_backoff
            .saturating_mul(factor)
            .min(self.query_backoff_max)
    }
}

/// Why a trade was not started. Nothing was sent in any of these cases.
#[derive(Debug, Error)]
pub enum ExecutionError {
    #[error("not ready: start-up reconciliation has not succeeded")]
    NotReady,
    #[error("pair {0} is halted")]
    PairHalted(String),
    #[error("plan: {0}")]
    Plan(#[from] PlanError),
    #[error("prepare: {0}")]
    Prepare(#[from] GatewayError),
    #[error("journal: {0}")]
    Journal(#[from] StoreError),
}

/// One order of a trade and where it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegSummary {
    pub intent_id: String,
    pub client_order_id: ClientOrderId,
    pub instrument: InstrumentId,
    pub outcome: orion_core::Outcome,
    pub side: Side,
    pub quantity: Quantity,
    pub limit_price: Price,
    pub attempts: u32,
    pub end: LegEnd,
}

/// One repair order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairRecord {
    pub action: RepairAction,
    pub leg: LegSummary,
    pub expected_pnl: Cash,
    /// Realized P&L of what filled (negative is a loss).
    pub realized_pnl: Cash,
}

/// What happened to one trade (or a journaled trade resolved at start-up).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionReport {
    pub intent_id: String,
    pub pair_id: String,
    pub legs: Vec<LegSummary>,
    pub repairs: Vec<RepairRecord>,
    /// Net contracts held per leg after repairs (bought minus sold), in micro-contracts.
    pub net: [i128; 2],
    /// `None` when the intent was left open (a leg's fate unknown, or the
    /// journal failing): reconciliation must finish it.
    pub outcome: Option<IntentOutcome>,
    /// Sum of repair losses (for the breaker).
    pub unwind_loss: Cash,
    pub halted: bool,
    pub journal_error: Option<String>,
}

impl ExecutionReport {
    /// Contracts of one leg not matched by the other.
    pub fn imbalance(&self) -> Quantity {
        let diff = (self.net[0] - self.net[1]).unsigned_abs();
        Quantity::from_micros(u64::try_from(diff).unwrap_or(u64::MAX))
    }
}

/// A position the engine believes it holds, or the venue reports.
pub use orion_core::Position;

/// A holding that differs between Orion's books and the venue's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionDiff {
    pub instrument: InstrumentId,
    pub outcome: orion_core::Outcome,
    pub expected: Quantity,
    pub venue: Quantity,
    /// Whether this difference is in the policy's scope (it then keeps the
    /// engine not ready when the policy blocks on mismatches).
    pub blocking: bool,
}

/// What start-up reconciliation found and did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconciliationReport {
    /// Journal families resolved and finished.
    pub resolved: Vec<ExecutionReport>,
    /// Intents still open (fate unknown): the engine stays not ready.
    pub unresolved: Vec<String>,
    /// Expected positions (given, plus what reconciliation resolved) that
    /// differ from the venues'.
    pub position_diffs: Vec<PositionDiff>,
    pub balances: Vec<orion_core::Balance>,
    /// Venues that could not be asked.
    pub venue_errors: Vec<String>,
    pub ready: bool,
}

/// Whether position differences keep the engine from trading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcilePolicy {
    pub block_on_position_mismatch: bool,
    /// The instruments whose differences block (the engine passes its
    /// pairs' instruments: a holding elsewhere on the account is reported
    /// but is not Orion's to explain). `None`: every instrument.
    pub scope: Option<BTreeSet<InstrumentId>>,
}

impl Default for ReconcilePolicy {
    fn default() -> Self {
        ReconcilePolicy {
            block_on_position_mismatch: true,
            scope: None,
        }
    }
}

impl ReconcilePolicy {
    fn in_scope(&self, instrument: &InstrumentId) -> bool {
        self.scope.as_ref().is_none_or(|s| s.contains(instrument))
    }
}

/// Called with (pair id, reason) whenever execution halts a pair, so the
/// caller can persist the halt.
pub type HaltHook = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// The executor. Holds the journal; one per process.
pub struct Executor<S> {
    store: Mutex<S>,
    venues: Venues,
    clock: Arc<dyn Clock>,
    alerter: Arc<dyn Alerter>,
    ids: Arc<dyn IdGenerator>,
    settings: ExecutionSettings,
    readiness: Readiness,
    halted: Mutex<BTreeSet<String>>,
    halt_hook: Mutex<Option<HaltHook>>,
    min_sizes: Mutex<std::collections::HashMap<InstrumentId, Quantity>>,
    journal_error: Mutex<Option<String>>,
}

impl<S> fmt::Debug for Executor<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executor")
            .field("settings", &self.settings)
            .field("ready", &self.readiness.is_ready())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock means a panic elsewhere mid-update; the journal itself
    // is durable and the sets here are only ever inserted into, so the data
    // is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn key_of(prepared: &PreparedOrder) -> OrderKey {
    OrderKey {
        client_order_id: prepared.request.client_order_id.clone(),
        venue_order_id: prepared.venue_order_id.clone(),
        instrument: prepared.request.instrument.clone(),
    }
}

/// Orion's own conclusion about an order, journaled as a report so the
/// journal alone says where every order ended.
fn synthetic_rejection(
    prepared: &PreparedOrder,
    reason: String,
    at: orion_core::Timestamp,
) -> OrderReport {
    OrderReport {
        client_order_id: prepared.request.client_order_id.clone(),
        venue_order_id: prepared.venue_order_id.clone(),
        status: OrderStatus::Rejected,
        filled: Quantity::ZERO,
        average_price: None,
        fees: Cash::ZERO,
        reason: Some(reason),
        updated_at: at,
    }
}

fn signed(q: Quantity) -> i128 {
    i128::from(q.micros())
}

/// The parent id of a journaled intent (`PARENT/repair-N` → `PARENT`).
pub fn parent_of(intent_id: &str) -> &str {
    intent_id
        .split_once("/repair-")
        .map_or(intent_id, |(parent, _)| parent)
}

/// A trade and its repairs, as they are being resolved.
struct Family {
    parent_id: String,
    pair_id: String,
    parent_legs: [PreparedOrder; 2],
    legs: Vec<LegSummary>,
    repairs: Vec<RepairRecord>,
    /// Child intent ids, to finish after the parent.
    children: Vec<(String, Option<IntentOutcome>)>,
    net: [i128; 2],
    next_repair: u32,
    loss: Cash,
}

impl Family {
    fn leg_index(&self, instrument: &InstrumentId) -> Option<usize> {
        self.parent_legs
            .iter()
            .position(|p| &p.request.instrument == instrument)
    }

    /// What one contract of leg `i` cost: its average fill, else its limit.
    fn cost_price(&self, i: usize) -> Price {
        self.legs
            .iter()
            .find(|l| l.client_order_id == self.parent_legs[i].request.client_order_id)
            .and_then(|l| l.end.report())
            .and_then(|r| r.average_price)
            .unwrap_or(self.parent_legs[i].request.limit_price)
    }

    fn apply_fill(&mut self, instrument: &InstrumentId, side: Side, filled: Quantity) {
        if let Some(i) = self.leg_index(instrument) {
            match side {
                Side::Buy => self.net[i] += signed(filled),
                Side::Sell => self.net[i] -= signed(filled),
            }
        }
    }

    fn imbalance(&self) -> i128 {
        self.net[0] - self.net[1]
    }
}

fn child_outcome(end: &LegEnd) -> Option<IntentOutcome> {
    match end.filled() {
        None => None,
        Some(q) if q.is_zero() => Some(IntentOutcome::NothingFilled),
        Some(_) => Some(IntentOutcome::Completed),
    }
}

/// Realized P&L of a filled repair order against the long leg's cost.
fn repair_pnl(action: RepairAction, long_cost: Price, end: &LegEnd, limit: Price) -> Cash {
    let Some(report) = end.report() else {
        return Cash::ZERO;
    };
    let q = report.filled;
    let price = report.average_price.unwrap_or(limit);
    let gross = match action {
        RepairAction::Complete => Price::ONE
            .notional(q)
            .checked_sub(long_cost.notional(q))
            .and_then(|n| n.checked_sub(price.notional(q))),
        RepairAction::Unwind => price.notional(q).checked_sub(long_cost.notional(q)),
    };
    gross
        .and_then(|n| n.to_cash(Rounding::Down))
        .map_or(Cash::ZERO, |c| c.saturating_sub(report.fees))
}

impl<S: Store> Executor<S> {
    pub fn new(
        store: S,
        venues: Venues,
        clock: Arc<dyn Clock>,
        alerter: Arc<dyn Alerter>,
        ids: Arc<dyn IdGenerator>,
        settings: ExecutionSettings,
    ) -> Executor<S> {
        Executor {
            store: Mutex::new(store),
            venues,
            clock,
            alerter,
            ids,
            settings,
            readiness: Readiness::default(),
            halted: Mutex::new(BTreeSet::new()),
            halt_hook: Mutex::new(None),
            min_sizes: Mutex::new(std::collections::HashMap::new()),
            journal_error: Mutex::new(None),
        }
    }

    /// A handle on whether the engine may trade.
    pub fn readiness(&self) -> Readiness {
        self.readiness.clone()
    }

    pub fn halted_pairs(&self) -> Vec<String> {
        lock(&self.halted).iter().cloned().collect()
    }

    pub fn is_halted(&self, pair_id: &str) -> bool {
        lock(&self.halted).contains(pair_id)
    }

    /// Re-applies halts recorded elsewhere (at start-up: the persisted
    /// halts). This crate does not persist halts itself; see
    /// [`Executor::on_halt`].
    pub fn restore_halts<'a>(&self, pairs: impl IntoIterator<Item = &'a str>) {
        lock(&self.halted).extend(pairs.into_iter().map(str::to_string));
    }

    /// The smallest order the venue accepts for `instrument` (Polymarket's
    /// per-market minimum): repair never offers a smaller order there.
    pub fn set_min_order_size(&self, instrument: &InstrumentId, minimum: Quantity) {
        lock(&self.min_sizes).insert(instrument.clone(), minimum);
    }

    fn min_order_size(&self, view: &dyn MarketView, instrument: &InstrumentId) -> Option<Quantity> {
        let own = lock(&self.min_sizes).get(instrument).copied();
        match (own, view.min_order_size(instrument)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Registers the hook told of every new halt (the engine persists it).
    pub fn on_halt(&self, hook: HaltHook) {
        *lock(&self.halt_hook) = Some(hook);
    }

    /// Lifts a halt: an operator's decision, after the exposure was dealt with.
    pub fn resume_pair(&self, pair_id: &str) -> bool {
        lock(&self.halted).remove(pair_id)
    }

    /// Gives the journal back (shutdown, tests).
    pub fn into_store(self) -> S {
        self.store.into_inner().unwrap_or_else(|e| e.into_inner())
    }

    fn journal(
        &self,
        intent_id: &str,
        coid: &ClientOrderId,
        event: &LegEvent,
    ) -> Result<(), StoreError> {
        let at = self.clock.now();
        let result = lock(&self.store).record_leg_event(intent_id, coid, event, at);
        if let Err(e) = &result {
            self.journal_failed(e);
        }
        result
    }

    fn journal_failed(&self, e: &StoreError) {
        let mut slot = lock(&self.journal_error);
        if slot.is_none() {
            *slot = Some(e.to_string());
            // Without a journal nothing may be sent: stop trading until a
            // restart reconciles.
            self.readiness.set(false);
            self.alert(
                Severity::Critical,
                "execution.journal".to_string(),
                format!("journal write failed, trading stopped: {e}"),
            );
        }
    }

    fn alert(&self, severity: Severity, key: String, message: String) {
        self.alerter.alert(Alert {
            severity,
            key,
            message,
            at: self.clock.now(),
        });
    }

    fn halt(&self, pair_id: &str, why: &str) {
        lock(&self.halted).insert(pair_id.to_string());
        let hook = lock(&self.halt_hook).clone();
        if let Some(hook) = hook {
            hook(pair_id, why);
        }
        metrics::counter!("orion_execution_pair_halts_total").increment(1);
        self.alert(
            Severity::Critical,
            format!("execution.pair_halted.{pair_id}"),
            format!("pair {pair_id} halted: {why}"),
        );
    }

    /// Drives one leg until it ends. `resend_allowed` is false during
    /// reconciliation: an order proven absent after a restart is stale and is
    /// abandoned rather than resent.
    async fn drive_leg(
        &self,
        intent_id: &str,
        leg: &mut LegOrder,
        resend_allowed: bool,
        mut sent_at: Option<orion_core::Timestamp>,
    ) -> LegEnd {
        let gateway = self
            .venues
            .get(leg.prepared().request.instrument.venue)
            .clone();
        let coid = leg.prepared().request.client_order_id.clone();
        let timeout = self.settings.leg_timeout();
        let mut absent_in_a_row = 0u32;
        let mut cancels = 0u32;
        loop {
            let phase = leg.phase().clone();
            match phase {
                LegPhase::Done(end) => {
                    metrics::counter!(
                        "orion_execution_orders_total",
                        "venue" => gateway.venue().as_str(),
                        "end" => match &end {
                            LegEnd::Filled(_) => "filled",
                            LegEnd::PartiallyFilled(_) => "partially_filled",
                            LegEnd::Rejected { .. } => "rejected",
                            LegEnd::Unknown { .. } => "unknown",
                        }
                    )
                    .increment(1);
                    return end;
                }
                LegPhase::Prepared | LegPhase::NeverArrived { .. } => {
                    let resends_used = leg.attempts().saturating_sub(1);
                    if matches!(phase, LegPhase::NeverArrived { .. })
                        && (!resend_allowed || resends_used >= self.settings.max_resends)
                    {
                        let reason = "orion: not found at the venue; not resent".to_string();
                        let report =
                            synthetic_rejection(leg.prepared(), reason.clone(), self.clock.now());
                        let _ = self.journal(intent_id, &coid, &LegEvent::Report(report));
                        let _ = leg.on_refused(reason);
                        continue;
                    }
                    let Ok(attempt) = leg.begin_send() else {
                        let _ = leg.give_up("state machine refused a send".into());
                        continue;
                    };
                    sent_at = Some(self.clock.now());
                    if self
                        .journal(intent_id, &coid, &LegEvent::Sending { attempt })
                        .is_err()
                    {
                        // Never send what is not journaled. This attempt is
                        // not sent, and any earlier one was proven absent, so
                        // nothing of this order exists at the venue.
                        let _ = leg.on_refused("not sent: journal write failed".into());
                        continue;
                    }
                    let answer =
                        tokio::time::timeout(timeout, gateway.submit(leg.prepared())).await;
                    match answer {
                        Ok(Ok(report)) => {
                            let _ =
                                self.journal(intent_id, &coid, &LegEvent::Report(report.clone()));
                            let _ = leg.on_report(&report);
                        }
                        // A refusal of a *resend* may be the venue's
                        // duplicate check (Polymarket refuses a signed order
                        // it already has): the first attempt may exist after
                        // all, so only a query may settle it.
                        Ok(Err(e))
                            if attempt == 1
                                && matches!(
                                    e,
                                    GatewayError::Rejected { .. }
                                        | GatewayError::Auth { .. }
                                        | GatewayError::InvalidOrder { .. }
                                        | GatewayError::NotFound { .. }
                                ) =>
                        {
                            let reason = e.to_string();
                            let report = synthetic_rejection(
                                leg.prepared(),
                                reason.clone(),
                                self.clock.now(),
                            );
                            let _ = self.journal(intent_id, &coid, &LegEvent::Report(report));
                            let _ = leg.on_refused(reason);
                        }
                        Ok(Err(e)) => {
                            // Unknown outcomes (timeout, transport, 5xx, 409
                            // duplicate) and "not sent"/429 alike are settled
                            // by asking the venue: uniform, and never a new order.
                            let _ = self.journal(
                                intent_id,
                                &coid,
                                &LegEvent::Unknown {
                                    detail: e.to_string(),
                                },
                            );
                            let _ = leg.on_unknown();
                        }
                        Err(_elapsed) => {
                            let _ = self.journal(
                                intent_id,
                                &coid,
                                &LegEvent::Unknown {
                                    detail: format!("no answer within {timeout:?}"),
                                },
                            );
                            let _ = leg.on_unknown();
                        }
                    }
                }
                LegPhase::InFlight { .. } => {
                    // Only reachable if a transition above was refused.
                    let _ = leg.give_up("in flight without an answer".into());
                }
                LegPhase::Resting { .. } => {
                    cancels += 1;
                    if cancels > self.settings.max_cancels {
                        let _ = leg.on_unknown();
                        continue;
                    }
                    let answer =
                        tokio::time::timeout(timeout, gateway.cancel(&key_of(leg.prepared())))
                            .await;
                    match answer {
                        Ok(Ok(report)) => {
                            let _ =
                                self.journal(intent_id, &coid, &LegEvent::Report(report.clone()));
                            let _ = leg.on_report(&report);
                        }
                        Ok(Err(e)) => {
                            let _ = self.journal(
                                intent_id,
                                &coid,
                                &LegEvent::Unknown {
                                    detail: format!("cancel: {e}"),
                                },
                            );
                            let _ = leg.on_unknown();
                        }
                        Err(_) => {
                            let _ = self.journal(
                                intent_id,
                                &coid,
                                &LegEvent::Unknown {
                                    detail: "cancel: no answer".into(),
                                },
                            );
                            let _ = leg.on_unknown();
                        }
                    }
                }
                LegPhase::Unknown { queries, .. } => {
                    if queries >= self.settings.query_attempts {
                        let _ = leg.give_up(format!("fate unknown after {queries} queries"));
                        continue;
                    }
                    tokio::time::sleep(self.settings.backoff(queries)).await;
                    let answer =
                        tokio::time::timeout(timeout, gateway.query(&key_of(leg.prepared()))).await;
                    match answer {
                        Ok(Ok(Some(report))) => {
                            absent_in_a_row = 0;
                            let _ =
                                self.journal(intent_id, &coid, &LegEvent::Report(report.clone()));
                            let _ = leg.on_report(&report);
                        }
                        Ok(Ok(None)) => {
                            // A slow request may still land: "not found"
                            // only counts once the window since sending has
                            // passed.
                            let wait = sent_at
                                .map(|t| t.saturating_add(self.settings.absent_grace))
                                .map_or(Duration::ZERO, |t| t.since(self.clock.now()));
                            if !wait.is_zero() {
                                tokio::time::sleep(wait).await;
                                absent_in_a_row = 0;
                                let _ = leg.on_query_failed();
                                continue;
                            }
                            absent_in_a_row += 1;
                            if absent_in_a_row >= self.settings.absent_confirmations {
                                absent_in_a_row = 0;
                                let _ = leg.on_confirmed_absent();
                            } else {
                                let _ = leg.on_query_failed();
                            }
                        }
                        Ok(Err(_)) | Err(_) => {
                            absent_in_a_row = 0;
                            let _ = leg.on_query_failed();
                        }
                    }
                }
            }
        }
    }
}

impl<S: Store> Executor<S> {
    fn summary(intent_id: &str, leg: &LegOrder, end: LegEnd) -> LegSummary {
        let r = &leg.prepared().request;
        LegSummary {
            intent_id: intent_id.to_string(),
            client_order_id: r.client_order_id.clone(),
            instrument: r.instrument.clone(),
            outcome: r.outcome,
            side: r.side,
            quantity: r.quantity,
            limit_price: r.limit_price,
            attempts: leg.attempts(),
            end,
        }
    }

    /// Executes an approved trade. Errors mean nothing was sent; once the
    /// intent is journaled the answer is always a report.
    pub async fn execute(
        &self,
        plan: &TradePlan,
        view: &dyn MarketView,
    ) -> Result<ExecutionReport, ExecutionError> {
        if !self.readiness.is_ready() || lock(&self.journal_error).is_some() {
            return Err(ExecutionError::NotReady);
        }
        if self.is_halted(&plan.pair_id) {
            return Err(ExecutionError::PairHalted(plan.pair_id.clone()));
        }
        let requests = plan_orders(plan, &self.settings.config, self.ids.as_ref())?;
        // Signing happens here, before the journal: the journal holds the
        // exact bytes that will be sent.
        let prepared_a = self
            .venues
            .get(requests[0].instrument.venue)
            .prepare(&requests[0])?;
        let prepared_b = self
            .venues
            .get(requests[1].instrument.venue)
            .prepare(&requests[1])?;
        let intent_id = self.ids.next_id();
        let intent = TradeIntent {
            intent_id: intent_id.clone(),
            pair_id: plan.pair_id.clone(),
            legs: vec![prepared_a.clone(), prepared_b.clone()],
            expected_profit: plan.expected_profit,
            created_at: self.clock.now(),
        };
        if let Err(e) = lock(&self.store).record_intent(&intent) {
            self.journal_failed(&e);
            return Err(ExecutionError::Journal(e));
        }

        let mut leg_a = LegOrder::new(prepared_a.clone());
        let mut leg_b = LegOrder::new(prepared_b.clone());
        let (end_a, end_b) = tokio::join!(
            self.drive_leg(&intent_id, &mut leg_a, true, None),
            self.drive_leg(&intent_id, &mut leg_b, true, None)
        );
        let mut family = Family {
            parent_id: intent_id.clone(),
            pair_id: plan.pair_id.clone(),
            parent_legs: [prepared_a, prepared_b],
            legs: vec![
                Self::summary(&intent_id, &leg_a, end_a),
                Self::summary(&intent_id, &leg_b, end_b),
            ],
            repairs: Vec::new(),
            children: Vec::new(),
            net: [0, 0],
            next_repair: 1,
            loss: Cash::ZERO,
        };
        Ok(self
            .settle_family(family_with_fills(&mut family), view)
            .await)
    }

    /// Repairs (if needed) and finishes a family whose parent legs ended.
    async fn settle_family(&self, family: &mut Family, view: &dyn MarketView) -> ExecutionReport {
        let parent_unknown = family.legs.iter().any(|l| l.end.filled().is_none());
        let mut halted = false;
        let mut outcome = None;
        if parent_unknown {
            self.halt(
                &family.pair_id,
                &format!(
                    "intent {}: a leg's fate is unknown; left open for reconciliation",
                    family.parent_id
                ),
            );
            halted = true;
        } else {
            let legged = family.imbalance() != 0;
            if legged {
                metrics::counter!("orion_execution_legged_total").increment(1);
                self.alert(
                    Severity::Warning,
                    format!("execution.legged.{}", family.pair_id),
                    format!(
                        "intent {}: legs filled {} and {} micro-contracts; repairing",
                        family.parent_id, family.net[0], family.net[1]
                    ),
                );
            }
            let repaired = self.repair(family, view).await;
            match repaired {
                RepairResult::Balanced => {
                    outcome = Some(if legged || !family.repairs.is_empty() {
                        IntentOutcome::Repaired
                    } else if family.net[0] == 0 {
                        IntentOutcome::NothingFilled
                    } else {
                        IntentOutcome::Completed
                    });
                }
                RepairResult::Unbalanced(why) => {
                    self.halt(
                        &family.pair_id,
                        &format!("intent {}: {why}", family.parent_id),
                    );
                    halted = true;
                    outcome = Some(IntentOutcome::NeedsAttention);
                }
                RepairResult::Unknown(why) => {
                    self.halt(
                        &family.pair_id,
                        &format!("intent {}: {why}", family.parent_id),
                    );
                    halted = true;
                }
            }
        }
        if let Some(outcome) = &outcome {
            self.finish_family(family, outcome);
        }
        if !family.loss.is_negative() && family.loss != Cash::ZERO {
            metrics::counter!("orion_execution_unwind_loss_micros_total")
                .increment(u64::try_from(family.loss.micros()).unwrap_or(0));
        }
        ExecutionReport {
            intent_id: family.parent_id.clone(),
            pair_id: family.pair_id.clone(),
            legs: family.legs.clone(),
            repairs: family.repairs.clone(),
            net: family.net,
            outcome,
            unwind_loss: family.loss,
            halted,
            journal_error: lock(&self.journal_error).clone(),
        }
    }

    /// Parent first, then children: a child open under a finished parent is
    /// known to be accounted for.
    fn finish_family(&self, family: &Family, outcome: &IntentOutcome) {
        let at = self.clock.now();
        let parent = lock(&self.store).finish_intent(&family.parent_id, outcome, at);
        if let Err(e) = parent {
            self.journal_failed(&e);
            return;
        }
        for (child, child_outcome) in &family.children {
            let Some(child_outcome) = child_outcome else {
                continue;
            };
            if let Err(e) = lock(&self.store).finish_intent(child, child_outcome, at) {
                self.journal_failed(&e);
            }
        }
    }

    async fn repair(&self, family: &mut Family, view: &dyn MarketView) -> RepairResult {
        let budget_total = self.settings.config.max_unwind_loss_per_trade;
        let mut attempts = 0u32;
        let mut refused: Vec<RepairAction> = Vec::new();
        loop {
            let imbalance = family.imbalance();
            if imbalance == 0 {
                return RepairResult::Balanced;
            }
            if lock(&self.journal_error).is_some() {
                return RepairResult::Unbalanced("journal failing: no repair sent".into());
            }
            if attempts >= self.settings.config.max_repair_attempts {
                return RepairResult::Unbalanced(format!(
                    "still unbalanced by {imbalance} micro-contracts after {attempts} repair attempts"
                ));
            }
            attempts += 1;
            let (long_i, short_i) = if imbalance > 0 { (0, 1) } else { (1, 0) };
            let excess =
                Quantity::from_micros(u64::try_from(imbalance.unsigned_abs()).unwrap_or(u64::MAX));
            let leg_of = |i: usize| RepairLeg {
                market: family.parent_legs[i].request.market.clone(),
                instrument: family.parent_legs[i].request.instrument.clone(),
                outcome: family.parent_legs[i].request.outcome,
                cost_price: family.cost_price(i),
            };
            let long = leg_of(long_i);
            let short = leg_of(short_i);
            let long_book = view.book(&long.instrument);
            let short_book = view.book(&short.instrument);
            let decision = choose_repair(&RepairInput {
                long: &long,
                short: &short,
                excess,
                long_book: long_book.as_ref(),
                short_book: short_book.as_ref(),
                long_fees: view.fees(&long.instrument),
                short_fees: view.fees(&short.instrument),
                loss_budget: budget_total.saturating_sub(family.loss),
                long_min: self.min_order_size(view, &long.instrument),
                short_min: self.min_order_size(view, &short.instrument),
            });
            let Some(candidate) = decision.best_avoiding(&refused) else {
                return RepairResult::Unbalanced(format!(
                    "no repair within bounds (complete: {:?}; unwind: {:?})",
                    decision.complete.err(),
                    decision.unwind.err()
                ));
            };
            match self.send_repair(family, &candidate, long.cost_price).await {
                Ok(filled) if filled.is_zero() => {
                    // Refused or nothing available at the bound: try the
                    // other way next, if it is within bounds.
                    if !refused.contains(&candidate.action) {
                        refused.push(candidate.action);
                    }
                }
                Ok(_) => refused.clear(),
                Err(RepairSendError::Unknown(why)) => return RepairResult::Unknown(why),
                Err(RepairSendError::NotSent(why)) => {
                    tracing::warn!(intent = %family.parent_id, "repair not sent: {why}");
                }
            }
        }
    }

    async fn send_repair(
        &self,
        family: &mut Family,
        candidate: &RepairCandidate,
        long_cost: Price,
    ) -> Result<Quantity, RepairSendError> {
        let coid = new_client_order_id(self.ids.as_ref())
            .map_err(|e| RepairSendError::NotSent(e.to_string()))?;
        let request = OrderRequest {
            client_order_id: coid,
            market: candidate.market.clone(),
            instrument: candidate.instrument.clone(),
            outcome: candidate.outcome,
            side: candidate.side,
            limit_price: candidate.limit_price,
            quantity: candidate.quantity,
            // Partial progress beats none when repairing: take what the book
            // has at the bound and let the next attempt see the remainder.
            time_in_force: orion_core::TimeInForce::ImmediateOrCancel,
        };
        let prepared = self
            .venues
            .get(candidate.instrument.venue)
            .prepare(&request)
            .map_err(|e| RepairSendError::NotSent(e.to_string()))?;
        let child_id = format!("{}/repair-{}", family.parent_id, family.next_repair);
        family.next_repair += 1;
        let intent = TradeIntent {
            intent_id: child_id.clone(),
            pair_id: family.pair_id.clone(),
            legs: vec![prepared.clone()],
            expected_profit: candidate.expected_pnl,
            created_at: self.clock.now(),
        };
        if let Err(e) = lock(&self.store).record_intent(&intent) {
            self.journal_failed(&e);
            return Err(RepairSendError::NotSent(e.to_string()));
        }
        let mut leg = LegOrder::new(prepared);
        let end = self.drive_leg(&child_id, &mut leg, true, None).await;
        let summary = Self::summary(&child_id, &leg, end.clone());
        self.account_repair(
            family,
            candidate.action,
            candidate.expected_pnl,
            long_cost,
            summary,
            &child_id,
        );
        match end.filled() {
            None => Err(RepairSendError::Unknown(format!(
                "repair order {child_id}: fate unknown"
            ))),
            Some(filled) => Ok(filled),
        }
    }

    fn account_repair(
        &self,
        family: &mut Family,
        action: RepairAction,
        expected_pnl: Cash,
        long_cost: Price,
        summary: LegSummary,
        child_id: &str,
    ) {
        let realized = repair_pnl(action, long_cost, &summary.end, summary.limit_price);
        if realized.is_negative() {
            family.loss = family
                .loss
                .saturating_add(realized.checked_neg().unwrap_or(Cash::MAX));
        }
        if let Some(filled) = summary.end.filled() {
            family.apply_fill(&summary.instrument, summary.side, filled);
        }
        family
            .children
            .push((child_id.to_string(), child_outcome(&summary.end)));
        family.repairs.push(RepairRecord {
            action,
            expected_pnl,
            realized_pnl: realized,
            leg: summary,
        });
    }
}

enum RepairResult {
    Balanced,
    Unbalanced(String),
    Unknown(String),
}

enum RepairSendError {
    NotSent(String),
    Unknown(String),
}

/// Applies the parent legs' known fills to the family's net position.
fn family_with_fills(family: &mut Family) -> &mut Family {
    let fills: Vec<(InstrumentId, Side, Quantity)> = family
        .legs
        .iter()
        .filter_map(|l| l.end.filled().map(|q| (l.instrument.clone(), l.side, q)))
        .collect();
    for (instrument, side, q) in fills {
        family.apply_fill(&instrument, side, q);
    }
    family
}

type JournalEvents = [(ClientOrderId, LegEvent, orion_core::Timestamp)];

impl<S: Store> Executor<S> {
    /// Resolves one journaled order: from its journal when that is final,
    /// else by querying the venue (never by sending it again).
    async fn resolve_journaled(
        &self,
        intent_id: &str,
        prepared: &PreparedOrder,
        events: &JournalEvents,
    ) -> LegSummary {
        let coid = &prepared.request.client_order_id;
        let mut attempts = 0u32;
        let mut last_report: Option<&OrderReport> = None;
        let mut last_sent_at = None;
        for (_, event, at) in events.iter().filter(|(c, _, _)| c == coid) {
            match event {
                LegEvent::Sending { attempt } => {
                    attempts = attempts.max(*attempt);
                    last_report = None;
                    last_sent_at = Some(*at);
                }
                LegEvent::Report(r) => last_report = Some(r),
                LegEvent::Unknown { .. } => {}
            }
        }
        if attempts == 0 {
            // `Sending` is journaled before every attempt: none means the
            // order never left this process.
            let reason = "orion: never sent (stopped before sending)".to_string();
            let report = synthetic_rejection(prepared, reason.clone(), self.clock.now());
            let _ = self.journal(intent_id, coid, &LegEvent::Report(report));
            let mut leg = LegOrder::new(prepared.clone());
            let _ = leg.on_refused(reason);
            let end = self.drive_leg(intent_id, &mut leg, false, None).await;
            return Self::summary(intent_id, &leg, end);
        }
        let mut leg = LegOrder::resume_unknown(prepared.clone(), attempts);
        if let Some(report) = last_report.filter(|r| r.status.is_final()) {
            let _ = leg.on_report(report);
        }
        // A request written by a process that died can still reach the
        // venue a little later: `drive_leg` counts "not found" only once
        // the window since the journaled send has passed.
        let end = self
            .drive_leg(intent_id, &mut leg, false, last_sent_at)
            .await;
        Self::summary(intent_id, &leg, end)
    }

    /// Start-up reconciliation: resolves every unfinished journal family
    /// against the venues, repairs and finishes it, compares positions, and
    /// sets readiness. Trading is refused until this returns `ready`.
    pub async fn reconcile(
        &self,
        view: &dyn MarketView,
        expected_positions: &[Position],
        policy: ReconcilePolicy,
    ) -> Result<ReconciliationReport, ExecutionError> {
        self.readiness.set(false);
        let journal = lock(&self.store).unfinished_intents()?;
        let mut families: Vec<(
            String,
            Option<orion_core::JournaledIntent>,
            Vec<orion_core::JournaledIntent>,
        )> = Vec::new();
        for entry in journal {
            let parent = parent_of(&entry.intent.intent_id).to_string();
            let slot = match families.iter().position(|(p, _, _)| *p == parent) {
                Some(i) => i,
                None => {
                    families.push((parent.clone(), None, Vec::new()));
                    families.len() - 1
                }
            };
            if entry.intent.intent_id == parent {
                families[slot].1 = Some(entry);
            } else {
                families[slot].2.push(entry);
            }
        }

        let mut resolved = Vec::new();
        let mut unresolved = Vec::new();
        // Fills of repair orders finished here under an already finished
        // parent: not in the caller's positions (read before this ran) nor
        // in any resolved family.
        let mut orphan_fills: Vec<(InstrumentId, orion_core::Outcome, i128)> = Vec::new();
        for (parent_id, parent, mut children) in families {
            children.sort_by_key(|c| repair_number(&c.intent.intent_id));
            let Some(parent) = parent else {
                // The parent was finished with these children accounted for:
                // resolve and close them, nothing to repair.
                for child in &children {
                    let mut outcome = Some(IntentOutcome::NothingFilled);
                    for prepared in &child.intent.legs {
                        let s = self
                            .resolve_journaled(&child.intent.intent_id, prepared, &child.events)
                            .await;
                        if let Some(filled) = s.end.filled() {
                            let q = match s.side {
                                Side::Buy => signed(filled),
                                Side::Sell => -signed(filled),
                            };
                            add_position(&mut orphan_fills, &s.instrument, s.outcome, q);
                        }
                        match child_outcome(&s.end) {
                            None => outcome = None,
                            Some(IntentOutcome::Completed) if outcome.is_some() => {
                                outcome = Some(IntentOutcome::Completed);
                            }
                            Some(_) => {}
                        }
                    }
                    match outcome {
                        Some(o) => {
                            if let Err(e) = lock(&self.store).finish_intent(
                                &child.intent.intent_id,
                                &o,
                                self.clock.now(),
                            ) {
                                self.journal_failed(&e);
                            }
                        }
                        None => unresolved.push(child.intent.intent_id.clone()),
                    }
                }
                continue;
            };
            let [a, b] = match <[PreparedOrder; 2]>::try_from(parent.intent.legs.clone()) {
                Ok(legs) => legs,
                Err(_) => {
                    self.alert(
                        Severity::Critical,
                        "execution.reconcile".into(),
                        format!("intent {parent_id} does not have two legs; left open"),
                    );
                    unresolved.push(parent_id);
                    continue;
                }
            };
            let leg_a = self.resolve_journaled(&parent_id, &a, &parent.events).await;
            let leg_b = self.resolve_journaled(&parent_id, &b, &parent.events).await;
            let mut family = Family {
                parent_id: parent_id.clone(),
                pair_id: parent.intent.pair_id.clone(),
                parent_legs: [a, b],
                legs: vec![leg_a, leg_b],
                repairs: Vec::new(),
                children: Vec::new(),
                net: [0, 0],
                next_repair: 1,
                loss: Cash::ZERO,
            };
            family_with_fills(&mut family);
            let mut child_unknown = false;
            for child in &children {
                let n = repair_number(&child.intent.intent_id);
                family.next_repair = family.next_repair.max(n.saturating_add(1));
                for prepared in &child.intent.legs {
                    let s = self
                        .resolve_journaled(&child.intent.intent_id, prepared, &child.events)
                        .await;
                    child_unknown |= s.end.filled().is_none();
                    let (action, long_i) = match family.leg_index(&s.instrument) {
                        Some(i) if s.side == Side::Sell => (RepairAction::Unwind, i),
                        Some(i) => (RepairAction::Complete, 1 - i),
                        None => continue,
                    };
                    let long_cost = family.cost_price(long_i);
                    self.account_repair(
                        &mut family,
                        action,
                        child.intent.expected_profit,
                        long_cost,
                        s,
                        &child.intent.intent_id,
                    );
                }
            }
            if child_unknown {
                self.halt(
                    &family.pair_id,
                    &format!("intent {parent_id}: a repair order's fate is unknown"),
                );
                unresolved.push(parent_id);
                continue;
            }
            let report = self.settle_family(&mut family, view).await;
            if report.outcome.is_none() {
                unresolved.push(parent_id);
            }
            resolved.push(report);
        }

        // Positions: what Orion believed plus what reconciliation resolved,
        // against what the venues hold.
        let mut expected: Vec<(InstrumentId, orion_core::Outcome, i128)> = expected_positions
            .iter()
            .map(|p| (p.instrument.clone(), p.outcome, signed(p.quantity)))
            .collect();
        for report in &resolved {
            for (i, leg) in report.legs.iter().enumerate().take(2) {
                add_position(&mut expected, &leg.instrument, leg.outcome, report.net[i]);
            }
        }
        for (instrument, outcome, q) in &orphan_fills {
            add_position(&mut expected, instrument, *outcome, *q);
        }
        let mut venue_positions: Vec<(InstrumentId, orion_core::Outcome, i128)> = Vec::new();
        let mut venue_errors = Vec::new();
        let mut balances = Vec::new();
        for venue in Venue::ALL {
            let gateway = self.venues.get(venue);
            match gateway.positions().await {
                Ok(list) => {
                    for p in list {
                        add_position(
                            &mut venue_positions,
                            &p.instrument,
                            p.outcome,
                            signed(p.quantity),
                        );
                    }
                }
                Err(e) => venue_errors.push(format!("{venue} positions: {e}")),
            }
            match gateway.balance().await {
                Ok(b) => balances.push(b),
                Err(e) => venue_errors.push(format!("{venue} balance: {e}")),
            }
        }
        let mut position_diffs = Vec::new();
        if venue_errors.is_empty() {
            let mut keys: Vec<(InstrumentId, orion_core::Outcome)> = expected
                .iter()
                .chain(venue_positions.iter())
                .map(|(i, o, _)| (i.clone(), *o))
                .collect();
            keys.sort();
            keys.dedup();
            for (instrument, outcome) in keys {
                let find = |list: &[(InstrumentId, orion_core::Outcome, i128)]| {
                    list.iter()
                        .filter(|(i, o, _)| *i == instrument && *o == outcome)
                        .map(|(_, _, q)| *q)
                        .sum::<i128>()
                };
                let want = find(&expected);
                let have = find(&venue_positions);
                if want != have {
                    let to_q = |v: i128| {
                        Quantity::from_micros(u64::try_from(v.max(0)).unwrap_or(u64::MAX))
                    };
                    position_diffs.push(PositionDiff {
                        blocking: policy.in_scope(&instrument),
                        instrument,
                        outcome,
                        expected: to_q(want),
                        venue: to_q(have),
                    });
                }
            }
        }
        let journal_ok = lock(&self.journal_error).is_none();
        let ready = unresolved.is_empty()
            && venue_errors.is_empty()
            && journal_ok
            && (!policy.block_on_position_mismatch || !position_diffs.iter().any(|d| d.blocking));
        if !ready {
            self.alert(
                Severity::Critical,
                "execution.reconcile".into(),
                format!(
                    "reconciliation incomplete: {} open intents, {} position differences, {} venue errors",
                    unresolved.len(),
                    position_diffs.len(),
                    venue_errors.len()
                ),
            );
        }
        self.readiness.set(ready);
        Ok(ReconciliationReport {
            resolved,
            unresolved,
            position_diffs,
            balances,
            venue_errors,
            ready,
        })
    }
}

fn repair_number(intent_id: &str) -> u32 {
    intent_id
        .split_once("/repair-")
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or(0)
}

fn add_position(
    list: &mut Vec<(InstrumentId, orion_core::Outcome, i128)>,
    instrument: &InstrumentId,
    outcome: orion_core::Outcome,
    qty: i128,
) {
    if let Some(entry) = list
        .iter_mut()
        .find(|(i, o, _)| i == instrument && *o == outcome)
    {
        entry.2 += qty;
    } else {
        list.push((instrument.clone(), outcome, qty));
    }
}
