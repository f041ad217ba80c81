//! One tab, driven through its flattened DevTools session.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::browser::string_field;
use crate::cdp::Connection;
use crate::error::{BrowserError, Result, short_js};
use crate::events::{ConsoleMessage, Dialog, DocumentResponse, SessionState, exception_text};

/// How often `wait_for` re-evaluates its predicate. Short enough that a test does
/// not dawdle, long enough not to busy a shared two-core CI machine.
const POLL: Duration = Duration::from_millis(50);

/// The outcome of a navigation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Navigation {
    /// The URL that was asked for.
    pub requested: String,
    /// The response that delivered the document, after redirects; `None` when no
    /// HTTP response arrived (connection refused, `about:`/`data:` URLs, or a
    /// same-document navigation).
    pub response: Option<DocumentResponse>,
    /// Chromium's network error, e.g. `net::ERR_CONNECTION_REFUSED`, or
    /// `net::ERR_HTTP_RESPONSE_CODE_FAILURE` for an error status with an empty body
    /// (Chromium then shows its own error page; `response` still has the status).
    pub error_text: Option<String>,
}

impl Navigation {
    /// The HTTP status of the document, if one arrived.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        self.response.as_ref().map(|r| r.status)
    }

    /// Whether a document arrived with a 2xx status and no network error.
    #[must_use]
    pub fn is_ok(&self) -> bool {
        self.error_text.is_none() && self.status().is_some_and(|s| (200..300).contains(&s))
    }
}

/// `SameSite` attribute of a cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum SameSite {
    /// Sent only on same-site requests.
    Strict,
    /// Sent on same-site requests and top-level cross-site navigations.
    Lax,
    /// Sent on all requests (requires `Secure`).
    None,
}

/// A cookie as the browser stores it (`Network.getCookies`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cookie {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
    /// Domain.
    pub domain: String,
    /// Path.
    pub path: String,
    /// Whether scripts are denied access (`HttpOnly`).
    pub http_only: bool,
    /// Whether it is sent only over HTTPS (`Secure`).
    pub secure: bool,
    /// Whether it ends with the browser session (no `Expires`/`Max-Age`).
    pub session: bool,
    /// Expiry in seconds since the Unix epoch; `-1` for a session cookie. Kept as
    /// DevTools sends it (a float); tests compare it, never compute money with it.
    pub expires: f64,
    /// `SameSite`, when the server set it.
    #[serde(default)]
    pub same_site: Option<SameSite>,
}

/// A browser tab. Created by [`crate::Browser::new_page`]; closed when dropped.
pub struct Page {
    connection: Arc<Connection>,
    session_id: String,
    target_id: String,
    context_id: String,
    state: Arc<SessionState>,
    command_timeout: Duration,
    timeout: Duration,
    last_navigation: std::sync::Mutex<Option<Navigation>>,
}

impl std::fmt::Debug for Page {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Page")
            .field("target_id", &self.target_id)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        self.connection.unregister(&self.session_id);
        // Nothing can be awaited here; the browser closes the tab (and its private
        // context) on its own time, or goes away with the process.
        self.connection.send_and_forget(
            None,
            "Target.closeTarget",
            json!({ "targetId": self.target_id }),
        );
        self.connection.send_and_forget(
            None,
            "Target.disposeBrowserContext",
            json!({ "browserContextId": self.context_id }),
        );
    }
}

impl Page {
    pub(crate) fn new(
        connection: Arc<Connection>,
        session_id: String,
        target_id: String,
        context_id: String,
        state: Arc<SessionState>,
        command_timeout: Duration,
    ) -> Self {
        Self {
            connection,
            session_id,
            target_id,
            context_id,
            state,
            command_timeout,
            timeout: Duration::from_secs(10),
            last_navigation: std::sync::Mutex::new(None),
        }
    }

    pub(crate) async fn enable_domains(&self) -> Result<()> {
        for method in [
            "Page.enable",
            "Runtime.enable",
            "Network.enable",
            "Log.enable",
        ] {
            self.call(method, json!({})).await?;
        }
        self.call("Page.setLifecycleEventsEnabled", json!({ "enabled": true }))
            .await?;
        Ok(())
    }

    /// Sets how long navigations and element/predicate waits may take (default 10 s).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The current wait timeout.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends any DevTools command on this page's session and returns its `result`,
    /// for what the typed methods do not cover.
    ///
    /// # Errors
    /// Chromium answered with an error, did not answer in time, or is gone.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value> {
        if let Some(reason) = self.state.read(|e| e.closed.clone()) {
            return Err(BrowserError::Closed {
                reason,
                doing: format!("sending {method}"),
            });
        }
        self.connection
            .call(Some(&self.session_id), method, params, self.command_timeout)
            .await
    }

    /// Navigates to `url` and waits for its `load` event (up to the page timeout).
    ///
    /// An HTTP error status is not an error here: the returned [`Navigation`]
    /// carries the status (and Chromium's `error_text` if it showed its own error
    /// page), so a test can assert that a request was refused.
    ///
    /// # Errors
    /// Timeout waiting for the load, or the connection failed.
    pub async fn goto(&self, url: &str) -> Result<Navigation> {
        let loads_before = self.state.read(|e| e.loads);
        let reply = self.call("Page.navigate", json!({ "url": url })).await?;
        let error_text = reply
            .get("errorText")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        let loader_id = reply
            .get("loaderId")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let response = match (&loader_id, &error_text) {
            // A new document: wait for it to load, then find what delivered it.
            (Some(loader), None) => {
                let what = || format!("the load event of {url}");
                self.state
                    .wait(&what, self.timeout, |e| {
                        e.loaded.iter().any(|l| l == loader).then_some(())
                    })
                    .await?;
                self.state.read(|e| e.document_for(loader).cloned())
            }
            // Chromium's own error page: the document response, if any, came before
            // the navigate reply, but the error page is still loading. Let it finish
            // so its load event cannot be mistaken later for the next navigation's.
            (Some(loader), Some(error)) => {
                // An aborted navigation (a 204, a download) leaves the old document.
                if error != "net::ERR_ABORTED" {
                    self.settle_error_page(url, loads_before).await?;
                }
                self.state.read(|e| e.document_for(loader).cloned())
            }
            // Same-document navigation (fragment change): nothing loads.
            (None, _) => None,
        };
        let navigation = Navigation {
            requested: url.to_owned(),
            response,
            error_text,
        };
        *crate::cdp::lock(&self.last_navigation) = Some(navigation.clone());
        Ok(navigation)
    }

    /// Waits for the error page shown after a failed navigation to finish loading.
    /// The load event is awaited only briefly once the document reports itself
    /// complete, in case an unforeseen failure kind leaves the old document.
    async fn settle_error_page(&self, url: &str, loads_before: u64) -> Result<()> {
        self.wait_for_value("document.readyState === 'complete'", self.timeout, &|| {
            format!("the error page for {url} to finish loading")
        })
        .await?;
        let what = || format!("the load event of the error page for {url}");
        match self
            .state
            .wait(&what, Duration::from_secs(1), |e| {
                (e.loads != loads_before).then_some(())
            })
            .await
        {
            Ok(()) | Err(BrowserError::Timeout { .. }) => Ok(()),
            Err(other) => Err(other),
        }
    }

    /// The outcome of the last [`Page::goto`] or [`Page::click_and_wait_for_load`].
    #[must_use]
    pub fn last_navigation(&self) -> Option<Navigation> {
        crate::cdp::lock(&self.last_navigation).clone()
    }

    /// The response that delivered the current document, whatever navigated there
    /// (a `goto`, a form submission, a script).
    #[must_use]
    pub fn last_document(&self) -> Option<DocumentResponse> {
        self.state.read(|e| e.documents.back().cloned())
    }

    /// Evaluates `expression` in the page (promises are awaited) and returns its
    /// value as JSON (`undefined` becomes `null`; DOM nodes are not serializable
    /// and come back as `{}`).
    ///
    /// # Errors
    /// [`BrowserError::Js`] with the exception's message when the script throws or
    /// its promise rejects; otherwise a connection error or timeout.
    pub async fn eval(&self, expression: &str) -> Result<Value> {
        let reply = self
            .call(
                "Runtime.evaluate",
                json!({
                    "expression": expression,
                    "returnByValue": true,
                    "awaitPromise": true,
                    "userGesture": true,
                }),
            )
            .await?;
        if let Some(details) = reply.get("exceptionDetails") {
            return Err(BrowserError::Js {
                expression: short_js(expression),
                message: exception_text(details),
            });
        }
        Ok(reply
            .get("result")
            .and_then(|r| r.get("value"))
            .cloned()
            .unwrap_or(Value::Null))
    }

    /// Polls the JavaScript `predicate` until it is truthy, up to `timeout`.
    /// Exceptions while polling count as "not yet" (the page may be between
    /// documents); the last one is reported if the wait times out.
    ///
    /// # Errors
    /// [`BrowserError::Timeout`] naming the predicate.
    pub async fn wait_for(&self, predicate: &str, timeout: Duration) -> Result<()> {
        self.wait_for_value(predicate, timeout, &|| {
            format!("`{}` to be true", short_js(predicate))
        })
        .await
        .map(|_| ())
    }

    /// " on <url> (status N)" for the current document, so a timeout says where
    /// the page was (often the real cause: a login that bounced, an error page).
    fn where_now(&self) -> String {
        match self.last_document() {
            Some(d) => format!(" on {} (HTTP {})", d.url, d.status),
            None => String::new(),
        }
    }

    /// Polls `expression` until it yields a truthy value and returns that value.
    async fn wait_for_value(
        &self,
        expression: &str,
        timeout: Duration,
        what: &(dyn Fn() -> String + Sync),
    ) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut last_error = None;
        loop {
            match self.eval(expression).await {
                Ok(value) if truthy(&value) => return Ok(value),
                Ok(_) => {}
                // Between documents there is briefly no context to evaluate in
                // ("Execution context was destroyed"), and the new page's script
                // may not have defined what the predicate reads yet: both mean
                // "not yet". A persistent error is reported when the wait ends.
                Err(BrowserError::Js { message, .. } | BrowserError::Protocol { message, .. }) => {
                    last_error = Some(message);
                }
                Err(other) => return Err(other),
            }
            if tokio::time::Instant::now() + POLL > deadline {
                let what = match last_error {
                    Some(error) => format!("{} (last JavaScript error: {error})", what()),
                    None => what(),
                };
                return Err(BrowserError::Timeout {
                    what: format!("{what}{}", self.where_now()),
                    after: timeout,
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits (up to the page timeout) until `selector` matches an element.
    ///
    /// # Errors
    /// [`BrowserError::Timeout`] naming the selector.
    pub async fn wait_for_selector(&self, selector: &str) -> Result<()> {
        let sel = js_string(selector);
        self.wait_for_value(
            &format!("document.querySelector({sel}) !== null"),
            self.timeout,
            &|| format!("element `{selector}`"),
        )
        .await
        .map(|_| ())
    }

    /// Types `text` into the input matched by `selector`, replacing its value, as
    /// a user would (focus, then real text input events), then fires `change`.
    ///
    /// # Errors
    /// The element does not appear in time, cannot take focus, or its value did
    /// not become `text` (e.g. `maxlength`).
    pub async fn fill(&self, selector: &str, text: &str) -> Result<()> {
        self.wait_for_selector(selector).await?;
        let sel = js_string(selector);
        let focused = self
            .eval(&format!(
                "(() => {{ const el = document.querySelector({sel}); if (!el) return 'gone';
                   if (!('value' in el)) return 'not an input';
                   el.focus(); el.value = '';
                   return document.activeElement === el ? 'ok' : 'cannot take focus'; }})()"
            ))
            .await?;
        if focused != "ok" {
            return Err(BrowserError::Element {
                selector: selector.to_owned(),
                problem: focused.as_str().unwrap_or("cannot be filled").to_owned(),
            });
        }
        if !text.is_empty() {
            self.call("Input.insertText", json!({ "text": text }))
                .await?;
        }
        let value = self
            .eval(&format!(
                "(() => {{ const el = document.querySelector({sel});
                   el.dispatchEvent(new Event('change', {{ bubbles: true }})); return el.value; }})()"
            ))
            .await?;
        if value != text {
            return Err(BrowserError::Element {
                selector: selector.to_owned(),
                problem: format!("value is {value} after typing {text:?}"),
            });
        }
        Ok(())
    }

    /// Clicks the element matched by `selector` with a real mouse click at its
    /// centre, after waiting (up to the page timeout) for it to be visible and not
    /// covered by another element. Does not wait for what the click causes.
    ///
    /// # Errors
    /// [`BrowserError::Timeout`] naming the selector and why it was not clickable.
    pub async fn click(&self, selector: &str) -> Result<()> {
        let sel = js_string(selector);
        // Returns the centre point when clickable, or a string saying why not.
        let probe = format!(
            "(() => {{ const el = document.querySelector({sel}); if (!el) return 'not found';
               el.scrollIntoView({{ block: 'center', inline: 'center' }});
               const r = el.getBoundingClientRect();
               if (r.width === 0 || r.height === 0) return 'not visible (zero size)';
               const x = r.left + r.width / 2, y = r.top + r.height / 2;
               const hit = document.elementFromPoint(x, y);
               if (hit !== el && !el.contains(hit)) return 'covered by ' + (hit ? hit.tagName.toLowerCase() : 'nothing');
               if (el.disabled) return 'disabled';
               return {{ x, y }}; }})()"
        );
        let deadline = tokio::time::Instant::now() + self.timeout;
        let point = loop {
            // As in wait_for_value, an evaluation error while the page is changing
            // documents is a reason to look again, not to give up.
            let why = match self.eval(&probe).await {
                Ok(value) if value.is_object() => break value,
                Ok(value) => value.as_str().unwrap_or("not clickable").to_owned(),
                Err(BrowserError::Js { message, .. } | BrowserError::Protocol { message, .. }) => {
                    message
                }
                Err(other) => return Err(other),
            };
            if tokio::time::Instant::now() + POLL > deadline {
                return Err(BrowserError::Timeout {
                    what: format!(
                        "element `{selector}` to be clickable (last: {why}){}",
                        self.where_now()
                    ),
                    after: self.timeout,
                });
            }
            tokio::time::sleep(POLL).await;
        };
        let x = point.get("x").cloned().unwrap_or(Value::Null);
        let y = point.get("y").cloned().unwrap_or(Value::Null);
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 }),
            )
            .await?;
        }
        Ok(())
    }

    /// Clicks `selector` and waits for the navigation it causes (a form submission,
    /// a link) to load; returns the new document's response.
    ///
    /// # Errors
    /// As [`Page::click`], or [`BrowserError::Timeout`] if no page loads.
    pub async fn click_and_wait_for_load(&self, selector: &str) -> Result<Navigation> {
        let before = self.state.read(|e| e.loads);
        self.click(selector).await?;
        let what = || format!("a page load after clicking `{selector}`");
        self.state
            .wait(&what, self.timeout, |e| (e.loads != before).then_some(()))
            .await?;
        let navigation = Navigation {
            requested: format!("click on {selector}"),
            response: self.last_document(),
            error_text: None,
        };
        *crate::cdp::lock(&self.last_navigation) = Some(navigation.clone());
        Ok(navigation)
    }

    /// The rendered text (`innerText`) of the element matched by `selector`,
    /// waiting for it to appear.
    ///
    /// # Errors
    /// [`BrowserError::Timeout`] naming the selector.
    pub async fn text(&self, selector: &str) -> Result<String> {
        self.wait_for_selector(selector).await?;
        let sel = js_string(selector);
        let value = self
            .eval(&format!(
                "(() => {{ const el = document.querySelector({sel}); return el ? el.innerText : null; }})()"
            ))
            .await?;
        match value {
            Value::String(text) => Ok(text),
            _ => Err(BrowserError::Element {
                selector: selector.to_owned(),
                problem: "disappeared before its text was read".to_owned(),
            }),
        }
    }

    /// The current URL.
    ///
    /// # Errors
    /// The connection failed.
    pub async fn url(&self) -> Result<String> {
        let value = self.eval("location.href").await?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    /// The cookies the browser would send to the current page's URL, including
    /// `HttpOnly` ones that scripts cannot see.
    ///
    /// # Errors
    /// Chromium's reply did not decode, or the connection failed.
    pub async fn cookies(&self) -> Result<Vec<Cookie>> {
        let reply = self.call("Network.getCookies", json!({})).await?;
        let cookies = reply.get("cookies").cloned().unwrap_or(Value::Null);
        serde_json::from_value(cookies).map_err(|e| BrowserError::Decode {
            method: "Network.getCookies".to_owned(),
            detail: e.to_string(),
        })
    }

    /// A PNG of the viewport, for saving when a test fails.
    ///
    /// # Errors
    /// Chromium failed to capture, or sent invalid base64.
    pub async fn screenshot_png(&self) -> Result<Vec<u8>> {
        let reply = self
            .call("Page.captureScreenshot", json!({ "format": "png" }))
            .await?;
        let data = string_field(&reply, "data", "Page.captureScreenshot")?;
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| BrowserError::Decode {
                method: "Page.captureScreenshot".to_owned(),
                detail: format!("data is not base64: {e}"),
            })
    }

    /// Saves [`Page::screenshot_png`] to `path`, e.g. under `target/` when a test
    /// is about to fail.
    ///
    /// # Errors
    /// The capture failed or the file could not be written.
    pub async fn save_screenshot(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        let png = self.screenshot_png().await?;
        let path = path.as_ref();
        std::fs::write(path, png).map_err(|source| BrowserError::Io {
            doing: format!("write the screenshot {}", path.display()),
            source,
        })
    }

    /// Everything the page logged to its console, and its uncaught exceptions,
    /// since it opened or since [`Page::clear_console`].
    #[must_use]
    pub fn console(&self) -> Vec<ConsoleMessage> {
        self.state.read(|e| e.console.clone())
    }

    /// Only the errors among [`Page::console`] (see [`ConsoleMessage::is_error`]):
    /// `console.error`, failed `console.assert`, uncaught exceptions, unhandled
    /// rejections and CSP violations. Exceptions in scripts run by [`Page::eval`]
    /// are returned to the caller, not listed here.
    #[must_use]
    pub fn console_errors(&self) -> Vec<ConsoleMessage> {
        self.state
            .read(|e| e.console.iter().filter(|m| m.is_error()).cloned().collect())
    }

    /// The dialogs (`alert`, `confirm`, `prompt`, `beforeunload`) the page has
    /// opened, oldest first. Each was answered at once, so none blocks the page.
    #[must_use]
    pub fn dialogs(&self) -> Vec<Dialog> {
        self.state.read(|e| e.dialogs.clone())
    }

    /// How later dialogs are answered: accepted (OK; the default, so a `confirm`
    /// before a dangerous control goes ahead) or dismissed (Cancel). A `prompt`
    /// accepted this way returns its default text.
    pub fn set_accept_dialogs(&self, accept: bool) {
        self.state.set_accept_dialogs(accept);
    }

    /// Forgets the console messages recorded so far.
    pub fn clear_console(&self) {
        self.state.clear_console();
    }

    /// Waits until a console message matching `matches` arrives (or is already
    /// recorded) and returns the first such message. `what` describes it for the
    /// timeout error.
    ///
    /// # Errors
    /// [`BrowserError::Timeout`] naming `what` if none arrives within the page timeout.
    pub async fn wait_for_console(
        &self,
        what: &str,
        matches: impl Fn(&ConsoleMessage) -> bool + Send,
    ) -> Result<ConsoleMessage> {
        let describe = || format!("a console message: {what}");
        self.state
            .wait(&describe, self.timeout, |e| {
                e.console.iter().find(|m| matches(m)).cloned()
            })
            .await
    }

    /// Waits until the page has logged at least one error (see
    /// [`Page::console_errors`]) and returns them all.
    ///
    /// # Errors
    /// [`BrowserError::Timeout`] if none arrives within the page timeout.
    pub async fn wait_for_console_error(&self) -> Result<Vec<ConsoleMessage>> {
        let what = || "a console error or uncaught exception".to_owned();
        self.state
            .wait(&what, self.timeout, |e| {
                let errors: Vec<_> = e.console.iter().filter(|m| m.is_error()).cloned().collect();
                (!errors.is_empty()).then_some(errors)
            })
            .await
    }
}

/// A Rust string as a JavaScript string literal (JSON string syntax is valid JS).
fn js_string(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

/// JavaScript truthiness of a JSON value.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}
    fn assert_send_sync<T: Send + Sync>() {}

    /// Tests may run on a multi-threaded runtime and spawn page work: the types and
    /// their futures must be Send. A compile-time check; the body never runs a page.
    #[test]
    fn pages_and_their_futures_are_send() {
        assert_send_sync::<Page>();
        assert_send_sync::<crate::Browser>();
        fn futures(page: &Page) {
            assert_send(&page.goto("about:blank"));
            assert_send(&page.eval("1"));
            assert_send(&page.wait_for("true", Duration::from_secs(1)));
            assert_send(&page.fill("#a", "b"));
            assert_send(&page.click("#a"));
            assert_send(&page.click_and_wait_for_load("#a"));
            assert_send(&page.text("#a"));
            assert_send(&page.cookies());
            assert_send(&page.screenshot_png());
            assert_send(&page.save_screenshot("x.png"));
            assert_send(&page.wait_for_console_error());
            assert_send(&page.wait_for_console("x", |m| m.is_error()));
        }
        let _ = futures;
    }

    #[test]
    fn truthiness_follows_javascript() {
        for falsy in [json!(null), json!(false), json!(0), json!(0.0), json!("")] {
            assert!(!truthy(&falsy), "{falsy}");
        }
        for truthy_value in [
            json!(true),
            json!(1),
            json!(-0.5),
            json!("0"),
            json!([]),
            json!({}),
        ] {
            assert!(truthy(&truthy_value), "{truthy_value}");
        }
    }

    #[test]
    fn selectors_become_safe_javascript_string_literals() {
        assert_eq!(js_string(r#"a[name="x"]"#), r#""a[name=\"x\"]""#);
        assert_eq!(js_string("it's\n"), r#""it's\n""#);
    }
}
