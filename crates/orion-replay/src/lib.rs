//! Backtesting on recorded (or generated) books.
//!
//! This crate owns what `orion-backtest` runs: the synthetic recording
//! generator (many pairs, realistic book dynamics, planted real and fake
//! opportunities, all from one seed) and replay of recordings through the
//! engine's own decision core under a clock driven only by event timestamps.
//! Execution with simulated venues (latency, fees, partial fills) builds on
//! the same replay loop.

pub mod backtest;
pub mod generate;
pub mod report;
pub mod scan;

pub use generate::{Generated, GeneratorConfig, Planted, generate};
pub use scan::{PairFindings, ScanReport, scan, scan_binary, scan_with};
