//! The simulated venues: one [`OrderGateway`] per venue over one shared
//! market state that the replay drives.
//!
//! An order does not fill when it is submitted. `submit` only registers it
//! with its arrival time (decision time plus the venue's latency, drawn from
//! the run's one seeded generator) and returns a future that the replay
//! completes when simulated time reaches the arrival, after every recorded
//! event up to that instant has been applied. It then fills against the
//! venue's copy of the book as it is at arrival: within the limit, honouring
//! the time in force, the venue's price grid, tick and minimum size, with the
//! venue's exact fee formula and rounding. What it takes is removed from the
//! copy, so a second order sees less liquidity until the instrument's next
//! recorded update replaces the copy.
//!
//! Random venue behaviour (rejections, liquidity taken by others just before
//! the order lands) comes from the same generator, drawn in a fixed order per
//! arrival (reject, partial, share) whatever the outcome, so one seed gives
//! one run.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use orion_core::{
    Balance, BookSide, Cash, ClientOrderId, Clock, FeeSchedule, Fill, Fraction, GatewayError,
    InstrumentId, Level, LevelChange, LevelUpdate, Notional, OrderBook, OrderGateway, OrderKey,
    OrderReport, OrderRequest, OrderStatus, Outcome, Position, PreparedOrder, Price, PriceGrid,
    Quantity, Rounding, Side, SimulatedClock, TickSize, TimeInForce, Timestamp, Venue,
};
use orion_execution::MarketView;
use orion_execution::repair::tradable_levels;
use orion_matching::detection::PairSpec;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashMap;

/// How one simulated venue behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VenueModel {
    /// Fixed one-way latency: an order reaches the venue this long after it
    /// was sent, and the answer is back at that same instant.
    pub latency: Duration,
    /// Uniform extra latency in `0..=jitter`, drawn per order.
    pub jitter: Duration,
    /// Probability that other traders take part of the visible liquidity
    /// just before the order lands (a fill-or-kill order is then killed when
    /// too little is left; an immediate-or-cancel one fills partly).
    pub partial_fill: Fraction,
    /// Probability that the venue refuses an order outright.
    pub reject: Fraction,
}

impl VenueModel {
    /// A venue with `latency_ms` of fixed latency and nothing random.
    pub fn with_latency_ms(latency_ms: u64) -> VenueModel {
        VenueModel {
            latency: Duration::from_millis(latency_ms),
            jitter: Duration::ZERO,
            partial_fill: Fraction::ZERO,
            reject: Fraction::ZERO,
        }
    }
}

/// Order counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrderCounts {
    /// Orders that reached a venue (rejections included).
    pub sent: u64,
    pub filled: u64,
    pub partially_filled: u64,
    /// Refused by the venue (rules or simulated rejection).
    pub rejected: u64,
    /// Cancelled with nothing filled (fill-or-kill not fillable, no liquidity).
    pub killed: u64,
}

/// What one order did to the account, as the venue booked it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderBooking {
    pub venue: Venue,
    pub side: Side,
    pub filled: Quantity,
    /// Cash paid for the contracts (negative for proceeds of a sale), fees excluded.
    pub cash: Cash,
    /// Fees, including the venue's rounding to its balance precision.
    pub fees: Cash,
}

/// The trading rules of one instrument.
#[derive(Debug, Clone, Copy)]
struct Rules {
    fees: FeeSchedule,
    /// Polymarket's tick; `None` on Kalshi (the venue's price grid applies).
    tick: Option<TickSize>,
    min_size: Quantity,
    /// The step fills are cut to when others take part of the liquidity, so
    /// that the other leg can always match them.
    lot: Quantity,
}

/// An order on its way to the venue.
#[derive(Debug)]
struct Pending {
    seq: u64,
    arrival: Timestamp,
    request: OrderRequest,
    slot: Slot,
}

type Answer = Result<OrderReport, GatewayError>;
type Slot = Arc<Mutex<Option<Answer>>>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Single-threaded use: a poisoned lock can only follow a panic that has
    // already ended the run.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

const fn index(venue: Venue) -> usize {
    match venue {
        Venue::Kalshi => 0,
        Venue::Polymarket => 1,
    }
}

/// Both venues' state: books as each venue sees them, orders, money.
#[derive(Debug)]
pub struct SimState {
    rng: ChaCha8Rng,
    models: [VenueModel; 2],
    kalshi_grid: PriceGrid,
    rules: FxHashMap<InstrumentId, Rules>,
    /// The venues' copies of books that orders have consumed or that an
    /// execution in flight may look at; every other book is the recorded one.
    books: FxHashMap<InstrumentId, OrderBook>,
    pending: Vec<Pending>,
    next_seq: u64,
    orders: FxHashMap<ClientOrderId, OrderReport>,
    bookings: FxHashMap<ClientOrderId, OrderBooking>,
    cash: [Cash; 2],
    /// Net holdings (micro-contracts) per instrument and outcome.
    holdings: BTreeMap<(InstrumentId, Outcome), i128>,
    counts: OrderCounts,
}

impl SimState {
    pub fn new(
        seed: u64,
        models: [VenueModel; 2],
        kalshi_grid: PriceGrid,
        pairs: &[PairSpec],
        balances: [Cash; 2],
    ) -> SimState {
        let mut rules = FxHashMap::default();
        for pair in pairs {
            let lot = pair.lot();
            rules
                .entry(pair.kalshi_instrument.clone())
                .or_insert(Rules {
                    fees: pair.kalshi_fees,
                    tick: None,
                    min_size: Quantity::ZERO,
                    lot,
                });
            for token in [&pair.polymarket_yes, &pair.polymarket_no] {
                rules.entry(token.clone()).or_insert(Rules {
                    fees: pair.polymarket_fees,
                    tick: Some(pair.polymarket_tick),
                    min_size: pair.polymarket_min_size,
                    lot,
                });
            }
        }
        SimState {
            rng: ChaCha8Rng::seed_from_u64(seed),
            models,
            kalshi_grid,
            rules,
            books: FxHashMap::default(),
            pending: Vec::new(),
            next_seq: 0,
            orders: FxHashMap::default(),
            bookings: FxHashMap::default(),
            cash: balances,
            holdings: BTreeMap::new(),
            counts: OrderCounts::default(),
        }
    }

    pub fn counts(&self) -> OrderCounts {
        self.counts
    }

    pub fn cash(&self, venue: Venue) -> Cash {
        self.cash[index(venue)]
    }

    pub fn booking(&self, coid: &ClientOrderId) -> Option<OrderBooking> {
        self.bookings.get(coid).copied()
    }

    /// The earliest arrival of an order still on its way.
    pub fn next_arrival(&self) -> Option<Timestamp> {
        self.pending.iter().map(|p| p.arrival).min()
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Puts the venue's copy of a book (the recorded book, unconsumed).
    pub fn put_book(&mut self, instrument: &InstrumentId, book: OrderBook) {
        self.books.insert(instrument.clone(), book);
    }

    pub fn drop_book(&mut self, instrument: &InstrumentId) {
        self.books.remove(instrument);
    }

    /// Checks an order against the venue's static rules, as the real
    /// adapters do before anything is sent.
    fn validate(&self, venue: Venue, request: &OrderRequest) -> Result<(), GatewayError> {
        let invalid = |detail: String| GatewayError::InvalidOrder { venue, detail };
        if request.instrument.venue != venue {
            return Err(invalid(format!(
                "instrument {} is not on {venue}",
                request.instrument
            )));
        }
        let Some(rules) = self.rules.get(&request.instrument) else {
            return Err(invalid(format!(
                "unknown instrument {}",
                request.instrument
            )));
        };
        if request.quantity.is_zero() {
            return Err(invalid("quantity is zero".into()));
        }
        // Both venues count in hundredths (Kalshi `count_fp`, Polymarket's
        // 2-decimal sizes).
        if !request.quantity.micros().is_multiple_of(10_000) {
            return Err(invalid(format!(
                "quantity {} is not a multiple of 0.01",
                request.quantity
            )));
        }
        let price = request.limit_price;
        if price == Price::ZERO || price >= Price::ONE {
            return Err(invalid(format!("limit price {price} outside (0, 1)")));
        }
        match (venue, rules.tick) {
            (Venue::Polymarket, Some(tick)) => {
                if !tick.is_valid_price(price) {
                    return Err(invalid(format!(
                        "price {price} is not on the tick {}",
                        tick.as_str()
                    )));
                }
                // Immediate buys spend `size × price`, which the venue takes
                // to two decimals only (the lot detection sizes in).
                let immediate = matches!(
                    request.time_in_force,
                    TimeInForce::FillOrKill | TimeInForce::ImmediateOrCancel
                );
                let cent = 10_000_000_000i128; // one cent in pico-dollars
                if immediate
                    && request.side == Side::Buy
                    && price.notional(request.quantity).picos() % cent != 0
                {
                    return Err(invalid(format!(
                        "{} × {price} is not a whole number of cents",
                        request.quantity
                    )));
                }
            }
            _ => {
                // Kalshi's grid is in YES prices: a NO price p is YES 1 - p.
                let yes = match request.outcome {
                    Outcome::Yes => price,
                    Outcome::No => price.complement(),
                };
                if !self.kalshi_grid.contains(yes) {
                    return Err(invalid(format!(
                        "YES price {yes} is not on the market's price grid"
                    )));
                }
            }
        }
        Ok(())
    }

    fn register(
        &mut self,
        venue: Venue,
        request: &OrderRequest,
        now: Timestamp,
    ) -> Result<Slot, GatewayError> {
        if self.orders.contains_key(&request.client_order_id)
            || self
                .pending
                .iter()
                .any(|p| p.request.client_order_id == request.client_order_id)
        {
            return Err(GatewayError::Duplicate {
                venue,
                client_order_id: request.client_order_id.clone(),
            });
        }
        let model = self.models[index(venue)];
        let jitter_ns = u64::try_from(model.jitter.as_nanos()).unwrap_or(u64::MAX);
        // Always drawn (even for zero jitter) so the stream's position does
        // not depend on the configuration.
        let draw = self.rng.random_range(0..=jitter_ns);
        let latency = model.latency.saturating_add(Duration::from_nanos(draw));
        let slot: Slot = Arc::new(Mutex::new(None));
        self.pending.push(Pending {
            seq: self.next_seq,
            arrival: now.saturating_add(latency),
            request: request.clone(),
            slot: slot.clone(),
        });
        self.next_seq += 1;
        Ok(slot)
    }

    /// Handles every order that has arrived by `now`, in arrival order (ties
    /// in submission order). `recorded` gives the recorded book of an
    /// instrument the venue has no copy of.
    /// Returns the instruments whose venue copy this created.
    pub fn process_arrivals(
        &mut self,
        now: Timestamp,
        recorded: &dyn Fn(&InstrumentId) -> Option<OrderBook>,
    ) -> Vec<InstrumentId> {
        let mut due: Vec<Pending> = Vec::new();
        let mut i = 0;
        while i < self.pending.len() {
            if self.pending[i].arrival <= now {
                due.push(self.pending.swap_remove(i));
            } else {
                i += 1;
            }
        }
        let mut copied = Vec::new();
        due.sort_by_key(|p| (p.arrival, p.seq));
        for p in due {
            if !self.books.contains_key(&p.request.instrument) {
                copied.push(p.request.instrument.clone());
            }
            let answer = self.arrive(&p.request, p.arrival, recorded);
            *lock(&p.slot) = Some(answer);
        }
        copied
    }

    /// One order reaches its venue.
    fn arrive(
        &mut self,
        request: &OrderRequest,
        now: Timestamp,
        recorded: &dyn Fn(&InstrumentId) -> Option<OrderBook>,
    ) -> Answer {
        let venue = request.instrument.venue;
        let model = self.models[index(venue)];
        self.counts.sent += 1;
        // Fixed draw order: reject, partial, share.
        let reject_draw = self.rng.random_range(0..1_000_000u32);
        let partial_draw = self.rng.random_range(0..1_000_000u32);
        let share_draw = self.rng.random_range(1..1_000_000u64);
        let rejected = |code: &str, message: String| GatewayError::Rejected {
            venue,
            code: code.to_string(),
            message,
        };
        let Some(rules) = self.rules.get(&request.instrument).copied() else {
            self.counts.rejected += 1;
            return Err(rejected(
                "unknown_market",
                format!("no market {}", request.instrument),
            ));
        };
        if request.quantity < rules.min_size {
            self.counts.rejected += 1;
            return Err(rejected(
                "below_min_size",
                format!(
                    "size {} is below the minimum order size {}",
                    request.quantity, rules.min_size
                ),
            ));
        }
        if reject_draw < model.reject.ppm() {
            self.counts.rejected += 1;
            return Err(rejected(
                "simulated",
                "simulated rejection (reject probability)".into(),
            ));
        }
        if !self.books.contains_key(&request.instrument)
            && let Some(book) = recorded(&request.instrument)
        {
            self.books.insert(request.instrument.clone(), book);
        }
        let (filled, notional, cash, fees) = match self.books.get_mut(&request.instrument) {
            Some(book) if book.is_synced() => {
                let taken_by_others = partial_draw < model.partial_fill.ppm();
                match take(
                    book,
                    venue,
                    request,
                    &rules,
                    taken_by_others.then_some(share_draw),
                ) {
                    Ok(t) => t,
                    Err(e) => {
                        self.counts.rejected += 1;
                        return Err(rejected("internal", e));
                    }
                }
            }
            _ => (Quantity::ZERO, Notional::ZERO, Cash::ZERO, Cash::ZERO),
        };
        let status = if filled.is_zero() {
            self.counts.killed += 1;
            OrderStatus::Cancelled
        } else if filled < request.quantity {
            self.counts.partially_filled += 1;
            OrderStatus::PartiallyFilled
        } else {
            self.counts.filled += 1;
            OrderStatus::Filled
        };
        let average_price = if filled.is_zero() {
            None
        } else {
            notional.per_contract(
                filled,
                match request.side {
                    Side::Buy => Rounding::Up,
                    Side::Sell => Rounding::Down,
                },
            )
        };
        let i = index(venue);
        self.cash[i] = self.cash[i].saturating_sub(cash).saturating_sub(fees);
        let signed = i128::from(filled.micros());
        let held = self
            .holdings
            .entry((request.instrument.clone(), request.outcome))
            .or_default();
        match request.side {
            Side::Buy => *held += signed,
            Side::Sell => *held -= signed,
        }
        self.bookings.insert(
            request.client_order_id.clone(),
            OrderBooking {
                venue,
                side: request.side,
                filled,
                cash,
                fees,
            },
        );
        let report = OrderReport {
            client_order_id: request.client_order_id.clone(),
            venue_order_id: Some(format!("sim-{}", request.client_order_id)),
            status,
            filled,
            average_price,
            fees,
            reason: filled
                .is_zero()
                .then(|| "not enough liquidity within the limit at arrival".to_string()),
            updated_at: now,
        };
        self.orders
            .insert(request.client_order_id.clone(), report.clone());
        Ok(report)
    }
}

/// Cuts `q` down to a multiple of `lot`.
fn floor_to(q: Quantity, lot: Quantity) -> Quantity {
    if lot.is_zero() {
        return q;
    }
    Quantity::from_micros(q.micros() / lot.micros() * lot.micros())
}

/// Rounds cash up (`Rounding::Up`) or down to whole cents.
fn to_cents(c: Cash, rounding: Rounding) -> Cash {
    c.round_to_decimals(2, rounding).unwrap_or(c)
}

/// Walks the venue's copy of the book for `request` and consumes what is
/// taken. `others` is the share (ppm of a million) of the acceptable
/// liquidity left to this order after other traders took the rest first.
/// Returns (filled, notional, cash paid (negative for a sale), fees).
fn take(
    book: &mut OrderBook,
    venue: Venue,
    request: &OrderRequest,
    rules: &Rules,
    others: Option<u64>,
) -> Result<(Quantity, Notional, Cash, Cash), String> {
    let levels: Vec<Level> = tradable_levels(book, venue, request.outcome, request.side)
        .into_iter()
        .take_while(|l| match request.side {
            Side::Buy => l.price <= request.limit_price,
            Side::Sell => l.price >= request.limit_price,
        })
        .collect();
    let available = levels.iter().fold(Quantity::ZERO, |sum, l| {
        sum.checked_add(l.qty).unwrap_or(sum)
    });
    // Others take from the best levels first; what is left to us is cut to
    // the pair's lot so the other leg can always match it.
    let ours = match others {
        Some(share) => {
            let kept = u128::from(available.micros()) * u128::from(share) / 1_000_000;
            floor_to(
                Quantity::from_micros(u64::try_from(kept).unwrap_or(0)),
                rules.lot,
            )
        }
        None => available,
    };
    let taken_by_others = available.saturating_sub(ours);
    let want = request.quantity;
    let fill = match request.time_in_force {
        TimeInForce::FillOrKill => {
            if ours >= want {
                want
            } else {
                Quantity::ZERO
            }
        }
        // Resting orders are not modelled: a good-till-cancel order is
        // treated like an immediate one (Orion's legs and repairs never rest).
        TimeInForce::ImmediateOrCancel | TimeInForce::GoodTillCancel => want.min(ours),
    };
    let mut skip = taken_by_others;
    let mut left = fill;
    let mut notional = Notional::ZERO;
    let mut cash = Cash::ZERO;
    let mut fees = Cash::ZERO;
    // Kalshi's per-order accumulator of cent-rounding overpayment.
    let mut rounding = Cash::ZERO;
    let mut updates = Vec::new();
    for level in &levels {
        let by_others = skip.min(level.qty);
        skip = skip.saturating_sub(by_others);
        let mine = left.min(level.qty.saturating_sub(by_others));
        left = left.saturating_sub(mine);
        let gone = by_others.checked_add(mine).unwrap_or(level.qty);
        if gone.is_zero() {
            if left.is_zero() && skip.is_zero() {
                break;
            }
            continue;
        }
        // The book is YES-quoted on Kalshi: NO trades on the complement.
        let (side, book_price) = match (venue, request.outcome, request.side) {
            (Venue::Kalshi, Outcome::No, Side::Buy) => (BookSide::Bid, level.price.complement()),
            (Venue::Kalshi, Outcome::No, Side::Sell) => (BookSide::Ask, level.price.complement()),
            (_, _, Side::Buy) => (BookSide::Ask, level.price),
            (_, _, Side::Sell) => (BookSide::Bid, level.price),
        };
        updates.push(LevelUpdate {
            side,
            price: book_price,
            change: LevelChange::Set(level.qty.saturating_sub(gone)),
        });
        if mine.is_zero() {
            continue;
        }
        let n = level.price.notional(mine);
        notional = notional.checked_add(n).ok_or("notional overflow")?;
        let fee = rules
            .fees
            .taker_fee(mine, level.price)
            .map_err(|e| e.to_string())?;
        // One fill per level. Kalshi (protocols/kalshi.md §8) debits each
        // buy fill's cost plus fee rounded up to the cent (its non-direct
        // members' balance precision; the difference is a "rounding fee")
        // and credits a sale's proceeds less fee rounded down, then refunds
        // the order's accumulated rounding in whole cents (below).
        // Polymarket settles in 1e-6 collateral units, exact for prices on
        // its tick.
        let (paid, fee) = match (venue, request.side) {
            (Venue::Kalshi, Side::Buy) => {
                let cost = n.to_cash(Rounding::Up).ok_or("cost overflow")?;
                let exact = cost.saturating_add(fee);
                let debit = to_cents(exact, Rounding::Up);
                rounding = rounding.saturating_add(debit.saturating_sub(exact));
                (cost, debit.saturating_sub(cost))
            }
            (Venue::Kalshi, Side::Sell) => {
                let proceeds = n.to_cash(Rounding::Down).ok_or("proceeds overflow")?;
                let exact = proceeds.saturating_sub(fee);
                let credit = to_cents(exact, Rounding::Down);
                rounding = rounding.saturating_add(exact.saturating_sub(credit));
                (
                    proceeds.checked_neg().unwrap_or(Cash::ZERO),
                    proceeds.saturating_sub(credit),
                )
            }
            (Venue::Polymarket, Side::Buy) => {
                (n.to_cash(Rounding::Up).ok_or("cost overflow")?, fee)
            }
            (Venue::Polymarket, Side::Sell) => (
                n.to_cash(Rounding::Down)
                    .ok_or("proceeds overflow")?
                    .checked_neg()
                    .unwrap_or(Cash::ZERO),
                fee,
            ),
        };
        cash = cash.saturating_add(paid);
        fees = fees.saturating_add(fee);
        if left.is_zero() && skip.is_zero() {
            break;
        }
    }
    // The whole cents of rounding the order overpaid come back.
    fees = fees.saturating_sub(to_cents(rounding, Rounding::Down));
    if !updates.is_empty() {
        // No sequence number: the copy keeps the recorded one. A consumed
        // level only ever shrinks, so this cannot fail on a synced book.
        let (ts, at) = (book.exchange_ts(), book.received_at());
        book.apply_delta(&updates, None, ts, at)
            .map_err(|e| format!("consuming the book copy: {e}"))?;
    }
    Ok((fill, notional, cash, fees))
}

/// The future `submit` returns: ready once the replay has delivered the
/// venue's answer. The driver polls every execution after each delivery, so
/// no waker is kept.
struct AnswerFuture {
    slot: Slot,
}

impl Future for AnswerFuture {
    type Output = Answer;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Answer> {
        match lock(&self.slot).take() {
            Some(answer) => Poll::Ready(answer),
            None => Poll::Pending,
        }
    }
}

/// One simulated venue, as the executor sees it.
#[derive(Debug)]
pub struct SimVenue {
    venue: Venue,
    state: Arc<Mutex<SimState>>,
    clock: SimulatedClock,
}

impl SimVenue {
    pub fn new(venue: Venue, state: Arc<Mutex<SimState>>, clock: SimulatedClock) -> SimVenue {
        SimVenue {
            venue,
            state,
            clock,
        }
    }
}

#[async_trait]
impl OrderGateway for SimVenue {
    fn venue(&self) -> Venue {
        self.venue
    }

    fn prepare(&self, request: &OrderRequest) -> Result<PreparedOrder, GatewayError> {
        lock(&self.state).validate(self.venue, request)?;
        Ok(PreparedOrder {
            request: request.clone(),
            venue_order_id: None,
            body: Vec::new(),
        })
    }

    async fn submit(&self, order: &PreparedOrder) -> Result<OrderReport, GatewayError> {
        let slot = lock(&self.state).register(self.venue, &order.request, self.clock.now())?;
        AnswerFuture { slot }.await
    }

    async fn cancel(&self, key: &OrderKey) -> Result<OrderReport, GatewayError> {
        // Orders never rest here: a known order is already final.
        lock(&self.state)
            .orders
            .get(&key.client_order_id)
            .cloned()
            .ok_or_else(|| GatewayError::NotFound {
                venue: self.venue,
                detail: key.client_order_id.to_string(),
            })
    }

    async fn query(&self, key: &OrderKey) -> Result<Option<OrderReport>, GatewayError> {
        // An order still on its way is unknown to the venue.
        Ok(lock(&self.state).orders.get(&key.client_order_id).cloned())
    }

    async fn balance(&self) -> Result<Balance, GatewayError> {
        Ok(Balance {
            venue: self.venue,
            available: lock(&self.state).cash(self.venue),
            portfolio_value: None,
            as_of: self.clock.now(),
        })
    }

    async fn positions(&self) -> Result<Vec<Position>, GatewayError> {
        let state = lock(&self.state);
        let mut out = Vec::new();
        for ((instrument, outcome), qty) in &state.holdings {
            if instrument.venue != self.venue || *qty <= 0 {
                continue;
            }
            let Ok(market) = orion_core::MarketId::new(self.venue, &instrument.symbol) else {
                continue;
            };
            out.push(Position {
                market,
                instrument: instrument.clone(),
                outcome: *outcome,
                quantity: Quantity::from_micros(u64::try_from(*qty).unwrap_or(u64::MAX)),
            });
        }
        Ok(out)
    }

    async fn fills(&self, _since: Option<Timestamp>) -> Result<Vec<Fill>, GatewayError> {
        Ok(Vec::new())
    }
}

/// The executor's view of the books for repairs: the venues' copies.
#[derive(Debug)]
pub struct SimMarket {
    state: Arc<Mutex<SimState>>,
}

impl SimMarket {
    pub fn new(state: Arc<Mutex<SimState>>) -> SimMarket {
        SimMarket { state }
    }
}

impl MarketView for SimMarket {
    fn book(&self, instrument: &InstrumentId) -> Option<OrderBook> {
        lock(&self.state).books.get(instrument).cloned()
    }

    fn fees(&self, instrument: &InstrumentId) -> Option<FeeSchedule> {
        lock(&self.state).rules.get(instrument).map(|r| r.fees)
    }
}

pub(crate) fn shared(state: SimState) -> Arc<Mutex<SimState>> {
    Arc::new(Mutex::new(state))
}

pub(crate) fn locked(state: &Mutex<SimState>) -> MutexGuard<'_, SimState> {
    lock(state)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use orion_core::{KalshiFeeType, MarketId, Rate};

    fn p(s: &str) -> Price {
        Price::parse(s).unwrap()
    }

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap()
    }

    fn pair() -> PairSpec {
        PairSpec {
            pair_id: Arc::from("P"),
            event_key: Arc::from("E"),
            kalshi_market: MarketId::new(Venue::Kalshi, "K").unwrap(),
            kalshi_instrument: InstrumentId::new(Venue::Kalshi, "K").unwrap(),
            polymarket_market: MarketId::new(Venue::Polymarket, "M").unwrap(),
            polymarket_yes: InstrumentId::new(Venue::Polymarket, "Y").unwrap(),
            polymarket_no: InstrumentId::new(Venue::Polymarket, "N").unwrap(),
            inverted: false,
            kalshi_fees: FeeSchedule::Kalshi {
                fee_type: KalshiFeeType::Quadratic,
                multiplier: Rate::ONE,
            },
            polymarket_fees: FeeSchedule::Polymarket {
                rate: Rate::ZERO,
                exponent: 1,
            },
            polymarket_tick: TickSize::Hundredth,
            polymarket_min_size: q("5"),
            resolves_at: Timestamp::from_secs(2_000_000_000),
        }
    }

    fn state() -> SimState {
        SimState::new(
            1,
            [
                VenueModel::with_latency_ms(10),
                VenueModel::with_latency_ms(10),
            ],
            PriceGrid::kalshi_linear_cent(),
            &[pair()],
            [Cash::ZERO, Cash::ZERO],
        )
    }

    fn book(bids: &[(&str, &str)], asks: &[(&str, &str)]) -> OrderBook {
        let level = |(price, qty): &(&str, &str)| Level::new(p(price), q(qty));
        let mut b = OrderBook::new();
        b.apply_snapshot(
            bids.iter().map(level),
            asks.iter().map(level),
            Some(1),
            None,
            Timestamp::from_secs(1),
        )
        .unwrap();
        b
    }

    fn order(
        instrument: &str,
        venue: Venue,
        outcome: Outcome,
        limit: &str,
        qty: &str,
        n: u32,
    ) -> OrderRequest {
        OrderRequest {
            client_order_id: ClientOrderId::new(&format!("c{n}")).unwrap(),
            market: MarketId::new(venue, "X").unwrap(),
            instrument: InstrumentId::new(venue, instrument).unwrap(),
            outcome,
            side: Side::Buy,
            limit_price: p(limit),
            quantity: q(qty),
            time_in_force: TimeInForce::FillOrKill,
        }
    }

    #[test]
    fn a_fill_consumes_the_copy_so_the_next_order_sees_less() {
        let mut s = state();
        let k = InstrumentId::new(Venue::Kalshi, "K").unwrap();
        // YES bids 0.41 × 10: Kalshi NO is offered at 0.59 × 10.
        let recorded = book(&[("0.41", "10")], &[("0.44", "10")]);
        let now = Timestamp::from_secs(5);
        let first = order("K", Venue::Kalshi, Outcome::No, "0.59", "6", 1);
        let second = order("K", Venue::Kalshi, Outcome::No, "0.59", "6", 2);
        let a = s.register(Venue::Kalshi, &first, now).unwrap();
        let b = s.register(Venue::Kalshi, &second, now).unwrap();
        assert_eq!(s.next_arrival(), Some(Timestamp::from_nanos(5_010_000_000)));
        // Nothing arrives before its time.
        assert!(
            s.process_arrivals(now, &|_| Some(recorded.clone()))
                .is_empty()
        );
        let copied = s.process_arrivals(Timestamp::from_nanos(5_010_000_000), &|_| {
            Some(recorded.clone())
        });
        assert_eq!(copied, vec![k.clone()]);
        let a = a.lock().unwrap().take().unwrap().unwrap();
        assert_eq!(a.status, OrderStatus::Filled);
        assert_eq!(a.average_price, Some(p("0.59")));
        // 6 × 0.59 = 3.54; fee 0.07 × 6 × 0.59 × 0.41 = 0.101598 → 0.1016;
        // debit rounded up to the cent: 3.65, so 0.11 of fees.
        assert_eq!(a.fees, Cash::parse("0.11").unwrap());
        assert_eq!(s.cash(Venue::Kalshi), Cash::parse("-3.65").unwrap());
        // The second fill-or-kill order finds only 4 left and is killed.
        let b = b.lock().unwrap().take().unwrap().unwrap();
        assert_eq!(b.status, OrderStatus::Cancelled);
        assert!(b.filled.is_zero());
        // The copy's YES bid shrank; the recorded book is untouched.
        assert_eq!(s.books[&k].bids().qty_at(p("0.41")), q("4"));
        assert_eq!(recorded.bids().qty_at(p("0.41")), q("10"));
        assert_eq!(s.counts().filled, 1);
        assert_eq!(s.counts().killed, 1);
    }

    #[test]
    fn kalshi_refunds_an_orders_whole_cents_of_rounding() {
        // Three fills of 3 YES at 0.50, 0.51, 0.52:
        //   1.50 + fee 0.07·3·0.25   = 0.0525 → 1.5525 → debit 1.56 (0.0075 over)
        //   1.53 + fee 0.07·3·0.2499 = 0.052479 → 0.0525 → 1.5825 → 1.59 (0.0075)
        //   1.56 + fee 0.07·3·0.2496 = 0.052416 → 0.0525 → 1.6125 → 1.62 (0.0075)
        // 4.77 debited, 0.0225 over: 0.02 refunded. Cost 4.59, fees 0.16.
        let mut s = state();
        let recorded = book(&[], &[("0.50", "3"), ("0.51", "3"), ("0.52", "3")]);
        let o = order("K", Venue::Kalshi, Outcome::Yes, "0.52", "9", 1);
        let slot = s.register(Venue::Kalshi, &o, Timestamp::ZERO).unwrap();
        s.process_arrivals(Timestamp::from_secs(1), &|_| Some(recorded.clone()));
        let r = slot.lock().unwrap().take().unwrap().unwrap();
        assert_eq!(r.status, OrderStatus::Filled);
        assert_eq!(r.average_price, Some(p("0.51")));
        assert_eq!(r.fees, Cash::parse("0.16").unwrap());
        let booked = s.booking(&o.client_order_id).unwrap();
        assert_eq!(booked.cash, Cash::parse("4.59").unwrap());
        assert_eq!(s.cash(Venue::Kalshi), Cash::parse("-4.75").unwrap());
    }

    #[test]
    fn venue_rules_refuse_off_grid_prices_odd_sizes_and_small_orders() {
        let s = state();
        let off_tick = order("Y", Venue::Polymarket, Outcome::Yes, "0.455", "10", 1);
        assert!(matches!(
            s.validate(Venue::Polymarket, &off_tick),
            Err(GatewayError::InvalidOrder { .. })
        ));
        // The cent grid: a NO price of 0.595 is YES 0.405, off the grid.
        let off_grid = order("K", Venue::Kalshi, Outcome::No, "0.595", "10", 2);
        assert!(s.validate(Venue::Kalshi, &off_grid).is_err());
        let odd = order("K", Venue::Kalshi, Outcome::Yes, "0.40", "1.005", 3);
        assert!(s.validate(Venue::Kalshi, &odd).is_err());
        let fine = order("K", Venue::Kalshi, Outcome::Yes, "0.40", "1.01", 4);
        assert!(s.validate(Venue::Kalshi, &fine).is_ok());
        // A fill-or-kill Polymarket buy must spend whole cents:
        // 10.5 × 0.45 = 4.725 is refused, 11 × 0.45 = 4.95 is not.
        let odd_amount = order("Y", Venue::Polymarket, Outcome::Yes, "0.45", "10.5", 6);
        assert!(s.validate(Venue::Polymarket, &odd_amount).is_err());
        let whole = order("Y", Venue::Polymarket, Outcome::Yes, "0.45", "11", 7);
        assert!(s.validate(Venue::Polymarket, &whole).is_ok());
        // Below Polymarket's minimum size: refused on arrival.
        let mut s = state();
        let small = order("Y", Venue::Polymarket, Outcome::Yes, "0.45", "4", 5);
        let slot = s
            .register(Venue::Polymarket, &small, Timestamp::ZERO)
            .unwrap();
        s.process_arrivals(Timestamp::from_secs(1), &|_| None);
        let answer = slot.lock().unwrap().take().unwrap();
        assert!(
            matches!(answer, Err(GatewayError::Rejected { .. })),
            "{answer:?}"
        );
        assert_eq!(s.counts().rejected, 1);
    }
}
