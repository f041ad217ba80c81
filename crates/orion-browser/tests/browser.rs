#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The driver against a real headless Chromium and a small axum site served on
//! 127.0.0.1:0 inside each test. Each test skips with a notice when Chromium is not
//! installed, unless ORION_REQUIRE_CHROMIUM=1 (CI), where that fails.

use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{AppendHeaders, Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use orion_browser::{Browser, BrowserError, LaunchOptions, SameSite, launch_or_skip};

const HOME: &str = r#"<!doctype html>
<html><head><title>home</title></head><body>
<label>Name <input id="name" type="text"></label>
<button id="go" type="button">Greet</button>
<div id="out">nobody yet</div>
<p id="hidden" style="display:none">hidden</p>
<script>
  document.getElementById('go').addEventListener('click', () => {
    const name = document.getElementById('name').value;
    document.getElementById('out').textContent = 'Hello, ' + name;
  });
</script>
</body></html>"#;

const THROWS: &str = r#"<!doctype html>
<html><body><p>this page fails</p>
<script>
  console.log('just information');
  console.error('logged failure', 42);
</script>
<script>throw new Error('deliberate failure');</script>
</body></html>"#;

const FORM: &str = r#"<!doctype html>
<html><body>
<form method="post" action="/login"><input name="user" id="user"><button id="submit" type="submit">Log in</button></form>
</body></html>"#;

/// A control guarded by `confirm`, as a dashboard's dangerous buttons may be.
const DIALOG: &str = r#"<!doctype html>
<html><body><button id="halt" type="button">Halt</button><p id="answer">none</p>
<script>
  document.getElementById('halt').addEventListener('click', () => {
    document.getElementById('answer').textContent = confirm('Halt trading?') ? 'halted' : 'kept running';
  });
</script>
</body></html>"#;

/// Under `default-src 'self'` the inline script is blocked (a CSP violation); the
/// image is allowed but missing (a failed load).
const CSP_PAGE: &str = r#"<!doctype html>
<html><body><p id="p">strict</p>
<script>window.inlineRan = true;</script>
<img src="/missing.png" alt="">
</body></html>"#;

/// The site: `/` sets an HttpOnly SameSite=Strict session cookie and a script-visible
/// one; `/throws` logs an error and throws; `/form` posts to `/login`, which
/// redirects to `/welcome`; `/denied` is a 401 with a body, `/denied-empty` without;
/// `/csp` breaks its own Content-Security-Policy.
async fn serve() -> String {
    let app = Router::new()
        .route(
            "/",
            get(|| async {
                (
                    AppendHeaders([
                        (
                            header::SET_COOKIE,
                            "session=s3cr3t; Path=/; HttpOnly; SameSite=Strict",
                        ),
                        (header::SET_COOKIE, "theme=dark; Path=/; SameSite=Lax"),
                    ]),
                    Html(HOME),
                )
            }),
        )
        .route("/throws", get(|| async { Html(THROWS) }))
        .route("/form", get(|| async { Html(FORM) }))
        .route("/login", post(|| async { Redirect::to("/welcome") }))
        .route(
            "/welcome",
            get(|| async { Html("<!doctype html><h1 id='greeting'>Welcome back</h1>") }),
        )
        .route(
            "/denied",
            get(|| async {
                (
                    StatusCode::UNAUTHORIZED,
                    Html("<h1 id='why'>log in first</h1>"),
                )
                    .into_response()
            }),
        )
        .route("/denied-empty", get(|| async { StatusCode::UNAUTHORIZED }))
        .route("/dialog", get(|| async { Html(DIALOG) }))
        .route(
            "/csp",
            get(|| async {
                (
                    [(header::CONTENT_SECURITY_POLICY, "default-src 'self'")],
                    Html(CSP_PAGE),
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    // The server task ends with the test's runtime.
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    format!("http://{address}")
}

#[tokio::test]
async fn fills_an_input_clicks_a_button_and_reads_the_changed_text() {
    let Some(browser) = launch_or_skip().await.unwrap() else {
        return;
    };
    let base = serve().await;
    let page = browser.new_page().await.unwrap();

    let nav = page.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(nav.status(), Some(200), "{nav:?}");
    assert!(nav.is_ok());
    assert_eq!(page.last_navigation(), Some(nav));
    assert_eq!(page.eval("document.title").await.unwrap(), "home");
    assert_eq!(page.text("#out").await.unwrap(), "nobody yet");

    page.fill("#name", "Orion").await.unwrap();
    assert_eq!(
        page.eval("document.getElementById('name').value")
            .await
            .unwrap(),
        "Orion"
    );
    // Filling again replaces rather than appends.
    page.fill("#name", "Kalshi & Polymarket").await.unwrap();
    page.click("#go").await.unwrap();
    page.wait_for(
        "document.getElementById('out').textContent.startsWith('Hello')",
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    assert_eq!(
        page.text("#out").await.unwrap(),
        "Hello, Kalshi & Polymarket"
    );

    // eval returns JSON values and awaits promises.
    let value = page
        .eval("new Promise(r => setTimeout(() => r({ n: 7, s: 'x', a: [1, null] }), 10))")
        .await
        .unwrap();
    assert_eq!(
        value,
        serde_json::json!({ "n": 7, "s": "x", "a": [1, null] })
    );

    let png = page.screenshot_png().await.unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "not a PNG: {:?}",
        &png[..png.len().min(8)]
    );
    let shots = tempfile::tempdir().unwrap();
    let saved = shots.path().join("home.png");
    page.save_screenshot(&saved).await.unwrap();
    assert!(
        std::fs::read(&saved)
            .unwrap()
            .starts_with(b"\x89PNG\r\n\x1a\n")
    );
    assert!(
        page.console_errors().is_empty(),
        "{:?}",
        page.console_errors()
    );
    browser.close().await.unwrap();
}

#[tokio::test]
async fn reads_an_http_only_same_site_strict_cookie_that_scripts_cannot_see() {
    let Some(browser) = launch_or_skip().await.unwrap() else {
        return;
    };
    let base = serve().await;
    let page = browser.new_page().await.unwrap();
    page.goto(&format!("{base}/")).await.unwrap();

    let cookies = page.cookies().await.unwrap();
    let session = cookies
        .iter()
        .find(|c| c.name == "session")
        .expect("session cookie");
    assert_eq!(session.value, "s3cr3t");
    assert!(session.http_only);
    assert_eq!(session.same_site, Some(SameSite::Strict));
    assert_eq!(session.path, "/");
    assert!(session.session, "no Max-Age was set");
    let theme = cookies
        .iter()
        .find(|c| c.name == "theme")
        .expect("theme cookie");
    assert!(!theme.http_only);
    assert_eq!(theme.same_site, Some(SameSite::Lax));

    // HttpOnly really hides the session from the page's scripts.
    let visible = page.eval("document.cookie").await.unwrap();
    assert_eq!(visible, "theme=dark");

    // A second page is a separate browser context: no cookies carried over.
    let other = browser.new_page().await.unwrap();
    other.goto(&format!("{base}/welcome")).await.unwrap();
    assert!(other.cookies().await.unwrap().is_empty());
}

#[tokio::test]
async fn captures_console_errors_and_uncaught_exceptions() {
    let Some(browser) = launch_or_skip().await.unwrap() else {
        return;
    };
    let base = serve().await;
    let page = browser.new_page().await.unwrap();

    page.goto(&format!("{base}/throws")).await.unwrap();
    // Console events precede the load event on the session, so both are here.
    let errors = page.wait_for_console_error().await.unwrap();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors
            .iter()
            .any(|m| m.level == "error" && m.text == "logged failure 42"),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|m| m.level == "exception" && m.text.contains("Error: deliberate failure")),
        "{errors:?}"
    );
    // Plain logs are recorded but are not errors.
    assert!(
        page.console()
            .iter()
            .any(|m| m.level == "log" && m.text == "just information")
    );
    assert!(errors.iter().all(|m| m.text != "just information"));

    // An exception in eval is returned to the caller with its message, and is not
    // counted as a page error.
    page.clear_console();
    let err = page
        .eval("(() => { throw new TypeError('bad input'); })()")
        .await
        .unwrap_err();
    match &err {
        BrowserError::Js { message, .. } => {
            assert!(message.contains("TypeError: bad input"), "{message}")
        }
        other => panic!("expected a JavaScript error, got {other:?}"),
    }
    let err = page
        .eval("Promise.reject(new Error('rejected'))")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("rejected"), "{err}");
    assert!(
        page.console_errors().is_empty(),
        "{:?}",
        page.console_errors()
    );

    // A clean page logs no errors.
    let clean = browser.new_page().await.unwrap();
    clean.goto(&format!("{base}/")).await.unwrap();
    clean.fill("#name", "console").await.unwrap();
    clean.click("#go").await.unwrap();
    assert_eq!(clean.text("#out").await.unwrap(), "Hello, console");
    assert!(
        clean.console_errors().is_empty(),
        "{:?}",
        clean.console_errors()
    );
}

#[tokio::test]
async fn a_missing_element_times_out_with_an_error_naming_it() {
    let Some(browser) = launch_or_skip().await.unwrap() else {
        return;
    };
    let base = serve().await;
    let mut page = browser.new_page().await.unwrap();
    page.goto(&format!("{base}/")).await.unwrap();
    page.set_timeout(Duration::from_millis(300));

    let err = page.text("#no-such-element").await.unwrap_err();
    match &err {
        BrowserError::Timeout { what, .. } => {
            assert!(what.contains("#no-such-element"), "{what}");
            // It also says where the page was.
            assert!(what.contains(&format!("on {base}/ (HTTP 200)")), "{what}");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(err.to_string().contains("#no-such-element"), "{err}");

    let err = page.fill("#also-missing", "x").await.unwrap_err();
    assert!(matches!(err, BrowserError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("#also-missing"), "{err}");

    // A hidden element exists but is not clickable: the error says why.
    let err = page.click("#hidden").await.unwrap_err();
    assert!(
        err.to_string().contains("#hidden") && err.to_string().contains("not visible"),
        "{err}"
    );

    let err = page
        .wait_for("window.neverSet === true", Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("window.neverSet === true"),
        "{err}"
    );
}

#[tokio::test]
async fn navigation_reports_http_status_redirects_and_refused_connections() {
    let Some(browser) = launch_or_skip().await.unwrap() else {
        return;
    };
    let base = serve().await;
    let page = browser.new_page().await.unwrap();

    let denied = page.goto(&format!("{base}/denied")).await.unwrap();
    assert_eq!(denied.status(), Some(401), "{denied:?}");
    assert!(!denied.is_ok());
    assert_eq!(page.text("#why").await.unwrap(), "log in first");

    // An error status without a body: Chromium shows its own error page, and the
    // status still comes through.
    let empty = page.goto(&format!("{base}/denied-empty")).await.unwrap();
    assert_eq!(empty.status(), Some(401), "{empty:?}");
    assert!(!empty.is_ok());

    // A form post answered by a redirect: the navigation ends on the target page.
    page.goto(&format!("{base}/form")).await.unwrap();
    page.fill("#user", "ops").await.unwrap();
    let landed = page.click_and_wait_for_load("#submit").await.unwrap();
    let response = landed.response.expect("a document response");
    assert_eq!(response.status, 200);
    assert_eq!(response.url, format!("{base}/welcome"));
    assert_eq!(page.text("#greeting").await.unwrap(), "Welcome back");
    assert_eq!(page.url().await.unwrap(), format!("{base}/welcome"));

    // A port nobody listens on: no response, Chromium's error names the refusal.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let refused = page.goto(&format!("http://{closed}/")).await.unwrap();
    assert_eq!(refused.status(), None, "{refused:?}");
    assert_eq!(
        refused.error_text.as_deref(),
        Some("net::ERR_CONNECTION_REFUSED")
    );
}

#[tokio::test]
async fn a_bad_executable_is_an_error_that_names_it() {
    // These run without Chromium: the executable is given explicitly.
    let missing = PathBuf::from("/nonexistent/orion/chromium");
    let err = Browser::launch_with(LaunchOptions {
        executable: Some(missing),
        ..LaunchOptions::default()
    })
    .await
    .unwrap_err();
    assert!(matches!(err, BrowserError::Io { .. }), "{err:?}");
    assert!(
        err.to_string().contains("/nonexistent/orion/chromium"),
        "{err}"
    );

    // A program that exits at once without printing a DevTools address.
    let err = Browser::launch_with(LaunchOptions {
        executable: Some(PathBuf::from("/bin/false")),
        ..LaunchOptions::default()
    })
    .await
    .unwrap_err();
    assert!(matches!(err, BrowserError::ExitedEarly { .. }), "{err:?}");
}

#[tokio::test]
async fn waits_survive_the_page_navigating_underneath_them() {
    let Some(browser) = launch_or_skip().await.unwrap() else {
        return;
    };
    let base = serve().await;
    let page = browser.new_page().await.unwrap();

    // A plain click on a submit button (not click_and_wait_for_load): the form
    // posts, the server redirects, and a wait for the next page's content polls
    // straight through the navigation.
    page.goto(&format!("{base}/form")).await.unwrap();
    page.fill("#user", "ops").await.unwrap();
    page.click("#submit").await.unwrap();
    page.wait_for(
        "document.getElementById('greeting') !== null",
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    assert_eq!(page.text("#greeting").await.unwrap(), "Welcome back");
    let document = page.last_document().expect("the welcome page's response");
    assert_eq!(
        (document.status, document.url),
        (200, format!("{base}/welcome"))
    );

    // A script-driven navigation a moment later, awaited by element.
    page.goto(&format!("{base}/")).await.unwrap();
    page.eval("setTimeout(() => { location.href = '/form'; }, 50); true")
        .await
        .unwrap();
    page.wait_for_selector("#submit").await.unwrap();
    assert!(page.url().await.unwrap().ends_with("/form"));
    assert!(
        page.console_errors().is_empty(),
        "{:?}",
        page.console_errors()
    );
}

#[tokio::test]
async fn csp_violations_are_errors_and_failed_loads_are_logged_but_not_errors() {
    let Some(browser) = launch_or_skip().await.unwrap() else {
        return;
    };
    let base = serve().await;
    let page = browser.new_page().await.unwrap();
    page.goto(&format!("{base}/csp")).await.unwrap();

    let violation = page
        .wait_for_console("a CSP violation", |m| m.source == "security")
        .await
        .unwrap();
    assert!(violation.is_error(), "{violation:?}");
    assert!(
        violation.text.contains("Content Security Policy"),
        "{violation:?}"
    );
    assert_eq!(page.eval("window.inlineRan === true").await.unwrap(), false);

    let missing = page
        .wait_for_console("the failed load of /missing.png", |m| {
            m.source == "network" && m.url.ends_with("/missing.png")
        })
        .await
        .unwrap();
    assert!(missing.text.contains("404"), "{missing:?}");
    assert!(
        !missing.is_error(),
        "a failed load is logged, not counted as an error"
    );

    let errors = page.console_errors();
    assert!(!errors.is_empty());
    assert!(errors.iter().all(|m| m.source == "security"), "{errors:?}");
}

#[tokio::test]
async fn dialogs_are_answered_at_once_and_recorded() {
    let Some(browser) = launch_or_skip().await.unwrap() else {
        return;
    };
    let base = serve().await;
    let page = browser.new_page().await.unwrap();
    page.goto(&format!("{base}/dialog")).await.unwrap();

    // Accepted by default: the confirm returns true and the page goes on.
    page.click("#halt").await.unwrap();
    page.wait_for(
        "document.getElementById('answer').textContent !== 'none'",
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    assert_eq!(page.text("#answer").await.unwrap(), "halted");

    // Dismissed on request: the confirm returns false.
    page.set_accept_dialogs(false);
    page.click("#halt").await.unwrap();
    page.wait_for(
        "document.getElementById('answer').textContent === 'kept running'",
        Duration::from_secs(10),
    )
    .await
    .unwrap();

    let dialogs = page.dialogs();
    assert_eq!(dialogs.len(), 2, "{dialogs:?}");
    assert!(
        dialogs
            .iter()
            .all(|d| d.kind == "confirm" && d.message == "Halt trading?"),
        "{dialogs:?}"
    );
    // The page is still responsive.
    assert_eq!(page.eval("1 + 1").await.unwrap(), 2);
}

#[tokio::test]
async fn a_crashed_page_fails_its_commands_with_a_named_error_and_the_browser_lives_on() {
    let Some(browser) = launch_or_skip().await.unwrap() else {
        return;
    };
    let base = serve().await;
    let page = browser.new_page().await.unwrap();
    page.goto(&format!("{base}/")).await.unwrap();

    // Page.crash is never answered: the renderer dies. The driver fails the
    // command (and everything after) as a crash, not a 30-second timeout.
    let err = page
        .call("Page.crash", serde_json::json!({}))
        .await
        .unwrap_err();
    match &err {
        BrowserError::Closed { reason, .. } => assert_eq!(reason, "the page crashed"),
        other => panic!("expected the crash to be named, got {other:?}"),
    }
    let err = page.eval("1").await.unwrap_err();
    assert!(err.to_string().contains("the page crashed"), "{err}");
    let err = page.text("#out").await.unwrap_err();
    assert!(matches!(err, BrowserError::Closed { .. }), "{err:?}");

    // Other tabs are unaffected.
    let other = browser.new_page().await.unwrap();
    assert_eq!(
        other.goto(&format!("{base}/")).await.unwrap().status(),
        Some(200)
    );
    assert_eq!(other.text("#out").await.unwrap(), "nobody yet");
}
