//! Refreshes that status calls start but need not wait for (issue 12 items 3 and 9).
//!
//! The refresh runs in its own task, so a status call that stops waiting (its bound passed, or
//! its client went away) never cancels a token request half-way: a cancelled request may have
//! spent a rotating refresh token whose answer would then be lost.

use std::time::Duration;

use super::AuthManager;
use super::refresh::Trigger;

impl AuthManager {
    /// Starts `refresh(trigger)` in its own task and waits for it at most `wait` (`None`: until
    /// it ends). Its result is logged by the refresh itself and otherwise ignored, as status
    /// calls do (AUTH.md §7.5).
    pub(crate) async fn refresh_detached(&self, trigger: Trigger, wait: Option<Duration>) {
        let this = self.clone();
        let task = tokio::spawn(async move {
            let _ = this.refresh_polled(trigger, None).await;
        });
        match wait {
            None => {
                let _ = task.await;
            }
            Some(wait) if wait.is_zero() => {}
            Some(wait) => {
                let _ = tokio::time::timeout(wait, task).await;
            }
        }
    }
}
