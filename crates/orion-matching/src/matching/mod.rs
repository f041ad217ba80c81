//! Cross-venue market matching: which Kalshi market and which Polymarket
//! market are the same proposition, and which Polymarket outcome pays when
//! Kalshi YES pays.
//!
//! Pipeline: [`catalog`] decodes the venues' native JSON; [`normalize`] and
//! [`entities`] turn text into canonical tokens and entities; [`features`]
//! describes each market venue-neutrally; [`matcher`] blocks candidates by
//! entity and date, compares resolution terms (every difference a named
//! [`Flag`], threshold/direction/period/date differences blocking), orients
//! YES/NO and assigns one-to-one; [`eval`] scores proposals against labels
//! and [`hardset`] generates near-miss test sets and benchmark catalogs.

pub mod catalog;
pub mod entities;
pub mod eval;
pub mod features;
pub mod gazetteer;
pub mod hardset;
pub mod matcher;
pub mod normalize;

pub use catalog::{
    CatalogError, KalshiMarket, PolyMarket, parse_kalshi_markets, parse_kalshi_markets_lenient,
    parse_polymarket_markets, parse_polymarket_markets_lenient,
};
pub use eval::{Evaluation, Label, evaluate, parse_labels};
pub use matcher::{Flag, MatchConfig, MatchOutcome, Orientation, Proposal, match_catalogs};
