//! One client connection as handlers and effects see it, whatever transport carries it: its id
//! in the hub, its outbox and the session its `initialize` established (PROTOCOL.md §3).

use std::sync::{Arc, OnceLock};

use crate::hub::{ConnectionId, Outbox};
use crate::state::ServerState;
use crate::transport::Outgoing;

/// What a successful `initialize` established for a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The user agent returned by `initialize` and `getUserAgent`.
    pub user_agent: String,
    /// The originator: `CODEX_INTERNAL_ORIGINATOR_OVERRIDE` or `clientInfo.name`; logins this
    /// connection starts pass it as their `originator` parameter.
    pub originator: String,
}

/// Per-connection state shared by the connection's request tasks.
pub struct Connection {
    id: ConnectionId,
    state: ServerState,
    outbox: Outbox,
    session: OnceLock<Session>,
}

impl Connection {
    /// Registers a new, uninitialized connection in the hub; `outbox` feeds its writer.
    pub(crate) fn open(state: &ServerState, outbox: Outbox) -> Arc<Self> {
        let id = state.hub().register(outbox.clone());
        Arc::new(Connection {
            id,
            state: state.clone(),
            outbox,
            session: OnceLock::new(),
        })
    }

    /// The connection's id in the hub (target of server requests).
    pub fn id(&self) -> ConnectionId {
        self.id
    }

    /// The shared server state.
    pub fn state(&self) -> &ServerState {
        &self.state
    }

    /// The session, once the `initialize` response was written.
    pub fn session(&self) -> Option<&Session> {
        self.session.get()
    }

    /// Queues a message for this connection's writer; a closed writer (client gone) or a
    /// disconnect for overflow is ignored here and reported by `serve`.
    pub(crate) async fn send(&self, message: Outgoing) {
        if let Err(err) = self.outbox.send(message).await {
            tracing::debug!(cause = %err, "message not written");
        }
    }

    /// Marks the connection initialized: called right after its `initialize` response was queued.
    pub(crate) fn complete_initialize(&self, session: Session, opt_out: Vec<String>) {
        if self.session.set(session).is_ok() {
            self.state.hub().mark_initialized(self.id, opt_out);
        }
    }
}
