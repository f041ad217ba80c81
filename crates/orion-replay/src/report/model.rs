//! What one backtest run produced, as the backtest runner hands it to the
//! report: the run's counters and every trade the executor completed, in
//! simulated time. Everything the report prints is computed from these
//! values alone, so a report is as deterministic as the run.

use orion_core::{Cash, Price, Quantity, Timestamp};
use serde::{Deserialize, Serialize};

/// One trade the backtest executed (both legs, as the executor reported them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeRecord {
    pub trade_no: u64,
    pub pair_id: String,
    /// Timestamp of the book event that triggered it.
    pub detected_at: Timestamp,
    /// When the last leg's answer arrived (simulated time).
    pub executed_at: Timestamp,
    /// "kalshi_yes+polymarket_no" or "kalshi_no+polymarket_yes".
    pub direction: String,
    pub contracts_planned: Quantity,
    /// Matched contracts held to settlement.
    pub contracts_hedged: Quantity,
    /// Cash paid on Kalshi, fees excluded.
    pub kalshi_cost: Cash,
    pub polymarket_cost: Cash,
    /// Both venues' fees.
    pub fees: Cash,
    /// Detection's net profit estimate when it fired.
    pub expected_profit: Cash,
    /// "completed" | "repaired" | "nothing_filled" | "halted".
    pub outcome: String,
    /// Some leg partially filled.
    pub partial: bool,
    /// Loss realised by hedge/unwind orders (>= 0).
    pub repair_loss: Cash,
    /// Settlement payout ($1 × hedged) − costs, before fees.
    pub gross_pnl: Cash,
    /// gross − fees − repair_loss.
    pub net_pnl: Cash,
}

/// Everything one backtest run produced; deterministic for (inputs, config, seed).
///
/// Arbitrage pairs are held to settlement and pay exactly $1 per hedged
/// contract whichever way the event resolves, so a trade's P&L is booked at
/// its `executed_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BacktestRun {
    pub label: String,
    pub seed: u64,
    pub events: u64,
    pub opportunities_seen: u64,
    pub first_event: Option<Timestamp>,
    pub last_event: Option<Timestamp>,
    pub starting_capital: Cash,
    pub orders_sent: u64,
    pub orders_filled: u64,
    pub orders_partially_filled: u64,
    pub orders_rejected: u64,
    /// Average net edge per contract of each detection.
    pub detected_edges: Vec<Price>,
    /// In executed_at order.
    pub trades: Vec<TradeRecord>,
}
