//! The venue-neutral exchange: one price-time order book per binary market,
//! accounts with cash and holdings, fees and settlement.
//!
//! Every book is kept on the **YES-price axis**. A bid at `p` is someone who
//! wants YES at `p` (or, equivalently, to give up NO for `1 - p`); an ask at
//! `p` is someone who gives up YES at `p` (or buys NO at `1 - p`). Kalshi
//! quotes its single book exactly this way, and Polymarket's two token books
//! are mirror images of each other (its CLOB mints and merges complementary
//! orders), so both venues map onto the same engine: the venue modules only
//! translate wire formats into a [`Leg`] and a YES-axis price.

use std::collections::{BTreeMap, HashMap, VecDeque};

use orion_core::{Cash, Price, PriceGrid, Quantity, Rounding};
use serde::Serialize;
use tokio::sync::broadcast;

/// Micro-units per whole unit (price, contract and dollar all use 1e-6).
const MICRO: i128 = 1_000_000;

/// Which side of the YES-axis book an order rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Axis {
    Bid,
    Ask,
}

/// What the participant actually does when the order trades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Leg {
    /// Pays `p`, receives one YES.
    BuyYes,
    /// Gives one NO, receives `1 - p`.
    SellNo,
    /// Gives one YES, receives `p`.
    SellYes,
    /// Pays `1 - p`, receives one NO.
    BuyNo,
}

impl Leg {
    pub fn axis(self) -> Axis {
        match self {
            Leg::BuyYes | Leg::SellNo => Axis::Bid,
            Leg::SellYes | Leg::BuyNo => Axis::Ask,
        }
    }
}

/// Time in force, venue-neutral.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tif {
    /// Rests until cancelled.
    Gtc,
    /// Rests until the given Unix millisecond time.
    Gtd(i64),
    /// Everything at once or nothing.
    Fok,
    /// Whatever is available at once; the rest is cancelled (Kalshi IOC, Polymarket FAK).
    Ioc,
}

/// Self-trade prevention when the incoming order would hit the same account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stp {
    /// Cancel the rest of the incoming order; fills already made stand.
    CancelTaker,
    /// Cancel the resting order and keep matching.
    CancelMaker,
}

/// Lifecycle of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    Resting,
    Canceled,
    Executed,
}

/// A market's fee schedule, in parts per million so no float is involved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FeeModel {
    /// Taker rate in ppm (Kalshi 0.07 × multiplier = 70_000 for multiplier 1).
    pub taker_rate_ppm: i64,
    /// Maker rate in ppm; 0 when makers are not charged.
    pub maker_rate_ppm: i64,
    /// Exponent applied to `p(1-p)` (Kalshi 1; Polymarket's `fd.e`).
    pub exponent: u32,
    /// The fee is rounded up to a multiple of this many micro-dollars.
    pub round_up_to_micros: i64,
}

impl FeeModel {
    pub const FREE: FeeModel = FeeModel {
        taker_rate_ppm: 0,
        maker_rate_ppm: 0,
        exponent: 1,
        round_up_to_micros: 1,
    };

    /// `rate × C × (p(1-p))^e`, rounded up, in micro-dollars.
    pub fn fee(&self, rate_ppm: i64, price: Price, qty: Quantity) -> Cash {
        if rate_ppm <= 0 || qty.is_zero() {
            return Cash::ZERO;
        }
        let p = i128::from(price.micros());
        let q = MICRO - p;
        // (p(1-p))^e scaled by MICRO^(2e); exponent is 1 or 2 in practice, so
        // i128 holds it: (1e12)^2 = 1e24, times rate 1e6 and count 1e18 would
        // overflow, so divide stepwise instead of forming one huge product.
        let mut pq_scaled: i128 = p * q; // scale 1e12
        let mut scale: i128 = MICRO * MICRO;
        for _ in 1..self.exponent.max(1) {
            pq_scaled = pq_scaled * p * q / (MICRO * MICRO); // keep scale 1e12
        }
        if self.exponent == 0 {
            pq_scaled = MICRO * MICRO;
        }
        // fee_micros = rate/1e6 × qty_micros/1e6 × pq_scaled/scale × 1e6
        let numerator = i128::from(rate_ppm) * i128::from(qty.micros()) * pq_scaled;
        scale *= MICRO; // rate ppm
        let fee_micros = ceil_div(numerator, scale);
        let step = i128::from(self.round_up_to_micros.max(1));
        let rounded = ceil_div(fee_micros, step) * step;
        Cash::from_micros(i64::try_from(rounded).unwrap_or(i64::MAX))
    }
}

fn ceil_div(n: i128, d: i128) -> i128 {
    if d == 0 {
        return 0;
    }
    let q = n / d;
    if n % d != 0 && ((n < 0) == (d < 0)) {
        q + 1
    } else {
        q
    }
}

/// `price × qty` in micro-dollars, rounded as asked.
pub fn notional(price: Price, qty: Quantity, rounding: Rounding) -> Cash {
    price
        .notional(qty)
        .to_cash(rounding)
        // Price ≤ 1 and Quantity ≤ 1e18 micro keep this inside i64 micro-dollars.
        .unwrap_or(Cash::MAX)
}

/// How a binary market resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    Yes,
    No,
}

/// Trading status of one market.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MarketStatus {
    Open,
    Closed,
    Settled(Resolution),
}

/// One resting or finished order.
#[derive(Debug, Clone, Serialize)]
pub struct Order {
    pub id: String,
    pub client_order_id: Option<String>,
    pub account: String,
    pub market: String,
    pub leg: Leg,
    /// Limit on the YES axis.
    pub price: Price,
    pub original: Quantity,
    pub filled: Quantity,
    pub remaining: Quantity,
    pub tif: Tif,
    pub stp: Stp,
    pub state: OrderState,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// Money locked for the unfilled part (buys).
    pub locked_cash: Cash,
    /// Contracts locked for the unfilled part (sells).
    pub locked_qty: Quantity,
    pub taker_cost: Cash,
    pub maker_cost: Cash,
    pub taker_fees: Cash,
    pub maker_fees: Cash,
    /// Venue extras the wire layer wants back (Polymarket: the signed order's token and side).
    pub tag: String,
}

/// One side of a trade.
#[derive(Debug, Clone, Serialize)]
pub struct TradeSide {
    pub account: String,
    pub order_id: String,
    pub client_order_id: Option<String>,
    pub leg: Leg,
    pub fee: Cash,
    /// Cash moved by the trade itself (negative when paying), before fees.
    pub cash_delta: Cash,
    /// Position after the trade: YES minus NO, for Kalshi's `post_position_fp`.
    pub post_position: i128,
}

/// One match between an incoming (taker) and a resting (maker) order.
#[derive(Debug, Clone, Serialize)]
pub struct Trade {
    pub id: String,
    pub market: String,
    /// Execution price on the YES axis (the maker's limit).
    pub price: Price,
    pub qty: Quantity,
    pub taker: TradeSide,
    pub maker: TradeSide,
    pub ts_ms: i64,
}

/// What an account held and received when a market resolved.
#[derive(Debug, Clone, Serialize)]
pub struct Settlement {
    pub account: String,
    pub market: String,
    pub resolution: Resolution,
    pub yes: Quantity,
    pub no: Quantity,
    /// Net cash paid for the position still held.
    pub cost_basis: Cash,
    pub payout: Cash,
    /// Fees paid in the market over its life.
    pub fees: Cash,
    pub ts_ms: i64,
}

/// Holdings of one account in one market.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Holding {
    pub yes: Quantity,
    pub no: Quantity,
    pub locked_yes: Quantity,
    pub locked_no: Quantity,
    pub fees_paid: Cash,
    /// Cash paid for contracts, net of proceeds (Kalshi's exposure figure).
    pub cost_basis: Cash,
    pub realized_pnl: Cash,
    pub traded: Cash,
}

/// One participant on one venue.
#[derive(Debug, Clone, Serialize)]
pub struct Account {
    pub name: String,
    pub cash: Cash,
    pub locked_cash: Cash,
    pub holdings: BTreeMap<String, Holding>,
}

impl Account {
    pub fn new(name: &str, cash: Cash) -> Account {
        Account {
            name: name.to_string(),
            cash,
            locked_cash: Cash::ZERO,
            holdings: BTreeMap::new(),
        }
    }

    pub fn available_cash(&self) -> Cash {
        self.cash.saturating_sub(self.locked_cash)
    }
}

/// A market's book and trading state.
#[derive(Debug, Clone)]
pub struct Book {
    pub id: String,
    pub status: MarketStatus,
    pub grid: PriceGrid,
    pub fees: FeeModel,
    /// Smallest order size accepted (Polymarket `min_order_size`); zero for none.
    pub min_size: Quantity,
    /// Bids by price; best is the highest key. Each level is FIFO order ids.
    bids: BTreeMap<Price, VecDeque<String>>,
    asks: BTreeMap<Price, VecDeque<String>>,
    pub last_trade: Option<Price>,
    pub volume: Quantity,
}

impl Book {
    fn side(&self, axis: Axis) -> &BTreeMap<Price, VecDeque<String>> {
        match axis {
            Axis::Bid => &self.bids,
            Axis::Ask => &self.asks,
        }
    }

    fn side_mut(&mut self, axis: Axis) -> &mut BTreeMap<Price, VecDeque<String>> {
        match axis {
            Axis::Bid => &mut self.bids,
            Axis::Ask => &mut self.asks,
        }
    }
}

/// Why the engine refused an order. The venue modules map these to their
/// own error codes and texts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reject {
    #[error("market not found")]
    UnknownMarket,
    #[error("market is not open")]
    MarketClosed,
    #[error("account not found")]
    UnknownAccount,
    #[error("price {0:?} is not on the market's grid")]
    OffGrid(Price),
    #[error("size below the market minimum")]
    BelowMinSize,
    #[error("invalid quantity")]
    InvalidQuantity,
    #[error("insufficient balance")]
    InsufficientBalance,
    #[error("insufficient position")]
    InsufficientPosition,
    #[error("post-only order would cross")]
    PostOnlyCross,
    #[error("duplicate client order id")]
    DuplicateClientOrderId,
    #[error("duplicate order id")]
    DuplicateOrderId,
    #[error("order not found")]
    OrderNotFound,
}

/// An incoming order, already translated into engine terms.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub account: String,
    pub market: String,
    pub leg: Leg,
    pub price: Price,
    pub qty: Quantity,
    pub tif: Tif,
    pub stp: Stp,
    pub post_only: bool,
    pub client_order_id: Option<String>,
    /// Use this id (Polymarket: the EIP-712 order hash); otherwise one is made.
    pub order_id: Option<String>,
    /// At most this much may fill (fault injection: forced partial fills).
    pub fill_cap: Option<Quantity>,
    pub tag: String,
}

/// What an accepted order did.
#[derive(Debug, Clone, Serialize)]
pub struct Placed {
    pub order: Order,
    pub trades: Vec<Trade>,
}

/// Changes that streaming endpoints publish.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// The resting total at one YES-axis level changed.
    Level {
        market: String,
        axis: Axis,
        price: Price,
        total: Quantity,
        delta_micros: i128,
        ts_ms: i64,
        client_order_id: Option<String>,
    },
    Trade(Box<Trade>),
    /// A resting order appeared, was (partly) filled as a maker, or was cancelled.
    Order {
        order: Box<Order>,
        change: OrderChange,
    },
    Settled {
        market: String,
        resolution: Resolution,
    },
    /// Trading was halted (`Closed`) or resumed (`Open`).
    Status {
        market: String,
        status: MarketStatus,
    },
}

/// What happened to an order in an [`Event::Order`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderChange {
    Placement,
    Update,
    Cancellation,
    /// An incoming order finished without resting (filled, or its IOC/FOK rest cancelled).
    Final,
}

/// Whether the venue nets YES against NO (Kalshi) or keeps tokens (Polymarket).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Netting {
    Net,
    Tokens,
}

/// One venue's books and accounts.
#[derive(Debug)]
pub struct Exchange {
    pub netting: Netting,
    pub books: BTreeMap<String, Book>,
    pub accounts: BTreeMap<String, Account>,
    pub orders: HashMap<String, Order>,
    /// Order ids in creation order, for listings.
    pub order_log: Vec<String>,
    pub trades: Vec<Trade>,
    /// One record per account holding (or having traded) a market when it resolved.
    pub settlements: Vec<Settlement>,
    client_ids: HashMap<(String, String), String>,
    next_id: u64,
    id_prefix: String,
    events: broadcast::Sender<Event>,
}

impl Exchange {
    pub fn new(netting: Netting, id_prefix: &str) -> Exchange {
        let (events, _) = broadcast::channel(4096);
        Exchange {
            netting,
            books: BTreeMap::new(),
            accounts: BTreeMap::new(),
            orders: HashMap::new(),
            order_log: Vec::new(),
            trades: Vec::new(),
            settlements: Vec::new(),
            client_ids: HashMap::new(),
            next_id: 1,
            id_prefix: id_prefix.to_string(),
            events,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    fn emit(&self, event: Event) {
        // No subscriber is the normal case outside streaming tests.
        let _ = self.events.send(event);
    }

    pub fn add_market(&mut self, id: &str, grid: PriceGrid, fees: FeeModel, min_size: Quantity) {
        self.books.insert(
            id.to_string(),
            Book {
                id: id.to_string(),
                status: MarketStatus::Open,
                grid,
                fees,
                min_size,
                bids: BTreeMap::new(),
                asks: BTreeMap::new(),
                last_trade: None,
                volume: Quantity::ZERO,
            },
        );
    }

    pub fn ensure_account(&mut self, name: &str) -> &mut Account {
        self.accounts
            .entry(name.to_string())
            .or_insert_with(|| Account::new(name, Cash::ZERO))
    }

    fn fresh_id(&mut self) -> String {
        let n = self.next_id;
        self.next_id += 1;
        // Deterministic ids keep runs reproducible; the UUID layout satisfies
        // clients that parse Kalshi order ids as UUIDs.
        format!("{}-0000-4000-8000-{:012x}", self.id_prefix, n)
    }

    /// Aggregated levels on one side: `(price, total)`, best first.
    pub fn levels(&self, market: &str, axis: Axis) -> Vec<(Price, Quantity)> {
        let Some(book) = self.books.get(market) else {
            return Vec::new();
        };
        let level_total = |ids: &VecDeque<String>| {
            ids.iter()
                .filter_map(|id| self.orders.get(id))
                .fold(Quantity::ZERO, |acc, o| {
                    acc.checked_add(o.remaining).unwrap_or(acc)
                })
        };
        let mut out: Vec<(Price, Quantity)> = book
            .side(axis)
            .iter()
            .map(|(p, ids)| (*p, level_total(ids)))
            .filter(|(_, q)| !q.is_zero())
            .collect();
        if axis == Axis::Bid {
            out.reverse();
        }
        out
    }

    fn level_total(&self, market: &str, axis: Axis, price: Price) -> Quantity {
        self.books
            .get(market)
            .and_then(|b| b.side(axis).get(&price))
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| self.orders.get(id))
                    .fold(Quantity::ZERO, |acc, o| {
                        acc.checked_add(o.remaining).unwrap_or(acc)
                    })
            })
            .unwrap_or(Quantity::ZERO)
    }

    fn emit_level(
        &self,
        market: &str,
        axis: Axis,
        price: Price,
        delta_micros: i128,
        now_ms: i64,
        client_order_id: Option<String>,
    ) {
        let total = self.level_total(market, axis, price);
        self.emit(Event::Level {
            market: market.to_string(),
            axis,
            price,
            total,
            delta_micros,
            ts_ms: now_ms,
            client_order_id,
        });
    }

    /// What an order must lock: cash for what it buys plus the largest fee it
    /// could owe (the fee peaks at p = 0.5), or the contracts it sells.
    fn requirement(&self, market: &str, leg: Leg, price: Price, qty: Quantity) -> (Cash, Quantity) {
        let fee_bound = self
            .books
            .get(market)
            .map(|b| {
                let rate = b.fees.taker_rate_ppm.max(b.fees.maker_rate_ppm);
                b.fees.fee(rate, Price::from_micros_clamped(500_000), qty)
            })
            .unwrap_or(Cash::ZERO);
        match leg {
            Leg::BuyYes => (
                notional(price, qty, Rounding::Up).saturating_add(fee_bound),
                Quantity::ZERO,
            ),
            Leg::BuyNo => (
                notional(price.complement(), qty, Rounding::Up).saturating_add(fee_bound),
                Quantity::ZERO,
            ),
            Leg::SellYes | Leg::SellNo => (fee_bound, qty),
        }
    }

    /// Kalshi-style leg choice: an order that can be covered entirely by
    /// contracts already held closes them; otherwise it opens with cash.
    pub fn kalshi_leg(&self, account: &str, market: &str, axis: Axis, qty: Quantity) -> Leg {
        let holding = self
            .accounts
            .get(account)
            .and_then(|a| a.holdings.get(market));
        match axis {
            Axis::Bid => {
                let free_no = holding
                    .map(|h| h.no.saturating_sub(h.locked_no))
                    .unwrap_or(Quantity::ZERO);
                if free_no >= qty && !qty.is_zero() {
                    Leg::SellNo
                } else {
                    Leg::BuyYes
                }
            }
            Axis::Ask => {
                let free_yes = holding
                    .map(|h| h.yes.saturating_sub(h.locked_yes))
                    .unwrap_or(Quantity::ZERO);
                if free_yes >= qty && !qty.is_zero() {
                    Leg::SellYes
                } else {
                    Leg::BuyNo
                }
            }
        }
    }

    /// Quantity an incoming order could fill right now, walking the opposite
    /// side best price first and FIFO within a level, exactly as matching
    /// will. With `stp` set, the taker's own orders are handled as
    /// self-trade prevention will: skipped (`CancelMaker`) or ending the
    /// walk (`CancelTaker`). With `stp` `None` every crossing order counts
    /// (the post-only test).
    fn fillable(
        &self,
        book: &Book,
        axis: Axis,
        limit: Price,
        account: &str,
        stp: Option<Stp>,
    ) -> Quantity {
        let opposite = match axis {
            Axis::Bid => Axis::Ask,
            Axis::Ask => Axis::Bid,
        };
        let levels: Box<dyn Iterator<Item = (&Price, &VecDeque<String>)>> = match opposite {
            Axis::Ask => Box::new(book.side(opposite).iter()),
            Axis::Bid => Box::new(book.side(opposite).iter().rev()),
        };
        let mut total = Quantity::ZERO;
        for (price, ids) in levels {
            let crosses = match axis {
                Axis::Bid => *price <= limit,
                Axis::Ask => *price >= limit,
            };
            if !crosses {
                break;
            }
            for o in ids.iter().filter_map(|id| self.orders.get(id)) {
                if o.account == account {
                    match stp {
                        Some(Stp::CancelTaker) => return total,
                        Some(Stp::CancelMaker) => continue,
                        None => {}
                    }
                }
                total = total.checked_add(o.remaining).unwrap_or(total);
            }
        }
        total
    }

    /// Place an order and match it. Errors leave the state untouched.
    pub fn place(&mut self, req: NewOrder, now_ms: i64) -> Result<Placed, Reject> {
        let book = self.books.get(&req.market).ok_or(Reject::UnknownMarket)?;
        if book.status != MarketStatus::Open {
            return Err(Reject::MarketClosed);
        }
        if !book.grid.contains(req.price) {
            return Err(Reject::OffGrid(req.price));
        }
        if req.qty.is_zero() {
            return Err(Reject::InvalidQuantity);
        }
        if req.qty < book.min_size {
            return Err(Reject::BelowMinSize);
        }
        let axis = req.leg.axis();
        if let Some(cid) = &req.client_order_id
            && self
                .client_ids
                .contains_key(&(req.account.clone(), cid.clone()))
        {
            return Err(Reject::DuplicateClientOrderId);
        }
        if let Some(id) = &req.order_id
            && self.orders.contains_key(id)
        {
            return Err(Reject::DuplicateOrderId);
        }
        let crossing = self.fillable(book, axis, req.price, &req.account, Some(req.stp));
        if req.post_only
            && !self
                .fillable(book, axis, req.price, &req.account, None)
                .is_zero()
        {
            return Err(Reject::PostOnlyCross);
        }
        let account = self
            .accounts
            .get(&req.account)
            .ok_or(Reject::UnknownAccount)?;
        let (need_cash, need_qty) = self.requirement(&req.market, req.leg, req.price, req.qty);
        if need_cash > account.available_cash() {
            return Err(Reject::InsufficientBalance);
        }
        if !need_qty.is_zero() {
            let h = account
                .holdings
                .get(&req.market)
                .cloned()
                .unwrap_or_default();
            let free = match req.leg {
                Leg::SellYes => h.yes.saturating_sub(h.locked_yes),
                _ => h.no.saturating_sub(h.locked_no),
            };
            if need_qty > free {
                return Err(Reject::InsufficientPosition);
            }
        }

        let id = match req.order_id.clone() {
            Some(id) => id,
            None => self.fresh_id(),
        };
        let mut order = Order {
            id: id.clone(),
            client_order_id: req.client_order_id.clone(),
            account: req.account.clone(),
            market: req.market.clone(),
            leg: req.leg,
            price: req.price,
            original: req.qty,
            filled: Quantity::ZERO,
            remaining: req.qty,
            tif: req.tif,
            stp: req.stp,
            state: OrderState::Resting,
            created_ms: now_ms,
            updated_ms: now_ms,
            locked_cash: need_cash,
            locked_qty: need_qty,
            taker_cost: Cash::ZERO,
            maker_cost: Cash::ZERO,
            taker_fees: Cash::ZERO,
            maker_fees: Cash::ZERO,
            tag: req.tag.clone(),
        };
        self.lock(&order);
        if let Some(cid) = &req.client_order_id {
            self.client_ids
                .insert((req.account.clone(), cid.clone()), id.clone());
        }

        // FOK: all or nothing, decided before touching the book; a forced
        // partial fill (fault) kills it too.
        let fok_ok = req.tif != Tif::Fok
            || (crossing >= req.qty && req.fill_cap.is_none_or(|c| c >= req.qty));
        let mut trades = Vec::new();
        if fok_ok {
            let cap = req.fill_cap.unwrap_or(req.qty).min(req.qty);
            trades = self.match_incoming(&mut order, req.stp, cap, now_ms);
        }

        let keep_resting = matches!(req.tif, Tif::Gtc | Tif::Gtd(_))
            && !order.remaining.is_zero()
            && order.state == OrderState::Resting;
        if keep_resting {
            if let Some(book) = self.books.get_mut(&req.market) {
                book.side_mut(axis)
                    .entry(req.price)
                    .or_default()
                    .push_back(id.clone());
            }
            self.orders.insert(id.clone(), order.clone());
            self.emit(Event::Order {
                order: Box::new(order.clone()),
                change: OrderChange::Placement,
            });
            self.order_log.push(id.clone());
            self.emit_level(
                &req.market,
                axis,
                req.price,
                i128::from(order.remaining.micros()),
                now_ms,
                req.client_order_id.clone(),
            );
        } else {
            self.unlock_rest(&mut order);
            order.state = if order.remaining.is_zero() {
                OrderState::Executed
            } else {
                OrderState::Canceled
            };
            self.orders.insert(id.clone(), order.clone());
            self.order_log.push(id.clone());
            self.emit(Event::Order {
                order: Box::new(order.clone()),
                change: OrderChange::Final,
            });
        }
        let order = self.orders.get(&id).cloned().unwrap_or(order);
        Ok(Placed { order, trades })
    }

    fn lock(&mut self, order: &Order) {
        if let Some(acct) = self.accounts.get_mut(&order.account) {
            acct.locked_cash = acct.locked_cash.saturating_add(order.locked_cash);
            if !order.locked_qty.is_zero() {
                let h = acct.holdings.entry(order.market.clone()).or_default();
                match order.leg {
                    Leg::SellYes => {
                        h.locked_yes = h
                            .locked_yes
                            .checked_add(order.locked_qty)
                            .unwrap_or(h.locked_yes)
                    }
                    Leg::SellNo => {
                        h.locked_no = h
                            .locked_no
                            .checked_add(order.locked_qty)
                            .unwrap_or(h.locked_no)
                    }
                    _ => {}
                }
            }
        }
    }

    /// Release whatever the order still holds locked.
    fn unlock_rest(&mut self, order: &mut Order) {
        if let Some(acct) = self.accounts.get_mut(&order.account) {
            acct.locked_cash = acct.locked_cash.saturating_sub(order.locked_cash);
            if !order.locked_qty.is_zero()
                && let Some(h) = acct.holdings.get_mut(&order.market)
            {
                match order.leg {
                    Leg::SellYes => h.locked_yes = h.locked_yes.saturating_sub(order.locked_qty),
                    Leg::SellNo => h.locked_no = h.locked_no.saturating_sub(order.locked_qty),
                    _ => {}
                }
            }
        }
        order.locked_cash = Cash::ZERO;
        order.locked_qty = Quantity::ZERO;
    }

    /// Release the lock for `qty` of an order (it filled or was cancelled).
    fn release(&mut self, order: &mut Order, qty: Quantity) {
        let (cash, units) = if qty >= order.remaining {
            (order.locked_cash, order.locked_qty)
        } else {
            let (c, u) = self.requirement(&order.market, order.leg, order.price, qty);
            (c.min(order.locked_cash), u.min(order.locked_qty))
        };
        if let Some(acct) = self.accounts.get_mut(&order.account) {
            acct.locked_cash = acct.locked_cash.saturating_sub(cash);
            if !units.is_zero()
                && let Some(h) = acct.holdings.get_mut(&order.market)
            {
                match order.leg {
                    Leg::SellYes => h.locked_yes = h.locked_yes.saturating_sub(units),
                    Leg::SellNo => h.locked_no = h.locked_no.saturating_sub(units),
                    _ => {}
                }
            }
        }
        order.locked_cash = order.locked_cash.saturating_sub(cash);
        order.locked_qty = order.locked_qty.saturating_sub(units);
    }

    fn match_incoming(
        &mut self,
        taker: &mut Order,
        stp: Stp,
        cap: Quantity,
        now_ms: i64,
    ) -> Vec<Trade> {
        let axis = taker.leg.axis();
        let opposite = match axis {
            Axis::Bid => Axis::Ask,
            Axis::Ask => Axis::Bid,
        };
        let mut trades = Vec::new();
        let mut filled_total = Quantity::ZERO;
        loop {
            if taker.remaining.is_zero() || filled_total >= cap {
                break;
            }
            let Some(book) = self.books.get(&taker.market) else {
                break;
            };
            // Best opposite level: lowest ask for a bid, highest bid for an ask.
            let best = match opposite {
                Axis::Ask => book
                    .asks
                    .iter()
                    .next()
                    .map(|(p, ids)| (*p, ids.front().cloned())),
                Axis::Bid => book
                    .bids
                    .iter()
                    .next_back()
                    .map(|(p, ids)| (*p, ids.front().cloned())),
            };
            let Some((level_price, front)) = best else {
                break;
            };
            let crosses = match axis {
                Axis::Bid => level_price <= taker.price,
                Axis::Ask => level_price >= taker.price,
            };
            if !crosses {
                break;
            }
            let Some(maker_id) = front else {
                // Empty level left behind: drop it and look again.
                if let Some(book) = self.books.get_mut(&taker.market) {
                    book.side_mut(opposite).remove(&level_price);
                }
                continue;
            };
            let Some(mut maker) = self.orders.get(&maker_id).cloned() else {
                self.pop_front(&taker.market, opposite, level_price);
                continue;
            };
            if maker.account == taker.account {
                match stp {
                    Stp::CancelTaker => {
                        taker.state = OrderState::Canceled;
                        break;
                    }
                    Stp::CancelMaker => {
                        self.cancel_order_internal(&maker_id, now_ms);
                        continue;
                    }
                }
            }
            let qty = taker
                .remaining
                .min(maker.remaining)
                .min(cap.saturating_sub(filled_total));
            let trade = self.execute(taker, &mut maker, level_price, qty, now_ms);
            filled_total = filled_total.checked_add(qty).unwrap_or(filled_total);
            let maker_done = maker.remaining.is_zero();
            if maker_done {
                maker.state = OrderState::Executed;
                self.pop_front(&taker.market, opposite, level_price);
            }
            self.orders.insert(maker_id.clone(), maker.clone());
            self.emit(Event::Order {
                order: Box::new(maker.clone()),
                change: OrderChange::Update,
            });
            self.emit_level(
                &taker.market,
                opposite,
                level_price,
                -i128::from(qty.micros()),
                now_ms,
                maker.client_order_id.clone(),
            );
            self.emit(Event::Trade(Box::new(trade.clone())));
            trades.push(trade);
        }
        trades
    }

    fn pop_front(&mut self, market: &str, axis: Axis, price: Price) {
        if let Some(book) = self.books.get_mut(market) {
            let side = book.side_mut(axis);
            if let Some(ids) = side.get_mut(&price) {
                ids.pop_front();
                if ids.is_empty() {
                    side.remove(&price);
                }
            }
        }
    }

    /// Move cash, contracts and fees for one match at `price` (YES axis).
    fn execute(
        &mut self,
        taker: &mut Order,
        maker: &mut Order,
        price: Price,
        qty: Quantity,
        now_ms: i64,
    ) -> Trade {
        self.release(taker, qty);
        self.release(maker, qty);
        let fees = self
            .books
            .get(&taker.market)
            .map(|b| b.fees)
            .unwrap_or(FeeModel::FREE);
        let taker_fee = fees.fee(fees.taker_rate_ppm, price, qty);
        let maker_fee = fees.fee(fees.maker_rate_ppm, price, qty);
        let taker_cash = self.settle_leg(
            &taker.account,
            &taker.market,
            taker.leg,
            price,
            qty,
            taker_fee,
        );
        let maker_cash = self.settle_leg(
            &maker.account,
            &maker.market,
            maker.leg,
            price,
            qty,
            maker_fee,
        );
        for (o, cash, fee, is_taker) in [
            (&mut *taker, taker_cash, taker_fee, true),
            (&mut *maker, maker_cash, maker_fee, false),
        ] {
            o.remaining = o.remaining.saturating_sub(qty);
            o.filled = o.filled.checked_add(qty).unwrap_or(o.filled);
            o.updated_ms = now_ms;
            let cost = cash.checked_neg().unwrap_or(Cash::ZERO);
            if is_taker {
                o.taker_cost = o.taker_cost.saturating_add(cost);
                o.taker_fees = o.taker_fees.saturating_add(fee);
            } else {
                o.maker_cost = o.maker_cost.saturating_add(cost);
                o.maker_fees = o.maker_fees.saturating_add(fee);
            }
        }
        if let Some(book) = self.books.get_mut(&taker.market) {
            book.last_trade = Some(price);
            book.volume = book.volume.checked_add(qty).unwrap_or(book.volume);
        }
        let id = self.fresh_id();
        let side = |o: &Order, fee: Cash, cash: Cash, this: &Exchange| TradeSide {
            account: o.account.clone(),
            order_id: o.id.clone(),
            client_order_id: o.client_order_id.clone(),
            leg: o.leg,
            fee,
            cash_delta: cash,
            post_position: this.net_position(&o.account, &o.market),
        };
        let trade = Trade {
            id,
            market: taker.market.clone(),
            price,
            qty,
            taker: side(taker, taker_fee, taker_cash, self),
            maker: side(maker, maker_fee, maker_cash, self),
            ts_ms: now_ms,
        };
        self.trades.push(trade.clone());
        trade
    }

    /// Contracts outstanding: every YES has a NO somewhere, so count the YES.
    pub fn open_interest(&self, market: &str) -> Quantity {
        self.accounts
            .values()
            .filter_map(|a| a.holdings.get(market))
            .fold(Quantity::ZERO, |acc, h| {
                acc.checked_add(h.yes).unwrap_or(acc)
            })
    }

    /// YES minus NO held, in micro-contracts.
    pub fn net_position(&self, account: &str, market: &str) -> i128 {
        self.accounts
            .get(account)
            .and_then(|a| a.holdings.get(market))
            .map(|h| i128::from(h.yes.micros()) - i128::from(h.no.micros()))
            .unwrap_or(0)
    }

    /// Apply one side of a fill to an account; returns the cash delta before fees.
    fn settle_leg(
        &mut self,
        account: &str,
        market: &str,
        leg: Leg,
        price: Price,
        qty: Quantity,
        fee: Cash,
    ) -> Cash {
        let netting = self.netting;
        let Some(acct) = self.accounts.get_mut(account) else {
            return Cash::ZERO;
        };
        let h = acct.holdings.entry(market.to_string()).or_default();
        // Costs round up and proceeds round down: the house never pays a
        // fraction of a micro-dollar it did not receive.
        let cash = match leg {
            Leg::BuyYes => {
                h.yes = h.yes.checked_add(qty).unwrap_or(h.yes);
                Cash::ZERO.saturating_sub(notional(price, qty, Rounding::Up))
            }
            Leg::BuyNo => {
                h.no = h.no.checked_add(qty).unwrap_or(h.no);
                Cash::ZERO.saturating_sub(notional(price.complement(), qty, Rounding::Up))
            }
            Leg::SellYes => {
                h.yes = h.yes.saturating_sub(qty);
                notional(price, qty, Rounding::Down)
            }
            Leg::SellNo => {
                h.no = h.no.saturating_sub(qty);
                notional(price.complement(), qty, Rounding::Down)
            }
        };
        h.fees_paid = h.fees_paid.saturating_add(fee);
        h.traded = h.traded.saturating_add(notional(price, qty, Rounding::Up));
        h.cost_basis = h.cost_basis.saturating_sub(cash);
        let mut merged = Quantity::ZERO;
        if netting == Netting::Net {
            // Kalshi nets opposite contracts at once: each YES+NO pair is $1.
            let free_yes = h.yes.saturating_sub(h.locked_yes);
            let free_no = h.no.saturating_sub(h.locked_no);
            merged = free_yes.min(free_no);
            if !merged.is_zero() {
                h.yes = h.yes.saturating_sub(merged);
                h.no = h.no.saturating_sub(merged);
                let payout = Cash::from_micros(i64::try_from(merged.micros()).unwrap_or(i64::MAX));
                h.cost_basis = h.cost_basis.saturating_sub(payout);
            }
        }
        // A flat position has realised whatever its cost basis says.
        if h.yes.is_zero() && h.no.is_zero() && h.cost_basis != Cash::ZERO {
            h.realized_pnl = h.realized_pnl.saturating_sub(h.cost_basis);
            h.cost_basis = Cash::ZERO;
        }
        acct.cash = acct.cash.saturating_add(cash).saturating_sub(fee);
        if !merged.is_zero() {
            acct.cash = acct.cash.saturating_add(Cash::from_micros(
                i64::try_from(merged.micros()).unwrap_or(i64::MAX),
            ));
        }
        cash
    }

    fn cancel_order_internal(&mut self, id: &str, now_ms: i64) -> Option<Order> {
        let mut order = self.orders.get(id).cloned()?;
        if order.state != OrderState::Resting {
            return None;
        }
        let axis = order.leg.axis();
        if let Some(book) = self.books.get_mut(&order.market)
            && let Some(ids) = book.side_mut(axis).get_mut(&order.price)
        {
            ids.retain(|x| x != id);
            if ids.is_empty() {
                book.side_mut(axis).remove(&order.price);
            }
        }
        let reduced = order.remaining;
        self.unlock_rest(&mut order);
        order.state = OrderState::Canceled;
        order.updated_ms = now_ms;
        self.orders.insert(id.to_string(), order.clone());
        self.emit(Event::Order {
            order: Box::new(order.clone()),
            change: OrderChange::Cancellation,
        });
        self.emit_level(
            &order.market,
            axis,
            order.price,
            -i128::from(reduced.micros()),
            now_ms,
            order.client_order_id.clone(),
        );
        Some(order)
    }

    /// Cancel a resting order owned by `account`. Returns the order with its
    /// `remaining` still showing how much the cancel removed.
    pub fn cancel(&mut self, account: &str, id: &str, now_ms: i64) -> Result<Order, Reject> {
        match self.orders.get(id) {
            Some(o) if o.account == account && o.state == OrderState::Resting => {}
            _ => return Err(Reject::OrderNotFound),
        }
        self.cancel_order_internal(id, now_ms)
            .ok_or(Reject::OrderNotFound)
    }

    /// Cancel every resting order of an account in a market (scripts use it).
    pub fn cancel_all(&mut self, account: &str, market: Option<&str>, now_ms: i64) -> Vec<Order> {
        let ids: Vec<String> = self
            .order_log
            .iter()
            .filter(|id| {
                self.orders.get(*id).is_some_and(|o| {
                    o.account == account
                        && o.state == OrderState::Resting
                        && market.is_none_or(|m| o.market == m)
                })
            })
            .cloned()
            .collect();
        ids.iter()
            .filter_map(|id| self.cancel_order_internal(id, now_ms))
            .collect()
    }

    /// Expire GTD orders whose time has come.
    pub fn expire(&mut self, now_ms: i64) {
        let due: Vec<String> = self
            .orders
            .values()
            .filter(|o| {
                o.state == OrderState::Resting && matches!(o.tif, Tif::Gtd(t) if t <= now_ms)
            })
            .map(|o| o.id.clone())
            .collect();
        for id in due {
            self.cancel_order_internal(&id, now_ms);
        }
    }

    /// Halt or resume trading in an unsettled market. Resting orders stay.
    pub fn set_open(&mut self, market: &str, open: bool) -> Result<(), Reject> {
        let book = self.books.get_mut(market).ok_or(Reject::UnknownMarket)?;
        if matches!(book.status, MarketStatus::Settled(_)) {
            return Err(Reject::MarketClosed);
        }
        book.status = if open {
            MarketStatus::Open
        } else {
            MarketStatus::Closed
        };
        let status = book.status;
        self.emit(Event::Status {
            market: market.to_string(),
            status,
        });
        Ok(())
    }

    /// Resolve a market: cancel its orders, pay $1 per winning contract, zero the rest.
    pub fn settle(
        &mut self,
        market: &str,
        resolution: Resolution,
        now_ms: i64,
    ) -> Result<(), Reject> {
        match self.books.get(market).map(|b| b.status) {
            None => return Err(Reject::UnknownMarket),
            // Settlement is final; a second resolution is refused.
            Some(MarketStatus::Settled(_)) => return Err(Reject::MarketClosed),
            Some(_) => {}
        }
        let resting: Vec<String> = self
            .orders
            .values()
            .filter(|o| o.market == market && o.state == OrderState::Resting)
            .map(|o| o.id.clone())
            .collect();
        for id in resting {
            self.cancel_order_internal(&id, now_ms);
        }
        for acct in self.accounts.values_mut() {
            if let Some(h) = acct.holdings.get_mut(market) {
                let winners = match resolution {
                    Resolution::Yes => h.yes,
                    Resolution::No => h.no,
                };
                let payout = Cash::from_micros(i64::try_from(winners.micros()).unwrap_or(i64::MAX));
                if !h.yes.is_zero() || !h.no.is_zero() || h.fees_paid != Cash::ZERO {
                    self.settlements.push(Settlement {
                        account: acct.name.clone(),
                        market: market.to_string(),
                        resolution,
                        yes: h.yes,
                        no: h.no,
                        cost_basis: h.cost_basis,
                        payout,
                        fees: h.fees_paid,
                        ts_ms: now_ms,
                    });
                }
                acct.cash = acct.cash.saturating_add(payout);
                h.realized_pnl = h
                    .realized_pnl
                    .saturating_add(payout)
                    .saturating_sub(h.cost_basis);
                h.cost_basis = Cash::ZERO;
                h.yes = Quantity::ZERO;
                h.no = Quantity::ZERO;
                h.locked_yes = Quantity::ZERO;
                h.locked_no = Quantity::ZERO;
            }
        }
        if let Some(book) = self.books.get_mut(market) {
            book.status = MarketStatus::Settled(resolution);
        }
        self.emit(Event::Settled {
            market: market.to_string(),
            resolution,
        });
        Ok(())
    }

    /// The account's orders, newest first.
    pub fn orders_of(&self, account: &str) -> Vec<&Order> {
        self.order_log
            .iter()
            .rev()
            .filter_map(|id| self.orders.get(id))
            .filter(|o| o.account == account)
            .collect()
    }

    pub fn find_by_client_id(&self, account: &str, cid: &str) -> Option<&Order> {
        self.client_ids
            .get(&(account.to_string(), cid.to_string()))
            .and_then(|id| self.orders.get(id))
    }

    /// JSON view for `/_sim/state`.
    pub fn state_json(&self) -> serde_json::Value {
        let accounts: serde_json::Map<String, serde_json::Value> = self
            .accounts
            .values()
            .map(|a| {
                let positions: serde_json::Map<String, serde_json::Value> = a
                    .holdings
                    .iter()
                    .filter(|(_, h)| {
                        !h.yes.is_zero() || !h.no.is_zero() || h.fees_paid != Cash::ZERO
                    })
                    .map(|(m, h)| {
                        (
                            m.clone(),
                            serde_json::json!({
                                "yes": h.yes.format(2),
                                "no": h.no.format(2),
                                "fees_paid": h.fees_paid.format(4),
                                "realized_pnl": h.realized_pnl.format(4),
                            }),
                        )
                    })
                    .collect();
                let open: Vec<serde_json::Value> = self
                    .orders_of(&a.name)
                    .into_iter()
                    .filter(|o| o.state == OrderState::Resting)
                    .map(order_json)
                    .collect();
                let fills: Vec<serde_json::Value> = self
                    .trades
                    .iter()
                    .flat_map(|t| {
                        [(&t.taker, true), (&t.maker, false)]
                            .into_iter()
                            .filter(|(s, _)| s.account == a.name)
                            .map(move |(s, is_taker)| {
                                serde_json::json!({
                                    "trade_id": t.id,
                                    "market": t.market,
                                    "order_id": s.order_id,
                                    "client_order_id": s.client_order_id,
                                    "leg": s.leg,
                                    "yes_price": t.price.format(4),
                                    "qty": t.qty.format(2),
                                    "is_taker": is_taker,
                                    "fee": s.fee.format(4),
                                    "ts_ms": t.ts_ms,
                                })
                            })
                    })
                    .collect();
                (
                    a.name.clone(),
                    serde_json::json!({
                        "balance": a.cash.format(4),
                        "balance_micros": a.cash.micros(),
                        "locked": a.locked_cash.format(4),
                        "positions": positions,
                        "open_orders": open,
                        "fills": fills,
                    }),
                )
            })
            .collect();
        let markets: serde_json::Map<String, serde_json::Value> = self
            .books
            .values()
            .map(|b| {
                let lv = |axis| {
                    self.levels(&b.id, axis)
                        .into_iter()
                        .map(|(p, q)| serde_json::json!([p.format(4), q.format(2)]))
                        .collect::<Vec<_>>()
                };
                (
                    b.id.clone(),
                    serde_json::json!({
                        "status": b.status,
                        "bids": lv(Axis::Bid),
                        "asks": lv(Axis::Ask),
                        "volume": b.volume.format(2),
                    }),
                )
            })
            .collect();
        serde_json::json!({ "accounts": accounts, "markets": markets })
    }
}

fn order_json(o: &Order) -> serde_json::Value {
    serde_json::json!({
        "order_id": o.id,
        "client_order_id": o.client_order_id,
        "market": o.market,
        "leg": o.leg,
        "yes_price": o.price.format(4),
        "original": o.original.format(2),
        "remaining": o.remaining.format(2),
        "filled": o.filled.format(2),
        "state": o.state,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn px(s: &str) -> Price {
        Price::parse(s).unwrap()
    }
    fn qty(s: &str) -> Quantity {
        Quantity::parse(s).unwrap()
    }

    fn exchange() -> Exchange {
        let mut ex = Exchange::new(Netting::Net, "00000000");
        ex.add_market(
            "M",
            PriceGrid::kalshi_linear_cent(),
            FeeModel {
                taker_rate_ppm: 70_000,
                maker_rate_ppm: 0,
                exponent: 1,
                round_up_to_micros: 100,
            },
            Quantity::ZERO,
        );
        ex.accounts.insert(
            "mm".into(),
            Account::new("mm", Cash::from_micros(1_000_000_000)),
        );
        ex.accounts.insert(
            "t".into(),
            Account::new("t", Cash::from_micros(100_000_000)),
        );
        ex
    }

    fn order(account: &str, leg: Leg, price: &str, q: &str, tif: Tif) -> NewOrder {
        NewOrder {
            account: account.into(),
            market: "M".into(),
            leg,
            price: px(price),
            qty: qty(q),
            tif,
            stp: Stp::CancelTaker,
            post_only: false,
            client_order_id: None,
            order_id: None,
            fill_cap: None,
            tag: String::new(),
        }
    }

    #[test]
    fn kalshi_fee_matches_documented_example() {
        let f = FeeModel {
            taker_rate_ppm: 70_000,
            maker_rate_ppm: 0,
            exponent: 1,
            round_up_to_micros: 100,
        };
        // 0.07 × 0.055 × 0.945 = 0.00363825 → rounded up to $0.0037.
        assert_eq!(
            f.fee(70_000, px("0.055"), qty("1")),
            Cash::from_micros(3_700)
        );
        // 10 @ 0.50 → 0.175 exactly.
        assert_eq!(
            f.fee(70_000, px("0.50"), qty("10")),
            Cash::from_micros(175_000)
        );
    }

    #[test]
    fn price_time_priority_and_fees() {
        let mut ex = exchange();
        ex.place(order("mm", Leg::BuyNo, "0.60", "5", Tif::Gtc), 1)
            .unwrap();
        ex.place(order("mm", Leg::BuyNo, "0.55", "5", Tif::Gtc), 2)
            .unwrap();
        let first_at_60 = ex
            .place(order("mm", Leg::BuyNo, "0.60", "5", Tif::Gtc), 3)
            .unwrap();
        // Best ask is 0.55; then the older 0.60 order.
        let p = ex
            .place(order("t", Leg::BuyYes, "0.60", "8", Tif::Ioc), 4)
            .unwrap();
        assert_eq!(p.trades.len(), 2);
        assert_eq!(p.trades[0].price, px("0.55"));
        assert_eq!(p.trades[1].price, px("0.60"));
        assert_eq!(p.trades[1].qty, qty("3"));
        assert_ne!(p.trades[1].maker.order_id, first_at_60.order.id);
        let t = &ex.accounts["t"];
        // 5×0.55 + 3×0.60 = 4.55; fees ceil(0.07×5×.2475)=0.0867, ceil(0.07×3×.24)=0.0504
        assert_eq!(
            t.cash,
            Cash::from_micros(100_000_000 - 4_550_000 - 86_700 - 50_400)
        );
        assert_eq!(t.holdings["M"].yes, qty("8"));
    }

    #[test]
    fn fok_that_cannot_fill_leaves_book_alone() {
        let mut ex = exchange();
        ex.place(order("mm", Leg::BuyNo, "0.60", "5", Tif::Gtc), 1)
            .unwrap();
        let p = ex
            .place(order("t", Leg::BuyYes, "0.60", "6", Tif::Fok), 2)
            .unwrap();
        assert!(p.trades.is_empty());
        assert_eq!(p.order.state, OrderState::Canceled);
        assert_eq!(ex.levels("M", Axis::Ask), vec![(px("0.60"), qty("5"))]);
        assert_eq!(ex.accounts["t"].cash, Cash::from_micros(100_000_000));
        assert_eq!(ex.accounts["t"].locked_cash, Cash::ZERO);
    }

    #[test]
    fn fok_stays_all_or_nothing_with_self_trade_and_caps() {
        let mut ex = exchange();
        ex.accounts.insert(
            "t2".into(),
            Account::new("t2", Cash::from_micros(100_000_000)),
        );
        // Own ask first in line at 0.50, someone else's behind it at 0.55.
        ex.place(order("t", Leg::BuyNo, "0.50", "5", Tif::Gtc), 1)
            .unwrap();
        ex.place(order("mm", Leg::BuyNo, "0.55", "5", Tif::Gtc), 2)
            .unwrap();
        // taker_at_cross stops at the own order: a FOK for 5 must not fill at all.
        let p = ex
            .place(order("t", Leg::BuyYes, "0.55", "5", Tif::Fok), 3)
            .unwrap();
        assert!(p.trades.is_empty());
        // With maker-side prevention the own order is cancelled and the FOK fills behind it.
        let mut o = order("t", Leg::BuyYes, "0.55", "5", Tif::Fok);
        o.stp = Stp::CancelMaker;
        let p = ex.place(o, 4).unwrap();
        assert_eq!(p.order.filled, qty("5"));
        // A forced partial-fill cap kills a FOK instead of filling part of it.
        ex.place(order("mm", Leg::BuyNo, "0.55", "5", Tif::Gtc), 5)
            .unwrap();
        let mut o = order("t2", Leg::BuyYes, "0.55", "5", Tif::Fok);
        o.fill_cap = Some(qty("2"));
        let p = ex.place(o, 6).unwrap();
        assert!(p.trades.is_empty());
        let mut o = order("t2", Leg::BuyYes, "0.55", "5", Tif::Ioc);
        o.fill_cap = Some(qty("2"));
        assert_eq!(ex.place(o, 7).unwrap().order.filled, qty("2"));
    }

    #[test]
    fn settlement_pays_winners() {
        let mut ex = exchange();
        ex.place(order("mm", Leg::BuyNo, "0.40", "10", Tif::Gtc), 1)
            .unwrap();
        ex.place(order("t", Leg::BuyYes, "0.40", "10", Tif::Fok), 2)
            .unwrap();
        let before = ex.accounts["t"].cash;
        ex.settle("M", Resolution::Yes, 3).unwrap();
        assert_eq!(
            ex.accounts["t"].cash,
            before.saturating_add(Cash::from_micros(10_000_000))
        );
        assert_eq!(ex.accounts["mm"].holdings["M"].no, Quantity::ZERO);
    }

    #[test]
    fn netting_closes_opposite_positions() {
        let mut ex = exchange();
        ex.place(order("mm", Leg::BuyNo, "0.40", "10", Tif::Gtc), 1)
            .unwrap();
        ex.place(order("t", Leg::BuyYes, "0.40", "10", Tif::Fok), 2)
            .unwrap();
        // t now sells the YES back: kalshi_leg picks SellYes.
        assert_eq!(ex.kalshi_leg("t", "M", Axis::Ask, qty("10")), Leg::SellYes);
        ex.place(order("mm", Leg::BuyYes, "0.45", "10", Tif::Gtc), 3)
            .unwrap();
        ex.place(order("t", Leg::SellYes, "0.45", "10", Tif::Fok), 4)
            .unwrap();
        assert_eq!(ex.net_position("t", "M"), 0);
        // mm bought NO then YES: netted into cash, no holdings left.
        assert_eq!(ex.net_position("mm", "M"), 0);
        assert_eq!(ex.accounts["mm"].holdings["M"].yes, Quantity::ZERO);
    }

    #[test]
    fn insufficient_balance_and_stp() {
        let mut ex = exchange();
        assert_eq!(
            ex.place(order("t", Leg::BuyYes, "0.50", "1000", Tif::Gtc), 1)
                .err(),
            Some(Reject::InsufficientBalance)
        );
        ex.place(order("t", Leg::BuyNo, "0.50", "1", Tif::Gtc), 1)
            .unwrap();
        let p = ex
            .place(order("t", Leg::BuyYes, "0.50", "1", Tif::Ioc), 2)
            .unwrap();
        assert!(p.trades.is_empty());
        assert_eq!(p.order.state, OrderState::Canceled);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn legs() -> impl Strategy<Value = Leg> {
            prop_oneof![
                Just(Leg::BuyYes),
                Just(Leg::BuyNo),
                Just(Leg::SellYes),
                Just(Leg::SellNo)
            ]
        }

        fn tifs() -> impl Strategy<Value = Tif> {
            prop_oneof![Just(Tif::Gtc), Just(Tif::Ioc), Just(Tif::Fok)]
        }

        proptest! {
            /// Whatever sequence of orders runs, no account goes negative,
            /// nothing stays locked after cancel-all and settlement, and the
            /// money in the system only shrinks by fees and rounding dust:
            /// the simulator never creates money.
            #[test]
            fn no_money_is_created(
                net in any::<bool>(),
                orders in proptest::collection::vec((0usize..3, legs(), 1u32..100, 1u64..40, tifs()), 1..60),
                yes in any::<bool>(),
            ) {
                let mut ex = Exchange::new(if net { Netting::Net } else { Netting::Tokens }, "00000000");
                ex.add_market("M", PriceGrid::kalshi_linear_cent(), FeeModel {
                    taker_rate_ppm: 70_000, maker_rate_ppm: 17_500, exponent: 1, round_up_to_micros: 100 }, Quantity::ZERO);
                let names = ["a", "b", "c"];
                for n in names {
                    ex.accounts.insert(n.into(), Account::new(n, Cash::from_micros(200_000_000)));
                }
                let initial: i64 = 3 * 200_000_000;
                let mut t = 0;
                for (who, leg, cents, contracts, tif) in orders {
                    t += 1;
                    let req = NewOrder {
                        account: names[who].into(),
                        market: "M".into(),
                        leg,
                        price: Price::from_micros_clamped(cents * 10_000),
                        qty: Quantity::from_contracts(contracts).unwrap(),
                        tif,
                        stp: if t % 2 == 0 { Stp::CancelMaker } else { Stp::CancelTaker },
                        post_only: false,
                        client_order_id: None,
                        order_id: None,
                        fill_cap: None,
                        tag: String::new(),
                    };
                    let _ = ex.place(req, t);
                    for a in ex.accounts.values() {
                        prop_assert!(!a.cash.is_negative(), "{} went negative", a.name);
                        prop_assert!(a.locked_cash <= a.cash, "{} locked more than it has", a.name);
                    }
                }
                for n in names {
                    ex.cancel_all(n, None, t + 1);
                }
                ex.settle("M", if yes { Resolution::Yes } else { Resolution::No }, t + 2).unwrap();
                let mut cash = 0i64;
                let mut fees = 0i64;
                for a in ex.accounts.values() {
                    prop_assert_eq!(a.locked_cash, Cash::ZERO);
                    cash += a.cash.micros();
                    fees += a.holdings.get("M").map(|h| h.fees_paid.micros()).unwrap_or(0);
                }
                let dust = initial - cash - fees;
                prop_assert!(dust >= 0, "money created: {}", -dust);
                prop_assert!(dust <= 2 * ex.trades.len() as i64, "lost {} micro-dollars", dust);
            }
        }
    }
}
