//! `RpcError`: the one place where JSON-RPC error codes and their texts are chosen.

use auth_core::AuthError;
use auth_core::LoginError;
use auth_core::LoginStartError;
use protocol::JSONRPCErrorError;
use protocol::jsonrpc::{
    INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR,
};
use serde_json::Value;

/// Largest accepted line, in bytes, excluding the `\n` (PROTOCOL.md §1).
pub const MAX_LINE_BYTES: usize = 1_048_576;

/// A JSON-RPC error answer: code, message and optional data (omitted when `None`).
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    /// One of the `protocol::jsonrpc` codes.
    pub code: i64,
    /// The message; Codex texts are copied byte for byte.
    pub message: String,
    /// Machine-readable detail; no error of PROTOCOL.md carries any today.
    pub data: Option<Value>,
}

impl RpcError {
    fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// `-32700 Parse error: <detail>`.
    pub fn parse_error(detail: impl std::fmt::Display) -> Self {
        Self::new(PARSE_ERROR, format!("Parse error: {detail}"))
    }

    /// `-32600 Invalid request: <detail>` (envelope problems).
    pub fn invalid_envelope(detail: impl std::fmt::Display) -> Self {
        Self::new(INVALID_REQUEST, format!("Invalid request: {detail}"))
    }

    /// `-32600 Invalid request: message exceeds 1048576 bytes`.
    pub fn line_too_long() -> Self {
        Self::invalid_envelope(format!("message exceeds {MAX_LINE_BYTES} bytes"))
    }

    /// `-32600` with an exact Codex application text (`Not initialized`, the §2 table, …).
    pub fn invalid_request(text: impl Into<String>) -> Self {
        Self::new(INVALID_REQUEST, text)
    }

    /// `-32600 Not initialized`.
    pub fn not_initialized() -> Self {
        Self::invalid_request("Not initialized")
    }

    /// `-32600 Already initialized`.
    pub fn already_initialized() -> Self {
        Self::invalid_request("Already initialized")
    }

    /// `-32601 Method not found: <method>`.
    pub fn method_not_found(method: &str) -> Self {
        Self::new(METHOD_NOT_FOUND, format!("Method not found: {method}"))
    }

    /// `-32602 Invalid params: <detail>`; `detail` is the serde message or a validation text.
    pub fn invalid_params(detail: impl std::fmt::Display) -> Self {
        Self::new(INVALID_PARAMS, format!("Invalid params: {detail}"))
    }

    /// `-32603 Internal error` (panics, unexpected failures).
    pub fn internal() -> Self {
        Self::new(INTERNAL_ERROR, "Internal error")
    }

    /// `-32603` with a Codex text such as `failed to save api key: <err>`.
    pub fn internal_with(text: impl Into<String>) -> Self {
        Self::new(INTERNAL_ERROR, text)
    }

    /// Maps a failed credential change. `operation` prefixes `-32603` texts the way Codex does
    /// (`failed to save api key`, `logout failed`, `failed to set external auth`).
    pub fn from_auth(err: AuthError, operation: &str) -> Self {
        match err {
            AuthError::Forbidden(text) => Self::invalid_request(text),
            AuthError::ExternalAuthActive => Self::invalid_request(err.to_string()),
            AuthError::InvalidInput(text) => Self::invalid_params(text),
            AuthError::Storage(_) | AuthError::LockTimeout => {
                Self::internal_with(format!("{operation}: {err}"))
            }
        }
    }

    /// Maps a login that could not start. `operation` prefixes `-32603` texts
    /// (`failed to start login server`, `failed to request device code`).
    pub fn from_login_start(err: LoginStartError, operation: &str) -> Self {
        match err {
            LoginStartError::Refused(err) => Self::from_auth(err, operation),
            LoginStartError::Flow(LoginError::DeviceCodeNotEnabled) => {
                Self::invalid_request(LoginError::DeviceCodeNotEnabled.to_string())
            }
            LoginStartError::Flow(err) => Self::internal_with(format!("{operation}: {err}")),
        }
    }

    /// The wire error object.
    pub fn into_wire(self) -> JSONRPCErrorError {
        JSONRPCErrorError {
            code: self.code,
            message: self.message,
            data: self.data,
        }
    }
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.message)
    }
}

impl std::error::Error for RpcError {}
