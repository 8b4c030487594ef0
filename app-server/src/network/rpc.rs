//! The jsonrpsee method table: every client request method of the stdio server, routed to the
//! same transport-neutral pipeline ([`dispatch::execute`]: parse → validate → gate → handler),
//! plus `account/subscribe` / `account/unsubscribe` for server notifications (PROTOCOL.md §7).
//!
//! No method logic lives here: a callback only finds its [`Peer`], waits for its turn (barriers),
//! runs the pipeline and hands the answer to jsonrpsee. Like stdio, a connection counts as
//! initialized before its next request is read, and a request's notifications are broadcast only
//! after its response went out.

use std::sync::Arc;

use jsonrpsee::core::SubscriptionError;
use jsonrpsee::server::{
    Extensions, PendingSubscriptionSink, RegisterMethodError, ResponsePayload, RpcModule,
    SubscriptionCloseResponse, SubscriptionMessage,
};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use protocol::methods::{
    ACCOUNT_SUBSCRIBE, ACCOUNT_SUBSCRIPTION, ACCOUNT_UNSUBSCRIBE, CLIENT_REQUEST_METHODS,
    INITIALIZED,
};
use protocol::{JSONRPCErrorError, RequestId, ServerNotification};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::peer::Peer;
use crate::dispatch;
use crate::error::RpcError;

/// Every method the network transport serves.
pub(super) fn module() -> Result<RpcModule<()>, RegisterMethodError> {
    let mut module = RpcModule::new(());
    for method in CLIENT_REQUEST_METHODS {
        module.register_async_method(method, move |params, _, extensions| {
            call(method, params, extensions)
        })?;
    }
    // §7 "Handshake": `initialized` may come as a request too; it is only logged.
    module.register_method(INITIALIZED, |_, _, _| {
        dispatch::handle_notification(INITIALIZED);
        Value::Null
    })?;
    module.register_subscription(
        ACCOUNT_SUBSCRIBE,
        ACCOUNT_SUBSCRIPTION,
        ACCOUNT_UNSUBSCRIBE,
        |params, pending, _, extensions| subscribe(params, pending, extensions),
    )?;
    Ok(module)
}

/// The peer a call belongs to (put into the request's extensions by the HTTP layer).
fn peer_of(extensions: &Extensions) -> Option<Arc<Peer>> {
    let peer = extensions.get::<Arc<Peer>>().cloned();
    if peer.is_none() {
        tracing::error!("call without a peer");
    }
    peer
}

fn to_error(err: RpcError) -> ErrorObjectOwned {
    // Every code of §2 fits an i32.
    let code = i32::try_from(err.code).unwrap_or(jsonrpsee::types::error::INTERNAL_ERROR_CODE);
    ErrorObjectOwned::owned(code, err.message, err.data)
}

/// Runs one request of `method` through the shared pipeline and returns its answer.
///
/// The work runs in its own task, so a client that disconnects mid-request cannot cut it short:
/// its effects and notifications still happen, as on stdio.
async fn call(
    method: &'static str,
    params: Params<'static>,
    extensions: Extensions,
) -> ResponsePayload<'static, Value> {
    let Some(peer) = peer_of(&extensions) else {
        return ResponsePayload::error(to_error(RpcError::internal()));
    };
    let params = match params.as_str() {
        None => Value::Null,
        Some(raw) => match serde_json::from_str(raw) {
            Ok(params) => params,
            Err(err) => return ResponsePayload::error(to_error(RpcError::invalid_params(err))),
        },
    };
    let (answer, answered) = oneshot::channel();
    let span = tracing::info_span!("request", method, connection = ?peer.connection().id());
    tokio::spawn(
        async move {
            let _turn = peer.order(method).await;
            let connection = peer.connection();
            // The id inside the decoded request is not used by any handler; jsonrpsee echoes
            // the client's id itself.
            let id = RequestId::Integer(0);
            let (result, mut after) =
                dispatch::execute(connection, id, method.to_string(), params).await;
            // Initialized before the client can see the answer (and send its next request).
            after.initialize_now(connection);
            let payload = match result {
                Ok(value) => ResponsePayload::success(value),
                Err(err) => ResponsePayload::error(to_error(err)),
            };
            let (payload, written) = payload.notify_on_completion();
            if answer.send(payload).is_err() {
                tracing::debug!("caller gone; answer not written");
            }
            // Resolves once jsonrpsee queued the answer for the client, or at once when the
            // answer was dropped (HTTP, batches, closed connection); notifications follow it.
            let _written = written.await;
            after.apply(connection).await;
        }
        .instrument(span),
    );
    answered
        .await
        .unwrap_or_else(|_| ResponsePayload::error(to_error(RpcError::internal())))
}

/// `account/subscribe`: no params; needs `initialize` first; then every broadcast that reaches
/// this connection is pushed as an `account/subscription` message until the client unsubscribes
/// or disconnects. A subscriber that falls [`super::peer::SUBSCRIPTION_BUFFER`] notifications
/// behind is dropped with one last push carrying a `-32001` error.
async fn subscribe(
    params: Params<'static>,
    pending: PendingSubscriptionSink,
    extensions: Extensions,
) -> SubscriptionCloseResponse {
    let Some(peer) = peer_of(&extensions) else {
        pending.reject(to_error(RpcError::internal())).await;
        return SubscriptionCloseResponse::None;
    };
    let no_params = match params.as_str().map(serde_json::from_str::<Value>) {
        None | Some(Ok(Value::Null)) => true,
        Some(Ok(Value::Object(map))) => map.is_empty(),
        Some(Ok(Value::Array(items))) => items.is_empty(),
        Some(_) => false,
    };
    if !no_params {
        let err = RpcError::invalid_params("account/subscribe takes no params");
        pending.reject(to_error(err)).await;
        return SubscriptionCloseResponse::None;
    }
    if peer.connection().session().is_none() {
        pending.reject(to_error(RpcError::not_initialized())).await;
        return SubscriptionCloseResponse::None;
    }
    // Subscribed before the answer goes out, so no later broadcast is missed.
    let queue = peer.subscribe();
    drop(peer);
    let Ok(sink) = pending.accept().await else {
        return SubscriptionCloseResponse::None;
    };
    tracing::info!(subscription = ?sink.subscription_id(), "subscribed");
    pump(queue, &sink).await
}

/// Writes the subscription's queued notifications until it ends.
async fn pump(
    mut queue: mpsc::Receiver<ServerNotification>,
    sink: &jsonrpsee::server::SubscriptionSink,
) -> SubscriptionCloseResponse {
    loop {
        let notification = tokio::select! {
            () = sink.closed() => return SubscriptionCloseResponse::None,
            next = queue.recv() => next,
        };
        let Some(notification) = notification else {
            // The fan-out dropped this subscription: it fell too far behind.
            return dropped();
        };
        let message = match serde_json::value::to_raw_value(&notification) {
            Ok(json) => SubscriptionMessage::from(json),
            Err(err) => {
                tracing::error!(cause = %err, "notification does not serialize");
                continue;
            }
        };
        if sink.send(message).await.is_err() {
            return SubscriptionCloseResponse::None;
        }
    }
}

/// The last push of a subscriber that could not keep up.
fn dropped() -> SubscriptionCloseResponse {
    let error = JSONRPCErrorError {
        code: protocol::SERVER_OVERLOADED,
        message: "Server overloaded; retry later.".to_string(),
        data: None,
    };
    match serde_json::value::to_raw_value(&error) {
        Ok(json) => SubscriptionCloseResponse::NotifErr(SubscriptionError::from_json(json)),
        Err(_) => SubscriptionCloseResponse::None,
    }
}
