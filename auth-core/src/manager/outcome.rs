//! Recording what one token request ended with (AUTH.md §7.3 steps 8-10): saving new tokens (or
//! keeping them in memory when the save fails, and saving them later), the compare-and-set record
//! of a permanent failure, and the backoff after a transient one.

use std::sync::Arc;

use super::AuthManager;
use super::poll::Reload;
use super::refresh::{LockPurpose, Trigger};
use crate::classify::{PermanentFailure, TransientKind};
use crate::failure_record::FailureRecord;
use crate::fingerprint::Fingerprint;
use crate::snapshot::Snapshot;

/// What a save of refreshed tokens did.
enum Saved {
    /// Saved, or kept in memory as a pending save: installed either way.
    Installed,
    /// A fenced store refused it: someone else stored newer credentials meanwhile.
    Refused,
}

impl AuthManager {
    /// Step 8: save the merged tokens (a fenced write over `attempted`), drop the failure record,
    /// make them current, all on the blocking pool under the store lock, so a poll never
    /// re-installs what this save replaces. `None` when installed; when a fenced store refused
    /// the save because someone else stored newer credentials meanwhile (a lease that expired
    /// while its holder stalled), those are adopted instead and the re-read's result is returned.
    pub(super) async fn install_refreshed(
        &self,
        trigger: Trigger,
        attempted: Fingerprint,
        fresh: Arc<Snapshot>,
        elapsed_ms: u64,
    ) -> Option<Reload> {
        let installing = Arc::clone(&fresh);
        let saved = self
            .with_store_io(move |this| this.save_refreshed(trigger, attempted, installing))
            .await;
        match saved {
            Ok(Saved::Installed) => {
                tracing::info!(target: "auth_core", decision = "refreshed", trigger = trigger.as_str(),
                    fp = %attempted, new_fp = %fresh.fingerprint(), elapsed_ms, "refreshed credentials");
                None
            }
            Ok(Saved::Refused) => {
                tracing::warn!(target: "auth_core", decision = "stale_save_refused", trigger = trigger.as_str(),
                    fp = %attempted, elapsed_ms, "newer credentials were stored meanwhile; adopting them");
                Some(self.reload_if_moved(attempted).await)
            }
            // The runtime is shutting down: nothing was saved or installed.
            Err(_) => Some(Reload::Unchanged),
        }
    }

    /// The save of step 8 and the install after it; the caller holds the store lock.
    fn save_refreshed(
        &self,
        trigger: Trigger,
        attempted: Fingerprint,
        fresh: Arc<Snapshot>,
    ) -> Saved {
        let saved = self.inner.store.replace(attempted, &fresh.stored);
        match &saved {
            Ok(true) => {}
            Ok(false) => return Saved::Refused,
            Err(err) => {
                tracing::error!(target: "auth_core", decision = "persist_failed", trigger = trigger.as_str(),
                    fp = %fresh.fingerprint(), error = %err, "new tokens kept in memory only");
            }
        }
        if let Some(coord) = &self.inner.coord
            && let Err(err) = coord.delete_failure()
        {
            tracing::warn!(target: "auth_core", error = %err, "could not delete the failure record");
        }
        // An unreachable store has no stamp now: the last one seen stands for what it holds.
        let stamp = self.inner.store.stamp();
        let now = self.now();
        self.state()
            .install_refreshed(attempted, fresh, saved.is_ok(), stamp, now);
        Saved::Installed
    }

    /// Retries a save that failed after an earlier successful refresh (AUTH.md §12 item 36),
    /// unless someone else wrote the store meanwhile: then their credentials are adopted. The
    /// caller holds the gate.
    pub(super) async fn flush_pending_save(&self) {
        let (pending, snapshot) = {
            let st = self.state();
            match (st.pending_save().cloned(), st.stored().cloned()) {
                (Some(pending), Some(snapshot)) => (pending, snapshot),
                _ => return,
            }
        };
        let Ok(_lock) = self
            .lock_credentials(LockPurpose::PendingSave, Some(snapshot.fingerprint()))
            .await
        else {
            return;
        };
        let overtaken = self
            .with_store_io(move |this| {
                if this.inner.store.stamp() != pending.file_stamp {
                    this.state().drop_pending_save();
                    return true;
                }
                match this.inner.store.replace(pending.replaces, &snapshot.stored) {
                    Ok(false) => {
                        this.state().drop_pending_save();
                        true
                    }
                    Ok(true) => {
                        let stamp = this.inner.store.stamp();
                        this.state().pending_saved(stamp);
                        tracing::info!(target: "auth_core", fp = %snapshot.fingerprint(),
                            "saved tokens that were kept in memory");
                        false
                    }
                    Err(_) => false,
                }
            })
            .await;
        if overtaken.unwrap_or(false) {
            self.reload().await;
        }
    }

    /// Step 9: compare-and-set in memory (only if `fp` is still current) and in the shared record
    /// (only when the store was re-read and still holds `fp`: `write_record`), written on the
    /// blocking pool like the store.
    pub(super) async fn record_permanent(
        &self,
        trigger: Trigger,
        fp: Fingerprint,
        failure: &PermanentFailure,
        write_record: bool,
        elapsed_ms: u64,
    ) {
        self.state().remember_permanent(fp, failure.clone());
        if let Some(record) = self.inner.coord.clone().filter(|_| write_record) {
            let rec = FailureRecord {
                fingerprint: fp,
                reason: failure.reason,
                http_status: failure.http_status,
                backend_code: failure.backend_code.clone(),
                recorded_at: self.now(),
                recorded_by_pid: std::process::id(),
            };
            let written = self
                .with_store_io(move |_| record.save_failure(&rec))
                .await
                .and_then(|written| written);
            if let Err(err) = written {
                tracing::warn!(target: "auth_core", error = %err, "could not write the failure record");
            }
        }
        tracing::warn!(target: "auth_core", decision = "failed_permanent", trigger = trigger.as_str(),
            fp = %fp, reason = failure.reason.as_str(), http_status = failure.http_status,
            backend_code = failure.backend_code.as_deref(), elapsed_ms, "refresh token is dead");
    }

    /// Step 10: back off this snapshot; returns the next allowed attempt.
    pub(super) fn record_transient(
        &self,
        trigger: Trigger,
        fp: Fingerprint,
        kind: &TransientKind,
        elapsed_ms: u64,
    ) -> chrono::DateTime<chrono::Utc> {
        let retry_after = match kind {
            TransientKind::RateLimited { retry_after } => *retry_after,
            _ => None,
        };
        let now = self.now();
        let (retry_at, attempt) = self.back_off(fp, now, retry_after, kind.to_string());
        tracing::warn!(target: "auth_core", decision = "failed_transient", trigger = trigger.as_str(),
            fp = %fp, attempt, retry_in_ms = (retry_at - now).num_milliseconds(), elapsed_ms,
            error = %kind, "refresh failed; will retry later");
        retry_at
    }
}

impl AuthManager {
    /// Advances the backoff of `fp` after a transient failure described by `message` (kept for
    /// `refreshFailure`), if `fp` is still current. Returns the next attempt time and the count.
    pub(super) fn back_off(
        &self,
        fp: Fingerprint,
        now: chrono::DateTime<chrono::Utc>,
        retry_after: Option<std::time::Duration>,
        message: String,
    ) -> (chrono::DateTime<chrono::Utc>, u32) {
        let jitter = self.inner.opts.jitter.factor();
        self.state().back_off(fp, now, retry_after, jitter, message)
    }
}
