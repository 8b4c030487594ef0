//! The one mutable state of a manager, guarded by one mutex, and the clearing rule (AUTH.md §7.1).

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::backoff::Backoff;
use crate::classify::PermanentFailure;
use crate::fingerprint::Fingerprint;
use crate::manager::recover::RecoverOutcome;
use crate::snapshot::Snapshot;
use crate::store::Stamp;

/// How many rejected access tokens 401 recovery remembers.
pub(crate) const RECOVERED_CAPACITY: usize = 8;

/// Where a remembered permanent failure was learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureSource {
    /// This process's own token request.
    Memory,
    /// The shared `auth.json.refresh-failure` record.
    Record,
}

/// A permanent refresh failure of one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KnownFailure {
    pub(crate) fingerprint: Fingerprint,
    pub(crate) failure: PermanentFailure,
    pub(crate) source: FailureSource,
}

/// New tokens that could not be saved yet (AUTH.md §7.3 step 8).
#[derive(Debug, Clone)]
pub(crate) struct PendingSave {
    /// The store's stamp when the save failed; a different stamp means someone else wrote.
    pub(crate) file_stamp: Option<Stamp>,
    /// The snapshot the new tokens replace: a fenced store saves them only over this one.
    pub(crate) replaces: Fingerprint,
}

/// A store stamp and whether it may be trusted (AUTH.md §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SeenStamp {
    pub(crate) stamp: Stamp,
    pub(crate) trusted: bool,
}

/// Everything that changes, under one lock.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) stored: Option<Arc<Snapshot>>,
    pub(crate) store_stamp: Option<SeenStamp>,
    /// A trusted stamp whose file did not parse: polls skip it until the file changes.
    pub(crate) invalid_stamp: Option<Stamp>,
    pub(crate) last_read: Option<std::time::Instant>,
    pub(crate) record_stamp: Option<SeenStamp>,
    pub(crate) external: Option<Arc<Snapshot>>,
    pub(crate) permanent: Option<KnownFailure>,
    pub(crate) backoff: Option<Backoff>,
    pub(crate) fresh_since: Option<(Fingerprint, DateTime<Utc>)>,
    pub(crate) recovered: VecDeque<([u8; 32], RecoverOutcome)>,
    pub(crate) pending_save: Option<PendingSave>,
}

impl State {
    /// The snapshot in effect: env key, then external tokens, then the store.
    pub(crate) fn current<'a>(
        &'a self,
        env: Option<&'a Arc<Snapshot>>,
    ) -> Option<&'a Arc<Snapshot>> {
        env.or(self.external.as_ref()).or(self.stored.as_ref())
    }

    /// The permanent failure of the current snapshot, if any.
    pub(crate) fn failure_of(&self, fp: Fingerprint) -> Option<&KnownFailure> {
        self.permanent.as_ref().filter(|f| f.fingerprint == fp)
    }

    /// Applies the clearing rule after the current snapshot may have changed from `before`.
    /// Returns whether it did change.
    pub(crate) fn after_change(
        &mut self,
        env: Option<&Arc<Snapshot>>,
        before: Option<Fingerprint>,
        now: DateTime<Utc>,
    ) -> bool {
        let after = self.current(env).map(|s| s.fingerprint());
        if before == after {
            return false;
        }
        self.permanent = None;
        self.backoff = None;
        self.fresh_since = after.map(|fp| (fp, now));
        true
    }

    /// Remembers the outcome of a 401 recovery for a rejected token digest.
    pub(crate) fn remember_recovery(&mut self, digest: [u8; 32], outcome: RecoverOutcome) {
        self.recovered.retain(|(d, _)| *d != digest);
        if self.recovered.len() >= RECOVERED_CAPACITY {
            self.recovered.pop_front();
        }
        self.recovered.push_back((digest, outcome));
    }

    /// The remembered outcome for a rejected token digest.
    pub(crate) fn recovery_of(&self, digest: &[u8; 32]) -> Option<RecoverOutcome> {
        self.recovered
            .iter()
            .find(|(d, _)| d == digest)
            .map(|(_, o)| o.clone())
    }
}
