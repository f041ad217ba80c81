//! What a page's DevTools events tell us, kept per page: loads, the responses that
//! delivered its documents, and its console errors and uncaught exceptions. The
//! reader task writes here; waits in `Page` read here and are woken by a version
//! counter on a `watch` channel (no missed wake-ups: a waiter subscribes before it
//! looks).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;

use crate::cdp::lock;
use crate::error::{BrowserError, Result};

/// How many loads and document responses are remembered: enough for any test's
/// navigation history, bounded so a page that reloads in a loop cannot grow memory.
const KEEP: usize = 64;

/// One message from the page's console: a console API call, an uncaught
/// exception, or a message from the browser itself (a Content-Security-Policy
/// violation, a failed resource load).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleMessage {
    /// Who produced it: `console` (the page's console API calls), `exception`
    /// (uncaught exceptions and unhandled rejections), or the browser's own
    /// category: `security` (CSP), `network` (failed loads), `javascript`,
    /// `violation`, `deprecation`, …
    pub source: String,
    /// `log`, `info`, `warning`, `error`, `assert`, … for console calls (as the
    /// console API names them), `exception` for exceptions, and `verbose`, `info`,
    /// `warning` or `error` for the browser's messages.
    pub level: String,
    /// The message text: a console call's arguments joined by spaces, the
    /// exception's description, or the browser's message.
    pub text: String,
    /// The URL the browser's message concerns (the blocked or failed resource);
    /// empty for console calls and exceptions.
    pub url: String,
}

impl ConsoleMessage {
    /// Whether this is an error a test should fail on: `console.error`, a failed
    /// `console.assert`, an uncaught exception, or an error-level message from the
    /// browser such as a CSP violation. Failed network loads are not counted: the
    /// browser logs one for every non-2xx response, including the `favicon.ico` it
    /// asks for on its own and deliberate 401s; tests assert statuses through
    /// [`crate::Navigation`] instead. They are still listed by
    /// [`crate::Page::console`].
    #[must_use]
    pub fn is_error(&self) -> bool {
        matches!(self.level.as_str(), "error" | "assert" | "exception") && self.source != "network"
    }
}

/// A JavaScript dialog (`alert`, `confirm`, `prompt`, `beforeunload`) the page
/// opened. The driver answers each at once (see [`crate::Page::set_accept_dialogs`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    /// `alert`, `confirm`, `prompt` or `beforeunload`.
    pub kind: String,
    /// The text the page showed.
    pub message: String,
}

/// The HTTP response that delivered a page's document (after redirects).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentResponse {
    /// The loader (one per navigation) the document belongs to.
    pub loader_id: String,
    /// The final URL.
    pub url: String,
    /// The HTTP status.
    pub status: u16,
    /// The response's MIME type, e.g. `text/html`.
    pub mime_type: String,
}

#[derive(Debug, Default)]
pub(crate) struct PageEvents {
    /// `Page.loadEventFired` count: a navigation started by a click is complete
    /// when this moves.
    pub(crate) loads: u64,
    /// Loaders whose main-frame document reached `load` (lifecycle events), newest last.
    pub(crate) loaded: VecDeque<String>,
    /// Main-frame document responses, newest last.
    pub(crate) documents: VecDeque<DocumentResponse>,
    pub(crate) console: Vec<ConsoleMessage>,
    pub(crate) dialogs: Vec<Dialog>,
    /// Why the page is gone, once it is (crashed, closed, connection lost).
    pub(crate) closed: Option<String>,
}

impl PageEvents {
    pub(crate) fn document_for(&self, loader_id: &str) -> Option<&DocumentResponse> {
        self.documents
            .iter()
            .rev()
            .find(|d| d.loader_id == loader_id)
    }
}

/// One page's event record plus the channel that wakes its waiters.
#[derive(Debug)]
pub(crate) struct SessionState {
    /// The page's target id, which Chromium also uses as its main frame's id.
    main_frame: String,
    events: Mutex<PageEvents>,
    version: watch::Sender<u64>,
    /// How dialogs are answered: accepted (OK) unless a test says otherwise.
    accept_dialogs: AtomicBool,
}

impl SessionState {
    pub(crate) fn new(main_frame: String) -> Self {
        Self {
            main_frame,
            events: Mutex::new(PageEvents::default()),
            version: watch::Sender::new(0),
            accept_dialogs: AtomicBool::new(true),
        }
    }

    fn bump(&self) {
        self.version.send_modify(|v| *v = v.wrapping_add(1));
    }

    pub(crate) fn accepts_dialogs(&self) -> bool {
        self.accept_dialogs.load(Ordering::Relaxed)
    }

    pub(crate) fn set_accept_dialogs(&self, accept: bool) {
        self.accept_dialogs.store(accept, Ordering::Relaxed);
    }

    pub(crate) fn mark_closed(&self, reason: &str) {
        lock(&self.events)
            .closed
            .get_or_insert_with(|| reason.to_owned());
        self.bump();
    }

    /// Reads the record under its lock.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&PageEvents) -> T) -> T {
        f(&lock(&self.events))
    }

    /// Empties the console record (so a test can check one step at a time).
    pub(crate) fn clear_console(&self) {
        lock(&self.events).console.clear();
    }

    /// Records one event. Unknown events are ignored.
    pub(crate) fn apply(&self, method: &str, params: &Value) {
        let str_of = |v: &Value, key: &str| {
            v.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        {
            let mut events = lock(&self.events);
            match method {
                "Page.loadEventFired" => events.loads = events.loads.wrapping_add(1),
                "Page.lifecycleEvent" => {
                    if str_of(params, "name") == "load"
                        && str_of(params, "frameId") == self.main_frame
                    {
                        push_bounded(&mut events.loaded, str_of(params, "loaderId"));
                    }
                }
                "Network.responseReceived" => {
                    if str_of(params, "type") == "Document"
                        && str_of(params, "frameId") == self.main_frame
                    {
                        let response = params.get("response").unwrap_or(&Value::Null);
                        let status = response
                            .get("status")
                            .and_then(Value::as_u64)
                            .and_then(|s| u16::try_from(s).ok())
                            .unwrap_or(0);
                        let document = DocumentResponse {
                            loader_id: str_of(params, "loaderId"),
                            url: str_of(response, "url"),
                            status,
                            mime_type: str_of(response, "mimeType"),
                        };
                        push_bounded(&mut events.documents, document);
                    }
                }
                "Runtime.consoleAPICalled" => {
                    let text = params
                        .get("args")
                        .and_then(Value::as_array)
                        .map(|args| {
                            args.iter()
                                .map(remote_object_text)
                                .collect::<Vec<_>>()
                                .join(" ")
                        })
                        .unwrap_or_default();
                    events.console.push(ConsoleMessage {
                        source: "console".to_owned(),
                        level: str_of(params, "type"),
                        text,
                        url: String::new(),
                    });
                }
                "Runtime.exceptionThrown" => {
                    let details = params.get("exceptionDetails").unwrap_or(&Value::Null);
                    events.console.push(ConsoleMessage {
                        source: "exception".to_owned(),
                        level: "exception".to_owned(),
                        text: exception_text(details),
                        url: String::new(),
                    });
                }
                "Log.entryAdded" => {
                    let entry = params.get("entry").unwrap_or(&Value::Null);
                    events.console.push(ConsoleMessage {
                        source: str_of(entry, "source"),
                        level: str_of(entry, "level"),
                        text: str_of(entry, "text"),
                        url: str_of(entry, "url"),
                    });
                }
                "Page.javascriptDialogOpening" => events.dialogs.push(Dialog {
                    kind: str_of(params, "type"),
                    message: str_of(params, "message"),
                }),
                "Inspector.detached" => {
                    let reason = format!("the page was detached ({})", str_of(params, "reason"));
                    events.closed.get_or_insert(reason);
                }
                _ => return,
            }
        }
        self.bump();
    }

    /// Waits until `check` finds what it looks for in the record, up to `timeout`.
    /// `what` names the awaited thing in the timeout error.
    pub(crate) async fn wait<T>(
        &self,
        what: &(dyn Fn() -> String + Sync),
        timeout: Duration,
        mut check: impl FnMut(&PageEvents) -> Option<T>,
    ) -> Result<T> {
        let deadline = tokio::time::Instant::now() + timeout;
        // Subscribing before looking means an event that lands between the look and
        // the sleep still wakes us.
        let mut changes = self.version.subscribe();
        loop {
            {
                let events = lock(&self.events);
                if let Some(found) = check(&events) {
                    return Ok(found);
                }
                if let Some(reason) = &events.closed {
                    return Err(BrowserError::Closed {
                        reason: reason.clone(),
                        doing: format!("waiting for {}", what()),
                    });
                }
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                // The sender lives as long as this state: unreachable in practice,
                // but a closed channel can only mean the page is gone.
                Ok(Err(_)) => {
                    return Err(BrowserError::Closed {
                        reason: "the page was closed".to_owned(),
                        doing: format!("waiting for {}", what()),
                    });
                }
                Err(_) => {
                    return Err(BrowserError::Timeout {
                        what: what(),
                        after: timeout,
                    });
                }
            }
        }
    }
}

fn push_bounded<T>(list: &mut VecDeque<T>, item: T) {
    if list.len() >= KEEP {
        list.pop_front();
    }
    list.push_back(item);
}

/// The text a console would print for one argument (a CDP `RemoteObject`).
fn remote_object_text(object: &Value) -> String {
    match object.get("value") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => object
            .get("description")
            .or_else(|| object.get("unserializableValue"))
            .or_else(|| object.get("type"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    }
}

/// The description of an exception as DevTools reports it (`Error: boom\n at …`),
/// falling back to the short text (`Uncaught`) when there is no exception object.
pub(crate) fn exception_text(details: &Value) -> String {
    let exception = details.get("exception").unwrap_or(&Value::Null);
    let description = exception
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            exception
                .get("value")
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        });
    let text = details
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or("exception");
    match description {
        Some(description) if text == "Uncaught" || text == "Uncaught (in promise)" => {
            format!("{text} {description}")
        }
        Some(description) => description,
        None => text.to_owned(),
    }
}
