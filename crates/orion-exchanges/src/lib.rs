//! Venue adapters for Kalshi and Polymarket.
//!
//! This crate will own everything that speaks a venue's wire protocol: request
//! signing (Kalshi RSA-PSS, Polymarket EIP-712 orders and L1/L2 auth), the one
//! layered HTTP stack every outbound call goes through (timeout, token-bucket
//! rate limits, retry for idempotent reads only, metrics), REST and WebSocket
//! decoding into `orion-core` types, and the implementations of the
//! `MarketData` and `OrderGateway` ports. Venue numbers are converted exactly
//! at this boundary and nowhere else.
