//! Dry-run's venues: an [`OrderGateway`] that fills against the engine's own
//! copy of the books and never opens a connection. Simulated executions go
//! through the same executor and journal as real ones (intent ids carry the
//! [`PAPER_PREFIX`] and are flagged simulated), so what dry-run shows is what
//! live would have done, and the two are never confused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use orion_core::{
    Balance, Cash, Clock, FeeSchedule, Fill, GatewayError, InstrumentId, OrderBook, OrderGateway,
    OrderKey, OrderReport, OrderRequest, OrderStatus, Position, PreparedOrder, Quantity, Rounding,
    Side, Timestamp, Venue,
};
use orion_execution::executor::MarketView;
use orion_execution::repair::tradable_levels;
use orion_execution::{IdGenerator, UuidV4Ids};

/// Intent ids of simulated executions start with this.
pub const PAPER_PREFIX: &str = "paper-";

/// Ids for simulated intents: a UUID behind [`PAPER_PREFIX`].
#[derive(Debug, Default, Clone, Copy)]
pub struct PaperIds;

impl IdGenerator for PaperIds {
    fn next_id(&self) -> String {
        format!("{PAPER_PREFIX}{}", UuidV4Ids.next_id())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Only plain maps live behind these locks; a panic elsewhere cannot leave
    // them half-updated in a way that matters to a simulation.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Books and fees the engine copies out of the decision core when it hands
/// an execution to another task (the core itself never leaves its task).
#[derive(Debug, Default)]
pub struct BookCopies {
    books: Mutex<HashMap<InstrumentId, OrderBook>>,
    fees: Mutex<HashMap<InstrumentId, FeeSchedule>>,
}

impl BookCopies {
    pub fn put(&self, instrument: &InstrumentId, book: OrderBook, fees: FeeSchedule) {
        lock(&self.books).insert(instrument.clone(), book);
        lock(&self.fees).insert(instrument.clone(), fees);
    }
}

impl MarketView for BookCopies {
    fn book(&self, instrument: &InstrumentId) -> Option<OrderBook> {
        lock(&self.books).get(instrument).cloned()
    }

    fn fees(&self, instrument: &InstrumentId) -> Option<FeeSchedule> {
        lock(&self.fees).get(instrument).cloned()
    }
}

/// One simulated venue.
#[derive(Debug)]
pub struct PaperGateway {
    venue: Venue,
    books: Arc<BookCopies>,
    clock: Arc<dyn Clock>,
    balance: Mutex<Cash>,
    orders: Mutex<HashMap<String, OrderReport>>,
}

impl PaperGateway {
    pub fn new(
        venue: Venue,
        books: Arc<BookCopies>,
        balance: Cash,
        clock: Arc<dyn Clock>,
    ) -> PaperGateway {
        PaperGateway {
            venue,
            books,
            clock,
            balance: Mutex::new(balance),
            orders: Mutex::new(HashMap::new()),
        }
    }

    /// Fills an immediate order against the copied book: all of it or
    /// nothing for fill-or-kill, what the book holds within the limit
    /// otherwise. The average price rounds up (costs never understated).
    fn fill(&self, request: &OrderRequest) -> OrderReport {
        let now = self.clock.now();
        let book = self.books.book(&request.instrument);
        let fees = self.books.fees(&request.instrument);
        let mut filled = Quantity::ZERO;
        let mut notional = orion_core::Notional::ZERO;
        if let Some(book) = &book {
            for level in tradable_levels(book, self.venue, request.outcome, request.side) {
                let acceptable = match request.side {
                    Side::Buy => level.price <= request.limit_price,
                    Side::Sell => level.price >= request.limit_price,
                };
                if !acceptable {
                    break;
                }
                let take = level.qty.min(request.quantity.saturating_sub(filled));
                if take.is_zero() {
                    break;
                }
                filled = filled.checked_add(take).unwrap_or(filled);
                notional = notional
                    .checked_add(level.price.notional(take))
                    .unwrap_or(notional);
            }
        }
        let fok = request.time_in_force == orion_core::TimeInForce::FillOrKill;
        if fok && filled < request.quantity {
            filled = Quantity::ZERO;
        }
        if filled.is_zero() {
            return OrderReport {
                client_order_id: request.client_order_id.clone(),
                venue_order_id: Some(format!("{PAPER_PREFIX}{}", request.client_order_id)),
                status: OrderStatus::Cancelled,
                filled,
                average_price: None,
                fees: Cash::ZERO,
                reason: Some("simulated: not enough liquidity within the limit".into()),
                updated_at: now,
            };
        }
        let average = notional.per_contract(filled, Rounding::Up);
        let fee = match (&fees, average) {
            (Some(f), Some(p)) => f.taker_fee(filled, p).unwrap_or(Cash::ZERO),
            _ => Cash::ZERO,
        };
        let status = if filled == request.quantity {
            OrderStatus::Filled
        } else {
            OrderStatus::PartiallyFilled
        };
        OrderReport {
            client_order_id: request.client_order_id.clone(),
            venue_order_id: Some(format!("{PAPER_PREFIX}{}", request.client_order_id)),
            status,
            filled,
            average_price: average,
            fees: fee,
            reason: None,
            updated_at: now,
        }
    }
}

#[async_trait]
impl OrderGateway for PaperGateway {
    fn venue(&self) -> Venue {
        self.venue
    }

    fn prepare(&self, request: &OrderRequest) -> Result<PreparedOrder, GatewayError> {
        let body = serde_json::to_vec(request).map_err(|e| GatewayError::InvalidOrder {
            venue: self.venue,
            detail: e.to_string(),
        })?;
        Ok(PreparedOrder {
            request: request.clone(),
            venue_order_id: None,
            body,
        })
    }

    async fn submit(&self, order: &PreparedOrder) -> Result<OrderReport, GatewayError> {
        let key = order.request.client_order_id.as_str().to_string();
        if let Some(existing) = lock(&self.orders).get(&key) {
            return Err(GatewayError::Duplicate {
                venue: self.venue,
                client_order_id: existing.client_order_id.clone(),
            });
        }
        let report = self.fill(&order.request);
        lock(&self.orders).insert(key, report.clone());
        Ok(report)
    }

    async fn cancel(&self, key: &OrderKey) -> Result<OrderReport, GatewayError> {
        // Simulated orders never rest: there is nothing left to cancel.
        lock(&self.orders)
            .get(key.client_order_id.as_str())
            .cloned()
            .ok_or_else(|| GatewayError::NotFound {
                venue: self.venue,
                detail: key.client_order_id.to_string(),
            })
    }

    async fn query(&self, key: &OrderKey) -> Result<Option<OrderReport>, GatewayError> {
        Ok(lock(&self.orders)
            .get(key.client_order_id.as_str())
            .cloned())
    }

    async fn balance(&self) -> Result<Balance, GatewayError> {
        Ok(Balance {
            venue: self.venue,
            available: *lock(&self.balance),
            portfolio_value: None,
            as_of: self.clock.now(),
        })
    }

    async fn positions(&self) -> Result<Vec<Position>, GatewayError> {
        Ok(Vec::new())
    }

    async fn fills(&self, _since: Option<Timestamp>) -> Result<Vec<Fill>, GatewayError> {
        Ok(Vec::new())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use orion_core::{
        ClientOrderId, KalshiFeeType, Level, MarketId, Outcome, Price, Rate, SystemClock,
        TimeInForce,
    };

    fn p(s: &str) -> Price {
        Price::parse(s).unwrap()
    }

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap()
    }

    fn gateway(
        venue: Venue,
        bids: &[(&str, &str)],
        asks: &[(&str, &str)],
    ) -> (PaperGateway, InstrumentId) {
        let instrument = InstrumentId::new(venue, "X").unwrap();
        let mut book = OrderBook::new();
        let level = |(price, qty): &(&str, &str)| Level {
            price: p(price),
            qty: q(qty),
        };
        book.apply_snapshot(
            bids.iter().map(level),
            asks.iter().map(level),
            None,
            None,
            Timestamp::from_secs(1),
        )
        .unwrap();
        let books = Arc::new(BookCopies::default());
        books.put(
            &instrument,
            book,
            FeeSchedule::Kalshi {
                fee_type: KalshiFeeType::Quadratic,
                multiplier: Rate::ONE,
            },
        );
        (
            PaperGateway::new(venue, books, Cash::ZERO, Arc::new(SystemClock)),
            instrument,
        )
    }

    fn order(
        instrument: &InstrumentId,
        outcome: Outcome,
        limit: &str,
        qty: &str,
        tif: TimeInForce,
    ) -> PreparedOrder {
        PreparedOrder {
            request: OrderRequest {
                client_order_id: ClientOrderId::new(&format!("c-{limit}-{qty}-{tif:?}")).unwrap(),
                market: MarketId::new(instrument.venue, "M").unwrap(),
                instrument: instrument.clone(),
                outcome,
                side: Side::Buy,
                limit_price: p(limit),
                quantity: q(qty),
                time_in_force: tif,
            },
            venue_order_id: None,
            body: Vec::new(),
        }
    }

    #[tokio::test]
    async fn fill_or_kill_fills_all_within_the_limit_or_nothing() {
        let (gw, x) = gateway(Venue::Polymarket, &[], &[("0.40", "10"), ("0.42", "10")]);
        let all = gw
            .submit(&order(
                &x,
                Outcome::Yes,
                "0.42",
                "15",
                TimeInForce::FillOrKill,
            ))
            .await
            .unwrap();
        assert_eq!(all.status, OrderStatus::Filled);
        assert_eq!(all.filled, q("15"));
        // (10 × 0.40 + 5 × 0.42) / 15 = 0.406666… rounds up.
        assert_eq!(all.average_price, Some(p("0.406667")));
        assert!(all.fees > Cash::ZERO);
        let none = gw
            .submit(&order(
                &x,
                Outcome::Yes,
                "0.40",
                "15",
                TimeInForce::FillOrKill,
            ))
            .await
            .unwrap();
        assert_eq!(none.status, OrderStatus::Cancelled);
        assert!(none.filled.is_zero());
        let some = gw
            .submit(&order(
                &x,
                Outcome::Yes,
                "0.40",
                "15",
                TimeInForce::ImmediateOrCancel,
            ))
            .await
            .unwrap();
        assert_eq!(some.status, OrderStatus::PartiallyFilled);
        assert_eq!(some.filled, q("10"));
    }

    #[tokio::test]
    async fn kalshi_no_is_bought_on_the_complement_of_yes_bids() {
        let (gw, x) = gateway(Venue::Kalshi, &[("0.41", "5")], &[("0.44", "5")]);
        let r = gw
            .submit(&order(
                &x,
                Outcome::No,
                "0.59",
                "5",
                TimeInForce::FillOrKill,
            ))
            .await
            .unwrap();
        assert_eq!(r.status, OrderStatus::Filled);
        assert_eq!(r.average_price, Some(p("0.59")));
    }

    #[tokio::test]
    async fn a_resubmitted_order_is_a_duplicate_and_query_finds_it() {
        let (gw, x) = gateway(Venue::Polymarket, &[], &[("0.40", "10")]);
        let o = order(&x, Outcome::Yes, "0.40", "1", TimeInForce::FillOrKill);
        gw.submit(&o).await.unwrap();
        assert!(matches!(
            gw.submit(&o).await,
            Err(GatewayError::Duplicate { .. })
        ));
        let key = OrderKey {
            client_order_id: o.request.client_order_id.clone(),
            venue_order_id: None,
            instrument: x,
        };
        assert_eq!(gw.query(&key).await.unwrap().unwrap().filled, q("1"));
        assert!(PaperIds.next_id().starts_with(PAPER_PREFIX));
    }
}
