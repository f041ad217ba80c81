//! Replay throughput: events per second through the decision core, from a
//! generated binary recording held in memory (so the figure is decode plus
//! decision, not the disk). The target is 5 M events/s per core (issue #8);
//! `orion-backtest scan` prints the same figure per CPU-second on real files.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // benchmarks fail loudly

use std::hint::black_box;
use std::io::Cursor;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use orion_core::{BookEvent, Cash, Price, Quantity};
use orion_matching::detection::DetectionParams;
use orion_recording::{BinaryReader, BinaryWriter, DecodedEvent};
use orion_replay::{GeneratorConfig, generate, scan_binary, scan_with};

/// Events in the in-memory recording: enough for every pair's books to move
/// many times, small enough to keep a criterion sample under a second.
const EVENTS: u64 = 1_000_000;

/// The defaults of `config/orion.example.toml`'s detection section.
fn params() -> DetectionParams {
    DetectionParams {
        min_edge: Price::parse("0.01").unwrap(),
        min_edge_beyond_horizon: Price::parse("0.03").unwrap(),
        horizon_days: 90,
        min_profit: Cash::parse("0.50").unwrap(),
        slippage: Price::parse("0.005").unwrap(),
        max_size: Quantity::MAX,
    }
}

fn throughput(c: &mut Criterion) {
    let config = GeneratorConfig {
        pairs: 200,
        events: EVENTS,
        seed: 1,
        planted: 10,
        fake: 10,
        ..GeneratorConfig::default()
    };
    let mut bytes = Vec::new();
    let mut writer = BinaryWriter::new(&mut bytes, config.start).unwrap();
    let generated = generate(&config, |e: &BookEvent| writer.write_event(e)).unwrap();
    drop(writer);
    let age = Duration::from_secs(30);

    let mut group = c.benchmark_group("replay");
    group.throughput(Throughput::Elements(EVENTS));
    group.sample_size(10);
    group.bench_function("scan_binary 1M events 200 pairs", |b| {
        b.iter(|| {
            let reader = BinaryReader::new(Cursor::new(&bytes)).unwrap();
            let report = scan_binary(
                [reader],
                generated.pairs.clone(),
                params(),
                age,
                age,
                |_| {},
            )
            .unwrap();
            assert_eq!(report.events, EVENTS);
            black_box(report.detections)
        })
    });
    group.bench_function("scan_with BookEvent iterator 1M events 200 pairs", |b| {
        b.iter(|| {
            let reader = BinaryReader::new(Cursor::new(&bytes)).unwrap();
            let report =
                scan_with(reader, generated.pairs.clone(), params(), age, age, |_| {}).unwrap();
            assert_eq!(report.events, EVENTS);
            black_box(report.detections)
        })
    });
    group.bench_function("decode only (read_into) 1M events", |b| {
        b.iter(|| {
            let mut reader = BinaryReader::new(Cursor::new(&bytes)).unwrap();
            let mut event = DecodedEvent::default();
            let mut n = 0u64;
            while reader.read_into(&mut event).unwrap() {
                n += 1;
            }
            assert_eq!(n, EVENTS);
            black_box(n)
        })
    });
    group.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);
