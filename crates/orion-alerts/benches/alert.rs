//! The cost of `Alerter::alert()` on the paths a storm takes: a repeat
//! folded into an open window, and an alert dropped over budget. Neither
//! touches the network (the window's first message goes to a closed
//! loopback port and fails in the background).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use orion_alerts::{AlertSecrets, BuildOptions};
use orion_core::{Alert, Alerter, Clock, Severity, SimulatedClock, Timestamp};

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let _guard = runtime.enter();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = orion_config::Config::parse(
        "[alerts]\nwebhook_enabled = true\nmax_per_minute = 5\ncoalesce_window_s = 86400\n",
        "bench",
    )
    .unwrap()
    .alerts;
    let secrets = AlertSecrets {
        webhook_url: format!("http://{closed}/hook"),
        ..AlertSecrets::default()
    };
    let clock = SimulatedClock::new(Timestamp::from_secs(1_790_000_000));
    let alerts = orion_alerts::build(
        &config,
        &secrets,
        Arc::new(clock.clone()),
        BuildOptions::default(),
    )
    .unwrap();
    // The webhook channel alone first.
    let channel = alerts.webhook.clone().unwrap();
    let alert = |key: String| Alert {
        severity: Severity::Warning,
        key,
        message: "kalshi book for KXFED-26DEC-T4.00 not updated for 31 s".into(),
        at: clock.now(),
    };

    let mut group = c.benchmark_group("alert");
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("coalesced_repeat", |b| {
        b.iter(|| channel.alert(alert("feed.stale".into())));
    });
    // Log lane + webhook channel, as the engine calls it.
    let fan_out = alerts.alerter.clone();
    group.bench_function("fan_out_coalesced_repeat", |b| {
        b.iter(|| fan_out.alert(alert("feed.stale.fan".into())));
    });
    let mut n = 0u64;
    group.bench_function("dropped_over_budget", |b| {
        b.iter(|| {
            n += 1;
            channel.alert(alert(format!("pair.{n}")));
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
