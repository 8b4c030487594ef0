//! The stdio dialect: bytes and envelopes, never method names (PROTOCOL.md §1). Lines here; a
//! WebSocket text frame carries exactly one such message (`network::websocket`).
//!
//! [`LineReader`] turns input bytes into classified [`Incoming`] messages, enforcing the 1 MiB
//! line limit without buffering the excess; [`write_loop`] is the only owner of the output and
//! writes one compact JSON message plus `\n` per [`Outgoing`], flushing after each.

use protocol::redacted::Redacted;
use protocol::{JSONRPCError, RequestId, ServerNotificationEnvelope, ServerRequest};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::error::{MAX_LINE_BYTES, RpcError};
use crate::request_line;

/// One message for the writer. Serializes without a `"jsonrpc"` member.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Outgoing {
    /// A successful answer.
    Response(Response),
    /// An error answer.
    Error(JSONRPCError),
    /// A server notification, stamped with its `emittedAtMs`.
    Notification(ServerNotificationEnvelope),
    /// A server→client request.
    Request(ServerRequest),
}

/// A successful answer (the wire's `JSONRPCResponse`), its result serialized once, by the
/// handler's own type, rather than through a `Value`.
#[derive(Debug, Clone, Serialize)]
pub struct Response {
    /// The request's id.
    pub id: RequestId,
    /// The result as JSON text; `[REDACTED]` in `Debug` (it can hold a token).
    pub result: Redacted<Box<RawValue>>,
}

impl Outgoing {
    /// The answer to request `id`.
    pub fn reply(id: RequestId, result: Result<Box<RawValue>, RpcError>) -> Self {
        match result {
            Ok(result) => Outgoing::Response(Response {
                id,
                result: result.into(),
            }),
            Err(err) => Outgoing::Error(JSONRPCError {
                id: Some(id),
                error: err.into_wire(),
            }),
        }
    }
}

/// A request's params as received: JSON text, decoded only once its method says into what
/// type. `None` when absent or `null`. `Debug` never prints them (they can hold API keys).
#[derive(Clone, Default)]
pub struct Params(Option<Box<str>>);

impl Params {
    /// Params holding `value` (`null` is no params).
    pub fn from_value(value: &Value) -> Self {
        match value {
            Value::Null => Params(None),
            value => Params(
                serde_json::to_string(value)
                    .ok()
                    .map(String::into_boxed_str),
            ),
        }
    }

    /// The JSON text, if params were sent.
    pub fn text(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl PartialEq for Params {
    /// The same JSON value, however it was spaced (texts that are not JSON: the same text).
    fn eq(&self, other: &Self) -> bool {
        let value = |text: Option<&str>| text.map(serde_json::from_str::<Value>);
        match (value(self.text()), value(other.text())) {
            (Some(Ok(a)), Some(Ok(b))) => a == b,
            _ => self.text() == other.text(),
        }
    }
}

/// One classified input line (§1 "Classifying a line"). `Debug` never prints params or
/// outcomes: they can hold API keys and tokens.
#[derive(Clone, PartialEq)]
pub enum Incoming {
    /// `method` is a string and `id` a string or i64 integer: must be answered exactly once.
    Request {
        /// The id, echoed in the answer.
        id: RequestId,
        /// The method name (not yet looked up).
        method: String,
        /// The params, not yet decoded.
        params: Params,
    },
    /// `method` is a string and `id` absent or not a valid id: never answered.
    Notification {
        /// The method name.
        method: String,
    },
    /// An answer to a server request: `result`, or the `error` object as sent.
    Response {
        /// The id, if it is a valid id at all.
        id: Option<RequestId>,
        /// The client's result or error.
        outcome: Result<Value, Value>,
    },
    /// A line that is answered with an error right away (§1 rules 1-3, 4a and 6).
    Invalid(JSONRPCError),
}

impl std::fmt::Debug for Incoming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Incoming::Request { id, method, .. } => f
                .debug_struct("Request")
                .field("id", id)
                .field("method", method)
                .finish_non_exhaustive(),
            Incoming::Notification { method } => f
                .debug_struct("Notification")
                .field("method", method)
                .finish(),
            Incoming::Response { id, outcome } => f
                .debug_struct("Response")
                .field("id", id)
                .field("ok", &outcome.is_ok())
                .finish_non_exhaustive(),
            Incoming::Invalid(error) => f.debug_tuple("Invalid").field(error).finish(),
        }
    }
}

/// Reads lines of at most [`MAX_LINE_BYTES`] and classifies them; blank lines are skipped.
pub struct LineReader<R> {
    reader: R,
    line: Vec<u8>,
    /// Whether the chunk the last line ended in held more bytes.
    more: bool,
}

enum Line {
    Complete,
    TooLong,
    Eof,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    /// Wraps a buffered reader.
    pub fn new(reader: R) -> Self {
        Self {
            reader,
            line: Vec::new(),
            more: false,
        }
    }

    /// Whether bytes already read follow the last line returned (the rest of a burst).
    pub fn more_buffered(&self) -> bool {
        self.more
    }

    /// The next non-blank message, or `None` at end of input.
    pub async fn next(&mut self) -> std::io::Result<Option<Incoming>> {
        loop {
            match self.read_line().await? {
                Line::Eof => return Ok(None),
                Line::TooLong => {
                    tracing::warn!(limit = MAX_LINE_BYTES, "overlong line discarded");
                    return Ok(Some(invalid(None, RpcError::line_too_long())));
                }
                Line::Complete => {
                    let mut bytes = self.line.as_slice();
                    if let Some(stripped) = bytes.strip_suffix(b"\r") {
                        bytes = stripped;
                    }
                    // Sizes only: lines carry API keys and tokens (AUTH.md §10).
                    tracing::trace!(bytes = bytes.len(), "received");
                    if let Some(incoming) = classify(bytes) {
                        return Ok(Some(incoming));
                    }
                }
            }
        }
    }

    /// Reads up to the next `\n` into `self.line`. Past the limit the rest of the line is
    /// consumed and dropped chunk by chunk, so memory stays bounded by the limit.
    async fn read_line(&mut self) -> std::io::Result<Line> {
        self.line.clear();
        let mut too_long = false;
        loop {
            let chunk = self.reader.fill_buf().await?;
            if chunk.is_empty() {
                return Ok(match (too_long, self.line.is_empty()) {
                    (true, _) => Line::TooLong,
                    (false, true) => Line::Eof,
                    (false, false) => Line::Complete,
                });
            }
            let chunk_len = chunk.len();
            let (taken, ends_line) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i, true),
                None => (chunk_len, false),
            };
            if !too_long {
                if self.line.len() + taken > MAX_LINE_BYTES {
                    too_long = true;
                    self.line = Vec::new();
                } else {
                    self.line.extend_from_slice(&chunk[..taken]);
                }
            }
            self.reader.consume(taken + usize::from(ends_line));
            self.more = ends_line && chunk_len > taken + 1;
            if ends_line {
                return Ok(if too_long {
                    Line::TooLong
                } else {
                    Line::Complete
                });
            }
        }
    }
}

/// The answer to a message over [`MAX_LINE_BYTES`] (a WebSocket frame, like a line).
pub(crate) fn too_long() -> Incoming {
    invalid(None, RpcError::line_too_long())
}

fn invalid(id: Option<RequestId>, err: RpcError) -> Incoming {
    Incoming::Invalid(JSONRPCError {
        id,
        error: err.into_wire(),
    })
}

/// A valid request id: a string, or an integer in the i64 range (never a float).
fn request_id(value: &Value) -> Option<RequestId> {
    match value {
        Value::String(s) => Some(RequestId::String(s.clone())),
        Value::Number(n) => n.as_i64().map(RequestId::Integer),
        _ => None,
    }
}

/// Classifies one line (without `\n`/`\r`); `None` for a blank line.
pub fn classify(bytes: &[u8]) -> Option<Incoming> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    if let Some(request) = request_line::read(bytes) {
        return Some(Incoming::Request {
            id: request.id,
            method: request.method.into_owned(),
            params: Params(request.params.map(Box::from)),
        });
    }
    classify_value(bytes)
}

/// Classifies a line through a `Value` (§1 "Classifying a line"), for every line that is not a
/// plain request ([`request_line::read`]).
pub(crate) fn classify_value(bytes: &[u8]) -> Option<Incoming> {
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(err) => return Some(invalid(None, RpcError::parse_error(err))),
    };
    let mut object = match value {
        Value::Object(object) => object,
        Value::Array(_) => {
            return Some(invalid(
                None,
                RpcError::invalid_envelope("batch requests are not supported"),
            ));
        }
        _ => {
            return Some(invalid(
                None,
                RpcError::invalid_envelope("expected a JSON object"),
            ));
        }
    };
    let id = object.get("id").and_then(request_id);
    Some(match object.remove("method") {
        Some(Value::String(method)) => match id {
            Some(id) => Incoming::Request {
                id,
                method,
                params: Params::from_value(&take(&mut object, "params")),
            },
            None => Incoming::Notification { method },
        },
        Some(_) => invalid(id, RpcError::invalid_envelope("method must be a string")),
        None => classify_response(object, id),
    })
}

fn classify_response(mut object: Map<String, Value>, id: Option<RequestId>) -> Incoming {
    let has_id = object.contains_key("id");
    match (has_id, object.remove("result"), object.remove("error")) {
        (true, Some(result), _) => Incoming::Response {
            id,
            outcome: Ok(result),
        },
        (true, None, Some(error)) => Incoming::Response {
            id,
            outcome: Err(error),
        },
        _ => invalid(
            id,
            RpcError::invalid_envelope("not a request, notification or response"),
        ),
    }
}

fn take(object: &mut Map<String, Value>, key: &str) -> Value {
    object.remove(key).unwrap_or(Value::Null)
}

/// Messages already queued when the writer wakes go out in one write of at most about this many
/// bytes.
const WRITE_BATCH_BYTES: usize = 64 * 1024;

/// Writes every message from `outbox` as compact JSON plus `\n` until all senders are gone,
/// flushing before it waits for the next message, so no message is ever held back. Messages
/// that are already queued share one write and one flush (a flush per message cost a syscall,
/// and with tokio's stdout a thread hand-off, per answer). Returns the first write error (the
/// client is gone).
pub async fn write_loop<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut outbox: mpsc::Receiver<Outgoing>,
) -> std::io::Result<()> {
    let mut lines = Vec::with_capacity(4096);
    while let Some(message) = outbox.recv().await {
        lines.clear();
        encode(&mut lines, &message)?;
        // `is_empty` first: a `try_recv` of an empty queue costs far more than the check.
        while lines.len() < WRITE_BATCH_BYTES
            && !outbox.is_empty()
            && let Ok(message) = outbox.try_recv()
        {
            encode(&mut lines, &message)?;
        }
        writer.write_all(&lines).await?;
        writer.flush().await?;
    }
    writer.shutdown().await.or_else(|err| match err.kind() {
        std::io::ErrorKind::BrokenPipe => Ok(()),
        _ => Err(err),
    })
}

/// `message` as compact JSON, without a `"jsonrpc"` member (a WebSocket text frame).
pub(crate) fn to_json(message: &Outgoing) -> std::io::Result<String> {
    let json = serde_json::to_string(message)?;
    tracing::trace!(bytes = json.len(), "sent"); // never the content: it carries tokens
    Ok(json)
}

/// Appends `message` as one compact JSON line.
fn encode(out: &mut Vec<u8>, message: &Outgoing) -> std::io::Result<()> {
    let start = out.len();
    match message {
        // Most messages: the id, then the result's text as it is.
        Outgoing::Response(response) => {
            out.extend_from_slice(b"{\"id\":");
            serde_json::to_writer(&mut *out, &response.id)?;
            out.extend_from_slice(b",\"result\":");
            out.extend_from_slice(response.result.get().as_bytes());
            out.push(b'}');
        }
        other => serde_json::to_writer(&mut *out, other)?,
    }
    tracing::trace!(bytes = out.len() - start, "sent"); // never the content: it carries tokens
    out.push(b'\n');
    Ok(())
}

#[cfg(test)]
#[path = "transport_tests.rs"]
mod tests;
