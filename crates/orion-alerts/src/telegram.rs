//! The Telegram Bot API calls Orion uses: `sendMessage` and `getUpdates`.
//!
//! The bot token is part of every request URL (`{base}/bot{token}/{method}`),
//! so it lives in a [`BotToken`] whose `Debug` prints `***`, URLs are never
//! logged, and every error text is passed through [`BotToken::mask`] before
//! it leaves this module.

use std::time::Duration;

use http::Uri;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::{HttpClient, HttpError};

/// Telegram refuses longer messages (4096 characters); leave room.
const MAX_TEXT_CHARS: usize = 4000;

/// A Telegram bot token. Never printed.
#[derive(Clone)]
pub struct BotToken(String);

impl BotToken {
    /// Checks the token's shape (`<digits>:<letters, digits, _ or ->`) so
    /// it cannot alter the URL; the error never contains the token.
    pub fn new(token: &str) -> Result<BotToken, TelegramError> {
        let token = token.trim();
        let shape_ok = token.split_once(':').is_some_and(|(id, secret)| {
            !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_digit())
                && !secret.is_empty()
                && secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        });
        if !shape_ok {
            return Err(TelegramError::Config(
                "the bot token is not of the form <digits>:<letters, digits, _ or ->".into(),
            ));
        }
        Ok(BotToken(token.to_string()))
    }

    /// `text` with every occurrence of the token replaced by `***`.
    pub fn mask(&self, text: &str) -> String {
        text.replace(&self.0, "***")
    }
}

impl std::fmt::Debug for BotToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BotToken(***)")
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum TelegramError {
    #[error("telegram configuration: {0}")]
    Config(String),
    /// HTTP 429; `retry_after` from the response's `parameters`.
    #[error("telegram rate limit: retry after {retry_after:?}")]
    RateLimited { retry_after: Option<Duration> },
    /// 5xx: worth retrying.
    #[error("telegram server error {status}: {description}")]
    Server { status: u16, description: String },
    /// 4xx other than 429: retrying will not help (bad chat id, token
    /// revoked, bot blocked).
    #[error("telegram refused the request ({status}): {description}")]
    Refused { status: u16, description: String },
    #[error("telegram request failed: {0}")]
    Transport(String),
    #[error("telegram answer not understood: {0}")]
    Decode(String),
}

impl TelegramError {
    /// Whether sending again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            TelegramError::RateLimited { .. }
                | TelegramError::Server { .. }
                | TelegramError::Transport(_)
        )
    }
}

/// One update from `getUpdates` (only the parts Orion reads).
#[derive(Debug, Clone, Deserialize)]
pub struct Update {
    pub update_id: i64,
    #[serde(default)]
    pub message: Option<Message>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    /// Unix seconds.
    pub date: i64,
    pub chat: Chat,
    #[serde(default)]
    pub text: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Chat {
    pub id: i64,
}

#[derive(Debug, Deserialize)]
struct ApiAnswer {
    ok: bool,
    #[serde(default)]
    result: Value,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<ResponseParameters>,
}

#[derive(Debug, Deserialize)]
struct ResponseParameters {
    #[serde(default)]
    retry_after: Option<u64>,
}

/// A Telegram Bot API client.
#[derive(Clone)]
pub struct TelegramApi {
    http: HttpClient,
    base: String,
    token: BotToken,
    timeout: Duration,
}

impl std::fmt::Debug for TelegramApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramApi")
            .field("base", &self.base)
            .field("token", &self.token)
            .finish()
    }
}

impl TelegramApi {
    /// `base` is the API root (`https://api.telegram.org`); `timeout`
    /// bounds each call (long polls add their poll time).
    pub fn new(
        http: HttpClient,
        base: &str,
        token: BotToken,
        timeout: Duration,
    ) -> Result<TelegramApi, TelegramError> {
        let base = base.trim_end_matches('/').to_string();
        let api = TelegramApi {
            http,
            base,
            token,
            timeout,
        };
        // Validate the URL shape once, up front.
        let uri = api.uri("getMe")?;
        crate::http::check_uri(&uri)
            .map_err(|e| TelegramError::Config(format!("telegram_api_url: {e}")))?;
        Ok(api)
    }

    /// The token, for masking text that might contain it.
    pub fn token(&self) -> &BotToken {
        &self.token
    }

    fn uri(&self, method: &str) -> Result<Uri, TelegramError> {
        format!("{}/bot{}/{method}", self.base, self.token.0)
            .parse::<Uri>()
            .map_err(|_| TelegramError::Config("telegram_api_url is not a valid URL".into()))
    }

    async fn call(
        &self,
        method: &str,
        body: Value,
        timeout: Duration,
    ) -> Result<Value, TelegramError> {
        let uri = self.uri(method)?;
        let bytes = serde_json::to_vec(&body).map_err(|e| TelegramError::Decode(e.to_string()))?;
        let (status, body) =
            self.http
                .post_json(&uri, bytes, timeout)
                .await
                .map_err(|e| match e {
                    HttpError::BadUrl(why) => {
                        TelegramError::Config(format!("telegram_api_url: {why}"))
                    }
                    other => TelegramError::Transport(self.token.mask(&other.to_string())),
                })?;
        let answer: Option<ApiAnswer> = serde_json::from_slice(&body).ok();
        let description = || {
            let text = answer
                .as_ref()
                .and_then(|a| a.description.clone())
                .unwrap_or_else(|| {
                    String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()
                });
            self.token.mask(&text)
        };
        if status.as_u16() == 429 {
            let retry_after = answer
                .as_ref()
                .and_then(|a| a.parameters.as_ref())
                .and_then(|p| p.retry_after)
                .map(Duration::from_secs);
            return Err(TelegramError::RateLimited { retry_after });
        }
        if status.is_server_error() {
            return Err(TelegramError::Server {
                status: status.as_u16(),
                description: description(),
            });
        }
        match &answer {
            Some(a) if status.is_success() && a.ok => Ok(a.result.clone()),
            None if status.is_success() => Err(TelegramError::Decode(format!(
                "{method}: the body is not a Bot API answer"
            ))),
            _ => Err(TelegramError::Refused {
                status: status.as_u16(),
                description: description(),
            }),
        }
    }

    /// Sends plain text (no parse mode, so nothing needs escaping).
    pub async fn send_message(&self, chat_id: &str, text: &str) -> Result<(), TelegramError> {
        let text = truncate(text, MAX_TEXT_CHARS);
        let chat: Value = match chat_id.trim().parse::<i64>() {
            Ok(id) => json!(id),
            Err(_) => json!(chat_id.trim()),
        };
        self.call(
            "sendMessage",
            json!({ "chat_id": chat, "text": text, "disable_web_page_preview": true }),
            self.timeout,
        )
        .await
        .map(|_| ())
    }

    /// Long-polls for updates after `offset` (which also confirms every
    /// update below it to Telegram), waiting up to `poll` for one.
    pub async fn get_updates(
        &self,
        offset: Option<i64>,
        poll: Duration,
    ) -> Result<Vec<Update>, TelegramError> {
        let mut body = json!({ "timeout": poll.as_secs(), "allowed_updates": ["message"] });
        if let Some(offset) = offset {
            body["offset"] = json!(offset);
        }
        let result = self
            .call("getUpdates", body, self.timeout.saturating_add(poll))
            .await?;
        serde_json::from_value(result)
            .map_err(|e| TelegramError::Decode(format!("getUpdates: {e}")))
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shape_is_checked_without_echoing_it() {
        assert!(BotToken::new("123456:ABC-def_9").is_ok());
        for bad in ["", "abc:def", "123:", "123:a/b", "123:a?b", "123"] {
            let err = BotToken::new(bad)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("bot token"), "{bad:?} → {err}");
        }
        let err = BotToken::new("123:secret/../x")
            .err()
            .map(|e| e.to_string());
        assert!(!err.unwrap_or_default().contains("secret"));
    }

    #[test]
    fn token_is_masked_in_debug_and_text() {
        let token = BotToken::new("42:s3cr3t").unwrap_or_else(|_| unreachable!());
        assert_eq!(format!("{token:?}"), "BotToken(***)");
        assert_eq!(token.mask("GET /bot42:s3cr3t/x"), "GET /bot***/x");
    }

    #[test]
    fn long_text_is_cut_on_a_char_boundary() {
        let text = "é".repeat(5000);
        let cut = truncate(&text, 4000);
        assert_eq!(cut.chars().count(), 4001);
        assert_eq!(truncate("short", 4000), "short");
    }
}
