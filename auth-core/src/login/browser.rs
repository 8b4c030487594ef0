//! The browser login (AUTH.md §8.2): start the callback server, hand out the authorize URL, and
//! drive the server until the login ends.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinSet;

use super::authorize::authorize_url;
use super::callback_server::{BindPlan, Callback, CallbackParts, bind, register, unregister};
use super::exchange::login_http;
use super::handle::{LoginControl, LoginHandle, LoginKind};
use super::pkce::{Pkce, generate_state};
use super::serve::serve_connection;
use super::{LoginError, LoginOptions, Persist};

/// How long responses in flight (an error page, "Login cancelled") may take to finish after the
/// login ended. The port is already free by then.
const RESPONSE_GRACE: Duration = Duration::from_secs(2);

/// Starts a browser login: binds the callback server (AUTH.md §8.2 port rules) and returns the
/// handle and the authorize URL, which the caller opens. The login then runs in its own task
/// until the callback completes, `/cancel` is requested, the handle cancels it, or
/// `opts.login_timeout` passes.
pub async fn start_browser_login(
    opts: &LoginOptions,
    persist: Persist,
) -> Result<(LoginHandle, String), LoginError> {
    start_with_plan(opts, persist, &BindPlan::for_port(opts.callback_port)).await
}

pub(crate) async fn start_with_plan(
    opts: &LoginOptions,
    persist: Persist,
    plan: &BindPlan,
) -> Result<(LoginHandle, String), LoginError> {
    let client = login_http(opts).map_err(LoginError::Server)?;
    let listener = bind(plan).await?;
    let port = listener
        .local_addr()
        .map_err(|e| LoginError::Server(e.to_string()))?
        .port();
    // 127.0.0.1, where we listen, as Codex 0.171 does: `localhost` may resolve to ::1, which
    // another user could hold.
    let redirect_uri = format!("http://127.0.0.1:{port}/auth/callback");
    let pkce = Pkce::generate();
    let state = generate_state();
    let url = authorize_url(
        opts.issuer(),
        &opts.client_id,
        &redirect_uri,
        &pkce.challenge,
        &state,
        &opts.originator,
        &opts.allowed_workspaces,
    );
    let callback = Arc::new(Callback::new(CallbackParts {
        issuer: opts.issuer().to_owned(),
        client_id: opts.client_id.clone(),
        redirect_uri,
        state,
        verifier: pkce.verifier,
        config: opts.config.clone(),
        client,
        persist,
        success_page: opts.success_page,
    }));
    let (handle, control) = LoginHandle::new(LoginKind::Browser);
    tracing::info!(target: "auth_core", login_id = %handle.login_id(), port, "browser login started");
    register(port, &callback);
    let limits = Limits {
        header_timeout: opts.header_timeout,
        max_connections: MAX_CONNECTIONS,
    };
    let timeout = opts.login_timeout;
    tokio::spawn(async move {
        drive(listener, Arc::clone(&callback), control, timeout, limits).await;
        unregister(port, &callback);
    });
    Ok((handle, url))
}

/// The most connections the callback server serves at once; more are closed at accept (a
/// browser opens a handful; slowloris, issue 12 item 16).
const MAX_CONNECTIONS: usize = 32;
/// The longest one connection may live (the exchange inside is bounded by the HTTP timeout and
/// runs in its own task, so dropping the connection loses nothing).
const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);

/// How the callback server defends itself.
#[derive(Debug, Clone, Copy)]
struct Limits {
    header_timeout: Duration,
    max_connections: usize,
}

/// Serves the callback server until the login is decided, frees the port, then publishes the
/// outcome and lets in-flight responses finish.
async fn drive(
    listener: TcpListener,
    callback: Arc<Callback>,
    mut control: LoginControl,
    timeout: Duration,
    limits: Limits,
) {
    let mut decided = callback.outcome.subscribe();
    let mut connections = JoinSet::new();
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            biased;
            _ = async { decided.wait_for(Option::is_some).await.is_ok() } => break,
            _ = control.cancelled() => {
                callback.end(LoginError::NotCompleted).await;
                break;
            }
            _ = &mut deadline => {
                callback.end(LoginError::TimedOut).await;
                break;
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) if connections.len() >= limits.max_connections => {
                    tracing::debug!(target: "auth_core", "login callback server full; connection closed");
                    drop(stream);
                }
                Ok((stream, _)) => {
                    let cb = Arc::clone(&callback);
                    let served = serve_connection(stream, limits.header_timeout, move |req| {
                        Arc::clone(&cb).handle(req)
                    });
                    connections.spawn(async move {
                        let _ = tokio::time::timeout(CONNECTION_LIFETIME, served).await;
                    });
                }
                Err(err) => {
                    tracing::warn!(target: "auth_core", cause = %err, "login callback accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let outcome = callback
        .outcome
        .borrow()
        .clone()
        .unwrap_or(Err(LoginError::NotCompleted));
    control.finish(outcome);
    let drain = async { while connections.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(RESPONSE_GRACE, drain).await;
}
