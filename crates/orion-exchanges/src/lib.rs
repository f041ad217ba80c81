//! Venue adapters for Kalshi and Polymarket.
//!
//! This crate will own everything that speaks a venue's wire protocol: request
//! signing (Kalshi RSA-PSS, Polymarket EIP-712 orders and L1/L2 auth), the one
//! layered HTTP stack every outbound call goes through (timeout, token-bucket
//! rate limits, retry for idempotent reads only, metrics), REST and WebSocket
//! decoding into `orion-core` types, and the implementations of the
//! `MarketData` and `OrderGateway` ports. Venue numbers are converted exactly
//! at this boundary and nowhere else.
//!
//! Modules:
//!
//! * [`kalshi::auth`]: RSA-PSS-SHA256 request headers (ring), keys from
//!   PKCS#1 or PKCS#8 PEM parsed once.
//! * [`polymarket`]: EIP-712 V2 orders (k256 + Keccak-256, our own minimal
//!   struct hashing), exact maker/taker amounts per tick, the exact `POST
//!   /order` body bytes, L1 `ClobAuth` and L2 HMAC headers.
//! * [`secret`]: credential types whose `Debug` prints `***` and which are
//!   zeroized on drop.
//! * [`http`]: the one layered HTTP stack (hyper + rustls/ring, SPKI pinning,
//!   per-endpoint timeouts, waiting rate limiters, jittered retry for reads
//!   only, metrics, masked logs); [`ws`]: WebSocket transport on the same TLS.
//! * [`decode`]: path-aware JSON reading, so bad venue input is an error that
//!   names the venue and the field, never a panic.
//! * [`kalshi::rest`], [`kalshi::ws`], [`polymarket::rest`],
//!   [`polymarket::ws`]: the REST clients, the `OrderGateway`s and the
//!   `MarketData` streams; [`fees`]: reconciling charged fees with the model.
//!
//! Signing is checked against the official clients' vectors in
//! `tests/vectors.rs`; the clients end to end against `orion-sim` in
//! `tests/clients.rs`.
//!
//! The simulator (`orion-sim`) must verify signatures
//! with its own, independent code and never call into this crate's signing.

pub mod decode;
pub mod fees;
pub mod http;
pub mod kalshi;
pub mod polymarket;
pub mod secret;
pub mod ws;

#[cfg(test)]
mod decode_tests;
