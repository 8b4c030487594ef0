//! The `keyring` store: credentials in the OS keyring entry the Codex CLI uses (AUTH.md §3).
//!
//! The entry is service [`KEYRING_SERVICE`], account [`keyring_account`] of the home, and holds the
//! compact JSON of the credentials (a value some Codex builds split into parts is joined on read,
//! see `chunks.rs`). Every backend call runs on a thread of its own with a timeout
//! ([`KEYRING_TIMEOUT`]), so a hung Secret Service cannot wedge the caller; a timeout is a keyring
//! error.
//!
//! Status polls never wait for the keyring: [`KeyringStore::stamp`] answers from what the last
//! successful read or write found (a digest of the value, [`Stamp::Content`], or
//! [`Stamp::Missing`]; [`Stamp::Unreadable`] before any) and, when that is older than
//! [`KEYRING_REREAD`], starts one background read; the manager re-reads (and waits) only when a
//! read found the entry changed. Logins, logouts and refreshes read and write the entry itself.

mod account;
mod backend;
mod call;
mod chunks;
#[cfg(test)]
mod memory;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

pub use account::{KEYRING_SERVICE, home_digest, keyring_account};
#[cfg(feature = "keyring")]
pub use backend::SystemKeyring;
pub use backend::{KeyringBackend, KeyringError};
pub use call::KeyringCaller;
#[cfg(test)]
pub use memory::{KeyringOp, MemoryKeyring};

use crate::auth_json::{self, StoredAuth};
use crate::store::file::FileStore;
use crate::store::{CredentialStore, Stamp, StoreError};

/// How old the last read of the entry may be before a status poll starts another (in the
/// background). Matches the manager's re-read period for stores without a file stamp.
pub const KEYRING_REREAD: Duration = Duration::from_secs(5);

/// Credentials in the keyring entry of a Codex home; `auth.json` is removed on save and delete.
#[derive(Debug, Clone)]
pub struct KeyringStore {
    keyring: KeyringCaller,
    /// The home, whose account is derived at every call as Codex does (a home created after
    /// the store was opened hashes resolved from then on).
    home: PathBuf,
    file: FileStore,
    seen: Arc<Mutex<Seen>>,
    reread: Duration,
}

/// What the last read or write of the entry found.
#[derive(Debug)]
struct Seen {
    stamp: Stamp,
    at: Option<Instant>,
    /// Bumped by every update, so a slow background read never replaces a newer result.
    generation: u64,
    reading: bool,
}

impl KeyringStore {
    /// The keyring store of `codex_home` over `backend`, with the default timeout.
    pub fn new(codex_home: &Path, backend: Arc<dyn KeyringBackend>) -> Self {
        KeyringStore {
            keyring: KeyringCaller::new(backend),
            home: codex_home.to_path_buf(),
            file: FileStore::new(codex_home),
            seen: Arc::new(Mutex::new(Seen {
                stamp: Stamp::Unreadable,
                at: None,
                generation: 0,
                reading: false,
            })),
            reread: KEYRING_REREAD,
        }
    }

    /// The same store with another per-call timeout (tests).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.keyring = self.keyring.with_timeout(timeout);
        self
    }

    /// The same store with another background re-read period (tests).
    pub fn with_reread(mut self, reread: Duration) -> Self {
        self.reread = reread;
        self
    }

    /// The keyring account of the entry now (`cli|<hash>`).
    pub fn account(&self) -> String {
        keyring_account(&self.home)
    }

    fn record(&self, stamp: Stamp) {
        let mut seen = self.seen.lock();
        seen.stamp = stamp;
        seen.at = Some(Instant::now());
        seen.generation += 1;
    }

    /// Starts one background read of the entry when the last one is stale and none is running.
    fn reread_in_background(&self, seen: &mut Seen) {
        let stale = seen.at.is_none_or(|at| at.elapsed() >= self.reread);
        if !stale || seen.reading {
            return;
        }
        seen.reading = true;
        let generation = seen.generation;
        let shared = Arc::clone(&self.seen);
        let backend = Arc::clone(self.keyring.backend());
        let account = self.account();
        let spawned = std::thread::Builder::new()
            .name("keyring-reread".to_owned())
            .spawn(move || {
                let stamp = stamp_of(&chunks::read(backend.as_ref(), &account));
                let mut seen = shared.lock();
                if seen.generation == generation {
                    if let Some(stamp) = stamp {
                        seen.stamp = stamp;
                        seen.generation += 1;
                    }
                    seen.at = Some(Instant::now());
                }
                seen.reading = false;
            });
        if spawned.is_err() {
            seen.reading = false;
        }
    }

    /// Removes a copy of the entry outside the keyring proper (Linux: keyutils); warns on failure.
    fn forget_local_copies(&self) -> bool {
        let account = self.account();
        match self
            .keyring
            .call(move |backend| backend.forget_local_copies(KEYRING_SERVICE, &account))
        {
            Ok(removed) => removed,
            Err(err) => {
                tracing::warn!(target: "auth_core", error = %err,
                    "could not remove the kernel keyutils copy of the keyring entry");
                false
            }
        }
    }

    /// Removes `auth.json` after the keyring took the credentials; failing that only warns.
    fn remove_plaintext_file(&self) {
        if let Err(err) = self.file.delete() {
            tracing::warn!(target: "auth_core", path = %self.file.path().display(), error = %err,
                "saved auth to the keyring but could not delete auth.json");
        }
    }
}

/// The stamp of a read's outcome; `None` when the read failed, which tells nothing about the
/// entry: failures never replace a known stamp, so a keyring that fails for a while neither makes
/// polls re-read nor looks like another writer (a save that failed keeps the stamp of what the
/// entry still holds, which the manager's retry of that save relies on).
fn stamp_of(read: &Result<String, KeyringError>) -> Option<Stamp> {
    match read {
        Ok(value) => Some(Stamp::of_content(value.as_bytes())),
        Err(KeyringError::NoEntry) => Some(Stamp::Missing),
        Err(KeyringError::Failure(_)) => None,
    }
}

/// A failed read, in words a user can act on.
pub(crate) fn read_failed(err: &KeyringError) -> StoreError {
    StoreError::Keyring(format!(
        "could not read the credentials from the OS keyring: {err}"
    ))
}

/// A failed write, in words a user can act on.
pub(crate) fn write_failed(err: &KeyringError) -> StoreError {
    StoreError::Keyring(format!(
        "could not save the credentials to the OS keyring: {err}. Nothing was stored; to keep \
         them in auth.json instead, set cli_auth_credentials_store = \"file\" (or \"auto\") in \
         config.toml"
    ))
}

/// A failed delete, in words a user can act on.
pub(crate) fn delete_failed(err: &KeyringError) -> StoreError {
    StoreError::Keyring(format!(
        "could not remove the credentials from the OS keyring: {err}; remove the \
         \"{KEYRING_SERVICE}\" entry with the OS keyring manager"
    ))
}

impl CredentialStore for KeyringStore {
    fn load(&self) -> Result<Option<StoredAuth>, StoreError> {
        let account = self.account();
        let read = self
            .keyring
            .call(move |backend| chunks::read(backend, &account));
        if let Some(stamp) = stamp_of(&read) {
            self.record(stamp);
        }
        match read {
            Ok(value) => auth_json::parse(value.as_bytes())
                .map(Some)
                .map_err(StoreError::Parse),
            Err(KeyringError::NoEntry) => Ok(None),
            Err(err) => Err(read_failed(&err)),
        }
    }

    /// Writes the entry and removes `auth.json`. A failed write leaves no copy of the new value
    /// anywhere (a keyutils copy is removed) and keeps `auth.json`.
    fn save(&self, auth: &StoredAuth) -> Result<(), StoreError> {
        let value = auth.to_compact_json();
        let stamp = Stamp::of_content(value.as_bytes());
        let account = self.account();
        let written = self
            .keyring
            .call(move |backend| backend.set(KEYRING_SERVICE, &account, &value));
        match written {
            Ok(()) => {
                self.record(stamp);
                self.remove_plaintext_file();
                Ok(())
            }
            Err(err) => {
                self.forget_local_copies();
                Err(write_failed(&err))
            }
        }
    }

    /// Removes the entry, any keyutils copy and `auth.json`; a keyring error is reported after
    /// the rest is gone.
    fn delete(&self) -> Result<bool, StoreError> {
        let account = self.account();
        let entry = self
            .keyring
            .call(move |backend| chunks::delete(backend, &account));
        let copy = self.forget_local_copies();
        let file = self.file.delete();
        let removed_entry = match entry {
            Ok(()) => true,
            Err(KeyringError::NoEntry) => false,
            Err(err) => {
                if let Err(file_err) = &file {
                    tracing::warn!(target: "auth_core", error = %file_err, "could not delete auth.json");
                }
                return Err(delete_failed(&err));
            }
        };
        self.record(Stamp::Missing);
        Ok(file? || removed_entry || copy)
    }

    /// What the last read found; starts a background re-read when that is stale. Never waits.
    fn stamp(&self) -> Option<Stamp> {
        let mut seen = self.seen.lock();
        self.reread_in_background(&mut seen);
        Some(seen.stamp)
    }

    fn kind(&self) -> &'static str {
        "keyring"
    }

    fn load_may_wait(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests;
