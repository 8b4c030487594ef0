//! `AuthManager`: the cached credential snapshot, single-flight refresh, the remembered permanent
//! failure and 401 recovery (AUTH.md §7), plus logins and logout (§8, §9).
//!
//! Layout: `state.rs` holds the one mutable `State`, its named transitions and the clearing rule;
//! `store_io.rs` runs store I/O off the runtime's thread; `poll.rs` notices changes in the store
//! and the failure record; `refresh.rs` is the refresh algorithm, `outcome.rs` records what a
//! token request ended with, `saveable.rs` the checks before a refresh commits to a request;
//! `recover.rs` the 401 recovery; `account.rs` logins, external tokens and logout, `login.rs` the
//! browser and device-code entry points; `view.rs` what status calls return, `detached.rs` the
//! refreshes they start but need not wait for; `options.rs` what a manager is built from. The
//! locks and their order: `Inner`, below.

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
mod store_io;
mod view;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use chrono::{DateTime, Utc};
use parking_lot::{Mutex, MutexGuard};

pub use account::ExternalTokens;
pub use login::LoginStartError;
pub use options::ManagerOptions;
pub use recover::{ExternalAuthHost, RecoverOutcome};
pub use refresh::{RefreshOutcome, Trigger};
pub use view::{AuthView, RefreshFailureView, StatusRefresh};

use crate::auth_json::StoredAuth;
use crate::config::Config;
use crate::coordination::{Coordinator, FileCoordinator};
use crate::secret::Secret;
use crate::snapshot::{Origin, Snapshot};
use crate::store::CredentialStore;
use crate::store::open::open_configured;
use crate::token_endpoint::{DEFAULT_REFRESH_URL, TokenEndpoint};
use state::State;

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

/// The lock order, outermost first. A task takes a lock only while holding none listed below it:
///
/// 1. `recover_gate` (tokio): one 401 recovery at a time (`recover.rs`).
/// 2. `gate` (tokio): the refresh gate, every refresh-path and credential-changing operation.
/// 3. The credential lock: `auth.json.lock`, or the store's lease (Redis), taken by
///    `lock_credentials` and held across the token request.
/// 4. `store_io` (tokio): serializes store reads and writes, and a refresh's write of the
///    failure record (`store_io.rs`). Held while the I/O runs on the blocking pool, so an older
///    read never replaces a newer adoption and a poll never re-installs what a save replaces. The status path's poll only `try_lock`s it and
///    serves the cache while it is busy: a poll never waits on locks 1 to 4 (a status call that
///    waits for a refresh waits for its task, bounded: `detached.rs`).
/// 5. `state` and `lock_timed_out_at` (parking_lot): leaves, held for a few field operations,
///    never across `.await` or I/O, never together.
struct Inner {
    opts: ManagerOptions,
    store: Arc<dyn CredentialStore>,
    /// The refresh lease and the shared failure record: the store's own (Redis), else the
    /// lock file and record in `CODEX_HOME`; `None` for a store that does not persist.
    coord: Option<Arc<dyn Coordinator>>,
    endpoint: TokenEndpoint,
    recover_gate: tokio::sync::Mutex<()>,
    gate: tokio::sync::Mutex<()>,
    store_io: Arc<tokio::sync::Mutex<()>>,
    state: Mutex<State>,
    /// When the last wait for `auth.json.lock` timed out: callers that were already waiting for
    /// the gate then share that wait instead of each waiting `lock_wait` in turn.
    lock_timed_out_at: Mutex<Option<std::time::Instant>>,
    lock_degraded_logged: AtomicBool,
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
        let persistent = store.persists();
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
                recover_gate: tokio::sync::Mutex::new(()),
                gate: tokio::sync::Mutex::new(()),
                store_io: Arc::new(tokio::sync::Mutex::new(())),
                state: Mutex::new(State::new(env_key)),
                lock_timed_out_at: Mutex::new(None),
                lock_degraded_logged: AtomicBool::new(false),
            }),
        };
        manager.initial_load();
        Ok(manager)
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
        self.state().current().cloned()
    }
}

impl fmt::Debug for AuthManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("AuthManager")
            .field("store", &self.inner.store.kind())
            .field("current", &state.current())
            .field(
                "permanent_failure",
                &state
                    .current_fingerprint()
                    .and_then(|fp| state.failure_of(fp)),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests;
