//! Pairs added to and removed from a running core (an operator confirming or
//! rejecting a pair on the dashboard while the engine runs).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use std::sync::Arc;
use std::time::Duration;

use orion_config::Mode;
use orion_core::{
    BookEvent, BookEventKind, Cash, FeeSchedule, InstrumentId, KalshiFeeType, Level, MarketId,
    Price, Quantity, Rate, TickSize, Timestamp, Venue,
};
use orion_decision::{CoreSettings, DecisionCore, GateDecision, Input, Output, TradeGate};
use orion_matching::detection::{DetectionParams, Opportunity, PairSpec};

fn id(venue: Venue, s: &str) -> InstrumentId {
    InstrumentId::new(venue, s).unwrap()
}

/// A pair on Kalshi `kalshi` and Polymarket tokens `yes`/`no`.
fn pair(name: &str, kalshi: &str, yes: &str, no: &str) -> PairSpec {
    PairSpec {
        pair_id: Arc::from(name),
        event_key: Arc::from(name),
        kalshi_market: MarketId::new(Venue::Kalshi, kalshi).unwrap(),
        kalshi_instrument: id(Venue::Kalshi, kalshi),
        polymarket_market: MarketId::new(Venue::Polymarket, "0xc").unwrap(),
        polymarket_yes: id(Venue::Polymarket, yes),
        polymarket_no: id(Venue::Polymarket, no),
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
        polymarket_min_size: Quantity::from_micros(1_000_000),
        resolves_at: Timestamp::from_secs(30 * 86_400),
    }
}

fn settings() -> CoreSettings {
    CoreSettings {
        mode: Mode::DryRun,
        auto_execute: true,
        detection: DetectionParams {
            min_edge: Price::parse("0.01").unwrap(),
            min_edge_beyond_horizon: Price::parse("0.03").unwrap(),
            horizon_days: 60,
            min_profit: Cash::parse("0.10").unwrap(),
            slippage: Price::ZERO,
            max_size: Quantity::from_micros(1_000_000_000_000),
        },
        max_book_age_kalshi: Duration::from_secs(30),
        max_book_age_polymarket: Duration::from_secs(30),
    }
}

struct Approve;
impl TradeGate for Approve {
    fn review(&mut self, o: &Opportunity, _now: Timestamp) -> GateDecision {
        GateDecision::Approve {
            quantity: o.quantity,
        }
    }
}

fn ask(core: &mut DecisionCore, instrument: InstrumentId, price: &str, at: i64) -> Vec<Output> {
    let mut out = Vec::new();
    core.process(
        Input::Book(BookEvent {
            instrument,
            kind: BookEventKind::Snapshot {
                bids: vec![],
                asks: vec![Level::new(
                    Price::parse(price).unwrap(),
                    Quantity::parse("10").unwrap(),
                )],
            },
            seq: None,
            exchange_ts: None,
            received_at: Timestamp::from_secs(at),
        }),
        Timestamp::from_secs(at),
        &mut Approve,
        &mut out,
    );
    out
}

/// Books with an edge for a pair: Kalshi YES 0.40 + Polymarket NO 0.50.
fn feed_edge(core: &mut DecisionCore, spec: &PairSpec, at: i64) -> Vec<Output> {
    let mut out = ask(core, spec.kalshi_instrument.clone(), "0.40", at);
    out.extend(ask(core, spec.polymarket_yes.clone(), "0.62", at));
    out.extend(ask(core, spec.polymarket_no.clone(), "0.50", at));
    out
}

fn executed(out: &[Output], pair_id: &str) -> bool {
    out.iter().any(|o| {
        matches!(o, Output::Execute { opportunity, simulated: true, .. }
            if opportunity.pair_id.as_ref() == pair_id)
    })
}

fn detected(out: &[Output], pair_id: &str) -> bool {
    out.iter()
        .any(|o| matches!(o, Output::Detected(opp) if opp.pair_id.as_ref() == pair_id))
}

fn suspended(core: &DecisionCore) -> Vec<String> {
    core.suspended().map(|(p, _)| p.to_string()).collect()
}

#[test]
fn an_added_pair_trades_once_its_books_sync_and_existing_pairs_are_untouched() {
    let first = pair("FIRST", "KX", "Y1", "N1");
    let mut core = DecisionCore::new(settings(), vec![first.clone()]);
    assert!(executed(&feed_edge(&mut core, &first, 100), "FIRST"));
    let kx_slot = core.slot(&id(Venue::Kalshi, "KX")).unwrap();
    let kx_book = core.book(&id(Venue::Kalshi, "KX")).unwrap().clone();

    // The second pair shares the Kalshi book and brings two new tokens.
    let second = pair("SECOND", "KX", "Y2", "N2");
    assert!(core.add_pair(second.clone()));
    assert!(!core.add_pair(second.clone()), "a pair is added once");
    assert_eq!(core.pairs().len(), 2);
    // The shared instrument keeps its slot and its book; the first pair
    // stays unsuspended; the new one waits for data like a start-up pair.
    assert_eq!(core.slot(&id(Venue::Kalshi, "KX")), Some(kx_slot));
    assert_eq!(core.book(&id(Venue::Kalshi, "KX")), Some(&kx_book));
    assert_eq!(suspended(&core), vec!["SECOND".to_string()]);
    assert!(core.slot(&id(Venue::Polymarket, "Y2")).is_some());
    assert!(!core.book(&id(Venue::Polymarket, "N2")).unwrap().is_synced());

    // Its two Polymarket books arrive (the Kalshi one is already fresh):
    // it resumes and trades.
    let mut out = ask(&mut core, second.polymarket_yes.clone(), "0.62", 101);
    out.extend(ask(&mut core, second.polymarket_no.clone(), "0.50", 101));
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::PairResumed { pair_id } if pair_id.as_ref() == "SECOND"))
    );
    assert!(executed(&out, "SECOND"), "{out:?}");
    assert!(suspended(&core).is_empty());
}

#[test]
fn a_removed_pair_is_never_evaluated_again_and_the_others_go_on() {
    let a = pair("A", "KA", "YA", "NA");
    let b = pair("B", "KB", "YB", "NB");
    let c = pair("C", "KA", "YC", "NC");
    let mut core = DecisionCore::new(settings(), vec![a.clone(), b.clone(), c.clone()]);
    assert!(!core.remove_pair("nope"));
    assert!(core.remove_pair("A"));
    assert!(!core.remove_pair("A"));
    assert_eq!(core.pairs().len(), 2);

    // A's books with an edge: nothing about A; C shares A's Kalshi book
    // and is evaluated (its own books are not there yet, so it waits).
    let out = feed_edge(&mut core, &a, 100);
    assert!(!detected(&out, "A") && !executed(&out, "A"), "{out:?}");
    // B and C (renumbered after the removal) still trade on their books.
    assert!(executed(&feed_edge(&mut core, &b, 101), "B"));
    let out = feed_edge(&mut core, &c, 102);
    assert!(executed(&out, "C"), "{out:?}");
    assert!(!detected(&out, "A"));
    // Ticks never report the removed pair.
    let mut out = Vec::new();
    core.process(
        Input::Tick,
        Timestamp::from_secs(10_000),
        &mut Approve,
        &mut out,
    );
    assert!(
        out.iter().all(
            |o| !matches!(o, Output::PairSuspended { pair_id, .. } if pair_id.as_ref() == "A")
        )
    );
    assert_eq!(suspended(&core).len(), 2, "B and C stale, A gone");
}
