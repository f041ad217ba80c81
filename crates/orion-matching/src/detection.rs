//! Opportunity detection: where the edge is, at a size both books can fill.
//!
//! For a confirmed pair, each direction (Kalshi YES + the Polymarket outcome
//! that pays when Kalshi says NO, and the reverse) is priced by walking both
//! ask ladders *jointly* with equal contract counts: every contract bought on
//! one venue is matched by one on the other, so the pair pays exactly $1
//! whichever way the event resolves. The walk advances segment by segment
//! (the smaller of the two current levels) and stops at the first contract
//! whose marginal cost, including both venues' fees, no longer clears the
//! edge threshold. Because a contract's price plus its fee rises with its
//! price on both venues' formulas, the marginal edge never improves further
//! down the ladders, so stopping at the first failure finds the largest size.
//!
//! The size is then cut to the lots both venues accept, and the totals are
//! recomputed exactly: per-level fees rounded up, the Kalshi leg's debit
//! rounded up to the cent, costs up, proceeds down. No floating point.

use std::collections::HashMap;
use std::sync::Arc;

use orion_core::{
    Cash, Clock, FeeError, FeeSchedule, InstrumentId, Level, MarketId, Notional, OrderBook,
    Outcome, Price, Quantity, Rounding, TickSize, Timestamp, Venue,
};
use serde::{Deserialize, Serialize};

/// Everything detection needs to know about one tradeable pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairSpec {
    pub pair_id: Arc<str>,
    /// Groups pairs of the same event, for exposure limits.
    pub event_key: Arc<str>,
    pub kalshi_market: MarketId,
    /// The Kalshi market's (YES-quoted) book.
    pub kalshi_instrument: InstrumentId,
    pub polymarket_market: MarketId,
    pub polymarket_yes: InstrumentId,
    pub polymarket_no: InstrumentId,
    /// True when Polymarket's YES token pays when Kalshi's NO does.
    pub inverted: bool,
    pub kalshi_fees: FeeSchedule,
    pub polymarket_fees: FeeSchedule,
    pub polymarket_tick: TickSize,
    /// Polymarket's minimum order size, in shares.
    pub polymarket_min_size: Quantity,
    /// When both markets resolve (the later of the two).
    pub resolves_at: Timestamp,
}

impl PairSpec {
    /// The Polymarket token that pays when Kalshi's `kalshi_outcome` does.
    pub fn polymarket_token_for(&self, kalshi_outcome: Outcome) -> (&InstrumentId, Outcome) {
        let poly_outcome = if self.inverted {
            kalshi_outcome.opposite()
        } else {
            kalshi_outcome
        };
        match poly_outcome {
            Outcome::Yes => (&self.polymarket_yes, Outcome::Yes),
            Outcome::No => (&self.polymarket_no, Outcome::No),
        }
    }

    /// The contract step both venues accept for this pair. Kalshi counts in
    /// 0.01; Polymarket FOK/FAK buys need `size × price` to have at most two
    /// decimals, so the size must be a multiple of `0.01 / tick`.
    pub fn lot(&self) -> Quantity {
        // 0.01 contract = 10_000 micro; 0.01 / tick = 10_000 × 1e6 / tick_micros micro.
        let poly = 10_000_000_000 / u64::from(self.polymarket_tick.micros());
        Quantity::from_micros(poly.max(10_000))
    }
}

/// Which Kalshi outcome a direction buys (the Polymarket leg buys the other).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Buy YES on Kalshi, and the Polymarket token that pays on Kalshi's NO.
    KalshiYes,
    /// Buy NO on Kalshi, and the Polymarket token that pays on Kalshi's YES.
    KalshiNo,
}

impl Direction {
    pub const BOTH: [Direction; 2] = [Direction::KalshiYes, Direction::KalshiNo];

    pub fn kalshi_outcome(self) -> Outcome {
        match self {
            Direction::KalshiYes => Outcome::Yes,
            Direction::KalshiNo => Outcome::No,
        }
    }
}

/// Detection thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetectionParams {
    /// The marginal contract must clear this net edge (dollars per contract).
    pub min_edge: Price,
    /// Beyond `horizon_days`, the marginal contract must clear this instead.
    pub min_edge_beyond_horizon: Price,
    pub horizon_days: u32,
    /// The whole opportunity must make at least this much.
    pub min_profit: Cash,
    /// Added to each leg's marginal price to form its limit price.
    pub slippage: Price,
    /// Never size above this many contracts (risk applies its own caps later).
    pub max_size: Quantity,
}

/// One leg of an opportunity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegPlan {
    pub venue: Venue,
    pub market: MarketId,
    pub instrument: InstrumentId,
    /// The venue-local outcome bought.
    pub outcome: Outcome,
    pub quantity: Quantity,
    /// The best and the marginal (worst) price walked.
    pub best_price: Price,
    pub marginal_price: Price,
    /// Marginal price plus slippage, on the venue's grid: the order's limit.
    pub limit_price: Price,
    /// Exact cost of the walked levels, rounded up.
    pub cost: Cash,
    /// Fees of the walked levels, each rounded up.
    pub fees: Cash,
}

/// A priced, sized arbitrage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opportunity {
    pub pair_id: Arc<str>,
    pub event_key: Arc<str>,
    pub direction: Direction,
    pub quantity: Quantity,
    pub legs: [LegPlan; 2],
    /// Both legs' cost and fees.
    pub total_cost: Cash,
    /// `quantity × $1`: what the pair pays at settlement.
    pub payout: Cash,
    pub net_profit: Cash,
    /// Net profit if every contract filled at its leg's limit price.
    pub worst_case_profit: Cash,
    /// Net edge of the last contract, in micro-dollars (may be below average).
    pub marginal_edge: Price,
    /// Average net edge per contract.
    pub average_edge: Price,
    /// Net profit over capital, annualized, in basis points.
    pub annualized_return_bps: u64,
    pub days_to_resolution: u32,
    pub detected_at: Timestamp,
}

/// Why a pair could not be evaluated (as opposed to having no edge).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DetectionError {
    #[error("pair {pair}: {venue} book for {instrument} is not synced")]
    BookNotReady {
        pair: String,
        venue: Venue,
        instrument: String,
    },
    #[error("pair {pair}: fee computation failed: {source}")]
    Fee {
        pair: String,
        #[source]
        source: FeeError,
    },
    #[error("pair {pair} resolved already")]
    Resolved { pair: String },
}

const ATTO_PER_MICRO: u128 = 1_000_000_000_000;
const ONE_DOLLAR_ATTO: u128 = 1_000_000_000_000_000_000;

fn fee_err(pair: &str) -> impl Fn(FeeError) -> DetectionError + '_ {
    move |source| DetectionError::Fee {
        pair: pair.to_string(),
        source,
    }
}

/// A cursor over a ladder with partly consumed levels.
struct Cursor<I: Iterator<Item = Level>> {
    levels: I,
    current: Option<Level>,
}

impl<I: Iterator<Item = Level>> Cursor<I> {
    fn new(mut levels: I) -> Self {
        let current = levels.next();
        Cursor { levels, current }
    }

    fn consume(&mut self, qty: Quantity) {
        if let Some(level) = &mut self.current {
            level.qty = level.qty.saturating_sub(qty);
            if level.qty.is_zero() {
                self.current = self.levels.next();
            }
        }
    }
}

/// The levels at which a Kalshi outcome can be bought from its YES-quoted
/// book: the asks for YES, the complement of the bids for NO. An enum rather
/// than a boxed iterator: this runs on every book event.
enum KalshiBuyLevels<'a> {
    Yes(std::slice::Iter<'a, Level>),
    No(std::slice::Iter<'a, Level>),
}

impl<'a> KalshiBuyLevels<'a> {
    fn new(book: &'a OrderBook, outcome: Outcome) -> Self {
        match outcome {
            Outcome::Yes => KalshiBuyLevels::Yes(book.asks().levels().iter()),
            Outcome::No => KalshiBuyLevels::No(book.bids().levels().iter()),
        }
    }
}

impl Iterator for KalshiBuyLevels<'_> {
    type Item = Level;
    fn next(&mut self) -> Option<Level> {
        match self {
            KalshiBuyLevels::Yes(it) => it.next().copied(),
            KalshiBuyLevels::No(it) => it.next().map(|l| Level::new(l.price.complement(), l.qty)),
        }
    }
}

/// Walks two buy ladders jointly; returns the largest equal size (before
/// lots) whose marginal contract clears `min_edge_atto`, with the marginal
/// prices and the marginal edge.
fn joint_walk(
    a_levels: impl Iterator<Item = Level>,
    b_levels: impl Iterator<Item = Level>,
    a_fees: &FeeSchedule,
    b_fees: &FeeSchedule,
    min_edge_atto: u128,
    max_size: Quantity,
) -> Result<Option<(Quantity, u128)>, FeeError> {
    let mut a = Cursor::new(a_levels);
    let mut b = Cursor::new(b_levels);
    let mut size = Quantity::ZERO;
    let mut last_edge = None;
    while let (Some(la), Some(lb)) = (a.current, b.current) {
        if size >= max_size {
            break;
        }
        let cost = u128::from(la.price.micros() + lb.price.micros()) * ATTO_PER_MICRO
            + a_fees.taker_fee_per_contract_atto(la.price)?
            + b_fees.taker_fee_per_contract_atto(lb.price)?;
        if cost + min_edge_atto > ONE_DOLLAR_ATTO {
            break;
        }
        let take = la.qty.min(lb.qty).min(max_size.saturating_sub(size));
        size = size.checked_add(take).unwrap_or(Quantity::MAX);
        last_edge = Some(ONE_DOLLAR_ATTO - cost);
        a.consume(take);
        b.consume(take);
    }
    Ok(last_edge.map(|edge| (size, edge)))
}

/// Prices buying `qty` from `levels`: (cost rounded up, per-level fees, best, marginal).
fn price_leg(
    levels: impl Iterator<Item = Level>,
    qty: Quantity,
    fees: &FeeSchedule,
) -> Result<(Notional, Cash, Price, Price), FeeError> {
    let mut remaining = qty;
    let mut notional = Notional::ZERO;
    let mut fee_total = Cash::ZERO;
    let mut best = None;
    let mut marginal = Price::ZERO;
    for level in levels {
        if remaining.is_zero() {
            break;
        }
        let take = remaining.min(level.qty);
        notional = Notional::from_picos(notional.picos() + level.price.notional(take).picos());
        fee_total = fee_total.saturating_add(fees.taker_fee(take, level.price)?);
        best.get_or_insert(level.price);
        marginal = level.price;
        remaining = remaining.saturating_sub(take);
    }
    Ok((notional, fee_total, best.unwrap_or(marginal), marginal))
}

/// Evaluates both directions of one pair; the better opportunity, if any.
pub fn evaluate_pair(
    pair: &PairSpec,
    kalshi: &OrderBook,
    polymarket_yes: &OrderBook,
    polymarket_no: &OrderBook,
    params: &DetectionParams,
    now: Timestamp,
) -> Result<Option<Opportunity>, DetectionError> {
    for (book, venue, instrument) in [
        (kalshi, Venue::Kalshi, &pair.kalshi_instrument),
        (polymarket_yes, Venue::Polymarket, &pair.polymarket_yes),
        (polymarket_no, Venue::Polymarket, &pair.polymarket_no),
    ] {
        if !book.is_synced() {
            return Err(DetectionError::BookNotReady {
                pair: pair.pair_id.to_string(),
                venue,
                instrument: instrument.symbol.to_string(),
            });
        }
    }
    if now >= pair.resolves_at {
        return Err(DetectionError::Resolved {
            pair: pair.pair_id.to_string(),
        });
    }
    if !may_have_edge(pair, kalshi, polymarket_yes, polymarket_no, params) {
        return Ok(None);
    }
    evaluate_directions(pair, kalshi, polymarket_yes, polymarket_no, params, now)
}

/// False when neither direction can have an edge even at the lower of the
/// two edge thresholds: the best asks alone (fees are never negative) cost
/// too much. Nearly every book event ends here, so this avoids the per-direction
/// set-up (days to resolution, a division) that [`evaluate_direction`] needs.
/// [`evaluate_direction`] repeats the check with the exact threshold, so
/// passing it changes nothing about the result.
#[inline]
fn may_have_edge(
    pair: &PairSpec,
    kalshi: &OrderBook,
    polymarket_yes: &OrderBook,
    polymarket_no: &OrderBook,
    params: &DetectionParams,
) -> bool {
    let min_edge = u64::from(
        params
            .min_edge
            .micros()
            .min(params.min_edge_beyond_horizon.micros()),
    );
    Direction::BOTH.into_iter().any(|direction| {
        let kalshi_outcome = direction.kalshi_outcome();
        let (_, poly_outcome) = pair.polymarket_token_for(kalshi_outcome.opposite());
        let poly_book = match poly_outcome {
            Outcome::Yes => polymarket_yes,
            Outcome::No => polymarket_no,
        };
        match (
            KalshiBuyLevels::new(kalshi, kalshi_outcome).next(),
            poly_book.asks().levels().first(),
        ) {
            (Some(k), Some(p)) => {
                u64::from(k.price.micros()) + u64::from(p.price.micros()) + min_edge <= 1_000_000
            }
            _ => false,
        }
    })
}

/// Both directions, fully evaluated; the better opportunity, if any.
fn evaluate_directions(
    pair: &PairSpec,
    kalshi: &OrderBook,
    polymarket_yes: &OrderBook,
    polymarket_no: &OrderBook,
    params: &DetectionParams,
    now: Timestamp,
) -> Result<Option<Opportunity>, DetectionError> {
    let mut best: Option<Opportunity> = None;
    for direction in Direction::BOTH {
        let found = evaluate_direction(
            pair,
            direction,
            kalshi,
            polymarket_yes,
            polymarket_no,
            params,
            now,
        )?;
        if let Some(o) = found
            && best.as_ref().is_none_or(|b| o.net_profit > b.net_profit)
        {
            best = Some(o);
        }
    }
    Ok(best)
}

fn evaluate_direction(
    pair: &PairSpec,
    direction: Direction,
    kalshi: &OrderBook,
    polymarket_yes: &OrderBook,
    polymarket_no: &OrderBook,
    params: &DetectionParams,
    now: Timestamp,
) -> Result<Option<Opportunity>, DetectionError> {
    let kalshi_outcome = direction.kalshi_outcome();
    let (poly_instrument, poly_outcome) = pair.polymarket_token_for(kalshi_outcome.opposite());
    let poly_book = match poly_outcome {
        Outcome::Yes => polymarket_yes,
        Outcome::No => polymarket_no,
    };
    let kalshi_levels = || KalshiBuyLevels::new(kalshi, kalshi_outcome);

    let days = days_between(now, pair.resolves_at);
    let min_edge = if days > params.horizon_days {
        params.min_edge_beyond_horizon
    } else {
        params.min_edge
    };
    // Fees are never negative: when the two best asks alone leave no edge,
    // nothing deeper can (most book events end here, cheaply).
    match (kalshi_levels().next(), poly_book.buy_levels().next()) {
        (Some(k), Some(p))
            if k.price.micros() + p.price.micros() + min_edge.micros() <= 1_000_000 => {}
        _ => return Ok(None),
    }
    let min_edge_atto = u128::from(min_edge.micros()) * ATTO_PER_MICRO;
    let fee_error = fee_err(&pair.pair_id);

    let Some((raw_size, marginal_edge_atto)) = joint_walk(
        kalshi_levels(),
        poly_book.buy_levels(),
        &pair.kalshi_fees,
        &pair.polymarket_fees,
        min_edge_atto,
        params.max_size,
    )
    .map_err(&fee_error)?
    else {
        return Ok(None);
    };

    let lot = pair.lot();
    let quantity = Quantity::from_micros(raw_size.micros() / lot.micros() * lot.micros());
    if quantity.is_zero() || quantity < pair.polymarket_min_size {
        return Ok(None);
    }

    let (k_notional, k_fees, k_best, k_marginal) =
        price_leg(kalshi_levels(), quantity, &pair.kalshi_fees).map_err(&fee_error)?;
    let (p_notional, p_fees, p_best, p_marginal) =
        price_leg(poly_book.buy_levels(), quantity, &pair.polymarket_fees).map_err(&fee_error)?;

    // Kalshi debits each fill rounded to the cent for non-direct members: a
    // leg's total is rounded up to the cent to stay on the safe side.
    let k_cost = k_notional.to_cash(Rounding::Up).unwrap_or(Cash::MAX);
    let k_total = k_cost
        .saturating_add(k_fees)
        .round_to_decimals(2, Rounding::Up)
        .unwrap_or(Cash::MAX);
    let p_cost = p_notional.to_cash(Rounding::Up).unwrap_or(Cash::MAX);
    let p_total = p_cost.saturating_add(p_fees);
    let total_cost = k_total.saturating_add(p_total);
    let payout = Price::ONE
        .notional(quantity)
        .to_cash(Rounding::Down)
        .unwrap_or(Cash::ZERO);
    let net_profit = payout.saturating_sub(total_cost);
    if net_profit < params.min_profit || net_profit <= Cash::ZERO {
        return Ok(None);
    }

    let k_limit = limit_price(k_marginal, params.slippage, None);
    let p_limit = limit_price(p_marginal, params.slippage, Some(pair.polymarket_tick));
    let worst_case_profit =
        worst_case(pair, quantity, k_limit, p_limit, payout).map_err(&fee_error)?;
    if worst_case_profit < Cash::ZERO {
        // Slippage could turn this into a guaranteed loss: shrink nothing,
        // simply do not propose it.
        return Ok(None);
    }

    let average_edge = Notional::from_picos(net_profit.to_notional().picos())
        .per_contract(quantity, Rounding::Down)
        .unwrap_or(Price::ZERO);
    let marginal_edge = Price::from_micros_clamped(
        u32::try_from(marginal_edge_atto / ATTO_PER_MICRO).unwrap_or(u32::MAX),
    );
    let annualized_return_bps = annualized_bps(net_profit, total_cost, days);

    let kalshi_leg = LegPlan {
        venue: Venue::Kalshi,
        market: pair.kalshi_market.clone(),
        instrument: pair.kalshi_instrument.clone(),
        outcome: kalshi_outcome,
        quantity,
        best_price: k_best,
        marginal_price: k_marginal,
        limit_price: k_limit,
        cost: k_cost,
        fees: k_total.saturating_sub(k_cost),
    };
    let poly_leg = LegPlan {
        venue: Venue::Polymarket,
        market: pair.polymarket_market.clone(),
        instrument: poly_instrument.clone(),
        outcome: poly_outcome,
        quantity,
        best_price: p_best,
        marginal_price: p_marginal,
        limit_price: p_limit,
        cost: p_cost,
        fees: p_fees,
    };
    Ok(Some(Opportunity {
        pair_id: pair.pair_id.clone(),
        event_key: pair.event_key.clone(),
        direction,
        quantity,
        legs: [kalshi_leg, poly_leg],
        total_cost,
        payout,
        net_profit,
        worst_case_profit,
        marginal_edge,
        average_edge,
        annualized_return_bps,
        days_to_resolution: days,
        detected_at: now,
    }))
}

/// The marginal price plus slippage, snapped down onto the venue's grid (a
/// limit above the grid would be refused), never above $1 minus one tick.
fn limit_price(marginal: Price, slippage: Price, tick: Option<TickSize>) -> Price {
    let raw = marginal.saturating_add(slippage);
    match tick {
        Some(t) => {
            let max = Price::from_micros_clamped(1_000_000 - t.micros());
            let snapped = raw
                .round_to_step(t.micros(), Rounding::Down)
                .unwrap_or(marginal);
            snapped.min(max).max(marginal)
        }
        // Kalshi grids vary by market; a cent step is valid on all of them.
        None => {
            let snapped = raw
                .round_to_step(10_000, Rounding::Down)
                .unwrap_or(marginal);
            snapped
                .min(Price::from_micros_clamped(990_000))
                .max(marginal)
        }
    }
}

/// Net profit if both legs filled entirely at their limit prices.
fn worst_case(
    pair: &PairSpec,
    qty: Quantity,
    k_limit: Price,
    p_limit: Price,
    payout: Cash,
) -> Result<Cash, FeeError> {
    let k = k_limit
        .notional(qty)
        .to_cash(Rounding::Up)
        .unwrap_or(Cash::MAX)
        .saturating_add(pair.kalshi_fees.taker_fee(qty, k_limit)?)
        .round_to_decimals(2, Rounding::Up)
        .unwrap_or(Cash::MAX);
    let p = p_limit
        .notional(qty)
        .to_cash(Rounding::Up)
        .unwrap_or(Cash::MAX)
        .saturating_add(pair.polymarket_fees.taker_fee(qty, p_limit)?);
    Ok(payout.saturating_sub(k).saturating_sub(p))
}

fn days_between(now: Timestamp, later: Timestamp) -> u32 {
    let secs = later.secs().saturating_sub(now.secs()).max(0);
    // At least one day: capital is tied up until settlement either way.
    u32::try_from(secs.div_euclid(86_400) + i64::from(secs % 86_400 != 0))
        .unwrap_or(u32::MAX)
        .max(1)
}

/// `profit / capital × 365 / days`, in basis points, rounded down.
fn annualized_bps(profit: Cash, capital: Cash, days: u32) -> u64 {
    if capital <= Cash::ZERO || profit <= Cash::ZERO {
        return 0;
    }
    let numerator = i128::from(profit.micros()) * 10_000 * 365;
    let denominator = i128::from(capital.micros()) * i128::from(days.max(1));
    u64::try_from(numerator / denominator).unwrap_or(u64::MAX)
}

/// Sorts opportunities best first: by net edge per contract, then by
/// annualized return (capital velocity), then by profit.
pub fn rank(opportunities: &mut [Opportunity]) {
    opportunities.sort_by(|a, b| {
        b.average_edge
            .cmp(&a.average_edge)
            .then(b.annualized_return_bps.cmp(&a.annualized_return_bps))
            .then(b.net_profit.cmp(&a.net_profit))
            .then(a.pair_id.cmp(&b.pair_id))
    });
}

/// Tracks which pairs each instrument belongs to, so a book event
/// re-evaluates only the pairs it can change.
#[derive(Debug, Default, Clone)]
pub struct PairIndex {
    pairs: Vec<PairSpec>,
    by_instrument: HashMap<InstrumentId, Vec<usize>>,
}

impl PairIndex {
    pub fn new(pairs: Vec<PairSpec>) -> PairIndex {
        let mut by_instrument: HashMap<InstrumentId, Vec<usize>> = HashMap::new();
        for (i, pair) in pairs.iter().enumerate() {
            for instrument in [
                &pair.kalshi_instrument,
                &pair.polymarket_yes,
                &pair.polymarket_no,
            ] {
                by_instrument.entry(instrument.clone()).or_default().push(i);
            }
        }
        PairIndex {
            pairs,
            by_instrument,
        }
    }

    pub fn pairs(&self) -> &[PairSpec] {
        &self.pairs
    }

    /// Indices of the pairs that contain `instrument`.
    pub fn affected(&self, instrument: &InstrumentId) -> &[usize] {
        self.by_instrument
            .get(instrument)
            .map_or(&[], Vec::as_slice)
    }

    pub fn get(&self, index: usize) -> Option<&PairSpec> {
        self.pairs.get(index)
    }

    /// Every instrument any pair needs a book for.
    pub fn instruments(&self) -> impl Iterator<Item = &InstrumentId> {
        self.by_instrument.keys()
    }
}

/// Re-evaluates the pairs an instrument's book change affects.
pub fn on_book_change<'a>(
    index: &PairIndex,
    instrument: &InstrumentId,
    books: impl Fn(&InstrumentId) -> Option<&'a OrderBook>,
    params: &DetectionParams,
    clock: &dyn Clock,
) -> Vec<Result<Option<Opportunity>, DetectionError>> {
    let now = clock.now();
    index
        .affected(instrument)
        .iter()
        .filter_map(|&i| index.get(i))
        .map(|pair| {
            let lookup = |id: &InstrumentId, venue: Venue| {
                books(id).ok_or_else(|| DetectionError::BookNotReady {
                    pair: pair.pair_id.to_string(),
                    venue,
                    instrument: id.symbol.to_string(),
                })
            };
            let k = lookup(&pair.kalshi_instrument, Venue::Kalshi)?;
            let y = lookup(&pair.polymarket_yes, Venue::Polymarket)?;
            let n = lookup(&pair.polymarket_no, Venue::Polymarket)?;
            evaluate_pair(pair, k, y, n, params, now)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use orion_core::{Rate, SimulatedClock};
    use proptest::prelude::*;

    fn p(s: &str) -> Price {
        Price::parse(s).unwrap()
    }
    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap()
    }
    fn cash(s: &str) -> Cash {
        Cash::parse(s).unwrap()
    }
    fn lv(price: &str, qty: &str) -> Level {
        Level::new(p(price), q(qty))
    }

    const DAY: i64 = 86_400;

    fn pair(inverted: bool, poly_fees: FeeSchedule, tick: TickSize) -> PairSpec {
        PairSpec {
            pair_id: Arc::from("FED-DEC"),
            event_key: Arc::from("FED"),
            kalshi_market: MarketId::new(Venue::Kalshi, "KXFED-26DEC-T4.00").unwrap(),
            kalshi_instrument: InstrumentId::new(Venue::Kalshi, "KXFED-26DEC-T4.00").unwrap(),
            polymarket_market: MarketId::new(Venue::Polymarket, "0xcond").unwrap(),
            polymarket_yes: InstrumentId::new(Venue::Polymarket, "111").unwrap(),
            polymarket_no: InstrumentId::new(Venue::Polymarket, "222").unwrap(),
            inverted,
            kalshi_fees: FeeSchedule::Kalshi {
                fee_type: orion_core::KalshiFeeType::Quadratic,
                multiplier: Rate::ONE,
            },
            polymarket_fees: poly_fees,
            polymarket_tick: tick,
            polymarket_min_size: q("1"),
            resolves_at: Timestamp::from_secs(30 * DAY),
        }
    }

    fn poly_linear(rate: &str) -> FeeSchedule {
        FeeSchedule::Polymarket {
            rate: Rate::parse(rate).unwrap(),
            exponent: 1,
        }
    }

    fn params(min_edge: &str, min_profit: &str) -> DetectionParams {
        DetectionParams {
            min_edge: p(min_edge),
            min_edge_beyond_horizon: p("0.05"),
            horizon_days: 60,
            min_profit: cash(min_profit),
            slippage: Price::ZERO,
            max_size: q("1000000"),
        }
    }

    /// A Kalshi book in YES terms from YES asks (i.e. NO bids) and YES bids.
    fn kalshi(yes_bids: &[Level], yes_asks: &[Level]) -> OrderBook {
        let mut b = OrderBook::new();
        b.apply_snapshot(
            yes_bids.iter().copied(),
            yes_asks.iter().copied(),
            Some(1),
            None,
            Timestamp::ZERO,
        )
        .unwrap();
        b
    }

    fn token(bids: &[Level], asks: &[Level]) -> OrderBook {
        let mut b = OrderBook::new();
        b.apply_snapshot(
            bids.iter().copied(),
            asks.iter().copied(),
            None,
            None,
            Timestamp::ZERO,
        )
        .unwrap();
        b
    }

    #[test]
    fn clear_edge_hand_computed() {
        let pair = pair(false, poly_linear("0.04"), TickSize::Hundredth);
        let k = kalshi(&[lv("0.38", "10")], &[lv("0.40", "10")]);
        let yes = token(&[], &[lv("0.52", "50")]);
        let no = token(&[], &[lv("0.50", "10")]);
        let o = evaluate_pair(
            &pair,
            &k,
            &yes,
            &no,
            &params("0.01", "0.10"),
            Timestamp::ZERO,
        )
        .unwrap()
        .expect("an opportunity");
        assert_eq!(o.direction, Direction::KalshiYes);
        assert_eq!(o.quantity, q("10"));
        assert_eq!(o.legs[0].quantity, o.legs[1].quantity);
        // Kalshi: 4.00 + fee 0.168 = 4.168 -> 4.17 (cent). Polymarket: 5.00 + 0.10.
        assert_eq!(o.legs[0].cost, cash("4.00"));
        assert_eq!(o.legs[0].fees, cash("0.17"));
        assert_eq!(o.legs[1].cost, cash("5.00"));
        assert_eq!(o.legs[1].fees, cash("0.10"));
        assert_eq!(o.total_cost, cash("9.27"));
        assert_eq!(o.payout, cash("10"));
        assert_eq!(o.net_profit, cash("0.73"));
        assert_eq!(o.average_edge, p("0.073"));
        // Marginal: 1 - 0.40 - 0.50 - 0.0168 - 0.01 = 0.0732.
        assert_eq!(o.marginal_edge, p("0.0732"));
        assert_eq!(o.legs[1].instrument.symbol.as_ref(), "222");
        assert_eq!(o.legs[1].outcome, Outcome::No);
        assert_eq!(o.days_to_resolution, 30);
        // 0.73 / 9.27 × 365 / 30 = 0.95811.. -> 9581 bps.
        assert_eq!(o.annualized_return_bps, 9581);
    }

    #[test]
    fn top_of_book_edge_without_depth_is_sized_to_the_top() {
        let pair = pair(false, poly_linear("0.04"), TickSize::Hundredth);
        // One contract at 0.40, then 0.55: 0.55 + 0.50 > 1 before fees.
        let k = kalshi(&[], &[lv("0.40", "1"), lv("0.55", "100")]);
        let yes = token(&[], &[]);
        let no = token(&[], &[lv("0.50", "100")]);
        let o = evaluate_pair(
            &pair,
            &k,
            &yes,
            &no,
            &params("0.01", "0.05"),
            Timestamp::ZERO,
        )
        .unwrap()
        .expect("one contract clears");
        assert_eq!(o.quantity, q("1"));
        // 0.4168 -> 0.42; 0.51; net 0.07.
        assert_eq!(o.net_profit, cash("0.07"));
        // The same books with a $0.50 minimum profit: not worth it at real size.
        assert_eq!(
            evaluate_pair(
                &pair,
                &k,
                &yes,
                &no,
                &params("0.01", "0.50"),
                Timestamp::ZERO
            )
            .unwrap(),
            None
        );
    }

    #[test]
    fn fee_rounding_can_flip_the_sign() {
        // Gross edge 0.02; Kalshi's fee 0.01749825 rounds to 0.0175 and the
        // leg's debit 0.5125 rounds to 0.52: the pair loses half a cent.
        let pair = pair(false, poly_linear("0"), TickSize::HalfCent);
        let k = kalshi(&[], &[lv("0.495", "1")]);
        let yes = token(&[], &[]);
        let no = token(&[], &[lv("0.485", "1")]);
        // The marginal test (exact fees) passes with a zero threshold ...
        let edge = joint_walk(
            k.buy_levels(),
            no.buy_levels(),
            &pair.kalshi_fees,
            &pair.polymarket_fees,
            0,
            q("10"),
        )
        .unwrap();
        assert_eq!(edge.map(|(s, _)| s), Some(q("1")));
        // ... but the rounded totals do not: no opportunity.
        assert_eq!(
            evaluate_pair(&pair, &k, &yes, &no, &params("0", "0"), Timestamp::ZERO).unwrap(),
            None
        );
    }

    #[test]
    fn inverted_pair_buys_the_same_named_outcome() {
        // Inverted: Polymarket YES pays when Kalshi NO does, so Kalshi YES pairs
        // with Polymarket YES.
        let pair = pair(true, poly_linear("0"), TickSize::Hundredth);
        let k = kalshi(&[], &[lv("0.40", "5")]);
        let yes = token(&[], &[lv("0.50", "5")]);
        let no = token(&[], &[lv("0.10", "5")]); // cheap, but the wrong hedge
        let o = evaluate_pair(
            &pair,
            &k,
            &yes,
            &no,
            &params("0.01", "0.01"),
            Timestamp::ZERO,
        )
        .unwrap()
        .unwrap();
        assert_eq!(o.direction, Direction::KalshiYes);
        assert_eq!(o.legs[1].instrument.symbol.as_ref(), "111");
        assert_eq!(o.legs[1].outcome, Outcome::Yes);
    }

    #[test]
    fn kalshi_no_is_bought_from_the_yes_bids() {
        let pair = pair(false, poly_linear("0"), TickSize::Hundredth);
        // YES bid 0.62 -> NO ask 0.38; Polymarket YES ask 0.55.
        let k = kalshi(&[lv("0.62", "20")], &[]);
        let yes = token(&[], &[lv("0.55", "20")]);
        let no = token(&[], &[]);
        let o = evaluate_pair(
            &pair,
            &k,
            &yes,
            &no,
            &params("0.01", "0.01"),
            Timestamp::ZERO,
        )
        .unwrap()
        .unwrap();
        assert_eq!(o.direction, Direction::KalshiNo);
        assert_eq!(o.legs[0].outcome, Outcome::No);
        assert_eq!(o.legs[0].marginal_price, p("0.38"));
        assert_eq!(o.quantity, q("20"));
    }

    #[test]
    fn sizes_respect_polymarket_fok_lots() {
        // Tick 0.001: size × price must have two decimals -> multiples of 10.
        let pair = pair(false, poly_linear("0"), TickSize::Thousandth);
        assert_eq!(pair.lot(), q("10"));
        let k = kalshi(&[], &[lv("0.40", "37")]);
        let no = token(&[], &[lv("0.501", "100")]);
        let o = evaluate_pair(
            &pair,
            &k,
            &token(&[], &[]),
            &no,
            &params("0.01", "0.01"),
            Timestamp::ZERO,
        )
        .unwrap()
        .unwrap();
        assert_eq!(o.quantity, q("30"));
    }

    #[test]
    fn beyond_the_horizon_needs_a_higher_edge() {
        let mut pair = pair(false, poly_linear("0"), TickSize::Hundredth);
        pair.resolves_at = Timestamp::from_secs(100 * DAY);
        // Marginal edge 1 - 0.45 - 0.50 - 0.017325 = 0.032675 < 0.05.
        let k = kalshi(&[], &[lv("0.45", "10")]);
        let no = token(&[], &[lv("0.50", "10")]);
        let prm = params("0.01", "0.01");
        assert_eq!(
            evaluate_pair(&pair, &k, &token(&[], &[]), &no, &prm, Timestamp::ZERO).unwrap(),
            None
        );
        pair.resolves_at = Timestamp::from_secs(50 * DAY);
        assert!(
            evaluate_pair(&pair, &k, &token(&[], &[]), &no, &prm, Timestamp::ZERO)
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn unsynced_books_are_errors_not_silence() {
        let pair = pair(false, poly_linear("0"), TickSize::Hundredth);
        let k = kalshi(&[], &[lv("0.40", "10")]);
        let mut no = token(&[], &[lv("0.50", "10")]);
        no.invalidate();
        assert!(matches!(
            evaluate_pair(
                &pair,
                &k,
                &token(&[], &[]),
                &no,
                &params("0.01", "0.01"),
                Timestamp::ZERO
            ),
            Err(DetectionError::BookNotReady { .. })
        ));
    }

    #[test]
    fn slippage_never_allows_a_guaranteed_loss() {
        let pair = pair(false, poly_linear("0"), TickSize::Hundredth);
        let k = kalshi(&[], &[lv("0.45", "10")]);
        let no = token(&[], &[lv("0.50", "10")]);
        let mut prm = params("0.01", "0.01");
        prm.slippage = p("0.03");
        // At the limits (0.48 + 0.53) the pair would lose: refused.
        assert_eq!(
            evaluate_pair(&pair, &k, &token(&[], &[]), &no, &prm, Timestamp::ZERO).unwrap(),
            None
        );
        prm.slippage = p("0.01");
        let o = evaluate_pair(&pair, &k, &token(&[], &[]), &no, &prm, Timestamp::ZERO)
            .unwrap()
            .unwrap();
        assert_eq!(o.legs[0].limit_price, p("0.46"));
        assert_eq!(o.legs[1].limit_price, p("0.51"));
        assert!(o.worst_case_profit >= Cash::ZERO);
    }

    #[test]
    fn incremental_index_touches_only_affected_pairs() {
        let a = pair(false, poly_linear("0"), TickSize::Hundredth);
        let mut b = a.clone();
        b.pair_id = Arc::from("OTHER");
        b.kalshi_instrument = InstrumentId::new(Venue::Kalshi, "KXOTHER").unwrap();
        b.polymarket_yes = InstrumentId::new(Venue::Polymarket, "333").unwrap();
        b.polymarket_no = InstrumentId::new(Venue::Polymarket, "444").unwrap();
        let index = PairIndex::new(vec![a.clone(), b]);
        assert_eq!(index.affected(&a.polymarket_no), &[0]);
        assert_eq!(
            index.affected(&InstrumentId::new(Venue::Kalshi, "KXOTHER").unwrap()),
            &[1]
        );
        let k = kalshi(&[], &[lv("0.40", "10")]);
        let no = token(&[], &[lv("0.50", "10")]);
        let yes = token(&[], &[]);
        let books = |id: &InstrumentId| match id.symbol.as_ref() {
            "KXFED-26DEC-T4.00" => Some(&k),
            "111" => Some(&yes),
            "222" => Some(&no),
            _ => None,
        };
        let clock = SimulatedClock::new(Timestamp::ZERO);
        let results = on_book_change(
            &index,
            &a.kalshi_instrument,
            books,
            &params("0.01", "0.01"),
            &clock,
        );
        assert_eq!(results.len(), 1);
        assert!(matches!(&results[0], Ok(Some(o)) if o.pair_id.as_ref() == "FED-DEC"));
    }

    fn ladder() -> impl Strategy<Value = Vec<(u32, u64)>> {
        prop::collection::btree_map(1u32..100, 1u64..30, 0..8).prop_map(|m| m.into_iter().collect())
    }

    fn levels_of(l: &[(u32, u64)]) -> Vec<Level> {
        l.iter()
            .map(|&(c, n)| {
                Level::new(
                    Price::from_micros(c * 10_000).unwrap(),
                    Quantity::from_contracts(n).unwrap(),
                )
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// The quick rejection in `evaluate_pair` (best asks against the
        /// lower of the two thresholds) never changes the answer: it equals
        /// evaluating both directions in full, for either orientation, both
        /// thresholds, books with and without edges, and any time to resolution.
        #[test]
        fn quick_rejection_gives_the_full_evaluation(
            k_bids in ladder(), k_asks in ladder(), yes_asks in ladder(), no_asks in ladder(),
            inverted in any::<bool>(),
            edge_cents in 0u32..6, beyond_cents in 0u32..6, horizon_days in 0u32..60,
            days_left in 1i64..120, fee_ppm in 0u64..100_000,
        ) {
            let pair = pair(inverted, FeeSchedule::Polymarket { rate: Rate::from_ppm(fee_ppm), exponent: 1 }, TickSize::Hundredth);
            let k = kalshi(&levels_of(&k_bids), &levels_of(&k_asks));
            let yes = token(&[], &levels_of(&yes_asks));
            let no = token(&[], &levels_of(&no_asks));
            let prm = DetectionParams {
                min_edge: Price::from_micros(edge_cents * 10_000).unwrap(),
                min_edge_beyond_horizon: Price::from_micros(beyond_cents * 10_000).unwrap(),
                horizon_days,
                min_profit: Cash::ZERO,
                slippage: Price::ZERO,
                max_size: q("1000000"),
            };
            let now = Timestamp::from_secs(30 * DAY - days_left * DAY / 2);
            let quick = evaluate_pair(&pair, &k, &yes, &no, &prm, now);
            let full = evaluate_directions(&pair, &k, &yes, &no, &prm, now);
            prop_assert_eq!(quick, full);
        }

        /// Equal contracts on both legs; profit adds up; and the size is the
        /// largest lot multiple whose marginal contract clears the threshold
        /// (checked against a brute-force scan).
        #[test]
        fn size_matches_brute_force(k_asks in ladder(), poly_asks in ladder(), edge_cents in 0u32..5, fee_ppm in 0u64..100_000) {
            let pair = pair(false, FeeSchedule::Polymarket { rate: Rate::from_ppm(fee_ppm), exponent: 1 }, TickSize::Hundredth);
            let to_levels = |l: &[(u32, u64)]| l.iter().map(|&(c, n)| Level::new(Price::from_micros(c * 10_000).unwrap(), Quantity::from_contracts(n).unwrap())).collect::<Vec<_>>();
            let k = kalshi(&[], &to_levels(&k_asks));
            let no = token(&[], &to_levels(&poly_asks));
            let prm = DetectionParams { min_profit: Cash::ZERO, ..params(&format!("0.{edge_cents:02}"), "0") };
            let found = evaluate_pair(&pair, &k, &token(&[], &[]), &no, &prm, Timestamp::ZERO).unwrap();

            // Brute force over whole contracts (lot = 1 at tick 0.01).
            let expand = |l: &[(u32, u64)]| l.iter().flat_map(|&(c, n)| std::iter::repeat_n(c, n as usize)).collect::<Vec<u32>>();
            let (ka, pa) = (expand(&k_asks), expand(&poly_asks));
            let mut best = 0usize;
            for i in 0..ka.len().min(pa.len()) {
                let kp = Price::from_micros(ka[i] * 10_000).unwrap();
                let pp = Price::from_micros(pa[i] * 10_000).unwrap();
                let cost = u128::from(kp.micros() + pp.micros()) * ATTO_PER_MICRO
                    + pair.kalshi_fees.taker_fee_per_contract_atto(kp).unwrap()
                    + pair.polymarket_fees.taker_fee_per_contract_atto(pp).unwrap();
                if cost + u128::from(edge_cents) * 10_000 * ATTO_PER_MICRO > ONE_DOLLAR_ATTO { break; }
                best = i + 1;
            }
            match found {
                Some(o) => {
                    prop_assert_eq!(o.quantity, Quantity::from_contracts(best as u64).unwrap());
                    prop_assert_eq!(o.legs[0].quantity, o.quantity);
                    prop_assert_eq!(o.legs[1].quantity, o.quantity);
                    let legs_total = o.legs[0].cost.saturating_add(o.legs[0].fees).saturating_add(o.legs[1].cost).saturating_add(o.legs[1].fees);
                    prop_assert_eq!(legs_total, o.total_cost);
                    prop_assert_eq!(o.payout.saturating_sub(o.total_cost), o.net_profit);
                    prop_assert!(o.net_profit > Cash::ZERO);
                    prop_assert!(o.marginal_edge.micros() >= edge_cents * 10_000);
                }
                None => {
                    // Either nothing clears, or the rounded totals are not
                    // profitable, or filling everything at the limits (the
                    // marginal prices, with no slippage) would lose money.
                    if best > 0 {
                        let n = Quantity::from_contracts(best as u64).unwrap();
                        let (kn, kf, _, k_marginal) = price_leg(k.buy_levels(), n, &pair.kalshi_fees).unwrap();
                        let (pn, pf, _, p_marginal) = price_leg(no.buy_levels(), n, &pair.polymarket_fees).unwrap();
                        let total = kn.to_cash(Rounding::Up).unwrap().saturating_add(kf).round_to_decimals(2, Rounding::Up).unwrap()
                            .saturating_add(pn.to_cash(Rounding::Up).unwrap()).saturating_add(pf);
                        let payout = Price::ONE.notional(n).to_cash(Rounding::Down).unwrap();
                        let worst = worst_case(&pair, n, k_marginal, p_marginal, payout).unwrap();
                        prop_assert!(total >= payout || worst < Cash::ZERO, "total {:?} worst {:?}", total, worst);
                    }
                }
            }
        }
    }
}
