//! What a manager is built from. Every edge (clock, jitter, HTTP, URLs, store, environment
//! values) is injected here, so tests never touch the real environment or network.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::backoff::{Jitter, RandomJitter};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::http::SharedHttpClient;
use crate::lock::CredentialLock;
use crate::store::CredentialStore;

/// Options of [`crate::manager::AuthManager::new`].
#[derive(Debug, Clone)]
pub struct ManagerOptions {
    /// The resolved `$CODEX_HOME`.
    pub codex_home: PathBuf,
    /// The parsed `config.toml` (and flag overrides).
    pub config: Config,
    /// A store to use instead of the one `config.store_mode` selects (tests inject mocks here).
    pub store: Option<Arc<dyn CredentialStore>>,
    /// A lock to use instead of `auth.json.lock` in the home (tests inject lock faults here).
    pub lock: Option<CredentialLock>,
    /// The HTTP client of every issuer call (refresh, revoke, logins) instead of reqwest with
    /// each call's timeouts (tests inject a closure here and count what it saw).
    pub http: Option<SharedHttpClient>,
    /// `CODEX_REFRESH_TOKEN_URL_OVERRIDE`; `None` means the default token URL.
    pub refresh_url: Option<String>,
    /// `CODEX_REVOKE_TOKEN_URL_OVERRIDE`.
    pub revoke_url: Option<String>,
    /// Sent as the `originator` header and user-agent prefix.
    pub originator: String,
    /// Wall clock for expiry, backoff and `last_refresh`.
    pub clock: Arc<dyn Clock>,
    /// Jitter of the transient backoff.
    pub jitter: Arc<dyn Jitter>,
    /// How long to wait for `auth.json.lock` before giving up with `LockTimeout`.
    pub lock_wait: Duration,
    /// Connect timeout of token requests.
    pub connect_timeout: Duration,
    /// Total timeout of one token request.
    pub request_timeout: Duration,
    /// How long a status call whose cached access token is still valid waits for a proactive
    /// refresh before answering with the cached token (the refresh goes on in the background).
    /// Default 0: such a poll answers at once, whatever the issuer does (issue 12 item 9).
    pub valid_proactive_wait: Duration,
    /// The same for a refresh the client asked for (`refreshToken: true`): it gets the new token
    /// if the issuer answers within this wait, else the still-valid cached one. Default 2 s.
    pub valid_requested_wait: Duration,
    /// Timeout of the best-effort revoke at logout.
    pub revoke_timeout: Duration,
    /// The OAuth issuer of browser and device-code logins (`CODEX_APP_SERVER_LOGIN_ISSUER`).
    pub issuer: String,
    /// The browser login's callback port (1455 falls back to 1457; 0 picks a free port).
    pub callback_port: u16,
    /// How long a browser login waits for its callback.
    pub login_timeout: Duration,
    /// How long a device-code login polls.
    pub device_timeout: Duration,
    /// The timeout of each HTTP call of a browser or device-code login (default 30 s).
    pub login_http_timeout: Duration,
    /// The OAuth client id of logins (`CODEX_APP_SERVER_LOGIN_CLIENT_ID`; default the Codex
    /// CLI's). Refreshes use it too: a refresh token is bound to the client it was issued to.
    pub client_id: String,
    /// The value of `CODEX_API_KEY` when the caller enables it (AUTH.md §1.4); the app-server
    /// leaves it `None`.
    pub codex_api_key: Option<String>,
}

impl ManagerOptions {
    /// Defaults for `codex_home`: file store, system clock, random jitter, spec timeouts.
    pub fn new(codex_home: PathBuf) -> ManagerOptions {
        ManagerOptions {
            codex_home,
            config: Config::default(),
            store: None,
            lock: None,
            http: None,
            refresh_url: None,
            revoke_url: None,
            originator: crate::token_endpoint::DEFAULT_ORIGINATOR.to_owned(),
            clock: Arc::new(SystemClock),
            jitter: Arc::new(RandomJitter),
            lock_wait: Duration::from_secs(10),
            connect_timeout: crate::token_endpoint::DEFAULT_CONNECT_TIMEOUT,
            request_timeout: crate::token_endpoint::DEFAULT_TOTAL_TIMEOUT,
            valid_proactive_wait: Duration::ZERO,
            valid_requested_wait: Duration::from_secs(2),
            revoke_timeout: Duration::from_secs(10),
            issuer: crate::login::DEFAULT_ISSUER.to_owned(),
            callback_port: crate::login::DEFAULT_CALLBACK_PORT,
            login_timeout: Duration::from_secs(10 * 60),
            device_timeout: Duration::from_secs(15 * 60),
            login_http_timeout: Duration::from_secs(30),
            client_id: crate::token_endpoint::CLIENT_ID.to_owned(),
            codex_api_key: None,
        }
    }
}
