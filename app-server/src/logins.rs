//! The one active browser or device-code login of the server, and its completion notifications
//! (PROTOCOL.md §4.3, §4.9, §4.10, §4.14). A login keeps the notification family (v1 or v2) of the
//! method that started it, whichever cancel ends it.

use std::sync::Arc;

use auth_core::AuthManager;
use auth_core::{LoginError, LoginHandle, LoginKind, LoginOutcome};
use protocol::{
    AccountLoginCompletedNotification, AccountUpdatedNotification, AuthMode,
    AuthStatusChangeNotification, LoginChatGptCompleteNotification, ServerNotification,
};
use uuid::Uuid;

use crate::convert;

/// Which notification family a login reports in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// `loginChatGptComplete` + `authStatusChange`.
    V1,
    /// `account/login/completed` + `account/updated`.
    V2,
}

struct Tracked {
    handle: LoginHandle,
    family: Family,
}

/// The slot of the active login. Whoever takes a login out of it reports that login's end:
/// a cancel, a displacing login or logout, or the login's own [`Watch`] when it ends by itself.
type Slot = Arc<parking_lot::Mutex<Option<Tracked>>>;

/// The active login slot.
#[derive(Default)]
pub(crate) struct Logins {
    active: Slot,
}

impl Logins {
    /// Ends the active login, if any, and returns its completion notifications for the caller
    /// to send after its own response (normally the failed completion; a login whose sign-in
    /// won the race reports its success). Returns once the login's callback port is free.
    pub(crate) async fn end_active(&self, auth: &AuthManager) -> Vec<ServerNotification> {
        let Some(tracked) = self.active.lock().take() else {
            return Vec::new();
        };
        end(tracked, auth).await
    }

    /// Cancels the login `id`. `None` when it is not the active one (unknown, replaced or
    /// already ended); else its completion notifications, as [`Logins::end_active`].
    pub(crate) async fn cancel(
        &self,
        id: Uuid,
        auth: &AuthManager,
    ) -> Option<Vec<ServerNotification>> {
        let tracked = {
            let mut active = self.active.lock();
            match active.as_ref() {
                Some(t) if t.handle.login_id() == id && !t.handle.is_finished() => active.take(),
                _ => None,
            }
        }?;
        Some(end(tracked, auth).await)
    }

    /// Makes `handle` the active login. A login that another connection started meanwhile is
    /// ended, and its notifications are returned as [`Logins::end_active`] does, with the
    /// [`Watch`] that reports the new login's own end: the caller starts it only after its
    /// response, so a login that ends at once still reports after the response that started it.
    pub(crate) async fn track(
        &self,
        handle: LoginHandle,
        family: Family,
        auth: &AuthManager,
    ) -> (Vec<ServerNotification>, Watch) {
        let displaced = self.active.lock().replace(Tracked {
            handle: handle.clone(),
            family,
        });
        let ended = match displaced {
            Some(displaced) => end(displaced, auth).await,
            None => Vec::new(),
        };
        let watch = Watch {
            handle,
            family,
            active: Arc::clone(&self.active),
        };
        (ended, watch)
    }
}

/// Waits for one login to end by itself and reports it, unless something else took it out of
/// the slot first (and reported it).
pub(crate) struct Watch {
    handle: LoginHandle,
    family: Family,
    active: Slot,
}

impl Watch {
    /// Waits for the login's end; its notifications if it was still the active login, else none.
    pub(crate) async fn ended(self, auth: &AuthManager) -> Vec<ServerNotification> {
        let outcome = self.handle.wait().await;
        let still_active = {
            let mut active = self.active.lock();
            let ours = active
                .as_ref()
                .is_some_and(|t| t.handle.login_id() == self.handle.login_id());
            if ours {
                *active = None;
            }
            ours
        };
        if !still_active {
            return Vec::new();
        }
        notifications(&self.handle, self.family, &outcome, auth)
    }
}

async fn end(tracked: Tracked, auth: &AuthManager) -> Vec<ServerNotification> {
    tracked.handle.cancel().await;
    let outcome = tracked.handle.wait().await;
    notifications(&tracked.handle, tracked.family, &outcome, auth)
}

/// What a login that ended with `outcome` reports: its completion, and on success the
/// credential change (PROTOCOL.md §4.3, §4.9).
fn notifications(
    handle: &LoginHandle,
    family: Family,
    outcome: &LoginOutcome,
    auth: &AuthManager,
) -> Vec<ServerNotification> {
    let mut out = vec![completion(handle, family, outcome)];
    if outcome.is_ok() {
        out.push(match family {
            Family::V1 => ServerNotification::AuthStatusChange(AuthStatusChangeNotification {
                auth_method: Some(AuthMode::Chatgpt),
            }),
            Family::V2 => ServerNotification::AccountUpdated(AccountUpdatedNotification {
                auth_mode: Some(AuthMode::Chatgpt),
                plan_type: Some(
                    auth.current_view()
                        .plan()
                        .map(convert::plan_type)
                        .unwrap_or(protocol::PlanType::Unknown),
                ),
                reason: None,
            }),
        });
    }
    out
}

/// The completion notification of a login that ended with `outcome`.
fn completion(handle: &LoginHandle, family: Family, outcome: &LoginOutcome) -> ServerNotification {
    let error = outcome
        .as_ref()
        .err()
        .map(|err| error_text(handle.kind(), err));
    let id = handle.login_id();
    match family {
        Family::V1 => ServerNotification::LoginChatGptComplete(LoginChatGptCompleteNotification {
            login_id: id,
            success: outcome.is_ok(),
            error,
        }),
        Family::V2 => {
            ServerNotification::AccountLoginCompleted(AccountLoginCompletedNotification {
                login_id: Some(id.to_string()),
                success: outcome.is_ok(),
                error,
                onboarding_entrypoint: onboarding_entrypoint(outcome),
            })
        }
    }
}

/// The `onboardingEntrypoint` of a v2 login's completion: the entry point a successful browser
/// login carried in its OAuth state (`.onboarding_entrypoint=<value>`, Codex 0.171), as
/// auth-core's `LoginSuccess` reports it; a value Codex does not know is sent as null.
fn onboarding_entrypoint(outcome: &LoginOutcome) -> Option<protocol::DesktopOnboardingEntrypoint> {
    let value = outcome.as_ref().ok()?.onboarding_entrypoint.as_deref()?;
    serde_json::from_value(serde_json::Value::String(value.to_owned())).ok()
}

/// PROTOCOL.md §4.3/§4.9: browser failures carry the `Login server error: ` prefix (except the
/// timeout); device-code failures are the AUTH.md texts as they are.
fn error_text(kind: LoginKind, err: &LoginError) -> String {
    match (kind, err) {
        (LoginKind::Browser, LoginError::TimedOut) => err.to_string(),
        (LoginKind::Browser, _) => format!("Login server error: {err}"),
        (LoginKind::DeviceCode, _) => err.to_string(),
    }
}
