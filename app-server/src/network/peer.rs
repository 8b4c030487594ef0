//! One network client as the rest of the server sees it: a [`Connection`] registered in the hub,
//! plus what the network transport adds around it: the per-connection ordering lock (barriers),
//! the subscriptions that carry broadcasts to a WebSocket client, and the task that fans the
//! connection's outbox out to them.
//!
//! A WebSocket connection is one peer for its whole life; an HTTP POST is one peer for the one
//! request (PROTOCOL.md §7 "Handshake"). The peer lives in the HTTP request's extensions, which
//! jsonrpsee hands to every call of that connection or POST; when the last clone is gone (the
//! connection closed and its calls finished), the peer leaves the hub.

use std::sync::Arc;

use protocol::{JSONRPCErrorError, ServerNotification, ServerRequest};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard, mpsc};

use crate::connection::Connection;
use crate::dispatch;
use crate::state::ServerState;
use crate::transport::Outgoing;

/// Broadcasts queued for one peer before the hub waits; the fan-out task drains it without
/// ever waiting, so the hub never waits long.
const OUTBOX_CAPACITY: usize = 256;

/// Notifications queued for one subscription. A subscription whose queue is full (its client
/// does not read fast enough) is dropped; it never slows the hub or other clients (§7 "Limits").
pub(super) const SUBSCRIPTION_BUFFER: usize = 256;

/// The network side of one client connection (or of one HTTP POST).
pub(super) struct Peer {
    connection: Arc<Connection>,
    subscribers: Subscribers,
    /// Barrier requests hold it exclusively, other requests shared (PROTOCOL.md §1 "Ordering").
    order: RwLock<()>,
    /// Held until the peer is gone; graceful shutdown waits for every clone to drop.
    _live: mpsc::Sender<()>,
}

/// The queues of a peer's live subscriptions.
type Subscribers = Arc<parking_lot::Mutex<Vec<mpsc::Sender<ServerNotification>>>>;

/// Holds a request's place in its connection's order until it was answered.
pub(super) enum OrderGuard<'a> {
    /// A barrier: nothing else of the connection runs meanwhile.
    Barrier {
        /// Released when the request was answered.
        _guard: RwLockWriteGuard<'a, ()>,
    },
    /// Any other request: overlaps freely with others.
    Shared {
        /// Released when the request was answered.
        _guard: RwLockReadGuard<'a, ()>,
    },
}

impl Peer {
    /// Registers a new uninitialized connection in the hub and starts its fan-out task.
    pub(super) fn open(state: &ServerState, live: mpsc::Sender<()>) -> Arc<Self> {
        let (outbox, receiver) = mpsc::channel(OUTBOX_CAPACITY);
        let connection = Connection::open(state, outbox);
        let subscribers = Subscribers::default();
        tokio::spawn(fan_out(receiver, Arc::clone(&subscribers), state.clone()));
        Arc::new(Self {
            connection,
            subscribers,
            order: RwLock::new(()),
            _live: live,
        })
    }

    /// The transport-neutral connection the handlers see.
    pub(super) fn connection(&self) -> &Arc<Connection> {
        &self.connection
    }

    /// Waits for this request's turn: a barrier runs alone, other requests together.
    pub(super) async fn order(&self, method: &str) -> OrderGuard<'_> {
        if dispatch::is_barrier(method) {
            OrderGuard::Barrier {
                _guard: self.order.write().await,
            }
        } else {
            OrderGuard::Shared {
                _guard: self.order.read().await,
            }
        }
    }

    /// A new subscription: the receiving end of its bounded queue of broadcasts.
    pub(super) fn subscribe(&self) -> mpsc::Receiver<ServerNotification> {
        let (sender, receiver) = mpsc::channel(SUBSCRIPTION_BUFFER);
        self.subscribers.lock().push(sender);
        receiver
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let connection = &self.connection;
        connection.state().hub().unregister(connection.id());
    }
}

/// Moves everything the hub queues for this peer to its subscriptions, never waiting. Server
/// requests cannot be answered over jsonrpsee, so they fail at once instead of timing out.
async fn fan_out(
    mut outbox: mpsc::Receiver<Outgoing>,
    subscribers: Subscribers,
    state: ServerState,
) {
    while let Some(message) = outbox.recv().await {
        match message {
            Outgoing::Notification(sent) => deliver(&subscribers, &sent.notification),
            Outgoing::Request(ServerRequest::ChatgptAuthTokensRefresh { id, .. }) => {
                tracing::info!(%id, "server request not supported on the network transport");
                let error = JSONRPCErrorError {
                    code: protocol::METHOD_NOT_FOUND,
                    message: "server requests are not supported on the network transport"
                        .to_string(),
                    data: None,
                };
                let error = serde_json::to_value(error).unwrap_or_default();
                state.hub().resolve(Some(id), Err(error));
            }
            // Answers go through jsonrpsee, never through the outbox.
            Outgoing::Response(_) | Outgoing::Error(_) => {}
        }
    }
}

/// Queues `notification` for every live subscription; drops the ones that are full or gone.
fn deliver(
    subscribers: &parking_lot::Mutex<Vec<mpsc::Sender<ServerNotification>>>,
    notification: &ServerNotification,
) {
    subscribers
        .lock()
        .retain(|queue| match queue.try_send(notification.clone()) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                tracing::warn!(
                    limit = SUBSCRIPTION_BUFFER,
                    "subscriber does not keep up; subscription dropped"
                );
                false
            }
            Err(TrySendError::Closed(_)) => false,
        });
}

#[cfg(test)]
mod tests {
    use protocol::{AccountUpdatedNotification, ServerNotification};
    use tokio::sync::mpsc;

    use super::{SUBSCRIPTION_BUFFER, deliver};

    fn updated() -> ServerNotification {
        ServerNotification::AccountUpdated(AccountUpdatedNotification {
            auth_mode: None,
            plan_type: None,
            reason: None,
        })
    }

    #[test]
    fn a_full_subscription_is_dropped_and_the_others_keep_receiving() {
        let (slow, mut slow_rx) = mpsc::channel(SUBSCRIPTION_BUFFER);
        let (fast, mut fast_rx) = mpsc::channel(SUBSCRIPTION_BUFFER);
        let subscribers = parking_lot::Mutex::new(vec![slow, fast]);
        for _ in 0..SUBSCRIPTION_BUFFER {
            deliver(&subscribers, &updated());
            assert!(
                fast_rx.try_recv().is_ok(),
                "the fast subscriber reads each one"
            );
        }
        assert_eq!(subscribers.lock().len(), 2, "both fit so far");
        deliver(&subscribers, &updated());
        assert_eq!(subscribers.lock().len(), 1, "the slow one is dropped");
        assert!(fast_rx.try_recv().is_ok(), "the fast one still got it");
        let mut queued = 0;
        while slow_rx.try_recv().is_ok() {
            queued += 1;
        }
        assert_eq!(
            queued, SUBSCRIPTION_BUFFER,
            "what was queued stays deliverable"
        );
        assert!(
            slow_rx.is_closed(),
            "the dropped queue ends after its backlog"
        );
    }

    #[test]
    fn a_closed_subscription_is_forgotten() {
        let (gone, gone_rx) = mpsc::channel(1);
        drop(gone_rx);
        let subscribers = parking_lot::Mutex::new(vec![gone]);
        deliver(&subscribers, &updated());
        assert!(subscribers.lock().is_empty());
    }
}
