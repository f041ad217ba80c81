//! The order state machine of one leg, with explicit in-flight states.
//!
//! ```text
//!  Prepared ──send──▶ InFlight{n} ──report──▶ Done(Filled | PartiallyFilled | Rejected)
//!                        │   └─report Open──▶ Resting ──cancel/query──▶ Done
//!                        └─unknown──▶ Unknown{n} ──query: final──▶ Done
//!                                       │  └─query: absent (confirmed)──▶ NeverArrived ──resend same bytes──▶ InFlight{n+1}
//!                                       └─queries exhausted──▶ Done(Unknown)
//! ```
//!
//! Every transition that leaves `Prepared` or re-enters `InFlight` is made
//! only after the matching journal event was written (the executor enforces
//! the order; this type refuses impossible transitions). A leg never gets a
//! second client order id: a resend reuses the one [`PreparedOrder`].

use orion_core::{OrderReport, OrderStatus, PreparedOrder, Quantity};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Where a leg ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LegEnd {
    Filled(OrderReport),
    /// Part filled, the rest cancelled (IOC/FAK remainder).
    PartiallyFilled(OrderReport),
    /// Nothing filled and nothing can: refused, cancelled, never sent, or
    /// proven never to have arrived.
    Rejected {
        reason: String,
    },
    /// The venue's account could not be obtained within the bounds: the
    /// fill is not known. Resolved later by reconciliation, never by a new order.
    Unknown {
        detail: String,
    },
}

impl LegEnd {
    /// Contracts known filled; `None` when unknown.
    pub fn filled(&self) -> Option<Quantity> {
        match self {
            LegEnd::Filled(r) | LegEnd::PartiallyFilled(r) => Some(r.filled),
            LegEnd::Rejected { .. } => Some(Quantity::ZERO),
            LegEnd::Unknown { .. } => None,
        }
    }

    pub fn report(&self) -> Option<&OrderReport> {
        match self {
            LegEnd::Filled(r) | LegEnd::PartiallyFilled(r) => Some(r),
            _ => None,
        }
    }

    /// The end a final venue report means.
    pub fn from_final_report(report: &OrderReport) -> LegEnd {
        match report.status {
            OrderStatus::Filled => LegEnd::Filled(report.clone()),
            _ if !report.filled.is_zero() => LegEnd::PartiallyFilled(report.clone()),
            OrderStatus::Rejected => LegEnd::Rejected {
                reason: report
                    .reason
                    .clone()
                    .unwrap_or_else(|| "rejected".to_string()),
            },
            _ => LegEnd::Rejected {
                reason: format!("{:?} with nothing filled", report.status).to_lowercase(),
            },
        }
    }
}

/// The phase of a leg's life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegPhase {
    /// Journaled, never sent.
    Prepared,
    /// `Sending{attempt}` journaled, the request is (or may be) on the wire.
    InFlight {
        attempt: u32,
    },
    /// The venue says it rests (should not happen for FOK/IOC): cancel it.
    Resting {
        attempt: u32,
    },
    /// The attempt's fate is unknown: resolve by query only.
    Unknown {
        attempt: u32,
        queries: u32,
    },
    /// Queries proved the order never reached the venue: the same prepared
    /// order may be resent.
    NeverArrived {
        attempt: u32,
    },
    Done(LegEnd),
}

/// A transition the state machine does not allow.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("illegal leg transition: {event} in phase {phase}")]
pub struct TransitionError {
    pub phase: String,
    pub event: &'static str,
}

/// One leg: its prepared order and where it stands.
#[derive(Debug, Clone)]
pub struct LegOrder {
    prepared: PreparedOrder,
    phase: LegPhase,
    attempts: u32,
}

impl LegOrder {
    pub fn new(prepared: PreparedOrder) -> LegOrder {
        LegOrder {
            prepared,
            phase: LegPhase::Prepared,
            attempts: 0,
        }
    }

    pub fn prepared(&self) -> &PreparedOrder {
        &self.prepared
    }

    pub fn phase(&self) -> &LegPhase {
        &self.phase
    }

    /// How many times the order was (to be) sent.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    pub fn end(&self) -> Option<&LegEnd> {
        match &self.phase {
            LegPhase::Done(end) => Some(end),
            _ => None,
        }
    }

    fn illegal(&self, event: &'static str) -> TransitionError {
        TransitionError {
            phase: format!("{:?}", self.phase),
            event,
        }
    }

    /// Before an attempt: returns the attempt number to journal as
    /// `Sending{attempt}`. Allowed from `Prepared`, or from `NeverArrived`
    /// (a resend of the very same prepared order).
    pub fn begin_send(&mut self) -> Result<u32, TransitionError> {
        match self.phase {
            LegPhase::Prepared | LegPhase::NeverArrived { .. } => {
                self.attempts += 1;
                self.phase = LegPhase::InFlight {
                    attempt: self.attempts,
                };
                Ok(self.attempts)
            }
            _ => Err(self.illegal("send")),
        }
    }

    /// A report from the venue (submit, query or cancel answer).
    pub fn on_report(&mut self, report: &OrderReport) -> Result<(), TransitionError> {
        let attempt = match self.phase {
            LegPhase::InFlight { attempt }
            | LegPhase::Resting { attempt }
            | LegPhase::Unknown { attempt, .. } => attempt,
            _ => return Err(self.illegal("report")),
        };
        self.phase = if report.status.is_final() {
            LegPhase::Done(LegEnd::from_final_report(report))
        } else {
            LegPhase::Resting { attempt }
        };
        Ok(())
    }

    /// The attempt's outcome is unknown (timeout, transport, 5xx, 409).
    pub fn on_unknown(&mut self) -> Result<(), TransitionError> {
        match self.phase {
            LegPhase::InFlight { attempt } | LegPhase::Resting { attempt } => {
                self.phase = LegPhase::Unknown {
                    attempt,
                    queries: 0,
                };
                Ok(())
            }
            LegPhase::Unknown { .. } => Ok(()),
            _ => Err(self.illegal("unknown")),
        }
    }

    /// A query came back without an answer (error or timeout).
    pub fn on_query_failed(&mut self) -> Result<u32, TransitionError> {
        match &mut self.phase {
            LegPhase::Unknown { queries, .. } => {
                *queries += 1;
                Ok(*queries)
            }
            _ => Err(self.illegal("query failed")),
        }
    }

    /// Queries confirmed that the venue has no such order.
    pub fn on_confirmed_absent(&mut self) -> Result<(), TransitionError> {
        match self.phase {
            LegPhase::Unknown { attempt, .. } => {
                self.phase = LegPhase::NeverArrived { attempt };
                Ok(())
            }
            _ => Err(self.illegal("confirmed absent")),
        }
    }

    /// The venue refused before creating anything (or nothing was sent).
    pub fn on_refused(&mut self, reason: String) -> Result<(), TransitionError> {
        match self.phase {
            LegPhase::Prepared | LegPhase::InFlight { .. } | LegPhase::NeverArrived { .. } => {
                self.phase = LegPhase::Done(LegEnd::Rejected { reason });
                Ok(())
            }
            _ => Err(self.illegal("refused")),
        }
    }

    /// Resolution gave up: the leg's fill stays unknown.
    pub fn give_up(&mut self, detail: String) -> Result<(), TransitionError> {
        match self.phase {
            LegPhase::Done(_) => Err(self.illegal("give up")),
            _ => {
                self.phase = LegPhase::Done(LegEnd::Unknown { detail });
                Ok(())
            }
        }
    }
}

impl LegOrder {
    /// A leg read back from the journal after a restart: it was sent
    /// `attempts` times and its fate is not known, so it may only be queried.
    pub fn resume_unknown(prepared: PreparedOrder, attempts: u32) -> LegOrder {
        LegOrder {
            prepared,
            phase: LegPhase::Unknown {
                attempt: attempts,
                queries: 0,
            },
            attempts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orion_core::{
        Cash, ClientOrderId, InstrumentId, MarketId, OrderRequest, Outcome, Price, Side,
        TimeInForce, Timestamp, Venue,
    };

    fn prepared() -> PreparedOrder {
        PreparedOrder {
            request: OrderRequest {
                client_order_id: ClientOrderId::new("c-1").unwrap(),
                market: MarketId::new(Venue::Kalshi, "K").unwrap(),
                instrument: InstrumentId::new(Venue::Kalshi, "K").unwrap(),
                outcome: Outcome::Yes,
                side: Side::Buy,
                limit_price: Price::from_micros_clamped(420_000),
                quantity: Quantity::from_micros(10_000_000),
                time_in_force: TimeInForce::FillOrKill,
            },
            venue_order_id: None,
            body: b"signed".to_vec(),
        }
    }

    fn report(status: OrderStatus, filled: u64) -> OrderReport {
        OrderReport {
            client_order_id: ClientOrderId::new("c-1").unwrap(),
            venue_order_id: None,
            status,
            filled: Quantity::from_micros(filled),
            average_price: None,
            fees: Cash::ZERO,
            reason: None,
            updated_at: Timestamp::ZERO,
        }
    }

    #[test]
    fn unknown_is_only_left_by_query_answers_or_a_proven_absence() {
        let mut leg = LegOrder::new(prepared());
        assert_eq!(leg.begin_send(), Ok(1));
        leg.on_unknown().unwrap();
        // No second send while the first attempt's fate is unknown.
        assert!(leg.begin_send().is_err());
        assert_eq!(leg.on_query_failed(), Ok(1));
        leg.on_confirmed_absent().unwrap();
        // Proven absent: the same prepared order may go again.
        assert_eq!(leg.begin_send(), Ok(2));
        leg.on_report(&report(OrderStatus::Filled, 10_000_000))
            .unwrap();
        assert!(matches!(leg.end(), Some(LegEnd::Filled(_))));
        assert!(leg.begin_send().is_err(), "a finished leg is never resent");
        assert!(leg.on_report(&report(OrderStatus::Filled, 1)).is_err());
    }

    #[test]
    fn final_reports_map_to_ends() {
        let cancelled_part = LegEnd::from_final_report(&report(OrderStatus::Cancelled, 3));
        assert_eq!(cancelled_part.filled(), Some(Quantity::from_micros(3)));
        assert!(matches!(cancelled_part, LegEnd::PartiallyFilled(_)));
        let killed = LegEnd::from_final_report(&report(OrderStatus::Cancelled, 0));
        assert_eq!(killed.filled(), Some(Quantity::ZERO));
        assert_eq!(
            LegEnd::Unknown {
                detail: String::new()
            }
            .filled(),
            None
        );
        // An open (resting) answer is not an end: the leg must cancel.
        let mut leg = LegOrder::new(prepared());
        leg.begin_send().unwrap();
        leg.on_report(&report(OrderStatus::Open, 0)).unwrap();
        assert!(matches!(leg.phase(), LegPhase::Resting { attempt: 1 }));
    }
}
