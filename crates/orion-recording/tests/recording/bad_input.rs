//! The recording readers' bad-input matrix. JSON Lines: one row per
//! malformed line (truncated, wrong types, missing and unknown fields, huge
//! and negative numbers, too many decimals, prices outside 0..=1, non-ASCII
//! and very long strings), each naming the field the error must carry.
//! Binary: one row per damaged file, including records rebuilt with a valid
//! CRC so the checks behind the checksum are reached, each naming the error
//! and a fragment of its reason. Nothing may panic.

use std::io::Cursor;

use orion_recording::{JsonlReader, RecordingError};

use super::{decode, encode, sample};

const OK_DELTA: &str = r#"{"venue":"kalshi","instrument":"KX","type":"delta","seq":2,"received_ns":5,"updates":[{"side":"bid","price":"0.40","change":"-3.5"}]}"#;

/// `OK_DELTA` with `from` replaced by `to` (which must occur once).
fn with(from: &str, to: &str) -> String {
    assert_eq!(OK_DELTA.matches(from).count(), 1, "{from}");
    OK_DELTA.replace(from, to)
}

#[test]
fn bad_jsonl_lines_name_their_field() {
    let long = "K".repeat(10_000);
    let rows: Vec<(&str, String, &str)> = vec![
        ("truncated", OK_DELTA[..40].to_string(), "(json)"),
        ("not an object", "[1,2,3]".into(), "(json)"),
        (
            "unknown field",
            with(r#""seq":2,"#, r#""seq":2,"sq":3,"#),
            "(json)",
        ),
        (
            "missing instrument",
            with(r#""instrument":"KX","#, ""),
            "(json)",
        ),
        (
            "missing received time",
            with(r#""received_ns":5,"#, ""),
            "(json)",
        ),
        (
            "unknown type",
            with(r#""type":"delta""#, r#""type":"snap""#),
            "(json)",
        ),
        (
            "seq as a string",
            with(r#""seq":2"#, r#""seq":"2""#),
            "(json)",
        ),
        ("negative seq", with(r#""seq":2"#, r#""seq":-2"#), "(json)"),
        (
            "seq beyond u64",
            with(r#""seq":2"#, r#""seq":99999999999999999999999"#),
            "(json)",
        ),
        (
            "received time beyond i64",
            with(
                r#""received_ns":5"#,
                r#""received_ns":9999999999999999999999"#,
            ),
            "(json)",
        ),
        (
            "price as a number",
            with(r#""price":"0.40""#, r#""price":0.4"#),
            "(json)",
        ),
        (
            "price above $1",
            with(r#""price":"0.40""#, r#""price":"1.5""#),
            "updates[0].price",
        ),
        (
            "negative price",
            with(r#""price":"0.40""#, r#""price":"-0.4""#),
            "updates[0].price",
        ),
        (
            "price with too many decimals",
            with(r#""price":"0.40""#, r#""price":"0.4000001""#),
            "updates[0].price",
        ),
        (
            "change with too many decimals",
            with(r#""change":"-3.5""#, r#""change":"-3.5000001""#),
            "updates[0].change",
        ),
        (
            "huge change",
            with(r#""change":"-3.5""#, r#""change":"99999999999999999999""#),
            "updates[0].change",
        ),
        (
            "non-ASCII digits",
            with(r#""change":"-3.5""#, r#""change":"-٣.5""#),
            "updates[0].change",
        ),
        (
            "unknown side",
            with(r#""side":"bid""#, r#""side":"buy""#),
            "(json)",
        ),
        (
            "size and change together",
            with(r#""change":"-3.5""#, r#""change":"-3.5","size":"1""#),
            "updates[0]",
        ),
        // Non-ASCII symbols pass orion-core's id rule (printable, no
        // whitespace, at most 128 bytes); the venue decoders are stricter.
        (
            "control character in the instrument",
            with(r#""instrument":"KX""#, r#""instrument":"KX\u0007""#),
            "instrument",
        ),
        (
            "space in the instrument",
            with(r#""instrument":"KX""#, r#""instrument":"K X""#),
            "instrument",
        ),
        (
            "very long instrument",
            with(r#""instrument":"KX""#, &format!(r#""instrument":"{long}""#)),
            "instrument",
        ),
        (
            "unknown venue",
            with(r#""venue":"kalshi""#, r#""venue":"kalshï""#),
            "(json)",
        ),
    ];
    // The unmodified line is good, so each row fails for its mutation.
    assert!(
        JsonlReader::new(Cursor::new(OK_DELTA))
            .next()
            .unwrap()
            .is_ok()
    );
    let mut failures = Vec::new();
    for (name, line, field) in &rows {
        let text = format!("{line}\n");
        let got = std::panic::catch_unwind(|| JsonlReader::new(Cursor::new(text)).next());
        match got {
            Err(_) => failures.push(format!("{name}: panicked")),
            Ok(None) => failures.push(format!("{name}: no item")),
            Ok(Some(Ok(e))) => failures.push(format!("{name}: accepted as {e:?}")),
            Ok(Some(Err(RecordingError::InvalidLine {
                line: 1,
                field: f,
                reason,
            }))) => {
                if f != *field {
                    failures.push(format!(
                        "{name}: field {f:?}, expected {field:?} ({reason})"
                    ));
                }
                if reason.len() > 1_000 {
                    failures.push(format!(
                        "{name}: reason echoes the input ({} bytes)",
                        reason.len()
                    ));
                }
            }
            Ok(Some(Err(other))) => failures.push(format!("{name}: {other}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A record with a valid CRC: `tag, varint length, payload, crc32 LE`.
fn record(tag: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let mut len = payload.len() as u64;
    while len >= 0x80 {
        out.push((len as u8) | 0x80);
        len >>= 7;
    }
    out.push(len as u8);
    out.extend_from_slice(payload);
    let mut crc = crc32fast::Hasher::new();
    crc.update(&[tag]);
    crc.update(payload);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out
}

#[derive(Debug, Clone, Copy)]
enum Want {
    NotARecording,
    Version,
    Corrupt(&'static str),
    Truncated(&'static str),
}

#[test]
fn bad_binary_files_give_their_error() {
    let good = encode(&sample());
    let header = &good[..16];
    let after_header = |extra: &[u8]| [header, extra].concat();
    let rows: Vec<(&str, Vec<u8>, Want)> = vec![
        ("empty file", Vec::new(), Want::NotARecording),
        ("half a header", good[..8].to_vec(), Want::NotARecording),
        (
            "wrong magic",
            [b"ORIONRED", &good[8..]].concat(),
            Want::NotARecording,
        ),
        (
            "unknown version",
            {
                let mut b = good.clone();
                b[8] = 9;
                b
            },
            Want::Version,
        ),
        (
            "record length beyond the limit",
            after_header(&[2, 0xff, 0xff, 0xff, 0x7f]),
            Want::Corrupt("exceeds"),
        ),
        (
            "record length varint never ends",
            after_header(&[2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Want::Corrupt("record length too long"),
        ),
        (
            "record length cut off",
            after_header(&[2, 0xff]),
            Want::Truncated("record length"),
        ),
        (
            "record body cut off",
            good[..good.len() - 3].to_vec(),
            Want::Truncated("record body"),
        ),
        (
            "trailing garbage",
            // Read as tag 'g' with a 97-byte body that is not there.
            [&good[..], b"garbage"].concat(),
            Want::Truncated("record body"),
        ),
        (
            "flipped byte in a record",
            {
                let mut b = good.clone();
                b[20] ^= 0x40;
                b
            },
            Want::Corrupt(""),
        ),
        (
            "unknown record tag (valid CRC)",
            after_header(&record(9, &[])),
            Want::Corrupt(""),
        ),
        (
            "event for an undefined instrument (valid CRC)",
            after_header(&record(3, &[5, 0])),
            Want::Corrupt("instrument number"),
        ),
        (
            "instrument of an unknown venue (valid CRC)",
            after_header(&record(1, &[0, 7, 2, b'K', b'X'])),
            Want::Corrupt("unknown venue"),
        ),
        (
            "instrument numbered out of order (valid CRC)",
            after_header(&record(1, &[3, 0, 2, b'K', b'X'])),
            Want::Corrupt("out of order"),
        ),
        (
            "non-UTF-8 symbol (valid CRC)",
            after_header(&record(1, &[0, 0, 2, 0xff, 0xfe])),
            Want::Corrupt("not UTF-8"),
        ),
        (
            "symbol longer than any id (valid CRC)",
            after_header(&record(
                1,
                &[[0u8, 0, 0xe8, 0x07].as_slice(), &[b'K'; 1000]].concat(),
            )),
            Want::Corrupt(""),
        ),
        (
            "symbol length past the record (valid CRC)",
            after_header(&record(1, &[0, 0, 40, b'K', b'X'])),
            Want::Corrupt("symbol"),
        ),
        (
            "empty symbol (valid CRC)",
            after_header(&record(1, &[0, 0, 0])),
            Want::Corrupt(""),
        ),
    ];
    let mut failures = Vec::new();
    for (name, bytes, want) in &rows {
        let got = std::panic::catch_unwind(|| decode(bytes));
        let ok = match (&got, want) {
            (Err(_), _) => {
                failures.push(format!("{name}: panicked"));
                continue;
            }
            (Ok(Err(RecordingError::NotARecording(_))), Want::NotARecording)
            | (Ok(Err(RecordingError::UnsupportedVersion(9))), Want::Version) => true,
            (Ok(Err(RecordingError::Corrupt { reason, .. })), Want::Corrupt(f))
            | (Ok(Err(RecordingError::Truncated { reason, .. })), Want::Truncated(f)) => {
                reason.contains(f)
            }
            _ => false,
        };
        if !ok {
            failures.push(format!("{name}: expected {want:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
