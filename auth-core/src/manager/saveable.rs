//! Two checks before the refresh path commits to work it cannot finish (issue 12 items 3, 5).

use std::time::Instant;

use super::AuthManager;
use super::refresh::Trigger;
use crate::error::{RefreshError, TransientError};
use crate::snapshot::Snapshot;

impl AuthManager {
    /// Whether a wait for `auth.json.lock` timed out after `since`: a caller that was queued on
    /// the gate meanwhile returns `LockTimeout` at once instead of waiting again.
    pub(super) fn lock_timed_out_since(&self, since: Instant) -> bool {
        self.inner
            .lock_timed_out_at
            .lock()
            .is_some_and(|at| at >= since)
    }

    /// A file-backed store whose directory cannot take a new file would lose the rotated tokens
    /// after a restart, the old refresh token being spent: refuse before the request, naming the
    /// directory. Other stores (keyring, memory) have nothing to probe.
    pub(super) fn ensure_saveable(
        &self,
        trigger: Trigger,
        snapshot: &Snapshot,
    ) -> Result<(), RefreshError> {
        if !self.inner.store.saves_auth_json() {
            return Ok(());
        }
        let dir = &self.inner.opts.codex_home;
        match crate::atomic_write::probe_writable(dir) {
            Ok(()) => Ok(()),
            Err(err) => {
                let message = format!(
                    "{} is not writable ({err}); the refresh token was not spent because new \
                     tokens could not be saved",
                    dir.display()
                );
                // A backoff, so status calls show the reason (`refreshFailure`) and the probe is
                // not repeated on every poll.
                let fp = snapshot.fingerprint();
                let (retry_at, _) = self.back_off(fp, self.now(), None, message.clone());
                tracing::warn!(target: "auth_core", decision = "failed_transient",
                    trigger = trigger.as_str(), fp = %fp, reason = "read_only_home",
                    dir = %dir.display(), error = %err, "not refreshing: the home is not writable");
                Err(RefreshError::Transient {
                    kind: TransientError::Storage(message),
                    retry_at: Some(retry_at),
                })
            }
        }
    }
}
