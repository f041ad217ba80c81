//! What the dashboard shows and does, as a port the engine implements. The
//! views are plain data (already formatted where formatting is the engine's
//! business) so this crate knows nothing of the engine's internals.

use async_trait::async_trait;
use orion_core::{Cash, Timestamp};
use serde::Serialize;

/// Money and times go to the browser as their display strings (`12.34`,
/// RFC 3339), not as raw micro-units and nanoseconds.
fn display<T: std::fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// A backend call failed; the message is shown to the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BackendError(pub String);

/// The status page: one snapshot of the engine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatusView {
    /// `dry-run`, `alert-only` or `live`.
    pub mode: String,
    /// Trading paused or halted by an operator (decision core), if so.
    pub trading: String,
    /// The circuit breaker's state name (`active`, `halted`, ...).
    pub breaker: String,
    pub breaker_allows_trades: bool,
    /// Why the breaker is halted, when it is.
    pub breaker_detail: Option<String>,
    /// Cash per venue; `None` where it was not read.
    pub balances: Vec<(String, Option<Cash>)>,
    /// Realized P&L from settlements (real trades only).
    pub realized_pnl: Option<Cash>,
    pub ready: bool,
    /// `/ready`'s JSON document.
    pub readiness: serde_json::Value,
    /// Named counters (book events, opportunities, executions, ...), in order.
    pub counters: Vec<(String, u64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpportunityView {
    pub pair_id: String,
    pub direction: String,
    pub quantity: String,
    #[serde(serialize_with = "display")]
    pub total_cost: Cash,
    #[serde(serialize_with = "display")]
    pub net_profit: Cash,
    #[serde(serialize_with = "display")]
    pub detected_at: Timestamp,
    /// Whether an execution followed.
    pub acted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PositionView {
    pub venue: String,
    pub market: String,
    pub instrument: String,
    pub outcome: String,
    pub pair_id: Option<String>,
    pub quantity: String,
    #[serde(serialize_with = "display")]
    pub cost: Cash,
    pub simulated: bool,
}

/// One trade intent from the journal and where it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TradeView {
    pub intent_id: String,
    pub pair_id: String,
    #[serde(serialize_with = "display")]
    pub expected_profit: Cash,
    #[serde(serialize_with = "display")]
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    /// `None` while unfinished.
    pub outcome: Option<String>,
    /// Dry-run: no order reached a venue.
    pub simulated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PairView {
    pub pair_id: String,
    /// A human title (the Kalshi market's, when known).
    pub title: String,
    pub kalshi_ticker: String,
    pub polymarket_condition_id: String,
    pub inverted: bool,
    pub score_bps: u32,
    pub flags: Vec<String>,
    pub reasons: Vec<String>,
    /// `proposed`, `confirmed` or `rejected`.
    pub status: String,
    pub decided_by: Option<String>,
}

/// One configuration value; [`crate::mask_config`] hides secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigEntry {
    pub key: String,
    pub value: String,
}

/// Operator controls of the decision core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlAction {
    Pause,
    Resume,
    Halt { reason: String },
}

/// The engine as the dashboard sees it. Every method may be called
/// concurrently; the dashboard checks authentication, CSRF and (for the
/// breaker reset) the password before calling a state-changing method.
#[async_trait]
pub trait DashboardBackend: Send + Sync + std::fmt::Debug + 'static {
    async fn status(&self) -> Result<StatusView, BackendError>;
    /// Newest first, at most `limit`.
    async fn opportunities(&self, limit: u32) -> Result<Vec<OpportunityView>, BackendError>;
    async fn positions(&self) -> Result<Vec<PositionView>, BackendError>;
    /// Newest first, at most `limit`.
    async fn trades(&self, limit: u32) -> Result<Vec<TradeView>, BackendError>;
    /// Every stored pair (proposals, confirmed and rejected).
    async fn pairs(&self) -> Result<Vec<PairView>, BackendError>;
    /// Confirms (`confirm = true`) or rejects a pair, audited with `actor`.
    async fn decide_pair(
        &self,
        pair_id: &str,
        confirm: bool,
        actor: &str,
        reason: &str,
    ) -> Result<(), BackendError>;
    /// The effective configuration (masked again by the dashboard).
    async fn config(&self) -> Result<Vec<ConfigEntry>, BackendError>;
    async fn control(&self, action: ControlAction, actor: &str) -> Result<(), BackendError>;
    /// Clears a halted circuit breaker; audited with `actor` and `reason`.
    /// Returns what happened, for the operator.
    async fn reset_breaker(&self, actor: &str, reason: &str) -> Result<String, BackendError>;
}
