//! Two-leg execution that never orphans a leg.
//!
//! This crate owns the order state machine, the journal protocol (the
//! intent is written through the `Store` port before anything is sent), the
//! concurrent FOK/IOC leg submission through `OrderGateway`, resolution of
//! unknown outcomes by query (never by resending a new order), hedging or
//! unwinding mismatched fills, start-up reconciliation, and settlement. Pure
//! domain logic over the `orion-core` ports.
//!
//! * [`plan`]: an approved trade becomes two equal-size limit orders with
//!   injected client order ids ([`ids`]) and the configured time in force.
//! * [`state`]: one leg's state machine with explicit in-flight states
//!   (`Prepared → InFlight → Unknown → …`); a leg has one client order id for
//!   life, and a resend reuses the same prepared (signed) bytes.
//! * [`executor`]: the journal protocol, concurrent submission, resolution by
//!   query with bounded backoff, repair of legged fills, halting and alerts,
//!   and start-up reconciliation with a readiness flag.
//! * [`repair`]: complete-the-hedge versus unwind, priced on the current
//!   books with exact integer money.
//! * [`settlement`]: realized P&L per pair when markets resolve.
//!
//! Time comes from the `Clock` port; I/O only through `OrderGateway` and
//! `Store`; waits are tokio timers (deterministic under a paused runtime).
//!
//! Guarantees, by construction: nothing is sent before its intent and a
//! `Sending` event are durable; a leg has one client order id and one set of
//! signed bytes for life (a resend, allowed only after queries proved the
//! order absent, is those same bytes); an unknown outcome is settled only by
//! query; a legged trade is repaired by exactly the difference within
//! `max_repair_attempts` and `max_unwind_loss_per_trade`, or its pair is
//! halted with a critical alert; after a crash, reconciliation finishes every
//! open intent from the journal and the venues before trading resumes.
//!
//! Tests (`tests/execution.rs`): scripted venues with the real SQLite
//! journal (every fault path, a crash after every journal write and after
//! every venue submit, a property test); the real clients against
//! `orion-sim`; a seeded fault-injection soak (`ORION_SOAK_RUNS`, default
//! 200); and a SIGKILL test that really kills a trading process
//! (`ORION_SIGKILL_RUNS`, default 20).

pub mod executor;
pub mod ids;
pub mod plan;
pub mod repair;
pub mod settlement;
pub mod state;

pub use executor::{
    ExecutionError, ExecutionReport, ExecutionSettings, Executor, LegSummary, MarketView,
    PositionDiff, Readiness, ReconcilePolicy, ReconciliationReport, RepairRecord, Venues,
    parent_of,
};
pub use ids::{IdGenerator, SeededIds, UuidV4Ids};
pub use plan::{LegSpec, PlanError, TradePlan, leg_time_in_force, plan_orders};
pub use repair::{RepairAction, RepairCandidate, RepairDecision, choose_repair};
pub use settlement::{HeldLeg, PairSettlement, SettledLeg, settle_pair};
pub use state::{LegEnd, LegOrder, LegPhase};
