//! `ServerState`: the process-wide state every connection and handler shares, as a cheap-clone
//! handle over `Arc<Shared>` (mini-redis `Db` style).

use std::sync::Arc;

use auth_core::AuthManager;

use crate::config::ServerConfig;
use crate::hub::{ConnectionId, Hub};
use crate::logins::Logins;
use crate::status_cache::StatusCache;

/// Shared server state. Cloning is cheap (one `Arc`); all clones see the same state.
///
/// One `AuthManager` serves every connection, so one refresh serves every client.
#[derive(Clone)]
pub struct ServerState {
    shared: Arc<Shared>,
}

struct Shared {
    config: ServerConfig,
    hub: Hub,
    auth: AuthManager,
    logins: Logins,
    status_cache: StatusCache,
    /// The connection that supplied the external tokens in effect (PROTOCOL.md §4.15).
    token_supplier: parking_lot::Mutex<Option<ConnectionId>>,
}

impl ServerState {
    /// State for a server configured by `config`, serving the credentials of `auth`.
    pub fn new(config: ServerConfig, auth: AuthManager) -> Self {
        Self {
            shared: Arc::new(Shared {
                config,
                hub: Hub::default(),
                auth,
                logins: Logins::default(),
                status_cache: StatusCache::default(),
                token_supplier: parking_lot::Mutex::new(None),
            }),
        }
    }

    /// The credential manager.
    pub fn auth(&self) -> &AuthManager {
        &self.shared.auth
    }

    /// The connection that supplied the external tokens in effect.
    pub(crate) fn token_supplier(&self) -> Option<ConnectionId> {
        *self.shared.token_supplier.lock()
    }

    /// Remembers (or forgets) the connection that supplied external tokens.
    pub(crate) fn set_token_supplier(&self, connection: Option<ConnectionId>) {
        *self.shared.token_supplier.lock() = connection;
    }

    /// The active browser or device-code login.
    pub(crate) fn logins(&self) -> &Logins {
        &self.shared.logins
    }

    /// The last `getAuthStatus` answers.
    pub(crate) fn status_cache(&self) -> &StatusCache {
        &self.shared.status_cache
    }

    /// The startup configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.shared.config
    }

    /// The notification and server-request hub shared by every connection.
    pub fn hub(&self) -> &Hub {
        &self.shared.hub
    }
}

impl std::fmt::Debug for ServerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerState")
            .field("codex_home", &self.shared.config.codex_home)
            .finish()
    }
}
