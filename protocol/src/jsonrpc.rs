//! Envelope types of the stdio dialect (PROTOCOL.md §1, §2) and the error-code constants.
//!
//! The stdio dialect is JSON-RPC 2.0 without the `"jsonrpc"` member: these types never
//! serialize it, and deserializing ignores it because unknown members are ignored.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use crate::redacted::Redacted;

/// `-32700`: the line is not UTF-8 JSON (answered with `"id": null`).
pub const PARSE_ERROR: i64 = -32700;
/// `-32600`: bad envelope, handshake errors, and the Codex application errors of §2.
pub const INVALID_REQUEST: i64 = -32600;
/// `-32601`: the request names a method this server does not know.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// `-32602`: the params fail to deserialize or to validate.
pub const INVALID_PARAMS: i64 = -32602;
/// `-32603`: a server-side failure (storage, port bind, handler panic).
pub const INTERNAL_ERROR: i64 = -32603;
/// `-32001`: reserved for a bounded internal queue that overflows; stdio never sends it.
pub const SERVER_OVERLOADED: i64 = -32001;

/// A request id: a JSON string or an integer in the i64 range, echoed with the same type and value.
///
/// Integers are kept as `i64` (never `f64`), so `9007199254740993` round-trips exactly.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema, TS,
)]
#[serde(untagged)]
pub enum RequestId {
    /// A string id, possibly empty.
    String(String),
    /// An integer id in the i64 range.
    Integer(i64),
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestId::String(s) => write!(f, "{s:?}"),
            RequestId::Integer(i) => write!(f, "{i}"),
        }
    }
}

/// A request: `{"id", "method", "params"?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
pub struct JSONRPCRequest {
    /// The request id, echoed in the answer.
    pub id: RequestId,
    /// The method name.
    pub method: String,
    /// The params; absent or `null` is treated as `{}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional = nullable, as = "Option<Value>")]
    pub params: Option<Redacted<Value>>,
}

/// A notification: `{"method", "params"?}` without `id`; never answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
pub struct JSONRPCNotification {
    /// The notification method name.
    pub method: String,
    /// The params, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional = nullable, as = "Option<Value>")]
    pub params: Option<Redacted<Value>>,
}

/// A successful answer: `{"id", "result"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
pub struct JSONRPCResponse {
    /// The id of the request this answers.
    pub id: RequestId,
    /// The method's result.
    #[ts(as = "Value")]
    pub result: Redacted<Value>,
}

/// An error answer: `{"id", "error"}`; `id` is `null` when the request id could not be read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
pub struct JSONRPCError {
    /// The id of the request this answers, or `null` (parse errors, bad envelopes).
    pub id: Option<RequestId>,
    /// The error object.
    pub error: JSONRPCErrorError,
}

/// The error object of an error answer: `{"code", "message", "data"?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
pub struct JSONRPCErrorError {
    /// One of the codes of §2.
    pub code: i64,
    /// The human-readable message; the Codex texts of §2 are stable strings.
    pub message: String,
    /// Extra data; omitted when absent, never `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub data: Option<Value>,
}

/// Any message of the stdio dialect, in either direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(untagged)]
pub enum JSONRPCMessage {
    /// A request (has `id` and `method`).
    Request(JSONRPCRequest),
    /// A notification (has `method`, no `id`).
    Notification(JSONRPCNotification),
    /// A successful answer (has `id` and `result`).
    Response(JSONRPCResponse),
    /// An error answer (has `id` and `error`).
    Error(JSONRPCError),
}
