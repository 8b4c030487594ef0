//! `ServerState`: the process-wide state every connection and handler shares, as a cheap-clone
//! handle over `Arc<Shared>` (mini-redis `Db` style).

use std::sync::Arc;

use crate::config::ServerConfig;
use crate::hub::Hub;

/// Shared server state. Cloning is cheap (one `Arc`); all clones see the same state.
///
/// To add process-wide state (e.g. the `AuthManager`), add a field to `Shared`, fill it in
/// [`ServerState::new`] and expose it with an accessor like [`ServerState::hub`].
#[derive(Clone)]
pub struct ServerState {
    shared: Arc<Shared>,
}

struct Shared {
    config: ServerConfig,
    hub: Hub,
}

impl ServerState {
    /// State for a server configured by `config`.
    pub fn new(config: ServerConfig) -> Self {
        Self {
            shared: Arc::new(Shared {
                config,
                hub: Hub::default(),
            }),
        }
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
