//! Simulated Kalshi and Polymarket venues on loopback.
//!
//! This crate will own faithful, in-process (or stand-alone) simulations of
//! both venues' REST and WebSocket APIs as they stand today: signature and
//! HMAC verification done independently of the clients, price-time matching,
//! balances, positions and settlement, scripted scenarios, and deterministic
//! fault injection. Tests, the engine demo and backtests use it in place of
//! the real venues.
