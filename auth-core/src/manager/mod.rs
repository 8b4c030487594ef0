//! `AuthManager`: the cached credential snapshot, single-flight refresh, the remembered permanent
//! failure and 401 recovery (AUTH.md §7), plus logins and logout (§8, §9).
//!
//! Layout: `state.rs` holds the one mutable `State` and the clearing rule; `poll.rs` notices
//! changes in the store and the failure record; `refresh.rs` is the refresh algorithm;
//! `recover.rs` the 401 recovery; `account.rs` logins, external tokens and logout; `view.rs` what
//! status calls return.

mod account;
mod detached;
mod login;
mod options;
mod outcome;
mod poll;
pub(crate) mod recover;
mod refresh;
mod saveable;
mod state;
mod view;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use chrono::{DateTime, Utc};
use parking_lot::{Mutex, MutexGuard};
use tokio::sync::watch;

pub use account::ExternalTokens;
pub use login::LoginStartError;
pub use options::ManagerOptions;
pub use recover::{ExternalAuthHost, RecoverOutcome};
pub use refresh::{RefreshOutcome, Trigger};
pub use state::FailureSource;
pub use view::{AuthView, RefreshFailureView};

use crate::auth_json::AuthMode;
use crate::auth_json::StoredAuth;
use crate::config::Config;
use crate::coordination::{Coordinator, FileCoordinator};
use crate::fingerprint::Fingerprint;
use crate::secret::Secret;
use crate::snapshot::{Origin, Snapshot};
use crate::store::CredentialStore;
use crate::store::open::open_configured;
use crate::token_endpoint::{DEFAULT_REFRESH_URL, TokenEndpoint};
use state::State;

/// Sent to subscribers whenever the snapshot in effect changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeEvent {
    /// Fingerprint of the new snapshot, `None` when signed out.
    pub fingerprint: Option<Fingerprint>,
    /// Mode of the new snapshot.
    pub mode: Option<AuthMode>,
    /// Whether the account (workspace) differs from the previous snapshot's.
    pub account_changed: bool,
}

/// Why a manager could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    /// The configured store cannot be opened.
    #[error("{0}")]
    Store(String),
    /// The token endpoint URL or HTTP client is unusable.
    #[error("{0}")]
    Endpoint(String),
}

/// The credential manager: a cheap-clone handle over shared state.
#[derive(Clone)]
pub struct AuthManager {
    inner: Arc<Inner>,
}

struct Inner {
    opts: ManagerOptions,
    store: Arc<dyn CredentialStore>,
    /// The refresh lease and the shared failure record: the store's own (Redis), else the
    /// lock file and record in `CODEX_HOME`; `None` for the ephemeral store.
    coord: Option<Arc<dyn Coordinator>>,
    endpoint: TokenEndpoint,
    env_key: Option<Arc<Snapshot>>,
    state: Mutex<State>,
    /// Serializes store re-reads so an older read never replaces a newer adoption.
    reload: Mutex<()>,
    /// The refresh gate: serializes refresh-path work in the process (AUTH.md §7.1).
    gate: tokio::sync::Mutex<()>,
    /// Serializes 401 recoveries so concurrent reports of one token share one outcome.
    recover_gate: tokio::sync::Mutex<()>,
    changes: watch::Sender<ChangeEvent>,
    lock_degraded_logged: AtomicBool,
    /// When the last wait for `auth.json.lock` timed out: callers that were already waiting for
    /// the gate then share that wait instead of each waiting `lock_wait` in turn.
    lock_timed_out_at: Mutex<Option<std::time::Instant>>,
}

impl AuthManager {
    /// Builds a manager: opens the store, loads the credentials and the failure record. Bad
    /// credentials never fail construction (they are logged and treated as absent).
    pub fn new(opts: ManagerOptions) -> Result<AuthManager, ManagerError> {
        let store = match &opts.store {
            Some(store) => Arc::clone(store),
            None => open_configured(&opts.config, &opts.codex_home)
                .map_err(|e| ManagerError::Store(e.to_string()))?,
        };
        let persistent = store.kind() != "ephemeral";
        if persistent {
            crate::atomic_write::remove_stale_temps(
                &opts.codex_home,
                &[
                    crate::store::file::AUTH_FILE,
                    crate::failure_record::FAILURE_RECORD_FILE,
                ],
                crate::atomic_write::STALE_TEMP_AGE,
            );
        }
        let endpoint = TokenEndpoint::new(
            opts.refresh_url
                .clone()
                .unwrap_or_else(|| DEFAULT_REFRESH_URL.to_owned()),
            opts.originator.clone(),
            opts.connect_timeout,
            opts.request_timeout,
        )
        .map_err(|e| ManagerError::Endpoint(e.to_string()))?
        .with_client_id(opts.client_id.clone())
        .with_http(opts.http.clone());
        let env_key = opts
            .codex_api_key
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| {
                Arc::new(Snapshot::new(
                    StoredAuth::api_key(Secret::new(k)),
                    Origin::EnvKey,
                ))
            });
        let (changes, _) = watch::channel(ChangeEvent {
            fingerprint: None,
            mode: None,
            account_changed: false,
        });
        let manager = AuthManager {
            inner: Arc::new(Inner {
                coord: persistent.then(|| {
                    store.coordinator().unwrap_or_else(|| {
                        Arc::new(FileCoordinator::new(&opts.codex_home, opts.lock.clone()))
                    })
                }),
                opts,
                store,
                endpoint,
                env_key,
                state: Mutex::new(State::default()),
                reload: Mutex::new(()),
                gate: tokio::sync::Mutex::new(()),
                recover_gate: tokio::sync::Mutex::new(()),
                changes,
                lock_degraded_logged: AtomicBool::new(false),
                lock_timed_out_at: Mutex::new(None),
            }),
        };
        manager.initial_load();
        Ok(manager)
    }

    /// A receiver of [`ChangeEvent`]s, one per change of the snapshot in effect.
    pub fn subscribe(&self) -> watch::Receiver<ChangeEvent> {
        self.inner.changes.subscribe()
    }

    /// Whether the configured provider needs OpenAI auth at all.
    pub fn requires_openai_auth(&self) -> bool {
        self.inner.opts.config.requires_openai_auth
    }

    /// The configuration the manager was built with.
    pub fn config(&self) -> &Config {
        &self.inner.opts.config
    }

    /// The manager's options.
    pub fn options(&self) -> &ManagerOptions {
        &self.inner.opts
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock()
    }

    fn now(&self) -> DateTime<Utc> {
        self.inner.opts.clock.now()
    }

    /// The snapshot in effect right now (no polling).
    fn current(&self) -> Option<Arc<Snapshot>> {
        self.state().current(self.inner.env_key.as_ref()).cloned()
    }

    fn current_fingerprint(&self, state: &State) -> Option<Fingerprint> {
        state
            .current(self.inner.env_key.as_ref())
            .map(|s| s.fingerprint())
    }

    /// Publishes a change event after the snapshot in effect changed from `previous`.
    fn notify(&self, previous: Option<&Arc<Snapshot>>) {
        let current = self.current();
        let account_changed = previous.and_then(|p| p.account_id().map(str::to_owned))
            != current
                .as_ref()
                .and_then(|c| c.account_id().map(str::to_owned))
            || previous.and_then(|p| p.mode()) != current.as_ref().and_then(|c| c.mode());
        self.inner.changes.send_replace(ChangeEvent {
            fingerprint: current.as_ref().map(|c| c.fingerprint()),
            mode: current.as_ref().and_then(|c| c.mode()),
            account_changed,
        });
    }
}

impl fmt::Debug for AuthManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("AuthManager")
            .field("store", &self.inner.store.kind())
            .field("current", &state.current(self.inner.env_key.as_ref()))
            .field("permanent_failure", &state.permanent)
            .finish()
    }
}

#[cfg(test)]
mod tests;
