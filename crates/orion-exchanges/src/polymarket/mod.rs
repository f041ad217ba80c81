//! Polymarket CLOB V2 signing: EIP-712 orders, order amounts, the `POST
//! /order` body, and L1 (ClobAuth) and L2 (HMAC) authentication.
//!
//! Protocol notes: `shared/protocols/polymarket.md` §3–§7. Every value here is
//! checked byte for byte against the official clients' vectors in
//! `tests/vectors.rs`.

pub mod amounts;
pub mod auth;
pub mod contracts;
pub mod order;
pub mod primitives;
pub mod wallet;

pub use amounts::{MarketOrderAmount, OrderAmounts, limit_order_amounts, market_order_amounts};
pub use auth::{
    ApiCredentials, CLOB_AUTH_TYPE, L1Headers, L2Headers, clob_auth_digest,
    clob_auth_domain_separator, clob_auth_struct_hash, decode_secret, hmac_signature, l1_headers,
    l2_headers,
};
pub use contracts::{Chain, ExchangeDomain, ExchangeVersion, eip712_digest};
pub use order::{
    LegacyOrderV1, MAX_SALT, ORDER_TYPE_STRING, ORDER_V1_TYPE_STRING, Order, OrderParams,
    OrderType, PostOrderOptions, SignatureType, SignedOrder, order_typehash, post_order_body,
};
pub use primitives::{Address, B256, U256, U256Error, keccak256};
pub use wallet::{PolymarketWallet, random_salt};

/// A Polymarket signing or encoding step failed. Every variant names the
/// field at fault, so an operator can tell which input to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolymarketError {
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("signing failed: {0}")]
    Signing(String),
}

impl PolymarketError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> PolymarketError {
        PolymarketError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}
pub mod rest;
pub mod types;
pub mod ws;
