//! Polymarket CLOB and Gamma bodies (including Gamma's stringified arrays).
#![no_main]

use libfuzzer_sys::fuzz_target;
use orion_exchanges::polymarket::types as p;

fuzz_target!(|data: &[u8]| {
    let _ = p::book(data);
    let _ = p::books(data);
    let _ = p::markets_page(data);
    let _ = p::clob_market(data);
    let _ = p::clob_resolution(data);
    let _ = p::market_info(data);
    let _ = p::neg_risk(data);
    let _ = p::tick_size(data);
    let _ = p::version(data);
    let _ = p::api_credentials(data);
    let _ = p::gamma_markets(data);
    let _ = p::gamma_market(data);
    let _ = p::post_order_response(data);
    let _ = p::data_order(data);
    let _ = p::cancel_response(data);
    let _ = p::balance_micros(data);
    let _ = p::api_error(400, data);
});
