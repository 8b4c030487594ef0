//! Opening the configured credential store (`cli_auth_credentials_store` and, for the keyring
//! modes, `[features] secret_auth_storage`; AUTH.md §3).

use std::path::Path;
use std::sync::Arc;
#[cfg(any(test, not(feature = "keyring")))]
use std::sync::Once;

use crate::config::{Config, KeyringBackendKind, StoreMode};
use crate::store::CredentialStore;
use crate::store::auto::AutoStore;
use crate::store::ephemeral::EphemeralStore;
use crate::store::file::FileStore;
use crate::store::keyring::{KeyringBackend, KeyringStore};
use crate::store::secrets_file::SecretsFileStore;

/// Why the configured store cannot be opened. Fails startup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenStoreError {
    /// `keyring` was configured in a build without the `keyring` cargo feature.
    #[cfg(not(feature = "keyring"))]
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
        mode => open_store(mode, config.keyring_backend, codex_home),
    }
}

/// Opens the store for `mode` on `codex_home`, over the OS keyring where one is needed; `kind`
/// says whether the keyring modes keep the credentials in the keyring entry or in the secrets
/// file. Opening calls no keyring and touches no file.
///
/// Without the `keyring` feature, `keyring` fails and `auto` opens the file store (logged once
/// per process, at info).
pub fn open_store(
    mode: StoreMode,
    kind: KeyringBackendKind,
    codex_home: &Path,
) -> Result<Arc<dyn CredentialStore>, OpenStoreError> {
    match mode {
        StoreMode::File => Ok(Arc::new(FileStore::new(codex_home))),
        StoreMode::Ephemeral => Ok(Arc::new(EphemeralStore::for_home(codex_home))),
        StoreMode::Keyring | StoreMode::Auto => open_keyring_backed(mode, kind, codex_home),
        StoreMode::Redis => Ok(crate::redis::open(&crate::config::RedisConfig::default())?),
    }
}

#[cfg(feature = "keyring")]
fn open_keyring_backed(
    mode: StoreMode,
    kind: KeyringBackendKind,
    codex_home: &Path,
) -> Result<Arc<dyn CredentialStore>, OpenStoreError> {
    let backend = Arc::new(crate::store::keyring::SystemKeyring);
    Ok(open_store_with_keyring_backend(
        mode, kind, codex_home, backend,
    ))
}

#[cfg(not(feature = "keyring"))]
fn open_keyring_backed(
    mode: StoreMode,
    _kind: KeyringBackendKind,
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

/// Opens the store for `mode` on `codex_home` over an injected keyring `backend`, the keyring
/// modes keeping credentials in the keyring entry. Works in every build, so tests need no OS
/// keyring.
#[cfg(test)]
pub fn open_store_with_keyring(
    mode: StoreMode,
    codex_home: &Path,
    backend: Arc<dyn KeyringBackend>,
) -> Arc<dyn CredentialStore> {
    open_store_with_keyring_backend(mode, KeyringBackendKind::Direct, codex_home, backend)
}

/// [`open_store_with_keyring`] with the keyring modes' backend `kind` chosen.
#[cfg_attr(not(feature = "keyring"), allow(dead_code))]
pub fn open_store_with_keyring_backend(
    mode: StoreMode,
    kind: KeyringBackendKind,
    codex_home: &Path,
    backend: Arc<dyn KeyringBackend>,
) -> Arc<dyn CredentialStore> {
    let keyring_side = || -> Arc<dyn CredentialStore> {
        match kind {
            KeyringBackendKind::Direct => {
                Arc::new(KeyringStore::new(codex_home, Arc::clone(&backend)))
            }
            KeyringBackendKind::Secrets => {
                Arc::new(SecretsFileStore::new(codex_home, Arc::clone(&backend)))
            }
        }
    };
    match mode {
        StoreMode::File => Arc::new(FileStore::new(codex_home)),
        StoreMode::Keyring => keyring_side(),
        StoreMode::Auto => Arc::new(AutoStore::from_parts(
            keyring_side(),
            FileStore::new(codex_home),
        )),
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
        KEYRING_SERVICE, KeyringBackend, KeyringOp, MemoryKeyring, keyring_account,
    };
    use crate::test_log::events;

    fn key(value: &str) -> StoredAuth {
        StoredAuth::api_key(Secret::new(value))
    }

    #[test]
    fn each_mode_opens_its_store() {
        let home = tempfile::tempdir().unwrap();
        for (mode, backend, kind) in [
            (StoreMode::File, KeyringBackendKind::Direct, "file"),
            (StoreMode::Keyring, KeyringBackendKind::Direct, "keyring"),
            (StoreMode::Keyring, KeyringBackendKind::Secrets, "secrets"),
            (StoreMode::Auto, KeyringBackendKind::Direct, "auto"),
            (StoreMode::Auto, KeyringBackendKind::Secrets, "auto"),
            (
                StoreMode::Ephemeral,
                KeyringBackendKind::Secrets,
                "ephemeral",
            ),
        ] {
            let keyring = Arc::new(MemoryKeyring::new());
            let store = open_store_with_keyring_backend(mode, backend, home.path(), keyring);
            assert_eq!(store.kind(), kind);
        }
        // Opening touches nothing: no OS keyring call, no file.
        assert_eq!(
            open_store(StoreMode::File, KeyringBackendKind::Direct, home.path())
                .unwrap()
                .kind(),
            "file"
        );
        let ephemeral = open_store(
            StoreMode::Ephemeral,
            KeyringBackendKind::Direct,
            home.path(),
        )
        .unwrap();
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
        assert_eq!(store.load().unwrap(), Some(auth.clone()));
        assert_eq!(
            store.stamp(),
            Some(crate::store::Stamp::of_content(
                auth.to_compact_json().as_bytes()
            ))
        );
    }

    #[test]
    fn keyring_store_reports_errors_and_bad_data() {
        let home = tempfile::tempdir().unwrap();
        let keyring = Arc::new(MemoryKeyring::new());
        let store = open_store_with_keyring(StoreMode::Keyring, home.path(), keyring.clone());
        keyring.fail(KeyringOp::Get, Some("locked"));
        assert_eq!(
            store.load().unwrap_err().to_string(),
            "keyring error: could not read the credentials from the OS keyring: locked"
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
    #[cfg(not(feature = "keyring"))]
    #[test]
    fn without_the_feature_keyring_fails_and_auto_is_file() {
        let home = tempfile::tempdir().unwrap();
        let error =
            open_store(StoreMode::Keyring, KeyringBackendKind::Direct, home.path()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "cli_auth_credentials_store = \"keyring\" requires a build with the `keyring` feature"
        );
        let auto = open_store(StoreMode::Auto, KeyringBackendKind::Direct, home.path()).unwrap();
        assert_eq!(auto.kind(), "file");
        auto.save(&key("sk-auto")).unwrap();
        assert!(home.path().join("auth.json").exists());
    }

    #[cfg(feature = "keyring")]
    #[test]
    fn with_the_feature_keyring_and_auto_open_without_calling_the_keyring() {
        let home = tempfile::tempdir().unwrap();
        assert_eq!(
            open_store(StoreMode::Keyring, KeyringBackendKind::Direct, home.path())
                .unwrap()
                .kind(),
            "keyring"
        );
        assert_eq!(
            open_store(StoreMode::Auto, KeyringBackendKind::Direct, home.path())
                .unwrap()
                .kind(),
            "auto"
        );
    }
}
