//! Signing costs on the order path: Polymarket EIP-712 order signing
//! (amounts, struct hash, digest, ECDSA, body), L2 HMAC headers, and Kalshi
//! RSA-PSS request signing. Keys are the public test keys of the fixtures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use orion_core::{Price, Quantity, Side, TickSize};
use orion_exchanges::kalshi::KalshiSigner;
use orion_exchanges::polymarket::{
    ApiCredentials, B256, Chain, ExchangeDomain, OrderParams, OrderType, PolymarketWallet,
    PostOrderOptions, SignatureType, U256, l2_headers, limit_order_amounts, post_order_body,
};

const TEST_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const TOKEN: &str = "71321045679252212594626385532706912750332728571942532289631379312455583992563";

fn polymarket(c: &mut Criterion) {
    let wallet = PolymarketWallet::from_hex(TEST_KEY).unwrap();
    let domain = ExchangeDomain::v2(Chain::Polygon, false);
    let token_id = U256::from_dec_str(TOKEN).unwrap();
    let price = Price::parse("0.56").unwrap();
    let size = Quantity::parse("21.04").unwrap();
    let options = PostOrderOptions::new(OrderType::Fok);
    let mut salt = 0u64;
    let mut build = || {
        salt += 1;
        OrderParams {
            token_id,
            side: Side::Buy,
            amounts: limit_order_amounts(Side::Buy, price, size, TickSize::Hundredth).unwrap(),
            signature_type: SignatureType::Eoa,
            funder: None,
            salt,
            timestamp_ms: 1_710_000_000_000,
            metadata: B256::ZERO,
            builder: B256::ZERO,
        }
        .build(wallet.address())
        .unwrap()
    };

    let order = build();
    c.bench_function("polymarket/order_struct_hash+digest", |b| {
        b.iter(|| black_box(&order).digest(black_box(&domain)))
    });
    c.bench_function("polymarket/eip712_order_sign", |b| {
        b.iter(|| black_box(build()).sign(&wallet, &domain, 0).unwrap())
    });
    c.bench_function("polymarket/order_sign+post_body", |b| {
        b.iter(|| {
            let signed = build().sign(&wallet, &domain, 0).unwrap();
            post_order_body(&signed, "00000000-0000-0000-0000-000000000000", &options).unwrap()
        })
    });

    let creds = ApiCredentials::new(
        "00000000-0000-0000-0000-000000000000",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "passphrase",
    )
    .unwrap();
    let signed = build().sign(&wallet, &domain, 0).unwrap();
    let body = post_order_body(&signed, "00000000-0000-0000-0000-000000000000", &options).unwrap();
    c.bench_function("polymarket/l2_hmac_headers_post_order", |b| {
        b.iter(|| {
            l2_headers(
                &creds,
                wallet.address(),
                1_710_000_000,
                "POST",
                "/order",
                Some(black_box(&body)),
            )
            .unwrap()
        })
    });
}

fn kalshi(c: &mut Criterion) {
    let pem = include_str!("../tests/fixtures/kalshi_test_key_pkcs1.pem");
    let signer =
        KalshiSigner::from_pem("a952bcbe-ec3b-4b5b-b8f9-11dae589608c", pem.as_bytes()).unwrap();
    c.bench_function("kalshi/rsa_pss_sign_request", |b| {
        b.iter(|| {
            signer
                .sign(
                    black_box(1_703_123_456_789),
                    "POST",
                    "/trade-api/v2/portfolio/events/orders",
                )
                .unwrap()
        })
    });
}

criterion_group!(benches, polymarket, kalshi);
criterion_main!(benches);
