#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The demo's dashboard in headless Chromium: log in with the demo's
//! one-time password, watch live counters move without a reload, confirm the
//! demo's review proposal on the pair-review page (and find it confirmed and
//! audited in the database), and check that requests without a session are
//! refused. Skips with a notice when Chromium is absent, unless
//! `ORION_REQUIRE_CHROMIUM=1` (CI), where absence fails the test. A second
//! test (plain HTTP, no browser) resets a halted breaker from the dashboard.

use std::net::SocketAddr;
use std::time::Duration;

use orion_config::Mode;
use orion_runtime::demo;
use orion_storage::{Database, PairStatus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WAIT: Duration = Duration::from_secs(30);

/// A plain HTTP/1.1 request with no cookie: (status, headers and body).
async fn raw(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\nConnection: close\r\n\r\nreason=test"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// An HTTP/1.1 request as a browser on the dashboard's own page would send
/// it: (status, response head and body).
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: &str,
) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let cookie = cookie
        .map(|c| format!("Cookie: orion_session={c}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{cookie}Sec-Fetch-Site: same-origin\r\nOrigin: http://{addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
        form.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn set_cookie(response: &str) -> String {
    let at = response.find("set-cookie: orion_session=").unwrap() + 26;
    response[at..at + 64].to_string()
}

fn csrf(page: &str) -> String {
    let at = page.find(r#"name="csrf" value=""#).unwrap() + 19;
    page[at..at + 64].to_string()
}

/// The breaker belongs to the engine loop: a reset from the dashboard goes
/// through its command channel, and the loop writes the new state with its
/// audit line. A wrong password changes nothing. A pause takes the same
/// path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaker_reset_from_the_dashboard_goes_through_the_engine_loop() {
    use orion_core::{Clock, NullAlerter, SystemClock};
    use orion_runtime::{Engine, EngineOptions};
    use orion_storage::BreakerRecord;
    use orion_vault::{KdfParams, SecretString, hash_dashboard_password};

    let dir = tempfile::tempdir().unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let scenario = demo::bundled_scenario(dir.path()).unwrap();
    let sim = orion_sim::Sim::start(scenario.clone()).await.unwrap();
    let mut config = demo::config_for_sim(&sim, dir.path(), Mode::DryRun, any).unwrap();
    config.dashboard.listen = any;
    demo::seed_pairs(&config.database_path(), &scenario, &SystemClock).unwrap();
    // The engine starts on a halted breaker (as after a trip).
    {
        let mut db = Database::open(&config.database_path()).unwrap();
        let now = SystemClock.now();
        let halted = orion_risk::BreakerState::fail_closed("test trip", now);
        db.save_breaker(
            &BreakerRecord {
                state: halted.state_name().into(),
                data: halted.snapshot().unwrap(),
                updated_at: now,
            },
            None,
        )
        .unwrap();
    }
    let password = "reset password 123";
    let hash =
        hash_dashboard_password(&SecretString::new(password.into()), KdfParams::MINIMUM).unwrap();
    let engine = Engine::start(EngineOptions {
        config: config.clone(),
        credentials: demo::credentials(),
        clock: std::sync::Arc::new(SystemClock),
        alerter: std::sync::Arc::new(NullAlerter),
        dashboard_password_hash: Some(hash),
    })
    .await
    .unwrap();
    let addr = engine.dashboard_addr().unwrap();
    assert_eq!(engine.ready().1["checks"]["breaker"]["state"], "halted");

    let (_, login) = http(addr, "GET", "/login", None, "").await;
    let pre = set_cookie(&login);
    let token = csrf(&login);
    let (status, reply) = http(
        addr,
        "POST",
        "/login",
        Some(&pre),
        &format!("csrf={token}&password=reset+password+123"),
    )
    .await;
    assert_eq!(status, 303, "{reply}");
    let session = set_cookie(&reply);
    let (_, controls) = http(addr, "GET", "/controls", Some(&session), "").await;
    assert!(controls.contains("halted"), "{controls}");
    let token = csrf(&controls);

    let (status, _) = http(
        addr,
        "POST",
        "/controls/breaker-reset",
        Some(&session),
        &format!("csrf={token}&password=wrong&reason=checked"),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(engine.ready().1["checks"]["breaker"]["state"], "halted");

    let (status, _) = http(
        addr,
        "POST",
        "/controls/breaker-reset",
        Some(&session),
        &format!("csrf={token}&password=reset+password+123&reason=trip+reviewed"),
    )
    .await;
    assert_eq!(status, 303);
    let (_, page) = http(addr, "GET", "/controls", Some(&session), "").await;
    assert!(page.contains("Breaker reset: cleared"), "{page}");
    assert_eq!(engine.ready().1["checks"]["breaker"]["state"], "active");

    let db = Database::open_read_only(&config.database_path()).unwrap();
    assert_eq!(db.load_breaker().unwrap().unwrap().state, "active");
    let audit = db.audit_log(20).unwrap();
    let reset = audit
        .iter()
        .find(|e| e.action == "breaker.reset")
        .unwrap_or_else(|| panic!("{audit:?}"));
    assert_eq!(reset.actor, "dashboard");
    assert!(reset.detail.contains("trip reviewed"), "{}", reset.detail);

    // Pause through the dashboard: the loop applies it and it is audited.
    let (status, _) = http(
        addr,
        "POST",
        "/controls/pause",
        Some(&session),
        &format!("csrf={token}"),
    )
    .await;
    assert_eq!(status, 303);
    let mut paused = false;
    for _ in 0..100 {
        let (_, api) = http(addr, "GET", "/api/status", Some(&session), "").await;
        if api.contains(r#""trading":"paused or halted (no new trades)""#) {
            paused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(paused, "the pause never reached the engine loop");
    let audit = db.audit_log(20).unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "engine.pause" && e.actor == "dashboard"),
        "{audit:?}"
    );

    engine.shutdown();
    engine.wait().await;
}

fn counter(name: &str) -> String {
    format!("Number(document.querySelector('[data-counter=\"{name}\"]').textContent)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_dashboard_in_chromium() {
    let Some(browser) = orion_browser::launch_or_skip().await.unwrap() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let d = demo::start(dir.path(), Mode::Live, any, any).await.unwrap();
    let addr = d
        .engine
        .dashboard_addr()
        .expect("the demo runs the dashboard");
    let base = format!("http://{addr}");
    let scenario = demo::bundled_scenario(dir.path()).unwrap();
    let proposal = demo::review_proposal_id(&scenario).expect("the demo seeds a proposal");

    // Without a session: pages redirect to the login, the API and every
    // control answer 401, and nothing happens.
    let (status, head) = raw(addr, "GET", "/").await;
    assert_eq!(status, 303);
    assert!(head.contains("location: /login"), "{head}");
    let (status, _) = raw(addr, "GET", "/api/status").await;
    assert_eq!(status, 401);
    let (status, _) = raw(addr, "POST", "/controls/halt").await;
    assert_eq!(status, 401);
    let (status, _) = raw(addr, "GET", "/pairs").await;
    assert_eq!(status, 303);

    let page = browser.new_page().await.unwrap();
    let nav = page.goto(&format!("{base}/")).await.unwrap();
    assert!(page.url().await.unwrap().ends_with("/login"), "{nav:?}");
    page.fill("#password", "not the password").await.unwrap();
    page.click_and_wait_for_load("#login-button").await.unwrap();
    assert!(
        page.text("#notice")
            .await
            .unwrap()
            .contains("Wrong password")
    );

    // The one-time password printed by the demo opens it.
    page.fill("#password", d.dashboard_password.expose())
        .await
        .unwrap();
    page.click_and_wait_for_load("#login-button").await.unwrap();
    assert_eq!(page.url().await.unwrap(), format!("{base}/"));
    let cookie = page
        .cookies()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name == "orion_session")
        .expect("a session cookie");
    assert!(cookie.http_only);
    assert_eq!(cookie.same_site, Some(orion_browser::SameSite::Strict));
    assert_eq!(cookie.path, "/");
    assert!(cookie.session, "no persistent cookie");

    // Live data: the counters move on the open page (the script polls the
    // JSON endpoint; no reload).
    let first = page
        .eval(&counter("book_events"))
        .await
        .unwrap()
        .as_f64()
        .unwrap();
    page.wait_for(&format!("{} > {first}", counter("book_events")), WAIT)
        .await
        .unwrap();
    page.wait_for(&format!("{} > 0", counter("opportunities")), WAIT)
        .await
        .unwrap();
    let mode = page.text("[data-field=\"mode\"]").await.unwrap();
    assert_eq!(mode, "live");

    // The opportunities page fills from the database.
    page.goto(&format!("{base}/opportunities")).await.unwrap();
    page.wait_for(
        "document.querySelectorAll('#opportunities tr').length > 0",
        WAIT,
    )
    .await
    .unwrap();

    // Confirm the demo's proposal on the pair-review page.
    page.goto(&format!("{base}/pairs")).await.unwrap();
    let row = format!("tr[data-pair=\"{proposal}\"]");
    assert_eq!(
        page.text(&format!("{row} .status")).await.unwrap(),
        "proposed"
    );
    page.fill(
        &format!("{row} form[action=\"/pairs/confirm\"] input[name=\"reason\"]"),
        "reviewed in the e2e test",
    )
    .await
    .unwrap();
    page.click_and_wait_for_load(&format!("{row} button[data-action=\"confirm\"]"))
        .await
        .unwrap();
    assert!(page.url().await.unwrap().ends_with("/pairs"));
    assert!(page.text("#notice").await.unwrap().contains("confirmed"));
    assert_eq!(
        page.text(&format!("{row} .status")).await.unwrap(),
        "confirmed"
    );

    // The database agrees, and the decision is audited with the dashboard
    // as the actor.
    let db = Database::open_read_only(&dir.path().join("orion.db")).unwrap();
    let confirmed = db.pairs(Some(PairStatus::Confirmed)).unwrap();
    let pair = confirmed.iter().find(|p| p.pair_id == proposal).unwrap();
    assert_eq!(pair.decided_by.as_deref(), Some("dashboard"));
    let audit = db.audit_log(20).unwrap();
    assert!(
        audit.iter().any(|e| e.action == "pair.confirmed"
            && e.actor == "dashboard"
            && e.detail == proposal),
        "{audit:?}"
    );
    assert!(
        audit
            .iter()
            .any(|e| e.detail.contains("reviewed in the e2e test")),
        "{audit:?}"
    );

    // The page's script ran under the strict CSP without a violation.
    assert!(
        page.console_errors().is_empty(),
        "{:?}",
        page.console_errors()
    );

    // Logged out, the same browser is refused again.
    page.click_and_wait_for_load("form.logout button")
        .await
        .unwrap();
    assert!(page.url().await.unwrap().ends_with("/login"));
    let nav = page.goto(&format!("{base}/api/status")).await.unwrap();
    assert_eq!(nav.status(), Some(401));

    browser.close().await.unwrap();
    d.engine.shutdown();
    let summary = d.engine.wait().await;
    assert!(summary.status.book_events > 0);
}
