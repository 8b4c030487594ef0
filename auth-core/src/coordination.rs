//! Cross-process coordination of refreshes (AUTH.md §7.4, §7.6) behind one trait: the refresh
//! lease and the shared permanent-failure record. The cheap change check is the store's own
//! [`stamp`](crate::store::CredentialStore::stamp), and fenced writes are its
//! [`replace`](crate::store::CredentialStore::replace).
//!
//! Two implementations: [`FileCoordinator`] (`auth.json.lock` and `auth.json.refresh-failure` in
//! one `CODEX_HOME`, for the file, keyring and auto stores) and the Redis one
//! ([`crate::redis`]), which makes many machines behave as one.

use std::fmt;
use std::io;
use std::path::Path;
use std::time::Duration;

use crate::failure_record::{FailureRecord, FailureRecordFile};
use crate::lock::{CredentialLock, LockGuard, LockOutcome};
use crate::store::{Stamp, StoreError};

/// A boxed future of the coordinator's async operations.
pub type CoordFuture<'a, T> = futures::future::BoxFuture<'a, T>;

/// Coordination shared by every process (and machine) that uses one set of credentials.
pub trait Coordinator: Send + Sync + fmt::Debug {
    /// Waits up to `wait` for the refresh lease.
    fn acquire(&self, wait: Duration) -> CoordFuture<'_, Result<LeaseOutcome, LeaseError>>;
    /// The shared failure record, or `None` if missing, unreadable or invalid.
    fn load_failure(&self) -> Option<FailureRecord>;
    /// Remembers a permanent failure for every sharer; a record naming credentials that are no
    /// longer stored may be dropped.
    fn save_failure(&self, record: &FailureRecord) -> Result<(), StoreError>;
    /// Forgets the shared failure record; true if it existed.
    fn delete_failure(&self) -> Result<bool, StoreError>;
    /// Cheap change stamp of the record; `None` when it cannot be taken.
    fn failure_stamp(&self) -> Option<Stamp>;
}

/// The result of a successful wait for the lease.
#[derive(Debug)]
pub enum LeaseOutcome {
    /// We hold the lease until the guard drops.
    Held(Lease),
    /// Locking does not work here (file locks on NFS, ...); the caller proceeds without it.
    Degraded(io::Error),
}

/// Why the lease could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseError {
    /// Someone else held it for the whole wait.
    #[error("timed out after {0:?} waiting for the credential lock")]
    Timeout(Duration),
    /// The coordination service cannot be reached (never carries a secret).
    #[error("{0}")]
    Unavailable(String),
}

/// Proof of holding the refresh lease; dropping it releases the lease.
#[derive(Debug)]
pub struct Lease {
    _held: Held,
}

#[derive(Debug)]
enum Held {
    File(#[allow(dead_code)] LockGuard),
    Redis(#[allow(dead_code)] crate::redis::RedisLease),
}

impl Lease {
    pub(crate) fn redis(lease: crate::redis::RedisLease) -> Lease {
        Lease {
            _held: Held::Redis(lease),
        }
    }
}

/// `auth.json.lock` and `auth.json.refresh-failure` in one `CODEX_HOME` (AUTH.md §7.4).
#[derive(Debug, Clone)]
pub struct FileCoordinator {
    lock: CredentialLock,
    record: FailureRecordFile,
}

impl FileCoordinator {
    /// The lock and record of `codex_home`; `lock` replaces the default lock (tests inject
    /// faults there).
    pub fn new(codex_home: &Path, lock: Option<CredentialLock>) -> FileCoordinator {
        FileCoordinator {
            lock: lock.unwrap_or_else(|| CredentialLock::new(codex_home)),
            record: FailureRecordFile::new(codex_home),
        }
    }
}

impl Coordinator for FileCoordinator {
    fn acquire(&self, wait: Duration) -> CoordFuture<'_, Result<LeaseOutcome, LeaseError>> {
        Box::pin(async move {
            match self.lock.acquire(wait).await {
                Ok(LockOutcome::Held(guard)) => Ok(LeaseOutcome::Held(Lease {
                    _held: Held::File(guard),
                })),
                Ok(LockOutcome::Degraded(err)) => Ok(LeaseOutcome::Degraded(err)),
                Err(timeout) => Err(LeaseError::Timeout(timeout.0)),
            }
        })
    }

    fn load_failure(&self) -> Option<FailureRecord> {
        self.record.load()
    }

    fn save_failure(&self, record: &FailureRecord) -> Result<(), StoreError> {
        self.record.save(record)
    }

    fn delete_failure(&self) -> Result<bool, StoreError> {
        self.record.delete()
    }

    fn failure_stamp(&self) -> Option<Stamp> {
        self.record.stamp()
    }
}
