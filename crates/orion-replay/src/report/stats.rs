//! Summary statistics of one backtest run.
//!
//! Money (P&L, fees, drawdown, capital deployed) is summed exactly in
//! [`Cash`]; rates and drawdown fractions are exact integer ratios rounded to
//! parts per million. Only Sharpe and Sortino use floating point: they are
//! statistics about the run, never inputs to a trading decision.
//!
//! Definitions (also in docs/backtest.md, "Reading a backtest report"):
//! - *Equity* starts at the run's starting capital and moves by each trade's
//!   net P&L at the trade's `executed_at` (pairs are held to settlement and
//!   pay exactly $1 per hedged contract, so P&L is known when the last leg
//!   fills).
//! - *Drawdown* at a point is the running peak of equity minus equity; the
//!   *max drawdown* is its largest value, and the *max drawdown fraction* the
//!   largest drawdown divided by the peak it fell from (rounded up to a ppm,
//!   so it is never understated; 100% once equity falls to zero or below).
//! - *Daily P&L* sums net P&L by UTC day of `executed_at`, for every UTC day
//!   from the first to the last event of the run: a day without a trade
//!   counts as $0, so quiet days pull Sharpe and Sortino down as they should.
//! - *Sharpe* is mean daily P&L over its sample standard deviation (n − 1),
//!   times √365; *Sortino* is mean daily P&L over the downside deviation
//!   √(Σ min(p, 0)² / n), times √365. Both are absent with fewer than two days
//!   or a zero deviation (for Sortino: no losing day).
//! - *Capital deployed* is the cash a trade paid (both legs' costs plus
//!   fees), summed over trades; *capital velocity* is capital deployed ÷
//!   starting capital ÷ the number of UTC days the run covers — how many
//!   times a day the bankroll was turned over.

use std::collections::BTreeMap;

use orion_core::decimal::{Rounding, div_round, format_scaled};
use orion_core::{Cash, Fraction, Price, Quantity, Timestamp};

use super::model::{BacktestRun, TradeRecord};

const NANOS_PER_DAY: i64 = 86_400 * 1_000_000_000;
const PPM: i128 = 1_000_000;

/// The UTC day (days since 1970-01-01) of a timestamp.
pub fn utc_day(t: Timestamp) -> i64 {
    t.nanos().div_euclid(NANOS_PER_DAY)
}

/// The UTC date of a day count, as `YYYY-MM-DD`.
pub fn format_day(day: i64) -> String {
    let (y, m, d) = orion_core::time_fmt::civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// A non-negative ratio in millionths that may exceed 1 (capital velocity
/// per day); exact integer, formatted with fixed decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ratio {
    pub ppm: i64,
}

impl Ratio {
    /// Formats with exactly `decimals` places (at most 6), rounded half-even.
    pub fn format(self, decimals: u32) -> String {
        fixed_decimals(i128::from(self.ppm), decimals)
    }
}

/// `units` millionths with exactly `decimals` (≤ 6) places, half-even.
fn fixed_decimals(units: i128, decimals: u32) -> String {
    let decimals = decimals.min(6);
    let step = 10i128.pow(6 - decimals);
    // A positive step never makes div_round fail outside `Exact` mode.
    let scaled = div_round(units, step, Rounding::HalfEven).unwrap_or(0);
    format_scaled(scaled, decimals, decimals)
}

/// A fraction as a percentage with two decimals ("12.35%"), half-even.
pub fn percent(f: Fraction) -> String {
    // ppm / 10^4 is percent; keep two decimals of it.
    let hundredths = div_round(i128::from(f.ppm()), 100, Rounding::HalfEven).unwrap_or(0);
    format!("{}%", format_scaled(hundredths, 2, 2))
}

/// Money with at least two decimals, exact (more places when needed).
pub fn money(c: Cash) -> String {
    c.format(2)
}

/// `numerator / denominator` as a [`Fraction`], rounded half-even and clamped
/// to 1; `None` when the denominator is zero.
fn rate(numerator: u64, denominator: u64) -> Option<Fraction> {
    if denominator == 0 {
        return None;
    }
    let ppm = div_round(
        i128::from(numerator) * PPM,
        i128::from(denominator),
        Rounding::HalfEven,
    )?
    .min(PPM);
    // Clamped to 0..=1_000_000 just above (both inputs are unsigned).
    Fraction::from_ppm(u32::try_from(ppm).ok()?).ok()
}

/// Saturating i128 → Cash: sums that leave i64 micro-dollars (±$9.2 trillion)
/// are not a real backtest, but external input must not panic.
fn cash_from(micros: i128) -> Cash {
    Cash::from_micros(i64::try_from(micros).unwrap_or(if micros < 0 { i64::MIN } else { i64::MAX }))
}

/// Trades by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    pub completed: u64,
    pub repaired: u64,
    pub nothing_filled: u64,
    pub halted: u64,
    /// Any outcome string the report does not know.
    pub other: u64,
}

/// One point of the equity curve: equity after the trades executed up to
/// `at` (the first point is the starting capital at the run's start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EquityPoint {
    pub at: Timestamp,
    pub equity: Cash,
    /// Running peak minus equity (>= 0).
    pub drawdown: Cash,
}

/// Net P&L of one UTC day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyPnl {
    /// Days since 1970-01-01 (UTC); see [`format_day`].
    pub day: i64,
    pub trades: u64,
    pub net_pnl: Cash,
}

/// One row of the per-pair table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PairRow {
    pub pair_id: String,
    pub trades: u64,
    /// Hedged contracts (held to settlement).
    pub contracts: Quantity,
    pub gross_pnl: Cash,
    pub fees: Cash,
    pub net_pnl: Cash,
    /// Trades with net P&L above zero.
    pub wins: u64,
    /// Trades with net P&L below zero.
    pub losses: u64,
}

/// One histogram bucket of detected edges: `from <= edge < from + width`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeBucket {
    /// Lower bound in micro-dollars per contract.
    pub from_micros: u32,
    pub count: u64,
}

/// The distribution of detected edges (average net edge per contract).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EdgeDistribution {
    pub count: u64,
    pub min: Option<Price>,
    /// The lower median (element ⌊(n−1)/2⌋ of the sorted edges).
    pub median: Option<Price>,
    pub max: Option<Price>,
    /// Bucket width in micro-dollars (a 1-2-5 step, at most 20 buckets).
    pub width_micros: u32,
    /// Contiguous buckets from the one holding `min` to the one holding `max`.
    pub buckets: Vec<EdgeBucket>,
}

/// Everything the report prints about one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub label: String,
    pub seed: u64,
    pub events: u64,
    pub first_event: Option<Timestamp>,
    pub last_event: Option<Timestamp>,
    pub starting_capital: Cash,
    pub opportunities_seen: u64,
    pub trades: u64,
    pub outcomes: OutcomeCounts,
    /// Trades where some leg partially filled.
    pub partial_trades: u64,
    pub contracts_hedged: Quantity,
    pub orders_sent: u64,
    pub orders_filled: u64,
    pub orders_partially_filled: u64,
    pub orders_rejected: u64,
    /// Orders filled ÷ orders sent (None when none were sent).
    pub fill_rate: Option<Fraction>,
    /// Orders partially filled ÷ orders sent.
    pub partial_fill_rate: Option<Fraction>,
    /// Orders rejected ÷ orders sent.
    pub reject_rate: Option<Fraction>,
    pub expected_profit: Cash,
    pub gross_pnl: Cash,
    pub fees: Cash,
    pub repair_losses: Cash,
    pub net_pnl: Cash,
    pub wins: u64,
    pub losses: u64,
    pub final_equity: Cash,
    pub max_drawdown: Cash,
    /// Largest drawdown as a fraction of the peak it fell from.
    pub max_drawdown_fraction: Option<Fraction>,
    /// Starting point plus one point per trade.
    pub equity_curve: Vec<EquityPoint>,
    /// Every UTC day of the run, zero for days without a trade.
    pub daily_pnl: Vec<DailyPnl>,
    pub sharpe: Option<f64>,
    pub sortino: Option<f64>,
    /// Both legs' costs plus fees, summed over trades.
    pub capital_deployed: Cash,
    /// UTC days the run covers (the length of `daily_pnl`).
    pub days: u64,
    /// Capital deployed ÷ starting capital ÷ days.
    pub capital_velocity: Option<Ratio>,
    /// Sorted by pair id.
    pub pairs: Vec<PairRow>,
    pub edges: EdgeDistribution,
}

impl Summary {
    /// Computes every statistic of `run`. Never panics on any input: sums
    /// saturate at the limits of [`Cash`] rather than wrap.
    pub fn from_run(run: &BacktestRun) -> Summary {
        let mut outcomes = OutcomeCounts::default();
        let mut partial_trades = 0u64;
        let mut contracts: u128 = 0;
        let (mut expected, mut gross, mut fees, mut repair, mut net, mut deployed) =
            (0i128, 0i128, 0i128, 0i128, 0i128, 0i128);
        let (mut wins, mut losses) = (0u64, 0u64);
        let mut pairs: BTreeMap<&str, PairAcc> = BTreeMap::new();

        for t in &run.trades {
            match t.outcome.as_str() {
                "completed" => outcomes.completed += 1,
                "repaired" => outcomes.repaired += 1,
                "nothing_filled" => outcomes.nothing_filled += 1,
                "halted" => outcomes.halted += 1,
                _ => outcomes.other += 1,
            }
            partial_trades += u64::from(t.partial);
            contracts += u128::from(t.contracts_hedged.micros());
            expected += i128::from(t.expected_profit.micros());
            gross += i128::from(t.gross_pnl.micros());
            fees += i128::from(t.fees.micros());
            repair += i128::from(t.repair_loss.micros());
            net += i128::from(t.net_pnl.micros());
            deployed += trade_deployed(t);
            wins += u64::from(t.net_pnl > Cash::ZERO);
            losses += u64::from(t.net_pnl < Cash::ZERO);
            pairs.entry(t.pair_id.as_str()).or_default().add(t);
        }

        let (equity_curve, max_drawdown, max_drawdown_fraction) = equity(run);
        let final_equity = equity_curve
            .last()
            .map_or(run.starting_capital, |p| p.equity);
        let daily_pnl = daily(run);
        let daily_values: Vec<i64> = daily_pnl.iter().map(|d| d.net_pnl.micros()).collect();
        let (sharpe, sortino) = sharpe_sortino(&daily_values);
        let days = daily_pnl.len() as u64;
        let capital_deployed = cash_from(deployed);
        let capital_velocity = velocity(capital_deployed, run.starting_capital, days);

        Summary {
            label: run.label.clone(),
            seed: run.seed,
            events: run.events,
            first_event: run.first_event,
            last_event: run.last_event,
            starting_capital: run.starting_capital,
            opportunities_seen: run.opportunities_seen,
            trades: run.trades.len() as u64,
            outcomes,
            partial_trades,
            contracts_hedged: Quantity::from_micros(u64::try_from(contracts).unwrap_or(u64::MAX)),
            orders_sent: run.orders_sent,
            orders_filled: run.orders_filled,
            orders_partially_filled: run.orders_partially_filled,
            orders_rejected: run.orders_rejected,
            fill_rate: rate(run.orders_filled, run.orders_sent),
            partial_fill_rate: rate(run.orders_partially_filled, run.orders_sent),
            reject_rate: rate(run.orders_rejected, run.orders_sent),
            expected_profit: cash_from(expected),
            gross_pnl: cash_from(gross),
            fees: cash_from(fees),
            repair_losses: cash_from(repair),
            net_pnl: cash_from(net),
            wins,
            losses,
            final_equity,
            max_drawdown,
            max_drawdown_fraction,
            equity_curve,
            daily_pnl,
            sharpe,
            sortino,
            capital_deployed,
            days,
            capital_velocity,
            pairs: pairs.into_iter().map(|(id, acc)| acc.row(id)).collect(),
            edges: edge_distribution(&run.detected_edges),
        }
    }
}

/// Cash a trade paid: both legs plus fees.
fn trade_deployed(t: &TradeRecord) -> i128 {
    i128::from(t.kalshi_cost.micros())
        + i128::from(t.polymarket_cost.micros())
        + i128::from(t.fees.micros())
}

#[derive(Default)]
struct PairAcc {
    trades: u64,
    contracts: u128,
    gross: i128,
    fees: i128,
    net: i128,
    wins: u64,
    losses: u64,
}

impl PairAcc {
    fn add(&mut self, t: &TradeRecord) {
        self.trades += 1;
        self.contracts += u128::from(t.contracts_hedged.micros());
        self.gross += i128::from(t.gross_pnl.micros());
        self.fees += i128::from(t.fees.micros());
        self.net += i128::from(t.net_pnl.micros());
        self.wins += u64::from(t.net_pnl > Cash::ZERO);
        self.losses += u64::from(t.net_pnl < Cash::ZERO);
    }

    fn row(self, pair_id: &str) -> PairRow {
        PairRow {
            pair_id: pair_id.to_owned(),
            trades: self.trades,
            contracts: Quantity::from_micros(u64::try_from(self.contracts).unwrap_or(u64::MAX)),
            gross_pnl: cash_from(self.gross),
            fees: cash_from(self.fees),
            net_pnl: cash_from(self.net),
            wins: self.wins,
            losses: self.losses,
        }
    }
}

/// The equity curve, the max drawdown and the max drawdown fraction.
fn equity(run: &BacktestRun) -> (Vec<EquityPoint>, Cash, Option<Fraction>) {
    let start_at = match (run.first_event, run.trades.first()) {
        (Some(first), Some(t)) => first.min(t.executed_at),
        (Some(first), None) => first,
        (None, Some(t)) => t.executed_at,
        (None, None) => Timestamp::ZERO,
    };
    let start = i128::from(run.starting_capital.micros());
    let mut points = Vec::with_capacity(run.trades.len() + 1);
    points.push(EquityPoint {
        at: start_at,
        equity: run.starting_capital,
        drawdown: Cash::ZERO,
    });
    let (mut equity, mut peak) = (start, start);
    let mut max_dd: i128 = 0;
    // The worst drawdown seen relative to a positive peak, in ppm.
    let mut max_fraction: Option<i128> = (start > 0).then_some(0);
    for t in &run.trades {
        equity += i128::from(t.net_pnl.micros());
        peak = peak.max(equity);
        let dd = peak - equity;
        max_dd = max_dd.max(dd);
        if peak > 0 {
            // Rounded up: a drawdown is never reported smaller than it was.
            // Past a full loss (equity <= 0) the fraction is 100%.
            let ppm = div_round(dd * PPM, peak, Rounding::Up)
                .unwrap_or(PPM)
                .min(PPM);
            max_fraction = Some(max_fraction.map_or(ppm, |m| m.max(ppm)));
        }
        points.push(EquityPoint {
            at: t.executed_at,
            equity: cash_from(equity),
            drawdown: cash_from(dd),
        });
    }
    let fraction = max_fraction
        .and_then(|ppm| u32::try_from(ppm).ok())
        .and_then(|ppm| Fraction::from_ppm(ppm).ok());
    (points, cash_from(max_dd), fraction)
}

/// Net P&L by UTC day of `executed_at`, every day from the run's first to its
/// last event (or trade, if a trade lies outside them) with zeros between.
fn daily(run: &BacktestRun) -> Vec<DailyPnl> {
    let trade_days = run.trades.iter().map(|t| utc_day(t.executed_at));
    let bounds = run
        .first_event
        .iter()
        .chain(run.last_event.iter())
        .map(|t| utc_day(*t))
        .chain(trade_days);
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for d in bounds {
        lo = lo.min(d);
        hi = hi.max(d);
    }
    if lo > hi {
        return Vec::new();
    }
    let mut by_day: BTreeMap<i64, (u64, i128)> = BTreeMap::new();
    for t in &run.trades {
        let e = by_day.entry(utc_day(t.executed_at)).or_default();
        e.0 += 1;
        e.1 += i128::from(t.net_pnl.micros());
    }
    // Timestamps are i64 nanoseconds, so a run spans at most ~107,000 days:
    // the dense series stays small whatever the input.
    (lo..=hi)
        .map(|day| {
            let (trades, net) = by_day.get(&day).copied().unwrap_or((0, 0));
            DailyPnl {
                day,
                trades,
                net_pnl: cash_from(net),
            }
        })
        .collect()
}

/// Sharpe and Sortino of daily P&L (micro-dollars), annualised by √365.
#[allow(clippy::float_arithmetic)] // statistics about the run, not money: reported, never traded on
fn sharpe_sortino(daily: &[i64]) -> (Option<f64>, Option<f64>) {
    let n = daily.len();
    if n < 2 {
        return (None, None);
    }
    let n_i = n as i128;
    let sum: i128 = daily.iter().map(|&p| i128::from(p)).sum();
    let mean = sum as f64 / n as f64;
    let annualise = 365f64.sqrt();
    // Deviations scaled by n stay exact integers (n·p − Σp), so "zero
    // deviation" is decided exactly rather than by a rounding residue.
    let mut squares = 0f64;
    let mut all_equal = true;
    for &p in daily {
        let scaled = n_i * i128::from(p) - sum;
        all_equal &= scaled == 0;
        let d = scaled as f64 / n as f64;
        squares += d * d;
    }
    let sharpe = (!all_equal).then(|| {
        let stdev = (squares / (n - 1) as f64).sqrt();
        mean / stdev * annualise
    });
    let downside: f64 = daily
        .iter()
        .filter(|&&p| p < 0)
        .map(|&p| {
            let d = p as f64;
            d * d
        })
        .sum();
    let any_loss = daily.iter().any(|&p| p < 0);
    let sortino = any_loss.then(|| {
        let dd = (downside / n as f64).sqrt();
        mean / dd * annualise
    });
    (sharpe, sortino)
}

/// Capital deployed ÷ starting capital ÷ days, in ppm.
fn velocity(deployed: Cash, starting: Cash, days: u64) -> Option<Ratio> {
    if starting <= Cash::ZERO || days == 0 {
        return None;
    }
    let denominator = i128::from(starting.micros()) * i128::from(days);
    let ppm = div_round(
        i128::from(deployed.micros()) * PPM,
        denominator,
        Rounding::HalfEven,
    )?;
    Some(Ratio {
        ppm: i64::try_from(ppm).ok()?,
    })
}

/// Histogram bucket widths, micro-dollars: 1-2-5 steps from $0.0001 to $1.
const WIDTHS: [u32; 13] = [
    100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000,
    1_000_000,
];
const MAX_BUCKETS: u32 = 20;

fn edge_distribution(edges: &[Price]) -> EdgeDistribution {
    let mut sorted: Vec<u32> = edges.iter().map(|p| p.micros()).collect();
    sorted.sort_unstable();
    let (Some(&lo), Some(&hi)) = (sorted.first(), sorted.last()) else {
        return EdgeDistribution {
            width_micros: WIDTHS[0],
            ..EdgeDistribution::default()
        };
    };
    let width = WIDTHS
        .iter()
        .copied()
        .find(|w| hi / w - lo / w < MAX_BUCKETS)
        .unwrap_or(1_000_000);
    let first = lo / width;
    let mut buckets: Vec<EdgeBucket> = (first..=hi / width)
        .map(|b| EdgeBucket {
            from_micros: b * width,
            count: 0,
        })
        .collect();
    for &e in &sorted {
        let i = (e / width - first) as usize;
        if let Some(b) = buckets.get_mut(i) {
            b.count += 1;
        }
    }
    let price = |m: u32| Price::from_micros_clamped(m);
    EdgeDistribution {
        count: sorted.len() as u64,
        min: Some(price(lo)),
        median: sorted.get((sorted.len() - 1) / 2).map(|&m| price(m)),
        max: Some(price(hi)),
        width_micros: width,
        buckets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_round_half_even_and_clamp() {
        assert_eq!(rate(1, 3).map(Fraction::ppm), Some(333_333));
        assert_eq!(rate(2, 3).map(Fraction::ppm), Some(666_667));
        assert_eq!(rate(5, 4).map(Fraction::ppm), Some(1_000_000));
        assert_eq!(rate(1, 0), None);
    }

    #[test]
    fn percent_and_fixed_decimals() {
        assert_eq!(percent(Fraction::from_ppm(123_456).unwrap()), "12.35%");
        assert_eq!(percent(Fraction::ONE), "100.00%");
        assert_eq!(Ratio { ppm: 1_234_567 }.format(4), "1.2346");
        assert_eq!(Ratio { ppm: 5 }.format(6), "0.000005");
    }

    #[test]
    fn edges_bucket_by_a_1_2_5_width() {
        let edges: Vec<Price> = [10_000, 12_000, 31_000, 10_500]
            .iter()
            .map(|&m| Price::from_micros(m).unwrap())
            .collect();
        let d = edge_distribution(&edges);
        // Span 0.010..0.031: 0.001-wide buckets would need 22, so 0.002.
        assert_eq!(d.width_micros, 2_000);
        assert_eq!(d.buckets.len(), 11);
        assert_eq!(d.buckets[0].count, 2);
        assert_eq!(d.buckets[1].count, 1);
        assert_eq!(d.buckets[10].count, 1);
        assert_eq!(d.median.map(Price::micros), Some(10_500));
    }
}
