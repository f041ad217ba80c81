#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Alerts against fake Telegram and webhook servers on 127.0.0.1: storms,
//! budgets, coalescing, the error lane, Telegram's 429, the webhook body,
//! the command loop (chat check, offsets, stale backlog) and secrecy of the
//! bot token.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use orion_alerts::http::HttpClient;
use orion_alerts::{
    AlertSecrets, Alerts, BotToken, BuildOptions, CommandSettings, DeliverySettings, EngineControl,
    EngineStatus, TelegramApi, run_commands,
};
use orion_config::{AlertsConfig, Config};
use orion_core::{Alert, Alerter, Clock, Severity, SimulatedClock, Timestamp};
use orion_decision::Control;
use serde_json::{Value, json};
use tokio::sync::watch;

// ------------------------------------------------------------ log capture

fn log_buffer() -> &'static Mutex<Vec<u8>> {
    static BUF: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    BUF.get_or_init(|| Mutex::new(Vec::new()))
}

struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        log_buffer().lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every test's logs (all threads) go to one buffer, checked for secrets.
fn capture_logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_writer(|| LogWriter)
            .with_ansi(false)
            .try_init();
    });
}

fn logs() -> String {
    String::from_utf8_lossy(&log_buffer().lock().unwrap()).into_owned()
}

/// Every token in this file contains this, so one search covers them all.
const SECRET_PART: &str = "SeCrEtPaRt";

fn token(n: u32) -> String {
    format!("{n}:{SECRET_PART}{n}xyz")
}

// ------------------------------------------------------------ fake servers

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    body: Value,
    at: Instant,
    /// The simulated clock when the request was answered.
    sim: Timestamp,
}

#[derive(Default)]
struct Fake {
    clock: SimulatedClock,
    seen: Mutex<Vec<Seen>>,
    entered: AtomicUsize,
    /// Requests (sendMessage to this chat, or any webhook post) wait while
    /// the gate is closed (`false`).
    gate: Option<watch::Sender<bool>>,
    stall_chat: Option<String>,
    /// Answer this many sendMessage calls with 429 retry_after = 1 s.
    rate_limited: AtomicU32,
    /// Answer this many calls with 500.
    server_errors: AtomicU32,
    /// Answer getUpdates with 401 and a description quoting the URL path.
    unauthorized: bool,
    updates: Mutex<Vec<Value>>,
    confirmed: AtomicI64,
    ignore_offsets: bool,
}

impl Fake {
    fn new(clock: &SimulatedClock) -> Fake {
        Fake {
            clock: clock.clone(),
            ..Fake::default()
        }
    }

    fn stalled(mut self, chat: Option<&str>) -> Fake {
        let (tx, _) = watch::channel(false);
        self.gate = Some(tx);
        self.stall_chat = chat.map(str::to_string);
        self
    }

    fn open_gate(&self) {
        if let Some(g) = &self.gate {
            g.send_replace(true);
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn messages(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.method == "sendMessage" || s.method == "webhook")
            .collect()
    }

    fn messages_to(&self, chat: &str) -> Vec<Seen> {
        self.messages()
            .into_iter()
            .filter(|s| chat_of(&s.body) == chat)
            .collect()
    }

    fn push_update(&self, id: i64, chat: i64, text: &str, date: i64) {
        self.updates.lock().unwrap().push(json!({
            "update_id": id,
            "message": {
                "message_id": id,
                "date": date,
                "chat": { "id": chat, "type": "private" },
                "text": text,
            }
        }));
    }

    async fn wait_gate(&self, body: &Value) {
        let Some(gate) = &self.gate else { return };
        if let Some(chat) = &self.stall_chat
            && chat_of(body) != *chat
        {
            return;
        }
        let mut rx = gate.subscribe();
        let _ = rx.wait_for(|open| *open).await;
    }

    fn record(&self, method: &str, body: Value) {
        self.seen.lock().unwrap().push(Seen {
            method: method.to_string(),
            body,
            at: Instant::now(),
            sim: self.clock.now(),
        });
    }
}

fn chat_of(body: &Value) -> String {
    match &body["chat_id"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

fn text_of(s: &Seen) -> String {
    s.body["text"].as_str().unwrap_or_default().to_string()
}

fn take(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
        .is_ok()
}

async fn telegram_handler(
    State(fake): State<Arc<Fake>>,
    uri: Uri,
    Json(body): Json<Value>,
) -> Response {
    fake.entered.fetch_add(1, Ordering::AcqRel);
    let method = uri
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    if take(&fake.server_errors) {
        fake.record(&method, body);
        return (
            StatusCode::BAD_GATEWAY,
            Json(json!({"ok": false, "error_code": 502, "description": "Bad Gateway"})),
        )
            .into_response();
    }
    match method.as_str() {
        "sendMessage" => {
            fake.wait_gate(&body).await;
            fake.record(&method, body);
            if take(&fake.rate_limited) {
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    Json(json!({
                        "ok": false,
                        "error_code": 429,
                        "description": "Too Many Requests: retry after 1",
                        "parameters": { "retry_after": 1 }
                    })),
                )
                    .into_response();
            }
            Json(json!({"ok": true, "result": {"message_id": 1}})).into_response()
        }
        "getUpdates" => {
            fake.record(&method, body.clone());
            if fake.unauthorized {
                // A hostile or buggy server echoing the request path.
                let description = format!("Unauthorized: {}", uri.path());
                return (
                    StatusCode::UNAUTHORIZED,
                    Json(json!({"ok": false, "error_code": 401, "description": description})),
                )
                    .into_response();
            }
            if !fake.ignore_offsets
                && let Some(offset) = body["offset"].as_i64()
            {
                fake.confirmed.fetch_max(offset, Ordering::AcqRel);
            }
            let pending = || -> Vec<Value> {
                let confirmed = fake.confirmed.load(Ordering::Acquire);
                fake.updates
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|u| {
                        fake.ignore_offsets || u["update_id"].as_i64().unwrap() >= confirmed
                    })
                    .cloned()
                    .collect()
            };
            let mut result = pending();
            if result.is_empty() && body["timeout"].as_u64().unwrap_or(0) > 0 {
                // A short long-poll keeps the tests quick.
                tokio::time::sleep(Duration::from_millis(50)).await;
                result = pending();
            }
            Json(json!({"ok": true, "result": result})).into_response()
        }
        _ => (
            StatusCode::NOT_FOUND,
            Json(json!({"ok": false, "description": "Not Found"})),
        )
            .into_response(),
    }
}

async fn webhook_handler(
    State(fake): State<Arc<Fake>>,
    uri: Uri,
    Json(body): Json<Value>,
) -> Response {
    fake.entered.fetch_add(1, Ordering::AcqRel);
    fake.wait_gate(&body).await;
    let mut body = body;
    // Remember which URL it came to (normal or error) in the record.
    body["chat_id"] = json!(uri.path());
    fake.record("webhook", body);
    if take(&fake.rate_limited) {
        return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")]).into_response();
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn serve(fake: Arc<Fake>, webhook: bool) -> SocketAddr {
    let app = if webhook {
        axum::Router::new()
            .fallback(webhook_handler)
            .with_state(fake)
    } else {
        axum::Router::new()
            .fallback(telegram_handler)
            .with_state(fake)
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

// ------------------------------------------------------------ helpers

fn alerts_config(extra: &str) -> AlertsConfig {
    let text = format!("[alerts]\n{extra}\n");
    Config::parse(&text, "test")
        .unwrap_or_else(|e| panic!("{e}"))
        .alerts
}

fn fast_delivery() -> BuildOptions {
    BuildOptions {
        delivery: DeliverySettings {
            queue: 64,
            max_attempts: 3,
            backoff_base: Duration::from_millis(10),
            backoff_max: Duration::from_millis(50),
            max_retry_after: Duration::from_secs(5),
            tick: Duration::from_millis(10),
        },
    }
}

fn alert(severity: Severity, key: &str, message: &str, clock: &SimulatedClock) -> Alert {
    Alert {
        severity,
        key: key.to_string(),
        message: message.to_string(),
        at: clock.now(),
    }
}

async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..2_000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("gave up waiting for {what}");
}

/// Lets background tasks run for a moment (used only before asserting that
/// nothing *more* happened; a too-short wait can only hide a failure, never
/// cause a false one).
async fn settle() {
    tokio::time::sleep(Duration::from_millis(200)).await;
}

fn start_clock() -> SimulatedClock {
    SimulatedClock::new(Timestamp::from_secs(1_790_000_000))
}

/// Most messages within any 60 s of simulated time.
fn busiest_minute(seen: &[Seen]) -> usize {
    let mut times: Vec<Timestamp> = seen.iter().map(|s| s.sim).collect();
    times.sort();
    (0..times.len())
        .map(|i| {
            times[i..]
                .iter()
                .take_while(|t| t.since(times[i]) < Duration::from_secs(60))
                .count()
        })
        .max()
        .unwrap_or(0)
}

fn telegram_alerts(
    addr: SocketAddr,
    extra: &str,
    secrets: AlertSecrets,
    clock: &SimulatedClock,
) -> Alerts {
    let config = alerts_config(&format!(
        "telegram_enabled = true\ntelegram_api_url = \"http://{addr}\"\n{extra}"
    ));
    orion_alerts::build(&config, &secrets, Arc::new(clock.clone()), fast_delivery()).unwrap()
}

fn tg_secrets(n: u32, chat: &str) -> AlertSecrets {
    AlertSecrets {
        telegram_token: token(n),
        telegram_chat_id: chat.to_string(),
        ..AlertSecrets::default()
    }
}

// ------------------------------------------------------------ storms

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storm_never_blocks_is_coalesced_and_stays_within_budget() {
    capture_logs();
    let clock = start_clock();
    let fake = Arc::new(Fake::new(&clock).stalled(None));
    let addr = serve(fake.clone(), false).await;
    let alerts = telegram_alerts(
        addr,
        "coalesce_window_s = 60\nmax_per_minute = 5",
        tg_secrets(1, "42"),
        &clock,
    );
    let alerter = alerts.alerter.clone();

    // 10,000 alerts over 3 keys while the server answers nothing.
    let storm_clock = clock.clone();
    let storm = tokio::task::spawn_blocking(move || {
        for n in 0..10_000u32 {
            let key = format!("feed.k{}", n % 3);
            alerter.alert(alert(
                Severity::Info,
                &key,
                &format!("event {n}"),
                &storm_clock,
            ));
        }
    });
    tokio::time::timeout(Duration::from_secs(60), storm)
        .await
        .expect("alert() must return while the server is stalled")
        .unwrap();
    assert!(fake.seen().is_empty(), "nothing can have been answered yet");
    assert!(
        fake.entered.load(Ordering::Acquire) <= 1,
        "one request at most is in flight"
    );

    fake.open_gate();
    eventually("the three first alerts", || fake.messages().len() >= 3).await;
    settle().await;
    let first: Vec<String> = fake.messages().iter().map(text_of).collect();
    assert_eq!(first.len(), 3, "{first:?}");
    for k in 0..3 {
        assert!(
            first
                .iter()
                .any(|t| t.starts_with(&format!("[INFO] feed.k{k}\nevent {k}\n"))),
            "{first:?}"
        );
    }

    // The window closes: one summary per key with the exact repeat counts.
    clock.advance(Duration::from_secs(60));
    eventually("three summaries", || fake.messages().len() >= 6).await;
    settle().await;
    let all: Vec<String> = fake.messages().iter().map(text_of).collect();
    assert_eq!(all.len(), 6, "{all:?}");
    for (k, more) in [(0, 3_333), (1, 3_332), (2, 3_332)] {
        assert!(
            all[3..].iter().any(|t| t.starts_with(&format!(
                "[INFO] feed.k{k}\n{more} more like this within 60 s"
            ))),
            "k{k} should report {more} more: {all:?}"
        );
    }

    // Distinct keys: the budget (5 a minute) holds and drops are noted once.
    clock.advance(Duration::from_secs(60));
    for n in 0..100 {
        alerts.alerter.alert(alert(
            Severity::Warning,
            &format!("pair.{n}"),
            "stale",
            &clock,
        ));
    }
    eventually("five of the hundred", || fake.messages().len() >= 11).await;
    settle().await;
    assert_eq!(fake.messages().len(), 11);
    clock.advance(Duration::from_secs(59));
    settle().await;
    assert_eq!(fake.messages().len(), 11, "no budget before a full minute");
    clock.advance(Duration::from_secs(1));
    eventually("the drop note", || fake.messages().len() >= 12).await;
    let note = text_of(&fake.messages()[11]);
    assert!(note.contains("95 alerts dropped"), "{note}");

    assert!(busiest_minute(&fake.messages()) <= 5, "budget exceeded");
    let (normal, error) = alerts.telegram.as_ref().unwrap().counts();
    assert_eq!(normal.sent, 12);
    assert_eq!(normal.coalesced, 9_997);
    assert_eq!(normal.dropped, 95);
    assert_eq!(error.sent, 0);
    assert!(!logs().contains(SECRET_PART));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn critical_alert_goes_out_during_an_info_storm() {
    capture_logs();
    let clock = start_clock();
    // Telegram: the normal chat is stalled; critical alerts have their own
    // chat. Webhook: one URL for both lanes, the normal budget exhausted.
    let tg = Arc::new(Fake::new(&clock).stalled(Some("42")));
    let tg_addr = serve(tg.clone(), false).await;
    let hook = Arc::new(Fake::new(&clock));
    let hook_addr = serve(hook.clone(), true).await;
    let config = alerts_config(&format!(
        "telegram_enabled = true\ntelegram_api_url = \"http://{tg_addr}\"\n\
         telegram_error_chat_id_secret = \"telegram.errors\"\n\
         webhook_enabled = true\nmax_per_minute = 3"
    ));
    let secrets = AlertSecrets {
        telegram_token: token(2),
        telegram_chat_id: "42".into(),
        telegram_error_chat_id: Some("-100777".into()),
        webhook_url: format!("http://{hook_addr}/hook"),
        webhook_error_url: None,
    };
    let alerts =
        orion_alerts::build(&config, &secrets, Arc::new(clock.clone()), fast_delivery()).unwrap();
    for n in 0..1_000 {
        alerts.alerter.alert(alert(
            Severity::Info,
            &format!("noise.{n}"),
            "noise",
            &clock,
        ));
    }
    eventually("the webhook's normal budget", || hook.messages().len() >= 3).await;
    alerts.alerter.alert(alert(
        Severity::Critical,
        "breaker.tripped",
        "daily loss limit",
        &clock,
    ));

    eventually("the critical alert on Telegram", || {
        !tg.messages_to("-100777").is_empty()
    })
    .await;
    let text = text_of(&tg.messages_to("-100777")[0]);
    assert!(
        text.starts_with("[CRITICAL] breaker.tripped\ndaily loss limit"),
        "{text}"
    );
    assert!(
        tg.messages_to("42").is_empty(),
        "the normal chat is still stalled"
    );

    eventually("the critical alert on the webhook", || {
        hook.messages().len() >= 4
    })
    .await;
    settle().await;
    let bodies: Vec<Value> = hook.messages().into_iter().map(|s| s.body).collect();
    assert_eq!(bodies.len(), 4, "{bodies:?}");
    assert_eq!(bodies.iter().filter(|b| b["severity"] == "info").count(), 3);
    assert!(
        bodies
            .iter()
            .any(|b| b["severity"] == "critical" && b["key"] == "breaker.tripped")
    );
    let (normal, error) = alerts.webhook.as_ref().unwrap().counts();
    assert_eq!((normal.sent, normal.dropped), (3, 997));
    assert_eq!((error.sent, error.dropped), (1, 0));
    tg.open_gate();
}

// ------------------------------------------------------------ delivery

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_429_retry_after_is_honoured() {
    capture_logs();
    let clock = start_clock();
    let fake = Arc::new(Fake::new(&clock));
    fake.rate_limited.store(1, Ordering::Release);
    let addr = serve(fake.clone(), false).await;
    let alerts = telegram_alerts(addr, "", tg_secrets(3, "42"), &clock);
    alerts
        .alerter
        .alert(alert(Severity::Warning, "k", "hello", &clock));
    eventually("the retry", || fake.messages().len() >= 2).await;
    let seen = fake.messages();
    // Backoff in this test is 10 ms: only retry_after explains a 1 s gap.
    assert!(
        seen[1].at.duration_since(seen[0].at) >= Duration::from_secs(1),
        "retried after {:?}",
        seen[1].at.duration_since(seen[0].at)
    );
    eventually("the count", || {
        alerts.telegram.as_ref().unwrap().counts().0.sent == 1
    })
    .await;
    settle().await;
    assert_eq!(fake.messages().len(), 2);
    assert_eq!(alerts.telegram.as_ref().unwrap().counts().0.failed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_429_retry_after_header_is_honoured() {
    capture_logs();
    let clock = start_clock();
    let hook = Arc::new(Fake::new(&clock));
    hook.rate_limited.store(1, Ordering::Release);
    let addr = serve(hook.clone(), true).await;
    let config = alerts_config("webhook_enabled = true");
    let secrets = AlertSecrets {
        webhook_url: format!("http://{addr}/hook"),
        ..AlertSecrets::default()
    };
    let alerts =
        orion_alerts::build(&config, &secrets, Arc::new(clock.clone()), fast_delivery()).unwrap();
    alerts
        .alerter
        .alert(alert(Severity::Info, "k", "m", &clock));
    eventually("the retry", || hook.messages().len() >= 2).await;
    let seen = hook.messages();
    // Backoff here is 10 ms: only Retry-After explains a 1 s gap.
    let gap = seen[1].at.duration_since(seen[0].at);
    assert!(gap >= Duration::from_secs(1), "retried after {gap:?}");
    eventually("the count", || {
        alerts.webhook.as_ref().unwrap().counts().0.sent == 1
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_then_given_up() {
    capture_logs();
    let clock = start_clock();
    let fake = Arc::new(Fake::new(&clock));
    fake.server_errors.store(1, Ordering::Release);
    let addr = serve(fake.clone(), false).await;
    let alerts = telegram_alerts(addr, "", tg_secrets(4, "42"), &clock);
    alerts
        .alerter
        .alert(alert(Severity::Info, "once", "after one 502", &clock));
    eventually("delivery after a 502", || {
        alerts.telegram.as_ref().unwrap().counts().0.sent == 1
    })
    .await;
    assert_eq!(fake.seen().len(), 2);

    // Three attempts (max_attempts in these tests), then counted as failed.
    fake.server_errors.store(100, Ordering::Release);
    alerts
        .alerter
        .alert(alert(Severity::Info, "never", "always 502", &clock));
    eventually("the give-up", || {
        alerts.telegram.as_ref().unwrap().counts().0.failed == 1
    })
    .await;
    assert_eq!(fake.seen().len(), 5);
    assert!(logs().contains("alert not delivered"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_body_has_the_documented_shape() {
    capture_logs();
    let clock = start_clock();
    let hook = Arc::new(Fake::new(&clock));
    let addr = serve(hook.clone(), true).await;
    let config = alerts_config("webhook_enabled = true\ncoalesce_window_s = 30");
    let secrets = AlertSecrets {
        webhook_url: format!("http://{addr}/hook"),
        webhook_error_url: Some(format!("http://{addr}/errors")),
        ..AlertSecrets::default()
    };
    let alerts =
        orion_alerts::build(&config, &secrets, Arc::new(clock.clone()), fast_delivery()).unwrap();
    let at = clock.now();
    alerts.alerter.alert(alert(
        Severity::Warning,
        "feed.stale",
        "kalshi quiet for 30 s",
        &clock,
    ));
    for _ in 0..4 {
        alerts.alerter.alert(alert(
            Severity::Warning,
            "feed.stale",
            "kalshi quiet for 31 s",
            &clock,
        ));
    }
    alerts.alerter.alert(alert(
        Severity::Critical,
        "leg.naked",
        "unwind failed",
        &clock,
    ));
    eventually("two posts", || hook.messages().len() >= 2).await;
    let first = hook
        .messages()
        .into_iter()
        .find(|s| s.body["key"] == "feed.stale")
        .unwrap()
        .body;
    let mut fields: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["at", "chat_id", "count", "key", "message", "severity"]
    ); // chat_id: the fake's note of the path
    assert_eq!(first["severity"], "warning");
    assert_eq!(first["message"], "kalshi quiet for 30 s");
    assert_eq!(first["count"], 1);
    assert_eq!(first["at"], at.to_string());
    assert!(
        first["at"].as_str().unwrap().ends_with('Z') && first["at"].as_str().unwrap().contains('T')
    );
    assert_eq!(first["chat_id"], "/hook");
    let critical = hook
        .messages()
        .into_iter()
        .find(|s| s.body["key"] == "leg.naked")
        .unwrap()
        .body;
    assert_eq!(
        critical["chat_id"], "/errors",
        "critical alerts go to the error URL"
    );
    assert_eq!(critical["severity"], "critical");

    clock.advance(Duration::from_secs(30));
    eventually("the summary", || hook.messages().len() >= 3).await;
    let summary = hook.messages()[2].body.clone();
    assert_eq!(summary["key"], "feed.stale");
    assert_eq!(summary["count"], 4);
    assert!(
        summary["message"]
            .as_str()
            .unwrap()
            .starts_with("4 more like this"),
        "{summary}"
    );
}

// ------------------------------------------------------------ commands

#[derive(Default)]
struct FakeEngine {
    controls: Mutex<Vec<Control>>,
}

#[async_trait]
impl EngineControl for FakeEngine {
    async fn control(&self, control: Control) {
        self.controls.lock().unwrap().push(control);
    }

    fn status(&self) -> EngineStatus {
        EngineStatus {
            ready: false,
            breaker: "closed".into(),
            failing_checks: vec!["kalshi_reachable".into()],
            counters: vec![("opportunities".into(), 7), ("executions".into(), 2)],
        }
    }
}

impl FakeEngine {
    fn controls(&self) -> Vec<Control> {
        self.controls.lock().unwrap().clone()
    }
}

struct Loop {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Loop {
    async fn stop(self) {
        self.stop.send_replace(true);
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .unwrap()
            .unwrap();
    }
}

fn start_loop(addr: SocketAddr, n: u32, engine: Arc<FakeEngine>, clock: &SimulatedClock) -> Loop {
    let api = TelegramApi::new(
        HttpClient::new().unwrap(),
        &format!("http://{addr}"),
        BotToken::new(&token(n)).unwrap(),
        Duration::from_secs(5),
    )
    .unwrap();
    let mut settings = CommandSettings::new(42, "dry-run");
    settings.poll = Duration::from_secs(1);
    settings.error_backoff = Duration::from_millis(20);
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(run_commands(
        api,
        engine,
        Arc::new(clock.clone()),
        settings,
        rx,
    ));
    Loop { stop, task }
}

fn replies(fake: &Fake) -> Vec<String> {
    fake.messages_to("42").iter().map(text_of).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_from_the_configured_chat_control_the_engine() {
    capture_logs();
    let clock = start_clock();
    let fake = Arc::new(Fake::new(&clock));
    let now = clock.now().secs();
    fake.push_update(1, 42, "/status", now);
    fake.push_update(2, 42, "/pause", now);
    fake.push_update(3, 42, "/resume@orion_bot", now);
    fake.push_update(4, 42, "/halt spreads look wrong", now);
    fake.push_update(5, 42, "/halt", now);
    let addr = serve(fake.clone(), false).await;
    let engine = Arc::new(FakeEngine::default());
    let commands = start_loop(addr, 5, engine.clone(), &clock);
    eventually("five replies", || replies(&fake).len() >= 5).await;
    assert_eq!(
        engine.controls(),
        [
            Control::Pause,
            Control::Resume,
            Control::Halt {
                reason: "telegram: spreads look wrong".into()
            },
            Control::Halt {
                reason: "telegram".into()
            },
        ]
    );
    let r = replies(&fake);
    assert!(
        r[0].contains("mode: dry-run") && r[0].contains("breaker: closed"),
        "{}",
        r[0]
    );
    assert!(
        r[0].contains("ready: no (kalshi_reachable)") && r[0].contains("opportunities: 7"),
        "{}",
        r[0]
    );
    assert!(r[1].starts_with("Paused"), "{}", r[1]);
    assert!(r[2].starts_with("Resumed"), "{}", r[2]);
    assert!(r[3].contains("spreads look wrong"), "{}", r[3]);
    assert!(r[4].starts_with("Halted (telegram)"), "{}", r[4]);

    // A command arriving while the loop long-polls.
    fake.push_update(6, 42, "/pause", clock.now().secs());
    eventually("the sixth reply", || replies(&fake).len() >= 6).await;
    assert_eq!(engine.controls().len(), 5);
    commands.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_from_another_chat_are_ignored() {
    capture_logs();
    let clock = start_clock();
    let fake = Arc::new(Fake::new(&clock));
    let now = clock.now().secs();
    fake.push_update(1, 99, "/halt intruder", now);
    fake.push_update(2, 99, "/status", now);
    fake.push_update(3, 42, "/status", now);
    let addr = serve(fake.clone(), false).await;
    let engine = Arc::new(FakeEngine::default());
    let commands = start_loop(addr, 6, engine.clone(), &clock);
    eventually("the configured chat's reply", || !replies(&fake).is_empty()).await;
    settle().await;
    assert!(engine.controls().is_empty(), "{:?}", engine.controls());
    assert_eq!(
        fake.messages().len(),
        1,
        "only the configured chat gets an answer"
    );
    assert!(fake.messages_to("99").is_empty());
    assert!(logs().contains("chat_id=99"), "the intruder is logged");
    commands.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_is_never_applied_twice() {
    capture_logs();
    let clock = start_clock();

    // A server that ignores offsets and repeats the same update forever.
    let repeating = Arc::new(Fake {
        ignore_offsets: true,
        ..Fake::new(&clock)
    });
    repeating.push_update(10, 42, "/pause", clock.now().secs());
    let addr = serve(repeating.clone(), false).await;
    let engine = Arc::new(FakeEngine::default());
    let commands = start_loop(addr, 7, engine.clone(), &clock);
    eventually("many polls", || {
        repeating
            .seen()
            .iter()
            .filter(|s| s.method == "getUpdates")
            .count()
            >= 6
    })
    .await;
    commands.stop().await;
    assert_eq!(engine.controls(), [Control::Pause]);

    // A restart: the second loop must not see what the first applied.
    let fake = Arc::new(Fake::new(&clock));
    fake.push_update(7, 42, "/halt", clock.now().secs());
    let addr = serve(fake.clone(), false).await;
    let engine = Arc::new(FakeEngine::default());
    let first = start_loop(addr, 8, engine.clone(), &clock);
    eventually("the halt", || !engine.controls().is_empty()).await;
    eventually("the halt's reply", || !replies(&fake).is_empty()).await;
    first.stop().await;
    // Confirmed (offset 8) before it was applied and answered.
    let seen = fake.seen();
    let confirm = seen
        .iter()
        .position(|s| s.method == "getUpdates" && s.body["offset"].as_i64() == Some(8))
        .expect("a confirming getUpdates");
    let reply = seen.iter().position(|s| s.method == "sendMessage").unwrap();
    assert!(confirm < reply, "confirmed before applying");

    let second = start_loop(addr, 8, engine.clone(), &clock);
    fake.push_update(8, 42, "/resume", clock.now().secs());
    eventually("the resume", || engine.controls().len() >= 2).await;
    settle().await;
    second.stop().await;
    assert_eq!(
        engine.controls(),
        [
            Control::Halt {
                reason: "telegram".into()
            },
            Control::Resume
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_backlog_is_skipped_at_start_up() {
    capture_logs();
    let clock = start_clock();
    let fake = Arc::new(Fake::new(&clock));
    let now = clock.now().secs();
    fake.push_update(1, 42, "/resume", now - 3_600);
    fake.push_update(2, 42, "/pause", now - 61);
    fake.push_update(3, 42, "/status", now - 5);
    let addr = serve(fake.clone(), false).await;
    let engine = Arc::new(FakeEngine::default());
    let commands = start_loop(addr, 9, engine.clone(), &clock);
    eventually("three replies", || replies(&fake).len() >= 3).await;
    commands.stop().await;
    assert!(engine.controls().is_empty(), "{:?}", engine.controls());
    let r = replies(&fake);
    assert!(
        r[0].starts_with("Ignored Resume: sent 3600 s ago"),
        "{}",
        r[0]
    );
    assert!(r[1].starts_with("Ignored Pause"), "{}", r[1]);
    assert!(r[2].contains("mode: dry-run"), "{}", r[2]);
}

// ------------------------------------------------------------ secrecy

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bot_token_never_appears_in_logs_errors_or_debug() {
    capture_logs();
    let clock = start_clock();
    let fake = Arc::new(Fake {
        unauthorized: true,
        ..Fake::new(&clock)
    });
    fake.server_errors.store(1_000, Ordering::Release);
    let addr = serve(fake.clone(), false).await;
    let alerts = telegram_alerts(addr, "", tg_secrets(10, "42"), &clock);

    let debug = format!("{alerts:?} {:?}", tg_secrets(10, "42"));
    assert!(
        debug.contains("***") && !debug.contains(SECRET_PART),
        "{debug}"
    );

    // Delivery failures (502, then give-up) are logged without the token.
    alerts
        .alerter
        .alert(alert(Severity::Critical, "k", "m", &clock));
    eventually("the give-up", || {
        alerts.telegram.as_ref().unwrap().counts().1.failed == 1
    })
    .await;

    // getUpdates answers 401 quoting the URL path, token included.
    fake.server_errors.store(0, Ordering::Release);
    let engine = Arc::new(FakeEngine::default());
    let commands = start_loop(addr, 11, engine, &clock);
    eventually("a logged poll failure", || {
        logs().contains("getUpdates failed")
    })
    .await;
    commands.stop().await;

    // A server that is not there: transport errors.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let api = TelegramApi::new(
        HttpClient::new().unwrap(),
        &format!("http://{closed}"),
        BotToken::new(&token(12)).unwrap(),
        Duration::from_secs(2),
    )
    .unwrap();
    let err = api.send_message("42", "x").await.unwrap_err();
    let shown = format!("{err} {err:?} {api:?}");
    assert!(!shown.contains(SECRET_PART), "{shown}");

    // Bad configuration errors do not echo the token either.
    let bad = AlertSecrets {
        telegram_token: format!("{SECRET_PART}/oops"),
        telegram_chat_id: "42".into(),
        ..AlertSecrets::default()
    };
    let config = alerts_config(&format!(
        "telegram_enabled = true\ntelegram_api_url = \"http://{addr}\""
    ));
    let err =
        orion_alerts::build(&config, &bad, Arc::new(clock.clone()), fast_delivery()).unwrap_err();
    assert!(!format!("{err} {err:?}").contains(SECRET_PART));

    let logs = logs();
    assert!(logs.contains("alert not delivered"), "failures are logged");
    assert!(
        logs.contains("Unauthorized: /bot***/getUpdates"),
        "masked, not removed"
    );
    assert!(!logs.contains(SECRET_PART), "a token leaked into the logs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_a_remote_host_is_refused() {
    let clock = start_clock();
    let config =
        alerts_config("telegram_enabled = true\ntelegram_api_url = \"http://example.invalid\"");
    let err = orion_alerts::build(
        &config,
        &tg_secrets(13, "42"),
        Arc::new(clock.clone()),
        fast_delivery(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("plain http://"), "{err}");
    let config = alerts_config("webhook_enabled = true");
    let secrets = AlertSecrets {
        webhook_url: "http://example.invalid/hook".into(),
        ..AlertSecrets::default()
    };
    let err = orion_alerts::build(&config, &secrets, Arc::new(clock), fast_delivery()).unwrap_err();
    assert!(err.to_string().contains("plain http://"), "{err}");
}

#[test]
fn secrets_are_read_only_for_enabled_channels() {
    let config =
        alerts_config("telegram_enabled = true\nwebhook_error_url_secret = \"webhook.errors\"");
    let mut asked = Vec::new();
    let secrets = AlertSecrets::read(&config, |name| {
        asked.push(name.to_string());
        Ok(format!(" {name}\n"))
    })
    .unwrap();
    assert_eq!(asked, ["telegram.bot_token", "telegram.chat_id"]);
    assert_eq!(secrets.telegram_chat_id, "telegram.chat_id", "trimmed");
    assert!(secrets.webhook_error_url.is_none() && secrets.webhook_url.is_empty());
    let err = AlertSecrets::read(&alerts_config("webhook_enabled = true"), |_| {
        Err("not in the vault".into())
    })
    .unwrap_err();
    assert!(
        err.contains("alerts.webhook_url_secret") && err.contains("not in the vault"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_at_shutdown_reports_open_windows() {
    capture_logs();
    let clock = start_clock();
    let fake = Arc::new(Fake::new(&clock));
    let addr = serve(fake.clone(), false).await;
    let alerts = telegram_alerts(
        addr,
        "coalesce_window_s = 600",
        tg_secrets(14, "42"),
        &clock,
    );
    for n in 0..8 {
        alerts.alerter.alert(alert(
            Severity::Warning,
            "feed.stale",
            &format!("quiet {n}"),
            &clock,
        ));
    }
    eventually("the first", || fake.messages().len() == 1).await;
    // No clock movement: only the flush can close the 10-minute window.
    let unreported = alerts
        .telegram
        .as_ref()
        .unwrap()
        .flush(Duration::from_secs(10))
        .await;
    assert_eq!(unreported, 0);
    let texts: Vec<String> = fake.messages().iter().map(text_of).collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts[1].contains("7 more like this") && texts[1].contains("quiet 7"),
        "{texts:?}"
    );
}

// ------------------------------------------------------------ the real engine

/// The whole path with orion-runtime's engine against the simulator: a
/// Telegram `/status` reads the real readiness report, and `/halt` makes the
/// engine raise its critical alert, which reaches Telegram through the
/// alerter built here. Runs with the `engine` feature (on in workspace
/// builds, where orion-engine enables it).
#[cfg(feature = "engine")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_engine_obeys_telegram_and_alerts_through_it() {
    use orion_config::Mode;
    use orion_core::SystemClock;
    use orion_runtime::{Engine, EngineOptions, demo};

    capture_logs();
    let dir = tempfile::tempdir().unwrap();
    let scenario = demo::bundled_scenario(dir.path()).unwrap();
    let sim = orion_sim::Sim::start(scenario.clone()).await.unwrap();
    let mut config = demo::config_for_sim(
        &sim,
        dir.path(),
        Mode::DryRun,
        "127.0.0.1:0".parse().unwrap(),
    )
    .unwrap();
    config.dashboard.enabled = false;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    demo::seed_pairs(&config.database_path(), &scenario, clock.as_ref()).unwrap();

    let fake = Arc::new(Fake::new(&start_clock()));
    let addr = serve(fake.clone(), false).await;
    config.alerts = alerts_config(&format!(
        "telegram_enabled = true\ntelegram_api_url = \"http://{addr}\""
    ));
    let alerts = orion_alerts::build(
        &config.alerts,
        &tg_secrets(20, "42"),
        clock.clone(),
        fast_delivery(),
    )
    .unwrap();
    let engine = Engine::start(EngineOptions {
        config,
        credentials: demo::credentials(),
        clock: clock.clone(),
        alerter: alerts.alerter.clone(),
        dashboard_password_hash: None,
    })
    .await
    .unwrap();
    let engine = Arc::new(engine);

    let now = clock.now().secs();
    fake.push_update(1, 42, "/status", now);
    fake.push_update(2, 42, "/halt drill", now);
    let commands = alerts
        .start_commands(engine.clone(), clock.clone(), "dry-run")
        .expect("telegram commands are on by default");
    eventually("the status reply and the engine's halt alert", || {
        let texts = replies(&fake);
        texts.iter().any(|t| t.starts_with("Orion\nmode: dry-run"))
            && texts
                .iter()
                .any(|t| t.starts_with("[CRITICAL] engine.halt\ntrading halted: telegram: drill"))
    })
    .await;
    let texts = replies(&fake);
    let status = texts.iter().find(|t| t.starts_with("Orion\n")).unwrap();
    assert!(status.contains("breaker: "), "{status}");
    assert!(!status.contains("breaker: unknown"), "{status}");
    assert!(
        status.contains("\npairs: ") && !status.contains("\npairs: 0\n"),
        "{status}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("Halted (telegram: drill)")),
        "{texts:?}"
    );

    commands.stop().await;
    engine.shutdown();
    let engine = Arc::try_unwrap(engine).expect("the command loop let go of the engine");
    engine.wait().await;
    alerts.flush(Duration::from_secs(5)).await;
    assert!(!logs().contains(SECRET_PART));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_gets_criticals_at_once_and_a_storm_coalesced() {
    capture_logs();
    let clock = start_clock();
    let alerts = orion_alerts::build(
        &alerts_config("coalesce_window_s = 60"),
        &AlertSecrets::default(),
        Arc::new(clock.clone()),
        fast_delivery(),
    )
    .unwrap();
    assert!(alerts.telegram.is_none() && alerts.webhook.is_none());
    let lines = |key: &str| {
        logs()
            .lines()
            .filter(|l| l.contains(&format!("key={key} ")))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    alerts
        .alerter
        .alert(alert(Severity::Critical, "logstorm.crit", "halted", &clock));
    // Written on the caller's thread: there before alert() returned.
    assert_eq!(lines("logstorm.crit").len(), 1);
    assert!(lines("logstorm.crit")[0].contains("ERROR"));

    for n in 0..10_000 {
        let key = if n % 2 == 0 {
            "logstorm.a"
        } else {
            "logstorm.b"
        };
        alerts
            .alerter
            .alert(alert(Severity::Warning, key, &format!("n{n}"), &clock));
    }
    eventually("the first of each key", || {
        lines("logstorm.a").len() == 1 && lines("logstorm.b").len() == 1
    })
    .await;
    clock.advance(Duration::from_secs(60));
    eventually("the summaries", || {
        lines("logstorm.a").len() == 2 && lines("logstorm.b").len() == 2
    })
    .await;
    assert!(
        lines("logstorm.a")[1].contains("4999 more like this"),
        "{:?}",
        lines("logstorm.a")
    );
    assert!(
        lines("logstorm.b")[1].contains("count=4999"),
        "{:?}",
        lines("logstorm.b")
    );
    assert_eq!(alerts.log.counts().coalesced, 9_998);
}
