//! Recording throughput: encoding and decoding book events.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // benchmarks fail loudly

use std::hint::black_box;
use std::io::Cursor;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use orion_core::{
    BookEvent, BookEventKind, BookSide, InstrumentId, LevelChange, LevelUpdate, Price, Quantity,
    Timestamp, Venue,
};
use orion_recording::{BinaryReader, BinaryWriter};

fn events(n: usize) -> Vec<BookEvent> {
    let ids: Vec<InstrumentId> = (0..50)
        .map(|i| {
            InstrumentId::new(
                if i % 2 == 0 {
                    Venue::Kalshi
                } else {
                    Venue::Polymarket
                },
                &format!("INSTR-{i}"),
            )
            .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    (0..n)
        .map(|i| BookEvent {
            instrument: ids[i % ids.len()].clone(),
            kind: BookEventKind::Delta {
                updates: vec![LevelUpdate {
                    side: if i % 3 == 0 {
                        BookSide::Bid
                    } else {
                        BookSide::Ask
                    },
                    price: Price::from_micros_clamped(400_000 + (i as u32 % 20) * 10_000),
                    change: if i % 2 == 0 {
                        LevelChange::Add(-(i as i64 % 7) * 1_000_000)
                    } else {
                        LevelChange::Set(Quantity::from_micros((i as u64 % 500) * 1_000_000))
                    },
                }],
            },
            seq: Some(i as u64),
            exchange_ts: Some(Timestamp::from_nanos(
                1_700_000_000_000_000_000 + i as i64 * 900_000,
            )),
            received_at: Timestamp::from_nanos(1_700_000_000_000_000_000 + i as i64 * 1_000_000),
        })
        .collect()
}

fn recording(c: &mut Criterion) {
    let evs = events(100_000);
    let mut encoded = Vec::new();
    {
        let mut w =
            BinaryWriter::new(&mut encoded, Timestamp::ZERO).unwrap_or_else(|e| panic!("{e}"));
        for e in &evs {
            w.write_event(e).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let mut group = c.benchmark_group("recording");
    group.throughput(Throughput::Elements(evs.len() as u64));
    group.bench_function("encode 100k deltas", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(encoded.len());
            let mut w =
                BinaryWriter::new(&mut out, Timestamp::ZERO).unwrap_or_else(|e| panic!("{e}"));
            for e in &evs {
                w.write_event(e).unwrap_or_else(|e| panic!("{e}"));
            }
            black_box(out.len())
        })
    });
    group.bench_function("decode 100k deltas", |b| {
        b.iter(|| {
            let reader = BinaryReader::new(Cursor::new(&encoded)).unwrap_or_else(|e| panic!("{e}"));
            black_box(reader.filter(Result::is_ok).count())
        })
    });
    group.finish();
}

criterion_group!(benches, recording);
criterion_main!(benches);
