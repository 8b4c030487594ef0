//! The connection engine of every transport (stdio, a WebSocket, a unix socket): its writer
//! task, its read loop with the in-flight limit and the barrier rule (PROTOCOL.md §1
//! "Pipelining and backpressure", "Ordering guarantee", "End of input"), and what happens when
//! its client stops reading (§7 "Slow clients"). The framing is the transport's business: a
//! [`Source`] yields classified messages, a writer future drains the outbox.

use std::sync::Arc;

use protocol::RequestId;
use tokio::io::AsyncBufRead;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::client::Connection;
use crate::dispatch;
use crate::hub::{Outbox, Overflow};
use crate::state::ServerState;
use crate::transport::{Incoming, LineReader, Outgoing};

/// At most this many requests of one connection run at once; at the limit the server stops
/// reading that connection until one is answered.
pub const MAX_IN_FLIGHT: usize = 128;

/// At most this many answers of a burst of buffered input are queued before the writer runs.
const ANSWERS_PER_WRITE: usize = 16;

/// Messages queued for the stdio writer before producers wait (they wait; nothing is dropped).
pub(crate) const STDIO_OUTBOX_CAPACITY: usize = 256;

/// Where one connection's messages come from: the framing (lines, WebSocket frames) turned into
/// classified messages. `Ok(None)` is the end of input.
pub(crate) trait Source: Send {
    /// The next message, or `None` at end of input.
    fn next(&mut self) -> impl Future<Output = std::io::Result<Option<Incoming>>> + Send;

    /// Whether input already read waits behind the last message (more of a burst).
    fn more_buffered(&self) -> bool {
        false
    }
}

impl<R: AsyncBufRead + Unpin + Send> Source for LineReader<R> {
    fn next(&mut self) -> impl Future<Output = std::io::Result<Option<Incoming>>> + Send {
        LineReader::next(self)
    }

    fn more_buffered(&self) -> bool {
        LineReader::more_buffered(self)
    }
}

/// How a connection is served besides its framing.
pub(crate) struct ServeOptions {
    /// Messages its writer queue holds.
    pub queue: usize,
    /// What a full queue does.
    pub overflow: Overflow,
    /// Cancelled at server shutdown: the connection stops reading, as at end of input.
    pub shutdown: CancellationToken,
}

impl ServeOptions {
    /// stdio: a 256-message queue that producers wait on; no shutdown but end of input.
    pub(crate) fn stdio() -> Self {
        Self {
            queue: STDIO_OUTBOX_CAPACITY,
            overflow: Overflow::Wait,
            shutdown: CancellationToken::new(),
        }
    }
}

/// Why serving a connection ended with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Reading the input failed (not EOF: EOF is a clean end).
    #[error("reading input failed: {0}")]
    Read(std::io::Error),
    /// Writing the output failed; the client is gone.
    #[error("writing output failed: {0}")]
    Write(std::io::Error),
    /// The writer task panicked or was cancelled.
    #[error("writer task {0}")]
    Writer(TaskEnd),
    /// The connection's own task panicked or was cancelled.
    #[error("connection task {0}")]
    Task(TaskEnd),
    /// The client did not read its answers: its outbound queue filled up and it was
    /// disconnected.
    #[error(
        "disconnected: the client did not read and its outbound queue of {0} messages filled up"
    )]
    SlowClient(usize),
}

/// How a task ended early. Never the panic's message, which could quote anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TaskEnd {
    /// It panicked.
    #[error("panicked")]
    Panicked,
    /// It was cancelled.
    #[error("was cancelled")]
    Cancelled,
}

impl From<tokio::task::JoinError> for TaskEnd {
    fn from(err: tokio::task::JoinError) -> Self {
        if err.is_panic() {
            TaskEnd::Panicked
        } else {
            TaskEnd::Cancelled
        }
    }
}

/// Serves one connection until end of input (or shutdown), then lets every in-flight request
/// finish and writes all answers before returning. `writer` drains the outbox into the
/// transport; it returns once every sender is gone and everything was written.
pub(crate) async fn serve<S, F, W>(
    state: ServerState,
    source: S,
    writer: F,
    options: ServeOptions,
) -> Result<(), ServeError>
where
    S: Source,
    F: FnOnce(mpsc::Receiver<Outgoing>) -> W,
    W: Future<Output = std::io::Result<()>> + Send + 'static,
{
    let (sender, receiver) = mpsc::channel(options.queue);
    let disconnect = CancellationToken::new();
    let outbox = Outbox::new(sender, options.overflow, disconnect.clone());
    let connection = Connection::open(&state, outbox);
    let id = connection.id();
    let mut writer_task = tokio::spawn(writer(receiver));
    // However this ends (an early return below, or dropped unfinished: its task aborted, a
    // `select!` elsewhere), the hub forgets the connection and the writer stops.
    let _teardown = Teardown {
        state: &state,
        id,
        writer: writer_task.abort_handle(),
    };
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));

    let read_result = tokio::select! {
        result = read_loop(&connection, source, &in_flight, &options.shutdown) => result,
        () = disconnect.cancelled() => return Err(ServeError::SlowClient(options.queue)),
        written = &mut writer_task => return writer_outcome(written),
    };
    // No answer to a server request can arrive any more: fail them now rather than letting the
    // requests that wait on them run into their timeouts.
    state.hub().cancel_pending(id);
    tokio::select! {
        _all_done = in_flight.acquire_many(MAX_IN_FLIGHT as u32) => {}
        () = disconnect.cancelled() => return Err(ServeError::SlowClient(options.queue)),
        written = &mut writer_task => return writer_outcome(written),
    }
    // Every request is answered; closing the last senders lets the writer drain and finish.
    state.hub().unregister(id);
    drop(connection);
    let written = writer_task.await;
    read_result.map_err(ServeError::Read)?;
    writer_outcome(written)
}

/// Ends a connection when [`serve`] stops: unregisters it from the hub and aborts its writer (a
/// no-op once the writer finished).
struct Teardown<'a> {
    state: &'a ServerState,
    id: crate::hub::ConnectionId,
    writer: tokio::task::AbortHandle,
}

impl Drop for Teardown<'_> {
    fn drop(&mut self) {
        self.state.hub().unregister(self.id);
        self.writer.abort();
    }
}

fn writer_outcome(
    written: Result<std::io::Result<()>, tokio::task::JoinError>,
) -> Result<(), ServeError> {
    match written {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(ServeError::Write(err)),
        Err(err) => Err(ServeError::Writer(err.into())),
    }
}

/// Reads and routes messages in arrival order. Each request takes a permit before it runs, so at
/// [`MAX_IN_FLIGHT`] the loop stops reading (backpressure) with that request in hand. Answers to
/// our own server requests and notifications take none, so a full window of requests waiting on
/// a client's answer can still receive it. After a barrier request the loop waits until it was
/// answered.
async fn read_loop<S: Source>(
    connection: &Arc<Connection>,
    mut source: S,
    in_flight: &Arc<Semaphore>,
    shutdown: &CancellationToken,
) -> std::io::Result<()> {
    // One wait for the shutdown across the loop, polled only while input is awaited (making
    // and polling it per message cost a poll's worth); a flood of input still sees the flag.
    let mut cancelled = std::pin::pin!(shutdown.cancelled());
    let mut unwritten = 0;
    loop {
        let next = if shutdown.is_cancelled() {
            None
        } else {
            tokio::select! {
                biased;
                next = source.next() => next?,
                () = &mut cancelled => None,
            }
        };
        let Some(incoming) = next else {
            return Ok(());
        };
        match incoming {
            Incoming::Request { id, method, params } => {
                let permit = match Arc::clone(in_flight).try_acquire_owned() {
                    Ok(permit) => permit,
                    Err(_) => Arc::clone(in_flight)
                        .acquire_owned()
                        .await
                        .map_err(std::io::Error::other)?,
                };
                let route = dispatch::route(&method);
                let barrier = route.is_some_and(dispatch::Route::is_barrier);
                let mut request = Box::pin(dispatch::handle_request(
                    Arc::clone(connection),
                    id,
                    method,
                    route,
                    params,
                    permit,
                ));
                // Most requests (a status poll of unchanged credentials) finish without waiting:
                // poll once here and give a task only to those that must wait (a refresh, a
                // login), so the common path costs no task and no thread hop. A request left
                // pending registers the new task's waker when polled there.
                if futures::poll!(request.as_mut()).is_pending() {
                    let task: JoinHandle<()> = tokio::spawn(request);
                    if barrier && let Err(err) = task.await {
                        tracing::error!(cause = %err, "barrier request task failed");
                    }
                } else {
                    // Its answer is queued. The answers to a burst read at once go out together,
                    // in one write, once its last request (or every [`ANSWERS_PER_WRITE`]th,
                    // far below any queue's capacity) was answered; with no more input at hand
                    // the writer sends it now.
                    unwritten += 1;
                    if unwritten == ANSWERS_PER_WRITE || !source.more_buffered() {
                        unwritten = 0;
                        YieldOnce(false).await;
                    }
                }
            }
            Incoming::Notification { method } => dispatch::handle_notification(&method),
            Incoming::Response { id, outcome } => connection.state().hub().resolve(id, outcome),
            Incoming::Invalid(error) => {
                log_invalid(error.id.as_ref(), &error.error.message);
                connection.send(Outgoing::Error(error)).await;
            }
        }
    }
}

/// Pending once, waking itself at once: the tasks already woken (the writer) run first. A
/// wake from inside a task's own poll only queues it, with no system call.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

fn log_invalid(id: Option<&RequestId>, message: &str) {
    tracing::info!(?id, message, "invalid message answered with an error");
}
