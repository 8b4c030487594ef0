//! The notification hub: every connection's outbox, who is initialized and what they opted out
//! of, and the server→client requests waiting for an answer.
//!
//! Transport-neutral: stdio registers one connection, a network transport may register many.
//! Notifications are broadcast to every initialized connection (PROTOCOL.md §4.14) minus its
//! `optOutNotificationMethods`; server requests get integer ids from one server-wide counter
//! starting at 0 and are resolved by the client's responses (§1 rule 5, §4.15).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use parking_lot::{Mutex, MutexGuard};
use protocol::methods::{
    ACCOUNT_LOGIN_COMPLETED, ACCOUNT_UPDATED, AUTH_STATUS_CHANGE, LOGIN_CHAT_GPT_COMPLETE,
};
use protocol::{RequestId, ServerNotification, ServerNotificationEnvelope, ServerRequest};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::transport::Outgoing;

/// Identifies one connection for the life of the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(u64);

/// What a connection's outbox does when its writer's queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Wait until the writer made room (stdio: the one client is the process's reason to live,
    /// and backpressure reaches it through the pipe).
    Wait,
    /// Disconnect the client (WebSocket and unix socket, as Codex does): a client that sends and
    /// never reads costs at most one full queue, never unbounded memory, and never slows the
    /// broadcast to the others.
    Disconnect,
}

/// Why a message was not queued for a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum OutboxClosed {
    /// The writer is gone (client gone, or disconnected).
    #[error("connection output closed")]
    Closed,
    /// The queue was full and the connection was disconnected for it.
    #[error("connection disconnected: its outbound queue was full")]
    Overflowed,
}

/// The sending side of a connection's writer task, with its overflow policy.
#[derive(Clone)]
pub(crate) struct Outbox {
    sender: mpsc::Sender<Outgoing>,
    overflow: Overflow,
    disconnect: CancellationToken,
}

impl Outbox {
    /// An outbox feeding `sender`; `disconnect` is cancelled when a [`Overflow::Disconnect`]
    /// connection overflows.
    pub(crate) fn new(
        sender: mpsc::Sender<Outgoing>,
        overflow: Overflow,
        disconnect: CancellationToken,
    ) -> Self {
        Self {
            sender,
            overflow,
            disconnect,
        }
    }

    /// Queues `message` under the connection's policy.
    pub(crate) async fn send(&self, message: Outgoing) -> Result<(), OutboxClosed> {
        // A queue with room takes the message at once, under either policy.
        let message = match self.sender.try_send(message) {
            Ok(()) => return Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => return Err(OutboxClosed::Closed),
            Err(mpsc::error::TrySendError::Full(message)) => message,
        };
        match self.overflow {
            Overflow::Wait => self
                .sender
                .send(message)
                .await
                .map_err(|_| OutboxClosed::Closed),
            Overflow::Disconnect => {
                if !self.disconnect.is_cancelled() {
                    tracing::warn!(
                        capacity = self.sender.max_capacity(),
                        "disconnecting a slow client: its outbound queue is full"
                    );
                }
                self.disconnect.cancel();
                Err(OutboxClosed::Overflowed)
            }
        }
    }
}

/// A client's answer to a server request: its `result`, or its `error` object as sent.
pub type ServerRequestOutcome = Result<Value, Value>;

/// Why a server request could not be sent or was not answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerRequestError {
    /// The target connection is gone or not initialized.
    #[error("connection is not available")]
    NoConnection,
    /// The connection closed before it answered.
    #[error("server request cancelled")]
    Cancelled,
}

/// Awaits the client's answer to one server request. Dropping it forgets the request, so a late
/// answer is ignored (logged).
#[derive(Debug)]
pub struct PendingServerRequest {
    /// The id the request was sent with.
    pub id: RequestId,
    receiver: oneshot::Receiver<ServerRequestOutcome>,
}

impl PendingServerRequest {
    /// The client's answer, or `Cancelled` if its connection closed first. Wrap in
    /// `tokio::time::timeout` for a deadline.
    pub async fn response(self) -> Result<ServerRequestOutcome, ServerRequestError> {
        self.receiver
            .await
            .map_err(|_| ServerRequestError::Cancelled)
    }
}

struct Peer {
    outbox: Outbox,
    /// `None` until the `initialize` response was written; then the opted-out method names.
    opt_out: Option<HashSet<String>>,
}

struct Pending {
    connection: ConnectionId,
    reply: oneshot::Sender<ServerRequestOutcome>,
}

#[derive(Default)]
struct Inner {
    peers: HashMap<ConnectionId, Peer>,
    pending: HashMap<i64, Pending>,
}

/// Connections, broadcast and server requests. Held by [`crate::ServerState`].
#[derive(Default)]
pub struct Hub {
    inner: Mutex<Inner>,
    next_connection: AtomicU64,
    next_request_id: AtomicI64,
}

impl Hub {
    /// Locks the registry (never held across `.await`: every critical section is a few map
    /// operations).
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock()
    }

    pub(crate) fn register(&self, outbox: Outbox) -> ConnectionId {
        let id = ConnectionId(self.next_connection.fetch_add(1, Ordering::Relaxed));
        self.lock().peers.insert(
            id,
            Peer {
                outbox,
                opt_out: None,
            },
        );
        id
    }

    /// Marks a connection initialized; from now on it receives broadcasts not in `opt_out`.
    pub(crate) fn mark_initialized(&self, connection: ConnectionId, opt_out: Vec<String>) {
        if let Some(peer) = self.lock().peers.get_mut(&connection) {
            peer.opt_out = Some(opt_out.into_iter().collect());
        }
    }

    /// Whether `connection` is registered and initialized.
    pub fn is_initialized(&self, connection: ConnectionId) -> bool {
        self.lock()
            .peers
            .get(&connection)
            .is_some_and(|p| p.opt_out.is_some())
    }

    /// Every initialized connection, in registration order (e.g. a fallback target for a
    /// server request whose preferred connection is gone).
    pub fn initialized_connections(&self) -> Vec<ConnectionId> {
        let mut ids: Vec<ConnectionId> = self
            .lock()
            .peers
            .iter()
            .filter(|(_, peer)| peer.opt_out.is_some())
            .map(|(id, _)| *id)
            .collect();
        ids.sort();
        ids
    }

    /// Fails the server requests waiting on `connection`'s answers (they see `Cancelled`).
    pub(crate) fn cancel_pending(&self, connection: ConnectionId) {
        self.lock()
            .pending
            .retain(|_, pending| pending.connection != connection);
    }

    /// Forgets a connection; its unanswered server requests resolve as `Cancelled`.
    pub(crate) fn unregister(&self, connection: ConnectionId) {
        self.lock().peers.remove(&connection);
        self.cancel_pending(connection);
    }

    /// Sends `notification` to every initialized connection that did not opt out of its method,
    /// stamped once with the time it was emitted (`emittedAtMs`). A [`Overflow::Wait`]
    /// connection (stdio) is waited for while its queue is full; a [`Overflow::Disconnect`] one
    /// is disconnected instead; a closed connection is skipped.
    pub async fn broadcast(&self, notification: ServerNotification) {
        let method = notification_method(&notification);
        let notification = ServerNotificationEnvelope {
            notification,
            emitted_at_ms: now_ms(),
        };
        let targets: Vec<Outbox> = self
            .lock()
            .peers
            .values()
            .filter(|peer| {
                peer.opt_out
                    .as_ref()
                    .is_some_and(|out| !out.contains(method))
            })
            .map(|peer| peer.outbox.clone())
            .collect();
        for outbox in targets {
            let _closed = outbox
                .send(Outgoing::Notification(notification.clone()))
                .await;
        }
    }

    /// Sends a server request to `connection` (which must be initialized), with the next id of
    /// the server-wide counter. `build` receives that id.
    pub async fn send_request(
        &self,
        connection: ConnectionId,
        build: impl FnOnce(RequestId) -> ServerRequest,
    ) -> Result<PendingServerRequest, ServerRequestError> {
        let number = self.next_request_id.fetch_add(1, Ordering::Relaxed);
        let id = RequestId::Integer(number);
        let (reply, receiver) = oneshot::channel();
        let outbox = {
            let mut inner = self.lock();
            let peer = inner.peers.get(&connection).filter(|p| p.opt_out.is_some());
            let outbox = peer
                .map(|p| p.outbox.clone())
                .ok_or(ServerRequestError::NoConnection)?;
            inner.pending.insert(number, Pending { connection, reply });
            outbox
        };
        if outbox
            .send(Outgoing::Request(build(id.clone())))
            .await
            .is_err()
        {
            self.lock().pending.remove(&number);
            return Err(ServerRequestError::NoConnection);
        }
        Ok(PendingServerRequest { id, receiver })
    }

    /// Delivers a client's response to the waiting server request; unknown ids are logged.
    pub(crate) fn resolve(&self, id: Option<RequestId>, outcome: ServerRequestOutcome) {
        let pending = match &id {
            Some(RequestId::Integer(number)) => self.lock().pending.remove(number),
            _ => None,
        };
        match pending {
            Some(pending) => {
                if pending.reply.send(outcome).is_err() {
                    tracing::debug!(?id, "response to a server request nobody waits for anymore");
                }
            }
            None => tracing::warn!(?id, "response with an unknown id ignored"),
        }
    }
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

/// The method name of a server notification (for opt-out matching).
pub(crate) fn notification_method(notification: &ServerNotification) -> &'static str {
    match notification {
        ServerNotification::AuthStatusChange(_) => AUTH_STATUS_CHANGE,
        ServerNotification::LoginChatGptComplete(_) => LOGIN_CHAT_GPT_COMPLETE,
        ServerNotification::AccountUpdated(_) => ACCOUNT_UPDATED,
        ServerNotification::AccountLoginCompleted(_) => ACCOUNT_LOGIN_COMPLETED,
    }
}
