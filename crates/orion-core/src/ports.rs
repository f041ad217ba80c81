//! The ports: the traits adapters implement and domain code calls.
//!
//! * [`MarketData`]: normalized book events for subscribed instruments.
//! * [`OrderGateway`]: one venue's orders, balances, positions and fills,
//!   idempotent by [`ClientOrderId`]. Placement is split in two so that what
//!   is sent can be journaled first: [`OrderGateway::prepare`] builds (and for
//!   Polymarket signs) the exact order without touching the network, and
//!   [`OrderGateway::submit`] sends those bytes. A resend after an unknown
//!   outcome reuses the same prepared order.
//! * [`Store`]: the durable journal and ledger.
//! * [`Alerter`]: fire-and-forget notifications that never block the caller.
//! * `Clock` (in [`crate::clock`]): time.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::book::{Level, LevelUpdate};
use crate::clock::Timestamp;
use crate::ids::{ClientOrderId, InstrumentId, MarketId, Outcome, Side, Venue};
use crate::money::{Cash, Price, Quantity};

// ------------------------------------------------------------ market data

/// A normalized book event from either venue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookEvent {
    pub instrument: InstrumentId,
    pub kind: BookEventKind,
    /// The venue's sequence number, where it has one (Kalshi per subscription).
    pub seq: Option<u64>,
    /// The venue's own timestamp of the event, where it sends one.
    pub exchange_ts: Option<Timestamp>,
    /// When Orion received it.
    pub received_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BookEventKind {
    /// The whole book: replaces what was there.
    Snapshot { bids: Vec<Level>, asks: Vec<Level> },
    /// Changes to some levels.
    Delta { updates: Vec<LevelUpdate> },
}

/// What a market-data stream yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarketEvent {
    Book(BookEvent),
    /// The instrument's book can no longer be trusted (gap, disconnect, bad
    /// message): a fresh snapshot follows when the stream recovers.
    BookInvalidated {
        instrument: InstrumentId,
        reason: String,
    },
    /// The venue's stream went down; every book of it is stale until
    /// [`MarketEvent::Connected`].
    Disconnected {
        venue: Venue,
        reason: String,
    },
    Connected {
        venue: Venue,
    },
}

#[derive(Debug, Error)]
pub enum MarketDataError {
    #[error("{venue} market data: connection failed: {detail}")]
    Connection { venue: Venue, detail: String },
    #[error("{venue} market data: authentication refused: {detail}")]
    Auth { venue: Venue, detail: String },
    #[error("{venue} market data: bad message in field {field}: {detail}")]
    Decode {
        venue: Venue,
        field: String,
        detail: String,
    },
    #[error("{venue} market data: unknown instrument {instrument}")]
    UnknownInstrument { venue: Venue, instrument: String },
    #[error("market data stream closed")]
    Closed,
}

/// A source of normalized book events.
#[async_trait]
pub trait MarketData: Send {
    /// Adds instruments to the stream; their snapshots follow as events.
    async fn subscribe(&mut self, instruments: &[InstrumentId]) -> Result<(), MarketDataError>;
    /// The next event; `Err(Closed)` when the stream has ended for good.
    async fn next_event(&mut self) -> Result<MarketEvent, MarketDataError>;
}

// ------------------------------------------------------------ orders

/// How long an order may live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeInForce {
    /// All at once or nothing (Kalshi `fill_or_kill`, Polymarket `FOK`).
    FillOrKill,
    /// What fills at once, the rest cancelled (Kalshi `immediate_or_cancel`,
    /// Polymarket `FAK`).
    ImmediateOrCancel,
    /// Rests until cancelled (Kalshi `good_till_canceled`, Polymarket `GTC`).
    GoodTillCancel,
}

/// What Orion wants a venue to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRequest {
    pub client_order_id: ClientOrderId,
    pub market: MarketId,
    /// The book the order trades: the Kalshi ticker, or the Polymarket token
    /// of `outcome`.
    pub instrument: InstrumentId,
    pub outcome: Outcome,
    pub side: Side,
    /// Limit price for the named outcome (not Kalshi's YES price).
    pub limit_price: Price,
    pub quantity: Quantity,
    pub time_in_force: TimeInForce,
}

/// An order made ready to send: the exact bytes, and how to find it at the
/// venue if its fate is unknown. Journaled before sending.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreparedOrder {
    pub request: OrderRequest,
    /// The venue's id of this order when it is known before sending
    /// (Polymarket: the EIP-712 order hash).
    pub venue_order_id: Option<String>,
    /// The exact request body to send.
    pub body: Vec<u8>,
}

impl fmt::Debug for PreparedOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body carries signatures: show its size only.
        f.debug_struct("PreparedOrder")
            .field("request", &self.request)
            .field("venue_order_id", &self.venue_order_id)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Where an order stands at the venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Accepted and resting.
    Open,
    /// Completely filled.
    Filled,
    /// Done with part filled, the rest cancelled (IOC/FAK remainder, or a
    /// cancel after partial fills).
    PartiallyFilled,
    /// Cancelled with nothing filled.
    Cancelled,
    /// Refused by the venue; nothing exists there.
    Rejected,
}

impl OrderStatus {
    /// No further fills can happen.
    pub fn is_final(self) -> bool {
        !matches!(self, OrderStatus::Open)
    }
}

/// The venue's account of one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderReport {
    pub client_order_id: ClientOrderId,
    pub venue_order_id: Option<String>,
    pub status: OrderStatus,
    pub filled: Quantity,
    /// Average fill price for the named outcome, when anything filled.
    pub average_price: Option<Price>,
    /// Fees charged so far.
    pub fees: Cash,
    /// The venue's reason, for rejections.
    pub reason: Option<String>,
    pub updated_at: Timestamp,
}

/// How Orion names an order when asking a venue about it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OrderKey {
    pub client_order_id: ClientOrderId,
    pub venue_order_id: Option<String>,
    pub instrument: InstrumentId,
}

/// Money at one venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub venue: Venue,
    /// Cash available to trade.
    pub available: Cash,
    /// Value of open positions as the venue reports it, if it does.
    pub portfolio_value: Option<Cash>,
    pub as_of: Timestamp,
}

/// A holding of one outcome at one venue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub market: MarketId,
    pub instrument: InstrumentId,
    pub outcome: Outcome,
    pub quantity: Quantity,
}

/// One execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fill {
    pub fill_id: String,
    pub venue_order_id: String,
    pub client_order_id: Option<ClientOrderId>,
    pub instrument: InstrumentId,
    pub outcome: Outcome,
    pub side: Side,
    pub price: Price,
    pub quantity: Quantity,
    pub fee: Cash,
    pub is_taker: bool,
    pub ts: Timestamp,
}

/// A venue call failed.
#[derive(Debug, Error)]
pub enum GatewayError {
    /// The request may or may not have reached the venue (timeout, dropped
    /// connection after sending). For a submit, the order's fate is unknown
    /// and must be resolved by query; never by sending a new order.
    #[error("{venue}: outcome unknown: {detail}")]
    OutcomeUnknown { venue: Venue, detail: String },
    /// Nothing was sent (connect failure, DNS, TLS before the request).
    #[error("{venue}: not sent: {detail}")]
    NotSent { venue: Venue, detail: String },
    /// The venue refused the request; for a submit, no order exists.
    #[error("{venue}: rejected ({code}): {message}")]
    Rejected {
        venue: Venue,
        code: String,
        message: String,
    },
    /// The client order id is already in use at the venue (Kalshi 409): an
    /// earlier attempt reached it.
    #[error("{venue}: duplicate client order id {client_order_id}")]
    Duplicate {
        venue: Venue,
        client_order_id: ClientOrderId,
    },
    #[error("{venue}: rate limited")]
    RateLimited {
        venue: Venue,
        retry_after: Option<Duration>,
    },
    #[error("{venue}: authentication failed: {detail}")]
    Auth { venue: Venue, detail: String },
    #[error("{venue}: not found: {detail}")]
    NotFound { venue: Venue, detail: String },
    #[error("{venue}: server error {status}: {detail}")]
    Server {
        venue: Venue,
        status: u16,
        detail: String,
    },
    #[error("{venue}: bad response in field {field}: {detail}")]
    Decode {
        venue: Venue,
        field: String,
        detail: String,
    },
    #[error("{venue}: invalid order: {detail}")]
    InvalidOrder { venue: Venue, detail: String },
}

impl GatewayError {
    /// True when a submit that failed this way may still have created an order.
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            GatewayError::OutcomeUnknown { .. }
                | GatewayError::Duplicate { .. }
                | GatewayError::Server { .. }
                | GatewayError::Decode { .. }
        )
    }
}

/// One venue's trading interface.
#[async_trait]
pub trait OrderGateway: Send + Sync {
    fn venue(&self) -> Venue;

    /// Builds (and signs, where the venue needs it) the exact order to send.
    /// No network I/O: the result is journaled before [`OrderGateway::submit`].
    fn prepare(&self, request: &OrderRequest) -> Result<PreparedOrder, GatewayError>;

    /// Sends a prepared order once. Never retried blindly by implementations.
    async fn submit(&self, order: &PreparedOrder) -> Result<OrderReport, GatewayError>;

    /// Cancels an order's unfilled remainder.
    async fn cancel(&self, key: &OrderKey) -> Result<OrderReport, GatewayError>;

    /// The venue's current account of an order; `None` if it never arrived.
    async fn query(&self, key: &OrderKey) -> Result<Option<OrderReport>, GatewayError>;

    async fn balance(&self) -> Result<Balance, GatewayError>;

    async fn positions(&self) -> Result<Vec<Position>, GatewayError>;

    /// Fills since `since` (all retained fills when `None`).
    async fn fills(&self, since: Option<Timestamp>) -> Result<Vec<Fill>, GatewayError>;
}

// ------------------------------------------------------------ store

/// A durable store could not do what was asked.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("storage I/O failed: {0}")]
    Io(String),
    #[error("database is corrupt: {0}")]
    Corrupt(String),
    #[error("schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew { found: u32, supported: u32 },
    #[error("record not found: {0}")]
    NotFound(String),
    #[error("conflicting record: {0}")]
    Conflict(String),
    #[error("database is locked by another process: {0}")]
    Locked(String),
}

/// The two legs of an arbitrage and everything needed to finish it after a
/// crash. Written before any leg is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeIntent {
    pub intent_id: String,
    pub pair_id: String,
    pub legs: Vec<PreparedOrder>,
    /// Expected net edge of the whole trade, for later comparison.
    pub expected_profit: Cash,
    pub created_at: Timestamp,
}

/// A journaled change in the life of one leg.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LegEvent {
    /// About to send (recorded before each network attempt).
    Sending { attempt: u32 },
    /// The venue's answer, or a query's.
    Report(OrderReport),
    /// The attempt's outcome is unknown: resolve by query.
    Unknown { detail: String },
}

/// Where a trade intent ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentOutcome {
    /// Both legs filled equally.
    Completed,
    /// Nothing filled on either leg.
    NothingFilled,
    /// Legs differed and were hedged or unwound to within bounds.
    Repaired,
    /// Legs differ beyond bounds: the pair is halted and an operator alerted.
    NeedsAttention,
}

/// The journal, as execution and reconciliation see it.
pub trait Store: Send {
    /// Durably records an intent before any of its legs is sent.
    fn record_intent(&mut self, intent: &TradeIntent) -> Result<(), StoreError>;
    /// Durably records a leg event.
    fn record_leg_event(
        &mut self,
        intent_id: &str,
        client_order_id: &ClientOrderId,
        event: &LegEvent,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Marks an intent finished.
    fn finish_intent(
        &mut self,
        intent_id: &str,
        outcome: &IntentOutcome,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Intents that were never finished, with every event of each leg.
    fn unfinished_intents(&self) -> Result<Vec<JournaledIntent>, StoreError>;
}

/// An intent read back from the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournaledIntent {
    pub intent: TradeIntent,
    pub events: Vec<(ClientOrderId, LegEvent, Timestamp)>,
}

// ------------------------------------------------------------ alerts

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// A notification for operators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub severity: Severity,
    /// Alerts with the same key within a window are coalesced into one.
    pub key: String,
    pub message: String,
    pub at: Timestamp,
}

/// Alert delivery failed (reported by delivery tasks, never to the caller).
#[derive(Debug, Error)]
pub enum AlertError {
    #[error("alert channel {channel} failed: {detail}")]
    Delivery { channel: String, detail: String },
    #[error("alert queue full; {dropped} alerts dropped")]
    QueueFull { dropped: u64 },
}

/// Fire-and-forget alerts: implementations queue and return at once.
pub trait Alerter: Send + Sync + fmt::Debug {
    fn alert(&self, alert: Alert);
}

/// An alerter that discards everything (for tests and backtests).
#[derive(Debug, Clone, Copy, Default)]
pub struct NullAlerter;

impl Alerter for NullAlerter {
    fn alert(&self, _alert: Alert) {}
}
