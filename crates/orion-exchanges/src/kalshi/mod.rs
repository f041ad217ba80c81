//! Kalshi: request signing. (REST and WebSocket clients come later.)

pub mod auth;

pub use auth::{KalshiAuthError, KalshiAuthHeaders, KalshiSigner, signed_message, signing_path};
pub mod rest;
pub mod types;
pub mod ws;
