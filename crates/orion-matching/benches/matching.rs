//! Matching two generated 10,000-market catalogs (target: under 2 s on 2 cores).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use orion_matching::matching::features::{kalshi_features, poly_features};
use orion_matching::matching::hardset::synthetic_catalogs;
use orion_matching::matching::{
    MatchConfig, match_catalogs, parse_kalshi_markets, parse_polymarket_markets,
};

fn bench_matching(c: &mut Criterion) {
    let g = synthetic_catalogs(10_000, 7);
    let kalshi = parse_kalshi_markets(&g.kalshi_json).unwrap_or_default();
    let poly = parse_polymarket_markets(&g.polymarket_json).unwrap_or_default();
    assert_eq!(
        (kalshi.len(), poly.len()),
        (10_000, 10_000),
        "catalog sizes"
    );
    let cfg = MatchConfig::default();
    let mut group = c.benchmark_group("matching");
    group.sample_size(10);
    group.bench_function("match_10k_x_10k", |b| {
        b.iter(|| black_box(match_catalogs(black_box(&kalshi), black_box(&poly), &cfg)));
    });
    let one = MatchConfig {
        threads: 1,
        ..MatchConfig::default()
    };
    group.bench_function("match_10k_x_10k_one_thread", |b| {
        b.iter(|| black_box(match_catalogs(black_box(&kalshi), black_box(&poly), &one)));
    });
    group.bench_function("features_only_10k_x_10k_one_thread", |b| {
        b.iter(|| {
            let k: Vec<_> = kalshi.iter().map(kalshi_features).collect();
            let p: Vec<_> = poly.iter().map(poly_features).collect();
            black_box((k, p))
        });
    });
    group.finish();
}

criterion_group!(benches, bench_matching);
criterion_main!(benches);
