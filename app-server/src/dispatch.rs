//! The method table: one `on(handler)` line per client request method of `protocol::requests`
//! (the compiler checks there is exactly one), and the pipeline every request of every
//! transport goes through (PROTOCOL.md §2 check order: envelope → method lookup → params →
//! handshake gate → handler), then its answer and the effects its handler asked for. Knows
//! method names, never bytes.

use std::any::TypeId;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};

use protocol::RequestId;
use protocol::methods::INITIALIZED;
use protocol::requests::{self, ClientRequestHandlers, Method, Registry};
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::sync::OwnedSemaphorePermit;
use tracing::Instrument;

use crate::client::Connection;
use crate::error::RpcError;
use crate::handlers::{account, handshake, login, login_start, status};
use crate::log_text::{LogId, LogText};
use crate::reply::{Encoded, Reply, run_effects};
use crate::transport::{Outgoing, Params};

/// Every client request method and its handler: a struct literal, so the compiler refuses a
/// method of `protocol::requests` without a handler (or with two), and each handler's params
/// and result types must be its method's.
fn table() -> Table {
    let mut table = Table::default();
    ClientRequestHandlers::<Table> {
        initialize: on(handshake::initialize),
        get_auth_status: on(status::get_auth_status),
        login_api_key: on_checked(account::check_login_api_key, account::login_api_key),
        login_chat_gpt: on(login::login_chatgpt_v1),
        cancel_login_chat_gpt: on(login::cancel_v1),
        logout_chat_gpt: on(account::logout_v1),
        user_info: on(status::user_info),
        get_user_agent: on(handshake::get_user_agent),
        account_read: on(status::read_account),
        account_login_start: on_checked(login_start::check, login_start::start),
        account_login_cancel: on(login::cancel_v2),
        account_logout: on(account::logout_v2),
        account_report_unauthorized: on(status::report_unauthorized),
    }
    .register_all(&mut table);
    table
}

/// The table, built once.
static ROUTES: LazyLock<Table> = LazyLock::new(table);

/// The route of `method`, if it is a client request method.
pub(crate) fn route(method: &str) -> Option<&'static Route> {
    ROUTES.routes.iter().find(|route| route.name == method)
}

/// Client notifications are never answered; only `initialized` is logged above debug.
pub(crate) fn handle_notification(method: &str) {
    if method == INITIALIZED {
        tracing::info!("client sent initialized");
    } else {
        tracing::debug!(method = %LogText(method), "client notification ignored");
    }
}

/// A request's future, from its raw params to its serialized answer and effects.
type Call = futures::future::BoxFuture<'static, Reply<Box<RawValue>>>;

/// One method of the table.
pub(crate) struct Route {
    name: &'static str,
    barrier: bool,
    call: Box<dyn Fn(Arc<Connection>, Params) -> Call + Send + Sync>,
}

impl Route {
    /// Whether later requests of the connection must wait until this one was answered (§1).
    pub(crate) fn is_barrier(&self) -> bool {
        self.barrier
    }
}

/// The routes, in registration order.
#[derive(Default)]
struct Table {
    routes: Vec<Route>,
}

impl Registry for Table {
    type Handler<M: Method> = Typed<M>;

    fn register<M: Method>(&mut self, handler: Typed<M>) {
        self.routes.push(handler.route);
    }
}

/// The route of method `M` (the type says which method it was built for).
struct Typed<M> {
    route: Route,
    method: PhantomData<fn() -> M>,
}

/// The route of `handler` for method `M`.
fn on<M: Method>(handler: impl Handler<M>) -> Typed<M> {
    on_checked(|_| Ok(()), handler)
}

/// The route of `handler` for method `M`, with `check` for what serde cannot express about its
/// params (still `-32602`, still before the handshake gate).
fn on_checked<M: Method>(
    check: fn(&M::Params) -> Result<(), RpcError>,
    handler: impl Handler<M>,
) -> Typed<M> {
    let call = move |connection: Arc<Connection>, params: Params| -> Call {
        Box::pin(async move {
            let params = match accept::<M>(&connection, &params, check) {
                Ok(params) => params,
                Err(err) => return Reply::from(Err(err)),
            };
            let Reply { result, after } = handler.handle(connection, params).await;
            Reply::new(result.and_then(IntoResult::into_raw), after)
        })
    };
    Typed {
        route: Route {
            name: M::NAME,
            barrier: M::BARRIER,
            call: Box::new(call),
        },
        method: PhantomData,
    }
}

/// A handler of method `M`: an async fn of the connection and the typed params, answering
/// `M`'s result, or that result already written as JSON ([`Encoded`]).
trait Handler<M: Method>: Copy + Send + Sync + 'static {
    type Output: IntoResult<M::Result>;
    type Future: Future<Output = Reply<Self::Output>> + Send + 'static;
    fn handle(self, connection: Arc<Connection>, params: M::Params) -> Self::Future;
}

impl<M, H, F, R> Handler<M> for H
where
    M: Method,
    H: Fn(Arc<Connection>, M::Params) -> F + Copy + Send + Sync + 'static,
    F: Future<Output = Reply<R>> + Send + 'static,
    R: IntoResult<M::Result>,
{
    type Output = R;
    type Future = F;
    fn handle(self, connection: Arc<Connection>, params: M::Params) -> F {
        self(connection, params)
    }
}

/// What a handler of a method with result `T` may answer: a `T`, or a `T` already written.
trait IntoResult<T> {
    /// The result as JSON text.
    fn into_raw(self) -> Result<Box<RawValue>, RpcError>;
}

impl<T: serde::Serialize> IntoResult<T> for T {
    fn into_raw(self) -> Result<Box<RawValue>, RpcError> {
        Encoded::new(&self).map(Encoded::into_json)
    }
}

impl<T> IntoResult<T> for Encoded<T> {
    fn into_raw(self) -> Result<Box<RawValue>, RpcError> {
        Ok(self.into_json())
    }
}

/// Runs one request in its own span: its route's pipeline (a panic becomes `-32603`, an unknown
/// method `-32601`), then queues the answer, then runs the handler's effects.
pub(crate) async fn handle_request(
    connection: Arc<Connection>,
    id: RequestId,
    method: String,
    route: Option<&'static Route>,
    params: Params,
    permit: OwnedSemaphorePermit,
) {
    let span = tracing::info_span!("request", method = %LogText(&method), id = %LogId(&id));
    async move {
        let Reply { result, after } = match route {
            Some(route) => CatchPanic((route.call)(Arc::clone(&connection), params)).await,
            None => Reply::from(Err(RpcError::method_not_found(&method))),
        };
        match &result {
            Ok(_) => tracing::debug!("answered"),
            Err(err) => {
                tracing::debug!(code = err.code, message = %LogText(&err.message), "answered with error")
            }
        }
        connection.send(Outgoing::reply(id, result)).await;
        run_effects(&connection, after).await;
        drop(permit);
    }
    .instrument(span)
    .await
}

/// Params decoding, the method's own checks, then the per-connection handshake gate (§3).
fn accept<M: Method>(
    connection: &Connection,
    params: &Params,
    check: fn(&M::Params) -> Result<(), RpcError>,
) -> Result<M::Params, RpcError> {
    let params = decode::<M::Params>(params)?;
    check(&params)?;
    let initialize = TypeId::of::<M>() == TypeId::of::<requests::Initialize>();
    match (initialize, connection.session().is_some()) {
        (true, true) => Err(RpcError::already_initialized()),
        (false, false) => Err(RpcError::not_initialized()),
        _ => Ok(params),
    }
}

/// Decodes params: missing or `null` params are `{}`; params must be an object. An object is
/// read straight from its text; whatever that refuses is decided through a `Value`, as before
/// the text path existed, so the errors (and a duplicate member, last one wins) stay the same.
fn decode<P: DeserializeOwned>(params: &Params) -> Result<P, RpcError> {
    let text = params.text().unwrap_or("{}");
    if text.starts_with('{')
        && let Ok(params) = serde_json::from_str(text)
    {
        return Ok(params);
    }
    let value = serde_json::from_str(text).map_err(RpcError::invalid_params)?;
    decode_value(value)
}

fn decode_value<P: DeserializeOwned>(params: Value) -> Result<P, RpcError> {
    let params = match params {
        Value::Null => Value::Object(Default::default()),
        Value::Object(map) => Value::Object(map),
        other => {
            return Err(RpcError::invalid_params(format!(
                "invalid type: {}, expected an object",
                describe(&other)
            )));
        }
    };
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

/// Polls a request's future in place, catching a panic in any poll (it is then never polled
/// again) as `-32603 Internal error`. No task of its own: a spawn per request cost a second task
/// and a cross-thread wake-up on the polling path.
struct CatchPanic<F>(F);

impl<F: Future<Output = Reply<Box<RawValue>>> + Unpin> Future for CatchPanic<F> {
    type Output = Reply<Box<RawValue>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = &mut self.0;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Pin::new(future).poll(cx))) {
            Ok(poll) => poll,
            Err(_) => {
                tracing::error!("handler panicked");
                Poll::Ready(Reply::from(Err(RpcError::internal())))
            }
        }
    }
}

#[cfg(test)]
#[path = "dispatch_tests.rs"]
mod tests;
