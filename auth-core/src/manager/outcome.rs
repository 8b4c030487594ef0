//! Recording what one token request ended with (AUTH.md §7.3 steps 8-10): saving new tokens (or
//! keeping them in memory when the save fails, and saving them later), the compare-and-set record
//! of a permanent failure, and the backoff after a transient one.

use std::sync::Arc;
use std::time::SystemTime;

use super::AuthManager;
use super::poll::Reload;
use super::refresh::Trigger;
use super::state::{FailureSource, KnownFailure, PendingSave, SeenStamp};
use crate::backoff::Backoff;
use crate::classify::{PermanentFailure, TransientKind};
use crate::failure_record::FailureRecord;
use crate::fingerprint::Fingerprint;
use crate::snapshot::Snapshot;

impl AuthManager {
    /// Step 8: save the merged tokens (a fenced write over `attempted`), drop the failure record,
    /// make them current. Store reads are held off meanwhile, so a poll never re-installs what
    /// this save replaces. `None` when installed; when a fenced store refused the save because
    /// someone else stored newer credentials meanwhile (a lease that expired while its holder
    /// stalled), those are adopted instead and the re-read's result is returned.
    pub(super) fn install_refreshed(
        &self,
        trigger: Trigger,
        attempted: Fingerprint,
        fresh: Arc<Snapshot>,
        elapsed_ms: u64,
    ) -> Option<Reload> {
        let serial = self.inner.reload.lock();
        let saved = self.inner.store.replace(attempted, &fresh.stored);
        match &saved {
            Ok(true) => {}
            Ok(false) => {
                drop(serial);
                tracing::warn!(target: "auth_core", decision = "stale_save_refused", trigger = trigger.as_str(),
                    fp = %attempted, elapsed_ms, "newer credentials were stored meanwhile; adopting them");
                return Some(self.reload_if_moved(attempted));
            }
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
        let stamp = self.inner.store.stamp();
        let now = self.now();
        let mut st = self.state();
        let previous = st.current(self.inner.env_key.as_ref()).cloned();
        let before = previous.as_ref().map(|s| s.fingerprint());
        st.stored = Some(Arc::clone(&fresh));
        // An unreachable store has no stamp now: the last one seen stands for what it holds.
        let file_stamp = stamp.or(st.store_stamp.map(|s| s.stamp));
        st.pending_save = saved.is_err().then_some(PendingSave {
            file_stamp,
            replaces: attempted,
        });
        if saved.is_ok() {
            st.store_stamp = seen(stamp);
        }
        let changed = st.after_change(self.inner.env_key.as_ref(), before, now);
        drop(st);
        drop(serial);
        tracing::info!(target: "auth_core", decision = "refreshed", trigger = trigger.as_str(),
            fp = %attempted, new_fp = %fresh.fingerprint(), elapsed_ms, "refreshed credentials");
        if changed {
            self.notify(previous.as_ref());
        }
        None
    }

    /// Retries a save that failed after an earlier successful refresh (AUTH.md §12 item 36),
    /// unless someone else wrote the store meanwhile: then their credentials are adopted.
    pub(super) async fn flush_pending_save(&self) {
        let Some(pending) = self.state().pending_save.clone() else {
            return;
        };
        let Some(snapshot) = self.state().stored.clone() else {
            return;
        };
        let Ok(_lock) = self
            .lock_credentials(Trigger::Proactive, Some(snapshot.fingerprint()))
            .await
        else {
            return;
        };
        let serial = self.inner.reload.lock();
        if self.inner.store.stamp() != pending.file_stamp {
            drop(serial);
            self.state().pending_save = None;
            self.reload();
            return;
        }
        let saved = self.inner.store.replace(pending.replaces, &snapshot.stored);
        if let Ok(false) = saved {
            drop(serial);
            self.state().pending_save = None;
            self.reload();
            return;
        }
        if saved.is_ok() {
            let stamp = self.inner.store.stamp();
            let mut st = self.state();
            st.pending_save = None;
            st.store_stamp = seen(stamp);
            tracing::info!(target: "auth_core", fp = %snapshot.fingerprint(), "saved tokens that were kept in memory");
        }
    }

    /// Step 9: compare-and-set in memory (only if `fp` is still current) and in the shared record
    /// (only when the store was re-read and still holds `fp`: `write_record`).
    pub(super) fn record_permanent(
        &self,
        trigger: Trigger,
        fp: Fingerprint,
        failure: &PermanentFailure,
        write_record: bool,
        elapsed_ms: u64,
    ) {
        {
            let mut st = self.state();
            if self.current_fingerprint(&st) == Some(fp) {
                st.permanent = Some(KnownFailure {
                    fingerprint: fp,
                    failure: failure.clone(),
                    source: FailureSource::Memory,
                });
                st.backoff = None;
            }
        }
        if let Some(record) = self.inner.coord.as_ref().filter(|_| write_record) {
            let rec = FailureRecord {
                fingerprint: fp,
                reason: failure.reason,
                http_status: failure.http_status,
                backend_code: failure.backend_code.clone(),
                recorded_at: self.now(),
                recorded_by_pid: std::process::id(),
            };
            if let Err(err) = record.save_failure(&rec) {
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
        let mut st = self.state();
        let next =
            Backoff::after_failure(st.backoff.as_ref(), fp, now, retry_after, jitter, message);
        let out = (next.next_attempt_at, next.attempts);
        if self.current_fingerprint(&st) == Some(fp) {
            st.backoff = Some(next);
        }
        out
    }
}

/// A stamp we just wrote ourselves, with its trust decided now.
pub(super) fn seen(stamp: Option<crate::store::Stamp>) -> Option<SeenStamp> {
    stamp.map(|stamp| SeenStamp {
        stamp,
        trusted: stamp.is_trusted(SystemTime::now()),
    })
}
