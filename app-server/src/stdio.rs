//! The process's own stdin and stdout for the stdio server, as pipes driven by the reactor
//! where possible: tokio's `stdin()`/`stdout()` hop to the blocking thread pool for every read
//! and write, which dominated the cost of a `getAuthStatus`.
//!
//! A reactor-driven pipe must be non-blocking, and `O_NONBLOCK` belongs to the open file
//! description, which stdin and stdout share with the parent (and with stderr after `2>&1`):
//! setting it there made the parent's next write fail with `EAGAIN`, even after we exited. So
//! the pipe is opened again through `/proc/self/fd/N`, which gives this process a description
//! of its own for the same pipe; only that one is made non-blocking. Where that is impossible
//! (not a pipe, no `/proc`), tokio's blocking stdin/stdout are used and no flag is touched.

use tokio::io::AsyncWrite;

/// The process's input for [`crate::run`]: stdin as a non-blocking pipe driven by the reactor
/// when it is a pipe, else tokio's `stdin()` (a terminal or a file; every read is a hop to the
/// blocking thread pool).
pub enum StdinReader {
    /// A pipe, read without a thread hop.
    #[cfg(unix)]
    Pipe(tokio::net::unix::pipe::Receiver),
    /// Anything else.
    Blocking(tokio::io::Stdin),
}

/// The process's output for [`crate::run`]; see [`StdinReader`].
pub enum StdoutWriter {
    /// A pipe, written without a thread hop.
    #[cfg(unix)]
    Pipe(tokio::net::unix::pipe::Sender),
    /// Anything else.
    Blocking(tokio::io::Stdout),
}

/// stdin and stdout for [`crate::run`], as pipes driven by the reactor where possible, on open
/// file descriptions of their own (the inherited ones are never made non-blocking). Must be
/// called inside the tokio runtime.
pub fn stdio() -> (StdinReader, StdoutWriter) {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let input = private_pipe(std::io::stdin().as_fd(), false)
            .and_then(|fd| tokio::net::unix::pipe::Receiver::from_owned_fd(fd).ok());
        let output = private_pipe(std::io::stdout().as_fd(), true)
            .and_then(|fd| tokio::net::unix::pipe::Sender::from_owned_fd(fd).ok());
        (
            input.map_or_else(
                || StdinReader::Blocking(tokio::io::stdin()),
                StdinReader::Pipe,
            ),
            output.map_or_else(
                || StdoutWriter::Blocking(tokio::io::stdout()),
                StdoutWriter::Pipe,
            ),
        )
    }
    #[cfg(not(unix))]
    {
        (
            StdinReader::Blocking(tokio::io::stdin()),
            StdoutWriter::Blocking(tokio::io::stdout()),
        )
    }
}

/// A new open file description, already non-blocking, of the pipe behind `fd`; `None` when `fd`
/// is not a pipe or cannot be reopened (then nothing was changed). Opening a pipe's
/// `/proc/self/fd/N` non-blocking never waits, even when the other end is gone.
#[cfg(unix)]
fn private_pipe(fd: std::os::fd::BorrowedFd<'_>, write: bool) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let file = std::fs::File::from(fd.try_clone_to_owned().ok()?);
    if !file.metadata().ok()?.file_type().is_fifo() {
        return None;
    }
    let reopened = std::fs::OpenOptions::new()
        .read(!write)
        .write(write)
        .custom_flags(libc::O_NONBLOCK)
        .open(format!("/proc/self/fd/{}", fd.as_raw_fd()));
    match reopened {
        Ok(file) => Some(file.into()),
        Err(err) => {
            tracing::debug!(cause = %err, write, "pipe not reopened; blocking stdio");
            None
        }
    }
}

impl tokio::io::AsyncRead for StdinReader {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            #[cfg(unix)]
            StdinReader::Pipe(pipe) => std::pin::Pin::new(pipe).poll_read(cx, buf),
            StdinReader::Blocking(stdin) => std::pin::Pin::new(stdin).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for StdoutWriter {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            #[cfg(unix)]
            StdoutWriter::Pipe(pipe) => std::pin::Pin::new(pipe).poll_write(cx, buf),
            StdoutWriter::Blocking(stdout) => std::pin::Pin::new(stdout).poll_write(cx, buf),
        }
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            #[cfg(unix)]
            StdoutWriter::Pipe(pipe) => std::pin::Pin::new(pipe).poll_flush(cx),
            StdoutWriter::Blocking(stdout) => std::pin::Pin::new(stdout).poll_flush(cx),
        }
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            #[cfg(unix)]
            StdoutWriter::Pipe(pipe) => std::pin::Pin::new(pipe).poll_shutdown(cx),
            StdoutWriter::Blocking(stdout) => std::pin::Pin::new(stdout).poll_shutdown(cx),
        }
    }
}
