//! Recordings, binary and JSON Lines: errors, never panics or runaway allocation.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use orion_recording::{BinaryReader, DecodedEvent, JsonlReader};

fuzz_target!(|data: &[u8]| {
    // Give the binary reader a valid header half the time so the records are reached.
    let mut with_header = b"ORIONREC\x01\x00\x00\x00\x00\x00\x00\x00".to_vec();
    with_header.extend_from_slice(data);
    for bytes in [data, with_header.as_slice()] {
        if let Ok(reader) = BinaryReader::new(Cursor::new(bytes)) {
            for event in reader.take(10_000) {
                if event.is_err() {
                    break;
                }
            }
        }
        // The in-place path the replay uses (one reused buffer).
        if let Ok(mut reader) = BinaryReader::new(Cursor::new(bytes)) {
            let mut event = DecodedEvent::default();
            for _ in 0..10_000 {
                if !matches!(reader.read_into(&mut event), Ok(true)) {
                    break;
                }
            }
        }
    }
    for event in JsonlReader::new(Cursor::new(data)).take(10_000) {
        let _ = event;
    }
});
