//! WebSocket on `ws://IP:PORT` (PROTOCOL.md §7): an HTTP/1.1 server (hyper) in front of the
//! connection engine. Every request passes, in order:
//!
//! 1. any `Origin` header → 403 (browser pages must not drive the server);
//! 2. `GET /healthz`, `GET /readyz` → 200, empty body;
//! 3. anything but a WebSocket upgrade (on any path) → 405 / 400;
//! 4. `--ws-auth`: the bearer → 401 with Codex's text;
//! 5. more than [`super::MAX_CONNECTIONS`] open → 503;
//!
//! then the upgraded stream is one connection of [`crate::connection`]: each text frame is one
//! message of the stdio dialect, each answer or notification one text frame.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{Sink, SinkExt, Stream, StreamExt};
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming as Body;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};

use super::Shared;
use crate::connection::{self, Source};
use crate::error::MAX_LINE_BYTES;
use crate::input_hint::Hinted;
use crate::transport::{self, Incoming, Outgoing};

/// Paths answered 200 with an empty body.
const HEALTH_PATHS: [&str; 2] = ["/healthz", "/readyz"];
/// How long a client may take to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest frame or message accepted at all (a larger one ends the connection); frames over
/// [`MAX_LINE_BYTES`] up to this size are answered with `-32600`, as an overlong line.
const MAX_FRAME_BYTES: usize = 4 << 20;
/// Messages queued for a network client's writer (Codex: 32 × 1024). A client whose queue is
/// full is disconnected.
pub(crate) const QUEUE: usize = 32 * 1024;
/// Messages written between two flushes.
const WRITE_BATCH: usize = 64;
/// A connection's read chunk and the write buffer it fills before writing. tungstenite's
/// default of 128 KiB each made an idle connection cost about 140 KiB (46 MiB at 256 clients);
/// a status answer is about 1 KiB, and larger frames still arrive whole, over several reads.
const IO_BUFFER_BYTES: usize = 8 * 1024;

type Reply = Response<Full<Bytes>>;

/// Accepts HTTP connections until shutdown; each lives on its own task.
pub(super) async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(err) => {
                    tracing::warn!(cause = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = shared.shutdown.cancelled() => break,
        };
        tokio::spawn(http_connection(stream, Arc::clone(&shared)));
    }
    tracing::info!("WebSocket listener closed");
}

async fn http_connection(stream: tokio::net::TcpStream, shared: Arc<Shared>) {
    let service_shared = Arc::clone(&shared);
    let service = hyper::service::service_fn(move |request| {
        let shared = Arc::clone(&service_shared);
        async move { Ok::<_, Infallible>(route(request, shared)) }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let connection = builder
        .serve_connection(TokioIo::new(Hinted(stream)), service)
        .with_upgrades();
    tokio::pin!(connection);
    let served = tokio::select! {
        served = connection.as_mut() => served,
        () = shared.shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(err) = served {
        tracing::debug!(cause = %err, "HTTP connection ended with an error");
    }
}

fn route(mut request: Request<Body>, shared: Arc<Shared>) -> Reply {
    let path = request.uri().path().to_owned();
    if request.headers().contains_key(header::ORIGIN) {
        tracing::warn!(%path, "request with an Origin header refused");
        return reply(StatusCode::FORBIDDEN, "");
    }
    if request.method() == Method::GET && HEALTH_PATHS.contains(&path.as_str()) {
        return reply(StatusCode::OK, "");
    }
    if request.method() != Method::GET {
        return reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "expected a WebSocket upgrade",
        );
    }
    let Some(key) = upgrade_key(&request) else {
        return reply(StatusCode::BAD_REQUEST, "expected a WebSocket upgrade");
    };
    let authorization = request.headers().get(header::AUTHORIZATION);
    if let Err(refused) = shared.auth.authorize(authorization.map(|v| v.as_bytes())) {
        tracing::warn!(%path, reason = refused.0, "WebSocket client refused");
        return reply(StatusCode::UNAUTHORIZED, refused.0);
    }
    let Ok(slot) = Arc::clone(&shared.slots).try_acquire_owned() else {
        tracing::warn!(
            limit = super::MAX_CONNECTIONS,
            "connection refused: too many open"
        );
        return reply(StatusCode::SERVICE_UNAVAILABLE, "too many connections");
    };
    let upgraded = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let _slot = slot;
        match upgraded.await {
            Ok(upgraded) => {
                let io = TokioIo::new(upgraded);
                let stream =
                    WebSocketStream::from_raw_socket(io, Role::Server, Some(config())).await;
                serve(stream, &shared).await;
            }
            Err(err) => tracing::debug!(cause = %err, "upgrade failed"),
        }
    });
    tracing::info!(%path, "WebSocket client connected");
    let mut response = reply(StatusCode::SWITCHING_PROTOCOLS, "");
    let headers = response.headers_mut();
    headers.insert(
        header::CONNECTION,
        http::HeaderValue::from_static("Upgrade"),
    );
    headers.insert(header::UPGRADE, http::HeaderValue::from_static("websocket"));
    if let Ok(accept) = http::HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

/// The `Sec-WebSocket-Key` of a valid upgrade request (version 13).
fn upgrade_key<B>(request: &Request<B>) -> Option<String> {
    let headers = request.headers();
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|value| {
            value.to_str().is_ok_and(|v| {
                v.split(',')
                    .any(|part| part.trim().eq_ignore_ascii_case(token))
            })
        })
    };
    let upgrade =
        has_token(header::CONNECTION, "upgrade") && has_token(header::UPGRADE, "websocket");
    let version = headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_some_and(|v| v.as_bytes() == b"13");
    let key = headers.get(header::SEC_WEBSOCKET_KEY)?.to_str().ok()?;
    (upgrade && version).then(|| key.to_owned())
}

fn reply(status: StatusCode, body: &'static str) -> Reply {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    if !body.is_empty() {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    response
}

/// The frame limits of every WebSocket connection (TCP or unix socket).
pub(super) fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(IO_BUFFER_BYTES)
        .write_buffer_size(IO_BUFFER_BYTES)
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES))
}

/// Serves one WebSocket until it closes (or the client is disconnected for not reading).
pub(super) async fn serve<S>(stream: WebSocketStream<S>, shared: &Shared)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sink, frames) = stream.split();
    let served = connection::serve(
        shared.state.clone(),
        Frames(frames),
        |outbox| write_frames(sink, outbox),
        shared.options(),
    )
    .await;
    match served {
        Ok(()) => tracing::info!("WebSocket client disconnected"),
        Err(err) => tracing::info!(cause = %err, "WebSocket connection ended"),
    }
}

/// Text frames as classified messages; pings are answered by tungstenite, binary frames
/// dropped (as Codex does), a close frame or a broken connection is the end of input.
struct Frames<S>(S);

impl<S> Source for Frames<S>
where
    S: Stream<Item = Result<Message, tungstenite::Error>> + Unpin + Send,
{
    async fn next(&mut self) -> std::io::Result<Option<Incoming>> {
        loop {
            let message = match self.0.next().await {
                None => return Ok(None),
                Some(Ok(message)) => message,
                Some(Err(err)) => {
                    tracing::info!(cause = %err, "WebSocket read failed; connection closed");
                    return Ok(None);
                }
            };
            match message {
                Message::Text(text) => {
                    let bytes = text.as_bytes();
                    tracing::trace!(bytes = bytes.len(), "received");
                    if bytes.len() > MAX_LINE_BYTES {
                        return Ok(Some(transport::too_long()));
                    }
                    if let Some(incoming) = transport::classify(bytes) {
                        return Ok(Some(incoming));
                    }
                }
                Message::Binary(_) => tracing::warn!("binary WebSocket frame dropped"),
                Message::Close(_) => return Ok(None),
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            }
        }
    }
}

/// Writes each queued message as one text frame, flushing when the queue is momentarily empty;
/// sends a close frame once every sender is gone.
async fn write_frames<K>(mut sink: K, mut outbox: mpsc::Receiver<Outgoing>) -> std::io::Result<()>
where
    K: Sink<Message, Error = tungstenite::Error> + Unpin + Send,
{
    while let Some(message) = outbox.recv().await {
        sink.feed(Message::text(transport::to_json(&message)?))
            .await
            .map_err(std::io::Error::other)?;
        let mut batch = 1;
        while batch < WRITE_BATCH
            && let Ok(message) = outbox.try_recv()
        {
            sink.feed(Message::text(transport::to_json(&message)?))
                .await
                .map_err(std::io::Error::other)?;
            batch += 1;
        }
        sink.flush().await.map_err(std::io::Error::other)?;
    }
    if let Err(err) = sink.close().await {
        tracing::debug!(cause = %err, "WebSocket close failed");
    }
    Ok(())
}
