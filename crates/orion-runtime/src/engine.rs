//! Start-up and the live loop.
//!
//! One task owns the [`DecisionCore`] and the risk gate; everything else
//! talks to it through channels. `select!` is biased so that execution
//! results and control commands are always served before market data: a
//! finished trade must free its pair (and its reserved capital) before the
//! next book event is judged, and a pause must take effect before it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use orion_config::{Config, Mode};
use orion_core::{
    Alert, Alerter, Balance, Cash, Clock, Fill, GatewayError, InstrumentId, IntentOutcome,
    MarketData, MarketEvent, OrderGateway, OrderKey, OrderReport, OrderRequest, OrderStatus,
    Position, PreparedOrder, Quantity, Rounding, Severity, Store, StoreError, Timestamp, Venue,
};
use orion_decision::{Control, CoreSettings, DecisionCore, Input, Output};
use orion_execution::{
    ExecutionError, ExecutionReport, ExecutionSettings, Executor, ReconcilePolicy, TradePlan,
    UuidV4Ids, Venues,
};
use orion_matching::detection::{DetectionParams, Opportunity, PairSpec};
use orion_recording::{RotatingRecorder, RotationPolicy};
use orion_risk::{
    BreakerLimits, BreakerState, CapitalLimits, CapitalManager, CircuitBreaker, PerVenue,
};
use orion_storage::{BreakerRecord, Database, OpportunityRecord, PairStatus};
use tokio::sync::{mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::gate::RiskGate;
use crate::paper::{BookCopies, PAPER_PREFIX, PaperGateway, PaperIds};
use crate::store::SharedDb;
use crate::telemetry::{self, LATENCY_METRIC, ReadyState};
use crate::venues::{self, Credentials, VenueClients};

/// Everything the engine needs to start.
#[derive(Debug)]
pub struct EngineOptions {
    pub config: Config,
    pub credentials: Credentials,
    pub clock: Arc<dyn Clock>,
    pub alerter: Arc<dyn Alerter>,
    /// The dashboard's login password (argon2id PHC string). The dashboard
    /// starts only when `config.dashboard.enabled` and this is set.
    pub dashboard_password_hash: Option<orion_vault::SecretString>,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("refusing to start: {0}")]
    Refused(String),
    #[error("database: {0}")]
    Database(#[from] StoreError),
    #[error("venue: {0}")]
    Venue(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// Counters shared with the handle (tests, the demo's summary, later the
/// dashboard).
#[derive(Debug, Default)]
pub(crate) struct Status {
    events: AtomicU64,
    recorded: AtomicU64,
    opportunities: AtomicU64,
    executions: AtomicU64,
    simulated_executions: AtomicU64,
    completed: AtomicU64,
    refusals: AtomicU64,
    suspended: AtomicU64,
    pairs: AtomicU64,
    latencies_ns: Mutex<Vec<u64>>,
    /// Realized P&L of settled holdings, real and simulated (micro-dollars),
    /// refreshed from the database after every settlement pass.
    realized_pnl_micros: std::sync::atomic::AtomicI64,
    simulated_realized_pnl_micros: std::sync::atomic::AtomicI64,
    /// Whether the decision core is paused or halted (for the dashboard).
    pub(crate) paused: std::sync::atomic::AtomicBool,
    /// The latest cash reading per venue (for the dashboard).
    balances: Mutex<PerVenue<Option<Cash>>>,
}

impl Status {
    pub(crate) fn balances(&self) -> PerVenue<Option<Cash>> {
        *self.balances.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_balances(&self, available: PerVenue<Option<Cash>>) {
        *self.balances.lock().unwrap_or_else(|e| e.into_inner()) = available;
    }
}

/// A copy of the engine's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusSnapshot {
    pub book_events: u64,
    pub recorded_events: u64,
    pub opportunities: u64,
    /// Executions started (real and simulated).
    pub executions: u64,
    pub simulated_executions: u64,
    /// Executions that finished with both legs filled equally.
    pub completed: u64,
    pub refusals: u64,
    pub suspended_pairs: u64,
    pub pairs: u64,
    /// Realized P&L of settled real holdings (the database's
    /// `realized_pnl(false)`).
    pub realized_pnl: Cash,
    /// The same for dry-run's simulated holdings.
    pub simulated_realized_pnl: Cash,
}

/// What the engine did, returned when it stops.
#[derive(Debug, Clone, Default)]
pub struct EngineSummary {
    pub status: StatusSnapshot,
    /// Book event received → both orders handed to the venues' clients.
    pub latency_p50: Option<Duration>,
    pub latency_p99: Option<Duration>,
    pub latency_samples: usize,
    pub recordings: Vec<std::path::PathBuf>,
}

pub(crate) enum Command {
    Control(Control),
    /// Clear a halted circuit breaker (the dashboard, after re-checking the
    /// operator's password); the answer says what happened.
    ResetBreaker {
        actor: String,
        reason: String,
        reply: tokio::sync::oneshot::Sender<Result<String, String>>,
    },
    Balances {
        available: PerVenue<Option<Cash>>,
        equity: PerVenue<Option<Cash>>,
    },
    /// An operator confirmed (or rejected) a stored pair while the engine
    /// runs (the dashboard, after the decision is in the database): a
    /// confirmed pair goes live without a restart, a rejected one stops
    /// trading.
    PairDecided {
        pair_id: String,
        confirmed: bool,
    },
}

/// A running engine.
#[derive(Debug)]
pub struct EngineHandle {
    telemetry_addr: SocketAddr,
    dashboard_addr: Option<SocketAddr>,
    commands: mpsc::Sender<Command>,
    stop: watch::Sender<bool>,
    status: Arc<Status>,
    ready: Arc<ReadyState>,
    task: JoinHandle<EngineSummary>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Control(c) => write!(f, "Control({c:?})"),
            Command::Balances { .. } => f.write_str("Balances"),
            Command::ResetBreaker { actor, .. } => write!(f, "ResetBreaker(by {actor})"),
            Command::PairDecided { pair_id, confirmed } => {
                write!(f, "PairDecided({pair_id}, confirmed: {confirmed})")
            }
        }
    }
}

impl EngineHandle {
    /// Where `/metrics`, `/health` and `/ready` answer.
    pub fn telemetry_addr(&self) -> SocketAddr {
        self.telemetry_addr
    }

    /// Where the dashboard answers, when it runs.
    pub fn dashboard_addr(&self) -> Option<SocketAddr> {
        self.dashboard_addr
    }

    /// Starts a graceful shutdown: no new trades, in-flight executions
    /// finished (or repaired), recorder and database flushed.
    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
    }

    /// A handle that can only stop the engine (for signal handlers).
    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }

    /// Pause, resume or halt trading.
    pub async fn control(&self, control: Control) {
        let _ = self.commands.send(Command::Control(control)).await;
    }

    pub fn status(&self) -> StatusSnapshot {
        snapshot(&self.status)
    }

    pub fn ready(&self) -> (bool, serde_json::Value) {
        self.ready.report()
    }

    /// Waits for the engine to stop (after [`EngineHandle::shutdown`]).
    pub async fn wait(self) -> EngineSummary {
        self.task.await.unwrap_or_default()
    }
}

pub(crate) fn snapshot(s: &Status) -> StatusSnapshot {
    StatusSnapshot {
        book_events: s.events.load(Ordering::Relaxed),
        recorded_events: s.recorded.load(Ordering::Relaxed),
        opportunities: s.opportunities.load(Ordering::Relaxed),
        executions: s.executions.load(Ordering::Relaxed),
        simulated_executions: s.simulated_executions.load(Ordering::Relaxed),
        completed: s.completed.load(Ordering::Relaxed),
        refusals: s.refusals.load(Ordering::Relaxed),
        suspended_pairs: s.suspended.load(Ordering::Relaxed),
        pairs: s.pairs.load(Ordering::Relaxed),
        realized_pnl: Cash::from_micros(s.realized_pnl_micros.load(Ordering::Relaxed)),
        simulated_realized_pnl: Cash::from_micros(
            s.simulated_realized_pnl_micros.load(Ordering::Relaxed),
        ),
    }
}

// ------------------------------------------------------------ latency probe

/// The book event that triggered an execution, and how many of its legs
/// have been handed to a venue client so far.
#[derive(Debug)]
struct Trigger {
    received_at: Timestamp,
    sent: AtomicU32,
    clock: Arc<dyn Clock>,
    status: Arc<Status>,
}

tokio::task_local! {
    static TRIGGER: Arc<Trigger>;
}

/// Keeps at most this many latency samples for the summary (the histogram
/// in /metrics has them all).
const MAX_LATENCY_SAMPLES: usize = 100_000;

/// An [`OrderGateway`] that measures the time from the triggering book event
/// to the moment the second leg is handed to its venue client. Execution
/// polls both legs in one task, so the trigger travels as a task-local.
struct Metered {
    inner: Arc<dyn OrderGateway>,
    simulated: bool,
}

impl std::fmt::Debug for Metered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Metered({}, simulated: {})",
            self.inner.venue(),
            self.simulated
        )
    }
}

#[async_trait]
impl OrderGateway for Metered {
    fn venue(&self) -> Venue {
        self.inner.venue()
    }

    fn prepare(&self, request: &OrderRequest) -> Result<PreparedOrder, GatewayError> {
        self.inner.prepare(request)
    }

    async fn submit(&self, order: &PreparedOrder) -> Result<OrderReport, GatewayError> {
        let _ = TRIGGER.try_with(|t| {
            if t.sent.fetch_add(1, Ordering::AcqRel) == 1 {
                let latency = t.clock.now().since(t.received_at);
                metrics::histogram!(LATENCY_METRIC, "simulated" => bool_label(self.simulated))
                    .record(latency.as_secs_f64());
                let mut samples = t
                    .status
                    .latencies_ns
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                if samples.len() < MAX_LATENCY_SAMPLES {
                    samples.push(u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX));
                }
            }
        });
        let result = self.inner.submit(order).await;
        let venue = self.inner.venue().as_str();
        let outcome = match &result {
            Ok(r) => status_label(r.status),
            Err(e) if e.outcome_unknown() => "unknown",
            Err(_) => "error",
        };
        metrics::counter!("orion_orders_total", "venue" => venue, "outcome" => outcome,
            "simulated" => bool_label(self.simulated))
        .increment(1);
        if let Err(GatewayError::RateLimited { .. }) = &result {
            metrics::counter!("orion_order_rate_limited_total", "venue" => venue).increment(1);
        }
        result
    }

    async fn cancel(&self, key: &OrderKey) -> Result<OrderReport, GatewayError> {
        self.inner.cancel(key).await
    }

    async fn query(&self, key: &OrderKey) -> Result<Option<OrderReport>, GatewayError> {
        self.inner.query(key).await
    }

    async fn balance(&self) -> Result<Balance, GatewayError> {
        self.inner.balance().await
    }

    async fn positions(&self) -> Result<Vec<Position>, GatewayError> {
        self.inner.positions().await
    }

    async fn fills(&self, since: Option<Timestamp>) -> Result<Vec<Fill>, GatewayError> {
        self.inner.fills(since).await
    }
}

fn bool_label(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

fn status_label(s: OrderStatus) -> &'static str {
    match s {
        OrderStatus::Open => "open",
        OrderStatus::Filled => "filled",
        OrderStatus::PartiallyFilled => "partially_filled",
        OrderStatus::Cancelled => "cancelled",
        OrderStatus::Rejected => "rejected",
    }
}

fn percentile(sorted: &[u64], pct: usize) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    // Nearest rank: ceil(pct/100 × n), 1-based.
    let rank = (pct * sorted.len()).div_ceil(100).clamp(1, sorted.len());
    sorted.get(rank - 1).map(|&n| Duration::from_nanos(n))
}

// ------------------------------------------------------------ start-up

/// Reads both venues' cash; `None` where a venue did not answer.
async fn balances(clients: &VenueClients) -> PerVenue<Option<Cash>> {
    let k = OrderGateway::balance(clients.kalshi.as_ref()).await;
    let p = OrderGateway::balance(clients.polymarket.as_ref()).await;
    let available = |r: &Result<Balance, GatewayError>| r.as_ref().ok().map(|b| b.available);
    for (venue, r) in [(Venue::Kalshi, &k), (Venue::Polymarket, &p)] {
        match r {
            Ok(b) => {
                metrics::gauge!("orion_balance_micros", "venue" => venue.as_str())
                    .set(b.available.micros() as f64);
            }
            Err(e) => tracing::warn!(%venue, error = %e, "balance not read"),
        }
    }
    PerVenue::new(available(&k), available(&p))
}

/// Equity for the circuit breaker, valued as an arbitrage book held to
/// settlement: each venue's cash, plus $1 for every contract hedged across a
/// pair (Kalshi YES with the Polymarket token paying on Kalshi NO, or the
/// reverse), which pays exactly that whichever way the event resolves.
/// Unhedged holdings count for nothing, so a legged trade reads as the loss
/// it risks. Venue-reported portfolio values are not used: they mark
/// positions to market, which would count a hedged pair's price swings as
/// gains and losses. A venue whose positions cannot be read gives `None`
/// (the breaker then reports not-ready; it never trips on a missing reading).
async fn equity(
    clients: &VenueClients,
    pairs: &[PairSpec],
    cash: PerVenue<Option<Cash>>,
) -> PerVenue<Option<Cash>> {
    let k = OrderGateway::positions(clients.kalshi.as_ref()).await;
    let p = OrderGateway::positions(clients.polymarket.as_ref()).await;
    let (Ok(k), Ok(p)) = (k, p) else {
        tracing::warn!("positions not read: equity unknown");
        return PerVenue::new(None, None);
    };
    let held = |list: &[Position], instrument: &InstrumentId, outcome: orion_core::Outcome| {
        list.iter()
            .filter(|x| &x.instrument == instrument && x.outcome == outcome)
            .fold(Quantity::ZERO, |sum, x| {
                sum.checked_add(x.quantity).unwrap_or(sum)
            })
    };
    let mut hedged = Cash::ZERO;
    for pair in pairs {
        for kalshi_outcome in [orion_core::Outcome::Yes, orion_core::Outcome::No] {
            let on_kalshi = held(&k, &pair.kalshi_instrument, kalshi_outcome);
            let (token, outcome) = pair.polymarket_token_for(kalshi_outcome.opposite());
            let on_poly = held(&p, token, outcome);
            let both = on_kalshi.min(on_poly);
            // Quantity micros × $1 = cash micros.
            hedged = hedged.saturating_add(Cash::from_micros(
                i64::try_from(both.micros()).unwrap_or(i64::MAX),
            ));
        }
    }
    PerVenue::new(
        cash.kalshi.map(|c| c.saturating_add(hedged)),
        cash.polymarket,
    )
}

fn breaker_record(state: &BreakerState, now: Timestamp) -> Option<BreakerRecord> {
    state.snapshot().ok().map(|data| BreakerRecord {
        state: state.state_name().to_string(),
        data,
        updated_at: now,
    })
}

/// Finishes simulated intents left by an earlier dry-run: nothing of them
/// ever reached a venue, so there is nothing to reconcile, and they must
/// never be mistaken for real ones.
fn close_paper_intents(db: &SharedDb, now: Timestamp) -> Result<usize, StoreError> {
    let mut store = db.clone();
    let unfinished = store.unfinished_intents()?;
    let mut real = 0;
    for entry in unfinished {
        if entry.intent.intent_id.starts_with(PAPER_PREFIX) {
            store.finish_intent(&entry.intent.intent_id, &IntentOutcome::NothingFilled, now)?;
        } else {
            real += 1;
        }
    }
    Ok(real)
}

/// The engine.
#[derive(Debug)]
pub struct Engine;

impl Engine {
    /// Starts the engine: database, telemetry, venues, reconciliation, pairs,
    /// subscriptions, then the loop. Errors mean nothing was traded.
    pub async fn start(options: EngineOptions) -> Result<EngineHandle, EngineError> {
        let EngineOptions {
            config,
            credentials,
            clock,
            alerter,
            dashboard_password_hash,
        } = options;
        let mode = config.engine.mode;
        if mode == Mode::Live && !config.engine.live_acknowledged {
            return Err(EngineError::Refused(
                "live mode needs engine.live_acknowledged = true".into(),
            ));
        }
        let ready = Arc::new(ReadyState::default());
        ready.set_breaker("unknown", false);
        ready.set_reconcile_detail("not started");
        let (stop_tx, stop_rx) = watch::channel(false);

        std::fs::create_dir_all(&config.engine.data_dir)?;
        let db = SharedDb::new(Database::open(&config.database_path())?);
        ready.database_open.store(true, Ordering::Release);

        let (telemetry_addr, telemetry_task) =
            telemetry::serve(config.telemetry.listen, ready.clone(), stop_rx.clone()).await?;
        tracing::info!(url = %format!("http://{telemetry_addr}/metrics"), "telemetry listening");
        let dashboard = crate::dashboard::Pending::new(
            &config,
            dashboard_password_hash,
            db.clone(),
            ready.clone(),
            clock.clone(),
            stop_rx.clone(),
        )
        .await?;

        let result = Self::start_inner(
            config,
            credentials,
            clock,
            alerter,
            db,
            ready.clone(),
            stop_tx.clone(),
            stop_rx,
            telemetry_task,
        )
        .await;
        match result {
            Ok((commands, status, task)) => {
                let dashboard_addr = match dashboard.serve(commands.clone(), status.clone()).await {
                    Ok(addr) => addr,
                    Err(e) => {
                        let _ = stop_tx.send(true);
                        return Err(EngineError::Io(e));
                    }
                };
                Ok(EngineHandle {
                    telemetry_addr,
                    dashboard_addr,
                    commands,
                    stop: stop_tx,
                    status,
                    ready,
                    task,
                })
            }
            Err(e) => {
                let _ = stop_tx.send(true);
                Err(e)
            }
        }
    }

    #[allow(clippy::too_many_arguments)] // the pieces built by `start`, handed over once
    async fn start_inner(
        config: Config,
        credentials: Credentials,
        clock: Arc<dyn Clock>,
        alerter: Arc<dyn Alerter>,
        db: SharedDb,
        ready: Arc<ReadyState>,
        stop_tx: watch::Sender<bool>,
        stop_rx: watch::Receiver<bool>,
        telemetry_task: JoinHandle<()>,
    ) -> Result<
        (
            mpsc::Sender<Command>,
            Arc<Status>,
            JoinHandle<EngineSummary>,
        ),
        EngineError,
    > {
        let mode = config.engine.mode;
        let clients = venues::connect(&config, &credentials, clock.clone())
            .await
            .map_err(EngineError::Venue)?;
        drop(credentials);

        // Balances and the breaker.
        let available = balances(&clients).await;
        for venue in Venue::ALL {
            ready
                .venue(venue)
                .store(available.get(venue).is_some(), Ordering::Release);
        }
        let now = clock.now();
        let state = match db.lock().load_breaker()? {
            Some(record) => BreakerState::restore(&record.data).unwrap_or_else(|e| {
                // An unreadable breaker must not silently become "active".
                BreakerState::fail_closed(&format!("stored breaker state unreadable: {e}"), now)
            }),
            None => BreakerState::new(),
        };
        // Equity is observed once the pairs are known (hedged pairs count at
        // their settlement value); until then the breaker is not ready.
        let breaker = CircuitBreaker::new(BreakerLimits::from_config(&config.risk), state);
        ready.set_breaker(breaker.state().state_name(), breaker.allows_new_trades());
        let mut gate = RiskGate::new(
            breaker,
            CapitalManager::new(CapitalLimits::from_config(&config.risk)),
        );
        gate.set_available(available);

        // Executors: real venues only live; dry-run gets paper venues that
        // never open a connection; alert-only gets none at all.
        let books = Arc::new(BookCopies::default());
        let settings = ExecutionSettings::from_config(&config.execution);
        let executor: Option<Arc<Executor<SharedDb>>> = match mode {
            Mode::Live => Some(Arc::new(Executor::new(
                db.clone(),
                Venues {
                    kalshi: Arc::new(Metered {
                        inner: clients.kalshi.clone(),
                        simulated: false,
                    }),
                    polymarket: Arc::new(Metered {
                        inner: clients.polymarket.clone(),
                        simulated: false,
                    }),
                },
                clock.clone(),
                alerter.clone(),
                Arc::new(UuidV4Ids),
                settings,
            ))),
            Mode::DryRun => {
                let paper = |venue: Venue| -> Arc<dyn OrderGateway> {
                    Arc::new(Metered {
                        inner: Arc::new(PaperGateway::new(
                            venue,
                            books.clone(),
                            available.get(venue).unwrap_or(Cash::ZERO),
                            clock.clone(),
                        )),
                        simulated: true,
                    })
                };
                Some(Arc::new(Executor::new(
                    db.clone(),
                    Venues {
                        kalshi: paper(Venue::Kalshi),
                        polymarket: paper(Venue::Polymarket),
                    },
                    clock.clone(),
                    alerter.clone(),
                    Arc::new(PaperIds),
                    settings,
                )))
            }
            Mode::AlertOnly => None,
        };

        // Pairs first: loading them registers the Polymarket tokens and the
        // Kalshi price grids that reconciliation's queries and repairs use.
        let records = {
            let guard = db.lock();
            crate::pairs::eligible(
                &guard,
                mode,
                config.engine.pairs,
                config.engine.proposal_min_score_bps,
            )?
        };
        let (pairs, problems, titles) = crate::pairs::specs_and_titles(&records, &clients).await;
        for p in &problems {
            tracing::warn!(problem = %p, "pair left out");
        }
        // The dashboard shows these titles; without them it still works.
        if let Err(e) = crate::pairs::store_titles(&db.lock(), &titles, clock.now()) {
            tracing::warn!(error = %e, "market titles not stored");
        }
        tracing::info!(pairs = pairs.len(), mode = %mode, auto_execute = config.engine.auto_execute, "pairs loaded");

        // Dry-run intents are simulated from the moment they are journaled,
        // so their fills land in the simulated positions, never the real ones.
        db.lock()
            .set_simulated_prefix(Some(PAPER_PREFIX.to_string()));

        // Halts survive restarts: re-apply the stored ones, and store new ones.
        if let Some(executor) = &executor {
            let halts = db.lock().halted_pairs()?;
            for h in &halts {
                tracing::warn!(pair = %h.pair_id, reason = %h.reason, by = %h.source, "pair halted (stored); `orion-admin pairs resume` lifts it");
            }
            executor.restore_halts(halts.iter().map(|h| h.pair_id.as_str()));
            // Only real executions store halts: a dry-run halt is about
            // simulated fills and must not stop the pair trading live later.
            if mode == Mode::Live {
                let halt_db = db.clone();
                let halt_clock = clock.clone();
                executor.on_halt(Arc::new(move |pair_id: &str, reason: &str| {
                    let record = orion_storage::HaltRecord {
                        pair_id: pair_id.to_string(),
                        reason: reason.to_string(),
                        source: "execution".into(),
                        halted_at: halt_clock.now(),
                    };
                    if let Err(e) = halt_db.lock().halt_pair(&record) {
                        tracing::error!(pair = %pair_id, error = %e, "halt not stored: it will not survive a restart");
                    }
                }));
            }
        }

        // Repairs never offer an order below a market's minimum size (the
        // venue would refuse it, and a refusal costs a repair attempt).
        if let Some(executor) = &executor {
            for p in &pairs {
                for token in [&p.polymarket_yes, &p.polymarket_no] {
                    executor.set_min_order_size(token, p.polymarket_min_size);
                }
            }
        }

        // Reconciliation: trading stays off until it succeeds.
        let real_unfinished = close_paper_intents(&db, now)?;
        let (reconciled, detail) = match (&executor, mode) {
            (Some(executor), Mode::Live) => {
                // What Orion's ledger holds (written with every finished
                // intent) against what the venues hold. A difference on an
                // instrument of a loaded pair blocks readiness: Orion cannot
                // explain that exposure and must not trade on top of it.
                // Holdings on other instruments are reported only.
                let expected = db
                    .lock()
                    .positions(false)?
                    .iter()
                    .map(orion_storage::PositionRecord::to_position)
                    .collect::<Result<Vec<_>, _>>()?;
                // (Markets already settled in the ledger are left out: their
                // Polymarket tokens stay in the wallet until redeemed.)
                let scope =
                    crate::settlement::reconcile_scope(&pairs, &db.lock().settled_markets(false)?);
                match executor
                    .reconcile(
                        books.as_ref(),
                        &expected,
                        ReconcilePolicy {
                            block_on_position_mismatch: true,
                            scope: Some(scope),
                        },
                    )
                    .await
                {
                    Ok(report) => {
                        let blocking = report.position_diffs.iter().filter(|d| d.blocking).count();
                        for diff in &report.position_diffs {
                            tracing::warn!(
                                instrument = %diff.instrument,
                                outcome = %diff.outcome,
                                ledger = %diff.expected,
                                venue = %diff.venue,
                                blocking = diff.blocking,
                                "venue position differs from Orion's ledger"
                            );
                        }
                        if report.position_diffs.len() > blocking {
                            alerter.alert(Alert {
                                severity: Severity::Warning,
                                key: "engine.reconciliation.foreign_positions".into(),
                                message: format!(
                                    "{} venue holdings outside Orion's pairs differ from its ledger (reported, not blocking)",
                                    report.position_diffs.len() - blocking
                                ),
                                at: now,
                            });
                        }
                        (
                            report.ready,
                            format!(
                                "{} resolved, {} unresolved, {} venue errors, {} position differences ({} blocking)",
                                report.resolved.len(),
                                report.unresolved.len(),
                                report.venue_errors.len(),
                                report.position_diffs.len(),
                                blocking
                            ),
                        )
                    }
                    Err(e) => (false, format!("failed: {e}")),
                }
            }
            _ if real_unfinished > 0 => (
                false,
                format!(
                    "{real_unfinished} real trades are unfinished; start in live mode (or use orion-admin) to reconcile them"
                ),
            ),
            (Some(executor), _) => match executor
                .reconcile(books.as_ref(), &[], ReconcilePolicy::default())
                .await
            {
                Ok(report) => (
                    report.ready,
                    "nothing to reconcile (simulated venues)".into(),
                ),
                Err(e) => (false, format!("failed: {e}")),
            },
            (None, _) => (true, "nothing to reconcile (alert-only)".into()),
        };
        ready.reconciled.store(reconciled, Ordering::Release);
        ready.set_reconcile_detail(&detail);
        if reconciled {
            tracing::info!(%detail, "reconciliation done");
        } else {
            tracing::error!(%detail, "reconciliation incomplete: trading disabled");
            alerter.alert(Alert {
                severity: Severity::Critical,
                key: "engine.reconciliation".into(),
                message: format!("reconciliation incomplete: {detail}"),
                at: now,
            });
        }

        let reading = equity(&clients, &pairs, available).await;
        if let Some(trip) = gate.breaker.observe_equity(&reading, clock.now()).trip {
            tracing::error!(trip = %trip.description(), "circuit breaker tripped");
            alerter.alert(trip.alert());
        }
        ready.set_breaker(
            gate.breaker.state().state_name(),
            gate.breaker.allows_new_trades(),
        );

        let status = Arc::new(Status::default());
        status.pairs.store(pairs.len() as u64, Ordering::Relaxed);
        status.set_balances(available);
        let settings = CoreSettings {
            mode,
            auto_execute: config.engine.auto_execute,
            detection: DetectionParams {
                min_edge: config.detection.min_edge,
                min_edge_beyond_horizon: config.detection.min_edge_beyond_horizon,
                horizon_days: config.detection.horizon_days,
                min_profit: config.detection.min_profit,
                slippage: config.detection.slippage,
                // Risk sizes trades; detection only needs a ceiling.
                max_size: Quantity::from_micros(1_000_000 * 1_000_000),
            },
            max_book_age_kalshi: Duration::from_millis(config.kalshi.max_book_age_ms),
            max_book_age_polymarket: Duration::from_millis(config.polymarket.max_book_age_ms),
        };
        let mut core = DecisionCore::new(settings, pairs.clone());
        // An operator's engine-wide halt survives a restart (only a resume
        // lifts it); the reconciliation halt below is decided afresh.
        let stored_halt = db
            .lock()
            .halted_pairs()?
            .into_iter()
            .find(|h| h.pair_id == orion_storage::ENGINE_HALT_ID);
        if let Some(h) = stored_halt {
            tracing::warn!(reason = %h.reason, by = %h.source, "engine halted (stored); resume to trade");
            let mut sink = Vec::new();
            core.process(
                Input::Control(Control::Halt {
                    reason: format!("{} (halted before the restart)", h.reason),
                }),
                now,
                &mut gate,
                &mut sink,
            );
            for output in sink {
                if let orion_decision::Output::Alert(alert) = output {
                    alerter.alert(alert);
                }
            }
        }
        if !reconciled {
            let mut sink = Vec::new();
            core.process(
                Input::Control(Control::Halt {
                    reason: "reconciliation incomplete".into(),
                }),
                now,
                &mut gate,
                &mut sink,
            );
        }
        // A stored or reconciliation halt shows on the dashboard from the start.
        status.paused.store(core.is_paused(), Ordering::Relaxed);

        // Streams and subscriptions.
        let (mut kalshi_ws, mut poly_ws) = venues::streams(&config, &clients, clock.clone());
        let kalshi_instruments: Vec<InstrumentId> =
            pairs.iter().map(|p| p.kalshi_instrument.clone()).collect();
        let poly_instruments: Vec<InstrumentId> = pairs
            .iter()
            .flat_map(|p| [p.polymarket_yes.clone(), p.polymarket_no.clone()])
            .collect();
        if !kalshi_instruments.is_empty() {
            kalshi_ws
                .subscribe(&kalshi_instruments)
                .await
                .map_err(|e| EngineError::Venue(e.to_string()))?;
        }
        if !poly_instruments.is_empty() {
            poly_ws
                .subscribe(&poly_instruments)
                .await
                .map_err(|e| EngineError::Venue(e.to_string()))?;
        }
        let (md_tx, md_rx) = mpsc::channel::<MarketEvent>(8192);
        let (kalshi_resync, kalshi_resync_rx) = mpsc::unbounded_channel();
        let (poly_resync, poly_resync_rx) = mpsc::unbounded_channel();
        let streams = vec![
            tokio::spawn(pump(
                kalshi_ws,
                md_tx.clone(),
                kalshi_resync_rx,
                stop_rx.clone(),
            )),
            tokio::spawn(pump(poly_ws, md_tx, poly_resync_rx, stop_rx.clone())),
        ];

        // Every pair the engine has traded this run (start-up's and those
        // confirmed live): equity and settlement must see them all.
        let (known_pairs, known_pairs_rx) = watch::channel(Arc::new(pairs.clone()));
        let recording_dir = config
            .recording
            .enabled
            .then(|| config.engine.data_dir.join(&config.recording.dir));
        let recorder = if config.recording.enabled {
            let dir = config.engine.data_dir.join(&config.recording.dir);
            // The specs go next to the books so the recording can be
            // backtested as traded; a failure only costs that convenience.
            match crate::recorded_pairs::write_pairs(&dir, &pairs) {
                Ok((path, n)) => {
                    tracing::info!(path = %path.display(), pairs = n, "pair specs written next to the recording")
                }
                Err(e) => {
                    tracing::warn!(error = %e, "pair specs not written next to the recording")
                }
            }
            Some(RotatingRecorder::new(
                &dir,
                "orion",
                RotationPolicy {
                    max_bytes: config.recording.rotate_mb.saturating_mul(1024 * 1024),
                    max_age: Duration::from_secs(
                        config.recording.rotate_minutes.saturating_mul(60),
                    ),
                },
            )?)
        } else {
            None
        };

        // Balances refresh in the background (read-only in every mode).
        let (cmd_tx, cmd_rx) = mpsc::channel::<Command>(64);
        let balance_task = {
            let clients = clients.clone();
            let known = known_pairs_rx.clone();
            let cmd = cmd_tx.clone();
            let mut stop = stop_rx.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_secs(30));
                every.tick().await;
                loop {
                    tokio::select! {
                        _ = crate::stopped(&mut stop) => break,
                        _ = every.tick() => {
                            let available = balances(&clients).await;
                            let pairs = known.borrow().clone();
                            let equity = equity(&clients, &pairs, available).await;
                            if cmd.send(Command::Balances { available, equity }).await.is_err() {
                                break;
                            }
                        }
                    }
                }
            })
        };

        // Settlement: held markets are watched for resolution in every mode
        // (the ledger must follow the venues whatever the engine does now).
        let settlement_task = {
            let settler = crate::settlement::Settler::new(
                db.clone(),
                Arc::new(crate::settlement::VenueResolutions(clients.clone())),
                &pairs,
                alerter.clone(),
                clock.clone(),
            );
            let db = db.clone();
            let status = status.clone();
            crate::settlement::spawn(
                settler,
                crate::settlement::POLL_INTERVAL,
                known_pairs_rx,
                stop_rx.clone(),
                move |_| {
                    let guard = db.lock();
                    for (simulated, slot) in [
                        (false, &status.realized_pnl_micros),
                        (true, &status.simulated_realized_pnl_micros),
                    ] {
                        match guard.realized_pnl(simulated) {
                            Ok(pnl) => slot.store(pnl.micros(), Ordering::Relaxed),
                            Err(e) => tracing::warn!(error = %e, "realized P&L not read"),
                        }
                    }
                },
            )
        };

        let pair_index: HashMap<Arc<str>, usize> = pairs
            .iter()
            .enumerate()
            .map(|(i, p)| (p.pair_id.clone(), i))
            .collect();
        let (writes, writer) = db_writer(db.clone());
        let looper = Loop {
            mode,
            core,
            gate,
            pairs,
            pair_index,
            executor,
            books,
            clock,
            alerter,
            db,
            ready,
            status: status.clone(),
            recorder,
            recording_dir,
            known_pairs,
            kalshi_resync,
            poly_resync,
            clients,
            last_detected: HashMap::new(),
            in_flight: JoinSet::new(),
            acted: HashMap::new(),
            writes: Some(writes),
            writer: Some(writer),
            _stop_tx: stop_tx,
            last_equity: Some(reading),
        };
        let (exec_tx, exec_rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let summary = looper.run(md_rx, cmd_rx, exec_tx, exec_rx, stop_rx).await;
            balance_task.abort();
            settlement_task.abort();
            for s in streams {
                s.abort();
            }
            let _ = telemetry_task.await;
            summary
        });
        Ok((cmd_tx, status, task))
    }
}

/// Moves one venue's stream into the loop's channel and serves its resync
/// requests. It owns the stream, so `subscribe` and `next_event` never race.
async fn pump<M: MarketData + 'static>(
    mut stream: M,
    out: mpsc::Sender<MarketEvent>,
    mut resync: mpsc::UnboundedReceiver<InstrumentId>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            biased;
            _ = crate::stopped(&mut stop) => break,
            Some(instrument) = resync.recv() => {
                if let Err(e) = stream.subscribe(std::slice::from_ref(&instrument)).await {
                    tracing::warn!(%instrument, error = %e, "resubscribe failed");
                }
            }
            event = stream.next_event() => match event {
                Ok(event) => {
                    if out.send(event).await.is_err() {
                        break;
                    }
                }
                Err(orion_core::MarketDataError::Closed) => break,
                Err(e) => tracing::warn!(error = %e, "market data error"),
            },
        }
    }
}

/// A database write the loop hands off: SQLite commits wait for the disk
/// (`synchronous = FULL`), and the decision core must never wait for it.
#[derive(Debug)]
enum DbWrite {
    Opportunity(OpportunityRecord),
    Simulated(String),
    Breaker(BreakerRecord),
    /// An operator's engine-wide halt.
    Halt(orion_storage::HaltRecord),
    /// An operator's resume: lifts a stored engine-wide halt.
    Resume(Timestamp),
}

/// Applies writes in order on a blocking thread until every sender is gone.
fn db_writer(db: SharedDb) -> (mpsc::UnboundedSender<DbWrite>, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<DbWrite>();
    let task = tokio::task::spawn_blocking(move || {
        while let Some(write) = rx.blocking_recv() {
            let mut guard = db.lock();
            let result = match &write {
                DbWrite::Opportunity(o) => guard.record_opportunity(o).map(|_| ()),
                DbWrite::Simulated(id) => guard.set_intent_simulated(id, true),
                DbWrite::Breaker(b) => guard.save_breaker(b, None),
                DbWrite::Halt(h) => guard.halt_pair(h).map(|_| ()),
                DbWrite::Resume(at) => guard
                    .resume_pair(
                        orion_storage::ENGINE_HALT_ID,
                        "operator",
                        "resume control",
                        *at,
                    )
                    .map(|_| ()),
            };
            if let Err(e) = result {
                tracing::error!(error = %e, ?write, "database write failed");
            }
        }
    });
    (tx, task)
}

/// A pair confirmed while the engine runs, described by the venues (or why
/// it could not be). `generation` is the pair's decision count when the
/// description was started: a later decision (a quick reject) makes it void.
struct PairLoaded {
    pair_id: String,
    generation: u64,
    spec: Result<PairSpec, String>,
}

/// What an execution task sends back.
struct ExecDone {
    pair_id: Arc<str>,
    simulated: bool,
    result: Result<ExecutionReport, ExecutionError>,
}

struct Loop {
    mode: Mode,
    core: DecisionCore,
    gate: RiskGate,
    pairs: Vec<PairSpec>,
    pair_index: HashMap<Arc<str>, usize>,
    executor: Option<Arc<Executor<SharedDb>>>,
    books: Arc<BookCopies>,
    clock: Arc<dyn Clock>,
    alerter: Arc<dyn Alerter>,
    db: SharedDb,
    ready: Arc<ReadyState>,
    status: Arc<Status>,
    recorder: Option<RotatingRecorder>,
    /// Where recordings and their `pairs.json` go (None: not recording).
    recording_dir: Option<std::path::PathBuf>,
    /// Publishes the loop's pair list to the balance and settlement tasks.
    known_pairs: watch::Sender<Arc<Vec<PairSpec>>>,
    kalshi_resync: mpsc::UnboundedSender<InstrumentId>,
    poly_resync: mpsc::UnboundedSender<InstrumentId>,
    clients: VenueClients,
    /// When each pair's opportunity was last logged and stored, so a
    /// standing edge is reported once, not on every book event.
    last_detected: HashMap<Arc<str>, Timestamp>,
    in_flight: JoinSet<()>,
    /// Records of executed opportunities, written when the execution ends.
    acted: HashMap<Arc<str>, OpportunityRecord>,
    writes: Option<mpsc::UnboundedSender<DbWrite>>,
    writer: Option<JoinHandle<()>>,
    _stop_tx: watch::Sender<bool>,
    /// The latest equity reading, re-observed after a breaker reset.
    last_equity: Option<PerVenue<Option<Cash>>>,
}

/// A standing opportunity is logged and stored again after this long.
const REDETECT_AFTER: Duration = Duration::from_secs(10);

impl Loop {
    async fn run(
        mut self,
        mut md: mpsc::Receiver<MarketEvent>,
        mut commands: mpsc::Receiver<Command>,
        exec_tx: mpsc::UnboundedSender<ExecDone>,
        mut exec_rx: mpsc::UnboundedReceiver<ExecDone>,
        mut stop: watch::Receiver<bool>,
    ) -> EngineSummary {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut out = Vec::new();
        // Pairs confirmed while running are described by the venues in a
        // task (network calls) and come back here to be added.
        let (loaded_tx, mut loaded_rx) = mpsc::unbounded_channel::<PairLoaded>();
        let mut decisions: HashMap<String, u64> = HashMap::new();
        loop {
            tokio::select! {
                biased;
                _ = crate::stopped(&mut stop) => break,
                Some(done) = exec_rx.recv() => self.on_done(done, &mut out),
                Some(loaded) = loaded_rx.recv() => {
                    if decisions.get(&loaded.pair_id) == Some(&loaded.generation) {
                        self.add_pair(loaded);
                    } else {
                        tracing::info!(pair = %loaded.pair_id, "pair decided again while it loaded; dropped");
                    }
                }
                Some(cmd) = commands.recv() => match cmd {
                    Command::Control(c) => {
                        tracing::info!(control = ?c, "operator control");
                        // A halt is stored so that it survives a restart; a
                        // resume lifts the stored one too.
                        match &c {
                            Control::Halt { reason } => self.write(DbWrite::Halt(orion_storage::HaltRecord {
                                pair_id: orion_storage::ENGINE_HALT_ID.to_string(),
                                reason: reason.clone(),
                                source: "operator".into(),
                                halted_at: self.clock.now(),
                            })),
                            Control::Resume => self.write(DbWrite::Resume(self.clock.now())),
                            Control::Pause => {}
                        }
                        self.step(Input::Control(c), None, &exec_tx, &mut out);
                        self.status.paused.store(self.core.is_paused(), Ordering::Relaxed);
                    }
                    Command::Balances { available, equity } => {
                        for venue in Venue::ALL {
                            self.ready
                                .venue(venue)
                                .store(available.get(venue).is_some(), Ordering::Release);
                        }
                        self.gate.set_available(available);
                        self.status.set_balances(available);
                        self.observe_equity(&equity);
                    }
                    Command::ResetBreaker { actor, reason, reply } => {
                        let _ = reply.send(self.reset_breaker(&actor, &reason));
                    }
                    Command::PairDecided { pair_id, confirmed } => {
                        let generation = decisions.entry(pair_id.clone()).or_default();
                        *generation += 1;
                        let generation = *generation;
                        if confirmed {
                            self.load_pair(pair_id, generation, loaded_tx.clone());
                        } else {
                            self.remove_pair(&pair_id);
                        }
                    }
                },
                _ = tick.tick() => self.step(Input::Tick, None, &exec_tx, &mut out),
                Some(event) = md.recv() => self.on_market(event, &exec_tx, &mut out),
            }
        }
        self.shutdown(exec_rx, &mut out).await
    }

    fn write(&self, write: DbWrite) {
        if let Some(tx) = &self.writes
            && tx.send(write).is_err()
        {
            tracing::error!("database writer gone; write dropped");
        }
    }

    /// A fresh equity reading: the breaker checks daily loss and drawdown.
    fn observe_equity(&mut self, equity: &PerVenue<Option<Cash>>) {
        self.last_equity = Some(*equity);
        let now = self.clock.now();
        let observation = self.gate.breaker.observe_equity(equity, now);
        if let Some(trip) = observation.trip {
            tracing::error!(trip = %trip.description(), "circuit breaker tripped");
            self.alerter.alert(trip.alert());
        }
        self.breaker_changed(now);
    }

    /// An operator's reset of a halted breaker (the dashboard re-checked the
    /// password). The new state and its audit line are written in one
    /// transaction before the loop trades on it.
    fn reset_breaker(&mut self, actor: &str, reason: &str) -> Result<String, String> {
        let now = self.clock.now();
        let authority = orion_risk::AdminReset::new(actor, reason).map_err(|e| e.to_string())?;
        let mut state = self.gate.breaker.state().clone();
        let orion_risk::ResetOutcome::Cleared {
            previous, audit, ..
        } = state.reset(authority, now)
        else {
            return Ok("The breaker is already active; nothing changed.".into());
        };
        let data = state.snapshot().map_err(|e| e.to_string())?;
        let audit = orion_storage::AuditEntry {
            at: audit.at,
            actor: audit.actor,
            action: audit.action,
            detail: audit.detail,
        };
        let record = BreakerRecord {
            state: state.state_name().to_string(),
            data,
            updated_at: now,
        };
        self.db
            .lock()
            .save_breaker(&record, Some(&audit))
            .map_err(|e| format!("not saved ({e}); the breaker is unchanged"))?;
        let limits = *self.gate.breaker.limits();
        self.gate.breaker = CircuitBreaker::new(limits, state);
        if let Some(reading) = self.last_equity {
            // Readiness comes from a reading; the baselines now equal it.
            let _ = self.gate.breaker.observe_equity(&reading, now);
        }
        self.breaker_changed(now);
        tracing::warn!(actor, reason, cleared = %previous, "circuit breaker reset by an operator");
        Ok(format!("Breaker reset: cleared {previous}."))
    }

    /// Starts describing a just-confirmed pair from the venues (fees, tick,
    /// minimum size, resolution time: network calls, so in a task); the
    /// result comes back to the loop as a [`PairLoaded`]. A pair already
    /// trading is left as it is. Only confirmed pairs are loaded this way,
    /// so live mode never trades a proposal.
    fn load_pair(&self, pair_id: String, generation: u64, done: mpsc::UnboundedSender<PairLoaded>) {
        if self
            .core
            .pairs()
            .iter()
            .any(|p| p.pair_id.as_ref() == pair_id)
        {
            tracing::info!(pair = %pair_id, "confirmed pair already trading");
            return;
        }
        let db = self.db.clone();
        let clients = self.clients.clone();
        let now = self.clock.now();
        tokio::spawn(async move {
            let id = pair_id.clone();
            let reader = db.clone();
            let record = tokio::task::spawn_blocking(move || {
                reader
                    .lock()
                    .pairs(Some(PairStatus::Confirmed))
                    .map(|all| all.into_iter().find(|p| p.pair_id == id))
            })
            .await;
            let spec = match record {
                Ok(Ok(Some(record))) => {
                    let (mut specs, problems, titles) =
                        crate::pairs::specs_and_titles(std::slice::from_ref(&record), &clients)
                            .await;
                    let stored = tokio::task::spawn_blocking(move || {
                        crate::pairs::store_titles(&db.lock(), &titles, now)
                    })
                    .await;
                    if let Ok(Err(e)) = stored {
                        tracing::warn!(error = %e, "market titles not stored");
                    }
                    match specs.pop() {
                        Some(spec) => Ok(spec),
                        None => Err(problems.join("; ")),
                    }
                }
                Ok(Ok(None)) => Err("not confirmed in the database".to_string()),
                Ok(Err(e)) => Err(format!("database: {e}")),
                Err(e) => Err(format!("database read failed: {e}")),
            };
            let _ = done.send(PairLoaded {
                pair_id,
                generation,
                spec,
            });
        });
    }

    /// Adds a confirmed pair that the venues described: what start-up does
    /// for each pair (executor minimum sizes, the decision core, the
    /// streams' subscriptions), for one pair on a running engine. The
    /// Polymarket tokens and Kalshi price grid were registered with the
    /// venue clients while it was described.
    fn add_pair(&mut self, loaded: PairLoaded) {
        let now = self.clock.now();
        let spec = match loaded.spec {
            Ok(spec) => spec,
            Err(problem) => {
                tracing::warn!(pair = %loaded.pair_id, %problem, "confirmed pair not traded");
                self.alerter.alert(Alert {
                    severity: Severity::Warning,
                    key: format!("engine.pair_not_live.{}", loaded.pair_id),
                    message: format!(
                        "pair {} was confirmed but cannot be traded: {problem}",
                        loaded.pair_id
                    ),
                    at: now,
                });
                return;
            }
        };
        if let Some(executor) = &self.executor {
            for token in [&spec.polymarket_yes, &spec.polymarket_no] {
                executor.set_min_order_size(token, spec.polymarket_min_size);
            }
        }
        // The loop's own list only grows (executions look specs up by
        // index); a pair confirmed again after a reject gets its new spec.
        match self.pair_index.get(&spec.pair_id) {
            Some(&i) => self.pairs[i] = spec.clone(),
            None => {
                self.pair_index
                    .insert(spec.pair_id.clone(), self.pairs.len());
                self.pairs.push(spec.clone());
            }
        }
        // Equity and settlement value this pair's holdings from now on,
        // whatever happens to it later (a reject leaves positions behind).
        self.known_pairs.send_replace(Arc::new(self.pairs.clone()));
        if let Some(dir) = self.recording_dir.clone() {
            // Its books are recorded from now on; its spec goes beside them
            // (merged into the file) so the recording stays backtestable.
            let one = [spec.clone()];
            tokio::task::spawn_blocking(move || {
                if let Err(e) = crate::recorded_pairs::write_pairs(&dir, &one) {
                    tracing::warn!(error = %e, "pair spec not written next to the recording");
                }
            });
        }
        if !self.core.add_pair(spec.clone()) {
            return;
        }
        // Subscribing through the pumps' resync channels: they own the
        // streams, and a subscription answers with a snapshot.
        let _ = self.kalshi_resync.send(spec.kalshi_instrument.clone());
        for token in [&spec.polymarket_yes, &spec.polymarket_no] {
            let _ = self.poly_resync.send(token.clone());
        }
        self.status
            .pairs
            .store(self.core.pairs().len() as u64, Ordering::Relaxed);
        let suspended = self.core.suspended().count() as u64;
        self.status.suspended.store(suspended, Ordering::Relaxed);
        tracing::info!(pair = %spec.pair_id, "pair is now live");
        self.alerter.alert(Alert {
            severity: Severity::Info,
            key: format!("engine.pair_live.{}", spec.pair_id),
            message: format!("pair {} is now live", spec.pair_id),
            at: now,
        });
    }

    /// A pair rejected while the engine runs leaves the decision core: it is
    /// never evaluated or traded again (until confirmed again). Removal
    /// rather than a suspension, so nothing can lift it by accident; an
    /// execution already in flight finishes (or is repaired) normally.
    fn remove_pair(&mut self, pair_id: &str) {
        if !self.core.remove_pair(pair_id) {
            return;
        }
        self.status
            .pairs
            .store(self.core.pairs().len() as u64, Ordering::Relaxed);
        let suspended = self.core.suspended().count() as u64;
        self.status.suspended.store(suspended, Ordering::Relaxed);
        tracing::warn!(pair = %pair_id, "rejected pair no longer traded");
        self.alerter.alert(Alert {
            severity: Severity::Info,
            key: format!("engine.pair_removed.{pair_id}"),
            message: format!("pair {pair_id} was rejected and is no longer traded"),
            at: self.clock.now(),
        });
    }

    /// Publishes and persists the breaker's state.
    fn breaker_changed(&mut self, now: Timestamp) {
        let allows = self.gate.breaker.allows_new_trades();
        let state = self.gate.breaker.state();
        self.ready.set_breaker(state.state_name(), allows);
        metrics::gauge!("orion_breaker_allows_trades").set(if allows { 1.0 } else { 0.0 });
        if let Some(record) = breaker_record(state, now) {
            self.write(DbWrite::Breaker(record));
        }
    }

    fn on_market(
        &mut self,
        event: MarketEvent,
        exec_tx: &mpsc::UnboundedSender<ExecDone>,
        out: &mut Vec<Output>,
    ) {
        match event {
            MarketEvent::Book(book) => {
                self.status.events.fetch_add(1, Ordering::Relaxed);
                if let Some(rec) = &mut self.recorder {
                    match rec.record(&book) {
                        Ok(()) => {
                            self.status.recorded.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => tracing::warn!(error = %e, "recording failed"),
                    }
                }
                let trigger = book.received_at;
                self.step(Input::Book(book), Some(trigger), exec_tx, out);
            }
            MarketEvent::BookInvalidated { instrument, reason } => {
                self.step(
                    Input::BookInvalidated { instrument, reason },
                    None,
                    exec_tx,
                    out,
                );
            }
            MarketEvent::Disconnected { venue, reason } => {
                tracing::warn!(%venue, %reason, "market data disconnected");
                self.ready.venue(venue).store(false, Ordering::Release);
                self.step(Input::VenueDown { venue, reason }, None, exec_tx, out);
            }
            MarketEvent::Connected { venue } => {
                tracing::info!(%venue, "market data connected");
                self.ready.venue(venue).store(true, Ordering::Release);
                self.step(Input::VenueUp { venue }, None, exec_tx, out);
            }
        }
    }

    /// Runs one input through the core and acts on what it says.
    fn step(
        &mut self,
        input: Input,
        trigger: Option<Timestamp>,
        exec_tx: &mpsc::UnboundedSender<ExecDone>,
        out: &mut Vec<Output>,
    ) {
        let now = self.clock.now();
        out.clear();
        self.core.process(input, now, &mut self.gate, out);
        // The opportunity just reported, not yet written: if it is executed
        // its record waits for the execution's end (marked acted), so the
        // journal's first write never queues behind it on the database.
        let mut pending: Option<OpportunityRecord> = None;
        for output in out.drain(..) {
            match output {
                Output::Detected(opp) => {
                    if let Some(record) = pending.take() {
                        self.write(DbWrite::Opportunity(record));
                    }
                    pending = self.on_detected(&opp, now);
                }
                Output::Execute {
                    opportunity,
                    quantity,
                    simulated,
                } => {
                    if let Some(mut record) = pending.take() {
                        if record.pair_id == opportunity.pair_id.as_ref() {
                            record.acted = true;
                            self.acted.insert(opportunity.pair_id.clone(), record);
                        } else {
                            self.write(DbWrite::Opportunity(record));
                        }
                    }
                    self.execute(
                        opportunity,
                        quantity,
                        simulated,
                        trigger.unwrap_or(now),
                        exec_tx,
                    );
                }
                Output::Refused { pair_id, reason } => {
                    self.status.refusals.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(pair = %pair_id, %reason, "risk refused the trade");
                }
                Output::PairSuspended { pair_id, reason } => {
                    tracing::warn!(pair = %pair_id, %reason, "pair suspended");
                }
                Output::PairResumed { pair_id } => {
                    tracing::info!(pair = %pair_id, "pair trading again");
                }
                Output::Resync(instrument) => {
                    let tx = match instrument.venue {
                        Venue::Kalshi => &self.kalshi_resync,
                        Venue::Polymarket => &self.poly_resync,
                    };
                    let _ = tx.send(instrument);
                }
                Output::Alert(alert) => {
                    tracing::warn!(key = %alert.key, message = %alert.message, "alert");
                    self.alerter.alert(alert);
                }
            }
        }
        if let Some(record) = pending {
            self.write(DbWrite::Opportunity(record));
        }
        let suspended = self.core.suspended().count() as u64;
        self.status.suspended.store(suspended, Ordering::Relaxed);
        metrics::gauge!("orion_stale_pairs").set(suspended as f64);
    }

    /// Logs and counts a fresh opportunity; returns its database record.
    fn on_detected(&mut self, opp: &Opportunity, now: Timestamp) -> Option<OpportunityRecord> {
        let fresh = self
            .last_detected
            .get(&opp.pair_id)
            .is_none_or(|&t| now.since(t) >= REDETECT_AFTER);
        metrics::counter!("orion_opportunity_evaluations_total").increment(1);
        if !fresh {
            return None;
        }
        self.last_detected.insert(opp.pair_id.clone(), now);
        self.status.opportunities.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("orion_opportunities_total", "pair" => opp.pair_id.to_string())
            .increment(1);
        metrics::histogram!("orion_opportunity_edge_micros")
            .record(f64::from(opp.average_edge.micros()));
        tracing::info!(
            pair = %opp.pair_id,
            direction = ?opp.direction,
            contracts = %opp.quantity,
            cost = %opp.total_cost,
            profit = %opp.net_profit,
            edge = %opp.average_edge,
            "opportunity detected"
        );
        let record = OpportunityRecord {
            pair_id: opp.pair_id.to_string(),
            direction: format!("{:?}", opp.direction),
            quantity: opp.quantity,
            total_cost: opp.total_cost,
            net_profit: opp.net_profit,
            detected_at: now,
            acted: false,
            data: serde_json::to_string(&serde_json::json!({
                "legs": opp.legs,
                "average_edge": opp.average_edge.to_string(),
                "marginal_edge": opp.marginal_edge.to_string(),
                "days_to_resolution": opp.days_to_resolution,
            }))
            .unwrap_or_default(),
        };
        Some(record)
    }

    fn execute(
        &mut self,
        opportunity: Opportunity,
        quantity: Quantity,
        simulated: bool,
        trigger: Timestamp,
        exec_tx: &mpsc::UnboundedSender<ExecDone>,
    ) {
        let pair_id = opportunity.pair_id.clone();
        let done = |result| ExecDone {
            pair_id: pair_id.clone(),
            simulated,
            result,
        };
        // Defence in depth: alert-only has no executor, and dry-run's
        // executor holds only paper venues.
        let Some(executor) = self.executor.clone() else {
            let _ = exec_tx.send(done(Err(ExecutionError::NotReady)));
            return;
        };
        if simulated != (self.mode == Mode::DryRun) {
            let _ = exec_tx.send(done(Err(ExecutionError::NotReady)));
            return;
        }
        let plan = match TradePlan::from_opportunity(&opportunity, quantity) {
            Ok(plan) => plan,
            Err(e) => {
                let _ = exec_tx.send(done(Err(ExecutionError::Plan(e))));
                return;
            }
        };
        // The executor's view of the books (for repairs and, in dry-run,
        // simulated fills): copies of this pair's books as of now.
        if let Some(&i) = self.pair_index.get(&pair_id) {
            let spec = &self.pairs[i];
            for (instrument, fees) in [
                (&spec.kalshi_instrument, &spec.kalshi_fees),
                (&spec.polymarket_yes, &spec.polymarket_fees),
                (&spec.polymarket_no, &spec.polymarket_fees),
            ] {
                if let Some(book) = self.core.book(instrument) {
                    self.books.put(instrument, book.clone(), *fees);
                }
            }
        }
        self.status.executions.fetch_add(1, Ordering::Relaxed);
        if simulated {
            self.status
                .simulated_executions
                .fetch_add(1, Ordering::Relaxed);
        }
        tracing::info!(
            pair = %pair_id,
            contracts = %quantity,
            expected_profit = %plan.expected_profit,
            simulated,
            "executing"
        );
        let probe = Arc::new(Trigger {
            received_at: trigger,
            sent: AtomicU32::new(0),
            clock: self.clock.clone(),
            status: self.status.clone(),
        });
        let books = self.books.clone();
        let tx = exec_tx.clone();
        self.in_flight.spawn(TRIGGER.scope(probe, async move {
            let result = executor.execute(&plan, books.as_ref()).await;
            let _ = tx.send(ExecDone {
                pair_id: Arc::from(plan.pair_id.as_str()),
                simulated,
                result,
            });
        }));
    }

    fn on_done(&mut self, done: ExecDone, out: &mut Vec<Output>) {
        let now = self.clock.now();
        // Reap finished tasks so the set does not grow.
        while self.in_flight.try_join_next().is_some() {}
        let mut position_cost = None;
        let mut breaker_changed = false;
        match &done.result {
            Ok(report) => {
                if done.simulated {
                    self.write(DbWrite::Simulated(report.intent_id.clone()));
                }
                let mut cost = Cash::ZERO;
                let mut filled = Vec::new();
                for leg in &report.legs {
                    if let Some(r) = leg.end.report() {
                        filled.push(r.filled);
                        if let Some(p) = r.average_price {
                            cost = cost.saturating_add(
                                p.notional(r.filled)
                                    .to_cash(Rounding::Up)
                                    .unwrap_or(Cash::ZERO),
                            );
                        }
                        cost = cost.saturating_add(r.fees);
                        if r.status == OrderStatus::PartiallyFilled {
                            metrics::counter!("orion_partial_fills_total", "venue" => leg.instrument.venue.as_str()).increment(1);
                        }
                    }
                }
                position_cost = Some(cost);
                let completed = report.outcome == Some(IntentOutcome::Completed);
                if completed {
                    self.status.completed.fetch_add(1, Ordering::Relaxed);
                }
                if report.unwind_loss > Cash::ZERO {
                    metrics::counter!("orion_unwind_loss_micros_total")
                        .increment(u64::try_from(report.unwind_loss.micros()).unwrap_or(0));
                }
                tracing::info!(
                    pair = %done.pair_id,
                    intent = %report.intent_id,
                    outcome = ?report.outcome,
                    filled = ?filled.iter().map(|q| q.to_string()).collect::<Vec<_>>(),
                    cost = %cost,
                    unwind_loss = %report.unwind_loss,
                    simulated = done.simulated,
                    "traded"
                );
                // Simulated trades never move the real breaker.
                if !done.simulated {
                    breaker_changed = true;
                    let failed = report.halted
                        || matches!(
                            report.outcome,
                            Some(IntentOutcome::Repaired | IntentOutcome::NeedsAttention) | None
                        );
                    let b = &mut self.gate.breaker;
                    let mut trips = Vec::new();
                    if failed {
                        trips.extend(b.record_execution_failure(now));
                    } else {
                        b.record_execution_success(now);
                    }
                    if report.unwind_loss > Cash::ZERO {
                        trips.extend(b.record_unwind_loss(report.unwind_loss, now));
                    }
                    for trip in trips {
                        self.alerter.alert(trip.alert());
                        tracing::error!(trip = %trip.description(), "circuit breaker tripped");
                    }
                }
            }
            Err(e) => {
                tracing::warn!(pair = %done.pair_id, error = %e, simulated = done.simulated, "execution not started");
            }
        }
        if breaker_changed {
            self.breaker_changed(now);
        }
        if let Some(record) = self.acted.remove(&done.pair_id) {
            self.write(DbWrite::Opportunity(record));
        }
        self.gate.finish(&done.pair_id, position_cost);
        // The next edge on this pair is a new opportunity, not a standing one.
        self.last_detected.remove(&done.pair_id);
        let mut sink = std::mem::take(out);
        sink.clear();
        self.core.process(
            Input::ExecutionDone {
                pair_id: done.pair_id,
            },
            now,
            &mut self.gate,
            &mut sink,
        );
        *out = sink;
    }

    /// No new trades; in-flight executions run to their end (the executor
    /// finishes or repairs their legs and cancels anything resting); then
    /// resting orders are swept, the recorder and the database flushed.
    async fn shutdown(
        mut self,
        mut exec_rx: mpsc::UnboundedReceiver<ExecDone>,
        out: &mut Vec<Output>,
    ) -> EngineSummary {
        tracing::info!(
            in_flight = self.in_flight.len(),
            "shutting down: no new trades"
        );
        let now = self.clock.now();
        out.clear();
        self.core
            .process(Input::Control(Control::Pause), now, &mut self.gate, out);
        out.clear();
        // Each execution is bounded by the executor's own leg timeouts and
        // query backoff; this cap only guards against a wedged venue client.
        let deadline = tokio::time::sleep(Duration::from_secs(120));
        tokio::pin!(deadline);
        while !self.in_flight.is_empty() {
            tokio::select! {
                Some(done) = exec_rx.recv() => self.on_done(done, out),
                Some(_) = self.in_flight.join_next() => {}
                _ = &mut deadline => {
                    tracing::error!(in_flight = self.in_flight.len(), "executions still running at shutdown; the journal holds them for reconciliation");
                    break;
                }
            }
        }
        while let Ok(done) = exec_rx.try_recv() {
            self.on_done(done, out);
        }
        if self.mode == Mode::Live {
            self.cancel_resting().await;
        }
        let mut recordings = Vec::new();
        if let Some(rec) = self.recorder.take() {
            match rec.finish() {
                Ok(files) => recordings = files,
                Err(e) => tracing::error!(error = %e, "recording not flushed"),
            }
        }
        self.breaker_changed(self.clock.now());
        // Every queued write lands before the WAL checkpoint.
        self.writes = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.await;
        }
        if let Err(e) = self
            .db
            .lock()
            .connection()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
        let mut samples = self
            .status
            .latencies_ns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        samples.sort_unstable();
        tracing::info!("engine stopped");
        EngineSummary {
            status: snapshot(&self.status),
            latency_p50: percentile(&samples, 50),
            latency_p99: percentile(&samples, 99),
            latency_samples: samples.len(),
            recordings,
        }
    }

    /// Orion only sends fill-or-kill / immediate-or-cancel legs, so nothing
    /// of its own should rest; if a venue left one resting, cancel it.
    async fn cancel_resting(&self) {
        for pair in &self.pairs {
            let ticker = pair.kalshi_instrument.symbol.as_ref();
            match self.clients.kalshi.client().orders(ticker).await {
                Ok(orders) => {
                    for o in orders.iter().filter(|o| o.status == "resting") {
                        match self.clients.kalshi.client().cancel_order(&o.order_id).await {
                            Ok(_) => {
                                tracing::warn!(order = %o.order_id, "cancelled a resting order at shutdown")
                            }
                            Err(e) => {
                                tracing::error!(order = %o.order_id, error = %e, "resting order not cancelled")
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(ticker, error = %e, "open orders not checked"),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::percentile;
    use std::time::Duration;

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(percentile(&[], 50), None);
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50), Some(Duration::from_nanos(50)));
        assert_eq!(percentile(&v, 99), Some(Duration::from_nanos(99)));
        assert_eq!(percentile(&[7], 99), Some(Duration::from_nanos(7)));
        assert_eq!(percentile(&[1, 2, 3], 50), Some(Duration::from_nanos(2)));
    }
}
