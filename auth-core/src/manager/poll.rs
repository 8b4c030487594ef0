//! Cheap change detection (AUTH.md §4.2, §4.3): stat the store, re-read only when the stamp moved
//! or cannot be trusted, adopt a different fingerprint, keep everything for the same one.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::AuthManager;
use super::state::{FailureSource, KnownFailure, SeenStamp};
use crate::auth_json::StoredAuth;
use crate::classify::PermanentFailure;
use crate::restrictions;
use crate::snapshot::{Origin, Snapshot};
use crate::store::Stamp;

/// Stores without a stamp (keyring) are re-read at most this often by status calls.
const UNSTAMPED_REREAD: Duration = Duration::from_secs(5);

/// What a re-read of the store found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reload {
    /// Same fingerprint as the cache (or the store could not be read): nothing changed.
    Unchanged,
    /// Different credentials (or none) were adopted.
    Adopted { account_changed: bool },
    /// The store could not be read (half-written or invalid); the cache was kept.
    Unreadable,
}

impl AuthManager {
    /// Loads the store and the failure record at construction; the initial load leaves
    /// `fresh_since` empty.
    pub(super) fn initial_load(&self) {
        self.reload();
        let mut st = self.state();
        st.fresh_since = None;
        drop(st);
        self.poll_record();
    }

    /// The status-path poll: a `stat`, and a re-read only when needed.
    pub(crate) fn poll(&self) {
        if !self.store_polls() {
            return;
        }
        match self.inner.store.stamp() {
            Some(stamp) => {
                let st = self.state();
                let same = st
                    .store_stamp
                    .is_some_and(|s| s.stamp == stamp && s.trusted)
                    || st.invalid_stamp == Some(stamp);
                let ours_pending = st
                    .pending_save
                    .as_ref()
                    .is_some_and(|p| p.file_stamp == Some(stamp));
                drop(st);
                if !same && !ours_pending {
                    self.reload();
                }
            }
            None => {
                let due = self
                    .state()
                    .last_read
                    .is_none_or(|t| t.elapsed() >= UNSTAMPED_REREAD);
                if due {
                    self.reload();
                }
            }
        }
        self.poll_record();
    }

    fn store_polls(&self) -> bool {
        self.inner.store.kind() != "ephemeral"
    }

    /// Re-reads the store and adopts what it holds when it differs from the cache.
    pub(crate) fn reload(&self) -> Reload {
        let _serial = self.inner.reload.lock();
        let stamp = self.inner.store.stamp();
        let taken_at = SystemTime::now();
        match self.inner.store.load() {
            Ok(loaded) => {
                let seen = stamp.map(|stamp| SeenStamp {
                    stamp,
                    trusted: stamp.is_trusted(taken_at),
                });
                self.install(loaded, seen)
            }
            Err(err) => {
                tracing::warn!(target: "auth_core", store = self.inner.store.kind(), error = %err,
                    "stored credentials could not be read; keeping the cached ones");
                // A settled file (mtime old enough) that does not parse stays broken until it
                // changes: polls skip it rather than re-reading it with retries on every call.
                self.state().invalid_stamp = stamp.filter(|s| s.is_trusted(taken_at));
                Reload::Unreadable
            }
        }
    }

    /// Installs freshly loaded credentials under the clearing rule.
    fn install(&self, loaded: Option<StoredAuth>, seen: Option<SeenStamp>) -> Reload {
        let snapshot = loaded.map(|auth| Arc::new(self.snapshot_from_store(auth)));
        let now = self.now();
        let mut st = self.state();
        let ours_pending = st
            .pending_save
            .as_ref()
            .is_some_and(|p| p.file_stamp == seen.map(|s| s.stamp));
        if ours_pending {
            // The store still holds what we failed to overwrite; our newer tokens stay current.
            return Reload::Unchanged;
        }
        st.store_stamp = seen;
        st.invalid_stamp = None;
        st.last_read = Some(Instant::now());
        let same = match (&st.stored, &snapshot) {
            (Some(a), Some(b)) => a.fingerprint() == b.fingerprint(),
            (None, None) => true,
            _ => false,
        };
        if same {
            return Reload::Unchanged;
        }
        st.pending_save = None;
        let previous = st.current(self.inner.env_key.as_ref()).cloned();
        let before = previous.as_ref().map(|s| s.fingerprint());
        let previous_stored = st.stored.take();
        st.stored = snapshot.clone();
        let changed = st.after_change(self.inner.env_key.as_ref(), before, now);
        drop(st);
        let account_changed = previous_stored.as_ref().and_then(|p| p.account_id())
            != snapshot.as_ref().and_then(|s| s.account_id());
        match &snapshot {
            Some(s) => {
                tracing::info!(target: "auth_core", decision = "adopted", fp = %s.fingerprint(),
                account_changed, "adopted stored credentials")
            }
            None => tracing::info!(target: "auth_core", decision = "logged_out_elsewhere",
                "stored credentials disappeared; signed out"),
        }
        if changed {
            self.notify(previous.as_ref());
        }
        Reload::Adopted { account_changed }
    }

    /// Builds a store snapshot, marking it restricted when it breaks `config.toml` (AUTH.md §8.5).
    pub(crate) fn snapshot_from_store(&self, auth: StoredAuth) -> Snapshot {
        let mut snapshot = Snapshot::new(auth, Origin::Store);
        match &snapshot.mode {
            Ok(mode) => {
                snapshot.restricted =
                    restrictions::violation(self.config(), *mode, snapshot.account_id());
                if let Some(why) = &snapshot.restricted {
                    tracing::warn!(target: "auth_core", fp = %snapshot.fingerprint(), reason = %why,
                        "stored credentials break a login restriction; treating them as absent");
                }
            }
            Err(why) => {
                tracing::warn!(target: "auth_core", fp = %snapshot.fingerprint(), reason = %why,
                    "stored credentials are not usable");
            }
        }
        snapshot
    }

    /// Reads the shared failure record when its stamp moved, and copies a record for the current
    /// snapshot into memory (AUTH.md §7.4c).
    pub(crate) fn poll_record(&self) {
        let Some(record) = &self.inner.coord else {
            return;
        };
        let Some(stamp) = record.failure_stamp() else {
            return;
        };
        {
            let st = self.state();
            if st
                .record_stamp
                .is_some_and(|s| s.stamp == stamp && s.trusted)
            {
                return;
            }
        }
        let taken_at = SystemTime::now();
        let loaded = if stamp == Stamp::Missing {
            None
        } else {
            record.load_failure()
        };
        let mut st = self.state();
        st.record_stamp = Some(SeenStamp {
            stamp,
            trusted: stamp.is_trusted(taken_at),
        });
        let Some(rec) = loaded else {
            return;
        };
        let Some(current) = st.stored.as_ref().map(|s| s.fingerprint()) else {
            return;
        };
        if rec.fingerprint == current && st.failure_of(current).is_none() {
            st.permanent = Some(KnownFailure {
                fingerprint: current,
                failure: PermanentFailure {
                    reason: rec.reason,
                    http_status: rec.http_status,
                    backend_code: rec.backend_code,
                },
                source: FailureSource::Record,
            });
        }
    }
}
