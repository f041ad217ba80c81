//! Orion's domain core: the types every other crate speaks, and the ports
//! they plug into.
//!
//! It owns exact fixed-point money ([`Price`], [`Quantity`], [`Cash`],
//! [`Notional`]) with venue string forms and explicit [`Rounding`]; venue,
//! market and instrument identifiers with YES/NO and buy/sell semantics
//! (including Kalshi's bids-only, YES-quoted book); both venues' fee
//! formulas ([`FeeSchedule`]); the per-instrument
//! [`OrderBook`] and ladder walking; time through the [`Clock`] port; and the
//! ports adapters implement ([`MarketData`], [`OrderGateway`], [`Store`],
//! [`Alerter`]). No I/O and no wall-clock reads outside [`SystemClock`]; no
//! floating point anywhere.

pub mod book;
pub mod clock;
pub mod decimal;
pub mod fees;
pub mod ids;
pub mod money;
pub mod ports;
pub mod time_fmt;

pub use book::{
    BookError, BookSide, BookStatus, Ladder, LadderWalk, Level, LevelChange, LevelUpdate, OrderBook,
};
pub use clock::{Clock, SimulatedClock, SystemClock, Timestamp};
pub use decimal::{DecimalError, Rounding};
pub use fees::{FeeError, FeeSchedule, KalshiFeeType, Rate};
pub use ids::{
    ClientOrderId, IdError, InstrumentId, KalshiBookSide, KalshiOrderSide, MarketId, Outcome, Side,
    Venue,
};
pub use money::{
    Cash, Fraction, MoneyError, Notional, Price, PriceBand, PriceGrid, Quantity, TickSize,
};
pub use ports::{
    Alert, AlertError, Alerter, Balance, BookEvent, BookEventKind, Fill, GatewayError,
    IntentOutcome, JournaledIntent, LegEvent, MarketData, MarketDataError, MarketEvent,
    NullAlerter, OrderGateway, OrderKey, OrderReport, OrderRequest, OrderStatus, Position,
    PreparedOrder, Severity, Store, StoreError, TimeInForce, TradeIntent,
};
