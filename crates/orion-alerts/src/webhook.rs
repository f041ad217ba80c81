//! The generic webhook: one JSON POST per message.
//!
//! Body: `{"severity": "info"|"warning"|"critical", "key": ..., "message":
//! ..., "at": RFC 3339 (UTC, milliseconds), "count": N}` where `count` is how
//! many alerts the message stands for (1 for a first alert, the repeats for a
//! coalescing summary, the drops for a drop note).
//!
//! The URL comes from the vault and may embed a secret (many chat services'
//! incoming-webhook URLs do), so it is never logged or put in an error.

use std::time::Duration;

use http::Uri;
use serde_json::{Value, json};

use crate::http::{HttpClient, HttpError};
use crate::throttle::Outgoing;

#[derive(Debug, Clone, thiserror::Error)]
pub enum WebhookError {
    #[error("webhook URL: {0}")]
    Config(String),
    #[error("webhook answered {status}")]
    Status {
        status: u16,
        /// From a `Retry-After: <seconds>` header (429 and 503 send it).
        retry_after: Option<Duration>,
    },
    #[error("webhook request failed: {0}")]
    Transport(String),
}

impl WebhookError {
    pub fn is_transient(&self) -> bool {
        match self {
            WebhookError::Config(_) => false,
            WebhookError::Status { status, .. } => *status == 429 || *status >= 500,
            WebhookError::Transport(_) => true,
        }
    }
}

/// The JSON body for one message.
pub fn body(message: &Outgoing) -> Value {
    json!({
        "severity": message.severity(),
        "key": message.key(),
        "message": message.message(),
        "at": message.at().to_string(),
        "count": message.count(),
    })
}

/// A webhook destination.
#[derive(Clone)]
pub struct Webhook {
    http: HttpClient,
    uri: Uri,
    timeout: Duration,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The host only: the path and query may hold a secret.
        f.debug_struct("Webhook")
            .field("host", &self.uri.host().unwrap_or("?"))
            .finish()
    }
}

impl Webhook {
    pub fn new(http: HttpClient, url: &str, timeout: Duration) -> Result<Webhook, WebhookError> {
        let uri = url
            .trim()
            .parse::<Uri>()
            .map_err(|_| WebhookError::Config("not a valid URL".into()))?;
        crate::http::check_uri(&uri).map_err(|e| WebhookError::Config(e.to_string()))?;
        Ok(Webhook { http, uri, timeout })
    }

    pub async fn post(&self, message: &Outgoing) -> Result<(), WebhookError> {
        let bytes = serde_json::to_vec(&body(message))
            .map_err(|e| WebhookError::Config(format!("cannot encode the body: {e}")))?;
        let (status, headers, _body) = self
            .http
            .post_json_with_headers(&self.uri, bytes, self.timeout)
            .await
            .map_err(|e| match e {
                HttpError::BadUrl(why) => WebhookError::Config(why.to_string()),
                other => WebhookError::Transport(other.to_string()),
            })?;
        if status.is_success() {
            return Ok(());
        }
        // Only the delay-seconds form; an HTTP date falls back to backoff.
        let retry_after = headers
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        Err(WebhookError::Status {
            status: status.as_u16(),
            retry_after,
        })
    }
}
