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

/// Events in the in-memory recording by default: enough for every pair's
/// books to move many times, small enough to keep a criterion sample under a
/// second. `ORION_REPLAY_BENCH_EVENTS=10000000` measures the 10 M-event
/// recording of issue #8 (about 300 MB in memory).
const DEFAULT_EVENTS: u64 = 1_000_000;

fn events() -> u64 {
    std::env::var("ORION_REPLAY_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_EVENTS)
}

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
    let n = events();
    let config = GeneratorConfig {
        pairs: 200,
        events: n,
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
    group.throughput(Throughput::Elements(n));
    group.sample_size(10);
    group.bench_function(format!("scan_binary {n} events 200 pairs"), |b| {
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
            assert_eq!(report.events, n);
            black_box(report.detections)
        })
    });
    group.bench_function(
        format!("scan_with BookEvent iterator {n} events 200 pairs"),
        |b| {
            b.iter(|| {
                let reader = BinaryReader::new(Cursor::new(&bytes)).unwrap();
                let report =
                    scan_with(reader, generated.pairs.clone(), params(), age, age, |_| {}).unwrap();
                assert_eq!(report.events, n);
                black_box(report.detections)
            })
        },
    );
    group.bench_function(format!("decode only (read_into) {n} events"), |b| {
        b.iter(|| {
            let mut reader = BinaryReader::new(Cursor::new(&bytes)).unwrap();
            let mut event = DecodedEvent::default();
            let mut read = 0u64;
            while reader.read_into(&mut event).unwrap() {
                read += 1;
            }
            assert_eq!(read, n);
            black_box(read)
        })
    });
    group.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);
