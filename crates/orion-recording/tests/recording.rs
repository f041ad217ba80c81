//! The recording format: round trips, conversion, rotation and hostile input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use std::io::Cursor;
use std::time::Duration;

use orion_core::{
    BookEvent, BookEventKind, BookSide, InstrumentId, Level, LevelChange, LevelUpdate, Price,
    Quantity, Timestamp, Venue,
};
use orion_recording::{
    BinaryReader, BinaryWriter, JsonlReader, RecordingError, RotatingRecorder, RotationPolicy,
    binary_to_jsonl, format_line, jsonl_to_binary, recording_files,
};
use proptest::prelude::*;

fn event_strategy() -> impl Strategy<Value = BookEvent> {
    let level = (0u32..=1_000_000, 0u64..=Quantity::MAX.micros())
        .prop_map(|(p, q)| Level::new(Price::from_micros(p).unwrap(), Quantity::from_micros(q)));
    let update = (
        any::<bool>(),
        0u32..=1_000_000,
        prop_oneof![
            (0u64..=Quantity::MAX.micros())
                .prop_map(|q| LevelChange::Set(Quantity::from_micros(q))),
            any::<i64>().prop_map(LevelChange::Add),
        ],
    )
        .prop_map(|(bid, p, change)| LevelUpdate {
            side: if bid { BookSide::Bid } else { BookSide::Ask },
            price: Price::from_micros(p).unwrap(),
            change,
        });
    let kind = prop_oneof![
        (
            prop::collection::vec(level.clone(), 0..12),
            prop::collection::vec(level, 0..12)
        )
            .prop_map(|(bids, asks)| BookEventKind::Snapshot { bids, asks }),
        prop::collection::vec(update, 0..6).prop_map(|updates| BookEventKind::Delta { updates }),
    ];
    (
        any::<bool>(),
        "[A-Z0-9-]{1,20}",
        kind,
        prop::option::of(any::<u64>()),
        prop::option::of(any::<i64>()),
        any::<i64>(),
    )
        .prop_map(
            |(kalshi, symbol, kind, seq, exchange, received)| BookEvent {
                instrument: InstrumentId::new(
                    if kalshi {
                        Venue::Kalshi
                    } else {
                        Venue::Polymarket
                    },
                    &symbol,
                )
                .unwrap(),
                kind,
                seq,
                exchange_ts: exchange.map(Timestamp::from_nanos),
                received_at: Timestamp::from_nanos(received),
            },
        )
}

fn encode(events: &[BookEvent]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = BinaryWriter::new(&mut out, Timestamp::from_secs(1_800_000_000)).unwrap();
    for e in events {
        w.write_event(e).unwrap();
    }
    drop(w);
    out
}

fn decode(bytes: &[u8]) -> Result<Vec<BookEvent>, RecordingError> {
    BinaryReader::new(Cursor::new(bytes))?.collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn binary_round_trip(events in prop::collection::vec(event_strategy(), 0..40)) {
        prop_assert_eq!(decode(&encode(&events)).unwrap(), events);
    }

    #[test]
    fn jsonl_round_trip(events in prop::collection::vec(event_strategy(), 0..20)) {
        let text: String = events.iter().map(|e| format_line(e) + "\n").collect();
        let back: Vec<BookEvent> = JsonlReader::new(Cursor::new(text.as_bytes())).collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(back, events);
    }

    #[test]
    fn arbitrary_bytes_never_panic(tail in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut bytes = b"ORIONREC\x01\x00\x00\x00\x00\x00\x00\x00".to_vec();
        bytes.extend(tail);
        if let Ok(reader) = BinaryReader::new(Cursor::new(&bytes)) {
            for item in reader { let _ = item; }
        }
        for item in JsonlReader::new(Cursor::new(&bytes)) { let _ = item; }
    }
}

fn sample() -> Vec<BookEvent> {
    let k = InstrumentId::new(Venue::Kalshi, "KXFED-26DEC-T4.00").unwrap();
    let p = InstrumentId::new(
        Venue::Polymarket,
        "71321045679252212594626385532706912750332728571942532289631379312455583992563",
    )
    .unwrap();
    let px = |s: &str| Price::parse(s).unwrap();
    let q = |s: &str| Quantity::parse(s).unwrap();
    vec![
        BookEvent {
            instrument: k.clone(),
            kind: BookEventKind::Snapshot {
                bids: vec![Level::new(px("0.40"), q("10"))],
                asks: vec![Level::new(px("0.42"), q("5.5"))],
            },
            seq: Some(1),
            exchange_ts: None,
            received_at: Timestamp::from_nanos(1_789_653_600_000_000_000),
        },
        BookEvent {
            instrument: p,
            kind: BookEventKind::Delta {
                updates: vec![LevelUpdate {
                    side: BookSide::Ask,
                    price: px("0.52"),
                    change: LevelChange::Set(q("100")),
                }],
            },
            seq: None,
            exchange_ts: Some(Timestamp::from_nanos(1_789_653_600_050_000_000)),
            received_at: Timestamp::from_nanos(1_789_653_600_100_000_000),
        },
        BookEvent {
            instrument: k,
            kind: BookEventKind::Delta {
                updates: vec![LevelUpdate {
                    side: BookSide::Bid,
                    price: px("0.40"),
                    change: LevelChange::Add(-3_500_000),
                }],
            },
            seq: Some(2),
            exchange_ts: None,
            received_at: Timestamp::from_nanos(1_789_653_600_200_000_000),
        },
    ]
}

#[test]
fn readable_form_converts_both_ways() {
    let text = "# a comment\n\
        {\"venue\":\"kalshi\",\"instrument\":\"KXFED-26DEC-T4.00\",\"type\":\"snapshot\",\"seq\":1,\"received_ns\":1789653600000000000,\"bids\":[[\"0.40\",\"10\"]],\"asks\":[[\"0.42\",\"5.5\"]]}\n\
        \n\
        {\"venue\":\"polymarket\",\"instrument\":\"71321045679252212594626385532706912750332728571942532289631379312455583992563\",\"type\":\"delta\",\"received_ns\":1789653600100000000,\"exchange_ns\":1789653600050000000,\"updates\":[{\"side\":\"ask\",\"price\":\"0.52\",\"size\":\"100\"}]}\n\
        {\"venue\":\"kalshi\",\"instrument\":\"KXFED-26DEC-T4.00\",\"type\":\"delta\",\"seq\":2,\"received_ns\":1789653600200000000,\"updates\":[{\"side\":\"bid\",\"price\":\"0.40\",\"change\":\"-3.5\"}]}\n";
    let mut binary = Vec::new();
    let stats = jsonl_to_binary(Cursor::new(text), &mut binary, Timestamp::ZERO).unwrap();
    assert_eq!(stats.events, 3);
    assert_eq!(decode(&binary).unwrap(), sample());
    let mut back = Vec::new();
    binary_to_jsonl(Cursor::new(&binary), &mut back).unwrap();
    let reparsed: Vec<BookEvent> = JsonlReader::new(Cursor::new(&back))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(reparsed, sample());
    // Compact: three events with a 78-digit token id in well under 300 bytes.
    assert!(binary.len() < 300, "{} bytes", binary.len());
}

#[test]
fn bad_lines_name_line_and_field() {
    let cases = [
        ("{\"venue\":\"kalshi\"", "(json)"),
        (
            "{\"venue\":\"binance\",\"instrument\":\"X\",\"type\":\"delta\",\"received_ns\":0,\"updates\":[]}",
            "(json)",
        ),
        (
            "{\"venue\":\"kalshi\",\"instrument\":\"X\",\"type\":\"snapshot\",\"received_ns\":0,\"bids\":[[\"1.5\",\"1\"]]}",
            "bids[0][0]",
        ),
        (
            "{\"venue\":\"kalshi\",\"instrument\":\"X\",\"type\":\"snapshot\",\"received_ns\":0,\"asks\":[[\"0.5\",\"-1\"]]}",
            "asks[0][1]",
        ),
        (
            "{\"venue\":\"kalshi\",\"instrument\":\"X\",\"type\":\"delta\",\"received_ns\":0,\"updates\":[{\"side\":\"bid\",\"price\":\"0.5\"}]}",
            "updates[0]",
        ),
        (
            "{\"venue\":\"kalshi\",\"instrument\":\"X\",\"type\":\"delta\",\"received_ns\":0}",
            "updates",
        ),
        (
            "{\"venue\":\"kalshi\",\"instrument\":\"\",\"type\":\"delta\",\"received_ns\":0,\"updates\":[]}",
            "instrument",
        ),
        (
            "{\"venue\":\"kalshi\",\"instrument\":\"X\",\"type\":\"delta\",\"received_ns\":0,\"updates\":[],\"extra\":1}",
            "(json)",
        ),
    ];
    for (line, field) in cases {
        let text = format!("\n{line}\n");
        let err = JsonlReader::new(Cursor::new(text))
            .next()
            .unwrap()
            .unwrap_err();
        match err {
            RecordingError::InvalidLine {
                line: 2, field: f, ..
            } => assert_eq!(f, field, "{line}"),
            other => panic!("{line}: {other}"),
        }
    }
}

#[test]
fn every_flipped_byte_is_detected() {
    let bytes = encode(&sample());
    assert_eq!(decode(&bytes).unwrap(), sample());
    for i in 0..bytes.len() {
        // Bytes 10..16 hold the creation time, which carries no event data.
        if (10..16).contains(&i) {
            continue;
        }
        for bit in [0x01u8, 0x80] {
            let mut bad = bytes.clone();
            bad[i] ^= bit;
            assert!(
                decode(&bad).is_err(),
                "flip of byte {i} bit {bit:#x} went unnoticed"
            );
        }
    }
}

#[test]
fn truncation_is_reported_or_ends_at_a_record() {
    let bytes = encode(&sample());
    for len in 0..bytes.len() {
        match decode(&bytes[..len]) {
            Ok(events) => assert!(events.len() < 3, "truncated to {len} yet complete"),
            Err(RecordingError::Truncated { .. } | RecordingError::NotARecording(_)) => {}
            Err(other) => panic!("truncated to {len}: unexpected {other}"),
        }
    }
}

#[test]
fn rejects_other_files_and_versions() {
    assert!(matches!(
        BinaryReader::new(Cursor::new(b"PK\x03\x04 not a recording")),
        Err(RecordingError::NotARecording(_))
    ));
    let mut v2 = encode(&[]);
    v2[8] = 2;
    assert!(matches!(
        BinaryReader::new(Cursor::new(v2)),
        Err(RecordingError::UnsupportedVersion(2))
    ));
}

#[test]
fn rotation_by_size_and_age() {
    let dir = tempfile::tempdir().unwrap();
    let policy = RotationPolicy {
        max_bytes: 200,
        max_age: Duration::from_secs(60),
    };
    let mut rec = RotatingRecorder::new(dir.path(), "orion", policy).unwrap();
    let mut all = Vec::new();
    for i in 0..30i64 {
        for mut e in sample() {
            // 30 rounds, 10 s apart: age forces a new file every 6 rounds at least.
            e.received_at = Timestamp::from_nanos(1_789_653_600_000_000_000 + i * 10_000_000_000);
            rec.record(&e).unwrap();
            all.push(e);
        }
    }
    let files = rec.finish().unwrap();
    assert!(files.len() >= 5, "{} files", files.len());
    assert_eq!(recording_files(dir.path()).unwrap(), files);
    assert!(
        files[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("orion-20260917T140000Z")
    );
    let mut read = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        read.extend(decode(&bytes).unwrap());
    }
    assert_eq!(read, all);
}

#[path = "recording/bad_input.rs"]
mod bad_input;
