//! The caller's side of a running login: its id, a cancel switch and its single outcome.

use std::fmt;
use std::sync::Arc;

use tokio::sync::watch;
use uuid::Uuid;

use super::LoginError;

/// Which flow a login runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginKind {
    /// Browser login with PKCE and a loopback callback server (AUTH.md §8.2).
    Browser,
    /// Device-code login (AUTH.md §8.3).
    DeviceCode,
}

/// What a successful login reports besides its success.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginSuccess {
    /// Codex's onboarding hint carried in the OAuth `state` (`.onboarding_entrypoint=<value>`;
    /// Codex 0.171 accepts `life_sciences` only), for `account/login/completed`'s
    /// `onboardingEntrypoint`. Always `None` for device-code logins.
    pub onboarding_entrypoint: Option<String>,
}

/// How a login ended.
pub type LoginOutcome = Result<LoginSuccess, LoginError>;

/// The outcome slot: `None` while the login runs.
type Outcome = Option<LoginOutcome>;

/// A running login. Cheap to clone; every clone sees the same outcome and can cancel it.
#[derive(Clone)]
pub struct LoginHandle {
    inner: Arc<Inner>,
}

struct Inner {
    id: Uuid,
    kind: LoginKind,
    cancel: watch::Sender<bool>,
    done: watch::Receiver<Outcome>,
}

/// The flow's side: the cancel request to watch and the slot to publish the outcome in.
pub(crate) struct LoginControl {
    /// Becomes `true` when the caller cancels.
    pub cancel: watch::Receiver<bool>,
    done: watch::Sender<Outcome>,
    id: Uuid,
}

impl LoginControl {
    /// Publishes the outcome (the first one wins). For a browser login, call it only once the
    /// callback port is free.
    pub fn finish(&self, result: LoginOutcome) {
        let error = result.as_ref().err().map(ToString::to_string);
        let first = self.done.send_if_modified(|slot| {
            if slot.is_some() {
                return false;
            }
            *slot = Some(result);
            true
        });
        match (first, error) {
            (false, _) => {}
            (true, None) => {
                tracing::info!(target: "auth_core", login_id = %self.id, "login succeeded")
            }
            (true, Some(error)) => {
                tracing::info!(target: "auth_core", login_id = %self.id, %error, "login failed")
            }
        }
    }

    /// Resolves when the caller cancels; never, if every handle was dropped without cancelling.
    pub async fn cancelled(&mut self) {
        if self.cancel.wait_for(|c| *c).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl LoginHandle {
    /// A new handle with a fresh v4 id, and the control for the flow that runs it.
    pub(crate) fn new(kind: LoginKind) -> (LoginHandle, LoginControl) {
        let (cancel_tx, cancel_rx) = watch::channel(false);
        let (done_tx, done_rx) = watch::channel(None);
        let id = Uuid::new_v4();
        let handle = LoginHandle {
            inner: Arc::new(Inner {
                id,
                kind,
                cancel: cancel_tx,
                done: done_rx,
            }),
        };
        let control = LoginControl {
            cancel: cancel_rx,
            done: done_tx,
            id,
        };
        (handle, control)
    }

    /// The login's id (UUID v4).
    pub fn login_id(&self) -> Uuid {
        self.inner.id
    }

    /// Which flow this is.
    pub fn kind(&self) -> LoginKind {
        self.inner.kind
    }

    /// True once the login has ended (successfully or not).
    pub fn is_finished(&self) -> bool {
        self.inner.done.borrow().is_some()
    }

    /// Ends the login with "Login was not completed" (unless it already ended, or its credentials
    /// were already saved, in which case it ends successfully) and returns once it has ended and
    /// its callback port, if any, is free.
    pub async fn cancel(&self) {
        self.inner.cancel.send_replace(true);
        let _ = self.wait().await;
    }

    /// Waits for the login's outcome. Every call, from any task, gets the same result.
    pub async fn wait(&self) -> LoginOutcome {
        let mut done = self.inner.done.clone();
        let outcome = match done.wait_for(Option::is_some).await {
            Ok(slot) => slot.clone(),
            // The flow vanished without an outcome (its runtime shut down).
            Err(_) => None,
        };
        outcome.unwrap_or(Err(LoginError::NotCompleted))
    }
}

impl fmt::Debug for LoginHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginHandle")
            .field("login_id", &self.inner.id)
            .field("kind", &self.inner.kind)
            .field("finished", &self.is_finished())
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[tokio::test]
    async fn first_outcome_wins_and_every_waiter_sees_it() {
        let (handle, control) = LoginHandle::new(LoginKind::DeviceCode);
        let other = handle.clone();
        let waiter = tokio::spawn(async move { other.wait().await });
        assert!(!handle.is_finished());
        control.finish(Err(LoginError::TimedOut));
        control.finish(Ok(LoginSuccess::default()));
        assert_eq!(waiter.await.unwrap(), Err(LoginError::TimedOut));
        assert_eq!(handle.wait().await, Err(LoginError::TimedOut));
        assert!(handle.is_finished());
        assert_eq!(handle.login_id().get_version_num(), 4);
        assert_eq!(handle.kind(), LoginKind::DeviceCode);
    }

    #[tokio::test]
    async fn cancel_is_seen_by_the_flow_and_waits_for_its_outcome() {
        let (handle, mut control) = LoginHandle::new(LoginKind::Browser);
        let flow = tokio::spawn(async move {
            control.cancelled().await;
            control.finish(Err(LoginError::NotCompleted));
        });
        handle.cancel().await;
        assert!(handle.is_finished());
        assert_eq!(handle.wait().await, Err(LoginError::NotCompleted));
        flow.await.unwrap();
    }

    #[tokio::test]
    async fn a_vanished_flow_reads_as_not_completed() {
        let (handle, control) = LoginHandle::new(LoginKind::Browser);
        drop(control);
        assert_eq!(handle.wait().await, Err(LoginError::NotCompleted));
    }
}
