//! Cross-venue market matching: which Kalshi market and which Polymarket
//! market are the same proposition, and which Polymarket outcome pays when
//! Kalshi YES pays.
//!
//! Policy: a wrong pair is a guaranteed loss, a missed pair only a missed
//! trade. So the matcher is hard rules first and a score second. Any
//! difference in what the contracts pay on (threshold, comparator or its
//! boundary, unit, period, market type, event date, season, league,
//! participants, subject) blocks the pair outright; an orientation that
//! cannot be established blocks it too. Remaining differences (close times,
//! resolution sources, a one-day date offset in tennis, an unstated year,
//! an orientation taken from a venue convention) are named [`Flag`]s on the
//! proposal for the operator who confirms it. Proposals are never traded
//! live unconfirmed.
//!
//! Orientation is established from outcome *text* ("Yes"/"No", team names
//! resolved through the gazetteer), never from the position of a token in
//! `clobTokenIds`. Where a venue publishes no outcomes at all (Polymarket US
//! long/short markets, slug-only records), the documented convention is
//! used and the proposal carries [`Flag::OrientationByConvention`].
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
