//! The refresh algorithm (AUTH.md §7.3): gate, memory checks, file lock, re-read, failure
//! record, one token request, and compare-and-set recording of the outcome.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::AuthManager;
use super::poll::Reload;
use super::state::FailureSource;
use crate::classify::AttemptError;
use crate::coordination::{Lease, LeaseError, LeaseOutcome};
use crate::error::{RefreshError, TransientError};
use crate::fingerprint::Fingerprint;
use crate::secret::Secret;
use crate::snapshot::Snapshot;

/// `Requested` refreshes within this long of the snapshot becoming current are coalesced.
const FRESH_WINDOW: chrono::Duration = chrono::Duration::seconds(30);

/// Why a refresh is attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The token is (nearly) expired or too old.
    Proactive,
    /// A client asked (`refreshToken: true`).
    Requested,
    /// 401 recovery: the access token was rejected, whatever its expiry says.
    Forced,
}

impl Trigger {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Trigger::Proactive => "proactive",
            Trigger::Requested => "requested",
            Trigger::Forced => "forced",
        }
    }
}

/// Why the credential lock (`auth.json.lock` or the lease) is taken; named in its log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockPurpose {
    /// A refresh with this trigger (AUTH.md §7.3 step 4).
    Refresh(Trigger),
    /// The retry of a save that failed after a refresh (§7.3 step 8).
    PendingSave,
    /// Saving a completed login (§8).
    Login,
    /// Logout (§9).
    Logout,
    /// Deleting stored credentials that break a login restriction at startup (§8.5).
    RemoveRestricted,
}

impl LockPurpose {
    fn as_str(self) -> &'static str {
        match self {
            LockPurpose::Refresh(trigger) => trigger.as_str(),
            LockPurpose::PendingSave => "pending_save",
            LockPurpose::Login => "login",
            LockPurpose::Logout => "logout",
            LockPurpose::RemoveRestricted => "startup_restriction",
        }
    }
}

/// A successful refresh-path outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// This call's token request succeeded and the new tokens are current.
    Refreshed,
    /// Different credentials appeared (another caller or process refreshed, or a login); no
    /// request was needed.
    Adopted {
        /// Whether the account differs from the one before.
        account_changed: bool,
    },
    /// Nothing to do (fresh credentials).
    NotNeeded,
}

/// What the memory checks decided before any I/O.
enum Precheck {
    Proceed(Arc<Snapshot>),
    Done(Result<RefreshOutcome, RefreshError>),
}

impl AuthManager {
    /// Refreshes the current credentials (polls the store first).
    pub async fn refresh(&self, trigger: Trigger) -> Result<RefreshOutcome, RefreshError> {
        self.poll();
        self.refresh_polled(trigger, None).await
    }

    /// The algorithm after the poll. `rejected` is the access token a `Forced` refresh replaces.
    pub(crate) async fn refresh_polled(
        &self,
        trigger: Trigger,
        rejected: Option<&Secret>,
    ) -> Result<RefreshOutcome, RefreshError> {
        if self.state().pending_save().is_some() {
            let _gate = self.inner.gate.lock().await;
            self.flush_pending_save().await;
        }
        // Step 1 and a lock-free fast path: a status call never waits on the gate just to learn
        // that these credentials are dead or backing off.
        let f0 = match self.precheck(trigger) {
            Precheck::Proceed(snapshot) => snapshot.fingerprint(),
            Precheck::Done(result) => return result,
        };
        let started = std::time::Instant::now();
        let _gate = self.inner.gate.lock().await;
        // Step 2: someone else changed the credentials while we waited.
        if self.current().map(|s| s.fingerprint()) != Some(f0) {
            tracing::info!(target: "auth_core", decision = "adopted", trigger = trigger.as_str(),
                fp = %f0, waited_ms = started.elapsed().as_millis() as u64, "credentials changed while waiting");
            return Ok(RefreshOutcome::Adopted {
                account_changed: false,
            });
        }
        // A lock timeout while we waited for the gate is ours too: share that wait.
        if self.lock_timed_out_since(started) {
            return Err(RefreshError::Transient {
                kind: TransientError::LockTimeout,
                retry_at: None,
            });
        }
        // Step 3, now under the gate.
        let mut snapshot = match self.precheck(trigger) {
            Precheck::Proceed(snapshot) => snapshot,
            Precheck::Done(result) => return result,
        };
        // Step 4.
        let _lock = self
            .lock_credentials(LockPurpose::Refresh(trigger), Some(f0))
            .await?;
        // Step 5: re-read under the lock. The cache may also have moved while we waited for the
        // lock (status polls adopt without the gate), so compare with what we meant to spend.
        let reloaded = self.reload().await;
        let current = self.current();
        if current.as_ref().map(|s| s.fingerprint()) != Some(snapshot.fingerprint()) {
            let account_changed = current.is_none()
                || matches!(
                    reloaded,
                    Reload::Adopted {
                        account_changed: true
                    }
                );
            match current {
                Some(adopted) if self.still_needs(trigger, &adopted, rejected) => {
                    snapshot = adopted;
                }
                _ => {
                    tracing::info!(target: "auth_core", decision = "adopted", trigger = trigger.as_str(),
                        fp = %f0, account_changed, "adopted credentials stored by another process");
                    return Ok(RefreshOutcome::Adopted { account_changed });
                }
            }
        }
        // Step 6: the shared failure record, then the memory checks again, for the snapshot
        // this call will spend.
        self.poll_record();
        match self.precheck(trigger) {
            Precheck::Done(result) => return result,
            Precheck::Proceed(checked) if checked.fingerprint() == snapshot.fingerprint() => {}
            Precheck::Proceed(_) => {
                return Ok(RefreshOutcome::Adopted {
                    account_changed: false,
                });
            }
        }
        // Never spend a refresh token whose successor could not be saved (issue 12 item 5).
        self.ensure_saveable(trigger, &snapshot)?;
        self.attempt(trigger, &snapshot).await
    }

    /// Memory checks for the current snapshot (steps 1 and 3).
    fn precheck(&self, trigger: Trigger) -> Precheck {
        let now = self.now();
        let st = self.state();
        let Some(snapshot) = st.current().cloned() else {
            return Precheck::Done(Err(RefreshError::NotLoggedIn));
        };
        if snapshot.mode().is_none() {
            return Precheck::Done(Err(RefreshError::NotLoggedIn));
        }
        if !snapshot.is_refreshable() {
            return Precheck::Done(Err(RefreshError::NotRefreshable));
        }
        let fp = snapshot.fingerprint();
        if let Some(known) = st.failure_of(fp) {
            let failure = known.failure.clone();
            let source = known.source;
            drop(st);
            tracing::debug!(target: "auth_core", decision = "failed_fast", trigger = trigger.as_str(),
                fp = %fp, reason = failure.reason.as_str(), source = source_str(source),
                "permanent refresh failure already known for these credentials");
            return Precheck::Done(Err(RefreshError::Permanent(failure)));
        }
        if let Some(backoff) = st.backoff_of(fp).filter(|b| b.blocks(fp, now)) {
            let retry_at = backoff.next_attempt_at;
            drop(st);
            tracing::debug!(target: "auth_core", decision = "backed_off", trigger = trigger.as_str(),
                fp = %fp, retry_in_ms = (retry_at - now).num_milliseconds(), "refresh backing off");
            return Precheck::Done(Err(RefreshError::Transient {
                kind: TransientError::BackedOff,
                retry_at: Some(retry_at),
            }));
        }
        let fresh = match trigger {
            Trigger::Proactive => !snapshot.should_refresh(now),
            // A stale snapshot is refreshed whatever asked; coalescing is for healthy ones.
            Trigger::Requested => {
                !snapshot.should_refresh(now) && st.became_current_within(fp, now, FRESH_WINDOW)
            }
            Trigger::Forced => false,
        };
        drop(st);
        if fresh {
            tracing::debug!(target: "auth_core", decision = "skipped_fresh", trigger = trigger.as_str(),
                fp = %fp, "credentials are fresh");
            return Precheck::Done(Ok(RefreshOutcome::NotNeeded));
        }
        Precheck::Proceed(snapshot)
    }

    /// Whether credentials adopted in step 5 still need this refresh.
    fn still_needs(&self, trigger: Trigger, adopted: &Snapshot, rejected: Option<&Secret>) -> bool {
        if !adopted.is_refreshable() {
            return false;
        }
        match trigger {
            Trigger::Proactive => adopted.should_refresh(self.now()),
            Trigger::Requested => false,
            Trigger::Forced => rejected.is_some_and(|r| adopted.access_token() == Some(r)),
        }
    }

    /// Step 4: the refresh lease (`auth.json.lock` or Redis), or degraded mode, or
    /// `LockTimeout`, or `Coordination` when the shared store cannot be reached.
    pub(crate) async fn lock_credentials(
        &self,
        purpose: LockPurpose,
        fp: Option<Fingerprint>,
    ) -> Result<Option<Lease>, RefreshError> {
        let Some(lock) = &self.inner.coord else {
            return Ok(None);
        };
        match lock.acquire(self.inner.opts.lock_wait).await {
            Ok(LeaseOutcome::Held(guard)) => Ok(Some(guard)),
            Ok(LeaseOutcome::Degraded(err)) => {
                if !self
                    .inner
                    .lock_degraded_logged
                    .swap(true, Ordering::Relaxed)
                {
                    tracing::warn!(target: "auth_core", decision = "lock_degraded", trigger = purpose.as_str(),
                        fp = ?fp, error = %err, "credential lock unsupported; continuing without it");
                }
                Ok(None)
            }
            Err(LeaseError::Timeout(waited)) => {
                *self.inner.lock_timed_out_at.lock() = Some(std::time::Instant::now());
                tracing::warn!(target: "auth_core", decision = "lock_timeout", trigger = purpose.as_str(),
                    fp = ?fp, waited_ms = waited.as_millis() as u64, "credential lock held elsewhere");
                Err(RefreshError::Transient {
                    kind: TransientError::LockTimeout,
                    retry_at: None,
                })
            }
            Err(LeaseError::Unavailable(why)) => {
                tracing::warn!(target: "auth_core", decision = "lease_unavailable", trigger = purpose.as_str(),
                    fp = ?fp, error = %why, "no refresh without the shared lease; cached token still served");
                Err(RefreshError::Transient {
                    kind: TransientError::Coordination(why),
                    retry_at: None,
                })
            }
        }
    }

    /// Steps 7 to 10: one token request and the compare-and-set bookkeeping of its outcome.
    async fn attempt(
        &self,
        trigger: Trigger,
        snapshot: &Arc<Snapshot>,
    ) -> Result<RefreshOutcome, RefreshError> {
        let fp = snapshot.fingerprint();
        let Some(tokens) = snapshot.stored.tokens.as_ref() else {
            return Err(RefreshError::NotRefreshable);
        };
        let started = std::time::Instant::now();
        let result = self
            .inner
            .endpoint
            .refresh(&tokens.refresh_token, self.now())
            .await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(response) => {
                if let Reload::Adopted { account_changed } = self.reload_if_moved(fp).await {
                    tracing::warn!(target: "auth_core", decision = "discarded_own_result", trigger = trigger.as_str(),
                        fp = %fp, elapsed_ms, "credentials changed during the request; keeping theirs");
                    return Ok(RefreshOutcome::Adopted { account_changed });
                }
                let mut stored = snapshot.stored.clone();
                stored.merge_refresh(&response, self.now());
                let fresh = Arc::new(self.snapshot_from_store(stored));
                match self.install_refreshed(trigger, fp, fresh, elapsed_ms).await {
                    None => Ok(RefreshOutcome::Refreshed),
                    Some(Reload::Adopted { account_changed }) => {
                        Ok(RefreshOutcome::Adopted { account_changed })
                    }
                    Some(_) => Ok(RefreshOutcome::Adopted {
                        account_changed: false,
                    }),
                }
            }
            Err(AttemptError::Permanent(failure)) => {
                let reread = self.reload_if_moved(fp).await;
                if let Reload::Adopted { account_changed } = reread {
                    tracing::info!(target: "auth_core", decision = "adopted", trigger = trigger.as_str(),
                        fp = %fp, account_changed, "permanent failure, but new credentials were stored meanwhile");
                    return Ok(RefreshOutcome::Adopted { account_changed });
                }
                let write_record = reread == Reload::Unchanged;
                self.record_permanent(trigger, fp, &failure, write_record, elapsed_ms)
                    .await;
                Err(RefreshError::Permanent(failure))
            }
            Err(AttemptError::Transient(kind)) => {
                let retry_at = self.record_transient(trigger, fp, &kind, elapsed_ms);
                Err(RefreshError::Transient {
                    kind: TransientError::Attempt(kind),
                    retry_at: Some(retry_at),
                })
            }
        }
    }

    /// Re-reads the store after a request; `Adopted` when the cache no longer holds `fp`, whether
    /// this re-read or a concurrent poll adopted the newer credentials; else what the re-read saw
    /// (`Unchanged`, or `Unreadable` when the store could not be read).
    pub(super) async fn reload_if_moved(&self, fp: Fingerprint) -> Reload {
        let reload = self.reload().await;
        if self.state().stored().map(|s| s.fingerprint()) == Some(fp) {
            return match reload {
                Reload::Adopted { .. } => Reload::Unchanged,
                other => other,
            };
        }
        match reload {
            Reload::Adopted { account_changed } => Reload::Adopted { account_changed },
            Reload::Unchanged | Reload::Unreadable => Reload::Adopted {
                account_changed: false,
            },
        }
    }
}

fn source_str(source: FailureSource) -> &'static str {
    match source {
        FailureSource::Memory => "memory",
        FailureSource::Record => "record",
    }
}
