//! Risk controls that stand between a detected opportunity and an order.
//!
//! This crate will own the circuit breaker (daily loss, drawdown from peak,
//! consecutive execution failures, unwind losses; Active/Halted, persisted
//! through the `Store` port) and the capital manager (per-venue balances,
//! reserve, size caps, open-position and exposure limits). Every check returns
//! an approval or a refusal with its reason as a type. Pure domain logic: time
//! comes from a `Clock`, state from the ports.
