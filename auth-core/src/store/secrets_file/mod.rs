//! The secrets-file store: credentials in `$CODEX_HOME/secrets/cli_auth.age`, the Codex CLI's
//! encrypted secrets file, with its key in the OS keyring (AUTH.md §3). Codex uses it for the
//! `keyring` and `auto` modes on Windows by default (a ChatGPT credential exceeds the Credential
//! Manager's value limit) and elsewhere with `[features] secret_auth_storage = true`.
//!
//! The key lives in the keyring under service [`SECRETS_KEY_SERVICE`], account
//! [`secrets_key_account`]; it is created on the first save. Reads need the key only when the
//! file exists. Change detection is the file's stamp, so status polls never touch the keyring.

mod format;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use format::{CLI_AUTH_SECRET, SecretsFile, generate_passphrase};

use crate::atomic_write::write_atomic;
use crate::auth_json::{self, StoredAuth};
use crate::secret::Secret;
use crate::store::file::FileStore;
use crate::store::keyring::{
    KeyringBackend, KeyringCaller, KeyringError, KeyringStore, home_digest,
};
use crate::store::{CredentialStore, Stamp, StoreError};

/// The keyring service of secrets-file keys, as in Codex.
pub const SECRETS_KEY_SERVICE: &str = "codex";

/// The folder of the secrets files inside the Codex home.
pub const SECRETS_DIR: &str = "secrets";

/// The secrets file holding the CLI credentials.
pub const CLI_AUTH_FILE: &str = "cli_auth.age";

/// The keyring account of the secrets-file key of a home: `secrets|` + the home digest.
pub fn secrets_key_account(codex_home: &Path) -> String {
    format!("secrets|{}", home_digest(codex_home))
}

/// Credentials in `secrets/cli_auth.age`; `auth.json` is removed on save and delete, and so is a
/// keyring entry of the `keyring` mode on delete (as Codex's logout does).
#[derive(Debug, Clone)]
pub struct SecretsFileStore {
    keyring: KeyringCaller,
    /// The home; the key's account is derived at every call, as Codex does.
    home: PathBuf,
    path: PathBuf,
    file: FileStore,
    direct: KeyringStore,
    work_factor: Option<u8>,
}

impl SecretsFileStore {
    /// The secrets-file store of `codex_home`, its key in `backend`.
    pub fn new(codex_home: &Path, backend: Arc<dyn KeyringBackend>) -> Self {
        SecretsFileStore {
            keyring: KeyringCaller::new(Arc::clone(&backend)),
            home: codex_home.to_path_buf(),
            path: codex_home.join(SECRETS_DIR).join(CLI_AUTH_FILE),
            file: FileStore::new(codex_home),
            direct: KeyringStore::new(codex_home, backend),
            work_factor: None,
        }
    }

    /// The same store with a fixed scrypt work factor (log2 N) instead of age's calibration of
    /// about a second, for tests.
    pub fn with_work_factor(mut self, log_n: u8) -> Self {
        self.work_factor = Some(log_n);
        self
    }

    /// The same store with another keyring timeout (tests).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.keyring = self.keyring.with_timeout(timeout);
        self.direct = self.direct.with_timeout(timeout);
        self
    }

    /// `secrets/cli_auth.age`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, what: String) -> StoreError {
        StoreError::SecretsFile {
            path: self.path.clone(),
            message: what,
        }
    }

    /// The file key, if the keyring has one.
    fn key(&self) -> Result<Option<Secret>, StoreError> {
        let account = secrets_key_account(&self.home);
        match self
            .keyring
            .call(move |backend| backend.get(SECRETS_KEY_SERVICE, &account))
        {
            Ok(key) => Ok(Some(Secret::new(key))),
            Err(KeyringError::NoEntry) => Ok(None),
            Err(err) => Err(self.error(format!(
                "cannot read its key from the OS keyring (service \"{SECRETS_KEY_SERVICE}\", \
                 account \"{}\"): {err}",
                secrets_key_account(&self.home)
            ))),
        }
    }

    /// The file key, created and stored in the keyring when there is none yet.
    fn key_or_create(&self) -> Result<Secret, StoreError> {
        if let Some(key) = self.key()? {
            return Ok(key);
        }
        let key = generate_passphrase();
        let account = secrets_key_account(&self.home);
        let value = key.expose().to_owned();
        self.keyring
            .call(move |backend| backend.set(SECRETS_KEY_SERVICE, &account, &value))
            .map_err(|err| {
                self.error(format!(
                    "cannot store its new key in the OS keyring: {err}. Nothing was stored; to \
                     keep credentials in auth.json instead, set cli_auth_credentials_store = \
                     \"file\" (or \"auto\") in config.toml"
                ))
            })?;
        Ok(key)
    }

    /// The decrypted file; `None` when it does not exist.
    fn read(&self, key: Option<&Secret>) -> Result<Option<SecretsFile>, StoreError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StoreError::Io {
                    op: "read",
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let key = match key {
            Some(key) => key.clone(),
            None => self.key()?.ok_or_else(|| {
                self.error(format!(
                    "its key is missing from the OS keyring (service \"{SECRETS_KEY_SERVICE}\", \
                     account \"{}\"); delete the file and sign in again",
                    secrets_key_account(&self.home)
                ))
            })?,
        };
        SecretsFile::decrypt(&bytes, &key)
            .map(Some)
            .map_err(|err| self.error(format!("{err}; delete the file and sign in again")))
    }

    fn write(&self, file: &SecretsFile, key: &Secret) -> Result<(), StoreError> {
        let bytes = file
            .encrypt(key, self.work_factor)
            .map_err(|err| self.error(err.to_string()))?;
        write_atomic(&self.path, &bytes).map_err(|source| StoreError::Io {
            op: "write",
            path: self.path.clone(),
            source,
        })
    }

    /// Removes the CLI credentials from the file: the file goes when nothing else is left in it,
    /// or when it cannot be decrypted (it is of no use without its key). True if removed.
    fn remove_from_file(&self) -> Result<bool, StoreError> {
        let key = match self.key() {
            Ok(key) => key,
            Err(err) if self.path.exists() => return Err(err),
            Err(_) => return Ok(false),
        };
        let mut file = match self.read(key.as_ref()) {
            Ok(Some(file)) => file,
            Ok(None) => return Ok(false),
            Err(StoreError::SecretsFile { message, .. }) => {
                tracing::warn!(target: "auth_core", path = %self.path.display(), reason = %message,
                    "removing a secrets file that cannot be decrypted");
                return self.remove_file();
            }
            Err(err) => return Err(err),
        };
        if !file.remove(CLI_AUTH_SECRET) {
            return Ok(false);
        }
        match (&key, file.is_empty()) {
            (Some(key), false) => self.write(&file, key).map(|()| true),
            _ => self.remove_file(),
        }
    }

    fn remove_file(&self) -> Result<bool, StoreError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(StoreError::Io {
                op: "delete",
                path: self.path.clone(),
                source,
            }),
        }
    }
}

impl CredentialStore for SecretsFileStore {
    fn load(&self) -> Result<Option<StoredAuth>, StoreError> {
        let Some(file) = self.read(None)? else {
            return Ok(None);
        };
        match file.get(CLI_AUTH_SECRET) {
            Some(value) => auth_json::parse(value.as_bytes())
                .map(Some)
                .map_err(StoreError::Parse),
            None => Ok(None),
        }
    }

    /// Writes the credentials into the file (created with a new key on first use, other secrets
    /// in it kept) and removes `auth.json`. A failure leaves the previous file as it was.
    fn save(&self, auth: &StoredAuth) -> Result<(), StoreError> {
        let key = self.key_or_create()?;
        let mut file = self.read(Some(&key))?.unwrap_or_else(SecretsFile::new);
        file.set(CLI_AUTH_SECRET, auth.to_compact_json());
        self.write(&file, &key)?;
        if let Err(err) = self.file.delete() {
            tracing::warn!(target: "auth_core", path = %self.file.path().display(), error = %err,
                "saved auth to the secrets file but could not delete auth.json");
        }
        Ok(())
    }

    /// Removes the credentials from the file, `auth.json`, and the `keyring` mode's entry (with
    /// any keyutils copy); every removal is attempted, the first error is reported.
    fn delete(&self) -> Result<bool, StoreError> {
        let from_file = self.remove_from_file();
        let direct = self.direct.delete();
        let plain = self.file.delete();
        let mut removed = false;
        let mut first_error = None;
        for result in [from_file, direct, plain] {
            match result {
                Ok(r) => removed |= r,
                Err(err) => {
                    if first_error.is_some() {
                        tracing::warn!(target: "auth_core", error = %err, "logout: another copy could not be removed");
                    } else {
                        first_error = Some(err);
                    }
                }
            }
        }
        match first_error {
            Some(err) => Err(err),
            None => Ok(removed),
        }
    }

    fn stamp(&self) -> Option<Stamp> {
        Stamp::of(&self.path).ok()
    }

    fn kind(&self) -> &'static str {
        "secrets"
    }

    /// A read needs the file's key from the keyring.
    fn load_may_wait(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests;
