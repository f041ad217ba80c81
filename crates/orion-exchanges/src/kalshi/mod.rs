//! Kalshi: request signing ([`auth`]), response decoding ([`types`]), the
//! REST client and order gateway ([`rest`]) and the order-book stream ([`ws`]).

pub mod auth;

pub use auth::{KalshiAuthError, KalshiAuthHeaders, KalshiSigner, signed_message, signing_path};
pub mod rest;
pub mod types;
pub mod ws;
