//! The cross-process credential lock, `$CODEX_HOME/auth.json.lock` (AUTH.md §7.4b).
//!
//! We lock a separate, never-deleted file rather than `auth.json`: an atomic rename swaps the
//! inode and would silently drop a lock held on it. The file is opened afresh for every
//! acquisition, so two holders in one process exclude each other exactly like two processes
//! (`flock` locks belong to the open file description). The OS frees a dead holder's lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::atomic_write::create_dir_private;

/// The lock file name inside `CODEX_HOME`.
pub const LOCK_FILE: &str = "auth.json.lock";
/// First pause between `try_lock` attempts.
const FIRST_DELAY: Duration = Duration::from_millis(25);
/// Longest pause between `try_lock` attempts.
const MAX_DELAY: Duration = Duration::from_millis(250);

/// A handle on `auth.json.lock`; cheap to clone, holds nothing until [`acquire`](Self::acquire).
#[derive(Debug, Clone)]
pub struct CredentialLock {
    path: PathBuf,
    injected_error: Option<io::ErrorKind>,
}

/// The result of a successful wait for the lock.
#[derive(Debug)]
pub enum LockOutcome {
    /// We hold the lock until the guard drops.
    Held(LockGuard),
    /// File locking does not work here (for example `ENOLCK` on NFS, or the file cannot be
    /// created); the caller proceeds without it.
    Degraded(io::Error),
}

/// The lock stayed held by someone else for the whole wait.
#[derive(Debug, thiserror::Error)]
#[error("timed out after {0:?} waiting for the credential lock")]
pub struct LockTimeout(pub Duration);

/// Proof of holding the lock; dropping it releases the lock (the file stays).
#[derive(Debug)]
pub struct LockGuard {
    file: File,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // Closing the file releases the lock anyway; unlocking first just makes it prompt.
        let _ = self.file.unlock();
    }
}

impl CredentialLock {
    /// The lock for `codex_home/auth.json.lock`.
    pub fn new(codex_home: &Path) -> Self {
        CredentialLock {
            path: codex_home.join(LOCK_FILE),
            injected_error: None,
        }
    }

    /// Test seam: every acquisition reports a lock error of `kind` (use `Unsupported` to
    /// exercise degraded mode).
    pub fn with_injected_error(mut self, kind: io::ErrorKind) -> Self {
        self.injected_error = Some(kind);
        self
    }

    /// The lock file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits up to `wait` for the lock, polling `try_lock` with pauses from 25 ms doubling to
    /// 250 ms. Any error other than "held elsewhere" gives [`LockOutcome::Degraded`].
    pub async fn acquire(&self, wait: Duration) -> Result<LockOutcome, LockTimeout> {
        if let Some(kind) = self.injected_error {
            return Ok(LockOutcome::Degraded(io::Error::new(
                kind,
                "injected lock error",
            )));
        }
        let file = match self.open() {
            Ok(file) => file,
            Err(err) => return Ok(LockOutcome::Degraded(err)),
        };
        let deadline = tokio::time::Instant::now() + wait;
        let mut delay = FIRST_DELAY;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(LockOutcome::Held(LockGuard { file })),
                Err(TryLockError::Error(err)) => return Ok(LockOutcome::Degraded(err)),
                Err(TryLockError::WouldBlock) => {}
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(LockTimeout(wait));
            }
            tokio::time::sleep(delay.min(deadline - now)).await;
            delay = (delay * 2).min(MAX_DELAY);
        }
    }

    /// Opens (creating `0600`, and the directory `0700`, if missing) a fresh handle.
    fn open(&self) -> io::Result<File> {
        if let Some(dir) = self.path.parent() {
            create_dir_private(dir)?;
        }
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options.open(&self.path)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    async fn held(lock: &CredentialLock) -> LockGuard {
        match lock.acquire(Duration::from_secs(5)).await.unwrap() {
            LockOutcome::Held(guard) => guard,
            LockOutcome::Degraded(err) => panic!("degraded: {err}"),
        }
    }

    #[tokio::test]
    async fn second_handle_times_out_while_held() {
        let dir = tempfile::tempdir().unwrap();
        let a = CredentialLock::new(dir.path());
        let b = CredentialLock::new(dir.path());
        let guard = held(&a).await;
        let started = std::time::Instant::now();
        let err = b.acquire(Duration::from_millis(300)).await.unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert_eq!(err.0, Duration::from_millis(300));
        assert_eq!(
            err.to_string(),
            "timed out after 300ms waiting for the credential lock"
        );
        // the same handle cannot re-enter either: each acquire opens the file afresh
        assert!(a.acquire(Duration::ZERO).await.is_err());
        drop(guard);
        drop(held(&b).await);
        assert!(a.path().exists(), "the lock file is never deleted");
    }

    #[tokio::test]
    async fn concurrent_acquirers_exclude_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let inside = Arc::new(AtomicUsize::new(0));
        let max_seen = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let lock = CredentialLock::new(dir.path());
            let (inside, max_seen) = (inside.clone(), max_seen.clone());
            tasks.push(tokio::spawn(async move {
                let guard = held(&lock).await;
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                max_seen.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(30)).await;
                inside.fetch_sub(1, Ordering::SeqCst);
                drop(guard);
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(max_seen.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn waiter_gets_the_lock_when_released() {
        let dir = tempfile::tempdir().unwrap();
        let guard = held(&CredentialLock::new(dir.path())).await;
        let b = CredentialLock::new(dir.path());
        let waiter = tokio::spawn(async move {
            let started = std::time::Instant::now();
            let outcome = b.acquire(Duration::from_secs(5)).await.unwrap();
            (matches!(outcome, LockOutcome::Held(_)), started.elapsed())
        });
        tokio::time::sleep(Duration::from_millis(150)).await;
        drop(guard);
        let (got, waited) = waiter.await.unwrap();
        assert!(got);
        assert!(waited >= Duration::from_millis(100), "{waited:?}");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn lock_file_is_private_and_home_is_created() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let lock = CredentialLock::new(&home);
        assert_eq!(lock.path(), home.join("auth.json.lock"));
        drop(held(&lock).await);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(lock.path()), 0o600);
        assert_eq!(mode(&home), 0o700);
    }

    #[tokio::test]
    async fn unusable_lock_file_degrades() {
        let dir = tempfile::tempdir().unwrap();
        let not_a_dir = dir.path().join("file");
        std::fs::write(&not_a_dir, b"x").unwrap();
        let outcome = CredentialLock::new(&not_a_dir)
            .acquire(Duration::from_secs(1))
            .await
            .unwrap();
        assert!(matches!(outcome, LockOutcome::Degraded(_)));

        let injected =
            CredentialLock::new(dir.path()).with_injected_error(io::ErrorKind::Unsupported);
        match injected.acquire(Duration::from_secs(1)).await.unwrap() {
            LockOutcome::Degraded(err) => assert_eq!(err.kind(), io::ErrorKind::Unsupported),
            LockOutcome::Held(_) => panic!("expected degraded"),
        }
    }
}
