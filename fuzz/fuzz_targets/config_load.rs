//! Operator configuration: any text gives a config or a list of problems.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match orion_config::Config::parse(text, "fuzz") {
        Ok(_) => {}
        Err(e) => assert!(!e.problems.is_empty()),
    }
});
