//! The circuit breaker and the capital manager, from the outside: thresholds
//! exactly at and just beyond each limit, missing data, restart through a
//! real database, day rollover, audited resets; every capital limit's
//! refusal, size reduction by whole lots, and properties of every approval.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use orion_core::{
    Cash, Fraction, InstrumentId, MarketId, Outcome, Price, Quantity, Rounding, Severity,
    Timestamp, Venue,
};
use orion_matching::detection::{Direction, LegPlan, Opportunity};
use orion_risk::{
    AdminActionError, AdminReset, BreakerLimits, BreakerState, BreakerStatus, CapitalLimits,
    CapitalManager, CircuitBreaker, NotReadyReason, OpenPosition, PerVenue, PortfolioView,
    Readiness, Refusal, ResetOutcome, RiskDecision, RiskGate, TradeProposal, TripReason,
    check_trade, polymarket_lot,
};
use orion_storage::{AuditEntry, BreakerRecord, Database};
use proptest::prelude::*;

// ------------------------------------------------------------ helpers

const DAY: i64 = 86_400;
/// 2026-11-24T00:00:00Z.
const DAY1: i64 = 20_781 * DAY;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_secs(DAY1 + secs)
}

fn usd(text: &str) -> Cash {
    Cash::parse(text).unwrap()
}

fn q(text: &str) -> Quantity {
    Quantity::parse(text).unwrap()
}

fn px(text: &str) -> Price {
    Price::parse(text).unwrap()
}

fn frac(text: &str) -> Fraction {
    Fraction::parse(text).unwrap()
}

fn limits() -> BreakerLimits {
    BreakerLimits {
        daily_loss_limit: frac("0.02"),
        max_drawdown: frac("0.05"),
        max_consecutive_failures: 3,
        max_unwind_loss: usd("25"),
    }
}

/// Equity split over both venues (Kalshi gets the given part).
fn equity(kalshi: &str, polymarket: &str) -> PerVenue<Option<Cash>> {
    PerVenue::new(Some(usd(kalshi)), Some(usd(polymarket)))
}

fn breaker(limits: BreakerLimits) -> CircuitBreaker {
    CircuitBreaker::new(limits, BreakerState::new())
}

fn halted_reason(b: &CircuitBreaker) -> TripReason {
    match b.state().status() {
        BreakerStatus::Halted { reason, .. } => reason.clone(),
        BreakerStatus::Active => panic!("expected halted"),
    }
}

// ------------------------------------------------------------ breaker

#[test]
fn daily_loss_trips_exactly_at_the_limit() {
    let mut b = breaker(limits());
    let o = b.observe_equity(&equity("500", "500"), t(60));
    assert_eq!(
        o.readiness,
        Readiness::Ready {
            equity: usd("1000")
        }
    );
    assert!(b.allows_new_trades());

    // $19.999999 of $1000 is below 2%.
    let o = b.observe_equity(&equity("480.000001", "500"), t(120));
    assert_eq!(o.trip, None);
    assert!(b.allows_new_trades());

    // $20.00 is exactly 2%.
    let o = b.observe_equity(&equity("480", "500"), t(180));
    let event = o.trip.expect("exactly at the limit trips");
    assert_eq!(
        event.reason,
        TripReason::DailyLoss {
            day_start_equity: usd("1000"),
            equity: usd("980"),
            loss: usd("20"),
            limit: frac("0.02"),
        }
    );
    assert_eq!(event.at, t(180));
    assert!(!b.allows_new_trades());
    assert!(b.allows_repairs(), "unwinds must stay allowed while halted");
    let alert = event.alert();
    assert_eq!(alert.severity, Severity::Critical);
    assert!(alert.message.contains("HALTED"), "{}", alert.message);
    assert!(
        alert.message.contains("daily loss $20"),
        "{}",
        alert.message
    );
    assert!(alert.message.contains("orion-admin breaker reset"));
}

#[test]
fn daily_loss_trips_just_beyond_the_limit() {
    let mut b = breaker(limits());
    b.observe_equity(&equity("500", "500"), t(60));
    let o = b.observe_equity(&equity("479.99", "500"), t(120));
    assert!(matches!(
        o.trip.map(|e| e.reason),
        Some(TripReason::DailyLoss { loss, .. }) if loss == usd("20.01")
    ));
}

#[test]
fn drawdown_trips_at_and_beyond_the_limit_from_the_peak() {
    // Daily loss at 100% never trips (equity must stay positive to count).
    let lim = BreakerLimits {
        daily_loss_limit: Fraction::ONE,
        ..limits()
    };
    let mut b = breaker(lim);
    b.observe_equity(&equity("500", "500"), t(0));
    b.observe_equity(&equity("600", "500"), t(10));
    assert_eq!(b.state().peak_equity(), Some(usd("1100")));
    // 5% of the $1100 peak is $55.
    let o = b.observe_equity(&equity("545.000001", "500"), t(20));
    assert_eq!(o.trip, None);
    let o = b.observe_equity(&equity("545", "500"), t(30));
    assert_eq!(
        o.trip.unwrap().reason,
        TripReason::Drawdown {
            peak_equity: usd("1100"),
            equity: usd("1045"),
            drawdown: usd("55"),
            limit: frac("0.05"),
        }
    );

    let mut b = breaker(lim);
    b.observe_equity(&equity("600", "500"), t(0));
    let o = b.observe_equity(&equity("544.99", "500"), t(30));
    assert!(matches!(
        o.trip.map(|e| e.reason),
        Some(TripReason::Drawdown { drawdown, .. }) if drawdown == usd("55.01")
    ));
}

#[test]
fn drawdown_spans_days() {
    let mut b = breaker(limits());
    // Day 1: 1000 -> 1100 (peak); day 2: down 1.5% a day, never 2% in one
    // day, but 5% from the peak after a few days.
    b.observe_equity(&equity("500", "500"), t(0));
    b.observe_equity(&equity("600", "500"), t(10));
    let mut value = 1_100_000_000_i64;
    let mut tripped = None;
    for day in 1..6 {
        value -= value * 15 / 1000;
        let v = Cash::from_micros(value - 500_000_000);
        let o = b.observe_equity(&PerVenue::new(Some(v), Some(usd("500"))), t(day * DAY + 60));
        if let Some(e) = o.trip {
            tripped = Some((day, e.reason));
            break;
        }
    }
    let (day, reason) = tripped.expect("drawdown trips eventually");
    assert_eq!(day, 4, "1100 * 0.985^4 = 1035.3 is the first below 1045");
    assert_eq!(reason.label(), "drawdown");
}

#[test]
fn consecutive_failures_trip_at_the_limit() {
    let mut b = breaker(limits());
    assert_eq!(b.record_execution_failure(t(1)), None);
    assert_eq!(b.record_execution_failure(t(2)), None);
    let event = b
        .record_execution_failure(t(3))
        .expect("third failure trips");
    assert_eq!(
        event.reason,
        TripReason::ConsecutiveFailures {
            failures: 3,
            limit: 3
        }
    );
    assert!(
        event
            .description()
            .contains("3 consecutive execution failures")
    );
    // A streak interrupted by a success does not trip.
    let mut b = breaker(limits());
    for i in 0..10 {
        assert_eq!(b.record_execution_failure(t(i)), None);
        assert_eq!(b.record_execution_failure(t(i)), None);
        b.record_execution_success(t(i));
    }
    assert!(!b.state().is_halted());
}

#[test]
fn unwind_losses_trip_at_and_beyond_the_daily_limit() {
    let mut b = breaker(limits());
    assert_eq!(b.record_unwind_loss(usd("10"), t(1)), None);
    assert_eq!(b.record_unwind_loss(usd("14.99"), t(2)), None);
    // A gain does not offset a loss.
    assert_eq!(b.record_unwind_loss(usd("-5"), t(3)), None);
    assert_eq!(b.state().unwind_loss_today(), usd("24.99"));
    let event = b
        .record_unwind_loss(usd("0.01"), t(4))
        .expect("exactly $25 trips");
    assert_eq!(
        event.reason,
        TripReason::UnwindLoss {
            total_today: usd("25"),
            limit: usd("25")
        }
    );

    let mut b = breaker(limits());
    let event = b.record_unwind_loss(usd("30"), t(1)).expect("beyond trips");
    assert_eq!(event.reason.label(), "unwind_loss");
}

#[test]
fn missing_or_zero_equity_is_not_ready_and_never_trips() {
    let mut b = breaker(limits());
    assert!(!b.allows_new_trades(), "no reading yet: not ready");
    assert_eq!(
        b.readiness(),
        &Readiness::NotReady(vec![NotReadyReason::NoReading])
    );

    // The seed's failure: a $0 balance before anything loaded.
    let o = b.observe_equity(&PerVenue::new(Some(Cash::ZERO), None), t(0));
    assert_eq!(o.trip, None);
    assert_eq!(
        o.readiness,
        Readiness::NotReady(vec![
            NotReadyReason::ZeroBalance {
                venue: Venue::Kalshi
            },
            NotReadyReason::NotLoaded {
                venue: Venue::Polymarket
            },
        ])
    );
    assert_eq!(
        b.state().day_start_equity(),
        None,
        "no baseline from a bad read"
    );
    assert!(!b.allows_new_trades());

    b.observe_equity(&equity("500", "500"), t(10));
    assert!(b.allows_new_trades());
    // Later a venue reads $0 or is missing: not a 50% or 100% loss.
    for bad in [
        PerVenue::new(Some(Cash::ZERO), Some(usd("500"))),
        PerVenue::new(None, Some(usd("500"))),
        PerVenue::new(None, None),
        PerVenue::new(Some(usd("-3")), Some(usd("500"))),
    ] {
        let o = b.observe_equity(&bad, t(20));
        assert_eq!(o.trip, None, "{bad:?}");
        assert!(!o.readiness.is_ready());
        assert!(!b.state().is_halted());
        assert!(!b.allows_new_trades());
    }
    assert_eq!(b.state().peak_equity(), Some(usd("1000")));
    assert_eq!(b.state().last_equity().map(|e| e.0), Some(usd("1000")));
    // A good reading restores readiness.
    b.observe_equity(&equity("499", "500"), t(30));
    assert!(b.allows_new_trades());
}

#[test]
fn day_rolls_over_at_utc_midnight() {
    let mut b = breaker(limits());
    b.observe_equity(&equity("500", "500"), t(0));
    // 1.5% down on day 1: no trip.
    assert_eq!(
        b.observe_equity(&equity("485", "500"), t(DAY - 1)).trip,
        None
    );
    b.record_unwind_loss(usd("20"), t(DAY - 1));
    b.record_execution_failure(t(DAY - 1));
    b.record_execution_failure(t(DAY - 1));
    assert_eq!(b.state().day(), Some(20_781));

    // Day 2 starts from the last equity seen ($985): $975 is 1.02% down
    // today, though 2.5% below day 1's start.
    let o = b.observe_equity(&equity("475", "500"), t(DAY));
    assert_eq!(o.trip, None);
    assert_eq!(b.state().day(), Some(20_782));
    assert_eq!(b.state().day_start_equity(), Some(usd("985")));
    // The unwind total restarts; the failure streak does not.
    assert_eq!(b.state().unwind_loss_today(), Cash::ZERO);
    assert_eq!(b.record_unwind_loss(usd("20"), t(DAY + 5)), None);
    assert_eq!(b.state().consecutive_failures(), 2);

    // 2% of $985 is $19.70: $965.30 trips.
    assert_eq!(
        b.observe_equity(&equity("465.300001", "500"), t(DAY + 10))
            .trip,
        None
    );
    let o = b.observe_equity(&equity("465.30", "500"), t(DAY + 20));
    assert!(matches!(
        o.trip.map(|e| e.reason),
        Some(TripReason::DailyLoss { day_start_equity, .. }) if day_start_equity == usd("985")
    ));

    // A quiet day still rolls over on the engine's tick.
    b.tick(t(2 * DAY + 1));
    assert_eq!(b.state().day(), Some(20_783));
    assert_eq!(b.state().unwind_loss_today(), Cash::ZERO);
    assert_eq!(b.state().day_start_equity(), Some(usd("965.30")));

    // A clock stepping back never rolls the day back.
    let mut b = breaker(limits());
    b.observe_equity(&equity("500", "500"), t(DAY + 1));
    b.observe_equity(&equity("500", "500"), t(DAY - 100));
    assert_eq!(b.state().day(), Some(20_782));
}

#[test]
fn halt_survives_a_restart_through_json() {
    let mut b = breaker(limits());
    b.observe_equity(&equity("500", "500"), t(0));
    b.record_unwind_loss(usd("3"), t(1));
    b.observe_equity(&equity("480", "500"), t(2)).trip.unwrap();
    let json = b.state().snapshot().unwrap();

    let restored = BreakerState::restore(&json).unwrap();
    assert_eq!(&restored, b.state());
    let b2 = CircuitBreaker::new(limits(), restored);
    assert!(b2.state().is_halted());
    assert!(!b2.allows_new_trades());
    assert_eq!(halted_reason(&b2).label(), "daily_loss");
    assert_eq!(b2.state().unwind_loss_today(), usd("3"));
    assert_eq!(b2.state().peak_equity(), Some(usd("1000")));
    // Readiness is not persisted: a restarted engine reads balances first.
    assert!(!b2.readiness().is_ready());
}

#[test]
fn halt_survives_a_restart_through_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orion.db");
    {
        let mut db = Database::open(&path).unwrap();
        let mut b = breaker(limits());
        b.observe_equity(&equity("500", "500"), t(0));
        let event = b.record_unwind_loss(usd("26"), t(5)).unwrap();
        let state = b.state();
        db.save_breaker(
            &BreakerRecord {
                state: state.state_name().into(),
                data: state.snapshot().unwrap(),
                updated_at: event.at,
            },
            None,
        )
        .unwrap();
    }
    let mut db = Database::open(&path).unwrap();
    let record = db.load_breaker().unwrap().unwrap();
    assert_eq!(record.state, "halted");
    let mut state = BreakerState::restore(&record.data).unwrap();
    assert!(matches!(
        state.status(),
        BreakerStatus::Halted { reason: TripReason::UnwindLoss { .. }, since } if *since == t(5)
    ));

    // Reset through the admin path, audited in the same transaction.
    let ResetOutcome::Cleared { audit, .. } = state.reset(
        AdminReset::new("alice", "unwind losses reviewed").unwrap(),
        t(50),
    ) else {
        panic!("a halted breaker clears");
    };
    db.save_breaker(
        &BreakerRecord {
            state: state.state_name().into(),
            data: state.snapshot().unwrap(),
            updated_at: t(50),
        },
        Some(&AuditEntry {
            at: audit.at,
            actor: audit.actor,
            action: audit.action,
            detail: audit.detail,
        }),
    )
    .unwrap();
    drop(db);
    let db = Database::open_read_only(&path).unwrap();
    let state = BreakerState::restore(&db.load_breaker().unwrap().unwrap().data).unwrap();
    assert!(state.allows_new_trades());
    assert_eq!(state.last_reset().unwrap().actor, "alice");
    let log = db.audit_log(1).unwrap();
    assert_eq!(log[0].action, "breaker.reset");
    assert!(log[0].detail.contains("unwind losses reviewed"));
}

#[test]
fn reset_needs_actor_and_reason_and_clears() {
    assert_eq!(
        AdminReset::new("", "why"),
        Err(AdminActionError::EmptyActor)
    );
    assert_eq!(
        AdminReset::new("bob", "\n "),
        Err(AdminActionError::EmptyReason)
    );

    let mut b = breaker(limits());
    b.observe_equity(&equity("500", "500"), t(0));
    b.record_execution_failure(t(1));
    b.observe_equity(&equity("470", "500"), t(2)).trip.unwrap();
    let since = t(2);

    let outcome = b.reset(AdminReset::new("bob", "loss explained").unwrap(), t(100));
    let ResetOutcome::Cleared {
        previous,
        halted_since,
        audit,
    } = outcome
    else {
        panic!("cleared");
    };
    assert_eq!(previous.label(), "daily_loss");
    assert_eq!(halted_since, since);
    assert_eq!(audit.actor, "bob");
    assert_eq!(audit.action, "breaker.reset");
    assert_eq!(audit.at, t(100));
    assert!(audit.detail.contains("loss explained"), "{}", audit.detail);
    assert!(audit.detail.contains("daily loss"), "{}", audit.detail);

    assert!(b.allows_new_trades());
    assert_eq!(b.state().consecutive_failures(), 0);
    // The accepted loss is the new baseline: the same equity does not trip.
    assert_eq!(b.state().day_start_equity(), Some(usd("970")));
    assert_eq!(b.observe_equity(&equity("470", "500"), t(101)).trip, None);
    // Resetting an active breaker is a no-op.
    assert_eq!(
        b.reset(AdminReset::new("bob", "again").unwrap(), t(102)),
        ResetOutcome::AlreadyActive
    );
    assert_eq!(b.state().last_reset().unwrap().reason, "loss explained");
}

// ------------------------------------------------------------ capital

fn leg(venue: Venue, price: Price, qty: Quantity, outcome: Outcome) -> LegPlan {
    LegPlan {
        venue,
        market: MarketId::new(venue, "MKT").unwrap(),
        instrument: InstrumentId::new(venue, "INS").unwrap(),
        outcome,
        quantity: qty,
        best_price: price,
        marginal_price: price,
        limit_price: price,
        cost: price.notional(qty).to_cash(Rounding::Up).unwrap(),
        fees: Cash::ZERO,
    }
}

/// An opportunity buying `qty` at `kalshi` + `poly` per contract.
fn opp(pair: &str, event: &str, qty: &str, kalshi: &str, poly: &str) -> Opportunity {
    let qty = q(qty);
    let legs = [
        leg(Venue::Kalshi, px(kalshi), qty, Outcome::Yes),
        leg(Venue::Polymarket, px(poly), qty, Outcome::No),
    ];
    let total = legs[0].cost.saturating_add(legs[1].cost);
    let payout = Price::ONE.notional(qty).to_cash(Rounding::Down).unwrap();
    Opportunity {
        pair_id: pair.into(),
        event_key: event.into(),
        direction: Direction::KalshiYes,
        quantity: qty,
        legs,
        total_cost: total,
        payout,
        net_profit: payout.saturating_sub(total),
        worst_case_profit: payout.saturating_sub(total),
        marginal_edge: Price::ONE.saturating_sub(px(kalshi).saturating_add(px(poly))),
        average_edge: Price::ONE.saturating_sub(px(kalshi).saturating_add(px(poly))),
        annualized_return_bps: 1_000,
        days_to_resolution: 10,
        detected_at: t(0),
    }
}

fn generous() -> CapitalLimits {
    CapitalLimits {
        reserve_fraction: Fraction::ZERO,
        max_trade_fraction: Fraction::ONE,
        min_trade: q("1"),
        max_open_positions: 100,
        max_exposure_per_event: usd("1000000"),
        max_exposure_per_pair: usd("1000000"),
        max_days_to_resolution: 90,
    }
}

fn rich() -> PortfolioView {
    PortfolioView {
        available: equity("10000", "10000"),
        positions: Vec::new(),
    }
}

fn position(pair: &str, event: &str, cost: &str) -> OpenPosition {
    OpenPosition {
        pair_id: pair.into(),
        event_key: event.into(),
        cost: usd(cost),
    }
}

fn refusal(d: RiskDecision) -> Refusal {
    match d {
        RiskDecision::Refused(r) => r,
        RiskDecision::Approved { quantity, .. } => panic!("approved {quantity}"),
    }
}

fn approved(d: RiskDecision) -> (Quantity, orion_risk::Reservation) {
    match d {
        RiskDecision::Approved {
            quantity,
            reservation,
            ..
        } => (quantity, reservation),
        RiskDecision::Refused(r) => panic!("refused: {r}"),
    }
}

// 0.49 has a one-contract Polymarket lot, which keeps the arithmetic readable.
const K: &str = "0.46";
const P: &str = "0.49";

#[test]
fn approves_in_full_and_reserves_both_legs() {
    let mut m = CapitalManager::new(generous());
    let (qty, r) = approved(m.check(&opp("A", "E", "100", K, P), &rich(), t(0)));
    assert_eq!(qty, q("100"));
    assert_eq!(r.on(Venue::Kalshi), usd("46"));
    assert_eq!(r.on(Venue::Polymarket), usd("49"));
    assert_eq!(r.total, usd("95"));
    assert!(r.opens_position);
    assert_eq!(m.reserved_on(Venue::Kalshi), usd("46"));
    assert_eq!(m.reserved_on(Venue::Polymarket), usd("49"));
    assert_eq!(m.release(r.id).map(|r| r.total), Some(usd("95")));
    assert_eq!(m.reserved_on(Venue::Kalshi), Cash::ZERO);
    assert_eq!(m.release(r.id), None);
}

#[test]
fn size_cap_reduces_by_whole_lots() {
    // Bankroll $1000, cap 5% = $50: 52 contracts at $0.95 cost $49.40, 53
    // would cost $50.35.
    let mut m = CapitalManager::new(CapitalLimits {
        max_trade_fraction: frac("0.05"),
        ..generous()
    });
    let portfolio = PortfolioView {
        available: equity("500", "500"),
        positions: vec![],
    };
    let d = m.check(&opp("A", "E", "100", K, P), &portfolio, t(0));
    let RiskDecision::Approved {
        quantity,
        requested,
        reservation,
    } = d
    else {
        panic!("approved with a smaller size");
    };
    assert_eq!((quantity, requested), (q("52"), q("100")));
    assert_eq!(reservation.quantity, q("52"));
    assert_eq!(reservation.total, usd("49.40"));

    // A lot of 0.25 (Polymarket at 0.56): 100 - n * 0.25.
    let mut m = CapitalManager::new(CapitalLimits {
        max_trade_fraction: frac("0.05"),
        ..generous()
    });
    let o = opp("A", "E", "100", "0.40", "0.56");
    assert_eq!(polymarket_lot(px("0.56")), q("0.25"));
    let (qty, r) = approved(m.check(&o, &portfolio, t(0)));
    // $50 / $0.96 = 52.08: 52.00 fits ($49.92), 52.25 does not ($50.16).
    assert_eq!(qty, q("52"));
    assert!(r.total <= usd("50"));
    assert_eq!(r.on(Venue::Kalshi), usd("20.80"));
    assert_eq!(r.on(Venue::Polymarket), usd("29.12"));
}

#[test]
fn size_cap_refuses_when_the_minimum_does_not_fit() {
    let mut m = CapitalManager::new(CapitalLimits {
        max_trade_fraction: frac("0.05"),
        min_trade: q("60"),
        ..generous()
    });
    let portfolio = PortfolioView {
        available: equity("500", "500"),
        positions: vec![],
    };
    assert_eq!(
        refusal(m.check(&opp("A", "E", "100", K, P), &portfolio, t(0))),
        Refusal::TradeSizeCap {
            needed: usd("57"),
            cap: usd("50"),
            bankroll: usd("1000"),
            fraction: frac("0.05"),
        }
    );
    assert_eq!(m.outstanding().count(), 0, "a refusal reserves nothing");
}

#[test]
fn balance_and_reserve_limit_each_venue() {
    // Kalshi: $100 available, 10% reserve -> $90 spendable: 195 contracts
    // at $0.46 ($89.70); 196 would need $90.16.
    let limits = CapitalLimits {
        reserve_fraction: frac("0.1"),
        ..generous()
    };
    let portfolio = PortfolioView {
        available: equity("100", "10000"),
        positions: vec![],
    };
    let mut m = CapitalManager::new(limits);
    let (qty, r) = approved(m.check(&opp("A", "E", "300", K, P), &portfolio, t(0)));
    assert_eq!(qty, q("195"));
    assert_eq!(r.on(Venue::Kalshi), usd("89.70"));

    // The first reservation holds its money: the next trade sees $0.30.
    assert_eq!(
        refusal(m.check(&opp("B", "E2", "300", K, P), &portfolio, t(1))),
        Refusal::InsufficientBalance {
            venue: Venue::Kalshi,
            needed: usd("0.46"),
            spendable: usd("0.30"),
            available: usd("100"),
            reserve: usd("10"),
            reserved: usd("89.70"),
        }
    );
    // Released, the money is back.
    m.release(r.id);
    assert!(
        m.check(&opp("B", "E2", "10", K, P), &portfolio, t(2))
            .is_approved()
    );

    let mut m = CapitalManager::new(CapitalLimits {
        min_trade: q("200"),
        ..limits
    });
    assert_eq!(
        refusal(m.check(&opp("A", "E", "300", K, P), &portfolio, t(0))).label(),
        "insufficient_balance"
    );

    // The Polymarket side is checked too, not just the first leg.
    let portfolio = PortfolioView {
        available: equity("10000", "20"),
        positions: vec![],
    };
    let mut m = CapitalManager::new(CapitalLimits {
        min_trade: q("50"),
        ..generous()
    });
    assert!(matches!(
        refusal(m.check(&opp("A", "E", "100", K, P), &portfolio, t(0))),
        Refusal::InsufficientBalance { venue: Venue::Polymarket, needed, .. } if needed == usd("24.50")
    ));
}

#[test]
fn unknown_balance_refuses() {
    let mut m = CapitalManager::new(generous());
    let portfolio = PortfolioView {
        available: PerVenue::new(Some(usd("100")), None),
        positions: vec![],
    };
    assert_eq!(
        refusal(m.check(&opp("A", "E", "10", K, P), &portfolio, t(0))),
        Refusal::BalanceUnknown {
            venue: Venue::Polymarket
        }
    );
}

#[test]
fn minimum_size_refuses() {
    let mut m = CapitalManager::new(CapitalLimits {
        min_trade: q("5"),
        ..generous()
    });
    assert_eq!(
        refusal(m.check(&opp("A", "E", "4", K, P), &rich(), t(0))),
        Refusal::BelowMinimum {
            quantity: q("4"),
            minimum: q("5")
        }
    );
}

#[test]
fn venue_minimum_size_applies_when_larger() {
    let mut m = CapitalManager::new(generous());
    let p = TradeProposal::from_opportunity(&opp("A", "E", "4", K, P))
        .unwrap()
        .with_venue_min_size(q("5"));
    assert_eq!(
        refusal(m.check_proposal(&p, &rich(), t(0))),
        Refusal::BelowMinimum {
            quantity: q("4"),
            minimum: q("5")
        }
    );
    // A size cap cannot cut below it either.
    let mut m = CapitalManager::new(CapitalLimits {
        max_trade_fraction: frac("0.0002"),
        ..generous()
    });
    let p = TradeProposal::from_opportunity(&opp("A", "E", "100", K, P))
        .unwrap()
        .with_venue_min_size(q("5"));
    // Cap $4 of a $20000 bankroll: 4 contracts would fit, 5 do not.
    assert_eq!(
        refusal(m.check_proposal(&p, &rich(), t(0))).label(),
        "trade_size_cap"
    );
}

#[test]
fn the_gate_from_config_starts_not_ready() {
    let config = orion_config::Config::defaults();
    let mut gate = RiskGate::new(&config.risk, BreakerState::new());
    let o = opp("A", "E", "10", K, P);
    assert_eq!(refusal(gate.review(&o, t(0))).label(), "not_ready");
    gate.portfolio.available = equity("1000", "1000");
    gate.breaker.observe_equity(&equity("1000", "1000"), t(0));
    let (qty, r) = approved(gate.review(&o, t(1)));
    assert_eq!(qty, q("10"));
    assert!(gate.capital.release(r.id).is_some());
}

#[test]
fn open_positions_limit_counts_pairs_and_reservations() {
    let mut m = CapitalManager::new(CapitalLimits {
        max_open_positions: 2,
        ..generous()
    });
    let portfolio = PortfolioView {
        available: equity("10000", "10000"),
        positions: vec![position("A", "E1", "10")],
    };
    let (_, rb) = approved(m.check(&opp("B", "E2", "10", K, P), &portfolio, t(0)));
    assert_eq!(
        refusal(m.check(&opp("C", "E3", "10", K, P), &portfolio, t(1))),
        Refusal::MaxOpenPositions { open: 2, limit: 2 }
    );
    // Adding to a pair already held opens nothing.
    let (_, ra) = approved(m.check(&opp("A", "E1", "10", K, P), &portfolio, t(2)));
    assert!(!ra.opens_position);
    m.release(rb.id);
    assert!(
        m.check(&opp("C", "E3", "10", K, P), &portfolio, t(3))
            .is_approved()
    );
}

#[test]
fn pair_and_event_exposure_limits() {
    let limits = CapitalLimits {
        max_exposure_per_pair: usd("250"),
        max_exposure_per_event: usd("400"),
        ..generous()
    };
    let portfolio = PortfolioView {
        available: equity("10000", "10000"),
        positions: vec![position("A", "E", "240"), position("B", "E", "100")],
    };
    // Pair A has $10 of room: 10 contracts ($9.50).
    let mut m = CapitalManager::new(limits);
    let (qty, _) = approved(m.check(&opp("A", "E", "100", K, P), &portfolio, t(0)));
    assert_eq!(qty, q("10"));
    let mut m = CapitalManager::new(CapitalLimits {
        min_trade: q("11"),
        ..limits
    });
    assert_eq!(
        refusal(m.check(&opp("A", "E", "100", K, P), &portfolio, t(0))),
        Refusal::PairExposure {
            pair_id: "A".into(),
            current: usd("240"),
            needed: usd("10.45"),
            limit: usd("250"),
        }
    );
    // Event E holds $340 of $400: pair C (new, same event) gets $60 = 63
    // contracts ($59.85).
    let mut m = CapitalManager::new(limits);
    let (qty, r) = approved(m.check(&opp("C", "E", "100", K, P), &portfolio, t(0)));
    assert_eq!(qty, q("63"));
    // ...and then the event is full, reservations included.
    assert_eq!(
        refusal(m.check(&opp("D", "E", "100", K, P), &portfolio, t(1))),
        Refusal::EventExposure {
            event_key: "E".into(),
            current: usd("340").saturating_add(r.total),
            needed: usd("0.95"),
            limit: usd("400"),
        }
    );
}

#[test]
fn days_to_resolution_limit() {
    let mut m = CapitalManager::new(generous());
    let mut o = opp("A", "E", "10", K, P);
    o.days_to_resolution = 91;
    assert_eq!(
        refusal(m.check(&o, &rich(), t(0))),
        Refusal::DaysToResolution {
            days: 91,
            limit: 90
        }
    );
    o.days_to_resolution = 90;
    assert!(m.check(&o, &rich(), t(0)).is_approved());
}

#[test]
fn malformed_opportunities_are_refused_not_panics() {
    let mut m = CapitalManager::new(generous());
    let mut o = opp("A", "E", "10", K, P);
    o.legs[1].venue = Venue::Kalshi;
    assert_eq!(
        refusal(m.check(&o, &rich(), t(0))).label(),
        "invalid_proposal"
    );
    let mut o = opp("A", "E", "10", K, P);
    o.quantity = Quantity::ZERO;
    assert_eq!(
        refusal(m.check(&o, &rich(), t(0))).label(),
        "invalid_proposal"
    );
    let mut o = opp("A", "E", "10", K, P);
    o.legs[0].fees = usd("-1");
    assert_eq!(
        refusal(m.check(&o, &rich(), t(0))).label(),
        "invalid_proposal"
    );
}

#[test]
fn the_gate_asks_the_breaker_first() {
    let mut m = CapitalManager::new(generous());
    let mut b = breaker(limits());
    let o = opp("A", "E", "10", K, P);
    assert_eq!(
        refusal(check_trade(&b, &mut m, &o, &rich(), t(0))).label(),
        "not_ready"
    );
    b.observe_equity(&equity("10000", "10000"), t(0));
    assert!(check_trade(&b, &mut m, &o, &rich(), t(0)).is_approved());
    for i in 0..3 {
        let _ = b.record_execution_failure(t(i));
    }
    assert!(matches!(
        refusal(check_trade(&b, &mut m, &o, &rich(), t(5))),
        Refusal::Halted {
            reason: TripReason::ConsecutiveFailures { .. }
        }
    ));
}

// ------------------------------------------------------------ metrics

/// Counts counter increments by "name{label=value,...}".
#[derive(Debug, Default)]
struct Counting {
    counters: Mutex<HashMap<String, Arc<AtomicU64>>>,
}

impl Counting {
    fn get(&self, key: &str) -> u64 {
        self.counters
            .lock()
            .unwrap()
            .get(key)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }
}

impl Recorder for Counting {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        let counter = self
            .counters
            .lock()
            .unwrap()
            .entry(name)
            .or_default()
            .clone();
        Counter::from_arc(counter)
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

#[test]
fn refusals_and_trips_are_counted_by_reason() {
    let recorder = Counting::default();
    metrics::with_local_recorder(&recorder, || {
        let mut m = CapitalManager::new(generous());
        let mut o = opp("A", "E", "10", K, P);
        o.days_to_resolution = 1000;
        let _ = m.check(&o, &rich(), t(0));
        let _ = m.check(&o, &rich(), t(0));
        let _ = m.check(&opp("A", "E", "10", K, P), &rich(), t(0));
        let mut b = breaker(limits());
        let _ = b.record_unwind_loss(usd("100"), t(0));
    });
    assert_eq!(
        recorder.get("orion_risk_refusals_total{reason=days_to_resolution}"),
        2
    );
    assert_eq!(recorder.get("orion_risk_approvals_total{reduced=false}"), 1);
    assert_eq!(
        recorder.get("orion_risk_breaker_trips_total{reason=unwind_loss}"),
        1
    );
}

// ------------------------------------------------------------ properties

#[derive(Debug, Clone)]
struct Case {
    limits: CapitalLimits,
    available: [i64; 2],
    positions: Vec<(u8, u8, i64)>,
    trades: Vec<(u8, u8, u64, u32, u32, i64, u32)>,
}

fn case() -> impl Strategy<Value = Case> {
    let limits = (
        0u32..=500_000,
        0u32..=1_000_000,
        1u64..=2_000,
        1u32..=6,
        0i64..=2_000_000_000,
        0i64..=1_000_000_000,
        1u32..=60,
    )
        .prop_map(
            |(reserve, frac, min_hundredths, open, event, pair, days)| CapitalLimits {
                reserve_fraction: Fraction::from_ppm(reserve).unwrap(),
                max_trade_fraction: Fraction::from_ppm(frac).unwrap(),
                min_trade: Quantity::from_centis(min_hundredths).unwrap(),
                max_open_positions: open,
                max_exposure_per_event: Cash::from_micros(event),
                max_exposure_per_pair: Cash::from_micros(pair),
                max_days_to_resolution: days,
            },
        );
    (
        limits,
        [-1_000_000i64..=5_000_000_000, -1_000_000i64..=5_000_000_000],
        prop::collection::vec((0u8..6, 0u8..3, -1_000_000i64..=300_000_000), 0..5),
        // pair, event, quantity in hundredths, kalshi and poly limit in
        // thousandths, poly fee in micros, days.
        prop::collection::vec(
            (
                0u8..6,
                0u8..3,
                1u64..=100_000,
                1u32..=999,
                1u32..=999,
                0i64..=5_000_000,
                0u32..=80,
            ),
            1..8,
        ),
    )
        .prop_map(|(limits, available, positions, trades)| Case {
            limits,
            available,
            positions,
            trades,
        })
}

fn proposal(trade: &(u8, u8, u64, u32, u32, i64, u32)) -> TradeProposal {
    let (pair, event, hundredths, k, p, fee, days) = *trade;
    let qty = Quantity::from_centis(hundredths).unwrap();
    let kp = Price::from_micros(k * 1_000).unwrap();
    let pp = Price::from_micros(p * 1_000).unwrap();
    let mut o = opp(
        &format!("P{pair}"),
        &format!("E{event}"),
        &qty.format(2),
        &kp.format(3),
        &pp.format(3),
    );
    o.legs[1].fees = Cash::from_micros(fee);
    o.days_to_resolution = days;
    TradeProposal::from_opportunity(&o).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Approvals, one after another without release, never exceed a limit
    /// alone or together, and reserve both legs at no less than their
    /// limit-price cost.
    #[test]
    fn approvals_never_exceed_any_limit(c in case()) {
        let positions: Vec<OpenPosition> = c
            .positions
            .iter()
            .map(|(pair, event, cost)| OpenPosition {
                pair_id: format!("P{pair}").into(),
                event_key: format!("E{event}").into(),
                cost: Cash::from_micros(*cost),
            })
            .collect();
        let portfolio = PortfolioView {
            available: PerVenue::new(
                Some(Cash::from_micros(c.available[0])),
                Some(Cash::from_micros(c.available[1])),
            ),
            positions: positions.clone(),
        };
        let l = c.limits;
        let avail = c.available.map(|a| i128::from(a.max(0)));
        let held: i128 = positions.iter().map(|p| i128::from(p.cost.micros().max(0))).sum();
        let bankroll = avail[0] + avail[1] + held;
        let cap = bankroll * i128::from(l.max_trade_fraction.ppm()) / 1_000_000;
        let spendable = avail.map(|a| a - (a * i128::from(l.reserve_fraction.ppm()) + 999_999) / 1_000_000);

        let mut m = CapitalManager::new(l);
        let mut reserved = [0i128; 2];
        let mut exposure_pair: HashMap<String, i128> = HashMap::new();
        let mut exposure_event: HashMap<String, i128> = HashMap::new();
        for p in &positions {
            *exposure_pair.entry(p.pair_id.to_string()).or_default() += i128::from(p.cost.micros().max(0));
            *exposure_event.entry(p.event_key.to_string()).or_default() += i128::from(p.cost.micros().max(0));
        }
        let mut pairs: std::collections::BTreeSet<String> =
            positions.iter().map(|p| p.pair_id.to_string()).collect();

        for trade in &c.trades {
            let prop = proposal(trade);
            let d = m.check_proposal(&prop, &portfolio, t(0));
            let RiskDecision::Approved { quantity, requested, reservation } = d else { continue };
            prop_assert_eq!(reservation.quantity, quantity);
            prop_assert!(quantity <= requested);
            prop_assert!(quantity >= l.min_trade);
            prop_assert_eq!((requested.micros() - quantity.micros()) % prop.lot.micros(), 0);
            prop_assert!(prop.days_to_resolution <= l.max_days_to_resolution);

            // Both legs, one per venue, each at least its limit-price cost.
            let venues: Vec<Venue> = reservation.legs.iter().map(|r| r.venue).collect();
            prop_assert!(venues.contains(&Venue::Kalshi) && venues.contains(&Venue::Polymarket));
            for (r, leg) in reservation.legs.iter().zip(&prop.legs) {
                let floor = leg.limit_price.notional(quantity).to_cash(Rounding::Up).unwrap();
                prop_assert!(r.cost >= floor, "{:?} < {:?}", r.cost, floor);
            }
            let total = i128::from(reservation.total.micros());
            prop_assert_eq!(
                total,
                i128::from(reservation.legs[0].cost.micros()) + i128::from(reservation.legs[1].cost.micros())
            );
            prop_assert!(total <= cap);

            for (i, v) in Venue::ALL.iter().enumerate() {
                reserved[i] += i128::from(reservation.on(*v).micros());
                prop_assert!(reserved[i] <= spendable[i], "venue {} over-reserved", v);
            }
            let pe = exposure_pair.entry(prop.pair_id.to_string()).or_default();
            *pe += total;
            prop_assert!(*pe <= i128::from(l.max_exposure_per_pair.micros()));
            let ee = exposure_event.entry(prop.event_key.to_string()).or_default();
            *ee += total;
            prop_assert!(*ee <= i128::from(l.max_exposure_per_event.micros()));
            pairs.insert(prop.pair_id.to_string());
            if reservation.opens_position {
                prop_assert!(pairs.len() <= l.max_open_positions as usize);
            }
        }
    }

    /// Whatever happened, the snapshot restores to the same state.
    #[test]
    fn snapshots_round_trip(
        ops in prop::collection::vec((0u8..5, 0i64..=2_000_000_000, 0i64..=2 * DAY), 0..40)
    ) {
        let mut b = breaker(limits());
        let mut clock = 0i64;
        for (op, amount, dt) in ops {
            clock += dt;
            let now = t(clock);
            match op {
                0 => { b.observe_equity(&PerVenue::new(Some(Cash::from_micros(amount)), Some(usd("100"))), now); }
                1 => { let _ = b.record_execution_failure(now); }
                2 => b.record_execution_success(now),
                3 => { let _ = b.record_unwind_loss(Cash::from_micros(amount / 100), now); }
                _ => { let _ = b.reset(AdminReset::new("op", "checked").unwrap(), now); }
            }
            let json = b.state().snapshot().unwrap();
            prop_assert_eq!(&BreakerState::restore(&json).unwrap(), b.state());
        }
    }

    /// Equity readings with gaps never trip the breaker: only complete,
    /// positive readings count, and then exactly as the thresholds say.
    #[test]
    fn breaker_trips_only_on_complete_readings(
        readings in prop::collection::vec(
            (prop::option::of(-10_000_000i64..=2_000_000_000), prop::option::of(-10_000_000i64..=2_000_000_000), 0i64..=3 * DAY),
            1..30,
        )
    ) {
        let lim = limits();
        let mut b = breaker(lim);
        let mut clock = 0i64;
        for (k, p, dt) in readings {
            clock += dt;
            let before = b.state().clone();
            let o = b.observe_equity(
                &PerVenue::new(k.map(Cash::from_micros), p.map(Cash::from_micros)),
                t(clock),
            );
            let complete = matches!((k, p), (Some(a), Some(b)) if a > 0 && b > 0);
            prop_assert_eq!(o.readiness.is_ready(), complete);
            if !complete {
                prop_assert!(o.trip.is_none());
                prop_assert_eq!(b.state().is_halted(), before.is_halted());
                prop_assert_eq!(b.state().peak_equity(), before.peak_equity());
            }
            if let Some(e) = o.trip {
                let (part, whole, limit) = match e.reason {
                    TripReason::DailyLoss { loss, day_start_equity, limit, .. } => (loss, day_start_equity, limit),
                    TripReason::Drawdown { drawdown, peak_equity, limit, .. } => (drawdown, peak_equity, limit),
                    other => return Err(TestCaseError::fail(format!("unexpected {other:?}"))),
                };
                prop_assert!(i128::from(part.micros()) * 1_000_000 >= i128::from(limit.ppm()) * i128::from(whole.micros()));
            }
        }
    }
}
