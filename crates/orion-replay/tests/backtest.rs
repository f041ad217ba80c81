#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `run_backtest`: recorded books through the decision core, the real risk
//! gate and the real executor against simulated venues.

use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use orion_config::{Config, KalshiLegTif, PolymarketLegType};
use orion_core::{
    BookEvent, Cash, FeeSchedule, Fraction, InstrumentId, KalshiFeeType, MarketId, Price, Quantity,
    Rate, Rounding, TickSize, Timestamp, Venue,
};
use orion_matching::detection::PairSpec;
use orion_recording::{BinaryReader, BinaryWriter, JsonlReader, RecordingError};
use orion_replay::backtest::{BacktestSettings, run_backtest, run_backtest_binary};
use orion_replay::report::{BacktestRun, TradeRecord, write_report};
use orion_replay::{Generated, GeneratorConfig, generate};

fn cash(s: &str) -> Cash {
    Cash::parse(s).unwrap()
}

fn q(s: &str) -> Quantity {
    Quantity::parse(s).unwrap()
}

// ------------------------------------------------------------ hand-checked

const T0: i64 = 1_790_000_000_000_000_000;

/// One pair: Kalshi `KX-1` (YES-quoted), Polymarket tokens 1001 (YES) and
/// 1002 (NO); Kalshi quadratic fees (0.07 × C × P × (1 − P)), Polymarket
/// `C × 0.04 × P × (1 − P)`, tick 0.01, minimum size 5, resolving in 30 days.
fn hand_pair() -> PairSpec {
    PairSpec {
        pair_id: Arc::from("P1"),
        event_key: Arc::from("E1"),
        kalshi_market: MarketId::new(Venue::Kalshi, "KX-1").unwrap(),
        kalshi_instrument: InstrumentId::new(Venue::Kalshi, "KX-1").unwrap(),
        polymarket_market: MarketId::new(Venue::Polymarket, "0xc1").unwrap(),
        polymarket_yes: InstrumentId::new(Venue::Polymarket, "1001").unwrap(),
        polymarket_no: InstrumentId::new(Venue::Polymarket, "1002").unwrap(),
        inverted: false,
        kalshi_fees: FeeSchedule::Kalshi {
            fee_type: KalshiFeeType::Quadratic,
            multiplier: Rate::ONE,
        },
        polymarket_fees: FeeSchedule::Polymarket {
            rate: Rate::parse("0.04").unwrap(),
            exponent: 1,
        },
        polymarket_tick: TickSize::Hundredth,
        polymarket_min_size: q("5"),
        resolves_at: Timestamp::from_nanos(T0).saturating_add(Duration::from_secs(30 * 86_400)),
    }
}

/// Four events. After the third the pair is synced and priced:
///
/// * Kalshi YES asks 0.40 × 30, 0.41 × 50 (bid 0.38 × 100, so Kalshi NO costs 0.62);
/// * Polymarket YES asks 0.62; NO asks 0.55 × 60 (bid 0.50 × 100).
///
/// Kalshi YES + Polymarket NO, per contract, with fees:
/// * contracts 1–30: 0.40 + 0.55 + 0.07·0.40·0.60 (0.0168) + 0.04·0.55·0.45 (0.0099)
///   = 0.9767 → net edge 0.0233 ≥ min_edge 0.01;
/// * contracts 31–60: 0.41 + 0.55 + 0.07·0.41·0.59 (0.016933) + 0.0099 = 0.986833
///   → edge 0.013167 ≥ 0.01;
/// * no Polymarket NO beyond 60. The other direction costs 0.62 + 0.62 > 1.
///
/// So 60 contracts. The fourth event (500 ms later) is the venue reporting
/// the 0.55 level gone; nothing is left to trade.
fn hand_events() -> Vec<BookEvent> {
    let ms = 1_000_000i64;
    let text = format!(
        r#"{{"venue":"kalshi","instrument":"KX-1","type":"snapshot","seq":1,"received_ns":{t0},"bids":[["0.38","100"]],"asks":[["0.40","30"],["0.41","50"]]}}
{{"venue":"polymarket","instrument":"1001","type":"snapshot","received_ns":{t1},"bids":[["0.44","100"]],"asks":[["0.62","100"]]}}
{{"venue":"polymarket","instrument":"1002","type":"snapshot","received_ns":{t2},"bids":[["0.50","100"]],"asks":[["0.55","60"]]}}
{{"venue":"polymarket","instrument":"1002","type":"delta","received_ns":{t3},"updates":[{{"side":"ask","price":"0.55","size":"0"}}]}}
"#,
        t0 = T0,
        t1 = T0 + ms,
        t2 = T0 + 2 * ms,
        t3 = T0 + 500 * ms,
    );
    JsonlReader::new(Cursor::new(text.into_bytes()))
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

fn settings() -> BacktestSettings {
    BacktestSettings::from_config(&Config::defaults())
}

fn run_hand(settings: &BacktestSettings) -> BacktestRun {
    run_backtest(
        hand_events().into_iter().map(Ok::<_, RecordingError>),
        vec![hand_pair()],
        settings,
        |_| {},
    )
    .unwrap()
}

fn only_trade(run: &BacktestRun) -> &TradeRecord {
    assert_eq!(run.trades.len(), 1, "{:#?}", run.trades);
    &run.trades[0]
}

#[test]
fn a_hand_checked_trade_books_exact_costs_fees_and_pnl() {
    let run = run_hand(&settings());
    let t = only_trade(&run);
    assert_eq!(run.events, 4);
    assert_eq!(run.opportunities_seen, 1);
    assert_eq!(t.pair_id, "P1");
    assert_eq!(t.direction, "kalshi_yes+polymarket_no");
    assert_eq!(t.outcome, "completed");
    assert!(!t.partial);
    assert_eq!(t.contracts_planned, q("60"));
    assert_eq!(t.contracts_hedged, q("60"));
    // Detected on the third event; Kalshi answers 50 ms later, Polymarket
    // (the last leg) 100 ms later.
    assert_eq!(t.detected_at, Timestamp::from_nanos(T0 + 2_000_000));
    assert_eq!(t.executed_at, Timestamp::from_nanos(T0 + 102_000_000));
    // Kalshi, one fill per level, each debited as cost + fee (rounded up
    // to $0.0001) rounded up to the cent:
    //   30 × 0.40 = 12.00; fee 0.07 × 30 × 0.40 × 0.60 = 0.504  → debit 12.51
    //   30 × 0.41 = 12.30; fee 0.07 × 30 × 0.41 × 0.59 = 0.50799 → 0.5080 → debit 12.81
    //   cost 24.30, fees 25.32 − 24.30 = 1.02 (0.504 + 0.508 + 0.008 cent rounding).
    assert_eq!(t.kalshi_cost, cash("24.30"));
    // Polymarket: 60 × 0.55 = 33.00; fee 60 × 0.04 × 0.55 × 0.45 = 0.594.
    assert_eq!(t.polymarket_cost, cash("33.00"));
    assert_eq!(t.fees, cash("1.614"));
    // Payout 60 × $1: gross 60 − 24.30 − 33.00 = 2.70; net 2.70 − 1.614 = 1.086.
    assert_eq!(t.gross_pnl, cash("2.70"));
    assert_eq!(t.net_pnl, cash("1.086"));
    assert_eq!(t.repair_loss, Cash::ZERO);
    // Detection's estimate: Kalshi leg total rounded up to the cent
    // (24.30 + 1.012 → 25.32) + Polymarket 33.594 = 58.914; 60 − 58.914.
    assert_eq!(t.expected_profit, cash("1.086"));
    // 1.086 / 60 = 0.0181 per contract.
    assert_eq!(run.detected_edges, vec![Price::parse("0.0181").unwrap()]);
    assert_eq!((run.orders_sent, run.orders_filled), (2, 2));
    assert_eq!(run.starting_capital, cash("20000"));
}

#[test]
fn rejected_legs_are_repaired_by_the_executor_or_fill_nothing() {
    // Kalshi refuses every order: the Polymarket leg (60 NO at 0.55) is
    // alone. Completing (buying Kalshi YES) is tried first and refused; the
    // executor then unwinds: sells 60 NO at the 0.50 bid.
    //   proceeds 30.00, fee 60 × 0.04 × 0.50 × 0.50 = 0.60
    //   repair loss = 60 × (0.55 − 0.50) + 0.60 = 3.60 (within the 5.00 budget)
    let mut s = settings();
    s.kalshi.reject = Fraction::ONE;
    let run = run_hand(&s);
    let t = only_trade(&run);
    assert_eq!(t.outcome, "repaired");
    assert_eq!(t.contracts_hedged, Quantity::ZERO);
    assert_eq!(t.repair_loss, cash("3.60"));
    // Nothing is held: no position cost, no gross P&L. The unwind took the
    // 33.00 paid back out of the Polymarket cost (30.00 received, the 3.60
    // lost including its 0.60 fee booked as the repair loss).
    assert_eq!(t.kalshi_cost, Cash::ZERO);
    assert_eq!(t.polymarket_cost, Cash::ZERO);
    assert_eq!(t.gross_pnl, Cash::ZERO);
    // The leg's own fee.
    assert_eq!(t.fees, cash("0.594"));
    // Cash result: −33.00 − 0.594 + 30.00 − 0.60.
    assert_eq!(t.net_pnl, cash("-4.194"));
    // Two Kalshi orders (the leg, then the completion attempt) refused.
    assert_eq!(run.orders_rejected, 2);

    // Both venues refuse everything: nothing filled, nothing lost.
    s.polymarket.reject = Fraction::ONE;
    let run = run_hand(&s);
    let t = only_trade(&run);
    assert_eq!(t.outcome, "nothing_filled");
    assert_eq!(t.net_pnl, Cash::ZERO);
    assert_eq!(t.fees, Cash::ZERO);
    assert_eq!(run.orders_rejected, 2);
}

#[test]
fn a_partial_fill_is_unwound_with_its_loss() {
    // Polymarket legs are fill-and-kill and other traders always take part
    // of the liquidity first: the NO leg gets h < 60 contracts; the 0.55
    // level is then gone from Polymarket's book, so completing is impossible
    // and the executor sells the e = 60 − h extra Kalshi YES at the 0.38 bid.
    let mut s = settings();
    s.execution.polymarket_order_type = PolymarketLegType::Fak;
    s.polymarket.partial_fill = Fraction::ONE;
    let run = run_hand(&s);
    let t = only_trade(&run);
    assert_eq!(t.outcome, "repaired");
    assert!(t.partial);
    let h = t.contracts_hedged;
    assert!(h > Quantity::ZERO && h < q("60"), "hedged {h}");
    assert_eq!(h.micros() % 1_000_000, 0, "whole lots only");
    let e = q("60").saturating_sub(h);
    let kalshi_fees = FeeSchedule::Kalshi {
        fee_type: KalshiFeeType::Quadratic,
        multiplier: Rate::ONE,
    };
    let poly_fees = hand_pair().polymarket_fees;
    let at = |p: &str, n: Quantity| {
        Price::parse(p)
            .unwrap()
            .notional(n)
            .to_cash(Rounding::Down)
            .unwrap()
    };
    // Kalshi credits a sale's proceeds less fee rounded down to the cent:
    // the fee it keeps is the fee rounded up to the cent.
    let sell_fee = kalshi_fees
        .taker_fee(e, Price::parse("0.38").unwrap())
        .unwrap()
        .round_to_decimals(2, Rounding::Up)
        .unwrap();
    // Executor's repair P&L: sold at 0.38 what cost 0.405 on average.
    assert_eq!(
        t.repair_loss,
        at("0.025", e).saturating_add(sell_fee),
        "e = {e}"
    );
    // The position held: h Kalshi YES at their 0.405 average (24.30 paid
    // for 60, the e sold taken out at cost) and h Polymarket NO at 0.55.
    assert_eq!(t.kalshi_cost, at("0.405", h));
    assert_eq!(t.polymarket_cost, at("0.55", h));
    let poly_fee = poly_fees
        .taker_fee(h, Price::parse("0.55").unwrap())
        .unwrap();
    // The legs' fees; the sale's fee is in the repair loss.
    assert_eq!(t.fees, cash("1.02").saturating_add(poly_fee));
    let payout = Cash::from_micros(h.micros() as i64);
    assert_eq!(
        t.gross_pnl,
        payout
            .saturating_sub(t.kalshi_cost)
            .saturating_sub(t.polymarket_cost)
    );
    // And the whole is the cash result: h × $1 − 24.30 − 1.02 (Kalshi buys)
    // + 0.38 e − sale fee (Kalshi sale) − 0.55 h − its fee (Polymarket).
    let cash_result = payout
        .saturating_sub(cash("25.32"))
        .saturating_add(at("0.38", e))
        .saturating_sub(sell_fee)
        .saturating_sub(at("0.55", h))
        .saturating_sub(poly_fee);
    assert_eq!(t.net_pnl, cash_result);
    assert_eq!(
        t.net_pnl,
        t.gross_pnl
            .saturating_sub(t.fees)
            .saturating_sub(t.repair_loss)
    );
    assert_eq!(run.orders_partially_filled, 1);
}

#[test]
fn orders_see_the_book_at_arrival() {
    // With Polymarket 600 ms away, its order lands after the recorded
    // update that removed the 0.55 level (at +500 ms): the fill-or-kill leg
    // is killed and the Kalshi leg has to be unwound.
    let mut s = settings();
    s.polymarket.latency = Duration::from_millis(600);
    let run = run_hand(&s);
    let t = only_trade(&run);
    assert_ne!(t.outcome, "completed");
    assert_eq!(t.contracts_hedged, Quantity::ZERO);
    assert!(t.net_pnl < Cash::ZERO);
}

// ------------------------------------------------------------ generated

fn record(config: &GeneratorConfig) -> (Vec<u8>, Generated) {
    let mut bytes = Vec::new();
    let mut writer = BinaryWriter::new(&mut bytes, config.start).unwrap();
    let generated = generate(config, |e: &BookEvent| writer.write_event(e)).unwrap();
    drop(writer);
    (bytes, generated)
}

fn generated() -> (Vec<u8>, Generated) {
    record(&GeneratorConfig {
        pairs: 12,
        events: 40_000,
        seed: 7,
        planted: 4,
        fake: 4,
        ..GeneratorConfig::default()
    })
}

fn run_generated(bytes: &[u8], g: &Generated, settings: &BacktestSettings) -> BacktestRun {
    run_backtest(
        BinaryReader::new(Cursor::new(bytes)).unwrap(),
        g.pairs.clone(),
        settings,
        |_| {},
    )
    .unwrap()
}

#[test]
fn planted_edges_are_traded_and_fake_ones_are_not() {
    let (bytes, g) = generated();
    let run = run_generated(&bytes, &g, &settings());
    for plant in &g.planted {
        let during: Vec<&TradeRecord> = run
            .trades
            .iter()
            .filter(|t| {
                t.pair_id == plant.pair_id
                    && t.detected_at >= plant.from
                    && t.detected_at <= plant.until
            })
            .collect();
        if plant.real {
            assert!(
                during
                    .iter()
                    .any(|t| t.outcome == "completed" && t.net_pnl > Cash::ZERO),
                "real edge on {} not traded profitably: {during:#?}",
                plant.pair_id
            );
        } else {
            assert!(
                during.is_empty(),
                "fake edge on {} traded: {during:#?}",
                plant.pair_id
            );
        }
    }
    let real: Vec<&str> = g
        .planted
        .iter()
        .filter(|p| p.real)
        .map(|p| p.pair_id.as_str())
        .collect();
    assert!(
        run.trades
            .iter()
            .all(|t| real.contains(&t.pair_id.as_str()))
    );

    // Latency longer than a planted edge lives (2 s): every leg lands on
    // the restored books and no planted edge is captured.
    let mut slow = settings();
    slow.kalshi.latency = Duration::from_millis(2_500);
    slow.polymarket.latency = Duration::from_millis(2_500);
    slow.execution.leg_timeout_ms = 10_000;
    let late = run_generated(&bytes, &g, &slow);
    assert!(!late.trades.is_empty());
    assert!(
        late.trades.iter().all(|t| t.outcome != "completed"),
        "{:#?}",
        late.trades
    );
    let total: i64 = late.trades.iter().map(|t| t.net_pnl.micros()).sum();
    assert!(total <= 0, "late orders made {total} micro-dollars");
}

#[test]
fn runs_are_deterministic_per_seed() {
    let (bytes, g) = generated();
    let mut s = settings();
    s.execution.kalshi_time_in_force = KalshiLegTif::ImmediateOrCancel;
    s.execution.polymarket_order_type = PolymarketLegType::Fak;
    s.kalshi.partial_fill = Fraction::parse("0.5").unwrap();
    s.polymarket.partial_fill = Fraction::parse("0.5").unwrap();
    s.kalshi.jitter = Duration::from_millis(30);
    let a = run_generated(&bytes, &g, &s);
    let b = run_generated(&bytes, &g, &s);
    assert_eq!(a, b);
    assert!(a.trades.iter().any(|t| t.partial), "{:#?}", a.trades);
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    write_report(dir_a.path(), &a).unwrap();
    write_report(dir_b.path(), &b).unwrap();
    for name in ["summary.txt", "trades.csv", "report.html"] {
        let x = std::fs::read(dir_a.path().join(name)).unwrap();
        let y = std::fs::read(dir_b.path().join(name)).unwrap();
        assert!(!x.is_empty());
        assert!(x == y, "{name} differs between two runs of one seed");
    }
    // Reading the recording in place (the scan's fast path) runs the same
    // backtest as reading it event by event.
    let in_place = run_backtest_binary(
        [BinaryReader::new(Cursor::new(&bytes[..])).unwrap()],
        g.pairs.clone(),
        &s,
        |_| {},
    )
    .unwrap();
    assert_eq!(in_place, a);
    s.seed = 2;
    let c = run_generated(&bytes, &g, &s);
    let fills = |r: &BacktestRun| -> Vec<(bool, Quantity)> {
        r.trades
            .iter()
            .map(|t| (t.partial, t.contracts_hedged))
            .collect()
    };
    assert_ne!(fills(&a), fills(&c), "another seed, the same partial fills");
}

#[test]
fn a_leg_slower_than_the_leg_timeout_is_found_by_query() {
    // Kalshi answers after 3.5 s; the executor gives up waiting at 3 s,
    // journals the leg as unknown and resolves it by query (never by a new
    // order): the late order did land and fill, so the trade completes,
    // on simulated time only.
    let mut s = settings();
    s.kalshi.latency = Duration::from_millis(3_500);
    let run = run_hand(&s);
    let t = only_trade(&run);
    assert_eq!(t.outcome, "completed");
    assert_eq!(t.contracts_hedged, q("60"));
    assert_eq!(t.net_pnl, cash("1.086"));
    // Sent at +2 ms; no answer by the 3 s leg timeout (+3.002 s); first
    // query after 250 ms (+3.252 s): not there yet (it lands at +3.502 s),
    // and "not found" only counts after twice the leg timeout since the
    // send, so the executor waits until +6.002 s; the next query, 500 ms
    // later, finds it filled: +6.502 s.
    assert_eq!(t.executed_at, Timestamp::from_nanos(T0 + 6_502_000_000));
    // One Kalshi order only: resolution was by query.
    assert_eq!(run.orders_sent, 2);
    assert_eq!(run_hand(&s), run);
}
