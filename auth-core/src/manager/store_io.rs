//! Store I/O of the async paths, off the runtime's thread (issue 14): a login, logout, refresh
//! install or store re-read runs on the blocking pool, so a hung OS keyring (3 s per call) or a
//! slow shared store never stalls the stdio server's single thread and its other connections.

use std::sync::Arc;

use super::AuthManager;
use crate::store::StoreError;

impl AuthManager {
    /// Runs `io` on the blocking pool under the store lock (`store_io`, lock 4 of `Inner`'s
    /// order) and returns its result. The lock moves into the task with `io`, so a caller that
    /// stops waiting never cuts a write or the state update after it short: both finish, under
    /// the lock, before anyone else reads or writes the store. Fails only when the runtime shuts
    /// down before `io` could start; a panic in `io` is resumed here.
    pub(super) async fn with_store_io<T: Send + 'static>(
        &self,
        io: impl FnOnce(&AuthManager) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let serial = Arc::clone(&self.inner.store_io).lock_owned().await;
        let this = self.clone();
        let task = tokio::task::spawn_blocking(move || {
            let _serial = serial;
            io(&this)
        });
        match task.await {
            Ok(value) => Ok(value),
            Err(err) => match err.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(_) => Err(StoreError::Interrupted),
            },
        }
    }

    /// Starts a re-read of the store on the blocking pool when the store lock is free (else a
    /// save or re-read is under way already) and returns at once: the status path's re-read of a
    /// store whose reads may wait (the keyring). Its result shows in the next status call.
    /// Outside a runtime there is no pool, and the re-read runs here.
    pub(super) fn reload_in_background(&self) {
        let Ok(serial) = Arc::clone(&self.inner.store_io).try_lock_owned() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let this = self.clone();
                runtime.spawn_blocking(move || {
                    let _serial = serial;
                    this.reload_now();
                });
            }
            Err(_) => {
                let _serial = serial;
                self.reload_now();
            }
        }
    }

    /// Runs `io` at once under the store lock when it is free, else returns `None` without
    /// waiting: the status path's way in (a busy lock means a save or re-read is under way; the
    /// cache is served meanwhile).
    pub(super) fn try_store_io<T>(&self, io: impl FnOnce() -> T) -> Option<T> {
        let _serial = self.inner.store_io.try_lock().ok()?;
        Some(io())
    }
}
