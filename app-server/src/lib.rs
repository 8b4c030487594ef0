//! The app-server: a JSON-RPC server speaking the Codex app-server stdio dialect
//! (`protocol/PROTOCOL.md`) in front of the credential logic, on stdio, a WebSocket or a unix
//! socket.
//!
//! It does not decide anything about credentials (that is auth-core's job), never writes to
//! stdout except through the single writer task of `transport`, and never reads environment
//! variables outside [`ServerConfig::from_env`].
//!
//! Layout: `transport` (bytes ↔ envelopes, the line writer), `connection` (the one connection
//! engine of every transport: read loop, in-flight limit, barriers, end of input, slow
//! clients), `client` (one connection's state: id, outbox, session), `network` (the WebSocket
//! and unix-socket listeners), `dispatch` (the method table: names → typed params → handlers,
//! handshake gate), `handlers/` (one file per method family), `reply` (a handler's result and
//! the effects run after its response), `status_cache` (the last `getAuthStatus` answers),
//! `logins` (the active login), `hub` (broadcast and
//! server requests),
//! `input_hint` (client reads reported to the change watch),
//! `error` (the only place codes are chosen), `state` and `config` (shared state, startup config),
//! `cli` (command line and schema export), `commands/` (the subcommands other than serving).
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod cli;
mod client;
pub mod commands;
pub mod config;
pub mod connection;
mod convert;
#[cfg(feature = "demo")]
mod demo;
mod dispatch;
pub mod error;
mod external_host;
mod handlers;
pub mod hints;
pub mod hub;
mod input_hint;
pub mod log_text;
mod logins;
pub mod network;
pub mod process_guard;
mod reply;
mod request_line;
mod request_scan;
pub mod startup;
pub mod state;
mod status_cache;
pub mod stdio;
pub mod transport;

pub use client::{Connection, Session};
pub use config::ServerConfig;
pub use connection::{MAX_IN_FLIGHT, ServeError};
pub use error::RpcError;
pub use hub::{ConnectionId, Hub, PendingServerRequest, ServerRequestError};
pub use state::ServerState;

use tokio::io::{AsyncRead, AsyncWrite, BufReader};
use tokio_util::task::AbortOnDropHandle;

/// Serves one stdio-dialect connection over `reader`/`writer` until end of input; every request
/// read is answered before this returns `Ok`; then the active login, if any, is cancelled. A
/// write failure (client gone) returns an error. Dropping the future stops serving.
pub async fn run<R, W>(reader: R, writer: W, state: ServerState) -> Result<(), ServeError>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let reader = input_hint::Hinted(reader);
    let lines = transport::LineReader::new(BufReader::with_capacity(64 * 1024, reader));
    // A task of its own rather than the caller's future (`block_on` in `main`): a task that
    // wakes itself is only queued, while waking `block_on`'s future signals the driver. Dropping
    // this future still ends the serving, as it did when it was this future.
    let served = AbortOnDropHandle::new(tokio::spawn(connection::serve(
        state.clone(),
        lines,
        |outbox| transport::write_loop(writer, outbox),
        connection::ServeOptions::stdio(),
    )))
    .await
    .unwrap_or_else(|err| Err(ServeError::Task(err.into())));
    // End of input (PROTOCOL.md §1): after every answer is written, cancel the active login; its
    // completion has nowhere to go.
    let _ = state.logins().end_active(state.auth()).await;
    served
}
