//! Opening the configured credential store (`cli_auth_credentials_store`, AUTH.md §3).

use std::path::Path;
use std::sync::Arc;
#[cfg(any(test, not(feature = "keyring")))]
use std::sync::Once;

use crate::config::{Config, StoreMode};
use crate::store::CredentialStore;
use crate::store::auto::AutoStore;
use crate::store::ephemeral::EphemeralStore;
use crate::store::file::FileStore;
use crate::store::keyring::{KeyringBackend, KeyringStore};

/// Why the configured store cannot be opened. Fails startup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenStoreError {
    /// `keyring` was configured in a build without the `keyring` cargo feature.
    #[error("cli_auth_credentials_store = \"keyring\" requires a build with the `keyring` feature")]
    KeyringFeatureDisabled,
    /// The `redis` store cannot be opened (no URL, a bad URL).
    #[error(transparent)]
    Redis(#[from] crate::redis::OpenRedisError),
}

/// Opens the store `config` selects: `redis` from `[auth_redis]`, the others by [`open_store`].
pub fn open_configured(
    config: &Config,
    codex_home: &Path,
) -> Result<Arc<dyn CredentialStore>, OpenStoreError> {
    match config.store_mode {
        StoreMode::Redis => Ok(crate::redis::open(&config.redis)?),
        mode => open_store(mode, codex_home),
    }
}

/// Opens the store for `mode` on `codex_home`, over the OS keyring where one is needed.
///
/// Without the `keyring` feature, `keyring` fails and `auto` opens the file store (logged once
/// per process, at info).
pub fn open_store(
    mode: StoreMode,
    codex_home: &Path,
) -> Result<Arc<dyn CredentialStore>, OpenStoreError> {
    match mode {
        StoreMode::File => Ok(Arc::new(FileStore::new(codex_home))),
        StoreMode::Ephemeral => Ok(Arc::new(EphemeralStore::for_home(codex_home))),
        StoreMode::Keyring | StoreMode::Auto => open_keyring_backed(mode, codex_home),
        StoreMode::Redis => Ok(crate::redis::open(&crate::config::RedisConfig::default())?),
    }
}

#[cfg(feature = "keyring")]
fn open_keyring_backed(
    mode: StoreMode,
    codex_home: &Path,
) -> Result<Arc<dyn CredentialStore>, OpenStoreError> {
    let backend = Arc::new(crate::store::keyring::SystemKeyring);
    Ok(open_store_with_keyring(mode, codex_home, backend))
}

#[cfg(not(feature = "keyring"))]
fn open_keyring_backed(
    mode: StoreMode,
    codex_home: &Path,
) -> Result<Arc<dyn CredentialStore>, OpenStoreError> {
    static AUTO_LOGGED: Once = Once::new();
    if mode == StoreMode::Auto {
        log_auto_without_keyring(&AUTO_LOGGED);
        Ok(Arc::new(FileStore::new(codex_home)))
    } else {
        Err(OpenStoreError::KeyringFeatureDisabled)
    }
}

/// Opens the store for `mode` on `codex_home` over an injected keyring `backend` (used by the
/// `keyring` and `auto` modes only). Works in every build, so tests need no OS keyring.
pub fn open_store_with_keyring(
    mode: StoreMode,
    codex_home: &Path,
    backend: Arc<dyn KeyringBackend>,
) -> Arc<dyn CredentialStore> {
    match mode {
        StoreMode::File => Arc::new(FileStore::new(codex_home)),
        StoreMode::Keyring => Arc::new(KeyringStore::new(codex_home, backend)),
        StoreMode::Auto => Arc::new(AutoStore::new(codex_home, backend)),
        StoreMode::Ephemeral => Arc::new(EphemeralStore::for_home(codex_home)),
        // `redis` has no keyring and needs its `[auth_redis]` table: `open_configured` opens it.
        StoreMode::Redis => Arc::new(FileStore::new(codex_home)),
    }
}

/// Logs, once per `once`, that `auto` means `file` in this build.
#[cfg(any(test, not(feature = "keyring")))]
fn log_auto_without_keyring(once: &Once) {
    once.call_once(|| {
        tracing::info!(target: "auth_core",
            "cli_auth_credentials_store = \"auto\" uses file storage: this build has no `keyring` feature");
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

    use super::*;
    use crate::auth_json::StoredAuth;
    use crate::secret::Secret;
    use crate::store::StoreError;
    use crate::store::keyring::{
        KEYRING_SERVICE, KeyringError, KeyringOp, MemoryKeyring, keyring_account,
    };
    use crate::test_log::events;

    fn key(value: &str) -> StoredAuth {
        StoredAuth::api_key(Secret::new(value))
    }

    #[test]
    fn each_mode_opens_its_store() {
        let home = tempfile::tempdir().unwrap();
        for (mode, kind) in [
            (StoreMode::File, "file"),
            (StoreMode::Keyring, "keyring"),
            (StoreMode::Auto, "auto"),
            (StoreMode::Ephemeral, "ephemeral"),
        ] {
            let store = open_store_with_keyring(mode, home.path(), Arc::new(MemoryKeyring::new()));
            assert_eq!(store.kind(), kind);
        }
        // Opening touches nothing: no OS keyring call, no file.
        assert_eq!(
            open_store(StoreMode::File, home.path()).unwrap().kind(),
            "file"
        );
        let ephemeral = open_store(StoreMode::Ephemeral, home.path()).unwrap();
        ephemeral.save(&key("sk-memory")).unwrap();
        assert_eq!(std::fs::read_dir(home.path()).unwrap().count(), 0);
        assert!(ephemeral.delete().unwrap());
    }

    #[test]
    fn keyring_store_saves_compact_json_and_removes_auth_json() {
        let home = tempfile::tempdir().unwrap();
        let keyring = Arc::new(MemoryKeyring::new());
        let store = open_store_with_keyring(StoreMode::Keyring, home.path(), keyring.clone());
        assert_eq!(store.load().unwrap(), None);
        FileStore::new(home.path()).save(&key("sk-plain")).unwrap();

        let auth = key("sk-keyring");
        store.save(&auth).unwrap();
        let account = keyring_account(home.path());
        assert_eq!(
            keyring.value(KEYRING_SERVICE, &account),
            Some(auth.to_compact_json())
        );
        assert!(!home.path().join("auth.json").exists());
        assert_eq!(store.load().unwrap(), Some(auth));
        assert_eq!(store.stamp(), None);
    }

    #[test]
    fn keyring_store_reports_errors_and_bad_data() {
        let home = tempfile::tempdir().unwrap();
        let keyring = Arc::new(MemoryKeyring::new());
        let store = open_store_with_keyring(StoreMode::Keyring, home.path(), keyring.clone());
        keyring.fail(KeyringOp::Get, Some("locked"));
        assert_eq!(
            store.load().unwrap_err().to_string(),
            "keyring error: read failed: locked"
        );
        keyring.fail(KeyringOp::Get, None);

        keyring.fail(KeyringOp::Set, Some("full"));
        assert!(matches!(
            store.save(&key("sk-x")),
            Err(StoreError::Keyring(_))
        ));
        assert!(!home.path().join("auth.json").exists(), "no file fallback");
        keyring.fail(KeyringOp::Set, None);

        let account = keyring_account(home.path());
        keyring
            .set(
                KEYRING_SERVICE,
                &account,
                "{\"tokens\": 7, \"x\": \"sk-leak\"}",
            )
            .unwrap();
        let error = store.load().unwrap_err();
        assert!(matches!(error, StoreError::Parse(_)), "{error:?}");
        assert!(!error.to_string().contains("sk-leak"));
    }

    #[test]
    fn keyring_store_delete_removes_entry_and_file() {
        let home = tempfile::tempdir().unwrap();
        let keyring = Arc::new(MemoryKeyring::new());
        let store = open_store_with_keyring(StoreMode::Keyring, home.path(), keyring.clone());
        assert!(!store.delete().unwrap());
        store.save(&key("sk-entry")).unwrap();
        FileStore::new(home.path()).save(&key("sk-file")).unwrap();
        assert!(store.delete().unwrap());
        assert_eq!(
            keyring.value(KEYRING_SERVICE, &keyring_account(home.path())),
            None
        );
        assert!(!home.path().join("auth.json").exists());
        assert!(!store.delete().unwrap());

        store.save(&key("sk-entry")).unwrap();
        FileStore::new(home.path()).save(&key("sk-file")).unwrap();
        keyring.fail(KeyringOp::Delete, Some("denied"));
        assert!(matches!(store.delete(), Err(StoreError::Keyring(_))));
        assert!(
            !home.path().join("auth.json").exists(),
            "file deleted before the error"
        );
    }

    #[test]
    fn auto_without_keyring_is_logged_once_at_info() {
        let once = Once::new();
        let ((), seen) = events(|| {
            log_auto_without_keyring(&once);
            log_auto_without_keyring(&once);
        });
        assert_eq!(
            seen,
            vec![(
                tracing::Level::INFO,
                "cli_auth_credentials_store = \"auto\" uses file storage: this build has no \
                 `keyring` feature"
                    .to_owned()
            )]
        );
    }

    #[test]
    fn memory_keyring_injects_failures_until_cleared() {
        let keyring = MemoryKeyring::new();
        assert_eq!(keyring.get("s", "a"), Err(KeyringError::NoEntry));
        keyring.fail(KeyringOp::Set, Some("locked"));
        assert_eq!(
            keyring.set("s", "a", "v"),
            Err(KeyringError::Failure("locked".to_owned()))
        );
        assert_eq!(
            keyring.set("s", "a", "v"),
            Err(KeyringError::Failure("locked".to_owned()))
        );
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
        let debug = format!("{keyring:?}");
        assert!(!debug.contains("sk-secret-value"), "{debug}");
        assert!(debug.contains("entries: 1"), "{debug}");
    }

    #[test]
    fn a_hung_backend_times_out_as_a_keyring_error() {
        let keyring = Arc::new(MemoryKeyring::new());
        keyring.delay(Some(std::time::Duration::from_secs(2)));
        let home = tempfile::tempdir().unwrap();
        let store = crate::store::keyring::KeyringStore::new(home.path(), keyring)
            .with_timeout(std::time::Duration::from_millis(50));
        let started = std::time::Instant::now();
        let error = store.load().unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert_eq!(
            error.to_string(),
            "keyring error: read failed: timed out after 50 ms"
        );
    }

    /// The `keyring` crate's own mock credential, with injected errors, through our mapping.
    #[cfg(feature = "keyring")]
    #[test]
    fn keyring_crate_errors_map_to_kinds_without_data() {
        use keyring::mock::MockCredential;
        let entry = keyring::Entry::new_with_credential(Box::new(MockCredential::default()));
        assert_eq!(
            entry
                .get_password()
                .map_err(crate::store::keyring::from_keyring_error),
            Err(KeyringError::NoEntry)
        );
        let mock: &MockCredential = entry.get_credential().downcast_ref().unwrap();
        mock.set_error(keyring::Error::BadEncoding(b"sk-secret".to_vec()));
        let mapped = entry
            .get_password()
            .map_err(crate::store::keyring::from_keyring_error);
        assert_eq!(
            mapped,
            Err(KeyringError::Failure(
                "the stored value is not UTF-8".to_owned()
            ))
        );
        mock.set_error(keyring::Error::NoStorageAccess("locked".into()));
        let mapped = entry
            .set_password("sk-secret")
            .map_err(crate::store::keyring::from_keyring_error);
        assert_eq!(
            mapped,
            Err(KeyringError::Failure(
                "Couldn't access platform secure storage: locked".to_owned()
            ))
        );
        entry.set_password("sk-secret").unwrap();
        assert_eq!(entry.get_password().unwrap(), "sk-secret");
    }
    #[cfg(not(feature = "keyring"))]
    #[test]
    fn without_the_feature_keyring_fails_and_auto_is_file() {
        let home = tempfile::tempdir().unwrap();
        let error = open_store(StoreMode::Keyring, home.path()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "cli_auth_credentials_store = \"keyring\" requires a build with the `keyring` feature"
        );
        let auto = open_store(StoreMode::Auto, home.path()).unwrap();
        assert_eq!(auto.kind(), "file");
        auto.save(&key("sk-auto")).unwrap();
        assert!(home.path().join("auth.json").exists());
    }

    #[cfg(feature = "keyring")]
    #[test]
    fn with_the_feature_keyring_and_auto_open_without_calling_the_keyring() {
        let home = tempfile::tempdir().unwrap();
        assert_eq!(
            open_store(StoreMode::Keyring, home.path()).unwrap().kind(),
            "keyring"
        );
        assert_eq!(
            open_store(StoreMode::Auto, home.path()).unwrap().kind(),
            "auto"
        );
    }
}
