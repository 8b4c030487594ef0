//! The loopback callback server of the browser login (AUTH.md §8.2): binding with the cancel
//! request and retries, and the four routes. Bound to 127.0.0.1 only.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use super::exchange::{exchange_api_key, exchange_code};
use super::handle::{LoginOutcome, LoginSuccess};
use super::serve::{Request, Response, html_escape};
use super::success_page::{SuccessPage, hosted_redirect};
use super::{LoginError, Persist, checked_tokens, login_document};
use crate::config::Config;
use crate::secret::Secret;
use subtle::ConstantTimeEq;

/// The callback port registered with the authorization server.
pub const DEFAULT_CALLBACK_PORT: u16 = 1455;
/// The second registered port, tried when [`DEFAULT_CALLBACK_PORT`] stays busy.
pub const FALLBACK_CALLBACK_PORT: u16 = 1457;

/// How to find a port: each port in turn gets one `/cancel` request and `retries` more attempts.
#[derive(Debug, Clone)]
pub(crate) struct BindPlan {
    pub ports: Vec<u16>,
    pub retries: u32,
    pub retry_delay: Duration,
    pub cancel_timeout: Duration,
}

impl BindPlan {
    /// The §8.2 plan: the port, and for the default port only the fallback.
    pub fn for_port(port: u16) -> BindPlan {
        let ports = if port == DEFAULT_CALLBACK_PORT {
            vec![DEFAULT_CALLBACK_PORT, FALLBACK_CALLBACK_PORT]
        } else {
            vec![port]
        };
        BindPlan {
            ports,
            retries: 10,
            retry_delay: Duration::from_millis(200),
            cancel_timeout: Duration::from_secs(2),
        }
    }
}

/// Binds 127.0.0.1 following `plan`. A busy port gets one `GET /cancel` (to stop an earlier login
/// of ours), then the retries; when every port stays busy, "Port 127.0.0.1:<last> is already in use".
pub(crate) async fn bind(plan: &BindPlan) -> Result<TcpListener, LoginError> {
    let mut last = 0;
    for &port in &plan.ports {
        last = port;
        match try_bind(port).await? {
            Some(listener) => return Ok(listener),
            // Our own earlier login in this process is cancelled directly; anything else gets
            // a bare `/cancel` (it stops a Codex login server; ours need the state, item 17).
            None => {
                if !cancel_local(port) {
                    send_cancel(port, plan.cancel_timeout).await;
                }
            }
        }
        for _ in 0..plan.retries {
            tokio::time::sleep(plan.retry_delay).await;
            if let Some(listener) = try_bind(port).await? {
                return Ok(listener);
            }
        }
        tracing::warn!(target: "auth_core", port, "login callback port stays busy");
    }
    Err(LoginError::PortInUse(last))
}

/// `Ok(None)` when the port is in use.
async fn try_bind(port: u16) -> Result<Option<TcpListener>, LoginError> {
    match TcpListener::bind(("127.0.0.1", port)).await {
        Ok(listener) => Ok(Some(listener)),
        Err(err) if err.kind() == io::ErrorKind::AddrInUse => Ok(None),
        Err(err) => Err(LoginError::Server(err.to_string())),
    }
}

/// Asks whatever holds the port to stop, best effort.
async fn send_cancel(port: u16, timeout: Duration) {
    let client = reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(timeout)
        .read_timeout(timeout)
        .timeout(timeout * 2)
        .build();
    let sent = match client {
        Ok(client) => client
            .get(format!("http://127.0.0.1:{port}/cancel"))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .map_err(|e| e.without_url().to_string()),
        Err(e) => Err(e.without_url().to_string()),
    };
    tracing::info!(target: "auth_core", port, result = ?sent, "sent /cancel to the busy callback port");
}

/// The callback servers of this process by port, so a new login can end our earlier one on the
/// same port without the bare `/cancel` that item 17 takes away from strangers.
static ACTIVE: LazyLock<parking_lot::Mutex<HashMap<u16, std::sync::Weak<Callback>>>> =
    LazyLock::new(|| parking_lot::Mutex::new(HashMap::new()));

/// Registers `callback` as the login served on `port`.
pub(crate) fn register(port: u16, callback: &Arc<Callback>) {
    ACTIVE.lock().insert(port, Arc::downgrade(callback));
}

/// Forgets `callback` on `port` (if it is still the registered one).
pub(crate) fn unregister(port: u16, callback: &Arc<Callback>) {
    let mut active = ACTIVE.lock();
    if active
        .get(&port)
        .is_some_and(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(callback)))
    {
        active.remove(&port);
    }
}

/// Ends our own login on `port` as `/cancel` would; false if none runs in this process.
fn cancel_local(port: u16) -> bool {
    let callback = ACTIVE.lock().get(&port).and_then(std::sync::Weak::upgrade);
    match callback {
        Some(callback) => {
            callback.decide(Err(LoginError::Cancelled));
            true
        }
        None => false,
    }
}

/// What the routes share with the login's driver.
pub(crate) struct Callback {
    pub issuer: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Secret,
    pub verifier: Secret,
    pub config: Config,
    pub client: crate::http::SharedHttpClient,
    pub persist: Persist,
    pub success_page: SuccessPage,
    /// The decided outcome; the first decision wins.
    pub outcome: watch::Sender<Option<LoginOutcome>>,
    /// The onboarding entrypoint of the callback whose credentials were saved.
    onboarding: parking_lot::Mutex<Option<String>>,
    saved: AtomicBool,
    /// Set by the first callback that carries a code; later ones (a reload, a prefetch) wait.
    claimed: AtomicBool,
    /// Held across "not decided yet? then save", so a cancel never overtakes a save half-way.
    save_gate: tokio::sync::Mutex<()>,
}

impl Callback {
    /// The shared state of a new login.
    pub fn new(parts: CallbackParts) -> Callback {
        let CallbackParts {
            issuer,
            client_id,
            redirect_uri,
            state,
            verifier,
            config,
            client,
            persist,
            success_page,
        } = parts;
        Callback {
            issuer,
            client_id,
            redirect_uri,
            state,
            verifier,
            config,
            client,
            persist,
            success_page,
            outcome: watch::channel(None).0,
            onboarding: parking_lot::Mutex::new(None),
            saved: AtomicBool::new(false),
            claimed: AtomicBool::new(false),
            save_gate: tokio::sync::Mutex::new(()),
        }
    }

    fn decide(&self, result: Result<(), LoginError>) {
        let result = result.map(|()| LoginSuccess {
            onboarding_entrypoint: self.onboarding.lock().clone(),
        });
        self.outcome.send_if_modified(|slot| {
            if slot.is_some() {
                return false;
            }
            *slot = Some(result);
            true
        });
    }

    fn is_decided(&self) -> bool {
        self.outcome.borrow().is_some()
    }

    /// Ends the login with `err` (cancel, timeout) unless its credentials were saved already, in
    /// which case it succeeded. Waits for a save in progress.
    pub async fn end(&self, err: LoginError) {
        let _gate = self.save_gate.lock().await;
        let saved = self.saved.load(Ordering::SeqCst);
        self.decide(if saved { Ok(()) } else { Err(err) });
    }

    /// Routes one request.
    pub async fn handle(self: Arc<Self>, req: Request) -> Response {
        if req.method != hyper::Method::GET {
            return not_found();
        }
        match req.path.as_str() {
            "/auth/callback" => self.callback(&req).await,
            "/success" if self.saved.load(Ordering::SeqCst) => {
                self.decide(Ok(()));
                Response::html(200, SUCCESS_PAGE).header("connection", "close")
            }
            // Only with the login's state: a cross-site request must not end it (item 17).
            "/cancel" => match self.check_state(&req) {
                Some(_) => {
                    self.decide(Err(LoginError::Cancelled));
                    Response::text(200, "Login cancelled")
                }
                None => Response::text(400, "State mismatch"),
            },
            _ => not_found(),
        }
    }

    /// The onboarding entrypoint (`Some(None)`: none) when the request carries the login's
    /// state, bare or with Codex's `.onboarding_entrypoint=<value>` suffix (constant time).
    fn check_state(&self, req: &Request) -> Option<Option<String>> {
        let params = req.query_params();
        let got = params.get("state")?;
        let expected = self.state.expose();
        if bool::from(got.as_bytes().ct_eq(expected.as_bytes())) {
            return Some(None);
        }
        let (base, suffix) = got.split_at_checked(expected.len())?;
        let entrypoint = suffix.strip_prefix(ONBOARDING_SUFFIX)?;
        (bool::from(base.as_bytes().ct_eq(expected.as_bytes()))
            && ONBOARDING_ENTRYPOINTS.contains(&entrypoint))
        .then(|| Some(entrypoint.to_owned()))
    }

    async fn callback(self: &Arc<Self>, req: &Request) -> Response {
        let params = req.query_params();
        let Some(entrypoint) = self.check_state(req) else {
            tracing::warn!(target: "auth_core", "login callback with a state mismatch");
            return Response::text(400, "State mismatch");
        };
        if self.saved.load(Ordering::SeqCst) {
            return Response::redirect("/success");
        }
        if let Some(error) = params.get("error") {
            let description = params.get("error_description").filter(|d| !d.is_empty());
            let err = if error == "access_denied"
                && description.is_some_and(|d| d.contains("missing_codex_entitlement"))
            {
                LoginError::MissingEntitlement
            } else {
                LoginError::SignInFailed(description.unwrap_or(error).clone())
            };
            return self.fail(err);
        }
        let Some(code) = params.get("code").filter(|c| !c.is_empty()) else {
            return self.fail(LoginError::MissingCode);
        };
        if self.claimed.swap(true, Ordering::SeqCst) {
            return self.await_first_callback().await;
        }
        // The completion runs in its own task: a browser that drops the connection during the
        // exchange no longer throws the tokens away nor leaves the callback claimed (item 2).
        let abandoned = Abandoned::arm(self);
        let this = Arc::clone(self);
        let code = Secret::new(code.as_str());
        let completion = tokio::spawn(async move {
            let result = this.complete(code, entrypoint).await;
            if result.is_err() {
                this.claimed.store(false, Ordering::SeqCst);
            }
            result
        });
        let result = match completion.await {
            Ok(result) => result,
            Err(_) => Err(LoginError::Server(
                "the sign-in task ended unexpectedly".into(),
            )),
        };
        abandoned.disarm();
        match result {
            Ok(Some(hosted)) => {
                // The hosted page is the end of the flow: no `/success` fetch follows.
                self.decide(Ok(()));
                Response::redirect(hosted)
            }
            Ok(None) => Response::redirect("/success"),
            Err(err @ LoginError::TokenExchange(_)) if self.is_transient(&err) => {
                // Nothing was spent for good: the user may sign in again with this login.
                tracing::warn!(target: "auth_core", error = %err, "login code exchange failed; the login keeps waiting");
                Response::html(
                    502,
                    error_page(&format!("{err}. Please try signing in again.")),
                )
            }
            Err(err) => self.fail(err),
        }
    }

    /// Transient exchange failures (transport, timeout, 5xx) let the login go on.
    fn is_transient(&self, err: &LoginError) -> bool {
        match err {
            LoginError::TokenExchange(detail) => {
                !detail.starts_with("token endpoint returned status 4")
            }
            _ => false,
        }
    }

    /// A repeated callback while the first is being completed: its code is spent already, so it
    /// must not decide the login; it shows the first one's outcome instead.
    async fn await_first_callback(&self) -> Response {
        for _ in 0..DUPLICATE_WAIT_STEPS {
            if self.saved.load(Ordering::SeqCst) {
                return Response::redirect("/success");
            }
            if self.is_decided() {
                break;
            }
            tokio::time::sleep(DUPLICATE_WAIT_STEP).await;
        }
        Response::text(
            409,
            "Sign-in is already being completed in another request.",
        )
    }

    /// Exchange, workspace check, API-key exchange, save. `Ok(Some(url))`: redirect to the
    /// hosted success page at `url`; `Ok(None)`: to our `/success`.
    async fn complete(
        &self,
        code: Secret,
        entrypoint: Option<String>,
    ) -> Result<Option<String>, LoginError> {
        let tokens = exchange_code(
            &self.client,
            &self.issuer,
            &self.client_id,
            &self.redirect_uri,
            &code,
            &self.verifier,
        )
        .await
        .map_err(|e| LoginError::TokenExchange(e.to_string()))?;
        let id_token = tokens.id_token.clone();
        let tokens = checked_tokens(tokens, &self.config)?;
        let api_key =
            exchange_api_key(&self.client, &self.issuer, &self.client_id, &id_token).await;
        let hosted = hosted_redirect(&self.success_page, id_token.expose());
        let document = login_document(tokens, api_key);
        let _gate = self.save_gate.lock().await;
        if self.is_decided() {
            return Err(LoginError::NotCompleted);
        }
        match (self.persist)(document).await {
            Ok(()) => {
                *self.onboarding.lock() = entrypoint;
                self.saved.store(true, Ordering::SeqCst);
                Ok(hosted)
            }
            Err(cause) => {
                tracing::error!(target: "auth_core", %cause, "could not save the login's credentials");
                Err(LoginError::SaveFailed(cause))
            }
        }
    }

    fn fail(&self, err: LoginError) -> Response {
        let page = error_page(&err.to_string());
        self.decide(Err(err));
        Response::html(400, page)
    }
}

/// The parts of a [`Callback`].
pub(crate) struct CallbackParts {
    pub issuer: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Secret,
    pub verifier: Secret,
    pub config: Config,
    pub client: crate::http::SharedHttpClient,
    pub persist: Persist,
    pub success_page: SuccessPage,
}

/// Codex's onboarding hint appended to the state by the authorization server.
const ONBOARDING_SUFFIX: &str = ".onboarding_entrypoint=";
/// The entrypoints Codex 0.171 accepts; any other suffix is a state mismatch, as in Codex.
const ONBOARDING_ENTRYPOINTS: [&str; 1] = ["life_sciences"];

/// Set while a callback's connection waits for its completion; if the connection is dropped
/// first (the browser went away), a completion that saved ends the login successfully, since
/// no `/success` fetch will come.
struct Abandoned {
    callback: Option<Arc<Callback>>,
}

impl Abandoned {
    fn arm(callback: &Arc<Callback>) -> Abandoned {
        Abandoned {
            callback: Some(Arc::clone(callback)),
        }
    }

    fn disarm(mut self) {
        self.callback = None;
    }
}

impl Drop for Abandoned {
    fn drop(&mut self) {
        let Some(callback) = self.callback.take() else {
            return;
        };
        // No runtime (it is shutting down): nothing can finish the login anyway.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        tracing::info!(target: "auth_core", "the browser left during the sign-in; finishing it anyway");
        runtime.spawn(async move {
            // Wait for the completion in flight (it holds the gate while saving), then decide.
            loop {
                if callback.saved.load(Ordering::SeqCst) {
                    callback.decide(Ok(()));
                    return;
                }
                if callback.is_decided() || !callback.claimed.load(Ordering::SeqCst) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
    }
}

fn not_found() -> Response {
    Response::text(404, "Not Found")
}

/// How long a repeated callback waits for the first one: 60 steps of 500 ms (30 s, the HTTP
/// timeout of the exchange).
const DUPLICATE_WAIT_STEPS: u32 = 60;
const DUPLICATE_WAIT_STEP: std::time::Duration = std::time::Duration::from_millis(500);
const SUCCESS_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Signed in</title>\
    </head><body><h1>Signed in to Codex</h1><p>You can close this window.</p></body></html>";

fn error_page(message: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign-in failed</title></head>\
         <body><h1>Sign-in failed</h1><p>{}</p></body></html>",
        html_escape(message)
    )
}
