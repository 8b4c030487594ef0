//! `auth-core`: Codex-compatible OpenAI credentials, their storage, and a refresh manager that
//! cannot storm the token endpoint.
//!
//! What it does: reads and writes `$CODEX_HOME/auth.json` (and the keyring / ephemeral stores),
//! decodes JWT claims without verifying them, refreshes ChatGPT tokens single-flight in the process
//! and under a lock file across processes, and remembers permanent refresh failures keyed to the
//! exact credential snapshot that failed.
//!
//! What it does not do: it knows nothing of JSON-RPC (no request ids, no error codes, no wire
//! types), never writes to stdout, and never puts a secret in a log line, an error or `Debug`.
#![warn(missing_docs)]

mod atomic_write;
mod auth_json;
mod backoff;
mod claims;
mod classify;
mod clock;
mod config;
mod coordination;
mod error;
mod failure_record;
#[cfg(any(test, feature = "fake-issuer"))]
pub mod fake_issuer;
mod fingerprint;
pub mod http;
mod http_body;
mod lock;
mod login;
mod manager;
mod redis;
mod restrictions;
mod revoke;
mod safe_file;
mod secret;
mod snapshot;
mod store;
#[cfg(test)]
mod test_browser;
#[cfg(test)]
mod test_log;
mod token_endpoint;

// The manager: what a server drives (AUTH.md §7-§9).
pub use manager::{
    AuthManager, AuthView, ExternalAuthHost, ExternalTokens, LoginStartError, ManagerOptions,
    RecoverOutcome, RefreshFailureView, RefreshOutcome, StatusRefresh, Trigger,
};
// Credentials, their claims and the errors about them.
pub use auth_json::{AuthMode, StoredAuth, parse as parse_auth_json};
pub use claims::{PlanType, is_jwt};
pub use classify::FailureReason;
pub use error::{AuthError, RefreshError, TransientError};
pub use secret::Secret;
pub use token_endpoint::DEFAULT_ORIGINATOR;
// Configuration (`config.toml`, flags, managed requirements; AUTH.md §2).
pub use config::{
    Config, ConfigError, ConfigOverride, ForcedLoginMethod, Overrides, RedisConfig,
    SYSTEM_REQUIREMENTS_PATH, StoreMode, apply_requirements, load_requirements,
    load_with as load_config, parse as parse_config, resolve_codex_home,
};
// Logins (AUTH.md §8).
pub use login::{
    AppBrand, HOSTED_SUCCESS_URL, LoginError, LoginHandle, LoginKind, LoginOutcome, SuccessPage,
};
// Stores, for the tests and benchmarks that exercise one directly (AUTH.md §3).
pub use atomic_write::write_atomic;
/// A real `redis-server` per test (test support, with `fake_issuer`).
#[cfg(any(test, feature = "fake-issuer"))]
pub use redis::test_server::RedisServer;
pub use redis::{RedisStore, open as open_redis};
#[cfg(feature = "keyring")]
pub use store::keyring::SystemKeyring;
pub use store::keyring::{KEYRING_SERVICE, KeyringStore, keyring_account};
pub use store::secrets_file::{
    CLI_AUTH_SECRET, SECRETS_KEY_SERVICE, SecretsFile, SecretsFileStore, secrets_key_account,
};
pub use store::watch::input_arrived;
pub use store::{CredentialStore, Stamp};
