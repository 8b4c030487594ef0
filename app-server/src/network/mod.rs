//! The network listeners (PROTOCOL.md §7): `--listen ws://IP:PORT` (WebSocket) and
//! `--listen unix://[PATH]` (unix socket). They speak exactly the stdio dialect through the same
//! connection engine as stdio ([`crate::connection`]: read loop, 128 in flight, barriers,
//! handshake gate, writer); this module only adds what a listener needs:
//!
//! - `args`: the `--listen`/`--ws-auth …` flags, flattened into [`crate::cli::Cli`];
//! - `auth`: Codex's WebSocket auth (capability token, HS256 signed bearer);
//! - `websocket`: the HTTP server in front of the upgrade (Origin, health, auth);
//! - `unix`: the control socket (0700 directory, 0600 socket, stale-socket replacement).
//!
//! Many clients share one [`ServerState`], hence one `AuthManager` and one refresh per
//! credential; every notification goes to every initialized connection. A client that does not
//! read its answers is disconnected once its queue of [`websocket::QUEUE`] messages is full, so
//! memory per connection is bounded and no client slows another.

mod args;
mod auth;
mod unix;
mod websocket;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use args::{ListenArgs, WsAuthMode};
pub use auth::{AuthConfigError, AuthPolicy, Unauthorized};
pub use unix::default_path as default_unix_socket;

use crate::cli::Cli;
use crate::connection::ServeOptions;
use crate::hub::Overflow;
use crate::state::ServerState;

/// Connections open at once on one listener (WebSocket or unix socket); more are refused. Room
/// for a fleet of polling clients (issue 16 measures 256), and well under the usual 1,024 open-file
/// soft limit, so a flood is refused by us before `accept` fails for want of descriptors.
pub const MAX_CONNECTIONS: usize = 512;
/// How long shutdown waits for open connections to finish their calls.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// What `--listen` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// `stdio://`: one connection on stdin/stdout.
    Stdio,
    /// `ws://IP:PORT`.
    WebSocket(SocketAddr),
    /// `unix://` (`None`: the default path under `CODEX_HOME`) or `unix://PATH`.
    Unix(Option<PathBuf>),
}

impl Listen {
    /// Parses a `--listen` URL (Codex's forms; `off` is refused: this server has nothing else
    /// to serve).
    pub fn parse(url: &str) -> Result<Self, NetworkError> {
        if url == "stdio://" {
            return Ok(Self::Stdio);
        }
        if url == "off" {
            return Err(NetworkError::Off);
        }
        if let Some(path) = url.strip_prefix("unix://") {
            return Ok(Self::Unix((!path.is_empty()).then(|| PathBuf::from(path))));
        }
        if let Some(addr) = url.strip_prefix("ws://") {
            let addr = addr.strip_suffix('/').unwrap_or(addr);
            return addr
                .parse()
                .map(Self::WebSocket)
                .map_err(|_| NetworkError::WebSocketUrl(url.to_owned()));
        }
        Err(NetworkError::Listen(url.to_owned()))
    }
}

/// Where a listener ended up (port 0 resolved, default socket path filled in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    /// A WebSocket listener.
    WebSocket(SocketAddr),
    /// A unix socket.
    Unix(PathBuf),
}

impl std::fmt::Display for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bound::WebSocket(addr) => write!(f, "ws://{addr}"),
            Bound::Unix(path) => write!(f, "unix://{}", path.display()),
        }
    }
}

/// How a network listener is exposed.
#[derive(Debug, Clone, Default)]
pub struct NetworkOptions {
    /// Allow a non-loopback WebSocket address without `--ws-auth` (`--allow-remote`, ours).
    pub allow_remote: bool,
    /// What an upgrade must carry (`--ws-auth …`, or our `--auth-token-file`).
    pub auth: AuthPolicy,
}

impl NetworkOptions {
    /// The options of the command line; reads the token or secret file.
    pub fn from_args(args: &ListenArgs) -> Result<Self, NetworkError> {
        Ok(Self {
            allow_remote: args.allow_remote,
            auth: AuthPolicy::from_args(args)?,
        })
    }
}

/// Why a listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// Not one of the `--listen` forms.
    #[error(
        "unsupported --listen URL `{0}`; expected `stdio://`, `unix://`, `unix://PATH`, or `ws://IP:PORT`"
    )]
    Listen(String),
    /// `ws://` without a valid `IP:PORT`.
    #[error("invalid websocket --listen URL `{0}`; expected `ws://IP:PORT`")]
    WebSocketUrl(String),
    /// `--listen off`.
    #[error(
        "`--listen off` is not supported: this server serves nothing but its listener; use `stdio://`, `unix://` or `ws://IP:PORT`"
    )]
    Off,
    /// A non-loopback address without auth.
    #[error(
        "refusing to start non-loopback websocket listener {0} without auth; configure `--ws-auth capability-token` or `--ws-auth signed-bearer-token` (or pass --allow-remote to accept the risk)"
    )]
    NotLoopback(SocketAddr),
    /// The auth flags are inconsistent or their file unusable.
    #[error(transparent)]
    Auth(#[from] AuthConfigError),
    /// Binding the address failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Preparing or binding the unix socket failed.
    #[error("cannot listen on unix socket {}: {source}", path.display())]
    Unix {
        /// The socket path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Another server answers on the socket.
    #[error("app-server control socket is already in use at {} (another server is running)", .0.display())]
    UnixInUse(PathBuf),
    /// Something else than a socket is at the path.
    #[error("app-server control socket path exists and is not a socket: {}", .0.display())]
    UnixNotSocket(PathBuf),
    /// `--listen stdio://` given to the network entry point.
    #[error("stdio:// is not a network listener")]
    NotNetwork,
}

/// What every connection of a listener shares.
pub(crate) struct Shared {
    state: ServerState,
    auth: AuthPolicy,
    shutdown: CancellationToken,
    slots: Arc<Semaphore>,
    /// Held by every task of the listener; shutdown waits until all are gone.
    _live: mpsc::Sender<()>,
}

impl Shared {
    fn options(&self) -> ServeOptions {
        ServeOptions {
            queue: websocket::QUEUE,
            overflow: Overflow::Disconnect,
            shutdown: self.shutdown.clone(),
        }
    }
}

/// The one warning of an unauthenticated network listener (issue "hardening" item 6), or
/// `None` when none is due.
pub fn unauthenticated_warning(bound: &Bound, options: &NetworkOptions) -> Option<String> {
    match bound {
        Bound::WebSocket(addr) if !options.auth.is_enabled() => Some(format!(
            "warning: the WebSocket listener ws://{addr} has no --ws-auth: any process that can \
             reach it (every local user) can read the bearer token and sign in or out; prefer \
             --listen unix:// (a 0600 socket) for local multi-client use, or set --ws-auth"
        )),
        _ => None,
    }
}

/// Binds `listen` and serves `state` until `shutdown` resolves. Returns where it is bound and
/// the task that ends once shutdown is complete: no more connections accepted, every
/// connection stopped reading and answered what it had read, the active login cancelled.
pub async fn serve(
    listen: &Listen,
    options: NetworkOptions,
    state: ServerState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(Bound, JoinHandle<()>), NetworkError> {
    let (live, mut all_gone) = mpsc::channel::<()>(1);
    let token = CancellationToken::new();
    let shared = Arc::new(Shared {
        state: state.clone(),
        auth: options.auth.clone(),
        shutdown: token.clone(),
        slots: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
        _live: live,
    });
    let (bound, acceptor) = match listen {
        Listen::Stdio => return Err(NetworkError::NotNetwork),
        Listen::WebSocket(addr) => {
            let addr = *addr;
            if !addr.ip().is_loopback() && !options.auth.is_enabled() && !options.allow_remote {
                return Err(NetworkError::NotLoopback(addr));
            }
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| NetworkError::Bind { addr, source })?;
            let bound = listener
                .local_addr()
                .map_err(|source| NetworkError::Bind { addr, source })?;
            let acceptor = tokio::spawn(websocket::accept(listener, shared));
            (Bound::WebSocket(bound), acceptor)
        }
        Listen::Unix(path) => {
            let (path, is_default) = match path {
                Some(path) => (absolute(path), false),
                None => (unix::default_path(&state.config().codex_home), true),
            };
            let (listener, file) = unix::bind(&path, is_default).await?;
            let acceptor = tokio::spawn(unix::accept(listener, file, shared));
            (Bound::Unix(path), acceptor)
        }
    };
    tracing::info!(%bound, "listening");
    let task = tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: no new connections; answering in-flight requests");
        token.cancel();
        end_active_login(&state).await;
        if acceptor.await.is_err() {
            tracing::warn!("the acceptor task failed");
        }
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

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

async fn end_active_login(state: &ServerState) {
    for ended in state.logins().end_active(state.auth()).await {
        state.hub().broadcast(ended).await;
    }
}

/// `app-server --listen ws://…|unix://…` from `main`: checks the flags, builds the state,
/// binds, writes the unauthenticated-listener warning if due and one line
/// `listening on <url>` to stderr, serves until SIGTERM or SIGINT, then shuts down gracefully
/// and returns `Ok` (exit status 0).
pub fn run(cli: &Cli) -> anyhow::Result<()> {
    let transport = cli.listen_args();
    let listen = Listen::parse(&transport.listen)?;
    let options = NetworkOptions::from_args(&transport)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let signal = shutdown_signal()?;
        let started = crate::startup::start(cli).await?;
        let (bound, served) =
            serve(&listen, options.clone(), started.state.clone(), signal).await?;
        // A closed stderr is no reason to fail.
        let mut stderr = std::io::stderr();
        if let Some(warning) = unauthenticated_warning(&bound, &options) {
            let _ = writeln!(stderr, "{warning}");
        }
        // The one line a supervisor waits for (§7).
        let _ = writeln!(stderr, "listening on {bound}");
        served.await?;
        drop(started);
        Ok(())
    })
}

/// Resolves on the first SIGTERM or SIGINT; the handlers are installed before this returns.
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::{Listen, NetworkError};

    #[test]
    fn listen_urls() {
        assert_eq!(Listen::parse("stdio://").ok(), Some(Listen::Stdio));
        assert_eq!(
            Listen::parse("ws://127.0.0.1:0").ok(),
            Some(Listen::WebSocket(([127, 0, 0, 1], 0).into()))
        );
        assert!(matches!(
            Listen::parse("ws://[::1]:8080/"),
            Ok(Listen::WebSocket(_))
        ));
        assert_eq!(Listen::parse("unix://").ok(), Some(Listen::Unix(None)));
        assert_eq!(
            Listen::parse("unix:///run/x.sock").ok(),
            Some(Listen::Unix(Some(PathBuf::from("/run/x.sock"))))
        );
        assert!(matches!(Listen::parse("off"), Err(NetworkError::Off)));
        for bad in ["ws://localhost:1", "ws://127.0.0.1"] {
            assert!(
                matches!(Listen::parse(bad), Err(NetworkError::WebSocketUrl(_))),
                "{bad}"
            );
        }
        for bad in ["tcp://127.0.0.1:1", "http://127.0.0.1:1", ""] {
            assert!(
                matches!(Listen::parse(bad), Err(NetworkError::Listen(_))),
                "{bad}"
            );
        }
    }
}
