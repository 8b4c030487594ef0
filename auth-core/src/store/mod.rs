//! Credential stores (AUTH.md §3): where a [`StoredAuth`] lives between processes.

use std::path::PathBuf;
use std::sync::Arc;

use crate::auth_json::{ParseError, StoredAuth};
use crate::coordination::Coordinator;
use crate::fingerprint::Fingerprint;

// Without the `keyring` feature only the tests build keyring-backed stores.
#[cfg_attr(not(feature = "keyring"), allow(dead_code))]
pub mod auto;
pub mod ephemeral;
pub mod file;
pub mod keyring;
pub mod open;
pub mod secrets_file;
pub mod stamp;
pub(crate) mod watch;

pub use stamp::Stamp;

/// A place credentials are kept: `auth.json`, the OS keyring, both, or process memory.
pub trait CredentialStore: Send + Sync + std::fmt::Debug {
    /// Reads the stored credentials; `Ok(None)` when nothing is stored.
    fn load(&self) -> Result<Option<StoredAuth>, StoreError>;
    /// Replaces the stored credentials, never leaving them half-written.
    fn save(&self, auth: &StoredAuth) -> Result<(), StoreError>;
    /// Removes the stored credentials; true if anything was removed.
    fn delete(&self) -> Result<bool, StoreError>;
    /// Cheap change stamp of the backing file; `None` when the store cannot be stamped (keyring:
    /// re-read on a timer; ephemeral: never changes behind our back).
    fn stamp(&self) -> Option<Stamp>;
    /// Short name for logs only (never compared to decide anything): `"file"`, `"keyring"`,
    /// `"secrets"` (the secrets file), `"auto"`, `"ephemeral"`, `"redis"`.
    fn kind(&self) -> &'static str;
    /// Whether the credentials outlive this process, where other processes can change them:
    /// only such a store is polled for outside writers and coordinated by a refresh lock and a
    /// failure record. False for the in-memory `ephemeral` store.
    fn persists(&self) -> bool {
        true
    }
    /// Whether `save` writes `auth.json` (the `file` store): a refresh then first checks that
    /// `CODEX_HOME` can take the new file (AUTH.md §10, "Unsaveable refreshes").
    fn saves_auth_json(&self) -> bool {
        false
    }
    /// Whether `load` may wait on something slower than a local file: the OS keyring (up to its
    /// timeout, §3). A status poll that must re-read such a store does it on the blocking pool
    /// and answers from the cache meanwhile (§4.2).
    fn load_may_wait(&self) -> bool {
        false
    }
    /// A fenced write: replaces the stored credentials only while they are still the snapshot
    /// `expected`; `Ok(false)` when someone else stored others meanwhile. Stores serialized by
    /// the lock file have nothing to compare with and save unconditionally.
    fn replace(&self, expected: Fingerprint, auth: &StoredAuth) -> Result<bool, StoreError> {
        let _ = expected;
        self.save(auth).map(|()| true)
    }
    /// The coordination this store brings (Redis: lease, shared failure record); `None` means
    /// the lock file and failure record in `CODEX_HOME`.
    fn coordinator(&self) -> Option<Arc<dyn Coordinator>> {
        None
    }
}

/// A store operation failed. Never carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A filesystem operation failed.
    #[error("{op} {path}: {source}", path = path.display())]
    Io {
        /// What we were doing (`"read"`, `"write"`, `"delete"`, ...).
        op: &'static str,
        /// The file involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The stored data is not valid `auth.json` (category and position only).
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The keyring failed (message never contains a secret).
    #[error("keyring error: {0}")]
    Keyring(String),
    /// The shared store (Redis) failed or is unreachable (message never contains a secret).
    #[error("shared store error: {0}")]
    Shared(String),
    /// The encrypted secrets file (`secrets/cli_auth.age`) cannot be used (never a secret).
    #[error("secrets file {path}: {message}", path = path.display())]
    SecretsFile {
        /// The secrets file.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// The server is shutting down: a store operation it had queued did not run.
    #[error("the credential store operation did not run: the server is shutting down")]
    Interrupted,
}
