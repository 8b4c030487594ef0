//! Browser (PKCE) and device-code sign-in (AUTH.md §8.2, §8.3).
//!
//! A flow runs in its own task and ends exactly once; the caller holds a [`LoginHandle`] to wait
//! for it or cancel it. A flow never writes credentials itself: it hands the new [`StoredAuth`] to
//! the caller's [`Persist`] callback (the manager saves under its lock), and reports
//! "Sign-in completed but credentials could not be saved locally." if that fails. Opening a
//! browser, showing the user code and deciding which login is active are the caller's business.
//!
//! Layout: `pkce` and `authorize` build the authorize request, `exchange` talks to the token
//! endpoint, `callback_server` binds and routes the loopback server, `browser` and `device` run
//! the two flows, `serve` is the small hyper seam, `handle` the caller's side of a login.

mod authorize;
mod browser;
mod callback_server;
mod device;
mod error;
mod exchange;
mod handle;
mod pkce;
pub(crate) mod serve;
mod success_page;

use std::sync::Arc;
use std::time::Duration;

#[cfg(test)]
pub use authorize::authorize_url;
pub use browser::start_browser_login;
pub use callback_server::DEFAULT_CALLBACK_PORT;
pub use device::{DeviceCode, start_device_login};
pub use error::LoginError;
pub use exchange::CodeTokens;
#[cfg(test)]
pub use exchange::{exchange_code, http_client};
#[cfg(test)]
pub use handle::LoginSuccess;
pub use handle::{LoginHandle, LoginKind, LoginOutcome};
#[cfg(test)]
pub use pkce::Pkce;
#[cfg(any(test, feature = "fake-issuer"))]
pub use pkce::s256_challenge;
pub use success_page::{AppBrand, HOSTED_SUCCESS_URL, SuccessPage};

use crate::auth_json::{IdToken, StoredAuth, TokenData};
use crate::config::Config;
use crate::http::SharedHttpClient;
use crate::secret::Secret;

/// The issuer used when none is configured.
pub const DEFAULT_ISSUER: &str = "https://auth.openai.com";

/// Saves the credentials of a completed login; `Err` holds the storage error's text.
pub type Persist = Arc<
    dyn Fn(StoredAuth) -> futures::future::BoxFuture<'static, Result<(), String>> + Send + Sync,
>;

/// Settings of one login.
#[derive(Debug, Clone)]
pub struct LoginOptions {
    /// The OAuth issuer base URL (default [`DEFAULT_ISSUER`]).
    pub issuer: String,
    /// The `originator` sent in the authorize URL (e.g. `codex_cli_rs`).
    pub originator: String,
    /// The callback port (default 1455, which alone falls back to 1457); 0 picks a free port.
    pub callback_port: u16,
    /// The workspace restriction sent as `allowed_workspace_id` (from the config).
    pub allowed_workspaces: Vec<String>,
    /// The configuration whose workspace restriction the id_token is checked against.
    pub config: Config,
    /// How long a browser login waits for its callback (default 10 minutes).
    pub login_timeout: Duration,
    /// How long a device-code login polls (default 15 minutes).
    pub device_timeout: Duration,
    /// The timeout of each HTTP call (default 30 seconds).
    pub http_timeout: Duration,
    /// The OAuth client id (`CODEX_APP_SERVER_LOGIN_CLIENT_ID` overrides the Codex CLI's).
    pub client_id: String,
    /// Where the browser goes after a completed sign-in.
    pub success_page: SuccessPage,
    /// How long the callback server waits for a request's headers (slowloris, item 16).
    pub header_timeout: Duration,
    /// The HTTP client of the login's issuer calls; `None`: reqwest with `http_timeout`.
    pub http: Option<SharedHttpClient>,
}

impl Default for LoginOptions {
    fn default() -> Self {
        LoginOptions {
            issuer: DEFAULT_ISSUER.to_owned(),
            originator: crate::token_endpoint::DEFAULT_ORIGINATOR.to_owned(),
            callback_port: DEFAULT_CALLBACK_PORT,
            allowed_workspaces: Vec::new(),
            config: Config::default(),
            login_timeout: Duration::from_secs(10 * 60),
            device_timeout: Duration::from_secs(15 * 60),
            http_timeout: Duration::from_secs(30),
            client_id: crate::token_endpoint::CLIENT_ID.to_owned(),
            success_page: SuccessPage::Local,
            header_timeout: Duration::from_secs(10),
            http: None,
        }
    }
}

impl LoginOptions {
    /// The issuer without a trailing `/`.
    fn issuer(&self) -> &str {
        self.issuer.trim_end_matches('/')
    }
}

/// The `tokens` of a fresh login, once the id_token passed the workspace check; `account_id` is
/// the id_token's `chatgpt_account_id`.
fn checked_tokens(tokens: CodeTokens, config: &Config) -> Result<TokenData, LoginError> {
    let id_token = IdToken::Jwt(tokens.id_token);
    let workspace = id_token.claims().workspace_id;
    crate::restrictions::check_login_workspace(config, workspace.as_deref())
        .map_err(LoginError::Restricted)?;
    Ok(TokenData::new(
        id_token,
        tokens.access_token,
        tokens.refresh_token,
        workspace,
    ))
}

/// The document a login saves.
fn login_document(tokens: TokenData, api_key: Option<Secret>) -> StoredAuth {
    StoredAuth::chatgpt(tokens, api_key, chrono::Utc::now())
}

#[cfg(test)]
mod tests;
