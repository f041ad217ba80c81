//! Which markets are the same event, and where the edge is.
//!
//! This crate will own cross-venue market matching (text normalization, entity
//! extraction, blocking, scoring, one-to-one assignment, YES/NO orientation and
//! resolution-term flags) and opportunity detection: walking both venues' ask
//! ladders jointly with equal contract counts and each venue's exact fee
//! formula, to find the largest size whose marginal contract still clears the
//! edge threshold. It is pure domain logic over `orion-core` types: no I/O.

// Tests assert with unwrap/expect/panic on purpose.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod detection;
pub mod matching;
