//! Two-leg execution that never orphans a leg.
//!
//! This crate will own the order state machine, the journal protocol (the
//! intent is written through the `Store` port before anything is sent), the
//! concurrent FOK/IOC leg submission through `OrderGateway`, resolution of
//! unknown outcomes by query (never by resending a new order), hedging or
//! unwinding mismatched fills, start-up reconciliation, and settlement. Pure
//! domain logic over the `orion-core` ports.
