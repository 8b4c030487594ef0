//! An in-memory keyring for tests.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;

use super::backend::{KeyringBackend, KeyringError};

type Key = (String, String);

/// An in-memory keyring for tests: entries live in this value, and failures can be injected per
/// operation (they persist until cleared) as can a delay (to exercise the timeout). "Local
/// copies" stand for what [`KeyringBackend::forget_local_copies`] removes (a keyutils entry).
#[derive(Default)]
pub struct MemoryKeyring {
    entries: Mutex<HashMap<Key, String>>,
    local_copies: Mutex<HashMap<Key, String>>,
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
        let failures = &mut self.faults.lock().failures;
        match message {
            Some(message) => failures.insert(op, message.to_owned()),
            None => failures.remove(&op),
        };
    }

    /// Makes every later call sleep this long first (`None` clears it).
    pub fn delay(&self, delay: Option<Duration>) {
        self.faults.lock().delay = delay;
    }

    /// The stored value, if any (test assertions).
    pub fn value(&self, service: &str, account: &str) -> Option<String> {
        self.entries
            .lock()
            .get(&(service.to_owned(), account.to_owned()))
            .cloned()
    }

    /// Plants a local copy (a keyutils entry left by a failed write, say).
    pub fn plant_local_copy(&self, service: &str, account: &str, value: &str) {
        self.local_copies
            .lock()
            .insert((service.to_owned(), account.to_owned()), value.to_owned());
    }

    /// Whether a local copy exists (test assertions).
    pub fn has_local_copy(&self, service: &str, account: &str) -> bool {
        self.local_copies
            .lock()
            .contains_key(&(service.to_owned(), account.to_owned()))
    }

    fn check(&self, op: KeyringOp) -> Result<(), KeyringError> {
        let (delay, failure) = {
            let faults = self.faults.lock();
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
            .field("entries", &self.entries.lock().len())
            .field("faults", &*self.faults.lock())
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
        self.entries.lock().insert(key, value.to_owned());
        Ok(())
    }

    fn delete(&self, service: &str, account: &str) -> Result<(), KeyringError> {
        self.check(KeyringOp::Delete)?;
        let key = (service.to_owned(), account.to_owned());
        match self.entries.lock().remove(&key) {
            Some(_) => Ok(()),
            None => Err(KeyringError::NoEntry),
        }
    }

    fn forget_local_copies(&self, service: &str, account: &str) -> Result<bool, KeyringError> {
        let key = (service.to_owned(), account.to_owned());
        Ok(self.local_copies.lock().remove(&key).is_some())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

    use super::*;

    #[test]
    fn memory_keyring_injects_failures_until_cleared() {
        let keyring = MemoryKeyring::new();
        assert_eq!(keyring.get("s", "a"), Err(KeyringError::NoEntry));
        keyring.fail(KeyringOp::Set, Some("locked"));
        let locked = Err(KeyringError::Failure("locked".to_owned()));
        assert_eq!(keyring.set("s", "a", "v"), locked);
        assert_eq!(keyring.set("s", "a", "v"), locked);
        keyring.fail(KeyringOp::Set, None);
        keyring.set("s", "a", "v").unwrap();
        assert_eq!(keyring.get("s", "a"), Ok("v".to_owned()));
        assert_eq!(keyring.delete("s", "a"), Ok(()));
        assert_eq!(keyring.delete("s", "a"), Err(KeyringError::NoEntry));
    }

    #[test]
    fn memory_keyring_debug_hides_values() {
        let keyring = MemoryKeyring::new();
        keyring.set("s", "a", "sk-secret-value").unwrap();
        keyring.plant_local_copy("s", "a", "sk-secret-copy");
        let debug = format!("{keyring:?}");
        assert!(!debug.contains("sk-secret"), "{debug}");
        assert!(debug.contains("entries: 1"), "{debug}");
    }
}
