//! `orion-browser` owns Orion's browser tests' access to a real browser: it finds
//! Debian's headless Chromium, starts it with a throw-away profile and without any
//! background networking, and drives it over the Chrome DevTools Protocol (one
//! WebSocket, one flattened session per tab) so that the dashboard end-to-end test
//! and the backtest HTML report check can load pages, type, click, read text and
//! cookies, and see the page's JavaScript errors. It is a dev-only crate (never
//! published, used only as a dev-dependency) built on the workspace's own tokio,
//! tokio-tungstenite and serde_json, with no Node, npm or Playwright.
//!
//! Every wait has a timeout and fails with [`BrowserError::Timeout`] naming what
//! was awaited; nothing here panics.
//!
//! # Chromium
//!
//! Install it locally with `apt-get install -y chromium` (Debian/Ubuntu), or point
//! `ORION_CHROMIUM` at any Chromium or Chrome executable. When none is found,
//! [`Browser::launch`] returns `Ok(None)` and tests print a skip notice — except
//! when `ORION_REQUIRE_CHROMIUM=1` (CI sets it; `.ci/run` installs Chromium), where
//! absence is an error so browser tests cannot silently skip.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use orion_browser::Browser;
//!
//! # async fn demo() -> Result<(), orion_browser::BrowserError> {
//! let Some(browser) = Browser::launch().await? else {
//!     println!("skipping: chromium not installed");
//!     return Ok(());
//! };
//! let page = browser.new_page().await?;
//! let nav = page.goto("http://127.0.0.1:8080/login").await?;
//! assert_eq!(nav.status(), Some(200));
//! page.fill("#password", "hunter2").await?;
//! page.click_and_wait_for_load("button[type=submit]").await?;
//! page.wait_for("document.querySelectorAll('tr.pair').length > 0", Duration::from_secs(5)).await?;
//! let session = page.cookies().await?.into_iter().find(|c| c.name == "session");
//! assert!(session.is_some_and(|c| c.http_only));
//! assert!(page.console_errors().is_empty());
//! browser.close().await?;
//! # Ok(())
//! # }
//! ```

mod browser;
mod cdp;
mod error;
mod events;
mod page;

pub use browser::{Browser, CHROMIUM_ENV, LaunchOptions, REQUIRE_ENV};
pub use error::{BrowserError, Result};
pub use events::{ConsoleMessage, Dialog, DocumentResponse};
pub use page::{Cookie, Navigation, Page, SameSite};

/// Launches Chromium for a test, or says why not: `Ok(None)` after printing
/// `skipping: chromium not installed` when it is absent and not required.
///
/// # Errors
/// As [`Browser::launch`].
pub async fn launch_or_skip() -> Result<Option<Browser>> {
    let browser = Browser::launch().await?;
    if browser.is_none() {
        println!(
            "skipping: chromium not installed (apt-get install -y chromium, or set ORION_CHROMIUM)"
        );
    }
    Ok(browser)
}
