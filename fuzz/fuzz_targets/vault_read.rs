//! The vault file reader: any bytes give a header or a named problem.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = orion_vault::format::Header::parse(data);
});
