//! What a handler returns: its result and the effects to run once its response is queued
//! (PROTOCOL.md §4.14: the response first, then its notifications, in the order the handler
//! listed them; a login reports its end only after the response that started it). The caller
//! (the dispatcher) queues the response, then runs [`Reply::after`] with [`run_effects`].

use std::marker::PhantomData;

use protocol::ServerNotification;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::client::{Connection, Session};
use crate::error::RpcError;
use crate::logins::Watch;

/// A handler's answer and what must follow it. The effects run whether the result is a success
/// or an error: a request that ended the active login and then failed still reports that
/// login's end after its error.
#[must_use = "a reply carries effects that must run after its response"]
pub(crate) struct Reply<T> {
    /// The result or error answered to the request.
    pub(crate) result: Result<T, RpcError>,
    /// Run in order once the response is queued.
    pub(crate) after: Vec<Effect>,
}

impl<T> Reply<T> {
    /// `result` followed by `after`.
    pub(crate) fn new(result: Result<T, RpcError>, after: Vec<Effect>) -> Self {
        Self { result, after }
    }

    /// A success with no effects.
    pub(crate) fn ok(result: T) -> Self {
        Self::new(Ok(result), Vec::new())
    }
}

impl<T> From<Result<T, RpcError>> for Reply<T> {
    /// A reply with no effects.
    fn from(result: Result<T, RpcError>) -> Self {
        Self::new(result, Vec::new())
    }
}

/// A result already written as JSON, by its own type `T` (so only a `T` can make one): what a
/// handler answers when it kept the text of an earlier, identical answer.
pub(crate) struct Encoded<T> {
    json: Box<RawValue>,
    of: PhantomData<fn() -> T>,
}

impl<T: Serialize> Encoded<T> {
    /// `result` as JSON text; `-32603` if it does not serialize (a bug, logged).
    pub(crate) fn new(result: &T) -> Result<Self, RpcError> {
        match serde_json::value::to_raw_value(result) {
            Ok(json) => Ok(Self {
                json,
                of: PhantomData,
            }),
            Err(err) => {
                tracing::error!(cause = %err, "result does not serialize");
                Err(RpcError::internal())
            }
        }
    }
}

impl<T> Encoded<T> {
    /// The JSON text, owned.
    pub(crate) fn into_json(self) -> Box<RawValue> {
        self.json
    }
}

impl<T> Clone for Encoded<T> {
    fn clone(&self) -> Self {
        Self {
            json: self.json.clone(),
            of: PhantomData,
        }
    }
}

/// One thing to do after a response was queued.
pub(crate) enum Effect {
    /// Broadcast a notification to every initialized connection.
    Notify(ServerNotification),
    /// Mark the connection initialized (`initialize`), with its opted-out notification methods.
    Initialize(Session, Vec<String>),
    /// Report a login's end whenever it comes, unless a cancel or another login reports it.
    WatchLogin(Watch),
}

/// Notifications as effects, in order.
pub(crate) fn notify_all(notifications: Vec<ServerNotification>) -> Vec<Effect> {
    notifications.into_iter().map(Effect::Notify).collect()
}

/// Runs `effects` in order, after the response of the request that produced them was queued on
/// `connection`.
pub(crate) async fn run_effects(connection: &Connection, effects: Vec<Effect>) {
    for effect in effects {
        match effect {
            Effect::Notify(notification) => connection.state().hub().broadcast(notification).await,
            Effect::Initialize(session, opt_out) => {
                connection.complete_initialize(session, opt_out)
            }
            Effect::WatchLogin(watch) => {
                let state = connection.state().clone();
                tokio::spawn(async move {
                    for notification in watch.ended(state.auth()).await {
                        state.hub().broadcast(notification).await;
                    }
                });
            }
        }
    }
}
