//! The circuit breaker: stops new trades when losses or failures say the
//! engine should not be trusted to keep trading unsupervised.
//!
//! Four trips, each against a configured limit; *reaching* a limit trips:
//!
//! - daily loss: equity fell from the UTC day's starting equity by at least
//!   `daily_loss_limit` of that starting equity;
//! - drawdown: equity fell from its highest observed value by at least
//!   `max_drawdown` of that peak;
//! - consecutive execution failures: `max_consecutive_failures` in a row;
//! - unwind losses: losses taken unwinding or hedging legs during the UTC day
//!   add up to `max_unwind_loss`.
//!
//! A trip moves the breaker from Active to Halted: no new trades, while
//! cancels, hedges and unwinds of trades already started stay allowed (a
//! breaker that blocked repairs would turn a loss limit into an orphaned leg).
//! Halted stays halted across restarts and day rollovers; only an explicit
//! [`AdminReset`] (actor and reason, audited) brings it back.
//!
//! Missing data never trips it. Equity comes in per venue as `Option<Cash>`:
//! a venue not read yet, or read as zero or less, makes the breaker *not
//! ready* (no trading, no trip, baselines untouched). The seed engine read an
//! unloaded $0 balance in dry-run as a 100% loss; a zero venue equity is
//! treated as "not loaded" here because an account that really holds nothing
//! on one venue cannot trade a cross-venue pair anyway.
//!
//! The persistent part is [`BreakerState`], a JSON snapshot stored by the
//! engine (`orion_storage::BreakerRecord`); readiness is deliberately *not*
//! persisted, so a restarted engine is not ready until it has read fresh
//! balances.

use std::fmt;

use orion_config::RiskConfig;
use orion_core::time_fmt::civil_from_days;
use orion_core::{Alert, Cash, Fraction, Severity, Timestamp, Venue};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::PerVenue;

/// Version of the [`BreakerState`] JSON document.
pub const STATE_VERSION: u32 = 1;

const SECS_PER_DAY: i64 = 86_400;
const PPM: i128 = 1_000_000;
/// Bounds what an actor or a reason may carry into the audit log and alerts.
const MAX_ACTOR_CHARS: usize = 64;
const MAX_REASON_CHARS: usize = 500;

/// The UTC day number (days since 1970-01-01) of a time.
pub fn utc_day(t: Timestamp) -> i64 {
    t.secs().div_euclid(SECS_PER_DAY)
}

/// `YYYY-MM-DD` of a UTC day number.
pub fn day_label(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The breaker's limits (from `[risk]` in the configuration). Not persisted:
/// a restarted engine applies the limits it was started with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerLimits {
    pub daily_loss_limit: Fraction,
    pub max_drawdown: Fraction,
    pub max_consecutive_failures: u32,
    /// Per UTC day, summed over every unwind and hedge.
    pub max_unwind_loss: Cash,
}

impl BreakerLimits {
    pub fn from_config(risk: &RiskConfig) -> BreakerLimits {
        BreakerLimits {
            daily_loss_limit: risk.daily_loss_limit,
            max_drawdown: risk.max_drawdown,
            max_consecutive_failures: risk.max_consecutive_failures,
            max_unwind_loss: risk.max_unwind_loss,
        }
    }
}

/// Why the breaker halted, with the numbers that tripped it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TripReason {
    DailyLoss {
        day_start_equity: Cash,
        equity: Cash,
        loss: Cash,
        limit: Fraction,
    },
    Drawdown {
        peak_equity: Cash,
        equity: Cash,
        drawdown: Cash,
        limit: Fraction,
    },
    ConsecutiveFailures {
        failures: u32,
        limit: u32,
    },
    UnwindLoss {
        total_today: Cash,
        limit: Cash,
    },
    /// An operator pulled the kill switch.
    Manual {
        actor: String,
        reason: String,
    },
    /// The stored state could not be read; the engine fails closed.
    StateUnreadable {
        detail: String,
    },
}

impl TripReason {
    /// A short stable name, for metrics labels and log fields.
    pub fn label(&self) -> &'static str {
        match self {
            TripReason::DailyLoss { .. } => "daily_loss",
            TripReason::Drawdown { .. } => "drawdown",
            TripReason::ConsecutiveFailures { .. } => "consecutive_failures",
            TripReason::UnwindLoss { .. } => "unwind_loss",
            TripReason::Manual { .. } => "manual",
            TripReason::StateUnreadable { .. } => "state_unreadable",
        }
    }
}

impl fmt::Display for TripReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TripReason::DailyLoss {
                day_start_equity,
                equity,
                loss,
                limit,
            } => write!(
                f,
                "daily loss ${loss} reached the limit of {limit} of the day's starting equity ${day_start_equity} (equity now ${equity})"
            ),
            TripReason::Drawdown {
                peak_equity,
                equity,
                drawdown,
                limit,
            } => write!(
                f,
                "drawdown ${drawdown} from the peak equity ${peak_equity} reached the limit of {limit} (equity now ${equity})"
            ),
            TripReason::ConsecutiveFailures { failures, limit } => write!(
                f,
                "{failures} consecutive execution failures reached the limit of {limit}"
            ),
            TripReason::UnwindLoss { total_today, limit } => write!(
                f,
                "unwind losses today ${total_today} reached the limit of ${limit}"
            ),
            TripReason::Manual { actor, reason } => {
                write!(f, "halted by {actor}: {reason}")
            }
            TripReason::StateUnreadable { detail } => write!(
                f,
                "the stored breaker state could not be read ({detail}); failing closed"
            ),
        }
    }
}

/// Active (trading allowed) or Halted (no new trades).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum BreakerStatus {
    Active,
    Halted {
        reason: TripReason,
        since: Timestamp,
    },
}

/// The moment the breaker tripped: what to alert on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TripEvent {
    pub reason: TripReason,
    pub at: Timestamp,
}

impl TripEvent {
    /// The operator-facing description: what happened and what to do.
    pub fn description(&self) -> String {
        format!(
            "circuit breaker HALTED at {}: {}. New trades are stopped; cancels and unwinds continue. \
             Investigate, then reset with `orion-admin breaker reset --reason TEXT` (engine stopped) \
             or through the dashboard's authenticated control.",
            self.at, self.reason
        )
    }

    /// A critical alert, coalesced per trip kind.
    pub fn alert(&self) -> Alert {
        Alert {
            severity: Severity::Critical,
            key: format!("breaker.trip.{}", self.reason.label()),
            message: self.description(),
            at: self.at,
        }
    }
}

/// An actor and reason could not make an admin action.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AdminActionError {
    #[error("the actor is empty: name who is acting (for example --actor alice)")]
    EmptyActor,
    #[error(
        "the reason is empty: say why (for example --reason \"loss explained: stale Kalshi balance\")"
    )]
    EmptyReason,
    #[error("the {what} is longer than {max} characters")]
    TooLong { what: &'static str, max: usize },
    #[error("the {what} contains control characters")]
    ControlCharacters { what: &'static str },
}

fn validated(
    text: &str,
    what: &'static str,
    max: usize,
    empty: AdminActionError,
) -> Result<String, AdminActionError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(empty);
    }
    if text.chars().count() > max {
        return Err(AdminActionError::TooLong { what, max });
    }
    // The text lands in the audit log and in alerts: no terminal escapes or
    // forged extra lines.
    if text.chars().any(char::is_control) {
        return Err(AdminActionError::ControlCharacters { what });
    }
    Ok(text.to_string())
}

fn actor_and_reason(actor: &str, reason: &str) -> Result<(String, String), AdminActionError> {
    Ok((
        validated(
            actor,
            "actor",
            MAX_ACTOR_CHARS,
            AdminActionError::EmptyActor,
        )?,
        validated(
            reason,
            "reason",
            MAX_REASON_CHARS,
            AdminActionError::EmptyReason,
        )?,
    ))
}

/// The authority to reset a halted breaker. Built only by the two places
/// that authenticate an operator: the `orion-admin` CLI (which holds the
/// database lock, so the engine is stopped) and the engine's authenticated
/// dashboard control path. Its fields are private so a reset always carries
/// a named actor and a non-empty reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminReset {
    actor: String,
    reason: String,
}

impl AdminReset {
    pub fn new(actor: &str, reason: &str) -> Result<AdminReset, AdminActionError> {
        let (actor, reason) = actor_and_reason(actor, reason)?;
        Ok(AdminReset { actor, reason })
    }

    pub fn actor(&self) -> &str {
        &self.actor
    }

    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// An operator's kill switch: halts the breaker by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminHalt {
    actor: String,
    reason: String,
}

impl AdminHalt {
    pub fn new(actor: &str, reason: &str) -> Result<AdminHalt, AdminActionError> {
        let (actor, reason) = actor_and_reason(actor, reason)?;
        Ok(AdminHalt { actor, reason })
    }
}

/// An entry for the audit log of control actions (`orion_storage::AuditEntry`
/// has the same fields; this crate does not depend on storage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

/// The last reset, kept in the state for `breaker status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetRecord {
    pub actor: String,
    pub reason: String,
    pub at: Timestamp,
    /// What the reset cleared.
    pub cleared: TripReason,
}

/// What a reset did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetOutcome {
    /// The breaker was already active: nothing changed (resets are idempotent).
    AlreadyActive,
    /// A halt was cleared; record `audit` in the same transaction as the state.
    Cleared {
        previous: TripReason,
        halted_since: Timestamp,
        audit: AuditRecord,
    },
}

/// The stored state did not restore.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RestoreError {
    #[error("breaker state does not decode: {0}")]
    Decode(String),
    #[error("breaker state version {found} is not supported (this build reads {supported})")]
    UnsupportedVersion { found: u32, supported: u32 },
    #[error("breaker state is inconsistent: {0}")]
    Inconsistent(String),
}

/// Why the breaker cannot judge equity yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NotReadyReason {
    /// No equity reading since start-up.
    NoReading,
    /// The venue's balance has not been read.
    NotLoaded { venue: Venue },
    /// The venue reported zero equity: taken as a balance that did not load.
    ZeroBalance { venue: Venue },
    /// The venue reported negative equity: not a balance.
    Negative { venue: Venue, equity: Cash },
    /// The venues' sum does not fit.
    Overflow,
}

impl fmt::Display for NotReadyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotReadyReason::NoReading => f.write_str("no equity reading yet"),
            NotReadyReason::NotLoaded { venue } => write!(f, "{venue} balance not loaded"),
            NotReadyReason::ZeroBalance { venue } => {
                write!(f, "{venue} reported $0 equity (taken as not loaded)")
            }
            NotReadyReason::Negative { venue, equity } => {
                write!(f, "{venue} reported negative equity ${equity}")
            }
            NotReadyReason::Overflow => f.write_str("equity sum overflows"),
        }
    }
}

/// Whether the breaker has the data to judge equity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready { equity: Cash },
    NotReady(Vec<NotReadyReason>),
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        matches!(self, Readiness::Ready { .. })
    }

    /// Judges one reading: every venue must be present and positive.
    pub fn of(reading: &PerVenue<Option<Cash>>) -> Readiness {
        let mut reasons = Vec::new();
        let mut total: i128 = 0;
        for (venue, value) in reading.iter() {
            match value {
                None => reasons.push(NotReadyReason::NotLoaded { venue }),
                Some(c) if *c == Cash::ZERO => reasons.push(NotReadyReason::ZeroBalance { venue }),
                Some(c) if c.is_negative() => {
                    reasons.push(NotReadyReason::Negative { venue, equity: *c })
                }
                Some(c) => total += i128::from(c.micros()),
            }
        }
        if !reasons.is_empty() {
            return Readiness::NotReady(reasons);
        }
        match i64::try_from(total) {
            Ok(micros) => Readiness::Ready {
                equity: Cash::from_micros(micros),
            },
            Err(_) => Readiness::NotReady(vec![NotReadyReason::Overflow]),
        }
    }
}

impl fmt::Display for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Readiness::Ready { equity } => write!(f, "ready (equity ${equity})"),
            Readiness::NotReady(reasons) => {
                f.write_str("not ready: ")?;
                for (i, r) in reasons.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{r}")?;
                }
                Ok(())
            }
        }
    }
}

/// The breaker's persistent state: status, baselines and counters. Fields
/// are private: the only way from Halted to Active is [`BreakerState::reset`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakerState {
    version: u32,
    status: BreakerStatus,
    /// The UTC day the daily figures belong to.
    day: Option<i64>,
    day_start_equity: Option<Cash>,
    peak_equity: Option<Cash>,
    last_equity: Option<Cash>,
    last_equity_at: Option<Timestamp>,
    consecutive_failures: u32,
    unwind_loss_today: Cash,
    trips_total: u64,
    last_reset: Option<ResetRecord>,
}

impl Default for BreakerState {
    fn default() -> Self {
        BreakerState::new()
    }
}

impl BreakerState {
    /// A fresh installation: Active, no baselines yet.
    pub fn new() -> BreakerState {
        BreakerState {
            version: STATE_VERSION,
            status: BreakerStatus::Active,
            day: None,
            day_start_equity: None,
            peak_equity: None,
            last_equity: None,
            last_equity_at: None,
            consecutive_failures: 0,
            unwind_loss_today: Cash::ZERO,
            trips_total: 0,
            last_reset: None,
        }
    }

    /// The state an engine must start in when the stored one does not
    /// restore: halted, so that an unreadable record never means "trade".
    pub fn fail_closed(detail: &str, now: Timestamp) -> BreakerState {
        let mut state = BreakerState::new();
        state.status = BreakerStatus::Halted {
            reason: TripReason::StateUnreadable {
                detail: detail.chars().take(MAX_REASON_CHARS).collect(),
            },
            since: now,
        };
        state
    }

    /// Reads a snapshot written by [`BreakerState::snapshot`].
    pub fn restore(json: &str) -> Result<BreakerState, RestoreError> {
        // Look at the version first so a future document is reported as
        // such rather than as a decode error about some new field.
        #[derive(Deserialize)]
        struct Versioned {
            version: u32,
        }
        let v: Versioned =
            serde_json::from_str(json).map_err(|e| RestoreError::Decode(e.to_string()))?;
        if v.version != STATE_VERSION {
            return Err(RestoreError::UnsupportedVersion {
                found: v.version,
                supported: STATE_VERSION,
            });
        }
        let state: BreakerState =
            serde_json::from_str(json).map_err(|e| RestoreError::Decode(e.to_string()))?;
        if state.unwind_loss_today.is_negative() {
            return Err(RestoreError::Inconsistent(
                "negative unwind loss total".into(),
            ));
        }
        Ok(state)
    }

    /// The JSON document to persist (`BreakerRecord.data`).
    pub fn snapshot(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// "active" or "halted" (`BreakerRecord.state`).
    pub fn state_name(&self) -> &'static str {
        match self.status {
            BreakerStatus::Active => "active",
            BreakerStatus::Halted { .. } => "halted",
        }
    }

    pub fn status(&self) -> &BreakerStatus {
        &self.status
    }

    pub fn is_halted(&self) -> bool {
        matches!(self.status, BreakerStatus::Halted { .. })
    }

    /// New trades only while Active.
    pub fn allows_new_trades(&self) -> bool {
        matches!(self.status, BreakerStatus::Active)
    }

    /// Cancels, hedges and unwinds are always allowed: a halt must never
    /// leave a started trade with one leg open.
    pub fn allows_repairs(&self) -> bool {
        true
    }

    pub fn day(&self) -> Option<i64> {
        self.day
    }

    pub fn day_start_equity(&self) -> Option<Cash> {
        self.day_start_equity
    }

    pub fn peak_equity(&self) -> Option<Cash> {
        self.peak_equity
    }

    pub fn last_equity(&self) -> Option<(Cash, Timestamp)> {
        self.last_equity.zip(self.last_equity_at)
    }

    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    pub fn unwind_loss_today(&self) -> Cash {
        self.unwind_loss_today
    }

    pub fn trips_total(&self) -> u64 {
        self.trips_total
    }

    pub fn last_reset(&self) -> Option<&ResetRecord> {
        self.last_reset.as_ref()
    }

    /// Clears a halt. The operator has looked at the loss and accepted it, so
    /// the baselines restart from the last equity seen (otherwise the same
    /// loss would trip again on the next reading) and the failure and unwind
    /// counters restart from zero. On an Active breaker nothing changes.
    pub fn reset(&mut self, authority: AdminReset, now: Timestamp) -> ResetOutcome {
        let BreakerStatus::Halted { reason, since } = &self.status else {
            return ResetOutcome::AlreadyActive;
        };
        let (previous, halted_since) = (reason.clone(), *since);
        self.status = BreakerStatus::Active;
        self.consecutive_failures = 0;
        self.unwind_loss_today = Cash::ZERO;
        self.day = Some(utc_day(now));
        if let Some(equity) = self.last_equity {
            self.day_start_equity = Some(equity);
            self.peak_equity = Some(equity);
        }
        let detail = format!(
            "cleared halt since {halted_since} ({previous}); reason: {}",
            authority.reason
        );
        self.last_reset = Some(ResetRecord {
            actor: authority.actor.clone(),
            reason: authority.reason,
            at: now,
            cleared: previous.clone(),
        });
        metrics::gauge!("orion_risk_breaker_halted").set(0.0);
        ResetOutcome::Cleared {
            previous,
            halted_since,
            audit: AuditRecord {
                at: now,
                actor: authority.actor,
                action: "breaker.reset".into(),
                detail,
            },
        }
    }

    /// The kill switch: halts now, unless already halted (the first reason
    /// stays: it is the one to investigate).
    pub fn halt(
        &mut self,
        authority: AdminHalt,
        now: Timestamp,
    ) -> (Option<TripEvent>, AuditRecord) {
        let audit = AuditRecord {
            at: now,
            actor: authority.actor.clone(),
            action: "breaker.halt".into(),
            detail: format!("reason: {}", authority.reason),
        };
        let event = self.trip(
            TripReason::Manual {
                actor: authority.actor,
                reason: authority.reason,
            },
            now,
        );
        (event, audit)
    }

    fn trip(&mut self, reason: TripReason, now: Timestamp) -> Option<TripEvent> {
        if self.is_halted() {
            return None;
        }
        metrics::counter!("orion_risk_breaker_trips_total", "reason" => reason.label())
            .increment(1);
        metrics::gauge!("orion_risk_breaker_halted").set(1.0);
        self.trips_total = self.trips_total.saturating_add(1);
        self.status = BreakerStatus::Halted {
            reason: reason.clone(),
            since: now,
        };
        Some(TripEvent { reason, at: now })
    }

    /// Moves the daily figures to the UTC day of `now`. The new day starts
    /// from the last equity seen, so a loss across midnight still counts. A
    /// clock that steps back never rolls a day back.
    fn roll_day(&mut self, now: Timestamp) {
        let today = utc_day(now);
        match self.day {
            Some(day) if today <= day => {}
            Some(_) => {
                self.day = Some(today);
                self.day_start_equity = self.last_equity;
                self.unwind_loss_today = Cash::ZERO;
            }
            None => self.day = Some(today),
        }
    }
}

/// `part / whole >= limit`, exactly. A baseline at or below zero (moved
/// there by transfers) has no meaningful fraction: it never trips, like any
/// other missing data.
fn reaches(part: Cash, whole: Cash, limit: Fraction) -> bool {
    whole > Cash::ZERO
        && i128::from(part.micros()) * PPM >= i128::from(limit.ppm()) * i128::from(whole.micros())
}

/// What one equity reading did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EquityObservation {
    pub readiness: Readiness,
    pub trip: Option<TripEvent>,
}

/// The breaker at work: limits, persistent state and (not persisted) the
/// readiness of the latest equity reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CircuitBreaker {
    limits: BreakerLimits,
    state: BreakerState,
    readiness: Readiness,
}

impl CircuitBreaker {
    /// Wraps a restored (or new) state. Not ready until the first complete
    /// equity reading.
    pub fn new(limits: BreakerLimits, state: BreakerState) -> CircuitBreaker {
        metrics::gauge!("orion_risk_breaker_halted").set(if state.is_halted() { 1.0 } else { 0.0 });
        CircuitBreaker {
            limits,
            state,
            readiness: Readiness::NotReady(vec![NotReadyReason::NoReading]),
        }
    }

    pub fn limits(&self) -> &BreakerLimits {
        &self.limits
    }

    pub fn state(&self) -> &BreakerState {
        &self.state
    }

    pub fn into_state(self) -> BreakerState {
        self.state
    }

    pub fn readiness(&self) -> &Readiness {
        &self.readiness
    }

    /// New trades need an Active breaker *and* a complete equity reading.
    pub fn allows_new_trades(&self) -> bool {
        self.state.allows_new_trades() && self.readiness.is_ready()
    }

    /// Always true: see [`BreakerState::allows_repairs`].
    pub fn allows_repairs(&self) -> bool {
        self.state.allows_repairs()
    }

    /// Takes one equity reading (per venue; `None` = not read yet). An
    /// incomplete reading changes nothing but readiness; a complete one
    /// updates the peak and checks the daily-loss and drawdown limits.
    pub fn observe_equity(
        &mut self,
        reading: &PerVenue<Option<Cash>>,
        now: Timestamp,
    ) -> EquityObservation {
        self.state.roll_day(now);
        let readiness = Readiness::of(reading);
        self.readiness = readiness.clone();
        let Readiness::Ready { equity } = readiness else {
            return EquityObservation {
                readiness,
                trip: None,
            };
        };
        let s = &mut self.state;
        s.last_equity = Some(equity);
        s.last_equity_at = Some(now);
        let day_start = *s.day_start_equity.get_or_insert(equity);
        let peak = s.peak_equity.map_or(equity, |p| p.max(equity));
        s.peak_equity = Some(peak);

        let loss = day_start.saturating_sub(equity);
        let drawdown = peak.saturating_sub(equity);
        let reason = if loss > Cash::ZERO && reaches(loss, day_start, self.limits.daily_loss_limit)
        {
            Some(TripReason::DailyLoss {
                day_start_equity: day_start,
                equity,
                loss,
                limit: self.limits.daily_loss_limit,
            })
        } else if drawdown > Cash::ZERO && reaches(drawdown, peak, self.limits.max_drawdown) {
            Some(TripReason::Drawdown {
                peak_equity: peak,
                equity,
                drawdown,
                limit: self.limits.max_drawdown,
            })
        } else {
            None
        };
        let trip = reason.and_then(|r| self.state.trip(r, now));
        EquityObservation {
            readiness: self.readiness.clone(),
            trip,
        }
    }

    /// Rolls the daily figures over to the UTC day of `now` with no other
    /// event (the engine's periodic tick), so the unwind total and the day's
    /// starting equity are today's even on a quiet day.
    pub fn tick(&mut self, now: Timestamp) {
        self.state.roll_day(now);
    }

    /// A trade finished cleanly: the failure streak ends.
    pub fn record_execution_success(&mut self, now: Timestamp) {
        self.state.roll_day(now);
        self.state.consecutive_failures = 0;
    }

    /// A trade failed (a leg rejected, unknown, or needing repair).
    pub fn record_execution_failure(&mut self, now: Timestamp) -> Option<TripEvent> {
        self.state.roll_day(now);
        let s = &mut self.state;
        s.consecutive_failures = s.consecutive_failures.saturating_add(1);
        if s.consecutive_failures >= self.limits.max_consecutive_failures {
            let reason = TripReason::ConsecutiveFailures {
                failures: s.consecutive_failures,
                limit: self.limits.max_consecutive_failures,
            };
            return self.state.trip(reason, now);
        }
        None
    }

    /// A loss taken unwinding or hedging a leg. Gains (negative losses) do
    /// not offset earlier losses: the limit is on what was lost.
    pub fn record_unwind_loss(&mut self, loss: Cash, now: Timestamp) -> Option<TripEvent> {
        self.state.roll_day(now);
        if loss <= Cash::ZERO {
            return None;
        }
        let s = &mut self.state;
        s.unwind_loss_today = s.unwind_loss_today.saturating_add(loss);
        if s.unwind_loss_today >= self.limits.max_unwind_loss {
            let reason = TripReason::UnwindLoss {
                total_today: s.unwind_loss_today,
                limit: self.limits.max_unwind_loss,
            };
            return self.state.trip(reason, now);
        }
        None
    }

    /// A deposit (positive) or withdrawal (negative) moves equity without a
    /// gain or loss: the baselines move with it so it is not mistaken for one.
    pub fn record_transfer(&mut self, amount: Cash) {
        let s = &mut self.state;
        for value in [
            &mut s.day_start_equity,
            &mut s.peak_equity,
            &mut s.last_equity,
        ]
        .into_iter()
        .flatten()
        {
            *value = value.saturating_add(amount);
        }
    }

    /// See [`BreakerState::reset`].
    pub fn reset(&mut self, authority: AdminReset, now: Timestamp) -> ResetOutcome {
        self.state.reset(authority, now)
    }

    /// See [`BreakerState::halt`].
    pub fn halt(
        &mut self,
        authority: AdminHalt,
        now: Timestamp,
    ) -> (Option<TripEvent>, AuditRecord) {
        self.state.halt(authority, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    // 2026-11-24T12:00:00Z
    const NOON: i64 = 20_781 * DAY + 12 * 3600;

    fn usd(dollars: i64) -> Cash {
        Cash::from_micros(dollars * 1_000_000)
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_secs(secs)
    }

    fn limits() -> BreakerLimits {
        BreakerLimits {
            daily_loss_limit: Fraction::from_ppm(20_000).unwrap(),
            max_drawdown: Fraction::from_ppm(50_000).unwrap(),
            max_consecutive_failures: 3,
            max_unwind_loss: usd(25),
        }
    }

    fn reading(k: i64, p: i64) -> PerVenue<Option<Cash>> {
        PerVenue::new(Some(Cash::from_micros(k)), Some(Cash::from_micros(p)))
    }

    #[test]
    fn utc_day_and_label() {
        assert_eq!(utc_day(at(NOON)), 20_781);
        assert_eq!(day_label(20_781), "2026-11-24");
        assert_eq!(utc_day(at(20_782 * DAY - 1)), 20_781);
        assert_eq!(utc_day(at(20_782 * DAY)), 20_782);
        assert_eq!(utc_day(at(-1)), -1);
    }

    #[test]
    fn readiness_rules() {
        assert!(Readiness::of(&reading(1, 1)).is_ready());
        let r = Readiness::of(&PerVenue::new(None, Some(usd(5))));
        assert_eq!(
            r,
            Readiness::NotReady(vec![NotReadyReason::NotLoaded {
                venue: Venue::Kalshi
            }])
        );
        let r = Readiness::of(&PerVenue::new(Some(Cash::ZERO), Some(usd(-1))));
        let Readiness::NotReady(reasons) = r else {
            panic!("zero must not be ready");
        };
        assert_eq!(reasons.len(), 2);
        let r = Readiness::of(&reading(i64::MAX, i64::MAX));
        assert_eq!(r, Readiness::NotReady(vec![NotReadyReason::Overflow]));
    }

    #[test]
    fn a_halt_keeps_its_first_reason() {
        let mut b = CircuitBreaker::new(limits(), BreakerState::new());
        for _ in 0..3 {
            b.record_execution_failure(at(NOON));
        }
        assert!(b.state().is_halted());
        assert!(b.record_unwind_loss(usd(100), at(NOON)).is_none());
        let BreakerStatus::Halted { reason, .. } = b.state().status() else {
            panic!("halted");
        };
        assert_eq!(reason.label(), "consecutive_failures");
        assert_eq!(b.state().trips_total(), 1);
    }

    #[test]
    fn success_ends_the_failure_streak() {
        let mut b = CircuitBreaker::new(limits(), BreakerState::new());
        b.record_execution_failure(at(NOON));
        b.record_execution_failure(at(NOON));
        b.record_execution_success(at(NOON));
        assert!(b.record_execution_failure(at(NOON)).is_none());
        assert_eq!(b.state().consecutive_failures(), 1);
    }

    #[test]
    fn transfers_move_baselines() {
        let mut b = CircuitBreaker::new(limits(), BreakerState::new());
        b.observe_equity(&reading(500_000_000, 500_000_000), at(NOON));
        // A $300 withdrawal is not a 30% loss.
        b.record_transfer(usd(-300));
        let o = b.observe_equity(&reading(350_000_000, 350_000_000), at(NOON + 1));
        assert_eq!(o.trip, None);
        assert_eq!(b.state().peak_equity(), Some(usd(700)));
    }

    #[test]
    fn admin_actions_validate() {
        assert_eq!(AdminReset::new(" ", "x"), Err(AdminActionError::EmptyActor));
        assert_eq!(
            AdminReset::new("al", "  "),
            Err(AdminActionError::EmptyReason)
        );
        assert!(matches!(
            AdminReset::new("al", "a\u{1b}[2J"),
            Err(AdminActionError::ControlCharacters { .. })
        ));
        assert!(matches!(
            AdminReset::new("al", &"x".repeat(501)),
            Err(AdminActionError::TooLong { .. })
        ));
        let r = AdminReset::new(" al ", " checked ").unwrap();
        assert_eq!((r.actor(), r.reason()), ("al", "checked"));
    }

    #[test]
    fn manual_halt_and_fail_closed() {
        let mut s = BreakerState::new();
        let (event, audit) = s.halt(AdminHalt::new("op", "venue outage").unwrap(), at(NOON));
        assert!(event.is_some());
        assert_eq!(audit.action, "breaker.halt");
        assert!(!s.allows_new_trades());
        assert!(s.allows_repairs());
        let s = BreakerState::fail_closed("bad json", at(NOON));
        assert!(!s.allows_new_trades());
        assert_eq!(s.state_name(), "halted");
    }

    #[test]
    fn restore_refuses_other_versions_and_garbage() {
        assert!(matches!(
            BreakerState::restore("{\"version\":2}"),
            Err(RestoreError::UnsupportedVersion { found: 2, .. })
        ));
        assert!(matches!(
            BreakerState::restore("not json"),
            Err(RestoreError::Decode(_))
        ));
        let json = BreakerState::new().snapshot().unwrap();
        let bad = json.replace("\"unwind_loss_today\":0", "\"unwind_loss_today\":-5");
        assert!(matches!(
            BreakerState::restore(&bad),
            Err(RestoreError::Inconsistent(_))
        ));
    }
}
