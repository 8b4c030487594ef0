//! The one active browser or device-code login of the server, and its completion notifications
//! (PROTOCOL.md §4.3, §4.9, §4.10, §4.14). A login keeps the notification family (v1 or v2) of the
//! method that started it, whichever cancel ends it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use auth_core::login::{LoginError, LoginHandle, LoginKind};
use protocol::{
    AccountLoginCompletedNotification, AccountUpdatedNotification, AuthMode,
    AuthStatusChangeNotification, LoginChatGptCompleteNotification, ServerNotification,
};
use uuid::Uuid;

use crate::convert;
use crate::state::ServerState;

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
    /// Set by whoever sends the completion notification first (the waiter or a canceller).
    reported: Arc<AtomicBool>,
}

/// The active login slot.
#[derive(Default)]
pub(crate) struct Logins {
    active: parking_lot::Mutex<Option<Tracked>>,
}

impl Logins {
    /// Ends the active login, if any, and returns its failed completion for the caller to send
    /// after its own response. Returns once the login's callback port is free.
    pub(crate) async fn end_active(&self) -> Option<ServerNotification> {
        let tracked = self.active.lock().take()?;
        end(tracked).await
    }

    /// Cancels the login `id`. `None` when it is not the active one; else its completion
    /// notification (or `Some(None)` when it had already reported).
    pub(crate) async fn cancel(&self, id: Uuid) -> Option<Option<ServerNotification>> {
        let tracked = {
            let mut active = self.active.lock();
            match active.as_ref() {
                Some(t) if t.handle.login_id() == id => active.take(),
                _ => None,
            }
        }?;
        Some(end(tracked).await)
    }

    /// Makes `handle` the active login and spawns the task that reports its end.
    pub(crate) fn track(&self, handle: LoginHandle, family: Family, state: ServerState) {
        let reported = Arc::new(AtomicBool::new(false));
        *self.active.lock() = Some(Tracked {
            handle: handle.clone(),
            family,
            reported: Arc::clone(&reported),
        });
        tokio::spawn(async move {
            let outcome = handle.wait().await;
            if reported.swap(true, Ordering::SeqCst) {
                return;
            }
            let hub = state.hub();
            hub.broadcast(completion(&handle, family, &outcome)).await;
            if outcome.is_ok() {
                let view = state.auth().auth_cached();
                let notification = match family {
                    Family::V1 => {
                        ServerNotification::AuthStatusChange(AuthStatusChangeNotification {
                            auth_method: Some(AuthMode::Chatgpt),
                        })
                    }
                    Family::V2 => ServerNotification::AccountUpdated(AccountUpdatedNotification {
                        auth_mode: Some(AuthMode::Chatgpt),
                        plan_type: Some(
                            view.plan()
                                .map(convert::plan_type)
                                .unwrap_or(protocol::PlanType::Unknown),
                        ),
                    }),
                };
                hub.broadcast(notification).await;
            }
        });
    }
}

async fn end(tracked: Tracked) -> Option<ServerNotification> {
    let first = !tracked.reported.swap(true, Ordering::SeqCst);
    tracked.handle.cancel().await;
    let outcome = tracked.handle.wait().await;
    first.then(|| completion(&tracked.handle, tracked.family, &outcome))
}

/// The completion notification of a login that ended with `outcome`.
fn completion(
    handle: &LoginHandle,
    family: Family,
    outcome: &Result<(), LoginError>,
) -> ServerNotification {
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
            })
        }
    }
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
