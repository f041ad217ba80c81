//! Kalshi REST bodies: every decoder yields a value or an error naming the field.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orion_exchanges::kalshi::types as k;

fuzz_target!(|data: &[u8]| {
    let _ = k::markets_page(data);
    let _ = k::markets_array(data);
    let _ = k::market(data);
    let _ = k::orderbook(data);
    let _ = k::series_fee(data);
    let _ = k::balance(data);
    let _ = k::positions(data);
    let _ = k::fills(data);
    let _ = k::orders(data);
    let _ = k::create_order_response(data);
    let _ = k::cancel_response(data);
    let _ = k::api_error(400, data);
});
