//! Durable state in SQLite.
//!
//! This crate will own the database: versioned migrations (with a backup copy
//! before migrating), the execution journal (WAL, `synchronous=FULL`), pairs,
//! opportunities, orders, fills, positions, settlements, balance snapshots,
//! circuit-breaker state and the audit log, with money stored as integers;
//! online backup with rotation, restore and integrity checks. It implements
//! the `Store` port of `orion-core`.
