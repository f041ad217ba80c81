//! A delivery channel (Telegram or webhook) as an [`Alerter`].
//!
//! Each channel has two lanes: the normal lane (info and warning) and the
//! error lane (critical), each with its own [`Throttle`] (so its own
//! coalescing and per-minute budget), its own bounded outbox and its own
//! sender task, and optionally its own destination. A storm of warnings can
//! therefore exhaust the normal lane's budget, or stall it behind a slow
//! server, without delaying a critical alert by a single message.
//!
//! `alert()` never awaits: it takes the lane's mutex (held only for the
//! throttle's bookkeeping, never across I/O), decides, and `try_send`s any
//! message into the outbox. A full outbox (a stalled destination) turns the
//! message into a drop, reported in the next drop note. The sender task
//! delivers with a per-request timeout and retries transient failures
//! (timeouts, transport errors, 5xx, 429) with exponential backoff, or after
//! Telegram's `retry_after` when it gives one.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use orion_core::{Alert, Alerter, Clock, Severity};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::telegram::TelegramApi;
use crate::throttle::{Fate, Outgoing, Throttle, ThrottleSettings};
use crate::webhook::Webhook;

/// The metric every lane counts into, labelled `channel` (lane name) and
/// `outcome`: `sent` and `failed` per message; `coalesced` and `dropped`
/// per alert.
pub const ALERTS_METRIC: &str = "orion_alerts_total";

/// How a lane's sender task behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliverySettings {
    /// Messages waiting for the sender; more are dropped (and counted).
    pub queue: usize,
    /// Attempts per message, the first included.
    pub max_attempts: u32,
    /// First retry delay; doubles each attempt up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Telegram's `retry_after` (and a webhook's `Retry-After`) is honoured
    /// up to this long.
    pub max_retry_after: Duration,
    /// How often windows are closed and drop notes released.
    pub tick: Duration,
}

impl Default for DeliverySettings {
    fn default() -> DeliverySettings {
        DeliverySettings {
            queue: 64,
            max_attempts: 5,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(300),
            tick: Duration::from_secs(1),
        }
    }
}

/// Where a lane's messages go.
#[derive(Debug, Clone)]
pub enum Destination {
    Telegram {
        api: TelegramApi,
        chat_id: String,
    },
    Webhook(Webhook),
    /// The process log, written by the lane's task (see [`LogChannel`]).
    Log,
}

struct Failure {
    transient: bool,
    retry_after: Option<Duration>,
    detail: String,
}

impl Destination {
    async fn deliver(&self, message: &Outgoing) -> Result<(), Failure> {
        match self {
            Destination::Telegram { api, chat_id } => api
                .send_message(chat_id, &telegram_text(message))
                .await
                .map_err(|e| Failure {
                    transient: e.is_transient(),
                    retry_after: match &e {
                        crate::telegram::TelegramError::RateLimited { retry_after } => *retry_after,
                        _ => None,
                    },
                    // TelegramApi already masks the token; mask again in case.
                    detail: api.token().mask(&e.to_string()),
                }),
            Destination::Log => {
                log_message(message);
                Ok(())
            }
            Destination::Webhook(hook) => hook.post(message).await.map_err(|e| Failure {
                transient: e.is_transient(),
                retry_after: match &e {
                    crate::webhook::WebhookError::Status { retry_after, .. } => *retry_after,
                    _ => None,
                },
                detail: e.to_string(),
            }),
        }
    }
}

fn log_message(message: &Outgoing) {
    let key = message.key();
    let at = message.at();
    let count = message.count();
    let text = message.message();
    match message.severity() {
        Severity::Critical => tracing::error!(%key, %at, count, "alert: {text}"),
        Severity::Warning => tracing::warn!(%key, %at, count, "alert: {text}"),
        Severity::Info => tracing::info!(%key, %at, count, "alert: {text}"),
    }
}

/// A message as Telegram shows it: plain text, severity first.
pub fn telegram_text(message: &Outgoing) -> String {
    let severity = match message.severity() {
        Severity::Info => "INFO",
        Severity::Warning => "WARNING",
        Severity::Critical => "CRITICAL",
    };
    format!(
        "[{severity}] {}\n{}\n{}",
        message.key(),
        message.message(),
        message.at()
    )
}

/// Counters of one lane (also exported as [`ALERTS_METRIC`]).
#[derive(Debug, Default)]
pub struct LaneStats {
    pub sent: AtomicU64,
    pub failed: AtomicU64,
    pub coalesced: AtomicU64,
    pub dropped: AtomicU64,
}

/// A copy of [`LaneStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LaneCounts {
    /// Messages delivered.
    pub sent: u64,
    /// Messages given up on after retries.
    pub failed: u64,
    /// Alerts folded into a summary.
    pub coalesced: u64,
    /// Alerts dropped (budget or full queue).
    pub dropped: u64,
}

struct Lane {
    name: &'static str,
    throttle: Mutex<Throttle>,
    outbox: mpsc::Sender<Outgoing>,
    clock: Arc<dyn Clock>,
    destination: Destination,
    delivery: DeliverySettings,
    stats: LaneStats,
    /// Messages queued or being delivered (for [`ChannelAlerter::flush`]).
    in_flight: AtomicUsize,
}

impl Lane {
    fn offer(&self, alert: Alert) {
        let now = self.clock.now();
        let mut out = Vec::new();
        let mut throttle = self.throttle.lock().unwrap_or_else(|e| e.into_inner());
        let fate = throttle.offer(alert, now, &mut out);
        if fate == Fate::Coalesced {
            self.count("coalesced", 1);
        }
        self.enqueue(&mut throttle, out);
    }

    fn tick(&self) {
        let now = self.clock.now();
        let mut out = Vec::new();
        let mut throttle = self.throttle.lock().unwrap_or_else(|e| e.into_inner());
        throttle.tick(now, &mut out);
        self.enqueue(&mut throttle, out);
    }

    /// Closes every window now and queues what the budget allows; returns
    /// the alerts that stay unreported.
    fn close_all(&self) -> u64 {
        let now = self.clock.now();
        let mut out = Vec::new();
        let mut throttle = self.throttle.lock().unwrap_or_else(|e| e.into_inner());
        throttle.close_all(now, &mut out);
        self.enqueue(&mut throttle, out);
        throttle.pending()
    }

    /// Queues messages without waiting; what does not fit becomes drops.
    /// Called with the throttle locked so drops are recorded atomically.
    fn enqueue(&self, throttle: &mut Throttle, out: Vec<Outgoing>) {
        for message in out {
            // Counted before sending so the sender can never decrement first.
            self.in_flight.fetch_add(1, Ordering::AcqRel);
            if let Err(e) = self.outbox.try_send(message) {
                self.in_flight.fetch_sub(1, Ordering::AcqRel);
                let message = match e {
                    mpsc::error::TrySendError::Full(m) | mpsc::error::TrySendError::Closed(m) => m,
                };
                throttle.undeliverable(message.count());
            }
        }
        let dropped = throttle.take_new_drops();
        if dropped > 0 {
            self.count("dropped", dropped);
        }
    }

    fn count(&self, outcome: &'static str, n: u64) {
        let counter = match outcome {
            "sent" => &self.stats.sent,
            "failed" => &self.stats.failed,
            "coalesced" => &self.stats.coalesced,
            _ => &self.stats.dropped,
        };
        counter.fetch_add(n, Ordering::Relaxed);
        metrics::counter!(ALERTS_METRIC, "channel" => self.name, "outcome" => outcome).increment(n);
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(16);
        self.delivery
            .backoff_base
            .saturating_mul(factor)
            .min(self.delivery.backoff_max)
    }

    async fn deliver(&self, message: &Outgoing) {
        let mut attempt = 1;
        loop {
            match self.destination.deliver(message).await {
                Ok(()) => {
                    self.count("sent", 1);
                    return;
                }
                Err(f) if !f.transient || attempt >= self.delivery.max_attempts => {
                    tracing::warn!(
                        channel = self.name,
                        key = message.key(),
                        attempts = attempt,
                        "alert not delivered: {}",
                        f.detail
                    );
                    self.count("failed", 1);
                    return;
                }
                Err(f) => {
                    let wait = match f.retry_after {
                        Some(after) => after.min(self.delivery.max_retry_after),
                        None => self.backoff(attempt),
                    };
                    tracing::debug!(
                        channel = self.name,
                        attempt,
                        ?wait,
                        "alert delivery failed, retrying: {}",
                        f.detail
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }

    fn counts(&self) -> LaneCounts {
        LaneCounts {
            sent: self.stats.sent.load(Ordering::Relaxed),
            failed: self.stats.failed.load(Ordering::Relaxed),
            coalesced: self.stats.coalesced.load(Ordering::Relaxed),
            dropped: self.stats.dropped.load(Ordering::Relaxed),
        }
    }
}

async fn run_lane(lane: Arc<Lane>, mut outbox: mpsc::Receiver<Outgoing>) {
    let mut tick = tokio::time::interval(lane.delivery.tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            message = outbox.recv() => match message {
                Some(m) => {
                    lane.deliver(&m).await;
                    lane.in_flight.fetch_sub(1, Ordering::AcqRel);
                }
                None => return,
            },
            _ = tick.tick() => lane.tick(),
        }
    }
}

fn current_runtime() -> Result<tokio::runtime::Handle, String> {
    tokio::runtime::Handle::try_current()
        .map_err(|_| "alert channels must be started inside the tokio runtime".to_string())
}

fn spawn_lane(
    runtime: &tokio::runtime::Handle,
    name: &'static str,
    destination: Destination,
    throttle: ThrottleSettings,
    delivery: DeliverySettings,
    clock: Arc<dyn Clock>,
) -> (Arc<Lane>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(delivery.queue.max(1));
    let lane = Arc::new(Lane {
        name,
        throttle: Mutex::new(Throttle::new(throttle)),
        outbox: tx,
        clock,
        destination,
        delivery,
        stats: LaneStats::default(),
        in_flight: AtomicUsize::new(0),
    });
    let task = runtime.spawn(run_lane(lane.clone(), rx));
    (lane, task)
}

/// Closes the lanes' windows now and waits up to `within` for their queues;
/// returns the alerts left unreported plus the messages still queued.
async fn drain(lanes: &[&Lane], within: Duration) -> u64 {
    let mut unreported: u64 = lanes.iter().map(|l| l.close_all()).sum();
    let deadline = tokio::time::Instant::now() + within;
    let queued = || {
        lanes
            .iter()
            .map(|l| l.in_flight.load(Ordering::Acquire))
            .sum::<usize>()
    };
    while queued() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    unreported += queued() as u64;
    unreported
}

/// Aborts the lanes' tasks when the channel is dropped.
#[derive(Debug)]
struct Tasks(Vec<JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// One channel's two lanes, as an [`Alerter`].
pub struct ChannelAlerter {
    normal: Arc<Lane>,
    error: Arc<Lane>,
    _tasks: Tasks,
}

impl std::fmt::Debug for ChannelAlerter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelAlerter")
            .field("normal", &self.normal.name)
            .field("normal_destination", &self.normal.destination)
            .field("error", &self.error.name)
            .field("error_destination", &self.error.destination)
            .finish()
    }
}

/// The lanes' names (metric labels), e.g. `telegram` and `telegram_error`.
#[derive(Debug, Clone, Copy)]
pub struct LaneNames {
    pub normal: &'static str,
    pub error: &'static str,
}

impl ChannelAlerter {
    /// Starts the two lanes' sender tasks on the current tokio runtime.
    /// `error_destination` defaults to `destination` (separate budget, same
    /// place).
    pub fn start(
        names: LaneNames,
        destination: Destination,
        error_destination: Option<Destination>,
        throttle: ThrottleSettings,
        delivery: DeliverySettings,
        clock: Arc<dyn Clock>,
    ) -> Result<ChannelAlerter, String> {
        let runtime = current_runtime()?;
        let error_destination = error_destination.unwrap_or_else(|| destination.clone());
        let (normal, t1) = spawn_lane(
            &runtime,
            names.normal,
            destination,
            throttle,
            delivery,
            clock.clone(),
        );
        let (error, t2) = spawn_lane(
            &runtime,
            names.error,
            error_destination,
            throttle,
            delivery,
            clock,
        );
        Ok(ChannelAlerter {
            normal,
            error,
            _tasks: Tasks(vec![t1, t2]),
        })
    }

    /// At shutdown: closes every coalescing window now (summaries go out
    /// within the budget) and waits up to `within` for both lanes to
    /// deliver what is queued. Returns the alerts left unreported plus the
    /// messages still undelivered (zero when everything went out; logged
    /// otherwise).
    pub async fn flush(&self, within: Duration) -> u64 {
        let unreported = drain(&[&self.normal, &self.error], within).await;
        if unreported > 0 {
            tracing::warn!(
                channel = self.normal.name,
                unreported,
                "alerts not delivered at shutdown (budget or a slow destination); the log has them all"
            );
        }
        unreported
    }

    /// Counters of the normal lane and the error lane.
    pub fn counts(&self) -> (LaneCounts, LaneCounts) {
        (self.normal.counts(), self.error.counts())
    }
}

impl Alerter for ChannelAlerter {
    fn alert(&self, alert: Alert) {
        // Critical is the only error severity orion-core has: it goes to
        // the error lane; info and warnings share the normal lane.
        match alert.severity {
            Severity::Critical => self.error.offer(alert),
            Severity::Info | Severity::Warning => self.normal.offer(alert),
        }
    }
}

/// Info and warnings in the log go through a coalescing lane with this
/// budget (the most `max_per_minute` allows for chat channels).
pub const LOG_MAX_PER_MINUTE: u32 = 600;

/// The process log as an alert channel. Critical alerts are written at once,
/// on the caller's thread: they are rare and the log is the first place an
/// operator looks. Info and warnings go through a coalescing lane (the
/// configured window, [`LOG_MAX_PER_MINUTE`]) written by its own task, so a
/// storm neither floods the log nor makes the engine wait on log output.
pub struct LogChannel {
    lane: Arc<Lane>,
    _tasks: Tasks,
}

impl std::fmt::Debug for LogChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogChannel")
    }
}

impl LogChannel {
    pub fn start(
        coalesce_window: Duration,
        delivery: DeliverySettings,
        clock: Arc<dyn Clock>,
    ) -> Result<LogChannel, String> {
        let runtime = current_runtime()?;
        let (lane, task) = spawn_lane(
            &runtime,
            "log",
            Destination::Log,
            ThrottleSettings {
                coalesce_window,
                max_per_minute: LOG_MAX_PER_MINUTE,
            },
            delivery,
            clock,
        );
        Ok(LogChannel {
            lane,
            _tasks: Tasks(vec![task]),
        })
    }

    /// See [`ChannelAlerter::flush`].
    pub async fn flush(&self, within: Duration) -> u64 {
        drain(&[&self.lane], within).await
    }

    pub fn counts(&self) -> LaneCounts {
        self.lane.counts()
    }
}

impl Alerter for LogChannel {
    fn alert(&self, alert: Alert) {
        match alert.severity {
            Severity::Critical => crate::fanout::LogAlerter.alert(alert),
            Severity::Info | Severity::Warning => self.lane.offer(alert),
        }
    }
}
