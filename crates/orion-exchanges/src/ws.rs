//! WebSocket connections for both venues: tokio-tungstenite over our own
//! transport (plain TCP to loopback, or rustls with the ring provider and
//! the same roots and pins as the HTTP stack), so no TLS backend of
//! tungstenite's own (and no aws-lc or OpenSSL) is pulled in.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use http::header::{HeaderName, HeaderValue};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::http::{SpkiPin, check_scheme, tls};

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

/// Opens `url` (`ws://` to loopback or `wss://`) with extra upgrade headers.
pub async fn connect(
    url: &str,
    headers: Vec<(HeaderName, HeaderValue)>,
    pins: &[SpkiPin],
    timeout: Duration,
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
        match tokio_tungstenite::client_async(request, io).await {
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
