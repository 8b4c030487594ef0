//! The browser login (AUTH.md §8.2): start the callback server, hand out the authorize URL, and
//! drive the server until the login ends.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinSet;

use super::authorize::authorize_url;
use super::callback_server::{BindPlan, Callback, bind};
use super::exchange::http_client;
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
    let client = http_client(opts.issuer(), opts.http_timeout).map_err(LoginError::Server)?;
    let listener = bind(plan).await?;
    let port = listener
        .local_addr()
        .map_err(|e| LoginError::Server(e.to_string()))?
        .port();
    let redirect_uri = format!("http://localhost:{port}/auth/callback");
    let pkce = Pkce::generate();
    let state = generate_state();
    let url = authorize_url(
        opts.issuer(),
        &redirect_uri,
        &pkce.challenge,
        &state,
        &opts.originator,
        &opts.allowed_workspaces,
    );
    let callback = Arc::new(Callback::new(
        opts.issuer().to_owned(),
        redirect_uri,
        state,
        pkce.verifier,
        opts.config.clone(),
        client,
        persist,
    ));
    let (handle, control) = LoginHandle::new(LoginKind::Browser);
    tracing::info!(target: "auth_core", login_id = %handle.login_id(), port, "browser login started");
    tokio::spawn(drive(listener, callback, control, opts.login_timeout));
    Ok((handle, url))
}

/// Serves the callback server until the login is decided, frees the port, then publishes the
/// outcome and lets in-flight responses finish.
async fn drive(
    listener: TcpListener,
    callback: Arc<Callback>,
    mut control: LoginControl,
    timeout: Duration,
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
                Ok((stream, _)) => {
                    let cb = Arc::clone(&callback);
                    connections.spawn(serve_connection(stream, move |req| {
                        Arc::clone(&cb).handle(req)
                    }));
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
