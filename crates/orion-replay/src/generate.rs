//! Synthetic recordings: many pairs, realistic book dynamics, and planted
//! opportunities whose existence (and non-existence) a backtest can check.
//!
//! Each pair has a fair probability that random-walks. Kalshi's book (in YES
//! terms) and Polymarket's YES and NO token books sit around it with spreads
//! wide enough that, normally, YES on one venue plus NO on the other costs
//! more than $1. Most events are level changes (Kalshi as signed changes with
//! sequence numbers, Polymarket as new level totals); a move of the fair value
//! re-centres all three books with snapshots. At chosen times a *real* edge is
//! planted (Polymarket NO offered cheaply with depth, for a few seconds) and a
//! *fake* one (the same cheap price with a token size, so the edge exists at
//! the top of the book only). Everything comes from one seed.

use std::sync::Arc;
use std::time::Duration;

use orion_core::{
    BookEvent, BookEventKind, BookSide, FeeSchedule, InstrumentId, KalshiFeeType, Level,
    LevelChange, LevelUpdate, MarketId, OrderBook, Price, Quantity, Rate, TickSize, Timestamp,
    Venue,
};
use orion_matching::detection::PairSpec;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratorConfig {
    pub pairs: usize,
    pub events: u64,
    pub seed: u64,
    /// Real opportunities to plant (spread over the recording).
    pub planted: usize,
    /// Top-of-book-only edges to plant.
    pub fake: usize,
    pub start: Timestamp,
    /// Average time between two events (across all instruments).
    pub mean_interval: Duration,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            pairs: 20,
            events: 100_000,
            seed: 1,
            planted: 5,
            fake: 5,
            start: Timestamp::from_secs(1_790_000_000),
            mean_interval: Duration::from_millis(5),
        }
    }
}

/// A planted edge, for checking a backtest's findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Planted {
    pub pair_id: String,
    pub from: Timestamp,
    pub until: Timestamp,
    /// True for an edge with depth; false for top-of-book only.
    pub real: bool,
}

/// The pairs of a generated recording and what was planted in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Generated {
    pub pairs: Vec<PairSpec>,
    pub planted: Vec<Planted>,
    pub events: u64,
}

const CENT: u32 = 10_000;
const LEVELS: u32 = 5;

struct PairState {
    spec: PairSpec,
    fair: u32,
    kalshi: OrderBook,
    yes: OrderBook,
    no: OrderBook,
    kalshi_seq: u64,
    /// While a planted edge is live: when it ends.
    planted_until: Option<Timestamp>,
}

fn level(price: u32, qty_contracts: u64) -> Level {
    Level::new(
        Price::from_micros_clamped(price),
        Quantity::from_micros(qty_contracts * 1_000_000),
    )
}

/// Bids below and asks above `mid`, a cent apart, `half_spread` from it.
fn ladder(rng: &mut ChaCha8Rng, mid: u32, half_spread: u32) -> (Vec<Level>, Vec<Level>) {
    let mut bids = Vec::with_capacity(LEVELS as usize);
    let mut asks = Vec::with_capacity(LEVELS as usize);
    for j in 0..LEVELS {
        let bid = mid.saturating_sub(half_spread + j * CENT);
        let ask = mid + half_spread + j * CENT;
        if bid >= CENT {
            bids.push(level(bid / CENT * CENT, rng.random_range(5..200)));
        }
        if ask <= 1_000_000 - CENT {
            asks.push(level(ask.div_ceil(CENT) * CENT, rng.random_range(5..200)));
        }
    }
    (bids, asks)
}

fn snapshot(
    instrument: &InstrumentId,
    book: &mut OrderBook,
    bids: Vec<Level>,
    asks: Vec<Level>,
    seq: Option<u64>,
    at: Timestamp,
) -> BookEvent {
    // Generated ladders have distinct prices, so the snapshot applies.
    let _ = book.apply_snapshot(bids.iter().copied(), asks.iter().copied(), seq, None, at);
    BookEvent {
        instrument: instrument.clone(),
        kind: BookEventKind::Snapshot { bids, asks },
        seq,
        exchange_ts: Some(at.saturating_sub(Duration::from_millis(3))),
        received_at: at,
    }
}

impl PairState {
    fn new(index: usize, rng: &mut ChaCha8Rng, start: Timestamp) -> PairState {
        let ticker = format!("KXSYN-{index:05}");
        let token_yes = format!("{}", 10_000_000 + index * 2);
        let token_no = format!("{}", 10_000_000 + index * 2 + 1);
        // Generated identifiers are short, printable and non-empty by construction.
        let id = |venue, s: &str| InstrumentId {
            venue,
            symbol: Arc::from(s),
        };
        let market = |venue, s: &str| MarketId {
            venue,
            symbol: Arc::from(s),
        };
        let spec = PairSpec {
            pair_id: Arc::from(format!("SYN-{index:05}")),
            event_key: Arc::from(format!("EVT-{:04}", index / 3)),
            kalshi_market: market(Venue::Kalshi, &ticker),
            kalshi_instrument: id(Venue::Kalshi, &ticker),
            polymarket_market: market(Venue::Polymarket, &format!("0xsyn{index:05}")),
            polymarket_yes: id(Venue::Polymarket, &token_yes),
            polymarket_no: id(Venue::Polymarket, &token_no),
            inverted: false,
            kalshi_fees: FeeSchedule::Kalshi {
                fee_type: KalshiFeeType::Quadratic,
                multiplier: Rate::ONE,
            },
            polymarket_fees: FeeSchedule::Polymarket {
                rate: Rate::from_ppm(40_000),
                exponent: 1,
            },
            polymarket_tick: TickSize::Hundredth,
            polymarket_min_size: Quantity::from_micros(5_000_000),
            resolves_at: start
                .saturating_add(Duration::from_secs(86_400 * (20 + (index as u64 % 40)))),
        };
        PairState {
            spec,
            fair: rng.random_range(15..85) * CENT,
            kalshi: OrderBook::new(),
            yes: OrderBook::new(),
            no: OrderBook::new(),
            kalshi_seq: 0,
            planted_until: None,
        }
    }

    /// Snapshots of all three books around the fair value. Polymarket NO
    /// goes first so that restoring a planted edge removes it at once.
    fn recentre(&mut self, rng: &mut ChaCha8Rng, at: Timestamp, out: &mut Vec<BookEvent>) {
        let half = CENT + rng.random_range(0..2) * CENT;
        let (nb, na) = ladder(rng, 1_000_000 - self.fair, half);
        out.push(snapshot(
            &self.spec.polymarket_no,
            &mut self.no,
            nb,
            na,
            None,
            at,
        ));
        let (yb, ya) = ladder(rng, self.fair, half);
        out.push(snapshot(
            &self.spec.polymarket_yes,
            &mut self.yes,
            yb,
            ya,
            None,
            at,
        ));
        let kalshi_half = CENT + rng.random_range(0..2) * CENT;
        let (kb, ka) = ladder(rng, self.fair, kalshi_half);
        self.kalshi_seq += 1;
        out.push(snapshot(
            &self.spec.kalshi_instrument,
            &mut self.kalshi,
            kb,
            ka,
            Some(self.kalshi_seq),
            at,
        ));
    }

    /// A small change to one level of one of the three books.
    fn jiggle(&mut self, rng: &mut ChaCha8Rng, at: Timestamp) -> Option<BookEvent> {
        let which = rng.random_range(0..3u8);
        let side = if rng.random_bool(0.5) {
            BookSide::Bid
        } else {
            BookSide::Ask
        };
        let book = match which {
            0 => &mut self.kalshi,
            1 => &mut self.yes,
            _ => &mut self.no,
        };
        let levels = match side {
            BookSide::Bid => book.bids().levels(),
            BookSide::Ask => book.asks().levels(),
        };
        if levels.is_empty() {
            return None;
        }
        let target = levels[rng.random_range(0..levels.len())];
        let (instrument, seq, change) = if which == 0 {
            // Kalshi: a signed change that never empties the level.
            let current = target.qty.micros() / 1_000_000;
            let delta: i64 = if current > 5 && rng.random_bool(0.5) {
                -(rng.random_range(1..current.min(20)) as i64)
            } else {
                rng.random_range(1..20)
            };
            self.kalshi_seq += 1;
            (
                self.spec.kalshi_instrument.clone(),
                Some(self.kalshi_seq),
                LevelChange::Add(delta * 1_000_000),
            )
        } else {
            let instrument = if which == 1 {
                &self.spec.polymarket_yes
            } else {
                &self.spec.polymarket_no
            };
            (
                instrument.clone(),
                None,
                LevelChange::Set(Quantity::from_micros(
                    rng.random_range(5..200u64) * 1_000_000,
                )),
            )
        };
        let update = LevelUpdate {
            side,
            price: target.price,
            change,
        };
        let book = match which {
            0 => &mut self.kalshi,
            1 => &mut self.yes,
            _ => &mut self.no,
        };
        // The change keeps the level positive, so it applies.
        let _ = book.apply_delta(&[update], seq, None, at);
        Some(BookEvent {
            instrument,
            kind: BookEventKind::Delta {
                updates: vec![update],
            },
            seq,
            exchange_ts: Some(at.saturating_sub(Duration::from_millis(3))),
            received_at: at,
        })
    }

    /// Offers Polymarket NO six cents under fair value: with `depth` contracts
    /// a real edge, with a token size an edge at the top of the book only.
    fn plant(&mut self, rng: &mut ChaCha8Rng, at: Timestamp, real: bool, out: &mut Vec<BookEvent>) {
        // Kalshi YES offered at fair + 1 cent with plenty of depth.
        let (kb, mut ka) = ladder(rng, self.fair, CENT);
        if let Some(first) = ka.first_mut() {
            first.qty = Quantity::from_micros(100_000_000);
        }
        self.kalshi_seq += 1;
        out.push(snapshot(
            &self.spec.kalshi_instrument,
            &mut self.kalshi,
            kb,
            ka,
            Some(self.kalshi_seq),
            at,
        ));
        let (nb, mut na) = ladder(rng, 1_000_000 - self.fair, CENT);
        let cheap = (1_000_000 - self.fair).saturating_sub(6 * CENT);
        let size = if real { 60 } else { 1 };
        na.retain(|l| l.price.micros() > cheap);
        na.insert(0, level(cheap, size));
        out.push(snapshot(
            &self.spec.polymarket_no,
            &mut self.no,
            nb,
            na,
            None,
            at,
        ));
    }
}

/// Generates a recording, handing each event to `sink` in time order.
pub fn generate<E>(
    config: &GeneratorConfig,
    mut sink: impl FnMut(&BookEvent) -> Result<(), E>,
) -> Result<Generated, E> {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let pairs = config.pairs.max(1);
    let mut states: Vec<PairState> = (0..pairs)
        .map(|i| PairState::new(i, &mut rng, config.start))
        .collect();
    let mut now = config.start;
    let mut buffer = Vec::with_capacity(8);
    let mut written = 0u64;
    for state in &mut states {
        state.recentre(&mut rng, now, &mut buffer);
    }
    // Planted edges are spread evenly through the recording, on distinct pairs
    // where possible, alternating real and fake.
    let total_plants = config.planted + config.fake;
    let (mut reals, mut fakes) = (0, 0);
    let mut schedule: Vec<(u64, usize, bool)> = (0..total_plants)
        .map(|k| {
            let at_event = (config.events.saturating_mul(k as u64 + 1)) / (total_plants as u64 + 1);
            let real = reals < config.planted && (k % 2 == 0 || fakes >= config.fake);
            if real {
                reals += 1;
            } else {
                fakes += 1;
            }
            (at_event, (k * 7 + 3) % pairs, real)
        })
        .collect();
    schedule.sort();
    let mut next_plant = 0;
    let mut planted = Vec::new();
    let mean_ns = u64::try_from(config.mean_interval.as_nanos())
        .unwrap_or(u64::MAX)
        .max(1);
    while written < config.events {
        for event in buffer.drain(..) {
            if written >= config.events {
                break;
            }
            sink(&event)?;
            written += 1;
        }
        if written >= config.events {
            break;
        }
        now = now.saturating_add(Duration::from_nanos(rng.random_range(0..2 * mean_ns)));
        if next_plant < schedule.len() && written >= schedule[next_plant].0 {
            let (_, index, real) = schedule[next_plant];
            next_plant += 1;
            let state = &mut states[index];
            state.plant(&mut rng, now, real, &mut buffer);
            let until = now.saturating_add(Duration::from_secs(2));
            state.planted_until = Some(until);
            planted.push(Planted {
                pair_id: state.spec.pair_id.to_string(),
                from: now,
                until,
                real,
            });
            continue;
        }
        let index = rng.random_range(0..pairs);
        let state = &mut states[index];
        if let Some(until) = state.planted_until {
            if now < until {
                // Leave a planted edge alone until it expires, then restore.
                continue;
            }
            state.planted_until = None;
            state.recentre(&mut rng, now, &mut buffer);
            continue;
        }
        if rng.random_ratio(1, 50) {
            // The fair value moves a cent: every book re-centres.
            let step = if rng.random_bool(0.5) {
                CENT
            } else {
                0u32.wrapping_sub(CENT)
            };
            state.fair = state.fair.wrapping_add(step).clamp(10 * CENT, 90 * CENT);
            state.recentre(&mut rng, now, &mut buffer);
        } else if let Some(event) = state.jiggle(&mut rng, now) {
            buffer.push(event);
        }
    }
    Ok(Generated {
        pairs: states.into_iter().map(|s| s.spec).collect(),
        planted,
        events: written,
    })
}
