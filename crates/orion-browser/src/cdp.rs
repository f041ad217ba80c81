//! The DevTools connection: one WebSocket to the browser endpoint, commands matched
//! to replies by id, and events routed to the page (flattened session) they belong
//! to. A writer task owns the sink and a reader task owns the stream, so a command
//! never waits behind another command's reply.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::error::{BrowserError, Result};
use crate::events::SessionState;

/// What a waiting command receives.
enum Reply {
    /// The command's `result`.
    Result(Value),
    /// Chromium's error message for the command.
    Error(String),
    /// The page or the connection went away first; the reason.
    Gone(String),
}

struct Pending {
    /// The page session the command was sent on (`None`: the browser).
    session: Option<String>,
    tx: oneshot::Sender<Reply>,
}

/// Why commands fail once the WebSocket has closed.
const CONNECTION_CLOSED: &str = "the connection to chromium closed (did it exit?)";

/// Locks a mutex even if a panicking thread poisoned it: the guarded data are plain
/// maps and lists that stay consistent between statements, so the data are usable.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Default)]
struct Shared {
    next_id: AtomicU64,
    pending: Mutex<HashMap<u64, Pending>>,
    sessions: Mutex<HashMap<String, Arc<SessionState>>>,
    /// Set once the socket has closed; later commands fail at once.
    closed: Mutex<bool>,
}

/// A live DevTools connection. Dropping it stops both tasks.
pub(crate) struct Connection {
    outgoing: mpsc::UnboundedSender<String>,
    shared: Arc<Shared>,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").finish_non_exhaustive()
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.reader.abort();
        self.writer.abort();
    }
}

impl Connection {
    /// Opens the WebSocket to `url` (the `ws://…/devtools/browser/…` address).
    pub(crate) async fn connect(url: &str, timeout: Duration) -> Result<Self> {
        let connecting = tokio_tungstenite::connect_async(url);
        let (socket, _response) = tokio::time::timeout(timeout, connecting)
            .await
            .map_err(|_| BrowserError::Timeout {
                what: format!("the DevTools WebSocket {url} to open"),
                after: timeout,
            })?
            .map_err(|e| BrowserError::Connect {
                url: url.to_owned(),
                detail: e.to_string(),
            })?;
        let (mut sink, mut stream) = socket.split();
        let (outgoing, mut queue) = mpsc::unbounded_channel::<String>();
        let shared = Arc::new(Shared::default());

        let writer = tokio::spawn(async move {
            while let Some(text) = queue.recv().await {
                if sink.send(Message::text(text)).await.is_err() {
                    break;
                }
            }
        });

        let reader_shared = Arc::clone(&shared);
        let reader_outgoing = outgoing.clone();
        let reader = tokio::spawn(async move {
            while let Some(message) = stream.next().await {
                match message {
                    Ok(Message::Text(text)) => {
                        dispatch(&reader_shared, &reader_outgoing, text.as_str())
                    }
                    Ok(Message::Close(_)) | Err(_) => break,
                    Ok(_) => {}
                }
            }
            close_all(&reader_shared);
        });

        Ok(Self {
            outgoing,
            shared,
            reader,
            writer,
        })
    }

    /// Sends `method` (on the page `session`, or to the browser when `None`) and
    /// waits up to `timeout` for its reply's `result`.
    pub(crate) async fn call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value> {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let (Some(session), Some(object)) = (session, message.as_object_mut()) {
            object.insert("sessionId".to_owned(), Value::String(session.to_owned()));
        }
        let (tx, rx) = oneshot::channel();
        {
            // Checked under the pending lock so a close between the check and the
            // insert cannot strand this command: close_all drains under the same lock.
            let mut pending = lock(&self.shared.pending);
            if *lock(&self.shared.closed) {
                return Err(BrowserError::Closed {
                    reason: CONNECTION_CLOSED.to_owned(),
                    doing: format!("sending {method}"),
                });
            }
            let session = session.map(str::to_owned);
            pending.insert(id, Pending { session, tx });
        }
        if self.outgoing.send(message.to_string()).is_err() {
            lock(&self.shared.pending).remove(&id);
            return Err(BrowserError::Closed {
                reason: CONNECTION_CLOSED.to_owned(),
                doing: format!("sending {method}"),
            });
        }
        match tokio::time::timeout(timeout, rx).await {
            Err(_) => {
                lock(&self.shared.pending).remove(&id);
                Err(BrowserError::Timeout {
                    what: format!("chromium's reply to {method}"),
                    after: timeout,
                })
            }
            Ok(Err(_)) => Err(BrowserError::Closed {
                reason: CONNECTION_CLOSED.to_owned(),
                doing: format!("waiting for the reply to {method}"),
            }),
            Ok(Ok(Reply::Gone(reason))) => Err(BrowserError::Closed {
                reason,
                doing: format!("waiting for the reply to {method}"),
            }),
            Ok(Ok(Reply::Error(message))) => Err(BrowserError::Protocol {
                method: method.to_owned(),
                message,
            }),
            Ok(Ok(Reply::Result(result))) => Ok(result),
        }
    }

    /// Sends a command without waiting for (or expecting) its reply; used from Drop,
    /// where nothing can be awaited.
    pub(crate) fn send_and_forget(&self, session: Option<&str>, method: &str, params: Value) {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let (Some(session), Some(object)) = (session, message.as_object_mut()) {
            object.insert("sessionId".to_owned(), Value::String(session.to_owned()));
        }
        // A closed connection has nothing left to close: ignoring the error is right.
        let _ = self.outgoing.send(message.to_string());
    }

    /// Routes the events of `session` to `state` from now on.
    pub(crate) fn register(&self, session: &str, state: Arc<SessionState>) {
        // The sessions lock is held across the check so close_all, which sets the
        // flag before it walks the sessions, either sees this session or was seen.
        let mut sessions = lock(&self.shared.sessions);
        if *lock(&self.shared.closed) {
            state.mark_closed(CONNECTION_CLOSED);
        }
        sessions.insert(session.to_owned(), state);
    }

    /// Stops routing events to `session`.
    pub(crate) fn unregister(&self, session: &str) {
        lock(&self.shared.sessions).remove(session);
    }
}

/// Handles one message from Chromium: a reply completes its command, an event goes
/// to its session. Malformed messages are ignored: they cannot be attributed.
fn dispatch(shared: &Shared, outgoing: &mpsc::UnboundedSender<String>, text: &str) {
    let Ok(message) = serde_json::from_str::<Value>(text) else {
        return;
    };
    if let Some(id) = message.get("id").and_then(Value::as_u64) {
        let Some(pending) = lock(&shared.pending).remove(&id) else {
            return;
        };
        let reply = match message.get("error") {
            Some(error) => Reply::Error(
                error
                    .get("message")
                    .and_then(Value::as_str)
                    .map_or_else(|| error.to_string(), str::to_owned),
            ),
            None => Reply::Result(message.get("result").cloned().unwrap_or(Value::Null)),
        };
        // The caller may have timed out and gone; its reply is then moot.
        let _ = pending.tx.send(reply);
        return;
    }
    let Some(method) = message.get("method").and_then(Value::as_str) else {
        return;
    };
    let params = message.get("params").unwrap_or(&Value::Null);
    if method == "Target.detachedFromTarget" {
        // The browser-level notice that a page's session ended (tab closed).
        if let Some(session) = params.get("sessionId").and_then(Value::as_str) {
            end_session(shared, session, "the page was closed");
        }
        return;
    }
    let Some(session) = message.get("sessionId").and_then(Value::as_str) else {
        return;
    };
    if method == "Inspector.targetCrashed" {
        // Commands already sent to a crashed renderer are never answered: fail
        // them now rather than let each wait out its timeout.
        end_session(shared, session, "the page crashed");
        return;
    }
    let state = lock(&shared.sessions).get(session).cloned();
    if let Some(state) = state {
        state.apply(method, params);
        if method == "Page.javascriptDialogOpening" {
            // An open alert/confirm/prompt blocks the page's scripts, so every later
            // evaluation would hang until its timeout. Answer at once, from here,
            // because the test is probably awaiting a command that cannot finish
            // until the dialog is gone. The reply needs no handling.
            let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
            let answer = json!({
                "id": id,
                "sessionId": session,
                "method": "Page.handleJavaScriptDialog",
                "params": { "accept": state.accepts_dialogs() },
            });
            let _ = outgoing.send(answer.to_string());
        }
    }
}

/// A page's session ended: mark the page gone and fail its waiting commands.
fn end_session(shared: &Shared, session: &str, reason: &str) {
    if let Some(state) = lock(&shared.sessions).remove(session) {
        state.mark_closed(reason);
    }
    let mut pending = lock(&shared.pending);
    let ids: Vec<u64> = pending
        .iter()
        .filter(|(_, p)| p.session.as_deref() == Some(session))
        .map(|(id, _)| *id)
        .collect();
    for id in ids {
        if let Some(p) = pending.remove(&id) {
            let _ = p.tx.send(Reply::Gone(reason.to_owned()));
        }
    }
}

/// The socket closed: fail every waiting command and wake every waiting page.
fn close_all(shared: &Shared) {
    let mut pending = lock(&shared.pending);
    *lock(&shared.closed) = true;
    for (_, p) in pending.drain() {
        let _ = p.tx.send(Reply::Gone(CONNECTION_CLOSED.to_owned()));
    }
    drop(pending);
    for state in lock(&shared.sessions).values() {
        state.mark_closed(CONNECTION_CLOSED);
    }
}
