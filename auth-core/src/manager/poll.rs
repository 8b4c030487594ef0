//! Cheap change detection (AUTH.md §4.2, §4.3): stat the store, re-read only when the stamp moved
//! or cannot be trusted, adopt a different fingerprint, keep everything for the same one.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::AuthManager;
use super::state::SeenStamp;
use crate::auth_json::StoredAuth;
use crate::restrictions;
use crate::snapshot::{Origin, Snapshot};
use crate::store::{Stamp, watch};

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
        // Nobody else holds the store lock yet: the read always runs.
        let _ = self.try_store_io(|| self.reload_now());
        self.state().settle_initial_load();
        self.poll_record();
    }

    /// The poll that answers a status request: [`AuthManager::poll`], reading the change watch's
    /// queue only when client input arrived since it was last read (AUTH.md §4.2).
    pub(crate) fn poll_for_status(&self) {
        watch::as_status_poll(|| self.poll());
    }

    /// A `stat`, and a re-read only when needed. It never waits: while a save or re-read holds
    /// the store lock, the cache is served.
    pub(crate) fn poll(&self) {
        if !self.inner.store.persists() {
            return;
        }
        let must_read = match self.inner.store.stamp() {
            Some(stamp) => self.state().store_moved(stamp),
            None => self.state().read_due(UNSTAMPED_REREAD),
        };
        if must_read && self.inner.store.load_may_wait() {
            self.reload_in_background();
        } else if must_read {
            let _ = self.try_store_io(|| self.reload_now());
        }
        self.poll_record();
    }

    /// Re-reads the store on the blocking pool (waiting for the store lock) and adopts what it
    /// holds when it differs from the cache.
    pub(crate) async fn reload(&self) -> Reload {
        self.with_store_io(AuthManager::reload_now)
            .await
            .unwrap_or(Reload::Unreadable)
    }

    /// The re-read itself; the caller holds the store lock.
    pub(super) fn reload_now(&self) -> Reload {
        let stamp = self.inner.store.stamp();
        let taken_at = SystemTime::now();
        match self.inner.store.load() {
            Ok(loaded) => {
                let seen = stamp.map(|stamp| SeenStamp::taken_at(stamp, taken_at));
                let snapshot = loaded.map(|auth| Arc::new(self.snapshot_from_store(auth)));
                let now = self.now();
                let reload = self.state().adopt_stored(snapshot.clone(), seen, now);
                if let Reload::Adopted { account_changed } = reload {
                    match &snapshot {
                        Some(s) => {
                            tracing::info!(target: "auth_core", decision = "adopted", fp = %s.fingerprint(),
                                account_changed, "adopted stored credentials")
                        }
                        None => {
                            tracing::info!(target: "auth_core", decision = "logged_out_elsewhere",
                            "stored credentials disappeared; signed out")
                        }
                    }
                }
                reload
            }
            Err(err) => {
                tracing::warn!(target: "auth_core", store = self.inner.store.kind(), error = %err,
                    "stored credentials could not be read; keeping the cached ones");
                // A settled file (mtime old enough) that does not parse stays broken until it
                // changes: polls skip it rather than re-reading it with retries on every call.
                self.state().skip_unreadable(stamp, taken_at);
                Reload::Unreadable
            }
        }
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
        if self.state().record_unchanged(stamp) {
            return;
        }
        let taken_at = SystemTime::now();
        let loaded = if stamp == Stamp::Missing {
            None
        } else {
            record.load_failure()
        };
        self.state()
            .learn_record(SeenStamp::taken_at(stamp, taken_at), loaded);
    }
}
