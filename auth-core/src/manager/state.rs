//! The one mutable state of a manager and its transitions (AUTH.md §7.1). Its fields are private:
//! it changes only through the named transitions below, and every transition that can change the
//! snapshot in effect ends in [`State::after_change`], the clearing rule.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};

use crate::backoff::Backoff;
use crate::classify::PermanentFailure;
use crate::failure_record::FailureRecord;
use crate::fingerprint::Fingerprint;
use crate::manager::poll::Reload;
use crate::manager::recover::RecoverOutcome;
use crate::snapshot::Snapshot;
use crate::store::Stamp;

/// How many rejected access tokens 401 recovery remembers.
const RECOVERED_CAPACITY: usize = 8;

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
    fingerprint: Fingerprint,
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
    stamp: Stamp,
    trusted: bool,
}

impl SeenStamp {
    /// `stamp`, taken at `taken_at`, with its trust decided from that moment.
    pub(crate) fn taken_at(stamp: Stamp, taken_at: SystemTime) -> SeenStamp {
        SeenStamp {
            stamp,
            trusted: stamp.is_trusted(taken_at),
        }
    }

    /// A stamp taken just now (after our own write).
    fn now(stamp: Option<Stamp>) -> Option<SeenStamp> {
        stamp.map(|stamp| SeenStamp::taken_at(stamp, SystemTime::now()))
    }
}

/// Everything that changes, under one lock.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// `CODEX_API_KEY`'s credentials, when enabled: set once, ahead of everything else.
    env_key: Option<Arc<Snapshot>>,
    stored: Option<Arc<Snapshot>>,
    store_stamp: Option<SeenStamp>,
    /// A trusted stamp whose file did not parse: polls skip it until the file changes.
    invalid_stamp: Option<Stamp>,
    last_read: Option<Instant>,
    record_stamp: Option<SeenStamp>,
    external: Option<Arc<Snapshot>>,
    permanent: Option<KnownFailure>,
    backoff: Option<Backoff>,
    fresh_since: Option<(Fingerprint, DateTime<Utc>)>,
    recovered: VecDeque<([u8; 32], RecoverOutcome)>,
    pending_save: Option<PendingSave>,
}

impl State {
    /// The state of a new manager: nothing loaded yet.
    pub(crate) fn new(env_key: Option<Arc<Snapshot>>) -> State {
        State {
            env_key,
            ..State::default()
        }
    }

    // What the state holds.

    /// The snapshot in effect: env key, then external tokens, then the store.
    pub(crate) fn current(&self) -> Option<&Arc<Snapshot>> {
        self.env_key
            .as_ref()
            .or(self.external.as_ref())
            .or(self.stored.as_ref())
    }

    /// The fingerprint of the snapshot in effect.
    pub(crate) fn current_fingerprint(&self) -> Option<Fingerprint> {
        self.current().map(|s| s.fingerprint())
    }

    /// The credentials last read from (or written to) the store.
    pub(crate) fn stored(&self) -> Option<&Arc<Snapshot>> {
        self.stored.as_ref()
    }

    /// Whether external tokens are set (AUTH.md §8.4).
    pub(crate) fn has_external(&self) -> bool {
        self.external.is_some()
    }

    /// The permanent failure of the snapshot `fp`, if any.
    pub(crate) fn failure_of(&self, fp: Fingerprint) -> Option<&KnownFailure> {
        self.permanent.as_ref().filter(|f| f.fingerprint == fp)
    }

    /// The backoff of the snapshot `fp`, if any (whether or not it still blocks).
    pub(crate) fn backoff_of(&self, fp: Fingerprint) -> Option<&Backoff> {
        self.backoff.as_ref().filter(|b| b.fingerprint == fp)
    }

    /// Whether `fp` became current less than `window` before `now` (AUTH.md §7.4g).
    pub(crate) fn became_current_within(
        &self,
        fp: Fingerprint,
        now: DateTime<Utc>,
        window: chrono::Duration,
    ) -> bool {
        self.fresh_since
            .is_some_and(|(f, at)| f == fp && now - at < window)
    }

    /// Tokens kept in memory because their save failed.
    pub(crate) fn pending_save(&self) -> Option<&PendingSave> {
        self.pending_save.as_ref()
    }

    /// Whether a poll that sees the store at `stamp` must read it: the stamp moved or cannot be
    /// trusted, it is not a known-invalid file, and it is not what our failed save left in place.
    pub(crate) fn store_moved(&self, stamp: Stamp) -> bool {
        let same = self
            .store_stamp
            .is_some_and(|s| s.stamp == stamp && s.trusted)
            || self.invalid_stamp == Some(stamp);
        !same && !self.pending_save_over(Some(stamp))
    }

    /// Whether the last read of an unstamped store is at least `period` old.
    pub(crate) fn read_due(&self, period: Duration) -> bool {
        self.last_read.is_none_or(|t| t.elapsed() >= period)
    }

    /// Whether the failure record is still at the trusted `stamp` we saw.
    pub(crate) fn record_unchanged(&self, stamp: Stamp) -> bool {
        self.record_stamp
            .is_some_and(|s| s.stamp == stamp && s.trusted)
    }

    /// The remembered outcome of a 401 recovery for a rejected token digest.
    pub(crate) fn recovery_of(&self, digest: &[u8; 32]) -> Option<RecoverOutcome> {
        self.recovered
            .iter()
            .find(|(d, _)| d == digest)
            .map(|(_, o)| o.clone())
    }

    fn pending_save_over(&self, stamp: Option<Stamp>) -> bool {
        self.pending_save
            .as_ref()
            .is_some_and(|p| p.file_stamp == stamp)
    }

    // Transitions of the snapshot (each ends in the clearing rule).

    /// A re-read of the store found `loaded` at `seen` (AUTH.md §4.2): a different fingerprint
    /// is adopted, the same one keeps everything (a remembered failure too). What our own failed
    /// save left in the store is not adopted: our newer tokens stay current.
    pub(crate) fn adopt_stored(
        &mut self,
        loaded: Option<Arc<Snapshot>>,
        seen: Option<SeenStamp>,
        now: DateTime<Utc>,
    ) -> Reload {
        if self.pending_save_over(seen.map(|s| s.stamp)) {
            return Reload::Unchanged;
        }
        self.store_stamp = seen;
        self.invalid_stamp = None;
        self.last_read = Some(Instant::now());
        let fingerprint = |s: &Option<Arc<Snapshot>>| s.as_ref().map(|s| s.fingerprint());
        if fingerprint(&self.stored) == fingerprint(&loaded) {
            return Reload::Unchanged;
        }
        let account_changed = self.stored.as_ref().and_then(|s| s.account_id())
            != loaded.as_ref().and_then(|s| s.account_id());
        let before = self.current_fingerprint();
        self.pending_save = None;
        self.stored = loaded;
        self.after_change(before, now);
        Reload::Adopted { account_changed }
    }

    /// The store at `stamp` did not parse: a trusted stamp is skipped by polls until it moves.
    pub(crate) fn skip_unreadable(&mut self, stamp: Option<Stamp>, taken_at: SystemTime) {
        self.invalid_stamp = stamp.filter(|s| s.is_trusted(taken_at));
    }

    /// The initial load at construction is not a change: it leaves `fresh_since` empty.
    pub(crate) fn settle_initial_load(&mut self) {
        self.fresh_since = None;
    }

    /// A login's credentials were saved, leaving the store at `stamp` (AUTH.md §8).
    pub(crate) fn logged_in(
        &mut self,
        snapshot: Arc<Snapshot>,
        stamp: Option<Stamp>,
        now: DateTime<Utc>,
    ) {
        let before = self.current_fingerprint();
        self.stored = Some(snapshot);
        self.pending_save = None;
        self.store_stamp = SeenStamp::now(stamp);
        self.after_change(before, now);
    }

    /// External tokens were set (AUTH.md §8.4); memory only, ahead of the stored ones.
    pub(crate) fn set_external(&mut self, snapshot: Arc<Snapshot>, now: DateTime<Utc>) {
        let before = self.current_fingerprint();
        self.external = Some(snapshot);
        self.after_change(before, now);
    }

    /// Logout (AUTH.md §9 step 3): no credentials, and nothing remembered about any.
    pub(crate) fn sign_out(&mut self, now: DateTime<Utc>) {
        let before = self.current_fingerprint();
        self.stored = None;
        self.external = None;
        self.pending_save = None;
        self.recovered.clear();
        self.store_stamp = None;
        self.after_change(before, now);
        self.permanent = None;
        self.backoff = None;
    }

    /// The stored credentials were deleted because they break a login restriction (§8.5).
    pub(crate) fn remove_stored(&mut self, now: DateTime<Utc>) {
        let before = self.current_fingerprint();
        self.stored = None;
        self.store_stamp = None;
        self.after_change(before, now);
    }

    /// A refresh of `attempted` produced `fresh` (AUTH.md §7.3 step 8). `saved` says whether
    /// the store took them, leaving it at `stamp`; if not, they are kept as a pending save over
    /// what the store still holds (the last stamp seen when the store cannot be stamped now).
    pub(crate) fn install_refreshed(
        &mut self,
        attempted: Fingerprint,
        fresh: Arc<Snapshot>,
        saved: bool,
        stamp: Option<Stamp>,
        now: DateTime<Utc>,
    ) {
        let before = self.current_fingerprint();
        self.stored = Some(fresh);
        if saved {
            self.pending_save = None;
            self.store_stamp = SeenStamp::now(stamp);
        } else {
            self.pending_save = Some(PendingSave {
                file_stamp: stamp.or(self.store_stamp.map(|s| s.stamp)),
                replaces: attempted,
            });
        }
        self.after_change(before, now);
    }

    // Transitions that keep the snapshot.

    /// The pending save went through, leaving the store at `stamp`.
    pub(crate) fn pending_saved(&mut self, stamp: Option<Stamp>) {
        self.pending_save = None;
        self.store_stamp = SeenStamp::now(stamp);
    }

    /// The pending save is abandoned: someone else wrote the store meanwhile.
    pub(crate) fn drop_pending_save(&mut self) {
        self.pending_save = None;
    }

    /// Remembers this process's permanent failure of `fp`, compare-and-set: only while `fp` is
    /// still current (AUTH.md §7.3 step 9). A permanent failure ends any backoff.
    pub(crate) fn remember_permanent(&mut self, fp: Fingerprint, failure: PermanentFailure) {
        if self.current_fingerprint() == Some(fp) {
            self.permanent = Some(KnownFailure {
                fingerprint: fp,
                failure,
                source: FailureSource::Memory,
            });
            self.backoff = None;
        }
    }

    /// The failure record was read at `seen` and holds `record` (AUTH.md §7.4c): a record of
    /// the stored snapshot is copied into memory unless a failure of it is known already.
    pub(crate) fn learn_record(&mut self, seen: SeenStamp, record: Option<FailureRecord>) {
        self.record_stamp = Some(seen);
        let Some(record) = record else {
            return;
        };
        let Some(stored) = self.stored.as_ref().map(|s| s.fingerprint()) else {
            return;
        };
        if record.fingerprint == stored && self.failure_of(stored).is_none() {
            self.permanent = Some(KnownFailure {
                fingerprint: stored,
                failure: PermanentFailure {
                    reason: record.reason,
                    http_status: record.http_status,
                    backend_code: record.backend_code,
                },
                source: FailureSource::Record,
            });
        }
    }

    /// One more transient failure of `fp` at `now` (AUTH.md §7.4d): the backoff advances while
    /// `fp` is current. Returns the next allowed attempt and the count.
    pub(crate) fn back_off(
        &mut self,
        fp: Fingerprint,
        now: DateTime<Utc>,
        retry_after: Option<Duration>,
        jitter: f64,
        message: String,
    ) -> (DateTime<Utc>, u32) {
        let next =
            Backoff::after_failure(self.backoff.as_ref(), fp, now, retry_after, jitter, message);
        let out = (next.next_attempt_at, next.attempts);
        if self.current_fingerprint() == Some(fp) {
            self.backoff = Some(next);
        }
        out
    }

    /// Remembers the outcome of a 401 recovery for a rejected token digest.
    pub(crate) fn remember_recovery(&mut self, digest: [u8; 32], outcome: RecoverOutcome) {
        self.recovered.retain(|(d, _)| *d != digest);
        if self.recovered.len() >= RECOVERED_CAPACITY {
            self.recovered.pop_front();
        }
        self.recovered.push_back((digest, outcome));
    }

    /// The clearing rule, after the snapshot in effect may have changed from `before`: a change
    /// drops the permanent failure and the backoff and restarts `fresh_since`.
    fn after_change(&mut self, before: Option<Fingerprint>, now: DateTime<Utc>) {
        let after = self.current_fingerprint();
        if before == after {
            return;
        }
        self.permanent = None;
        self.backoff = None;
        self.fresh_since = after.map(|fp| (fp, now));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::auth_json::StoredAuth;
    use crate::classify::FailureReason;
    use crate::secret::Secret;
    use crate::snapshot::Origin;

    fn key(k: &str) -> Arc<Snapshot> {
        Arc::new(Snapshot::new(
            StoredAuth::api_key(Secret::new(k)),
            Origin::Store,
        ))
    }

    fn reused() -> PermanentFailure {
        PermanentFailure {
            reason: FailureReason::Exhausted,
            http_status: Some(401),
            backend_code: Some("refresh_token_reused".to_owned()),
        }
    }

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    /// A state holding `k` from the store, with a permanent failure and a backoff of it.
    fn failed(k: &str) -> (State, Fingerprint) {
        let mut st = State::new(None);
        st.adopt_stored(Some(key(k)), None, t(0));
        let fp = st.current_fingerprint().unwrap();
        st.back_off(fp, t(1), None, 1.0, "503".to_owned());
        assert!(st.backoff_of(fp).is_some());
        st.remember_permanent(fp, reused());
        st.back_off(fp, t(2), None, 1.0, "503".to_owned());
        assert!(st.failure_of(fp).is_some() && st.backoff_of(fp).is_some());
        (st, fp)
    }

    #[test]
    fn every_transition_that_changes_the_snapshot_applies_the_clearing_rule() {
        type Transition = fn(&mut State, DateTime<Utc>);
        let transitions: [(&str, Transition); 5] = [
            ("adopt_stored", |st, now| {
                st.adopt_stored(Some(key("other")), None, now);
            }),
            ("logged_in", |st, now| st.logged_in(key("login"), None, now)),
            ("set_external", |st, now| {
                let external =
                    Snapshot::new(StoredAuth::api_key(Secret::new("ext")), Origin::External);
                st.set_external(Arc::new(external), now);
            }),
            ("remove_stored", |st, now| st.remove_stored(now)),
            ("install_refreshed", |st, now| {
                let fp = st.current_fingerprint().unwrap();
                st.install_refreshed(fp, key("refreshed"), true, None, now);
            }),
        ];
        for (name, transition) in transitions {
            let (mut st, old) = failed("a");
            transition(&mut st, t(10));
            let new = st.current_fingerprint();
            assert_ne!(new, Some(old), "{name} changes the snapshot");
            let window = chrono::Duration::seconds(1);
            match new {
                Some(fp) => {
                    assert!(st.failure_of(fp).is_none(), "{name}");
                    assert!(st.backoff_of(fp).is_none(), "{name}");
                    assert!(st.became_current_within(fp, t(10), window), "{name}");
                }
                None => assert!(!st.became_current_within(old, t(10), window), "{name}"),
            }
            assert!(
                st.failure_of(old).is_none(),
                "{name} forgets the old failure"
            );
        }
    }

    #[test]
    fn the_same_credentials_keep_their_failure_and_sign_out_forgets_everything() {
        let (mut st, fp) = failed("a");
        assert_eq!(
            st.adopt_stored(Some(key("a")), None, t(10)),
            Reload::Unchanged
        );
        assert!(st.failure_of(fp).is_some() && st.backoff_of(fp).is_some());
        st.sign_out(t(11));
        assert!(st.current().is_none());
        assert!(st.failure_of(fp).is_none() && st.backoff_of(fp).is_none());
        // A second sign-out changes no snapshot and still leaves nothing remembered.
        st.sign_out(t(12));
        assert!(st.current().is_none() && st.pending_save().is_none());
    }

    #[test]
    fn a_failure_is_remembered_only_for_the_current_snapshot() {
        let mut st = State::new(None);
        st.adopt_stored(Some(key("a")), None, t(0));
        let a = st.current_fingerprint().unwrap();
        st.adopt_stored(Some(key("b")), None, t(1));
        st.remember_permanent(a, reused());
        assert!(st.failure_of(a).is_none());
        let b = st.current_fingerprint().unwrap();
        st.back_off(a, t(2), None, 1.0, "503".to_owned());
        assert!(st.backoff_of(a).is_none() && st.backoff_of(b).is_none());
    }

    #[test]
    fn what_a_failed_save_left_in_the_store_is_not_adopted_over_the_new_tokens() {
        let mut st = State::new(None);
        let old_stamp = Stamp::Content { digest: 1 };
        let seen = SeenStamp::taken_at(old_stamp, SystemTime::now());
        st.adopt_stored(Some(key("old")), Some(seen), t(0));
        let old = st.current_fingerprint().unwrap();
        st.install_refreshed(old, key("new"), false, None, t(1));
        let new = st.current_fingerprint().unwrap();
        assert!(st.pending_save().is_some_and(|p| p.replaces == old));
        assert!(
            !st.store_moved(old_stamp),
            "polls skip the store we failed to overwrite"
        );
        assert_eq!(
            st.adopt_stored(Some(key("old")), Some(seen), t(2)),
            Reload::Unchanged
        );
        assert_eq!(st.current_fingerprint(), Some(new));
        // Someone else's write is adopted, and the pending save dropped.
        let theirs = SeenStamp::taken_at(Stamp::Content { digest: 2 }, SystemTime::now());
        assert!(st.store_moved(Stamp::Content { digest: 2 }));
        st.adopt_stored(Some(key("theirs")), Some(theirs), t(3));
        assert_ne!(st.current_fingerprint(), Some(new));
        assert!(st.pending_save().is_none());
    }
}
