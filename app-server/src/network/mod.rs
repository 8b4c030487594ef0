//! The optional network transport (PROTOCOL.md §7): `--listen ws://IP:PORT` (or `http://`),
//! WebSocket and HTTP POST on one port, standard JSON-RPC 2.0, served by jsonrpsee.
//!
//! Many clients share one [`ServerState`], hence one `AuthManager` and one refresh per
//! credential. Every method runs through the same transport-neutral pipeline as stdio
//! ([`crate::dispatch`]); this module only adds what a network needs:
//!
//! - `gate`: the tower layer in front of jsonrpsee: `Origin` → 403, bearer token → 401,
//!   `GET /healthz` and `/readyz` → 200, and one [`peer::Peer`] per connection or POST;
//! - `peer`: a hub-registered [`crate::Connection`] plus barriers and subscription fan-out;
//! - `rpc`: the jsonrpsee method table (`account/subscribe` included).
//!
//! HTTP POST is connection-less: each POST is its own connection, so a POST that calls anything
//! but `initialize` sends a batch whose first entry is `initialize` (entries run in order).

mod gate;
mod peer;
mod rpc;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jsonrpsee::server::{
    BatchRequestConfig, RandomStringIdProvider, RegisterMethodError, Server, ServerConfig,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::cli::Cli;
use crate::state::ServerState;

/// Largest request body (and WebSocket message) accepted: 1 MiB, as the stdio line limit.
pub const MAX_REQUEST_BYTES: u32 = 1 << 20;
/// Largest response body written: 1 MiB.
pub const MAX_RESPONSE_BYTES: u32 = 1 << 20;
/// Connections (WebSocket connections plus HTTP requests being served) at once.
pub const MAX_CONNECTIONS: u32 = 64;
/// Entries of one batch.
pub const MAX_BATCH: u32 = 64;
/// Subscriptions of one WebSocket connection.
pub const MAX_SUBSCRIPTIONS_PER_CONNECTION: u32 = 8;
/// Messages queued for one WebSocket connection's writer.
const MESSAGE_BUFFER: u32 = 1024;
/// How long shutdown waits for open connections to finish their calls.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// How the network transport is exposed.
#[derive(Debug, Clone, Default)]
pub struct NetworkOptions {
    /// Allow a non-loopback bind address (`--allow-remote`).
    pub allow_remote: bool,
    /// The bearer token every connection or POST must present (`--auth-token-file`, trimmed).
    pub auth_token: Option<String>,
}

impl NetworkOptions {
    /// The options of the command line; reads `--auth-token-file`.
    pub fn from_cli(cli: &Cli) -> Result<Self, NetworkError> {
        let auth_token = match &cli.auth_token_file {
            Some(path) => Some(read_token(path)?),
            None => None,
        };
        Ok(Self {
            allow_remote: cli.allow_remote,
            auth_token,
        })
    }
}

/// Why the network transport could not start.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// `--listen` is not `ws://IP:PORT` or `http://IP:PORT`.
    #[error("unsupported --listen {0}: expected stdio://, ws://IP:PORT or http://IP:PORT")]
    Listen(String),
    /// A non-loopback address without `--allow-remote`.
    #[error("refusing to listen on {0}: not a loopback address; pass --allow-remote to allow it")]
    NotLoopback(SocketAddr),
    /// The token file cannot be read.
    #[error("cannot read --auth-token-file {}: {source}", path.display())]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The token file holds only whitespace.
    #[error("--auth-token-file {} is empty", .0.display())]
    EmptyToken(PathBuf),
    /// Binding the address failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The method table could not be built (a bug).
    #[error("cannot register the methods: {0}")]
    Methods(#[from] RegisterMethodError),
}

fn read_token(path: &Path) -> Result<String, NetworkError> {
    let contents = std::fs::read_to_string(path).map_err(|source| NetworkError::TokenFile {
        path: path.to_path_buf(),
        source,
    })?;
    let token = contents.trim();
    if token.is_empty() {
        return Err(NetworkError::EmptyToken(path.to_path_buf()));
    }
    Ok(token.to_string())
}

/// The address of `ws://IP:PORT` or `http://IP:PORT` (a trailing `/` is allowed; IPv6 in
/// brackets), checked against the loopback rule.
pub fn bind_address(listen: &str, allow_remote: bool) -> Result<SocketAddr, NetworkError> {
    let rest = listen
        .strip_prefix("ws://")
        .or_else(|| listen.strip_prefix("http://"))
        .ok_or_else(|| NetworkError::Listen(listen.to_string()))?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let addr: SocketAddr = rest
        .parse()
        .map_err(|_| NetworkError::Listen(listen.to_string()))?;
    if !allow_remote && !addr.ip().is_loopback() {
        return Err(NetworkError::NotLoopback(addr));
    }
    Ok(addr)
}

/// Binds `listen` and serves `state` until `shutdown` resolves. Returns the bound address
/// (port 0 picks a free port) and the task that ends once shutdown is complete: no more
/// connections accepted, in-flight requests answered, the active login cancelled, connections
/// closed.
pub async fn serve(
    listen: &str,
    options: NetworkOptions,
    state: ServerState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(SocketAddr, JoinHandle<()>), NetworkError> {
    let addr = bind_address(listen, options.allow_remote)?;
    let methods = rpc::module()?;
    let config = ServerConfig::builder()
        .max_request_body_size(MAX_REQUEST_BYTES)
        .max_response_body_size(MAX_RESPONSE_BYTES)
        .max_connections(MAX_CONNECTIONS)
        .max_subscriptions_per_connection(MAX_SUBSCRIPTIONS_PER_CONNECTION)
        .set_batch_request_config(BatchRequestConfig::Limit(MAX_BATCH))
        .set_message_buffer_capacity(MESSAGE_BUFFER)
        .set_id_provider(RandomStringIdProvider::new(16))
        .build();
    let (live, mut all_gone) = mpsc::channel::<()>(1);
    let gate = gate::GateLayer::new(state.clone(), options.auth_token.as_deref(), live);
    let server = Server::builder()
        .set_config(config)
        .set_http_middleware(tower::ServiceBuilder::new().layer(gate))
        .build(addr)
        .await
        .map_err(|source| NetworkError::Bind { addr, source })?;
    let bound = server
        .local_addr()
        .map_err(|source| NetworkError::Bind { addr, source })?;
    let handle = server.start(methods);
    tracing::info!(%bound, "network transport listening");
    // Stopping the handle stops accepting at once; jsonrpsee then closes each connection once
    // its in-flight calls were answered.
    let task = tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: no new connections; answering in-flight requests");
        if handle.stop().is_err() {
            tracing::debug!("server already stopped");
        }
        end_active_login(&state).await;
        handle.stopped().await;
        if tokio::time::timeout(DRAIN_TIMEOUT, all_gone.recv())
            .await
            .is_err()
        {
            tracing::warn!("connections still open after {DRAIN_TIMEOUT:?}; closing anyway");
        }
        // A login started by a request answered during the drain.
        end_active_login(&state).await;
        tracing::info!("shut down");
    });
    Ok((bound, task))
}

async fn end_active_login(state: &ServerState) {
    for ended in state.logins().end_active(state).await {
        state.hub().broadcast(ended).await;
    }
}

/// `app-server --listen ws://…` from `main`: checks the flags, builds the state, binds, writes
/// one line `listening on ws://<ip>:<port>` to stderr, serves until SIGTERM or SIGINT, then
/// shuts down gracefully and returns `Ok` (exit status 0).
pub fn run(cli: &Cli) -> anyhow::Result<()> {
    let options = NetworkOptions::from_cli(cli)?;
    bind_address(&cli.listen, options.allow_remote)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let signal = shutdown_signal()?;
        let started = crate::startup::start(cli).await?;
        let (bound, served) = serve(&cli.listen, options, started.state.clone(), signal).await?;
        // The one line a supervisor waits for (§7); a closed stderr is no reason to fail.
        let _ = writeln!(std::io::stderr(), "listening on ws://{bound}");
        served.await?;
        drop(started);
        Ok(())
    })
}

/// Resolves on the first SIGTERM or SIGINT; the handlers are installed before this returns.
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = terminate.recv() => tracing::info!("SIGTERM received"),
                _ = interrupt.recv() => tracing::info!("SIGINT received"),
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async move {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{NetworkError, bind_address};

    #[test]
    fn listen_addresses() {
        let addr = bind_address("ws://127.0.0.1:0", false).ok();
        assert_eq!(addr, Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0))));
        assert!(bind_address("http://127.0.0.2:80/", false).is_ok());
        assert!(bind_address("ws://[::1]:8080", false).is_ok());
        assert!(matches!(
            bind_address("ws://0.0.0.0:1", false),
            Err(NetworkError::NotLoopback(_))
        ));
        assert!(bind_address("ws://0.0.0.0:1", true).is_ok());
        for bad in [
            "tcp://127.0.0.1:1",
            "ws://localhost:1",
            "ws://127.0.0.1",
            "stdio://",
        ] {
            assert!(
                matches!(bind_address(bad, false), Err(NetworkError::Listen(_))),
                "{bad}"
            );
        }
    }
}
