//! The `keyring` store: credentials in the OS keyring (AUTH.md §3).
//!
//! The entry is service [`KEYRING_SERVICE`], account [`keyring_account`] of the home, and holds the
//! compact JSON of the credentials. Every backend call runs on its own thread with a timeout
//! ([`KEYRING_TIMEOUT`]), so a hung secret service cannot wedge the caller; a timeout is a keyring
//! error. The backend is a [`KeyringBackend`]: [`SystemKeyring`] (cargo feature `keyring`) in
//! production, [`MemoryKeyring`] in tests.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::auth_json::{self, StoredAuth};
use crate::store::ephemeral::lock_ignoring_poison;
use crate::store::file::FileStore;
use crate::store::{CredentialStore, Stamp, StoreError};

/// The keyring service name, shared with the Codex CLI.
pub const KEYRING_SERVICE: &str = "Codex Auth";

/// How long one keyring call may take before it counts as a keyring error.
pub const KEYRING_TIMEOUT: Duration = Duration::from_secs(3);

/// The keyring account of a Codex home: `cli|` + the first 16 hex digits of the SHA-256 of the
/// canonical path string. Canonical: the resolved path; else the resolved parent joined with the
/// last component; else the path as given.
pub fn keyring_account(codex_home: &Path) -> String {
    let canonical = canonical_home(codex_home);
    let digest = Sha256::digest(canonical.to_string_lossy().as_bytes());
    let hex: String = digest
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("cli|{hex}")
}

fn canonical_home(codex_home: &Path) -> PathBuf {
    if let Ok(resolved) = std::fs::canonicalize(codex_home) {
        return resolved;
    }
    match (codex_home.parent(), codex_home.file_name()) {
        (Some(parent), Some(name)) => match std::fs::canonicalize(parent) {
            Ok(resolved_parent) => resolved_parent.join(name),
            Err(_) => codex_home.to_path_buf(),
        },
        _ => codex_home.to_path_buf(),
    }
}

/// The outcome of a failed backend call. Messages never contain the stored value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyringError {
    /// There is no entry for this service and account.
    #[error("no keyring entry")]
    NoEntry,
    /// Any other failure, described without secrets.
    #[error("{0}")]
    Failure(String),
}

/// A keyring: get, set and delete one secret string per (service, account).
pub trait KeyringBackend: Send + Sync + std::fmt::Debug + 'static {
    /// Reads the value; [`KeyringError::NoEntry`] when there is none.
    fn get(&self, service: &str, account: &str) -> Result<String, KeyringError>;
    /// Creates or replaces the value.
    fn set(&self, service: &str, account: &str, value: &str) -> Result<(), KeyringError>;
    /// Removes the entry; [`KeyringError::NoEntry`] when there is none.
    fn delete(&self, service: &str, account: &str) -> Result<(), KeyringError>;
}

/// The OS keyring through the `keyring` crate (kernel keyutils on Linux, Keychain on Apple
/// platforms, Credential Manager on Windows).
#[cfg(feature = "keyring")]
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemKeyring;

#[cfg(feature = "keyring")]
impl KeyringBackend for SystemKeyring {
    fn get(&self, service: &str, account: &str) -> Result<String, KeyringError> {
        entry(service, account)?
            .get_password()
            .map_err(from_keyring_error)
    }

    fn set(&self, service: &str, account: &str, value: &str) -> Result<(), KeyringError> {
        entry(service, account)?
            .set_password(value)
            .map_err(from_keyring_error)
    }

    fn delete(&self, service: &str, account: &str) -> Result<(), KeyringError> {
        entry(service, account)?
            .delete_credential()
            .map_err(from_keyring_error)
    }
}

#[cfg(feature = "keyring")]
fn entry(service: &str, account: &str) -> Result<keyring::Entry, KeyringError> {
    keyring::Entry::new(service, account).map_err(from_keyring_error)
}

/// Maps a `keyring` crate error to its kind text; never includes stored data.
#[cfg(feature = "keyring")]
pub(crate) fn from_keyring_error(err: keyring::Error) -> KeyringError {
    match err {
        keyring::Error::NoEntry => KeyringError::NoEntry,
        keyring::Error::BadEncoding(_) => {
            KeyringError::Failure("the stored value is not UTF-8".to_owned())
        }
        keyring::Error::Ambiguous(items) => KeyringError::Failure(format!(
            "the entry is matched by {} credentials",
            items.len()
        )),
        other => KeyringError::Failure(other.to_string()),
    }
}

/// An in-memory keyring for tests: entries live in this value, and failures can be injected per
/// operation (they persist until cleared) as can a delay (to exercise the timeout).
#[derive(Default)]
pub struct MemoryKeyring {
    entries: Mutex<HashMap<(String, String), String>>,
    faults: Mutex<Faults>,
}

#[derive(Debug, Default)]
struct Faults {
    failures: HashMap<KeyringOp, String>,
    delay: Option<Duration>,
}

/// A keyring operation, for [`MemoryKeyring::fail`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyringOp {
    /// [`KeyringBackend::get`].
    Get,
    /// [`KeyringBackend::set`].
    Set,
    /// [`KeyringBackend::delete`].
    Delete,
}

impl MemoryKeyring {
    /// An empty keyring with no injected failures.
    pub fn new() -> Self {
        MemoryKeyring::default()
    }

    /// Makes every later `op` fail with `message` (`None` clears the failure).
    pub fn fail(&self, op: KeyringOp, message: Option<&str>) {
        let failures = &mut lock_ignoring_poison(&self.faults).failures;
        match message {
            Some(message) => failures.insert(op, message.to_owned()),
            None => failures.remove(&op),
        };
    }

    /// Makes every later call sleep this long first (`None` clears it).
    pub fn delay(&self, delay: Option<Duration>) {
        lock_ignoring_poison(&self.faults).delay = delay;
    }

    /// The stored value, if any (test assertions).
    pub fn value(&self, service: &str, account: &str) -> Option<String> {
        lock_ignoring_poison(&self.entries)
            .get(&(service.to_owned(), account.to_owned()))
            .cloned()
    }

    fn check(&self, op: KeyringOp) -> Result<(), KeyringError> {
        let (delay, failure) = {
            let faults = lock_ignoring_poison(&self.faults);
            (faults.delay, faults.failures.get(&op).cloned())
        };
        if let Some(delay) = delay {
            std::thread::sleep(delay);
        }
        failure.map_or(Ok(()), |message| Err(KeyringError::Failure(message)))
    }
}

impl std::fmt::Debug for MemoryKeyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryKeyring")
            .field("entries", &lock_ignoring_poison(&self.entries).len())
            .field("faults", &*lock_ignoring_poison(&self.faults))
            .finish()
    }
}

impl KeyringBackend for MemoryKeyring {
    fn get(&self, service: &str, account: &str) -> Result<String, KeyringError> {
        self.check(KeyringOp::Get)?;
        self.value(service, account).ok_or(KeyringError::NoEntry)
    }

    fn set(&self, service: &str, account: &str, value: &str) -> Result<(), KeyringError> {
        self.check(KeyringOp::Set)?;
        let key = (service.to_owned(), account.to_owned());
        lock_ignoring_poison(&self.entries).insert(key, value.to_owned());
        Ok(())
    }

    fn delete(&self, service: &str, account: &str) -> Result<(), KeyringError> {
        self.check(KeyringOp::Delete)?;
        let key = (service.to_owned(), account.to_owned());
        match lock_ignoring_poison(&self.entries).remove(&key) {
            Some(_) => Ok(()),
            None => Err(KeyringError::NoEntry),
        }
    }
}

/// Credentials in the keyring entry of a Codex home; `auth.json` is removed on save and delete.
#[derive(Debug, Clone)]
pub struct KeyringStore {
    backend: Arc<dyn KeyringBackend>,
    account: String,
    file: FileStore,
    timeout: Duration,
}

impl KeyringStore {
    /// The keyring store of `codex_home` over `backend`, with the default timeout.
    pub fn new(codex_home: &Path, backend: Arc<dyn KeyringBackend>) -> Self {
        KeyringStore {
            backend,
            account: keyring_account(codex_home),
            file: FileStore::new(codex_home),
            timeout: KEYRING_TIMEOUT,
        }
    }

    /// The same store with another per-call timeout (tests).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The keyring account of the entry (`cli|<hash>`).
    pub fn account(&self) -> &str {
        &self.account
    }

    /// Runs one backend call on its own thread, giving up after the timeout (the thread is left
    /// to finish on its own).
    fn call<T, F>(&self, op: &'static str, f: F) -> Result<T, KeyringError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn KeyringBackend, &str, &str) -> Result<T, KeyringError> + Send + 'static,
    {
        let backend = Arc::clone(&self.backend);
        let account = self.account.clone();
        let (sender, receiver) = mpsc::channel();
        std::thread::Builder::new()
            .name(format!("keyring-{op}"))
            .spawn(move || {
                // The receiver may be gone after a timeout; nothing is left to tell.
                let _ = sender.send(f(backend.as_ref(), KEYRING_SERVICE, &account));
            })
            .map_err(|err| KeyringError::Failure(format!("cannot start keyring thread: {err}")))?;
        match receiver.recv_timeout(self.timeout) {
            Ok(result) => result,
            Err(mpsc::RecvTimeoutError::Timeout) => Err(KeyringError::Failure(format!(
                "timed out after {} ms",
                self.timeout.as_millis()
            ))),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(KeyringError::Failure(
                "the keyring thread ended without an answer".to_owned(),
            )),
        }
    }

    fn store_error(op: &'static str, err: KeyringError) -> StoreError {
        StoreError::Keyring(format!("{op} failed: {err}"))
    }

    /// Removes `auth.json` after the keyring took the credentials; failing that only warns.
    fn remove_plaintext_file(&self) {
        if let Err(err) = self.file.delete() {
            tracing::warn!(target: "auth_core", path = %self.file.path().display(), error = %err,
                "saved auth to the keyring but could not delete auth.json");
        }
    }
}

impl CredentialStore for KeyringStore {
    fn load(&self) -> Result<Option<StoredAuth>, StoreError> {
        match self.call("read", |backend, service, account| {
            backend.get(service, account)
        }) {
            Ok(value) => auth_json::parse(value.as_bytes())
                .map(Some)
                .map_err(StoreError::Parse),
            Err(KeyringError::NoEntry) => Ok(None),
            Err(err) => Err(Self::store_error("read", err)),
        }
    }

    fn save(&self, auth: &StoredAuth) -> Result<(), StoreError> {
        let value = auth.to_compact_json();
        self.call("write", move |backend, service, account| {
            backend.set(service, account, &value)
        })
        .map_err(|err| Self::store_error("write", err))?;
        self.remove_plaintext_file();
        Ok(())
    }

    /// Removes the entry and `auth.json`; a keyring error is reported after the file is gone.
    fn delete(&self) -> Result<bool, StoreError> {
        let entry = self.call("delete", |backend, service, account| {
            backend.delete(service, account)
        });
        let file = self.file.delete();
        let removed_entry = match entry {
            Ok(()) => true,
            Err(KeyringError::NoEntry) => false,
            Err(err) => {
                if let Err(file_err) = &file {
                    tracing::warn!(target: "auth_core", error = %file_err, "could not delete auth.json");
                }
                return Err(Self::store_error("delete", err));
            }
        };
        Ok(file? || removed_entry)
    }

    fn stamp(&self) -> Option<Stamp> {
        None
    }

    fn kind(&self) -> &'static str {
        "keyring"
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

    use super::*;

    #[test]
    fn account_of_the_unresolvable_home_matches_the_spec_vector() {
        assert_eq!(
            keyring_account(Path::new("~/.codex")),
            "cli|940db7b1d0e4eb40"
        );
    }

    #[test]
    fn account_hashes_the_canonical_path() {
        let dir = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(dir.path()).unwrap();
        let hashed = |path: &Path| {
            let digest = Sha256::digest(path.to_string_lossy().as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            format!("cli|{}", &hex[..16])
        };
        // Existing: resolved (".." removed).
        let dotted = dir.path().join("x").join("..");
        std::fs::create_dir(dir.path().join("x")).unwrap();
        assert_eq!(keyring_account(&dotted), hashed(&real));
        // Missing leaf: resolved parent joined with the last component.
        let missing = dir.path().join("x").join("..").join(".codex");
        assert_eq!(keyring_account(&missing), hashed(&real.join(".codex")));
        assert_ne!(keyring_account(&missing), keyring_account(&dotted));
    }
}
