//! The `ephemeral` store: credentials in process memory only (AUTH.md §3).
//!
//! One process-wide map, keyed by the keyring account string of the home, so every store opened
//! on the same home in this process sees the same entry. Nothing is ever written to disk, and the
//! store has no stamp (there is no outside writer to detect).

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use parking_lot::Mutex;

use crate::auth_json::StoredAuth;
use crate::store::keyring::keyring_account;
use crate::store::{CredentialStore, Stamp, StoreError};

/// The process-wide entries, locked only for a map operation, never across an `.await` or any I/O.
fn entries() -> &'static Mutex<HashMap<String, StoredAuth>> {
    static ENTRIES: OnceLock<Mutex<HashMap<String, StoredAuth>>> = OnceLock::new();
    ENTRIES.get_or_init(|| Mutex::new(HashMap::new()))
}

/// An in-memory credential store shared by every instance with the same key in this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EphemeralStore {
    key: String,
}

impl EphemeralStore {
    /// The store of a Codex home, keyed like its keyring entry (`cli|<hash>`).
    pub fn for_home(codex_home: &Path) -> Self {
        EphemeralStore {
            key: keyring_account(codex_home),
        }
    }

    #[cfg(test)]
    /// A store under an arbitrary key (for example for external tokens kept apart from a home).
    pub fn with_key(key: String) -> Self {
        EphemeralStore { key }
    }

    #[cfg(test)]
    /// The key of this store's entry in the process-wide map.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl CredentialStore for EphemeralStore {
    fn load(&self) -> Result<Option<StoredAuth>, StoreError> {
        Ok(entries().lock().get(&self.key).cloned())
    }

    fn save(&self, auth: &StoredAuth) -> Result<(), StoreError> {
        entries().lock().insert(self.key.clone(), auth.clone());
        Ok(())
    }

    fn delete(&self) -> Result<bool, StoreError> {
        Ok(entries().lock().remove(&self.key).is_some())
    }

    fn stamp(&self) -> Option<Stamp> {
        None
    }

    fn kind(&self) -> &'static str {
        "ephemeral"
    }

    fn persists(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

    use super::*;
    use crate::secret::Secret;

    fn key(value: &str) -> StoredAuth {
        StoredAuth::api_key(Secret::new(value))
    }

    #[test]
    fn save_creates_no_file_and_a_second_store_on_the_home_sees_it() {
        let home = tempfile::tempdir().unwrap();
        let first = EphemeralStore::for_home(home.path());
        assert_eq!(first.load().unwrap(), None);
        first.save(&key("sk-ephemeral")).unwrap();

        let names: Vec<_> = std::fs::read_dir(home.path()).unwrap().collect();
        assert!(names.is_empty(), "ephemeral save wrote {names:?}");

        let second = EphemeralStore::for_home(home.path());
        assert_eq!(second.load().unwrap(), Some(key("sk-ephemeral")));
        assert_eq!(second.key(), keyring_account(home.path()));
        assert_eq!(second.stamp(), None);
        assert_eq!(second.kind(), "ephemeral");
    }

    #[test]
    fn homes_and_keys_are_separate() {
        let one = tempfile::tempdir().unwrap();
        let two = tempfile::tempdir().unwrap();
        EphemeralStore::for_home(one.path())
            .save(&key("sk-one"))
            .unwrap();
        assert_eq!(EphemeralStore::for_home(two.path()).load().unwrap(), None);

        let external = EphemeralStore::with_key("ephemeral-test|external".to_owned());
        external.save(&key("sk-external")).unwrap();
        assert_eq!(
            EphemeralStore::with_key("ephemeral-test|external".to_owned())
                .load()
                .unwrap(),
            Some(key("sk-external"))
        );
        assert_eq!(
            EphemeralStore::for_home(one.path()).load().unwrap(),
            Some(key("sk-one"))
        );
    }

    #[test]
    fn delete_reports_whether_anything_was_removed() {
        let store = EphemeralStore::with_key("ephemeral-test|delete".to_owned());
        assert!(!store.delete().unwrap());
        store.save(&key("sk-gone")).unwrap();
        assert!(store.delete().unwrap());
        assert_eq!(store.load().unwrap(), None);
        assert!(!store.delete().unwrap());
    }
}
