//! Generated recordings replayed through the decision core: planted edges are
//! found, fake ones are not, and everything is deterministic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use std::io::Cursor;
use std::time::Duration;

use orion_core::{BookEvent, Cash, Price, Quantity, Timestamp};
use orion_matching::detection::DetectionParams;
use orion_recording::{BinaryReader, BinaryWriter};
use orion_replay::{GeneratorConfig, generate, scan};

fn params() -> DetectionParams {
    DetectionParams {
        min_edge: Price::parse("0.01").unwrap(),
        min_edge_beyond_horizon: Price::parse("0.03").unwrap(),
        horizon_days: 90,
        min_profit: Cash::parse("0.50").unwrap(),
        slippage: Price::parse("0.005").unwrap(),
        max_size: Quantity::from_contracts(1_000_000).unwrap(),
    }
}

fn record(config: &GeneratorConfig) -> (Vec<u8>, orion_replay::Generated) {
    let mut bytes = Vec::new();
    let mut writer = BinaryWriter::new(&mut bytes, config.start).unwrap();
    let generated = generate(config, |e: &BookEvent| writer.write_event(e)).unwrap();
    drop(writer);
    (bytes, generated)
}

#[test]
fn planted_edges_are_found_and_fake_ones_are_not() {
    let config = GeneratorConfig {
        pairs: 12,
        events: 60_000,
        seed: 7,
        planted: 4,
        fake: 4,
        ..GeneratorConfig::default()
    };
    let (bytes, generated) = record(&config);
    assert_eq!(generated.events, 60_000);
    assert_eq!(generated.planted.iter().filter(|p| p.real).count(), 4);
    assert_eq!(generated.planted.iter().filter(|p| !p.real).count(), 4);
    let events = BinaryReader::new(Cursor::new(&bytes)).unwrap();
    let report = scan(
        events,
        generated.pairs.clone(),
        params(),
        Duration::from_secs(30),
    )
    .unwrap();
    assert_eq!(report.events, 60_000);
    for plant in &generated.planted {
        let seen = report.pairs.get(&plant.pair_id).and_then(|f| f.first_seen);
        let inside = seen.is_some_and(|t| t >= plant.from && t <= plant.until);
        if plant.real {
            assert!(
                inside,
                "real edge on {} at {:?} not found: {:?}",
                plant.pair_id,
                plant.from,
                report.pairs.get(&plant.pair_id)
            );
        }
    }
    // Nothing but the real plants: the fake (top-of-book only) edges and the
    // ordinary spread never show up.
    let real_pairs: std::collections::BTreeSet<&str> = generated
        .planted
        .iter()
        .filter(|p| p.real)
        .map(|p| p.pair_id.as_str())
        .collect();
    for (pair, findings) in &report.pairs {
        assert!(
            real_pairs.contains(pair.as_str()),
            "unexpected opportunity on {pair}: {findings:?}"
        );
        assert!(findings.best_net_profit >= Cash::parse("0.50").unwrap());
    }
    assert_eq!(
        report.episodes as usize,
        generated.planted.iter().filter(|p| p.real).count()
    );
}

#[test]
fn same_seed_same_bytes_and_same_report() {
    let config = GeneratorConfig {
        pairs: 5,
        events: 5_000,
        seed: 42,
        ..GeneratorConfig::default()
    };
    let (a, ga) = record(&config);
    let (b, gb) = record(&config);
    assert_eq!(a, b);
    assert_eq!(ga, gb);
    let ra = scan(
        BinaryReader::new(Cursor::new(&a)).unwrap(),
        ga.pairs.clone(),
        params(),
        Duration::from_secs(30),
    )
    .unwrap();
    let rb = scan(
        BinaryReader::new(Cursor::new(&b)).unwrap(),
        gb.pairs,
        params(),
        Duration::from_secs(30),
    )
    .unwrap();
    assert_eq!(
        serde_json::to_string(&ra).unwrap(),
        serde_json::to_string(&rb).unwrap()
    );
    let (c, _) = record(&GeneratorConfig { seed: 43, ..config });
    assert_ne!(a, c);
}

#[test]
fn stale_books_suspend_during_replay() {
    // One event every 20 s on average: books go stale between updates.
    let config = GeneratorConfig {
        pairs: 3,
        events: 300,
        seed: 3,
        planted: 0,
        fake: 0,
        mean_interval: Duration::from_secs(20),
        start: Timestamp::from_secs(1_790_000_000),
    };
    let (bytes, generated) = record(&config);
    let report = scan(
        BinaryReader::new(Cursor::new(&bytes)).unwrap(),
        generated.pairs,
        params(),
        Duration::from_secs(10),
    )
    .unwrap();
    assert!(report.suspensions > 0);
}
