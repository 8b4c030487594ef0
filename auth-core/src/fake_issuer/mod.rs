//! An offline OAuth issuer speaking the endpoints `auth-core` uses, for tests and the app-server's
//! demo (cargo feature `fake-issuer`). It binds loopback only, auto-approves every sign-in, rotates
//! refresh tokens strictly (each one works once), counts requests per endpoint and can be scripted
//! to answer refreshes with failures. It never logs a token.
//!
//! Routes: `GET /oauth/authorize`, `POST /oauth/token` (`authorization_code` and token-exchange as
//! forms, `refresh_token` as JSON), `POST /oauth/revoke`, `POST /api/accounts/deviceauth/usercode`,
//! `POST /api/accounts/deviceauth/token`, `GET /codex/device`.

mod ledger;
mod routes;
mod tokens;

pub use tokens::unsigned_jwt;

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::auth_json::{IdToken, StoredAuth, TokenData};
use crate::login::serve::serve_connection;
use crate::secret::Secret;

/// A route of the fake issuer, for [`FakeIssuer::count`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `GET /oauth/authorize`.
    Authorize,
    /// `POST /oauth/token` with `grant_type=authorization_code`.
    AuthorizationCode,
    /// `POST /oauth/token` with `grant_type=refresh_token`.
    Refresh,
    /// `POST /oauth/token` with the token-exchange grant (API key).
    TokenExchange,
    /// `POST /oauth/revoke`.
    Revoke,
    /// `POST /api/accounts/deviceauth/usercode`.
    UserCode,
    /// `POST /api/accounts/deviceauth/token`.
    DeviceToken,
}

/// A canned answer to the next refresh request, bypassing rotation.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptedResponse {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: serde_json::Value,
    /// How long to wait before answering (tokio time).
    pub delay: Option<Duration>,
    /// A `Retry-After` header, in seconds.
    pub retry_after: Option<u64>,
}

impl ScriptedResponse {
    /// An immediate answer with `status` and `body`.
    pub fn new(status: u16, body: serde_json::Value) -> ScriptedResponse {
        ScriptedResponse {
            status,
            body,
            delay: None,
            retry_after: None,
        }
    }

    /// The same answer, sent after `delay`.
    pub fn with_delay(mut self, delay: Duration) -> ScriptedResponse {
        self.delay = Some(delay);
        self
    }

    /// The same answer with `Retry-After: <secs>`.
    pub fn with_retry_after(mut self, secs: u64) -> ScriptedResponse {
        self.retry_after = Some(secs);
        self
    }
}

/// Who signs in and how the issuer behaves; changed through [`FakeIssuer`]'s setters.
#[derive(Debug, Clone)]
struct Settings {
    email: String,
    plan: String,
    account_id: Option<String>,
    user_id: String,
    access_lifetime: TimeDelta,
    device_enabled: bool,
    device_interval: Option<String>,
    device_pending_polls: usize,
}

/// An authorization code waiting to be exchanged.
struct IssuedCode {
    redirect_uri: String,
    challenge: String,
}

/// Mutable issuer state, behind one mutex (never held across an await).
struct State {
    settings: Settings,
    codes: HashMap<String, IssuedCode>,
    refresh: ledger::Ledger,
    /// device_auth_id → (user_code, polls so far).
    devices: HashMap<String, (String, usize)>,
    scripted: VecDeque<ScriptedResponse>,
    counts: HashMap<Endpoint, usize>,
}

struct Shared {
    url: String,
    state: Mutex<State>,
}

/// A running fake issuer; stops when dropped.
pub struct FakeIssuer {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl FakeIssuer {
    /// Starts an issuer on `127.0.0.1` with a free port.
    pub async fn start() -> io::Result<FakeIssuer> {
        FakeIssuer::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// Starts an issuer on `127.0.0.1` with a free port whose refresh tokens are recorded in
    /// `ledger` (a JSON file), so every issuer started on the same file accepts, once, the
    /// refresh tokens any of them issued: the demo's sign-in survives between processes.
    pub async fn start_with_ledger(ledger: PathBuf) -> io::Result<FakeIssuer> {
        let issuer = FakeIssuer::start().await?;
        issuer.shared.state.lock().refresh = ledger::Ledger::in_file(ledger);
        Ok(issuer)
    }

    /// Starts an issuer on `addr` (for a fixed demo port). Loopback addresses only.
    pub async fn bind(addr: SocketAddr) -> io::Result<FakeIssuer> {
        if !addr.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the fake issuer binds loopback addresses only",
            ));
        }
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let shared = Arc::new(Shared {
            url: format!("http://{local}"),
            state: Mutex::new(State {
                settings: Settings {
                    email: "user@example.com".to_owned(),
                    plan: "pro".to_owned(),
                    account_id: Some("ws-demo".to_owned()),
                    user_id: "user-demo".to_owned(),
                    access_lifetime: TimeDelta::hours(1),
                    device_enabled: true,
                    device_interval: Some("0".to_owned()),
                    device_pending_polls: 1,
                },
                codes: HashMap::new(),
                refresh: ledger::Ledger::default(),
                devices: HashMap::new(),
                scripted: VecDeque::new(),
                counts: HashMap::new(),
            }),
        });
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(FakeIssuer { shared, task })
    }

    /// The issuer base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.shared.url.clone()
    }

    /// `<url>/oauth/token`.
    pub fn token_url(&self) -> String {
        format!("{}/oauth/token", self.shared.url)
    }

    /// `<url>/oauth/revoke`.
    pub fn revoke_url(&self) -> String {
        format!("{}/oauth/revoke", self.shared.url)
    }

    /// How many requests reached `endpoint`.
    pub fn count(&self, endpoint: Endpoint) -> usize {
        let state = self.shared.state.lock();
        state.counts.get(&endpoint).copied().unwrap_or(0)
    }

    /// Queues answers for the next refresh requests, in order.
    pub fn script_refresh(&self, responses: Vec<ScriptedResponse>) {
        self.shared.state.lock().scripted.extend(responses);
    }

    /// The lifetime of issued access tokens (`exp` = now + lifetime; negative gives stale tokens).
    pub fn set_access_token_lifetime(&self, lifetime: TimeDelta) {
        self.settings(|s| s.access_lifetime = lifetime);
    }

    /// The `chatgpt_plan_type` claim of issued tokens (default `pro`).
    pub fn set_plan(&self, plan: &str) {
        self.settings(|s| s.plan = plan.to_owned());
    }

    /// The `chatgpt_account_id` claim (default `ws-demo`); `None` omits it.
    pub fn set_account_id(&self, account_id: Option<&str>) {
        self.settings(|s| s.account_id = account_id.map(str::to_owned));
    }

    /// Whether device-code login exists (default true; false answers `usercode` with 404).
    pub fn set_device_code_enabled(&self, enabled: bool) {
        self.settings(|s| s.device_enabled = enabled);
    }

    /// The `interval` string of the user-code answer (default `"0"`); `None` omits it.
    pub fn set_device_interval(&self, interval: Option<&str>) {
        self.settings(|s| s.device_interval = interval.map(str::to_owned));
    }

    /// How many device-token polls answer 403 (pending) before approval (default 1).
    pub fn set_device_pending_polls(&self, polls: usize) {
        self.settings(|s| s.device_pending_polls = polls);
    }

    /// Issues a refresh token the issuer will accept once.
    pub fn issue_refresh_token(&self) -> String {
        let token = tokens::refresh_token();
        self.shared.state.lock().refresh.issue(&token);
        token
    }

    /// Fresh valid ChatGPT credentials, as `auth.json` would hold them after a login.
    pub fn stored_auth(&self) -> StoredAuth {
        let refresh = self.issue_refresh_token();
        let settings = self.shared.state.lock().settings.clone();
        let data = TokenData::new(
            IdToken::Jwt(Secret::new(tokens::id_token(&self.shared.url, &settings))),
            Secret::new(tokens::access_token(&self.shared.url, &settings)),
            Secret::new(refresh),
            settings.account_id.clone(),
        );
        StoredAuth::chatgpt(data, None, Utc::now())
    }

    /// [`FakeIssuer::stored_auth`] as an `auth.json` document.
    pub fn auth_json(&self) -> String {
        String::from_utf8_lossy(&self.stored_auth().to_file_json()).into_owned()
    }

    fn settings(&self, change: impl FnOnce(&mut Settings)) {
        change(&mut self.shared.state.lock().settings);
    }
}

impl Drop for FakeIssuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for FakeIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeIssuer")
            .field("url", &self.shared.url)
            .finish_non_exhaustive()
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let shared = Arc::clone(&shared);
                    connections.spawn(serve_connection(stream, std::time::Duration::from_secs(10), move |req| {
                        routes::handle(Arc::clone(&shared), req)
                    }));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

#[cfg(test)]
mod tests;
