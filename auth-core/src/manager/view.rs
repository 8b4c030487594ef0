//! What status-type calls return (AUTH.md §7.2, §7.5), borrowing the snapshot instead of copying
//! secrets, so the polling path allocates nothing but the response.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::AuthManager;
use super::refresh::Trigger;
use crate::auth_json::AuthMode;
use crate::claims::PlanType;
use crate::classify::FailureReason;
use crate::snapshot::Snapshot;

/// A refresh failure of the current credentials, for `refreshFailure` (PROTOCOL.md §6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshFailureView {
    /// The permanent reason; transient failures are `Other`.
    pub reason: FailureReason,
    /// The user-facing text.
    pub message: String,
    /// Whether retrying later may help.
    pub transient: bool,
    /// Transient only: milliseconds until the next attempt is allowed (0 if allowed now).
    pub retry_after_ms: Option<u64>,
}

/// The credentials in effect, as status calls see them.
#[derive(Debug, Clone)]
pub struct AuthView {
    snapshot: Option<Arc<Snapshot>>,
    dead: bool,
    failure: Option<RefreshFailureView>,
}

impl AuthView {
    /// The mode, `None` when signed out or unusable (a dead credential keeps its mode).
    pub fn mode(&self) -> Option<AuthMode> {
        self.snapshot.as_ref().and_then(|s| s.mode())
    }

    /// The API key or access token; `None` while a permanent failure is recorded.
    pub fn usable_bearer(&self) -> Option<&str> {
        if self.dead {
            return None;
        }
        self.snapshot.as_ref()?.bearer().map(|b| b.expose())
    }

    /// Whether a permanent refresh failure is recorded for these credentials.
    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// The email claim (ChatGPT modes).
    pub fn email(&self) -> Option<&str> {
        self.snapshot.as_ref()?.claims.email.as_deref()
    }

    /// The plan (ChatGPT modes; `Unknown` when the claim is missing).
    pub fn plan(&self) -> Option<PlanType> {
        self.snapshot.as_ref()?.plan()
    }

    /// The workspace (ChatGPT account) id.
    pub fn account_id(&self) -> Option<&str> {
        self.snapshot.as_ref()?.account_id()
    }

    /// The user id claim.
    pub fn user_id(&self) -> Option<&str> {
        self.snapshot.as_ref()?.claims.user_id.as_deref()
    }

    /// The refresh failure of these credentials, permanent first, else an active backoff.
    pub fn refresh_failure(&self) -> Option<&RefreshFailureView> {
        self.failure.as_ref()
    }

    /// Whether `other` is a view of the same credential snapshot (the same `Arc`, not merely
    /// equal contents) in the same state: whatever was written from one holds for the other.
    pub fn is_same(&self, other: &AuthView) -> bool {
        let same_snapshot = match (&self.snapshot, &other.snapshot) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        same_snapshot && self.dead == other.dead && self.failure == other.failure
    }
}

impl Default for AuthView {
    /// Signed out.
    fn default() -> AuthView {
        AuthView {
            snapshot: None,
            dead: false,
            failure: None,
        }
    }
}

/// Which refresh a polling client's status call runs (`getAuthStatus`'s `refreshToken`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusRefresh {
    /// A proactive refresh, only when the credentials are stale (`refreshToken` false or absent).
    WhenStale,
    /// One `Requested` refresh whose result is ignored (`refreshToken: true`).
    Requested,
}

impl From<Option<bool>> for StatusRefresh {
    /// The `refreshToken` parameter: `Requested` when the client sent `true`, else `WhenStale`.
    fn from(refresh_token: Option<bool>) -> StatusRefresh {
        if refresh_token == Some(true) {
            StatusRefresh::Requested
        } else {
            StatusRefresh::WhenStale
        }
    }
}

impl AuthManager {
    /// The credentials in effect now: polls the store (AUTH.md §4.2) and never refreshes or uses
    /// the network.
    pub fn current_view(&self) -> AuthView {
        self.poll_for_status();
        self.view_of_state()
    }

    /// Like [`AuthManager::current_view`], after a proactive refresh when the credentials are
    /// stale. Refresh errors are logged, never returned.
    pub async fn view_refreshed_if_stale(&self) -> AuthView {
        self.poll_for_status();
        let now = self.now();
        let current = self.current();
        let stale = current
            .as_ref()
            .is_some_and(|s| s.is_refreshable() && s.should_refresh(now));
        if stale {
            let valid = current.as_ref().is_some_and(|s| s.is_known_valid(now));
            let wait = valid.then_some(self.inner.opts.valid_proactive_wait);
            self.refresh_detached(Trigger::Proactive, wait).await;
        }
        self.view_of_state()
    }

    /// The polling clients' status (AUTH.md §7.5): the refresh `refresh` names, then the view.
    /// Empty when the provider needs no OpenAI auth.
    pub async fn status(&self, refresh: StatusRefresh) -> AuthView {
        if !self.requires_openai_auth() {
            return AuthView::default();
        }
        match refresh {
            StatusRefresh::Requested => {
                self.poll_for_status();
                let valid = self.current().is_some_and(|s| s.is_known_valid(self.now()));
                let wait = valid.then_some(self.inner.opts.valid_requested_wait);
                self.refresh_detached(Trigger::Requested, wait).await;
                self.current_view()
            }
            StatusRefresh::WhenStale => self.view_refreshed_if_stale().await,
        }
    }

    /// The view of the current state, without polling.
    fn view_of_state(&self) -> AuthView {
        let st = self.state();
        let Some(snapshot) = st.current().cloned() else {
            return AuthView::default();
        };
        let fp = snapshot.fingerprint();
        let permanent = st.failure_of(fp).map(|k| k.failure.clone());
        let transient = st
            .backoff_of(fp)
            .map(|b| (b.last_error.clone(), b.next_attempt_at));
        drop(st);
        let dead = permanent.is_some();
        let failure = match (permanent, transient) {
            (Some(p), _) => Some(RefreshFailureView {
                reason: p.reason,
                message: p.reason.message().to_owned(),
                transient: false,
                retry_after_ms: None,
            }),
            (None, Some((message, next))) => Some(RefreshFailureView {
                reason: FailureReason::Other,
                message,
                transient: true,
                retry_after_ms: Some(millis_until(self.now(), next)),
            }),
            (None, None) => None,
        };
        AuthView {
            snapshot: Some(snapshot),
            dead,
            failure,
        }
    }
}

fn millis_until(now: DateTime<Utc>, at: DateTime<Utc>) -> u64 {
    u64::try_from((at - now).num_milliseconds()).unwrap_or(0)
}
