//! The engine's wiring, so `orion-engine` stays thin and tests drive the
//! whole engine in-process.
//!
//! * [`engine`]: start-up (config → database → venues → reconciliation →
//!   pairs → subscriptions) and the live loop: one task owns the
//!   [`orion_decision::DecisionCore`] and is fed by channels (market data
//!   from both venues, execution results, timers, control), serving
//!   execution results and control before market data. Executions run in
//!   their own tasks; every normalized book event is recorded.
//! * [`telemetry`]: `/metrics`, `/health` and `/ready` on axum.
//! * [`gate`]: the decision core's risk port over orion-risk.
//! * [`paper`]: dry-run's simulated venues (no order ever leaves the process).
//! * [`pairs`]: pair specifications from stored pairs and the venues' catalogs.
//! * [`recorded_pairs`]: the traded pairs' specs written next to the
//!   recordings (`pairs.json`) for `orion-backtest`.
//! * [`demo`]: the one-command demo against orion-sim.
//! * [`settlement`]: held markets watched for resolution; settlements and
//!   realized P&L recorded, cross-venue result mismatches alerted.
//! * `dashboard`: the web dashboard's backend over the running engine.

mod dashboard;
pub mod demo;
pub mod engine;
pub mod gate;
pub mod pairs;
pub mod paper;
pub mod recorded_pairs;
pub mod settlement;
pub mod store;
pub mod telemetry;
pub mod venues;

pub use dashboard::dashboard_password_hash;
pub use engine::{Engine, EngineError, EngineHandle, EngineOptions, EngineSummary, StatusSnapshot};
pub use venues::Credentials;

/// Resolves once `stop` is true (or its sender is gone). Unlike
/// `watch::Receiver::wait_for` it holds no borrow across an await, so the
/// futures that use it stay `Send`.
pub(crate) async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}
