//! Method names → typed params → handlers (PROTOCOL.md §2 check order: envelope → method lookup
//! → params → handshake gate → handler). Knows method names, never bytes.

use std::sync::{Arc, Mutex};

use protocol::methods::*;
use protocol::{ClientRequest, RequestId, ServerNotification};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::OwnedSemaphorePermit;
use tracing::Instrument;

use crate::connection::{Connection, Session};
use crate::error::RpcError;
use crate::handlers;
use crate::log_text::{LogId, LogText};
use crate::state::ServerState;
use crate::transport::Outgoing;

/// Whether later requests of the connection must wait until this one was answered (§1).
pub(crate) fn is_barrier(method: &str) -> bool {
    matches!(
        method,
        INITIALIZE
            | LOGIN_API_KEY
            | LOGIN_CHAT_GPT
            | CANCEL_LOGIN_CHAT_GPT
            | LOGOUT_CHAT_GPT
            | ACCOUNT_LOGIN_START
            | ACCOUNT_LOGIN_CANCEL
            | ACCOUNT_LOGOUT
    )
}

/// Client notifications are never answered; only `initialized` is logged above debug.
pub(crate) fn handle_notification(method: &str) {
    if method == INITIALIZED {
        tracing::info!("client sent initialized");
    } else {
        tracing::debug!(method = %LogText(method), "client notification ignored");
    }
}

/// What a handler asked to happen after its response was queued, in order.
enum Deferred {
    Notify(ServerNotification),
    Initialize(Session, Vec<String>),
    /// Fired once the response and the notifications queued before it are out.
    Signal(tokio::sync::oneshot::Sender<()>),
}

/// What a handler sees: its connection, the shared state, and a queue of notifications to send
/// after its response (PROTOCOL.md §4.14: the response first, then the notifications).
pub struct RequestCtx {
    connection: Arc<Connection>,
    deferred: Mutex<Vec<Deferred>>,
}

impl RequestCtx {
    /// The shared server state.
    pub fn state(&self) -> &ServerState {
        self.connection.state()
    }

    /// The connection that sent the request.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Broadcasts `notification` right after this request's response is written.
    pub fn notify_after_response(&self, notification: ServerNotification) {
        self.push(Deferred::Notify(notification));
    }

    /// Fires `sender` once this request's response and the notifications queued so far are
    /// out, so background work never reports ahead of the request that started it.
    pub(crate) fn signal_after_response(&self, sender: tokio::sync::oneshot::Sender<()>) {
        self.push(Deferred::Signal(sender));
    }

    /// Marks the connection initialized right after the `initialize` response is written.
    pub(crate) fn initialize_after_response(&self, session: Session, opt_out: Vec<String>) {
        self.push(Deferred::Initialize(session, opt_out));
    }

    fn push(&self, action: Deferred) {
        self.deferred
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(action);
    }

    fn take_deferred(&self) -> Vec<Deferred> {
        std::mem::take(
            &mut *self
                .deferred
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

/// Runs one request in its own span and task, queues its answer, then its deferred actions.
pub(crate) async fn handle_request(
    connection: Arc<Connection>,
    id: RequestId,
    method: String,
    params: Value,
    permit: OwnedSemaphorePermit,
) {
    let span = tracing::info_span!("request", method = %LogText(&method), id = %LogId(&id));
    async move {
        let (result, after) = execute(&connection, id.clone(), method, params).await;
        connection.send(Outgoing::reply(id, result)).await;
        after.apply(&connection).await;
        drop(permit);
    }
    .instrument(span)
    .await
}

/// What a request asked to happen once its response is out: mark the connection initialized,
/// broadcast notifications, in the order the handler asked for them.
#[must_use = "the deferred actions of a request must be applied after its response"]
pub(crate) struct AfterResponse(Vec<Deferred>);

impl AfterResponse {
    /// Applies every action in order (stdio: right after the response was queued).
    pub(crate) async fn apply(self, connection: &Connection) {
        for action in self.0 {
            match action {
                Deferred::Notify(notification) => {
                    connection.state().hub().broadcast(notification).await
                }
                Deferred::Initialize(session, opt_out) => {
                    connection.complete_initialize(session, opt_out)
                }
                Deferred::Signal(sender) => {
                    let _ = sender.send(());
                }
            }
        }
    }
}

/// The transport-neutral pipeline of one request: parse → validate → gate → handle, with a
/// handler panic turned into `-32603`. Returns the answer and what must follow it; the caller
/// writes the answer, then applies the [`AfterResponse`].
pub(crate) async fn execute(
    connection: &Arc<Connection>,
    id: RequestId,
    method: String,
    params: Value,
) -> (Result<Value, RpcError>, AfterResponse) {
    let ctx = Arc::new(RequestCtx {
        connection: Arc::clone(connection),
        deferred: Mutex::default(),
    });
    let result = catch_panic(run(Arc::clone(&ctx), id, method, params)).await;
    match &result {
        Ok(_) => tracing::debug!("answered"),
        Err(err) => {
            tracing::debug!(code = err.code, message = %LogText(&err.message), "answered with error")
        }
    }
    (result, AfterResponse(ctx.take_deferred()))
}

/// Runs `future` in place so a panic becomes `-32603 Internal error`. No task of its own: a
/// spawn per request cost a second task and a cross-thread wake-up on the polling path.
async fn catch_panic<F>(future: F) -> Result<Value, RpcError>
where
    F: Future<Output = Result<Value, RpcError>> + Send + 'static,
{
    CatchPanic(Box::pin(future)).await
}

/// Polls the handler future, catching a panic in any poll (it is then never polled again).
struct CatchPanic<F>(std::pin::Pin<Box<F>>);

impl<F: Future<Output = Result<Value, RpcError>>> Future for CatchPanic<F> {
    type Output = Result<Value, RpcError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let future = self.0.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| future.poll(cx))) {
            Ok(poll) => poll,
            Err(_) => {
                tracing::error!("handler panicked");
                std::task::Poll::Ready(Err(RpcError::internal()))
            }
        }
    }
}

async fn run(
    ctx: Arc<RequestCtx>,
    id: RequestId,
    method: String,
    params: Value,
) -> Result<Value, RpcError> {
    let request = parse(&method, id, params)?;
    validate(&request)?;
    gate(ctx.connection(), &request)?;
    handle(&ctx, request).await
}

/// Method lookup and params decoding. Missing or `null` params are `{}`; params must be an object.
fn parse(method: &str, id: RequestId, params: Value) -> Result<ClientRequest, RpcError> {
    let params = match params {
        Value::Null => Value::Object(Default::default()),
        Value::Object(map) => Value::Object(map),
        other => {
            // Look the method up first: an unknown method is -32601 whatever its params.
            if !CLIENT_REQUEST_METHODS.contains(&method) {
                return Err(RpcError::method_not_found(method));
            }
            return Err(RpcError::invalid_params(format!(
                "invalid type: {}, expected an object",
                describe(&other)
            )));
        }
    };
    Ok(match method {
        INITIALIZE => ClientRequest::Initialize {
            id,
            params: decode(params)?,
        },
        GET_AUTH_STATUS => ClientRequest::GetAuthStatus {
            id,
            params: decode(params)?,
        },
        LOGIN_API_KEY => ClientRequest::LoginApiKey {
            id,
            params: decode(params)?,
        },
        LOGIN_CHAT_GPT => ClientRequest::LoginChatGpt { id },
        CANCEL_LOGIN_CHAT_GPT => ClientRequest::CancelLoginChatGpt {
            id,
            params: decode(params)?,
        },
        LOGOUT_CHAT_GPT => ClientRequest::LogoutChatGpt { id },
        USER_INFO => ClientRequest::UserInfo { id },
        GET_USER_AGENT => ClientRequest::GetUserAgent { id },
        ACCOUNT_READ => ClientRequest::GetAccount {
            id,
            params: decode(params)?,
        },
        ACCOUNT_LOGIN_START => ClientRequest::LoginAccount {
            id,
            params: decode(params)?,
        },
        ACCOUNT_LOGIN_CANCEL => ClientRequest::CancelLoginAccount {
            id,
            params: decode(params)?,
        },
        ACCOUNT_LOGOUT => ClientRequest::LogoutAccount { id },
        ACCOUNT_REPORT_UNAUTHORIZED => ClientRequest::ReportUnauthorized {
            id,
            params: decode(params)?,
        },
        _ => return Err(RpcError::method_not_found(method)),
    })
}

fn decode<T: DeserializeOwned>(params: Value) -> Result<T, RpcError> {
    serde_json::from_value(params).map_err(RpcError::invalid_params)
}

/// serde's wording for the JSON kind of a non-object params value.
fn describe(value: &Value) -> String {
    match value {
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Number(n) if n.is_f64() => format!("floating point `{n}`"),
        Value::Number(n) => format!("integer `{n}`"),
        Value::String(s) => format!("string {s:?}"),
        Value::Array(_) => "sequence".to_string(),
        Value::Null | Value::Object(_) => "map".to_string(),
    }
}

/// Validation that serde cannot express; still `-32602`, still before the handshake gate.
fn validate(request: &ClientRequest) -> Result<(), RpcError> {
    use protocol::LoginAccountParams;
    let api_key = match request {
        ClientRequest::LoginApiKey { params, .. } => Some(&params.api_key),
        ClientRequest::LoginAccount {
            params: LoginAccountParams::ApiKey { api_key },
            ..
        } => Some(api_key),
        _ => None,
    };
    if api_key.is_some_and(|key| key.trim().is_empty()) {
        return Err(RpcError::invalid_params("apiKey must not be empty"));
    }
    match request {
        ClientRequest::LoginAccount {
            params: LoginAccountParams::ChatgptAuthTokens { access_token, .. },
            ..
        } if !auth_core::claims::is_jwt(access_token) => {
            Err(RpcError::invalid_params("accessToken is not a JWT"))
        }
        _ => Ok(()),
    }
}

/// The per-connection handshake gate (§3).
fn gate(connection: &Connection, request: &ClientRequest) -> Result<(), RpcError> {
    let initialized = connection.session().is_some();
    match (request, initialized) {
        (ClientRequest::Initialize { .. }, true) => Err(RpcError::already_initialized()),
        (ClientRequest::Initialize { .. }, false) => Ok(()),
        (_, false) => Err(RpcError::not_initialized()),
        (_, true) => Ok(()),
    }
}

/// Routes a decoded, gated request to its handler.
async fn handle(ctx: &RequestCtx, request: ClientRequest) -> Result<Value, RpcError> {
    match request {
        ClientRequest::Initialize { params, .. } => {
            reply(handlers::handshake::initialize(ctx, params).await)
        }
        ClientRequest::GetUserAgent { .. } => reply(handlers::handshake::get_user_agent(ctx).await),
        ClientRequest::GetAuthStatus { params, .. } => {
            reply(handlers::status::get_auth_status(ctx, params).await)
        }
        ClientRequest::GetAccount { params, .. } => {
            reply(handlers::status::read_account(ctx, params).await)
        }
        ClientRequest::UserInfo { .. } => reply(handlers::status::user_info(ctx).await),
        ClientRequest::ReportUnauthorized { params, .. } => {
            reply(handlers::status::report_unauthorized(ctx, params).await)
        }
        ClientRequest::LoginApiKey { params, .. } => {
            reply(handlers::account::login_api_key(ctx, params).await)
        }
        ClientRequest::LogoutChatGpt { .. } => reply(handlers::account::logout_v1(ctx).await),
        ClientRequest::LogoutAccount { .. } => reply(handlers::account::logout_v2(ctx).await),
        ClientRequest::LoginChatGpt { .. } => reply(handlers::login::login_chatgpt_v1(ctx).await),
        ClientRequest::CancelLoginChatGpt { params, .. } => {
            reply(handlers::login::cancel_v1(ctx, params).await)
        }
        ClientRequest::CancelLoginAccount { params, .. } => {
            reply(handlers::login::cancel_v2(ctx, params).await)
        }
        ClientRequest::LoginAccount { params, .. } => reply(start_login(ctx, params).await),
    }
}

/// The success page a v2 browser login asked for (Codex 0.171's `useHostedLoginSuccessPage` and
/// `appBrand`).
fn success_page(
    hosted: Option<bool>,
    brand: Option<protocol::LoginAppBrand>,
) -> auth_core::login::SuccessPage {
    use auth_core::login::{AppBrand, SuccessPage};
    match (hosted, brand) {
        (Some(true), Some(protocol::LoginAppBrand::Chatgpt)) => {
            SuccessPage::Hosted(AppBrand::Chatgpt)
        }
        (Some(true), _) => SuccessPage::Hosted(AppBrand::Codex),
        _ => SuccessPage::Local,
    }
}

/// `account/login/start`, by `type`.
async fn start_login(
    ctx: &RequestCtx,
    params: protocol::LoginAccountParams,
) -> Result<protocol::LoginAccountResponse, RpcError> {
    use protocol::LoginAccountParams as P;
    match params {
        P::ApiKey { api_key } => handlers::account::start_api_key(ctx, &api_key).await,
        P::Chatgpt {
            use_hosted_login_success_page,
            app_brand,
            ..
        } => {
            let page = success_page(use_hosted_login_success_page, app_brand);
            handlers::login::start_browser_v2(ctx, page).await
        }
        P::ChatgptDeviceCode => handlers::login::start_device_v2(ctx).await,
        P::ChatgptAuthTokens {
            access_token,
            chatgpt_account_id,
            chatgpt_plan_type,
        } => {
            handlers::account::start_external_tokens(
                ctx,
                access_token.into_inner(),
                chatgpt_account_id,
                chatgpt_plan_type,
            )
            .await
        }
    }
}

fn reply<T: Serialize>(result: Result<T, RpcError>) -> Result<Value, RpcError> {
    serde_json::to_value(result?).map_err(|err| {
        tracing::error!(cause = %err, "result does not serialize");
        RpcError::internal()
    })
}

#[cfg(test)]
#[path = "dispatch_tests.rs"]
mod tests;
