//! The decision core: modes, the stale-data guard, resyncs, risk hand-off.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use std::sync::Arc;
use std::time::Duration;

use orion_config::Mode;
use orion_core::{
    BookEvent, BookEventKind, BookSide, Cash, FeeSchedule, InstrumentId, KalshiFeeType, Level,
    LevelChange, LevelUpdate, MarketId, Price, Quantity, Rate, TickSize, Timestamp, Venue,
};
use orion_decision::{Control, CoreSettings, DecisionCore, GateDecision, Input, Output, TradeGate};
use orion_matching::detection::{DetectionParams, Opportunity, PairSpec};

fn id(venue: Venue, s: &str) -> InstrumentId {
    InstrumentId::new(venue, s).unwrap()
}

fn pair() -> PairSpec {
    PairSpec {
        pair_id: Arc::from("FED"),
        event_key: Arc::from("FED"),
        kalshi_market: MarketId::new(Venue::Kalshi, "KX").unwrap(),
        kalshi_instrument: id(Venue::Kalshi, "KX"),
        polymarket_market: MarketId::new(Venue::Polymarket, "0xc").unwrap(),
        polymarket_yes: id(Venue::Polymarket, "Y"),
        polymarket_no: id(Venue::Polymarket, "N"),
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

fn settings(mode: Mode, auto_execute: bool) -> CoreSettings {
    CoreSettings {
        mode,
        auto_execute,
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

fn lv(p: &str, q: &str) -> Level {
    Level::new(Price::parse(p).unwrap(), Quantity::parse(q).unwrap())
}

fn snapshot(
    instrument: InstrumentId,
    bids: Vec<Level>,
    asks: Vec<Level>,
    seq: Option<u64>,
    at: i64,
) -> Input {
    Input::Book(BookEvent {
        instrument,
        kind: BookEventKind::Snapshot { bids, asks },
        seq,
        exchange_ts: None,
        received_at: Timestamp::from_secs(at),
    })
}

#[derive(Default)]
struct Gate {
    reviews: u32,
    refuse: bool,
}

impl TradeGate for Gate {
    fn review(&mut self, o: &Opportunity, _now: Timestamp) -> GateDecision {
        self.reviews += 1;
        if self.refuse {
            GateDecision::Refuse {
                reason: "max open positions".into(),
            }
        } else {
            GateDecision::Approve {
                quantity: o.quantity,
            }
        }
    }
}

/// Feeds the three books of a pair with an edge (Kalshi YES 0.40 + Poly NO 0.50).
fn feed_edge(core: &mut DecisionCore, gate: &mut Gate, at: i64) -> Vec<Output> {
    let mut out = Vec::new();
    let now = Timestamp::from_secs(at);
    core.process(
        snapshot(
            id(Venue::Kalshi, "KX"),
            vec![],
            vec![lv("0.40", "10")],
            Some(1),
            at,
        ),
        now,
        gate,
        &mut out,
    );
    core.process(
        snapshot(
            id(Venue::Polymarket, "Y"),
            vec![],
            vec![lv("0.62", "10")],
            None,
            at,
        ),
        now,
        gate,
        &mut out,
    );
    core.process(
        snapshot(
            id(Venue::Polymarket, "N"),
            vec![],
            vec![lv("0.50", "10")],
            None,
            at,
        ),
        now,
        gate,
        &mut out,
    );
    out
}

fn executes(out: &[Output]) -> Vec<(Quantity, bool)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Execute {
                quantity,
                simulated,
                ..
            } => Some((*quantity, *simulated)),
            _ => None,
        })
        .collect()
}

#[test]
fn alert_only_never_executes() {
    let mut core = DecisionCore::new(settings(Mode::AlertOnly, false), vec![pair()]);
    let mut gate = Gate::default();
    let out = feed_edge(&mut core, &mut gate, 100);
    assert!(out.iter().any(|o| matches!(o, Output::Detected(_))));
    assert!(executes(&out).is_empty());
    assert_eq!(gate.reviews, 0);
}

#[test]
fn dry_run_executes_simulated_only_with_auto_execute() {
    let mut core = DecisionCore::new(settings(Mode::DryRun, false), vec![pair()]);
    let out = feed_edge(&mut core, &mut Gate::default(), 100);
    assert!(executes(&out).is_empty());

    let mut core = DecisionCore::new(settings(Mode::DryRun, true), vec![pair()]);
    let out = feed_edge(&mut core, &mut Gate::default(), 100);
    assert_eq!(executes(&out), vec![(Quantity::parse("10").unwrap(), true)]);
}

#[test]
fn live_executes_once_per_pair_until_done() {
    let mut core = DecisionCore::new(settings(Mode::Live, true), vec![pair()]);
    let mut gate = Gate::default();
    let out = feed_edge(&mut core, &mut gate, 100);
    assert_eq!(
        executes(&out),
        vec![(Quantity::parse("10").unwrap(), false)]
    );
    // The books still show the edge: no second execution while one is in flight.
    let out = feed_edge(&mut core, &mut gate, 101);
    assert!(executes(&out).is_empty());
    let mut out = Vec::new();
    core.process(
        Input::ExecutionDone {
            pair_id: Arc::from("FED"),
        },
        Timestamp::from_secs(102),
        &mut gate,
        &mut out,
    );
    let out = feed_edge(&mut core, &mut gate, 102);
    assert_eq!(executes(&out).len(), 1);
}

#[test]
fn refusals_are_reported_not_executed() {
    let mut core = DecisionCore::new(settings(Mode::Live, true), vec![pair()]);
    let mut gate = Gate {
        refuse: true,
        ..Gate::default()
    };
    let out = feed_edge(&mut core, &mut gate, 100);
    assert!(executes(&out).is_empty());
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::Refused { reason, .. } if reason == "max open positions"))
    );
    assert_eq!(core.stats().refusals, 1);
}

#[test]
fn pause_and_halt_stop_new_trades() {
    let mut core = DecisionCore::new(settings(Mode::Live, true), vec![pair()]);
    let mut gate = Gate::default();
    let mut out = Vec::new();
    core.process(
        Input::Control(Control::Pause),
        Timestamp::ZERO,
        &mut gate,
        &mut out,
    );
    assert!(executes(&feed_edge(&mut core, &mut gate, 100)).is_empty());
    core.process(
        Input::Control(Control::Resume),
        Timestamp::ZERO,
        &mut gate,
        &mut out,
    );
    core.process(
        Input::Control(Control::Halt {
            reason: "operator".into(),
        }),
        Timestamp::ZERO,
        &mut gate,
        &mut out,
    );
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::Alert(a) if a.message.contains("operator")))
    );
    assert!(executes(&feed_edge(&mut core, &mut gate, 101)).is_empty());
}

#[test]
fn stale_books_suspend_the_pair_and_fresh_data_resumes_it() {
    let mut core = DecisionCore::new(settings(Mode::Live, true), vec![pair()]);
    let mut gate = Gate::default();
    let mut out = Vec::new();
    let now = Timestamp::from_secs(100);
    // Only two of three books: the pair stays suspended (it starts suspended).
    core.process(
        snapshot(
            id(Venue::Kalshi, "KX"),
            vec![],
            vec![lv("0.40", "10")],
            Some(1),
            100,
        ),
        now,
        &mut gate,
        &mut out,
    );
    core.process(
        snapshot(
            id(Venue::Polymarket, "N"),
            vec![],
            vec![lv("0.50", "10")],
            None,
            100,
        ),
        now,
        &mut gate,
        &mut out,
    );
    assert!(executes(&out).is_empty());
    core.process(
        snapshot(id(Venue::Polymarket, "Y"), vec![], vec![], None, 100),
        now,
        &mut gate,
        &mut out,
    );
    assert!(out.iter().any(|o| matches!(o, Output::PairResumed { .. })));
    assert_eq!(executes(&out).len(), 1);
    core.process(
        Input::ExecutionDone {
            pair_id: Arc::from("FED"),
        },
        now,
        &mut gate,
        &mut out,
    );

    // 31 s later with no Polymarket update: suspended on the tick.
    out.clear();
    core.process(Input::Tick, Timestamp::from_secs(131), &mut gate, &mut out);
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::PairSuspended { reason, .. } if reason.contains("stale"))),
        "{out:?}"
    );
    // A fresh Kalshi event alone does not help: Polymarket is still stale.
    out.clear();
    core.process(
        snapshot(
            id(Venue::Kalshi, "KX"),
            vec![],
            vec![lv("0.40", "10")],
            Some(5),
            131,
        ),
        Timestamp::from_secs(131),
        &mut gate,
        &mut out,
    );
    assert!(executes(&out).is_empty());
    // Fresh data on every book resumes it and trades again.
    out = feed_edge(&mut core, &mut gate, 132);
    assert!(out.iter().any(|o| matches!(o, Output::PairResumed { .. })));
    assert_eq!(executes(&out).len(), 1);
}

#[test]
fn sequence_gaps_resync_and_suspend() {
    let mut core = DecisionCore::new(settings(Mode::Live, true), vec![pair()]);
    let mut gate = Gate::default();
    feed_edge(&mut core, &mut gate, 100);
    core.process(
        Input::ExecutionDone {
            pair_id: Arc::from("FED"),
        },
        Timestamp::from_secs(100),
        &mut gate,
        &mut Vec::new(),
    );
    let mut out = Vec::new();
    let gap = Input::Book(BookEvent {
        instrument: id(Venue::Kalshi, "KX"),
        kind: BookEventKind::Delta {
            updates: vec![LevelUpdate {
                side: BookSide::Ask,
                price: Price::parse("0.39").unwrap(),
                change: LevelChange::Add(5_000_000),
            }],
        },
        seq: Some(3), // expected 2
        exchange_ts: None,
        received_at: Timestamp::from_secs(101),
    });
    core.process(gap, Timestamp::from_secs(101), &mut gate, &mut out);
    assert!(out.contains(&Output::Resync(id(Venue::Kalshi, "KX"))));
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::PairSuspended { .. }))
    );
    assert!(executes(&out).is_empty());
    // The venue going down suspends too; coming back asks for snapshots.
    out.clear();
    core.process(
        Input::VenueUp {
            venue: Venue::Polymarket,
        },
        Timestamp::from_secs(102),
        &mut gate,
        &mut out,
    );
    assert_eq!(
        out.iter()
            .filter(|o| matches!(o, Output::Resync(_)))
            .count(),
        2
    );
}

#[test]
fn unrelated_instruments_cost_nothing() {
    let mut core = DecisionCore::new(settings(Mode::Live, true), vec![pair()]);
    let mut gate = Gate::default();
    let mut out = Vec::new();
    core.process(
        snapshot(
            id(Venue::Kalshi, "OTHER"),
            vec![],
            vec![lv("0.10", "1")],
            Some(1),
            1,
        ),
        Timestamp::from_secs(1),
        &mut gate,
        &mut out,
    );
    assert!(out.is_empty());
    assert_eq!(core.stats().evaluations, 0);
}

fn kx_delta(seq: u64, at: i64) -> Input {
    Input::Book(BookEvent {
        instrument: id(Venue::Kalshi, "KX"),
        kind: BookEventKind::Delta {
            updates: vec![LevelUpdate {
                side: BookSide::Ask,
                price: Price::parse("0.39").unwrap(),
                change: LevelChange::Add(5_000_000),
            }],
        },
        seq: Some(seq),
        exchange_ts: None,
        received_at: Timestamp::from_secs(at),
    })
}

fn suspensions(out: &[Output]) -> usize {
    out.iter()
        .filter(|o| matches!(o, Output::PairSuspended { .. }))
        .count()
}

/// The engine's reaction to a stream's `BookInvalidated` (bad frame, gap,
/// duplicate or reordered `seq`): the pair is suspended at once, nothing
/// trades on it however good the other books look, repeated bad data keeps
/// it suspended without repeating the suspension, and only a fresh snapshot
/// of the invalid book resumes it.
#[test]
fn invalidated_book_suspends_the_pair_until_a_fresh_snapshot() {
    let mut core = DecisionCore::new(settings(Mode::Live, true), vec![pair()]);
    let mut gate = Gate::default();
    assert_eq!(executes(&feed_edge(&mut core, &mut gate, 100)).len(), 1);
    let mut out = Vec::new();
    core.process(
        Input::ExecutionDone {
            pair_id: Arc::from("FED"),
        },
        Timestamp::from_secs(100),
        &mut gate,
        &mut out,
    );

    out.clear();
    core.process(
        Input::BookInvalidated {
            instrument: id(Venue::Kalshi, "KX"),
            reason: "Kalshi: bad response in field msg.price_dollars".into(),
        },
        Timestamp::from_secs(101),
        &mut gate,
        &mut out,
    );
    assert!(out.contains(&Output::Resync(id(Venue::Kalshi, "KX"))));
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::PairSuspended { reason, .. }
            if reason.contains("price_dollars"))),
        "the suspension carries the stream's reason: {out:?}"
    );
    assert!(!core.book(&id(Venue::Kalshi, "KX")).unwrap().is_synced());

    // While the Kalshi book is invalid: fresh Polymarket books with the same
    // edge, a Kalshi delta (refused by the invalid book), another
    // invalidation and a tick — no execution, and no second suspension.
    let reviews = gate.reviews;
    out.clear();
    for at in [102, 103] {
        let now = Timestamp::from_secs(at);
        for (instrument, ask) in [("Y", "0.62"), ("N", "0.50")] {
            core.process(
                snapshot(
                    id(Venue::Polymarket, instrument),
                    vec![],
                    vec![lv(ask, "10")],
                    None,
                    at,
                ),
                now,
                &mut gate,
                &mut out,
            );
        }
        core.process(kx_delta(2, at), now, &mut gate, &mut out);
        core.process(
            Input::BookInvalidated {
                instrument: id(Venue::Kalshi, "KX"),
                reason: "sid 1: sequence gap".into(),
            },
            now,
            &mut gate,
            &mut out,
        );
        core.process(Input::Tick, now, &mut gate, &mut out);
    }
    assert!(executes(&out).is_empty(), "{out:?}");
    assert_eq!(gate.reviews, reviews, "risk is not even asked");
    assert_eq!(suspensions(&out), 0, "already suspended: {out:?}");
    assert!(
        out.iter()
            .filter(|o| matches!(o, Output::Resync(_)))
            .count()
            >= 2,
        "every invalidation asks for a snapshot"
    );
    assert_eq!(core.suspended().count(), 1);

    // The fresh snapshot resumes the pair and it trades again.
    out.clear();
    core.process(
        snapshot(
            id(Venue::Kalshi, "KX"),
            vec![],
            vec![lv("0.40", "10")],
            Some(10),
            104,
        ),
        Timestamp::from_secs(104),
        &mut gate,
        &mut out,
    );
    assert!(out.iter().any(|o| matches!(o, Output::PairResumed { .. })));
    assert_eq!(executes(&out).len(), 1);
    assert_eq!(core.suspended().count(), 0);
}

/// A venue stream going down (an oversized frame, a close, silence)
/// suspends every pair on it; reconnecting alone resumes nothing, the
/// snapshots that follow do.
#[test]
fn venue_down_suspends_until_fresh_snapshots_after_the_reconnect() {
    let mut core = DecisionCore::new(settings(Mode::Live, true), vec![pair()]);
    let mut gate = Gate::default();
    feed_edge(&mut core, &mut gate, 100);
    let mut out = Vec::new();
    core.process(
        Input::ExecutionDone {
            pair_id: Arc::from("FED"),
        },
        Timestamp::from_secs(100),
        &mut gate,
        &mut out,
    );
    out.clear();
    core.process(
        Input::VenueDown {
            venue: Venue::Polymarket,
            reason: "oversized message: 16777217 bytes, over the 16777216-byte limit".into(),
        },
        Timestamp::from_secs(101),
        &mut gate,
        &mut out,
    );
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::PairSuspended { reason, .. }
            if reason.contains("oversized"))),
        "{out:?}"
    );
    out.clear();
    core.process(
        Input::VenueUp {
            venue: Venue::Polymarket,
        },
        Timestamp::from_secs(102),
        &mut gate,
        &mut out,
    );
    // A Kalshi update with the edge still there: no trade, Polymarket is not back.
    core.process(
        snapshot(
            id(Venue::Kalshi, "KX"),
            vec![],
            vec![lv("0.40", "10")],
            Some(7),
            102,
        ),
        Timestamp::from_secs(102),
        &mut gate,
        &mut out,
    );
    assert!(executes(&out).is_empty(), "{out:?}");
    assert!(!out.iter().any(|o| matches!(o, Output::PairResumed { .. })));
    // Only one of the two Polymarket books back: still suspended.
    core.process(
        snapshot(
            id(Venue::Polymarket, "Y"),
            vec![],
            vec![lv("0.62", "10")],
            None,
            103,
        ),
        Timestamp::from_secs(103),
        &mut gate,
        &mut out,
    );
    assert!(executes(&out).is_empty(), "{out:?}");
    out = feed_edge(&mut core, &mut gate, 104);
    assert!(out.iter().any(|o| matches!(o, Output::PairResumed { .. })));
    assert_eq!(executes(&out).len(), 1);
}
