//! Token-endpoint error classification (AUTH.md §6): permanent ("the server said no") versus
//! transient ("try again later").
//!
//! Bodies are parsed for a code and a short message only; they are never logged raw.

use std::fmt;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use serde_json::Value;

/// Longest server message kept (characters), for logs and transient errors.
const MAX_MESSAGE_CHARS: usize = 200;

/// Why a refresh token is dead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureReason {
    /// `refresh_token_expired`.
    Expired,
    /// `refresh_token_reused`: a rotating token was already spent.
    Exhausted,
    /// `refresh_token_invalidated`.
    Revoked,
    /// Any other permanent answer (401 without a known code, 400 `invalid_grant`).
    Other,
}

impl FailureReason {
    /// `expired`, `exhausted`, `revoked` or `other`.
    pub fn as_str(&self) -> &'static str {
        match self {
            FailureReason::Expired => "expired",
            FailureReason::Exhausted => "exhausted",
            FailureReason::Revoked => "revoked",
            FailureReason::Other => "other",
        }
    }

    /// Parses [`FailureReason::as_str`] output.
    pub fn from_str_opt(s: &str) -> Option<Self> {
        match s {
            "expired" => Some(FailureReason::Expired),
            "exhausted" => Some(FailureReason::Exhausted),
            "revoked" => Some(FailureReason::Revoked),
            "other" => Some(FailureReason::Other),
            _ => None,
        }
    }

    /// The user-facing message (Codex's text).
    pub fn message(&self) -> &'static str {
        match self {
            FailureReason::Expired => {
                "Your access token could not be refreshed because your refresh token has expired. Please log out and sign in again."
            }
            FailureReason::Exhausted => {
                "Your access token could not be refreshed because your refresh token was already used. Please log out and sign in again."
            }
            FailureReason::Revoked => {
                "Your access token could not be refreshed because your refresh token was revoked. Please log out and sign in again."
            }
            FailureReason::Other => {
                "Your access token could not be refreshed. Please log out and sign in again."
            }
        }
    }
}

/// A refresh failure that retrying cannot fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermanentFailure {
    /// Why.
    pub reason: FailureReason,
    /// The HTTP status, when the server answered.
    pub http_status: Option<u16>,
    /// The extracted backend code (trimmed, lowercase), if any.
    pub backend_code: Option<String>,
}

impl fmt::Display for PermanentFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason.message())
    }
}

/// A refresh failure worth retrying later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransientKind {
    /// A non-2xx answer that is not permanent (5xx, 408, 403 without a code, ...).
    Http {
        /// The HTTP status.
        status: u16,
        /// The server's message, cut to 200 characters.
        message: Option<String>,
    },
    /// HTTP 429.
    RateLimited {
        /// The parsed `Retry-After`, relative to the response time.
        retry_after: Option<Duration>,
    },
    /// A transport failure: the host and a short error kind (`"could not reach auth.openai.com
    /// (dns)"`, `"connection refused"`, ...), never a whole URL or a body.
    Network(String),
    /// The request timed out.
    Timeout,
    /// A 2xx answer with an unusable body.
    BadResponse,
}

impl fmt::Display for TransientKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Failed to refresh token: ")?;
        match self {
            TransientKind::Http {
                status,
                message: Some(message),
            } => write!(f, "{status}: {message}"),
            TransientKind::Http {
                status,
                message: None,
            } => {
                let reason = reqwest::StatusCode::from_u16(*status)
                    .ok()
                    .and_then(|s| s.canonical_reason());
                write!(f, "{status}: {}", reason.unwrap_or("unexpected status"))
            }
            TransientKind::RateLimited {
                retry_after: Some(after),
            } => write!(f, "429: rate limited, retry after {}s", after.as_secs()),
            TransientKind::RateLimited { retry_after: None } => f.write_str("429: rate limited"),
            TransientKind::Network(kind) => f.write_str(kind),
            TransientKind::Timeout => f.write_str("timeout"),
            TransientKind::BadResponse => f.write_str("bad response"),
        }
    }
}

/// The outcome of one failed token request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttemptError {
    /// The credential is dead; never retry it.
    #[error("{0}")]
    Permanent(PermanentFailure),
    /// Retry later (with backoff).
    #[error("{0}")]
    Transient(TransientKind),
}

impl AttemptError {
    /// The server's `Retry-After`, for a 429.
    #[cfg(test)]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            AttemptError::Transient(TransientKind::RateLimited { retry_after }) => *retry_after,
            _ => None,
        }
    }
}

/// Classifies a non-2xx token-endpoint answer (AUTH.md §6).
pub fn classify_response(
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> AttemptError {
    let json = serde_json::from_slice::<Value>(body).ok();
    let object = json.as_ref().and_then(Value::as_object);
    let code = object.and_then(extract_code);
    let permanent = |reason| {
        AttemptError::Permanent(PermanentFailure {
            reason,
            http_status: Some(status),
            backend_code: code.clone(),
        })
    };
    match code.as_deref() {
        Some("refresh_token_expired") => return permanent(FailureReason::Expired),
        Some("refresh_token_reused") => return permanent(FailureReason::Exhausted),
        Some("refresh_token_invalidated") => return permanent(FailureReason::Revoked),
        Some("invalid_grant") if status == 400 => return permanent(FailureReason::Other),
        _ => {}
    }
    if status == 401 {
        tracing::warn!(
            target: "auth_core",
            backend_code = code.as_deref().unwrap_or(""),
            "Encountered unknown 401 response while refreshing token"
        );
        return permanent(FailureReason::Other);
    }
    if status == 429 {
        return AttemptError::Transient(TransientKind::RateLimited {
            retry_after: retry_after.and_then(|v| parse_retry_after(v, now)),
        });
    }
    AttemptError::Transient(TransientKind::Http {
        status,
        message: object.and_then(extract_message),
    })
}

/// `error.code` (object `error`), then `error` (string), then top-level `code`; trimmed and
/// lowercased; empty means none.
fn extract_code(body: &serde_json::Map<String, Value>) -> Option<String> {
    let raw = match body.get("error") {
        Some(Value::Object(error)) => error.get("code").and_then(Value::as_str),
        Some(Value::String(error)) => Some(error.as_str()),
        _ => None,
    }
    .or_else(|| body.get("code").and_then(Value::as_str))?;
    let code = raw.trim().to_lowercase();
    (!code.is_empty()).then_some(code)
}

/// `error_description`, else `error.message`, cut to 200 characters.
pub(crate) fn extract_message(body: &serde_json::Map<String, Value>) -> Option<String> {
    let raw = body
        .get("error_description")
        .and_then(Value::as_str)
        .or_else(|| {
            body.get("error")
                .and_then(Value::as_object)
                .and_then(|e| e.get("message"))
                .and_then(Value::as_str)
        })?;
    let message: String = raw.trim().chars().take(MAX_MESSAGE_CHARS).collect();
    (!message.is_empty()).then_some(message)
}

/// The longest `Retry-After` kept (one day); the backoff caps it further (AUTH.md §7.4d). The
/// clamp keeps date arithmetic on issuer values from overflowing (issue 12 item 7).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// `Retry-After` as delta-seconds or an HTTP date, relative to `now` (past dates give zero),
/// clamped to [`MAX_RETRY_AFTER`].
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(SystemTime::from(now))
            .unwrap_or(Duration::ZERO)
            .min(MAX_RETRY_AFTER),
    )
}

#[cfg(test)]
#[path = "classify_tests.rs"]
mod tests;
