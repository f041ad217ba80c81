//! Venues, identifiers, outcomes and order sides.
//!
//! A *market* is one binary question on one venue (a Kalshi ticker, a
//! Polymarket condition id). An *instrument* is what has an order book: on
//! Kalshi the market itself (one YES-quoted book), on Polymarket each outcome
//! token. [`Outcome`] and [`Side`] say what an order buys; [`KalshiOrderSide`]
//! maps that onto Kalshi's YES-price bid/ask wire form.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::money::Price;

/// A trading venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Venue {
    Kalshi,
    Polymarket,
}

impl Venue {
    pub const ALL: [Venue; 2] = [Venue::Kalshi, Venue::Polymarket];

    pub fn as_str(self) -> &'static str {
        match self {
            Venue::Kalshi => "kalshi",
            Venue::Polymarket => "polymarket",
        }
    }

    /// The other venue of a cross-venue pair.
    pub fn other(self) -> Venue {
        match self {
            Venue::Kalshi => Venue::Polymarket,
            Venue::Polymarket => Venue::Kalshi,
        }
    }
}

impl fmt::Display for Venue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Venue {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "kalshi" => Ok(Venue::Kalshi),
            "polymarket" => Ok(Venue::Polymarket),
            _ => Err(IdError::UnknownVenue(s.chars().take(32).collect())),
        }
    }
}

/// An identifier could not be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdError {
    #[error("unknown venue {0:?} (expected \"kalshi\" or \"polymarket\")")]
    UnknownVenue(String),
    #[error("{what} is empty")]
    Empty { what: &'static str },
    #[error("{what} is longer than {max} bytes")]
    TooLong { what: &'static str, max: usize },
    #[error("{what} contains a control or whitespace character")]
    BadCharacter { what: &'static str },
}

/// Longest identifier accepted from a venue (Polymarket token ids are 77-78
/// decimal digits; Kalshi tickers are short; client order ids are UUIDs).
pub const MAX_ID_LEN: usize = 128;

fn checked_symbol(what: &'static str, s: &str) -> Result<Arc<str>, IdError> {
    if s.is_empty() {
        return Err(IdError::Empty { what });
    }
    if s.len() > MAX_ID_LEN {
        return Err(IdError::TooLong {
            what,
            max: MAX_ID_LEN,
        });
    }
    if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(IdError::BadCharacter { what });
    }
    Ok(Arc::from(s))
}

/// One binary market on one venue: a Kalshi ticker or a Polymarket condition id.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MarketId {
    pub venue: Venue,
    pub symbol: Arc<str>,
}

impl MarketId {
    pub fn new(venue: Venue, symbol: &str) -> Result<MarketId, IdError> {
        Ok(MarketId {
            venue,
            symbol: checked_symbol("market id", symbol)?,
        })
    }
}

impl fmt::Display for MarketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.venue, self.symbol)
    }
}

impl fmt::Debug for MarketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Something with an order book: a Kalshi market ticker (whose book is quoted
/// in YES prices) or a Polymarket outcome token id.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InstrumentId {
    pub venue: Venue,
    pub symbol: Arc<str>,
}

impl InstrumentId {
    pub fn new(venue: Venue, symbol: &str) -> Result<InstrumentId, IdError> {
        Ok(InstrumentId {
            venue,
            symbol: checked_symbol("instrument id", symbol)?,
        })
    }
}

impl fmt::Display for InstrumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.venue, self.symbol)
    }
}

impl fmt::Debug for InstrumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The outcome a binary contract pays on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Yes,
    No,
}

impl Outcome {
    pub fn opposite(self) -> Outcome {
        match self {
            Outcome::Yes => Outcome::No,
            Outcome::No => Outcome::Yes,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Yes => "yes",
            Outcome::No => "no",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an order buys or sells the outcome it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The side of Kalshi's YES-quoted book an order goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KalshiBookSide {
    /// Buy YES (equivalently, sell NO).
    Bid,
    /// Sell YES (equivalently, buy NO).
    Ask,
}

/// A Kalshi V2 order's wire side and YES price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KalshiOrderSide {
    pub book_side: KalshiBookSide,
    pub yes_price: Price,
}

impl KalshiOrderSide {
    /// Maps "buy/sell `outcome` at `price`" onto Kalshi's bid/ask in YES
    /// prices: buying NO at q is an ask at 1 - q; selling NO at q a bid at 1 - q.
    pub fn from_intent(outcome: Outcome, side: Side, price: Price) -> KalshiOrderSide {
        match (outcome, side) {
            (Outcome::Yes, Side::Buy) => KalshiOrderSide {
                book_side: KalshiBookSide::Bid,
                yes_price: price,
            },
            (Outcome::Yes, Side::Sell) => KalshiOrderSide {
                book_side: KalshiBookSide::Ask,
                yes_price: price,
            },
            (Outcome::No, Side::Buy) => KalshiOrderSide {
                book_side: KalshiBookSide::Ask,
                yes_price: price.complement(),
            },
            (Outcome::No, Side::Sell) => KalshiOrderSide {
                book_side: KalshiBookSide::Bid,
                yes_price: price.complement(),
            },
        }
    }

    /// The inverse of [`KalshiOrderSide::from_intent`] for a chosen outcome.
    pub fn to_intent(self, outcome: Outcome) -> (Side, Price) {
        match (outcome, self.book_side) {
            (Outcome::Yes, KalshiBookSide::Bid) => (Side::Buy, self.yes_price),
            (Outcome::Yes, KalshiBookSide::Ask) => (Side::Sell, self.yes_price),
            (Outcome::No, KalshiBookSide::Ask) => (Side::Buy, self.yes_price.complement()),
            (Outcome::No, KalshiBookSide::Bid) => (Side::Sell, self.yes_price.complement()),
        }
    }
}

/// Orion's idempotency key for one order: sent as Kalshi's `client_order_id`
/// and journaled before the order is sent. A UUID in text form.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientOrderId(Arc<str>);

impl ClientOrderId {
    pub fn new(id: &str) -> Result<ClientOrderId, IdError> {
        checked_symbol("client order id", id).map(ClientOrderId)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ClientOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientOrderId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kalshi_side_mapping_round_trips() {
        let q = Price::parse("0.56").unwrap();
        let buy_no = KalshiOrderSide::from_intent(Outcome::No, Side::Buy, q);
        assert_eq!(buy_no.book_side, KalshiBookSide::Ask);
        assert_eq!(buy_no.yes_price, Price::parse("0.44").unwrap());
        for outcome in [Outcome::Yes, Outcome::No] {
            for side in [Side::Buy, Side::Sell] {
                let wire = KalshiOrderSide::from_intent(outcome, side, q);
                assert_eq!(wire.to_intent(outcome), (side, q));
            }
        }
    }

    #[test]
    fn identifiers_reject_garbage() {
        assert!(MarketId::new(Venue::Kalshi, "").is_err());
        assert!(MarketId::new(Venue::Kalshi, "A B").is_err());
        assert!(InstrumentId::new(Venue::Polymarket, &"1".repeat(200)).is_err());
        assert_eq!("kalshi".parse::<Venue>(), Ok(Venue::Kalshi));
        assert!("binance".parse::<Venue>().is_err());
    }
}
