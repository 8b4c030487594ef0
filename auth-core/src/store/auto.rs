//! The `auto` store: the keyring, falling back to `auth.json` on any keyring error (AUTH.md §3).
//!
//! The keyring side is the one the `keyring` mode would use: the keyring entry itself
//! ([`KeyringStore`]) or, with `secret_auth_storage`, the encrypted secrets file
//! ([`SecretsFileStore`](crate::store::secrets_file::SecretsFileStore)). `load` takes the keyring
//! side, else `auth.json`; `save` writes the keyring side (which removes `auth.json`) and, when it
//! fails, writes `auth.json` instead; `delete` removes both. While the keyring is failing, the
//! file is the source of truth, so the store exposes the file's stamp; while it works, the stamp
//! is the keyring side's (the file's when the keyring side holds nothing).

#[cfg(test)]
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::auth_json::StoredAuth;
use crate::store::file::FileStore;
#[cfg(test)]
use crate::store::keyring::{KeyringBackend, KeyringStore};
use crate::store::{CredentialStore, Stamp, StoreError};

/// Keyring first, `auth.json` when the keyring fails.
#[derive(Debug)]
pub struct AutoStore {
    keyring: Arc<dyn CredentialStore>,
    file: FileStore,
    /// True while the last keyring call failed, so the file is in use.
    keyring_failing: AtomicBool,
}

impl AutoStore {
    /// The auto store of `codex_home` over the keyring entry in `backend`.
    #[cfg(test)]
    pub fn new(codex_home: &Path, backend: Arc<dyn KeyringBackend>) -> Self {
        AutoStore::from_parts(
            Arc::new(KeyringStore::new(codex_home, backend)),
            FileStore::new(codex_home),
        )
    }

    /// An auto store over an already configured keyring side (the keyring entry, for example with
    /// a short timeout, or the secrets file) and the file store of the same home.
    pub fn from_parts(keyring: Arc<dyn CredentialStore>, file: FileStore) -> Self {
        AutoStore {
            keyring,
            file,
            keyring_failing: AtomicBool::new(false),
        }
    }

    /// Whether the last keyring call failed, so `auth.json` is in use.
    pub fn using_file(&self) -> bool {
        self.keyring_failing.load(Ordering::SeqCst)
    }

    /// Records a keyring failure; true if it is the first one since the keyring last worked, so
    /// a fallback is warned about once, not on every poll.
    fn keyring_failed(&self) -> bool {
        !self.keyring_failing.swap(true, Ordering::SeqCst)
    }

    fn keyring_worked(&self) {
        self.keyring_failing.store(false, Ordering::SeqCst);
    }
}

impl CredentialStore for AutoStore {
    fn load(&self) -> Result<Option<StoredAuth>, StoreError> {
        match self.keyring.load() {
            Ok(Some(auth)) => {
                self.keyring_worked();
                Ok(Some(auth))
            }
            Ok(None) => {
                self.keyring_worked();
                self.file.load()
            }
            Err(err) => {
                if self.keyring_failed() {
                    tracing::warn!(target: "auth_core", error = %err,
                        "failed to read auth from keyring, falling back to file storage");
                }
                self.file.load()
            }
        }
    }

    fn save(&self, auth: &StoredAuth) -> Result<(), StoreError> {
        match self.keyring.save(auth) {
            Ok(()) => {
                self.keyring_worked();
                Ok(())
            }
            Err(err) => {
                self.keyring_failed();
                tracing::warn!(target: "auth_core", error = %err,
                    "failed to save auth to keyring, falling back to file storage");
                self.file.save(auth)
            }
        }
    }

    /// Removes the keyring entry and `auth.json`; a keyring error is reported after the file is
    /// deleted.
    fn delete(&self) -> Result<bool, StoreError> {
        let result = self.keyring.delete();
        match &result {
            Ok(_) => self.keyring_worked(),
            Err(_) => {
                self.keyring_failed();
            }
        }
        result
    }

    fn stamp(&self) -> Option<Stamp> {
        if self.using_file() {
            return self.file.stamp();
        }
        match self.keyring.stamp() {
            // Nothing on the keyring side: `load` reads the file.
            Some(Stamp::Missing) => self.file.stamp(),
            stamp => stamp,
        }
    }

    fn kind(&self) -> &'static str {
        "auto"
    }

    /// Every read tries the keyring side first.
    fn load_may_wait(&self) -> bool {
        self.keyring.load_may_wait()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

    use tracing::Level;

    use super::*;
    use crate::secret::Secret;
    use crate::store::keyring::{KEYRING_SERVICE, KeyringOp, MemoryKeyring, keyring_account};
    use crate::test_log::events;

    const SAVE_FALLBACK: &str = "failed to save auth to keyring, falling back to file storage";
    const LOAD_FALLBACK: &str = "failed to read auth from keyring, falling back to file storage";

    struct Fixture {
        home: tempfile::TempDir,
        keyring: Arc<MemoryKeyring>,
        store: AutoStore,
    }

    impl Fixture {
        fn new() -> Self {
            let home = tempfile::tempdir().unwrap();
            let keyring = Arc::new(MemoryKeyring::new());
            let store = AutoStore::new(home.path(), keyring.clone());
            Fixture {
                home,
                keyring,
                store,
            }
        }
        fn file(&self) -> FileStore {
            FileStore::new(self.home.path())
        }
        fn auth_json_exists(&self) -> bool {
            self.home.path().join("auth.json").exists()
        }
        fn entry(&self) -> Option<String> {
            self.keyring
                .value(KEYRING_SERVICE, &keyring_account(self.home.path()))
        }
    }

    fn key(value: &str) -> StoredAuth {
        StoredAuth::api_key(Secret::new(value))
    }

    fn warnings(events: &[(Level, String)]) -> Vec<&str> {
        events
            .iter()
            .filter(|(level, _)| *level == Level::WARN)
            .map(|(_, message)| message.as_str())
            .collect()
    }

    #[test]
    fn failing_keyring_save_writes_auth_json_with_a_warning() {
        let fx = Fixture::new();
        fx.keyring.fail(KeyringOp::Set, Some("no secret service"));
        let (result, seen) = events(|| fx.store.save(&key("sk-fallback")));
        result.unwrap();
        assert_eq!(warnings(&seen), vec![SAVE_FALLBACK]);
        assert_eq!(fx.file().load().unwrap(), Some(key("sk-fallback")));
        assert_eq!(fx.entry(), None);
        assert!(fx.store.using_file());
        assert!(fx.store.stamp().is_some(), "file fallback is stamped");
    }

    #[test]
    fn working_keyring_holds_compact_json_and_auth_json_is_deleted() {
        let fx = Fixture::new();
        fx.file().save(&key("sk-old-file")).unwrap();
        assert!(fx.auth_json_exists());
        let auth = key("sk-keyring");
        let (result, seen) = events(|| fx.store.save(&auth));
        result.unwrap();
        assert!(warnings(&seen).is_empty(), "{seen:?}");
        assert_eq!(fx.entry(), Some(auth.to_compact_json()));
        assert!(!fx.entry().unwrap().contains('\n'));
        assert!(!fx.auth_json_exists());
        assert_eq!(fx.store.load().unwrap(), Some(auth.clone()));
        assert_eq!(
            fx.store.stamp(),
            Some(Stamp::of_content(auth.to_compact_json().as_bytes()))
        );
    }

    #[test]
    fn keyring_load_error_falls_back_to_auth_json_warning_once() {
        let fx = Fixture::new();
        fx.file().save(&key("sk-from-file")).unwrap();
        fx.keyring.fail(KeyringOp::Get, Some("keyring locked"));
        let ((first, second), seen) = events(|| (fx.store.load(), fx.store.load()));
        assert_eq!(first.unwrap(), Some(key("sk-from-file")));
        assert_eq!(second.unwrap(), Some(key("sk-from-file")));
        assert_eq!(warnings(&seen), vec![LOAD_FALLBACK]);
        assert!(fx.store.stamp().is_some());

        // Once the keyring works again, its entry wins and so does its stamp.
        fx.keyring.fail(KeyringOp::Get, None);
        fx.keyring
            .set(
                KEYRING_SERVICE,
                &keyring_account(fx.home.path()),
                &key("sk-from-keyring").to_compact_json(),
            )
            .unwrap();
        assert_eq!(fx.store.load().unwrap(), Some(key("sk-from-keyring")));
        assert_eq!(
            fx.store.stamp(),
            Some(Stamp::of_content(
                key("sk-from-keyring").to_compact_json().as_bytes()
            ))
        );
    }

    #[test]
    fn empty_keyring_reads_auth_json_and_stamps_it() {
        let fx = Fixture::new();
        assert_eq!(fx.store.load().unwrap(), None);
        fx.file().save(&key("sk-file-only")).unwrap();
        assert_eq!(fx.store.load().unwrap(), Some(key("sk-file-only")));
        assert_eq!(fx.store.stamp(), fx.file().stamp(), "the file is the truth");
    }

    #[test]
    fn delete_removes_entry_and_file() {
        let fx = Fixture::new();
        assert!(!fx.store.delete().unwrap());
        fx.store.save(&key("sk-entry")).unwrap();
        fx.file().save(&key("sk-file")).unwrap();
        assert!(fx.store.delete().unwrap());
        assert_eq!(fx.entry(), None);
        assert!(!fx.auth_json_exists());
        assert!(!fx.store.delete().unwrap());

        fx.file().save(&key("sk-file")).unwrap();
        assert!(fx.store.delete().unwrap(), "the file alone counts");
    }

    #[test]
    fn keyring_delete_error_still_deletes_the_file_then_reports() {
        let fx = Fixture::new();
        fx.store.save(&key("sk-entry")).unwrap();
        fx.file().save(&key("sk-file")).unwrap();
        fx.keyring.fail(KeyringOp::Delete, Some("denied"));
        let error = fx.store.delete().unwrap_err();
        assert!(
            error.to_string().starts_with(
                "keyring error: could not remove the credentials from the OS keyring: denied"
            ),
            "{error}"
        );
        assert!(!fx.auth_json_exists());
        assert!(fx.entry().is_some());
    }

    #[test]
    fn over_the_secrets_file_it_falls_back_to_auth_json_and_logout_removes_both() {
        use crate::store::secrets_file::SecretsFileStore;
        let fx = Fixture::new();
        let secrets = SecretsFileStore::new(fx.home.path(), fx.keyring.clone()).with_work_factor(4);
        let path = secrets.path().to_path_buf();
        let store = AutoStore::from_parts(Arc::new(secrets), fx.file());

        store.save(&key("sk-secrets")).unwrap();
        assert!(path.exists() && !fx.auth_json_exists());
        assert_eq!(store.load().unwrap(), Some(key("sk-secrets")));
        assert_eq!(
            store.stamp(),
            Stamp::of(&path).ok(),
            "the secrets file's stamp"
        );

        // A keyring that cannot store the file key: the save goes to auth.json.
        assert!(store.delete().unwrap());
        fx.keyring.fail(KeyringOp::Set, Some("no secret service"));
        fx.keyring
            .delete(
                crate::store::secrets_file::SECRETS_KEY_SERVICE,
                &crate::store::secrets_file::secrets_key_account(fx.home.path()),
            )
            .unwrap();
        let (result, seen) = events(|| store.save(&key("sk-fallback")));
        result.unwrap();
        assert_eq!(warnings(&seen), vec![SAVE_FALLBACK]);
        assert_eq!(fx.file().load().unwrap(), Some(key("sk-fallback")));
        assert!(!path.exists());
        assert!(store.delete().unwrap());
        assert!(!fx.auth_json_exists());
    }
}
