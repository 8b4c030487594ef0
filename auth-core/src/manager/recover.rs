//! 401 recovery (AUTH.md §7.4e): reload first, then at most one forced refresh per rejected
//! token for the life of the process, however many callers report it.

use std::time::Duration;

use sha2::{Digest, Sha256};

use super::AuthManager;
use super::account::ExternalTokens;
use super::refresh::{RefreshOutcome, Trigger};
use crate::auth_json::AuthMode;
use crate::error::{RefreshError, TransientError};
use crate::secret::Secret;
use crate::snapshot::Origin;

/// How long the host gets to answer an external-token refresh.
const EXTERNAL_REFRESH_TIMEOUT: Duration = Duration::from_secs(10);

/// The host application that pushed external tokens and can be asked for new ones.
pub trait ExternalAuthHost: Send + Sync {
    /// Asks the host for new tokens after the current ones were rejected.
    fn refresh_tokens(
        &self,
        previous_account_id: Option<String>,
    ) -> futures::future::BoxFuture<'static, Result<ExternalTokens, String>>;
}

/// The outcome of [`AuthManager::recover_unauthorized`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoverOutcome {
    /// The rejected token is no longer current; retry with the current one. No request.
    AlreadyCurrent,
    /// API key, signed out or nothing refreshable. No request.
    NotRefreshable,
    /// The rejected token was replaced by a refresh (this call's or a concurrent report's).
    Refreshed,
    /// Different stored credentials were adopted without a request.
    Adopted,
    /// The recovery failed.
    Failed(RefreshError),
}

impl AuthManager {
    /// Recovers from a backend 401 for `rejected` (the current bearer when `None`).
    pub async fn recover_unauthorized(
        &self,
        rejected: Option<&str>,
        host: Option<&dyn ExternalAuthHost>,
    ) -> RecoverOutcome {
        self.poll();
        let Some(current) = self.current() else {
            return RecoverOutcome::NotRefreshable;
        };
        if current.mode().is_none_or(|m| m == AuthMode::ApiKey) || current.origin == Origin::EnvKey
        {
            return RecoverOutcome::NotRefreshable;
        }
        let Some(current_token) = current.access_token().cloned() else {
            return RecoverOutcome::NotRefreshable;
        };
        let rejected = rejected
            .map(Secret::new)
            .unwrap_or_else(|| current_token.clone());
        let digest: [u8; 32] = Sha256::digest(rejected.expose().as_bytes()).into();

        // Concurrent reports of one token wait here and share the first one's outcome.
        let waited = self.inner.recover_gate.try_lock().is_err();
        let _recovering = self.inner.recover_gate.lock().await;
        if waited && let Some(outcome) = self.state().recovery_of(&digest) {
            return outcome;
        }
        self.poll();
        if self.current().and_then(|c| c.access_token().cloned()) != Some(rejected.clone()) {
            return RecoverOutcome::AlreadyCurrent;
        }
        if let Some(outcome) = self.state().recovery_of(&digest) {
            return outcome;
        }
        let outcome = if current.origin == Origin::External {
            self.recover_external(host).await
        } else {
            match self.refresh_polled(Trigger::Forced, Some(&rejected)).await {
                Ok(RefreshOutcome::Refreshed) => RecoverOutcome::Refreshed,
                Ok(RefreshOutcome::Adopted { .. }) => RecoverOutcome::Adopted,
                Ok(RefreshOutcome::NotNeeded) => RecoverOutcome::AlreadyCurrent,
                Err(err) => RecoverOutcome::Failed(err),
            }
        };
        if spent_an_attempt(&outcome) {
            self.state().remember_recovery(digest, outcome.clone());
        }
        outcome
    }

    async fn recover_external(&self, host: Option<&dyn ExternalAuthHost>) -> RecoverOutcome {
        let Some(host) = host else {
            return RecoverOutcome::NotRefreshable;
        };
        let previous = self
            .current()
            .and_then(|c| c.account_id().map(str::to_owned));
        let answer =
            tokio::time::timeout(EXTERNAL_REFRESH_TIMEOUT, host.refresh_tokens(previous)).await;
        let failed = |why: String| {
            tracing::warn!(target: "auth_core", decision = "failed_transient", trigger = "forced",
                error = %why, "external token refresh failed");
            RecoverOutcome::Failed(RefreshError::Transient {
                kind: TransientError::External(why),
                retry_at: None,
            })
        };
        match answer {
            Err(_) => failed("the host did not answer within 10 s".to_owned()),
            Ok(Err(why)) => failed(why),
            Ok(Ok(tokens)) => match self.install_external(tokens) {
                Ok(()) => RecoverOutcome::Refreshed,
                Err(err) => failed(err.to_string()),
            },
        }
    }
}

/// Outcomes that used up the one attempt a rejected token gets (a request or a host call was
/// made). Backoff and lock timeouts did not send anything and leave the attempt available.
fn spent_an_attempt(outcome: &RecoverOutcome) -> bool {
    match outcome {
        RecoverOutcome::Refreshed => true,
        RecoverOutcome::Failed(RefreshError::Permanent(_)) => true,
        RecoverOutcome::Failed(RefreshError::Transient { kind, .. }) => match kind {
            TransientError::Attempt(_) | TransientError::External(_) => true,
            TransientError::BackedOff
            | TransientError::LockTimeout
            | TransientError::Coordination(_)
            | TransientError::Storage(_) => false,
        },
        RecoverOutcome::AlreadyCurrent
        | RecoverOutcome::NotRefreshable
        | RecoverOutcome::Adopted
        | RecoverOutcome::Failed(RefreshError::NotRefreshable | RefreshError::NotLoggedIn) => false,
    }
}
