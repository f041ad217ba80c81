//! Backtests that trade: recorded books through the engine's own decision
//! core, the real risk checks (orion-risk's breaker and capital manager
//! behind the core's `TradeGate` port) and the real two-leg executor
//! (orion-execution, the same code as live), against simulated venues that
//! model latency, the book at arrival, time in force, price grids and lots,
//! exact fees, partial fills and rejections.
//!
//! The risk gate is `orion_risk::DecisionGate`, the engine's own.
//!
//! * [`venue`]: the simulated venues (`OrderGateway`) and their shared state.
//! * [`run`](mod@run): the replay loop and the deterministic driver of the
//!   asynchronous executor on a paused clock advanced by simulated time.
//! * [`sweep`]: parameter grids run in parallel, one run per thread.
//!
//! Everything is a function of (events, pairs, settings, seed): simulated
//! time only, one seeded generator for venue behaviour, seeded ids.

pub mod run;
pub mod store;
pub mod sweep;
pub mod venue;

use std::time::Duration;

use orion_config::{Config, ExecutionConfig, RiskConfig};
use orion_core::{Cash, PriceGrid, Quantity};
use orion_matching::detection::DetectionParams;

pub use run::{BacktestError, run_backtest, run_backtest_binary};
pub use sweep::{GridAxis, parse_grid, run_grid};
pub use venue::{OrderCounts, VenueModel};

/// Everything a run needs besides its events and pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BacktestSettings {
    /// Names the run in reports.
    pub label: String,
    /// Seeds venue behaviour (latency jitter, partial fills, rejections)
    /// and the executor's ids.
    pub seed: u64,
    pub detection: DetectionParams,
    pub max_book_age_kalshi: Duration,
    pub max_book_age_polymarket: Duration,
    pub risk: RiskConfig,
    pub execution: ExecutionConfig,
    pub kalshi: VenueModel,
    pub polymarket: VenueModel,
    /// Valid Kalshi YES prices (Kalshi markets' grids vary; deci-cent
    /// accepts every price a cent or tapered grid does).
    pub kalshi_grid: PriceGrid,
    pub starting_balance_kalshi: Cash,
    pub starting_balance_polymarket: Cash,
}

/// Default starting cash on each venue: $10,000.
pub const DEFAULT_BALANCE: Cash = Cash::from_micros(10_000_000_000);

impl BacktestSettings {
    /// Settings from an engine configuration: its detection thresholds,
    /// staleness limits, risk limits and execution settings; venues with
    /// 50 ms (Kalshi) and 100 ms (Polymarket) latency and nothing random.
    pub fn from_config(config: &Config) -> BacktestSettings {
        BacktestSettings {
            label: "backtest".into(),
            seed: 1,
            detection: DetectionParams {
                min_edge: config.detection.min_edge,
                min_edge_beyond_horizon: config.detection.min_edge_beyond_horizon,
                horizon_days: config.detection.horizon_days,
                min_profit: config.detection.min_profit,
                slippage: config.detection.slippage,
                max_size: Quantity::MAX,
            },
            max_book_age_kalshi: Duration::from_millis(config.kalshi.max_book_age_ms),
            max_book_age_polymarket: Duration::from_millis(config.polymarket.max_book_age_ms),
            risk: config.risk.clone(),
            execution: config.execution.clone(),
            kalshi: VenueModel::with_latency_ms(50),
            polymarket: VenueModel::with_latency_ms(100),
            kalshi_grid: PriceGrid::kalshi_deci_cent(),
            starting_balance_kalshi: DEFAULT_BALANCE,
            starting_balance_polymarket: DEFAULT_BALANCE,
        }
    }
}
