//! Polymarket market-channel frames (single events and arrays).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = orion_exchanges::polymarket::types::ws_events(data);
});
