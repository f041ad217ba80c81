//! The backtest report: summary statistics, the printed summary, trades.csv,
//! a self-contained report.html with plots, and parameter-sweep tables, all
//! computed from one [`BacktestRun`] and formatted deterministically (no
//! generation timestamps, stable ordering, fixed decimals) so two runs of the
//! same inputs produce byte-identical files.

pub mod model;

pub use model::{BacktestRun, TradeRecord};
