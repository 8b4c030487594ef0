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

pub mod atomic_write;
pub mod auth_json;
pub mod backoff;
pub mod claims;
pub mod classify;
pub mod clock;
pub mod config;
pub mod coordination;
pub mod error;
pub mod failure_record;
#[cfg(any(test, feature = "fake-issuer"))]
pub mod fake_issuer;
pub mod fingerprint;
pub mod http;
mod http_body;
pub mod lock;
pub mod login;
pub mod manager;
pub mod redis;
pub mod restrictions;
pub mod revoke;
pub mod safe_file;
pub mod secret;
pub mod snapshot;
pub mod store;
#[cfg(test)]
mod test_log;
pub mod token_endpoint;

pub use auth_json::AuthMode;
pub use manager::{AuthManager, AuthView, ManagerOptions};
