//! The engine's memory with 10,000 pairs (30,000 books) loaded in the
//! decision core and every book populated, as resident set size. Run with
//! `cargo bench -p orion-runtime --bench memory_10k`. Prints figures; it
//! asserts only that every pair and book is really loaded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use orion_config::Mode;
use orion_core::{Price, Quantity, Timestamp};
use orion_decision::{CoreSettings, DecisionCore, GateDecision, Input, TradeGate};
use orion_matching::detection::{DetectionParams, Opportunity};
use orion_replay::generate::{GeneratorConfig, generate};

struct Refuse;

impl TradeGate for Refuse {
    fn review(&mut self, _: &Opportunity, _: Timestamp) -> GateDecision {
        GateDecision::Refuse {
            reason: "bench".into(),
        }
    }
}

/// Resident set size in KiB, from /proc (Linux).
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn main() {
    const PAIRS: usize = 10_000;
    let config = GeneratorConfig {
        pairs: PAIRS,
        events: 300_000,
        planted: 20,
        fake: 20,
        ..GeneratorConfig::default()
    };
    let before = rss_kib().unwrap_or(0);
    // First pass: the pair specifications and each book's opening snapshot.
    let mut snapshots = Vec::new();
    let pairs = generate::<()>(
        &GeneratorConfig {
            events: 0,
            ..config.clone()
        },
        |e| {
            snapshots.push(e.clone());
            Ok(())
        },
    )
    .unwrap()
    .pairs;
    assert_eq!(pairs.len(), PAIRS);
    let settings = CoreSettings {
        mode: Mode::AlertOnly,
        auto_execute: false,
        detection: DetectionParams {
            min_edge: Price::from_micros(10_000).unwrap(),
            min_edge_beyond_horizon: Price::from_micros(30_000).unwrap(),
            horizon_days: 60,
            min_profit: orion_core::Cash::from_micros(500_000),
            slippage: Price::from_micros(5_000).unwrap(),
            max_size: Quantity::from_micros(1_000_000_000_000),
        },
        max_book_age_kalshi: Duration::from_secs(3600),
        max_book_age_polymarket: Duration::from_secs(3600),
    };
    let with_specs = rss_kib().unwrap_or(0);
    let mut core = DecisionCore::new(settings, pairs);
    let mut gate = Refuse;
    let mut out = Vec::new();
    for event in snapshots.drain(..) {
        out.clear();
        let at = event.received_at;
        core.process(Input::Book(event), at, &mut gate, &mut out);
    }
    drop(snapshots);
    let loaded = rss_kib().unwrap_or(0);
    // Second pass: the same recording streamed through the core, so every
    // book holds a populated ladder.
    let mut detected = 0u64;
    generate::<()>(&config, |event| {
        out.clear();
        core.process(
            Input::Book(event.clone()),
            event.received_at,
            &mut gate,
            &mut out,
        );
        detected += out
            .iter()
            .filter(|o| matches!(o, orion_decision::Output::Detected(_)))
            .count() as u64;
        Ok(())
    })
    .unwrap();
    let populated = rss_kib().unwrap_or(0);
    assert_eq!(core.pairs().len(), PAIRS);
    let synced = core
        .pairs()
        .iter()
        .filter(|p| {
            core.book(&p.kalshi_instrument)
                .is_some_and(|b| b.is_synced())
        })
        .count();
    assert_eq!(synced, PAIRS, "every Kalshi book populated");
    println!(
        "pairs: {PAIRS} ({} books), events: {}, detections: {detected}",
        PAIRS * 3,
        core.stats().events
    );
    println!("RSS before: {before} KiB");
    println!("RSS with 10k pair specs and their opening snapshots in memory: {with_specs} KiB");
    println!("RSS with the decision core loaded, every book snapshotted: {loaded} KiB");
    println!("RSS after 300k more book events (generator running alongside): {populated} KiB");
    println!(
        "loaded engine state (specs, core, snapshotted books; upper bound: freed generator memory may stay resident): {} KiB ({} bytes per pair)",
        loaded.saturating_sub(before),
        loaded.saturating_sub(before) * 1024 / PAIRS as u64
    );
}
