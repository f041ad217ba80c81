//! Kalshi WebSocket frames.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = orion_exchanges::kalshi::types::ws_message(data);
});
