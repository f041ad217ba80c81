//! The readable JSON Lines form: one event per line, numbers as exact
//! decimal strings, timestamps as integer nanoseconds since the epoch.
//!
//! ```text
//! {"venue":"kalshi","instrument":"KXFED-26DEC-T4.00","type":"snapshot","seq":1,"received_ns":1789653600000000000,"bids":[["0.40","10"]],"asks":[["0.42","5"]]}
//! {"venue":"polymarket","instrument":"7132","type":"delta","received_ns":1789653600100000000,"exchange_ns":1789653600050000000,"updates":[{"side":"ask","price":"0.52","size":"100"},{"side":"bid","price":"0.41","change":"-3.5"}]}
//! ```
//!
//! `size` sets a level's new total (zero removes it); `change` adds a signed
//! amount to it.

use std::io::{BufRead, Read as _, Write};

use orion_core::{
    BookEvent, BookEventKind, BookSide, InstrumentId, Level, LevelChange, LevelUpdate, Price,
    Quantity, Rounding, Timestamp, Venue,
};
use serde::{Deserialize, Serialize};

use crate::RecordingError;

/// The longest line accepted: a hostile file must not exhaust memory.
pub const MAX_LINE: usize = 4 * 1024 * 1024;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    venue: Venue,
    instrument: String,
    #[serde(rename = "type")]
    kind: LineKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seq: Option<u64>,
    received_ns: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exchange_ns: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bids: Option<Vec<(String, String)>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    asks: Option<Vec<(String, String)>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    updates: Option<Vec<UpdateLine>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum LineKind {
    Snapshot,
    Delta,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateLine {
    side: BookSide,
    price: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    change: Option<String>,
}

fn invalid(line: u64, field: &str, reason: impl Into<String>) -> RecordingError {
    RecordingError::InvalidLine {
        line,
        field: field.to_string(),
        reason: reason.into(),
    }
}

fn levels(
    line: u64,
    field: &str,
    raw: Vec<(String, String)>,
) -> Result<Vec<Level>, RecordingError> {
    raw.into_iter()
        .enumerate()
        .map(|(i, (price, size))| {
            let price = Price::parse(&price)
                .map_err(|e| invalid(line, &format!("{field}[{i}][0]"), e.to_string()))?;
            let qty = Quantity::parse(&size)
                .map_err(|e| invalid(line, &format!("{field}[{i}][1]"), e.to_string()))?;
            Ok(Level::new(price, qty))
        })
        .collect()
}

/// Parses one JSON line into an event; `line` numbers errors.
pub fn parse_line(text: &str, line: u64) -> Result<BookEvent, RecordingError> {
    let parsed: Line =
        serde_json::from_str(text).map_err(|e| invalid(line, "(json)", e.to_string()))?;
    let instrument = InstrumentId::new(parsed.venue, &parsed.instrument)
        .map_err(|e| invalid(line, "instrument", e.to_string()))?;
    let kind = match parsed.kind {
        LineKind::Snapshot => {
            if parsed.updates.is_some() {
                return Err(invalid(
                    line,
                    "updates",
                    "a snapshot has bids and asks, not updates",
                ));
            }
            BookEventKind::Snapshot {
                bids: levels(line, "bids", parsed.bids.unwrap_or_default())?,
                asks: levels(line, "asks", parsed.asks.unwrap_or_default())?,
            }
        }
        LineKind::Delta => {
            if parsed.bids.is_some() || parsed.asks.is_some() {
                return Err(invalid(
                    line,
                    "bids",
                    "a delta has updates, not bids and asks",
                ));
            }
            let raw = parsed
                .updates
                .ok_or_else(|| invalid(line, "updates", "missing"))?;
            let mut updates = Vec::with_capacity(raw.len());
            for (i, u) in raw.into_iter().enumerate() {
                let price = Price::parse(&u.price)
                    .map_err(|e| invalid(line, &format!("updates[{i}].price"), e.to_string()))?;
                let change = match (u.size, u.change) {
                    (Some(size), None) => {
                        LevelChange::Set(Quantity::parse(&size).map_err(|e| {
                            invalid(line, &format!("updates[{i}].size"), e.to_string())
                        })?)
                    }
                    (None, Some(change)) => {
                        let micros = orion_core::decimal::parse_scaled(&change, 6, Rounding::Exact)
                            .ok()
                            .and_then(|v| i64::try_from(v).ok())
                            .ok_or_else(|| {
                                invalid(
                                    line,
                                    &format!("updates[{i}].change"),
                                    "expected a signed decimal with at most 6 places",
                                )
                            })?;
                        LevelChange::Add(micros)
                    }
                    _ => {
                        return Err(invalid(
                            line,
                            &format!("updates[{i}]"),
                            "needs exactly one of \"size\" or \"change\"",
                        ));
                    }
                };
                updates.push(LevelUpdate {
                    side: u.side,
                    price,
                    change,
                });
            }
            BookEventKind::Delta { updates }
        }
    };
    Ok(BookEvent {
        instrument,
        kind,
        seq: parsed.seq,
        exchange_ts: parsed.exchange_ns.map(Timestamp::from_nanos),
        received_at: Timestamp::from_nanos(parsed.received_ns),
    })
}

fn level_strings(levels: &[Level]) -> Vec<(String, String)> {
    levels
        .iter()
        .map(|l| (l.price.format(2), l.qty.format(0)))
        .collect()
}

/// Formats one event as a JSON line (without the newline).
pub fn format_line(event: &BookEvent) -> String {
    let (kind, bids, asks, updates) = match &event.kind {
        BookEventKind::Snapshot { bids, asks } => (
            LineKind::Snapshot,
            Some(level_strings(bids)),
            Some(level_strings(asks)),
            None,
        ),
        BookEventKind::Delta { updates } => (
            LineKind::Delta,
            None,
            None,
            Some(
                updates
                    .iter()
                    .map(|u| {
                        let (size, change) = match u.change {
                            LevelChange::Set(q) => (Some(q.format(0)), None),
                            LevelChange::Add(d) => (
                                None,
                                Some(orion_core::decimal::format_scaled(i128::from(d), 6, 0)),
                            ),
                        };
                        UpdateLine {
                            side: u.side,
                            price: u.price.format(2),
                            size,
                            change,
                        }
                    })
                    .collect(),
            ),
        ),
    };
    let line = Line {
        venue: event.instrument.venue,
        instrument: event.instrument.symbol.to_string(),
        kind,
        seq: event.seq,
        received_ns: event.received_at.nanos(),
        exchange_ns: event.exchange_ts.map(Timestamp::nanos),
        bids,
        asks,
        updates,
    };
    // Serializing plain strings, integers and enums cannot fail.
    serde_json::to_string(&line).unwrap_or_default()
}

/// Reads JSON Lines events; blank lines and lines starting with `#` are skipped.
#[derive(Debug)]
pub struct JsonlReader<R: BufRead> {
    input: R,
    line: u64,
    buf: String,
}

impl<R: BufRead> JsonlReader<R> {
    pub fn new(input: R) -> Self {
        JsonlReader {
            input,
            line: 0,
            buf: String::new(),
        }
    }
}

impl<R: BufRead> Iterator for JsonlReader<R> {
    type Item = Result<BookEvent, RecordingError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buf.clear();
            self.line += 1;
            let mut limited = (&mut self.input).take(MAX_LINE as u64 + 1);
            match limited.read_line(&mut self.buf) {
                Ok(0) => return None,
                Ok(n) if n > MAX_LINE => {
                    return Some(Err(invalid(
                        self.line,
                        "(line)",
                        format!("longer than {MAX_LINE} bytes"),
                    )));
                }
                Ok(_) => {}
                Err(e) => return Some(Err(RecordingError::Io(e))),
            }
            let text = self.buf.trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            return Some(parse_line(text, self.line));
        }
    }
}

/// Writes events as JSON Lines.
pub fn write_line(out: &mut impl Write, event: &BookEvent) -> std::io::Result<()> {
    out.write_all(format_line(event).as_bytes())?;
    out.write_all(b"\n")
}
