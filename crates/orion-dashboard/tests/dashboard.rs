#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The dashboard over loopback HTTP against a fake backend: login, throttle,
//! sessions and their timeouts, the cross-site defences, the breaker reset's
//! password, escaping, and that no protected route answers without a session.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use orion_core::{Cash, SimulatedClock, Timestamp};
use orion_dashboard::auth::FREE_FAILURES_PER_IP;
use orion_dashboard::{
    Access, BackendError, ConfigEntry, ControlAction, DashboardBackend, DashboardSettings,
    OpportunityView, PairView, PositionView, Route, StatusView, TradeView,
};
use orion_vault::{KdfParams, SecretString, hash_dashboard_password};
use tokio::sync::watch;

const PASSWORD: &str = "correct horse battery staple";
const IDLE: Duration = Duration::from_secs(900);
const ABSOLUTE: Duration = Duration::from_secs(3600);

fn password_hash() -> SecretString {
    static HASH: OnceLock<SecretString> = OnceLock::new();
    HASH.get_or_init(|| {
        hash_dashboard_password(&SecretString::new(PASSWORD.into()), KdfParams::MINIMUM).unwrap()
    })
    .clone()
}

#[derive(Debug, Default)]
struct Fake {
    calls: Mutex<Vec<String>>,
}

impl Fake {
    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
    fn log(&self, s: String) {
        self.calls.lock().unwrap().push(s);
    }
}

#[async_trait]
impl DashboardBackend for Fake {
    async fn status(&self) -> Result<StatusView, BackendError> {
        Ok(StatusView {
            mode: "dry-run".into(),
            trading: "running".into(),
            breaker: "active".into(),
            breaker_allows_trades: true,
            breaker_detail: None,
            balances: vec![("kalshi".into(), Some(Cash::from_micros(12_340_000)))],
            realized_pnl: Some(Cash::ZERO),
            ready: true,
            readiness: serde_json::json!({"ready": true}),
            counters: vec![("book_events".into(), 42)],
        })
    }
    async fn opportunities(&self, _limit: u32) -> Result<Vec<OpportunityView>, BackendError> {
        Ok(vec![OpportunityView {
            pair_id: "P1".into(),
            direction: "KalshiYes".into(),
            quantity: "10".into(),
            total_cost: Cash::from_micros(9_500_000),
            net_profit: Cash::from_micros(250_000),
            detected_at: Timestamp::from_secs(1),
            acted: true,
        }])
    }
    async fn positions(&self) -> Result<Vec<PositionView>, BackendError> {
        Ok(Vec::new())
    }
    async fn trades(&self, _limit: u32) -> Result<Vec<TradeView>, BackendError> {
        Ok(Vec::new())
    }
    async fn pairs(&self) -> Result<Vec<PairView>, BackendError> {
        Ok(vec![PairView {
            pair_id: "P1".into(),
            title: "<script>alert(1)</script>".into(),
            kalshi_ticker: "KX".into(),
            polymarket_condition_id: "0xabc".into(),
            inverted: false,
            score_bps: 9_250,
            flags: vec!["date\"><img src=x>".into()],
            reasons: Vec::new(),
            status: "proposed".into(),
            decided_by: None,
        }])
    }
    async fn decide_pair(
        &self,
        pair_id: &str,
        confirm: bool,
        actor: &str,
        reason: &str,
    ) -> Result<(), BackendError> {
        self.log(format!("pair {pair_id} {confirm} {actor} {reason}"));
        Ok(())
    }
    async fn config(&self) -> Result<Vec<ConfigEntry>, BackendError> {
        Ok(vec![
            ConfigEntry {
                key: "kalshi.private_key_secret".into(),
                value: "kalshi.private_key_pem".into(),
            },
            ConfigEntry {
                key: "engine.mode".into(),
                value: "dry-run".into(),
            },
        ])
    }
    async fn control(&self, action: ControlAction, actor: &str) -> Result<(), BackendError> {
        self.log(format!("control {action:?} {actor}"));
        Ok(())
    }
    async fn reset_breaker(&self, actor: &str, reason: &str) -> Result<String, BackendError> {
        self.log(format!("reset {actor} {reason}"));
        Ok("breaker reset".into())
    }
}

struct Harness {
    addr: SocketAddr,
    clock: Arc<SimulatedClock>,
    backend: Arc<Fake>,
    client: Client<HttpConnector, Full<Bytes>>,
    _stop: watch::Sender<bool>,
}

struct Reply {
    status: StatusCode,
    headers: hyper::HeaderMap,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The session id this reply sets, if any.
    fn cookie(&self) -> Option<String> {
        let v = self.header("set-cookie")?;
        let (pair, _) = v.split_once(';')?;
        let (_, id) = pair.split_once('=')?;
        (!id.is_empty()).then(|| id.to_string())
    }
    fn csrf(&self) -> String {
        let at = self
            .body
            .find(r#"name="csrf" value=""#)
            .expect("a csrf field")
            + 19;
        self.body[at..at + 64].to_string()
    }
}

async fn start() -> Harness {
    let clock = Arc::new(SimulatedClock::new(Timestamp::from_secs(1_700_000_000)));
    let backend = Arc::new(Fake::default());
    let (stop, stop_rx) = watch::channel(false);
    let settings = DashboardSettings::new(
        "127.0.0.1:0".parse().unwrap(),
        IDLE,
        ABSOLUTE,
        password_hash(),
    );
    let (addr, _task) = orion_dashboard::serve(settings, backend.clone(), clock.clone(), stop_rx)
        .await
        .unwrap();
    Harness {
        addr,
        clock,
        backend,
        client: Client::builder(TokioExecutor::new()).build_http(),
        _stop: stop,
    }
}

fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            let enc: String = v
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            format!("{k}={enc}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

impl Harness {
    async fn send(
        &self,
        method: Method,
        path: &str,
        cookie: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Reply {
        let mut b = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr));
        if let Some(c) = cookie {
            b = b.header("cookie", format!("orion_session={c}"));
        }
        if body.is_some() {
            b = b.header("content-type", "application/x-www-form-urlencoded");
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = b
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .unwrap();
        let resp = self.client.request(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        self.send(Method::GET, path, cookie, &[], None).await
    }

    async fn post(&self, path: &str, cookie: Option<&str>, fields: &[(&str, &str)]) -> Reply {
        self.send(Method::POST, path, cookie, &[], Some(form(fields)))
            .await
    }

    /// GET /login: the anonymous session and its CSRF token.
    async fn login_form(&self) -> (String, String) {
        let r = self.get("/login", None).await;
        assert_eq!(r.status, StatusCode::OK);
        (r.cookie().expect("an anonymous session"), r.csrf())
    }

    async fn try_login(&self, password: &str) -> Reply {
        let (cookie, csrf) = self.login_form().await;
        self.post(
            "/login",
            Some(&cookie),
            &[("csrf", &csrf), ("password", password)],
        )
        .await
    }

    /// Logs in; returns the session cookie and its CSRF token.
    async fn login(&self) -> (String, String) {
        let r = self.try_login(PASSWORD).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let cookie = r.cookie().expect("a session cookie");
        let page = self.get("/controls", Some(&cookie)).await;
        assert_eq!(page.status, StatusCode::OK);
        (cookie, page.csrf())
    }
}

#[tokio::test]
async fn login_rotates_the_session_and_sets_strict_cookie_flags() {
    let h = start().await;
    let (pre, csrf) = h.login_form().await;
    let r = h
        .post(
            "/login",
            Some(&pre),
            &[("csrf", &csrf), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), Some("/"));
    let set = r.header("set-cookie").unwrap().to_string();
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Strict"), "{set}");
    assert!(set.contains("Path=/"), "{set}");
    // Plain-http loopback: a Secure cookie would be dropped by the browser.
    assert!(!set.contains("Secure"), "{set}");
    let session = r.cookie().unwrap();
    // Session fixation: the pre-login cookie is a new id's predecessor, not
    // the session, and it no longer opens anything.
    assert_ne!(session, pre);
    assert_eq!(session.len(), 64);
    let with_pre = h.get("/", Some(&pre)).await;
    assert_eq!(with_pre.status, StatusCode::SEE_OTHER);
    assert_eq!(with_pre.header("location"), Some("/login"));
    let home = h.get("/", Some(&session)).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains(r#"data-counter="book_events">42<"#));
    // Logged in, the login form sends the operator home.
    assert_eq!(
        h.get("/login", Some(&session)).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn wrong_passwords_are_refused_then_throttled() {
    let h = start().await;
    for _ in 0..FREE_FAILURES_PER_IP {
        let r = h.try_login("wrong password").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(r.body.contains("Wrong password"));
    }
    // Locked out: even the right password waits, with Retry-After.
    let r = h.try_login(PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(retry >= 1);
    // Each further failure doubles the wait; waiting it out lets a correct
    // password in.
    h.clock.advance(Duration::from_secs(retry));
    let r = h.try_login("wrong again").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = h.try_login(PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let longer: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(longer > retry, "{longer} after {retry}");
    h.clock.advance(Duration::from_secs(longer));
    let r = h.try_login(PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn no_protected_route_answers_without_a_session() {
    let h = start().await;
    let (anonymous, anon_csrf) = h.login_form().await;
    let protected: Vec<Route> = Route::ALL
        .iter()
        .copied()
        .filter(|r| r.access() != Access::Public)
        .collect();
    assert!(protected.len() >= 13, "{protected:?}");
    for route in &protected {
        for cookie in [None, Some(anonymous.as_str()), Some("00ff")] {
            let body = (route.method() == Method::POST).then(|| {
                form(&[
                    ("csrf", &anon_csrf),
                    ("reason", "r"),
                    ("pair_id", "P1"),
                    ("password", PASSWORD),
                ])
            });
            let r = h
                .send(route.method(), route.path(), cookie, &[], body)
                .await;
            match route.access() {
                Access::Page => {
                    assert_eq!(r.status, StatusCode::SEE_OTHER, "{route:?}");
                    assert_eq!(r.header("location"), Some("/login"), "{route:?}");
                }
                Access::Api | Access::Action => {
                    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{route:?}")
                }
                Access::Public => unreachable!(),
            }
            assert!(!r.body.contains("book_events"), "{route:?} leaked data");
        }
    }
    // An unknown path is no way around it either.
    assert_eq!(h.get("/nope", None).await.status, StatusCode::SEE_OTHER);
    assert!(h.backend.calls().is_empty(), "{:?}", h.backend.calls());
    // With a session every page and API answers (each route has a handler).
    let (session, _) = h.login().await;
    for route in protected.iter().filter(|r| r.method() == Method::GET) {
        let r = h.get(route.path(), Some(&session)).await;
        assert_eq!(r.status, StatusCode::OK, "{route:?}");
    }
    // Public routes answer without one.
    for route in Route::ALL
        .iter()
        .filter(|r| r.access() == Access::Public && r.method() == Method::GET)
    {
        assert_eq!(
            h.get(route.path(), None).await.status,
            StatusCode::OK,
            "{route:?}"
        );
    }
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let h = start().await;
    let (session, _) = h.login().await;
    for (path, cookie) in [
        ("/login", None),
        ("/static/app.js", None),
        ("/", Some(session.as_str())),
        ("/api/status", Some(session.as_str())),
        ("/", None),
    ] {
        let r = h.get(path, cookie).await;
        let csp = r.header("content-security-policy").unwrap_or("");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{path}");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{path}");
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
    }
    // No inline script in any page: scripts come from /static only.
    let page = h.get("/", Some(&session)).await;
    assert!(
        page.body
            .contains(r#"<script src="/static/app.js" defer></script>"#)
    );
    assert_eq!(page.body.matches("<script").count(), 1);
    assert!(!page.body.contains(" style="));
}

#[tokio::test]
async fn sessions_end_after_the_idle_and_the_absolute_timeout() {
    let h = start().await;
    let (session, _) = h.login().await;
    h.clock.advance(IDLE - Duration::from_secs(1));
    assert_eq!(h.get("/", Some(&session)).await.status, StatusCode::OK);
    h.clock.advance(IDLE);
    let r = h.get("/api/status", Some(&session)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "idle timeout");

    // Active all along, the session still ends at the absolute timeout.
    let (session, _) = h.login().await;
    let step = IDLE / 2;
    let mut elapsed = Duration::ZERO;
    while elapsed + step < ABSOLUTE {
        h.clock.advance(step);
        elapsed += step;
        assert_eq!(
            h.get("/", Some(&session)).await.status,
            StatusCode::OK,
            "{elapsed:?}"
        );
    }
    h.clock.advance(step);
    assert_eq!(
        h.get("/", Some(&session)).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn state_changes_need_the_csrf_token() {
    let h = start().await;
    let (session, csrf) = h.login().await;
    let r = h.post("/controls/pause", Some(&session), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let wrong = "0".repeat(64);
    let r = h
        .post("/controls/pause", Some(&session), &[("csrf", &wrong)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Another session's token is no good either.
    let (_, anon_csrf) = h.login_form().await;
    let r = h
        .post("/controls/pause", Some(&session), &[("csrf", &anon_csrf)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(h.backend.calls().is_empty());
    let r = h
        .post("/controls/pause", Some(&session), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(h.backend.calls(), ["control Pause dashboard"]);
    // The header form works for scripts.
    let r = h
        .send(
            Method::POST,
            "/controls/resume",
            Some(&session),
            &[("x-csrf-token", &csrf)],
            Some(String::new()),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // The result is shown once on the next page.
    let page = h.get("/controls", Some(&session)).await;
    assert!(page.body.contains("Resume: done."));
    let page = h.get("/controls", Some(&session)).await;
    assert!(!page.body.contains("Resume: done."));
    // The login POST needs its form's token too.
    let (pre, _) = h.login_form().await;
    let r = h
        .post("/login", Some(&pre), &[("password", PASSWORD)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn cross_site_and_cross_origin_posts_are_refused() {
    let h = start().await;
    let (session, csrf) = h.login().await;
    let body = || Some(form(&[("csrf", &csrf), ("reason", "test")]));
    let own = format!("http://{}", h.addr);
    for (headers, expect) in [
        (
            vec![("sec-fetch-site", "cross-site")],
            StatusCode::FORBIDDEN,
        ),
        (vec![("sec-fetch-site", "same-site")], StatusCode::FORBIDDEN),
        (
            vec![("origin", "http://evil.example")],
            StatusCode::FORBIDDEN,
        ),
        (vec![("origin", "null")], StatusCode::FORBIDDEN),
        (
            vec![("sec-fetch-site", "cross-site"), ("origin", "null")],
            StatusCode::FORBIDDEN,
        ),
        (
            vec![
                ("sec-fetch-site", "same-origin"),
                ("origin", "http://evil.example"),
            ],
            StatusCode::FORBIDDEN,
        ),
        // What Chromium sends for a form post under Referrer-Policy no-referrer.
        (
            vec![("sec-fetch-site", "same-origin"), ("origin", "null")],
            StatusCode::SEE_OTHER,
        ),
        (
            vec![("sec-fetch-site", "same-origin"), ("origin", own.as_str())],
            StatusCode::SEE_OTHER,
        ),
    ] {
        let r = h
            .send(
                Method::POST,
                "/controls/halt",
                Some(&session),
                &headers,
                body(),
            )
            .await;
        assert_eq!(r.status, expect, "{headers:?}");
    }
    assert_eq!(
        h.backend.calls(),
        [
            "control Halt { reason: \"test\" } dashboard",
            "control Halt { reason: \"test\" } dashboard"
        ]
    );
    // A rebinding attack arrives with a foreign Host.
    let r = h
        .send(
            Method::GET,
            "/login",
            None,
            &[("host", "evil.example:80")],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::MISDIRECTED_REQUEST);
}

#[tokio::test]
async fn breaker_reset_needs_the_password_again() {
    let h = start().await;
    let (session, csrf) = h.login().await;
    let r = h
        .post(
            "/controls/breaker-reset",
            Some(&session),
            &[
                ("csrf", &csrf),
                ("password", "not it"),
                ("reason", "checked"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = h
        .post(
            "/controls/breaker-reset",
            Some(&session),
            &[("csrf", &csrf), ("password", PASSWORD), ("reason", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(h.backend.calls().is_empty());
    let r = h
        .post(
            "/controls/breaker-reset",
            Some(&session),
            &[
                ("csrf", &csrf),
                ("password", PASSWORD),
                ("reason", "venue balance read was stale"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        h.backend.calls(),
        ["reset dashboard venue balance read was stale"]
    );
}

#[tokio::test]
async fn pair_review_escapes_stored_text_and_records_the_decision() {
    let h = start().await;
    let (session, csrf) = h.login().await;
    let page = h.get("/pairs", Some(&session)).await;
    assert!(
        page.body
            .contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;")
    );
    assert!(!page.body.contains("<script>alert"));
    assert!(!page.body.contains("<img"));
    assert!(page.body.contains("92.50%"));
    let r = h
        .post(
            "/pairs/confirm",
            Some(&session),
            &[
                ("csrf", &csrf),
                ("pair_id", "P1"),
                ("reason", "same event, same date"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), Some("/pairs"));
    let r = h
        .post(
            "/pairs/reject",
            Some(&session),
            &[("csrf", &csrf), ("pair_id", "P1"), ("reason", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        h.backend.calls(),
        ["pair P1 true dashboard same event, same date"]
    );
}

#[tokio::test]
async fn configuration_masks_secrets_and_logout_ends_the_session() {
    let h = start().await;
    let (session, csrf) = h.login().await;
    let page = h.get("/config", Some(&session)).await;
    assert!(!page.body.contains("kalshi.private_key_pem"));
    assert!(page.body.contains("kalshi.private_key_secret"));
    assert!(page.body.contains("dry-run"));
    let json = h.get("/api/opportunities", Some(&session)).await;
    let v: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(v[0]["net_profit"], "0.25");
    let r = h.post("/logout", Some(&session), &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(
        h.get("/", Some(&session)).await.status,
        StatusCode::SEE_OTHER
    );
}
