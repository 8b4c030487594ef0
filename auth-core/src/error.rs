//! Errors of the manager's operations. Display texts are lowercase (except the permanent-failure
//! texts, which are Codex's user-facing sentences) and never contain a secret.

use chrono::{DateTime, Utc};

use crate::classify::{PermanentFailure, TransientKind};
use crate::store::StoreError;

/// Why a refresh did not produce new credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefreshError {
    /// The token endpoint said the refresh token is dead; retrying cannot help.
    #[error("{0}")]
    Permanent(PermanentFailure),
    /// Retrying later may help; the cached token is still served meanwhile.
    #[error("{kind}")]
    Transient {
        /// What went wrong.
        kind: TransientError,
        /// Earliest time the next attempt is allowed, when a backoff is active.
        retry_at: Option<DateTime<Utc>>,
    },
    /// The current credentials cannot be refreshed (API key, external tokens, no refresh token).
    #[error("credentials are not refreshable")]
    NotRefreshable,
    /// There are no usable credentials.
    #[error("not logged in")]
    NotLoggedIn,
}

/// The transient failure kinds of [`RefreshError::Transient`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransientError {
    /// The token request itself failed transiently.
    #[error("{0}")]
    Attempt(TransientKind),
    /// An earlier transient failure of these credentials is still backing off; no request was sent.
    #[error("refresh is backing off after an earlier failure")]
    BackedOff,
    /// Another process held the credential lock for longer than the configured wait.
    #[error("timed out waiting for the credential lock")]
    LockTimeout,
    /// The shared store's lease (Redis) could not be taken: it is unreachable or failing.
    #[error("shared credential store unavailable: {0}")]
    Coordination(String),
    /// Reading the store failed (category only).
    #[error("credential storage error: {0}")]
    Storage(String),
    /// The host application could not refresh external tokens.
    #[error("external token refresh failed: {0}")]
    External(String),
}

/// Errors of logins, logout and other credential-changing operations.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The login restriction of `config.toml` forbids this operation; the text is Codex's.
    #[error("{0}")]
    Forbidden(String),
    /// External tokens are active and the operation would silently replace them.
    #[error(
        "External auth is active. Use account/login/start (chatgptAuthTokens) to update it or account/logout to clear it."
    )]
    ExternalAuthActive,
    /// The caller's input was rejected (empty key, not a JWT, ...).
    #[error("{0}")]
    InvalidInput(String),
    /// Writing or deleting stored credentials failed.
    #[error(transparent)]
    Storage(#[from] StoreError),
    /// Another process held the credential lock for longer than the configured wait.
    #[error("timed out waiting for the credential lock")]
    LockTimeout,
}
