//! Recordings of normalized book events, for backtests.
//!
//! This crate owns Orion's recording format: a compact, versioned binary form
//! (`.orec`: varint-coded, delta-coded timestamps, a CRC on every record, so a
//! torn or corrupted file is detected rather than misread), a readable JSON
//! Lines form with exact decimal strings, converters between them, and the
//! rotating writer the engine records with. Every event keeps the venue's
//! sequence number and both the exchange's and Orion's receive timestamps.
//! Readers never panic on malformed input: they yield an error naming where
//! and what. The format is specified in `docs/recording-format.md`.

pub mod binary;
mod crc;
pub mod jsonl;
pub mod rotate;

use std::io::{self, BufRead, Write};

use orion_core::Timestamp;
use thiserror::Error;

pub use binary::{BinaryReader, BinaryWriter, DecodedEvent};
pub use jsonl::{JsonlReader, format_line, parse_line};
pub use rotate::{RotatingRecorder, RotationPolicy, recording_files};

#[derive(Debug, Error)]
pub enum RecordingError {
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    #[error("not an Orion recording: {0}")]
    NotARecording(String),
    #[error("recording format version {0} is not supported (this build reads version {v})", v = binary::VERSION)]
    UnsupportedVersion(u16),
    #[error("corrupt record at byte {offset}: {reason}")]
    Corrupt { offset: u64, reason: String },
    #[error("truncated record at byte {offset}: {reason}")]
    Truncated { offset: u64, reason: String },
    #[error("line {line}, field {field}: {reason}")]
    InvalidLine {
        line: u64,
        field: String,
        reason: String,
    },
}

/// What a conversion did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConversionStats {
    pub events: u64,
    pub bytes_written: u64,
}

/// Converts JSON Lines to the binary form. Stops at the first bad line.
pub fn jsonl_to_binary(
    input: impl BufRead,
    output: impl Write,
    created: Timestamp,
) -> Result<ConversionStats, RecordingError> {
    let mut writer = BinaryWriter::new(output, created)?;
    for event in JsonlReader::new(input) {
        writer.write_event(&event?)?;
    }
    let stats = ConversionStats {
        events: writer.events_written(),
        bytes_written: writer.bytes_written(),
    };
    writer.into_inner()?;
    Ok(stats)
}

/// Converts the binary form to JSON Lines.
pub fn binary_to_jsonl(
    input: impl BufRead,
    mut output: impl Write,
) -> Result<ConversionStats, RecordingError> {
    let mut stats = ConversionStats::default();
    for event in BinaryReader::new(input)? {
        let line = format_line(&event?);
        output.write_all(line.as_bytes())?;
        output.write_all(b"\n")?;
        stats.events += 1;
        stats.bytes_written += line.len() as u64 + 1;
    }
    output.flush()?;
    Ok(stats)
}
