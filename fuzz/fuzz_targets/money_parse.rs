//! Venue price/size/amount strings into orion-core types: never a panic, and
//! whatever parses formats back to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orion_core::{Cash, Price, Quantity, Rounding, TickSize};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(p) = Price::parse(text) {
        assert_eq!(Price::parse(&p.to_kalshi_dollars()).ok(), Some(p));
    }
    if let Ok(q) = Quantity::parse(text) {
        assert_eq!(Quantity::parse(&q.format(2)).ok(), Some(q));
    }
    if let Ok(c) = Cash::parse(text) {
        assert_eq!(Cash::parse(&c.format(2)).ok(), Some(c));
    }
    for mode in [Rounding::Down, Rounding::Up, Rounding::TowardZero, Rounding::HalfEven] {
        let _ = Price::parse_rounded(text, mode);
        let _ = Quantity::parse_rounded(text, mode);
        let _ = Cash::parse_rounded(text, mode);
    }
    let _ = TickSize::parse(text);
    let _ = orion_core::time_fmt::parse_rfc3339(text);
    let _ = orion_core::Rate::parse(text);
});
