//! The compact binary form (`.orec`), version 1. See `docs/recording-format.md`.
//!
//! A file is a 16-byte header followed by records. Each record is
//! `tag: u8, length: varint, payload, crc32(tag ‖ payload): u32 LE`, so a torn
//! or corrupted tail is detected, never misread. Instruments are defined once
//! (tag 1) and referred to by number; receive timestamps are delta-coded
//! against the previous event; integers are LEB128 varints (signed ones
//! zigzag-coded). Prices and quantities are the exact micro-unit integers of
//! `orion-core`.

use std::collections::HashMap;
use std::io::{self, BufRead, Write};

use orion_core::{
    BookEvent, BookEventKind, BookSide, InstrumentId, Level, LevelChange, LevelUpdate, Price,
    Quantity, Timestamp, Venue,
};

use crate::RecordingError;

pub const MAGIC: &[u8; 8] = b"ORIONREC";
pub const VERSION: u16 = 1;
const HEADER_LEN: usize = 16;

const TAG_INSTRUMENT: u8 = 1;
const TAG_SNAPSHOT: u8 = 2;
const TAG_DELTA: u8 = 3;

const FLAG_SEQ: u8 = 1;
const FLAG_EXCHANGE_TS: u8 = 2;

/// Refuse records larger than this: no book has a million levels, and a
/// corrupted length must not make the reader allocate gigabytes.
pub const MAX_RECORD_LEN: usize = 16 * 1024 * 1024;
/// Most levels in one snapshot or updates in one delta.
pub const MAX_LEVELS: usize = 100_000;
/// Most distinct instruments in one file.
pub const MAX_INSTRUMENTS: usize = 1_000_000;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Writes events in the binary form.
#[derive(Debug)]
pub struct BinaryWriter<W: Write> {
    out: W,
    instruments: HashMap<InstrumentId, u64>,
    last_received: i64,
    record: Vec<u8>,
    payload: Vec<u8>,
    bytes_written: u64,
    events_written: u64,
}

impl<W: Write> BinaryWriter<W> {
    /// Writes the header; `created` is recorded for provenance only.
    pub fn new(mut out: W, created: Timestamp) -> io::Result<Self> {
        let mut header = [0u8; HEADER_LEN];
        header[..8].copy_from_slice(MAGIC);
        header[8..10].copy_from_slice(&VERSION.to_le_bytes());
        header[10..16].copy_from_slice(&created.secs().to_le_bytes()[..6]);
        out.write_all(&header)?;
        Ok(BinaryWriter {
            out,
            instruments: HashMap::new(),
            last_received: 0,
            record: Vec::with_capacity(256),
            payload: Vec::with_capacity(256),
            bytes_written: HEADER_LEN as u64,
            events_written: 0,
        })
    }

    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    pub fn events_written(&self) -> u64 {
        self.events_written
    }

    fn emit(&mut self, tag: u8) -> io::Result<()> {
        self.record.clear();
        self.record.push(tag);
        put_varint(&mut self.record, self.payload.len() as u64);
        self.record.extend_from_slice(&self.payload);
        let mut crc = crc32fast::Hasher::new();
        crc.update(&[tag]);
        crc.update(&self.payload);
        self.record.extend_from_slice(&crc.finalize().to_le_bytes());
        self.out.write_all(&self.record)?;
        self.bytes_written += self.record.len() as u64;
        Ok(())
    }

    fn instrument_number(&mut self, id: &InstrumentId) -> io::Result<u64> {
        if let Some(&n) = self.instruments.get(id) {
            return Ok(n);
        }
        let n = self.instruments.len() as u64;
        self.payload.clear();
        put_varint(&mut self.payload, n);
        self.payload.push(match id.venue {
            Venue::Kalshi => 0,
            Venue::Polymarket => 1,
        });
        put_varint(&mut self.payload, id.symbol.len() as u64);
        self.payload.extend_from_slice(id.symbol.as_bytes());
        self.emit(TAG_INSTRUMENT)?;
        self.instruments.insert(id.clone(), n);
        Ok(n)
    }

    /// Appends one event.
    pub fn write_event(&mut self, event: &BookEvent) -> io::Result<()> {
        let number = self.instrument_number(&event.instrument)?;
        self.payload.clear();
        put_varint(&mut self.payload, number);
        let flags = if event.seq.is_some() { FLAG_SEQ } else { 0 }
            | if event.exchange_ts.is_some() {
                FLAG_EXCHANGE_TS
            } else {
                0
            };
        self.payload.push(flags);
        if let Some(seq) = event.seq {
            put_varint(&mut self.payload, seq);
        }
        let received = event.received_at.nanos();
        put_varint(
            &mut self.payload,
            zigzag(received.wrapping_sub(self.last_received)),
        );
        self.last_received = received;
        if let Some(ts) = event.exchange_ts {
            put_varint(&mut self.payload, zigzag(ts.nanos().wrapping_sub(received)));
        }
        let tag = match &event.kind {
            BookEventKind::Snapshot { bids, asks } => {
                for side in [bids, asks] {
                    put_varint(&mut self.payload, side.len() as u64);
                    for level in side {
                        put_varint(&mut self.payload, u64::from(level.price.micros()));
                        put_varint(&mut self.payload, level.qty.micros());
                    }
                }
                TAG_SNAPSHOT
            }
            BookEventKind::Delta { updates } => {
                put_varint(&mut self.payload, updates.len() as u64);
                for u in updates {
                    let side_bit = match u.side {
                        BookSide::Bid => 0,
                        BookSide::Ask => 1,
                    };
                    match u.change {
                        LevelChange::Set(qty) => {
                            self.payload.push(side_bit);
                            put_varint(&mut self.payload, u64::from(u.price.micros()));
                            put_varint(&mut self.payload, qty.micros());
                        }
                        LevelChange::Add(delta) => {
                            self.payload.push(side_bit | 2);
                            put_varint(&mut self.payload, u64::from(u.price.micros()));
                            put_varint(&mut self.payload, zigzag(delta));
                        }
                    }
                }
                TAG_DELTA
            }
        };
        self.emit(tag)?;
        self.events_written += 1;
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// The checksum of a record: CRC-32 (IEEE) over its tag and payload.
#[inline]
fn checksum(tag: u8, payload: &[u8]) -> u32 {
    crate::crc::record_checksum(tag, payload)
}

/// One event decoded into buffers that are reused from one read to the next
/// (see [`BinaryReader::read_into`]), so a replay loop allocates nothing per
/// event. `instrument` is the file's number for it: an index into
/// [`BinaryReader::instruments`], which the caller can map once per file
/// instead of hashing an identifier per event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodedEvent {
    pub instrument: usize,
    /// True for a snapshot (`bids` and `asks` hold the whole book), false for
    /// a delta (`updates` holds the changes). Buffers of the other kind are empty.
    pub snapshot: bool,
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
    pub updates: Vec<LevelUpdate>,
    pub seq: Option<u64>,
    pub exchange_ts: Option<Timestamp>,
    pub received_at: Timestamp,
}

/// A cursor over one record's payload that never reads past its end.
struct Payload<'a> {
    bytes: &'a [u8],
    pos: usize,
    offset: u64,
}

impl Payload<'_> {
    #[cold]
    fn corrupt(&self, what: &str) -> RecordingError {
        RecordingError::Corrupt {
            offset: self.offset,
            reason: what.to_string(),
        }
    }

    #[inline(always)]
    fn byte(&mut self, what: &str) -> Result<u8, RecordingError> {
        match self.bytes.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(self.corrupt(what)),
        }
    }

    /// A LEB128 varint of at most ten bytes (the tenth may carry only the
    /// top bit of a `u64`), `None` when malformed or cut short. Works on the
    /// remaining slice directly and returns in registers: this runs several
    /// times per event.
    #[inline(always)]
    fn varint_raw(&mut self) -> Option<u64> {
        let mut pos = self.pos;
        let mut value: u64 = 0;
        let mut shift = 0u32;
        loop {
            let b = *self.bytes.get(pos)?;
            pos += 1;
            value |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                if shift == 63 && b > 1 {
                    return None;
                }
                self.pos = pos;
                return Some(value);
            }
            shift += 7;
            if shift > 63 {
                return None;
            }
        }
    }

    #[inline(always)]
    fn varint(&mut self, what: &str) -> Result<u64, RecordingError> {
        match self.varint_raw() {
            Some(v) => Ok(v),
            None => Err(self.corrupt(what)),
        }
    }

    #[inline(always)]
    fn count(&mut self, what: &str, max: usize) -> Result<usize, RecordingError> {
        let n = self.varint(what)?;
        match usize::try_from(n) {
            Ok(n) if n <= max => Ok(n),
            _ => Err(self.corrupt(what)),
        }
    }

    #[inline(always)]
    fn price(&mut self) -> Result<Price, RecordingError> {
        let v = self.varint("price")?;
        match u32::try_from(v)
            .ok()
            .and_then(|m| Price::from_micros(m).ok())
        {
            Some(price) => Ok(price),
            None => Err(self.corrupt("price above $1")),
        }
    }

    #[inline(always)]
    fn qty(&mut self) -> Result<Quantity, RecordingError> {
        let v = self.varint("quantity")?;
        if v > Quantity::MAX.micros() {
            return Err(self.corrupt("quantity above the maximum"));
        }
        Ok(Quantity::from_micros(v))
    }

    fn finish(&self) -> Result<(), RecordingError> {
        if self.pos == self.bytes.len() {
            Ok(())
        } else {
            Err(self.corrupt("trailing bytes in record"))
        }
    }
}

/// Where a whole, intact record sits at the start of `bytes`: its tag, header
/// length and payload length. `None` when part of it is not in `bytes` yet,
/// or anything about it is off — the careful path then reads it again and
/// reports the problem with its offset.
#[inline]
fn whole_record(bytes: &[u8]) -> Option<(u8, usize, usize)> {
    let (&tag, rest) = bytes.split_first()?;
    let mut len: usize = 0;
    let mut header = 1usize;
    for (i, &b) in rest.iter().take(4).enumerate() {
        len |= usize::from(b & 0x7f) << (7 * i);
        header += 1;
        if b & 0x80 == 0 {
            break;
        }
        if i == 3 {
            return None;
        }
    }
    if header == 1 || len > MAX_RECORD_LEN || bytes.len() < header + len + 4 {
        return None;
    }
    let payload = &bytes[header..header + len];
    let crc = &bytes[header + len..header + len + 4];
    if checksum(tag, payload) != u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]) {
        return None;
    }
    Some((tag, header, len))
}

/// Decodes one record's payload. An instrument definition extends
/// `instruments` and gives `Ok(false)`; an event fills `event` and gives
/// `Ok(true)`. `last_received` moves only when an event decodes whole.
fn decode_record(
    tag: u8,
    payload: &[u8],
    offset: u64,
    instruments: &mut Vec<InstrumentId>,
    last_received: &mut i64,
    event: &mut DecodedEvent,
) -> Result<bool, RecordingError> {
    let mut p = Payload {
        bytes: payload,
        pos: 0,
        offset,
    };
    match tag {
        TAG_INSTRUMENT => {
            let n = p.varint("instrument number")?;
            if n != instruments.len() as u64 || instruments.len() >= MAX_INSTRUMENTS {
                return Err(p.corrupt("instrument numbers out of order"));
            }
            let venue = match p.byte("venue")? {
                0 => Venue::Kalshi,
                1 => Venue::Polymarket,
                _ => return Err(p.corrupt("unknown venue")),
            };
            let len = p.count("symbol length", orion_core::ids::MAX_ID_LEN)?;
            let end = p.pos + len;
            let bytes = p.bytes.get(p.pos..end).ok_or_else(|| p.corrupt("symbol"))?;
            let symbol =
                std::str::from_utf8(bytes).map_err(|_| p.corrupt("symbol is not UTF-8"))?;
            let id = InstrumentId::new(venue, symbol).map_err(|e| p.corrupt(&e.to_string()))?;
            p.pos = end;
            p.finish()?;
            instruments.push(id);
            Ok(false)
        }
        TAG_SNAPSHOT | TAG_DELTA => {
            let n = p.count("instrument number", instruments.len().saturating_sub(1))?;
            if n >= instruments.len() {
                return Err(p.corrupt("undefined instrument"));
            }
            let flags = p.byte("flags")?;
            if flags & !(FLAG_SEQ | FLAG_EXCHANGE_TS) != 0 {
                return Err(p.corrupt("unknown flags"));
            }
            let seq = if flags & FLAG_SEQ != 0 {
                Some(p.varint("seq")?)
            } else {
                None
            };
            let received = last_received.wrapping_add(unzigzag(p.varint("received timestamp")?));
            let exchange_ts = if flags & FLAG_EXCHANGE_TS != 0 {
                Some(Timestamp::from_nanos(
                    received.wrapping_add(unzigzag(p.varint("exchange timestamp")?)),
                ))
            } else {
                None
            };
            event.bids.clear();
            event.asks.clear();
            event.updates.clear();
            if tag == TAG_SNAPSHOT {
                for side in [&mut event.bids, &mut event.asks] {
                    let count = p.count("level count", MAX_LEVELS)?;
                    // Each level takes at least two bytes: bound the allocation by the payload.
                    side.reserve(count.min(p.bytes.len() / 2));
                    for _ in 0..count {
                        let price = p.price()?;
                        let qty = p.qty()?;
                        side.push(Level::new(price, qty));
                    }
                }
            } else {
                let count = p.count("update count", MAX_LEVELS)?;
                // Each update takes at least three bytes.
                event.updates.reserve(count.min(p.bytes.len() / 3));
                for _ in 0..count {
                    let kind = p.byte("update kind")?;
                    if kind > 3 {
                        return Err(p.corrupt("unknown update kind"));
                    }
                    let side = if kind & 1 == 0 {
                        BookSide::Bid
                    } else {
                        BookSide::Ask
                    };
                    let price = p.price()?;
                    let change = if kind & 2 == 0 {
                        LevelChange::Set(p.qty()?)
                    } else {
                        LevelChange::Add(unzigzag(p.varint("level change")?))
                    };
                    event.updates.push(LevelUpdate {
                        side,
                        price,
                        change,
                    });
                }
            }
            p.finish()?;
            *last_received = received;
            event.instrument = n;
            event.snapshot = tag == TAG_SNAPSHOT;
            event.seq = seq;
            event.exchange_ts = exchange_ts;
            event.received_at = Timestamp::from_nanos(received);
            Ok(true)
        }
        other => Err(p.corrupt(&format!("unknown record tag {other}"))),
    }
}

/// Reads events from the binary form. Yields an error (and then stops) at the
/// first corrupt or truncated record.
#[derive(Debug)]
pub struct BinaryReader<R: BufRead> {
    input: R,
    instruments: Vec<InstrumentId>,
    last_received: i64,
    offset: u64,
    buf: Vec<u8>,
    failed: bool,
    events_read: u64,
}

impl<R: BufRead> BinaryReader<R> {
    /// Checks the header.
    pub fn new(mut input: R) -> Result<Self, RecordingError> {
        let mut header = [0u8; HEADER_LEN];
        input.read_exact(&mut header).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                RecordingError::NotARecording("shorter than the 16-byte header".into())
            } else {
                RecordingError::Io(e)
            }
        })?;
        if &header[..8] != MAGIC {
            return Err(RecordingError::NotARecording(
                "bad magic (expected ORIONREC)".into(),
            ));
        }
        let version = u16::from_le_bytes([header[8], header[9]]);
        if version != VERSION {
            return Err(RecordingError::UnsupportedVersion(version));
        }
        Ok(BinaryReader {
            input,
            instruments: Vec::new(),
            last_received: 0,
            offset: HEADER_LEN as u64,
            buf: Vec::with_capacity(256),
            failed: false,
            events_read: 0,
        })
    }

    pub fn events_read(&self) -> u64 {
        self.events_read
    }

    /// The instruments defined so far, in definition order: index `n` is the
    /// file's instrument number `n` ([`DecodedEvent::instrument`]).
    pub fn instruments(&self) -> &[InstrumentId] {
        &self.instruments
    }

    /// Reads the next event into `event`, reusing its buffers: `Ok(true)`
    /// when one was read, `Ok(false)` at a clean end of file. After an error
    /// the reader stops (later calls give `Ok(false)`), as the iterator does.
    pub fn read_into(&mut self, event: &mut DecodedEvent) -> Result<bool, RecordingError> {
        if self.failed {
            return Ok(false);
        }
        let result = self.read_next(event);
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn read_next(&mut self, event: &mut DecodedEvent) -> Result<bool, RecordingError> {
        loop {
            // Fast path: the whole record already sits in the reader's
            // buffer; decode it in place, without copying it out.
            if let Ok(available) = self.input.fill_buf()
                && let Some((tag, header, len)) = whole_record(available)
            {
                let start = self.offset;
                let decoded = decode_record(
                    tag,
                    &available[header..header + len],
                    start,
                    &mut self.instruments,
                    &mut self.last_received,
                    event,
                );
                let total = header + len + 4;
                self.input.consume(total);
                self.offset += total as u64;
                if decoded? {
                    self.events_read += 1;
                    return Ok(true);
                }
                continue;
            }
            let Some((tag, start, len)) = self.next_record()? else {
                return Ok(false);
            };
            if decode_record(
                tag,
                &self.buf[..len],
                start,
                &mut self.instruments,
                &mut self.last_received,
                event,
            )? {
                self.events_read += 1;
                return Ok(true);
            }
        }
    }

    /// Reads the next record into `buf` a piece at a time, checking each
    /// piece: (tag, offset, payload length), or `None` at a clean end of file.
    fn next_record(&mut self) -> Result<Option<(u8, u64, usize)>, RecordingError> {
        let start = self.offset;
        let mut tag = [0u8; 1];
        match self.input.read(&mut tag) {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(e) => return Err(RecordingError::Io(e)),
        }
        let truncated = |what: &str| RecordingError::Truncated {
            offset: start,
            reason: what.to_string(),
        };
        let mut len: u64 = 0;
        let mut header_len = 1u64;
        for shift in (0..64).step_by(7) {
            let mut b = [0u8; 1];
            if self.input.read(&mut b).map_err(RecordingError::Io)? == 0 {
                return Err(truncated("record length"));
            }
            header_len += 1;
            len |= u64::from(b[0] & 0x7f) << shift;
            if b[0] & 0x80 == 0 {
                break;
            }
            if shift >= 28 {
                return Err(RecordingError::Corrupt {
                    offset: start,
                    reason: "record length too long".into(),
                });
            }
        }
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| l <= MAX_RECORD_LEN)
            .ok_or_else(|| RecordingError::Corrupt {
                offset: start,
                reason: format!("record length {len} exceeds {MAX_RECORD_LEN}"),
            })?;
        self.buf.resize(len + 4, 0);
        self.input.read_exact(&mut self.buf).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                truncated("record body")
            } else {
                RecordingError::Io(e)
            }
        })?;
        let (payload, crc_bytes) = self.buf.split_at(len);
        let expected = u32::from_le_bytes([crc_bytes[0], crc_bytes[1], crc_bytes[2], crc_bytes[3]]);
        if checksum(tag[0], payload) != expected {
            return Err(RecordingError::Corrupt {
                offset: start,
                reason: "checksum mismatch".into(),
            });
        }
        self.offset = start + header_len + len as u64 + 4;
        Ok(Some((tag[0], start, len)))
    }
}

impl<R: BufRead> Iterator for BinaryReader<R> {
    type Item = Result<BookEvent, RecordingError>;

    fn next(&mut self) -> Option<Self::Item> {
        // Fresh buffers: each yielded event owns its levels.
        let mut event = DecodedEvent::default();
        match self.read_into(&mut event) {
            Ok(false) => None,
            Err(e) => Some(Err(e)),
            Ok(true) => {
                // decode_record checked the number against the definitions.
                let Some(instrument) = self.instruments.get(event.instrument).cloned() else {
                    self.failed = true;
                    return Some(Err(RecordingError::Corrupt {
                        offset: self.offset,
                        reason: "undefined instrument".into(),
                    }));
                };
                let kind = if event.snapshot {
                    BookEventKind::Snapshot {
                        bids: event.bids,
                        asks: event.asks,
                    }
                } else {
                    BookEventKind::Delta {
                        updates: event.updates,
                    }
                };
                Some(Ok(BookEvent {
                    instrument,
                    kind,
                    seq: event.seq,
                    exchange_ts: event.exchange_ts,
                    received_at: event.received_at,
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

    use std::io::Cursor;

    use super::*;

    fn events() -> Vec<BookEvent> {
        let k = InstrumentId::new(Venue::Kalshi, "KX").unwrap();
        let p = InstrumentId::new(Venue::Polymarket, "123").unwrap();
        let px = |c: u32| Price::from_micros(c * 10_000).unwrap();
        let q = |n: u64| Quantity::from_contracts(n).unwrap();
        let snapshot = |instrument: &InstrumentId, at: i64, levels: u32| BookEvent {
            instrument: instrument.clone(),
            kind: BookEventKind::Snapshot {
                bids: (0..levels).map(|i| Level::new(px(40 - i), q(10))).collect(),
                asks: (0..levels).map(|i| Level::new(px(42 + i), q(5))).collect(),
            },
            seq: Some(1),
            exchange_ts: None,
            received_at: Timestamp::from_nanos(at),
        };
        let delta = |instrument: &InstrumentId, at: i64, updates: u32| BookEvent {
            instrument: instrument.clone(),
            kind: BookEventKind::Delta {
                updates: (0..updates)
                    .map(|i| LevelUpdate {
                        side: if i % 2 == 0 {
                            BookSide::Bid
                        } else {
                            BookSide::Ask
                        },
                        price: px(30 + i),
                        change: if i % 3 == 0 {
                            LevelChange::Add(-1_500_000)
                        } else {
                            LevelChange::Set(q(u64::from(i)))
                        },
                    })
                    .collect(),
            },
            seq: None,
            exchange_ts: Some(Timestamp::from_nanos(at - 7)),
            received_at: Timestamp::from_nanos(at),
        };
        // Kinds and sizes alternate so reused buffers shrink and grow.
        vec![
            snapshot(&k, 1_000, 5),
            delta(&p, 900, 3),
            snapshot(&p, 2_000, 1),
            delta(&k, 2_500, 1),
            delta(&k, 2_600, 6),
            snapshot(&k, 3_000, 0),
            delta(&p, 3_100, 2),
        ]
    }

    fn encode(events: &[BookEvent]) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut writer = BinaryWriter::new(&mut bytes, Timestamp::ZERO).unwrap();
        for e in events {
            writer.write_event(e).unwrap();
        }
        drop(writer);
        bytes
    }

    /// The event `read_into` decoded, as the iterator would yield it.
    fn owned<R: BufRead>(reader: &BinaryReader<R>, e: &DecodedEvent) -> BookEvent {
        BookEvent {
            instrument: reader.instruments()[e.instrument].clone(),
            kind: if e.snapshot {
                assert!(e.updates.is_empty(), "delta buffer left over");
                BookEventKind::Snapshot {
                    bids: e.bids.clone(),
                    asks: e.asks.clone(),
                }
            } else {
                assert!(e.bids.is_empty() && e.asks.is_empty(), "levels left over");
                BookEventKind::Delta {
                    updates: e.updates.clone(),
                }
            },
            seq: e.seq,
            exchange_ts: e.exchange_ts,
            received_at: e.received_at,
        }
    }

    #[test]
    fn read_into_reuses_one_buffer_and_gives_the_iterators_events() {
        let expected = events();
        let bytes = encode(&expected);
        // A 7-byte buffer: most records straddle it and take the careful
        // path; an 8 KiB buffer holds them whole (the in-place path).
        for capacity in [7, 8 * 1024] {
            let mut reader = BinaryReader::new(std::io::BufReader::with_capacity(
                capacity,
                Cursor::new(&bytes),
            ))
            .unwrap();
            let mut event = DecodedEvent::default();
            let mut got = Vec::new();
            while reader.read_into(&mut event).unwrap() {
                got.push(owned(&reader, &event));
            }
            assert_eq!(got, expected, "buffer of {capacity} bytes");
            assert_eq!(reader.events_read(), expected.len() as u64);
            // At the end it stays at the end.
            assert!(!reader.read_into(&mut event).unwrap());
        }
    }

    #[test]
    fn read_into_stops_after_a_corrupt_record() {
        let mut bytes = encode(&events());
        let last = bytes.len() - 6;
        bytes[last] ^= 0x01;
        let mut reader = BinaryReader::new(Cursor::new(&bytes)).unwrap();
        let mut event = DecodedEvent::default();
        let mut read = 0;
        let error = loop {
            match reader.read_into(&mut event) {
                Ok(true) => read += 1,
                Ok(false) => panic!("corruption went unnoticed"),
                Err(e) => break e,
            }
        };
        assert_eq!(read, events().len() - 1);
        assert!(matches!(error, RecordingError::Corrupt { .. }), "{error}");
        assert!(!reader.read_into(&mut event).unwrap());
    }

    #[test]
    fn varints_of_every_length_decode_and_overlong_ones_do_not() {
        for v in [
            0,
            1,
            127,
            128,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut bytes = Vec::new();
            put_varint(&mut bytes, v);
            let mut p = Payload {
                bytes: &bytes,
                pos: 0,
                offset: 0,
            };
            assert_eq!(p.varint("v").unwrap(), v);
            assert_eq!(p.pos, bytes.len());
            // Cut short: an error, never a wrong value.
            let mut short = Payload {
                bytes: &bytes[..bytes.len() - 1],
                pos: 0,
                offset: 0,
            };
            assert!(short.varint("v").is_err());
        }
        // Ten bytes whose last carries more than the top bit of a u64.
        let overflow = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        let mut p = Payload {
            bytes: &overflow,
            pos: 0,
            offset: 0,
        };
        assert!(p.varint("v").is_err());
        // Eleven bytes: too long whatever they hold.
        let long = [
            0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00,
        ];
        let mut p = Payload {
            bytes: &long,
            pos: 0,
            offset: 0,
        };
        assert!(p.varint("v").is_err());
    }
}
