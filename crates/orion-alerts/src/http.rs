//! A minimal HTTPS client for alert delivery: hyper-util's pooled client
//! over hyper-rustls with the ring provider and the webpki roots (the same
//! TLS stack as the venue clients, without their venue-specific layers).
//!
//! Plain `http://` is accepted only to loopback addresses (tests' fake
//! servers): a bot token or webhook secret must never cross a network in
//! clear text. Errors never contain the URL, because the Telegram URL
//! carries the bot token and a webhook URL often carries a secret too.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Responses larger than this are refused (Telegram's are a few KiB; a
/// long-poll batch is at most 100 updates).
const MAX_BODY: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("the URL is not usable: {0}")]
    BadUrl(&'static str),
    #[error("no response within {0:?}")]
    Timeout(Duration),
    #[error("transport: {0}")]
    Transport(String),
    #[error("response body: {0}")]
    Body(String),
}

/// A pooled HTTPS client (cheap to clone).
#[derive(Clone)]
pub struct HttpClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HttpClient")
    }
}

impl HttpClient {
    pub fn new() -> Result<HttpClient, HttpError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)
            .map_err(|e| HttpError::Transport(format!("TLS setup: {e}")))?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .build(connector);
        Ok(HttpClient { client })
    }

    /// POSTs a JSON body and returns the status and body.
    pub async fn post_json(
        &self,
        uri: &Uri,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<(StatusCode, Bytes), HttpError> {
        self.post_json_with_headers(uri, body, timeout)
            .await
            .map(|(status, _, body)| (status, body))
    }

    /// Like [`HttpClient::post_json`], with the response headers.
    pub async fn post_json_with_headers(
        &self,
        uri: &Uri,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<(StatusCode, HeaderMap, Bytes), HttpError> {
        check_uri(uri)?;
        let request = Request::builder()
            .method(Method::POST)
            .uri(uri.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::USER_AGENT, "orion-alerts")
            .body(Full::new(Bytes::from(body)))
            .map_err(|_| HttpError::BadUrl("cannot build a request for it"))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| HttpError::Transport(error_chain(&e)))?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = Limited::new(response.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| HttpError::Body(e.to_string()))?
                .to_bytes();
            Ok((status, headers, body))
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| HttpError::Timeout(timeout))?
    }
}

/// The error and its sources, without the request (hyper's errors do not
/// print the URI, and nothing here adds it).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// https anywhere; http only to loopback.
pub fn check_uri(uri: &Uri) -> Result<(), HttpError> {
    let host = uri.host().ok_or(HttpError::BadUrl("it has no host"))?;
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if is_loopback(host) => Ok(()),
        Some("http") => Err(HttpError::BadUrl(
            "plain http:// is allowed only to 127.0.0.1, [::1] or localhost; use https://",
        )),
        _ => Err(HttpError::BadUrl("it must start with https://")),
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        let ok = |s: &str| check_uri(&s.parse::<Uri>().unwrap_or_default()).is_ok();
        assert!(ok("https://api.telegram.org/x"));
        assert!(ok("http://127.0.0.1:9/x"));
        assert!(ok("http://[::1]:9/x"));
        assert!(ok("http://localhost:9/x"));
        assert!(!ok("http://example.com/x"));
        assert!(!ok("http://10.0.0.1/x"));
        assert!(!ok("ftp://example.com/x"));
    }
}
