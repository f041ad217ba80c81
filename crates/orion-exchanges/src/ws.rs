//! WebSocket connections for both venues: tokio-tungstenite over our own
//! transport (plain TCP to loopback, or rustls with the ring provider and
//! the same roots and pins as the HTTP stack), so no TLS backend of
//! tungstenite's own (and no aws-lc or OpenSSL) is pulled in.
//!
//! It also holds the one reconnect supervisor both venues' market-data
//! streams run ([`supervise`]): connect, announce `Connected`, run the
//! venue's session, announce `Disconnected` with the reason, back off with
//! jitter and try again. The venue-specific parts (upgrade headers, the
//! session itself) come through the small [`VenueStream`] trait. Shared
//! reading rules live here too: a message or frame over
//! [`MAX_MESSAGE_BYTES`] ends the connection with a named reason (the
//! supervisor reconnects and the books are resent), and an undecodable
//! message is counted in `orion_md_decode_errors_total{venue}` and logged
//! with the venue and the field ([`count_bad_message`]); each venue decides
//! which books it can no longer trust.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use http::Uri;
use http::header::{HeaderName, HeaderValue};
use orion_core::{MarketEvent, Venue};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::CapacityError;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};

use crate::decode::DecodeError;
use crate::http::{Backoff, SpkiPin, check_scheme, tls};

/// Largest WebSocket message, and largest single frame, a market-data
/// stream accepts: 16 MiB. The biggest real messages are book snapshots:
/// the recorded samples in `shared/data` top out near 10 KB for one
/// Polymarket `book` and a few KB for a Kalshi `orderbook_snapshot`; a
/// Kalshi book at the 0.001 tick on both sides (about 2,000 levels) is
/// under 100 KB, and a Polymarket initial dump of several hundred assets a
/// few MB. 16 MiB leaves two orders of magnitude while bounding what a
/// broken or hostile peer can make us buffer (tungstenite's own default
/// allows 64 MiB messages).
pub const MAX_MESSAGE_BYTES: usize = 16 << 20;

/// Plain TCP (loopback only) or TLS.
#[derive(Debug)]
pub enum WsIo {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for WsIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WsIo::Plain(s) => Pin::new(s).poll_read(cx, buf),
            WsIo::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for WsIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WsIo::Plain(s) => Pin::new(s).poll_write(cx, buf),
            WsIo::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WsIo::Plain(s) => Pin::new(s).poll_flush(cx),
            WsIo::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WsIo::Plain(s) => Pin::new(s).poll_shutdown(cx),
            WsIo::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

pub type Ws = WebSocketStream<WsIo>;

/// Why a connection attempt failed; `auth` when the upgrade was refused
/// with 401/403.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectError {
    pub auth: bool,
    pub detail: String,
}

fn fail(detail: impl Into<String>) -> ConnectError {
    ConnectError {
        auth: false,
        detail: detail.into(),
    }
}

/// Opens `url` (`ws://` to loopback or `wss://`) with extra upgrade headers;
/// messages and frames above `max_message_bytes` are refused on read.
pub async fn connect(
    url: &str,
    headers: Vec<(HeaderName, HeaderValue)>,
    pins: &[SpkiPin],
    timeout: Duration,
    max_message_bytes: usize,
) -> Result<Ws, ConnectError> {
    let uri: Uri = url.parse().map_err(|e| fail(format!("bad URL: {e}")))?;
    check_scheme(&uri).map_err(|e| fail(e.to_string()))?;
    let host = uri
        .host()
        .ok_or_else(|| fail("URL has no host"))?
        .to_string();
    let tls = uri.scheme_str() == Some("wss");
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let fut = async {
        let tcp = TcpStream::connect((host.trim_start_matches('[').trim_end_matches(']'), port))
            .await
            .map_err(|e| fail(format!("connect: {e}")))?;
        tcp.set_nodelay(true).map_err(|e| fail(e.to_string()))?;
        let io = if tls {
            let config = tls::client_config(pins, &[b"http/1.1"]).map_err(fail)?;
            let name = ServerName::try_from(host.clone())
                .map_err(|e| fail(format!("server name: {e}")))?;
            let stream = TlsConnector::from(Arc::new(config))
                .connect(name, tcp)
                .await
                .map_err(|e| fail(format!("TLS: {e}")))?;
            WsIo::Tls(Box::new(stream))
        } else {
            WsIo::Plain(tcp)
        };
        let mut request = url
            .into_client_request()
            .map_err(|e| fail(format!("request: {e}")))?;
        for (k, v) in headers {
            request.headers_mut().insert(k, v);
        }
        let limits = WebSocketConfig::default()
            .max_message_size(Some(max_message_bytes))
            .max_frame_size(Some(max_message_bytes));
        match tokio_tungstenite::client_async_with_config(request, io, Some(limits)).await {
            Ok((ws, _)) => Ok(ws),
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(ConnectError {
                auth: matches!(resp.status().as_u16(), 401 | 403),
                detail: format!("upgrade refused with HTTP {}", resp.status()),
            }),
            Err(e) => Err(fail(format!("handshake: {e}"))),
        }
    };
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| fail(format!("no connection within {timeout:?}")))?
}

// ------------------------------------------------------------ supervisor

/// How to reach a venue's stream; read again before every attempt.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub url: String,
    pub backoff: Backoff,
    pub connect_timeout: Duration,
    pub pins: Vec<SpkiPin>,
    pub max_message_bytes: usize,
}

/// Why a session ended.
#[derive(Debug)]
pub(crate) enum End {
    /// The handle was dropped: stop for good.
    Stop,
    /// The stream died or cannot be trusted: reconnect.
    Lost(String),
}

/// What a session shares with the supervisor: the symbols wanted (kept
/// across reconnects), the subscribe commands and the event channel.
#[derive(Debug)]
pub(crate) struct StreamIo {
    pub wanted: BTreeSet<String>,
    pub commands: mpsc::UnboundedReceiver<Vec<String>>,
    pub events: mpsc::Sender<MarketEvent>,
}

impl StreamIo {
    /// Sends one event; `Err` when the handle is gone.
    pub async fn emit(&self, ev: MarketEvent) -> Result<(), End> {
        self.events.send(ev).await.map_err(|_| End::Stop)
    }
}

/// The venue-specific half of a market-data stream.
pub(crate) trait VenueStream: Send + 'static {
    const VENUE: Venue;
    fn link(&self) -> Link;
    /// Extra upgrade headers (Kalshi signs the upgrade; Polymarket needs none).
    fn upgrade_headers(&self, url: &str) -> Vec<(HeaderName, HeaderValue)>;
    /// Runs one connection until it ends (it never ends well: `Ok` is
    /// uninhabited); subscribes `io.wanted` first.
    fn session<'a>(
        &'a mut self,
        ws: Ws,
        io: &'a mut StreamIo,
    ) -> impl Future<Output = Result<Infallible, End>> + Send + 'a;
}

/// The reconnect loop shared by both venues: connect, `Connected`, session,
/// `Disconnected { reason }`, jittered backoff, again, until the handle is
/// dropped. A failed connect is announced once per outage, not per attempt.
pub(crate) async fn supervise<S: VenueStream>(mut venue: S, mut io: StreamIo) {
    let name = S::VENUE.as_str();
    let mut attempt: u32 = 0;
    let mut announced_down = false;
    loop {
        // Take any subscriptions that arrived while disconnected.
        while let Ok(more) = io.commands.try_recv() {
            io.wanted.extend(more);
        }
        let link = venue.link();
        let headers = venue.upgrade_headers(&link.url);
        let reason = match connect(
            &link.url,
            headers,
            &link.pins,
            link.connect_timeout,
            link.max_message_bytes,
        )
        .await
        {
            Ok(ws) => {
                attempt = 0;
                announced_down = false;
                if io
                    .emit(MarketEvent::Connected { venue: S::VENUE })
                    .await
                    .is_err()
                {
                    return;
                }
                metrics::counter!("orion_ws_connects_total", "venue" => name).increment(1);
                let Err(end) = venue.session(ws, &mut io).await;
                match end {
                    End::Stop => return,
                    End::Lost(reason) => {
                        tracing::warn!(venue = name, %reason, "ws: stream lost");
                        metrics::counter!("orion_ws_disconnects_total", "venue" => name)
                            .increment(1);
                        Some(reason)
                    }
                }
            }
            Err(e) => {
                tracing::warn!(venue = name, error = %e.detail, attempt, "ws: connect failed");
                (!std::mem::replace(&mut announced_down, true)).then_some(e.detail)
            }
        };
        if let Some(reason) = reason
            && io
                .emit(MarketEvent::Disconnected {
                    venue: S::VENUE,
                    reason,
                })
                .await
                .is_err()
        {
            return;
        }
        let delay = link.backoff.delay(attempt);
        attempt = attempt.saturating_add(1);
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = io.events.closed() => return,
        }
    }
}

/// Reads the next frame with a staleness timeout. Pings are answered here;
/// `Ok(None)` is a frame with nothing for the venue (pong, binary); a close,
/// an error, silence or an oversized message ends the session with a reason
/// that names it.
pub(crate) async fn next_text(
    ws: &mut Ws,
    venue: Venue,
    stale_after: Duration,
) -> Result<Option<Utf8Bytes>, End> {
    let msg = match tokio::time::timeout(stale_after, ws.next()).await {
        Err(_) => return Err(End::Lost(format!("no message for {stale_after:?}"))),
        Ok(None) => return Err(End::Lost("closed by the venue".into())),
        Ok(Some(Err(WsError::Capacity(CapacityError::MessageTooLong { size, max_size })))) => {
            metrics::counter!("orion_md_oversized_frames_total", "venue" => venue.as_str())
                .increment(1);
            return Err(End::Lost(format!(
                "oversized message: {size} bytes, over the {max_size}-byte limit"
            )));
        }
        Ok(Some(Err(e))) => return Err(End::Lost(format!("read: {e}"))),
        Ok(Some(Ok(m))) => m,
    };
    match msg {
        Message::Text(t) => Ok(Some(t)),
        Message::Ping(p) => {
            ws.send(Message::Pong(p))
                .await
                .map_err(|e| End::Lost(format!("pong: {e}")))?;
            Ok(None)
        }
        Message::Close(frame) => Err(End::Lost(format!("close frame: {frame:?}"))),
        _ => Ok(None),
    }
}

/// Sends one JSON command.
pub(crate) async fn send_json(ws: &mut Ws, v: serde_json::Value) -> Result<(), End> {
    ws.send(Message::Text(v.to_string().into()))
        .await
        .map_err(|e| End::Lost(format!("send: {e}")))
}

/// An undecodable message: counted per venue and logged with the field the
/// decoder named; the stream goes on.
pub fn count_bad_message(e: &DecodeError) {
    metrics::counter!("orion_md_decode_errors_total", "venue" => e.venue.as_str()).increment(1);
    tracing::warn!(
        venue = e.venue.as_str(),
        field = %e.field,
        detail = %e.detail,
        "market data: undecodable message skipped"
    );
}
