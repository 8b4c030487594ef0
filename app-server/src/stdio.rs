//! The process's own stdin and stdout for the stdio server, as pipes driven by the reactor
//! where possible: tokio's `stdin()`/`stdout()` hop to the blocking thread pool for every read
//! and write, which dominated the cost of a `getAuthStatus`.

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

/// stdin and stdout for [`crate::run`], as pipes driven by the reactor where possible (a hop to
/// the blocking pool per read and per write dominated the cost of a `getAuthStatus`). stdout
/// stays blocking when stderr shares its open file (`2>&1`): making it non-blocking would make
/// log writes fail when the pipe is full. Must be called inside the tokio runtime.
pub fn stdio() -> (StdinReader, StdoutWriter) {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let input = std::io::stdin()
            .as_fd()
            .try_clone_to_owned()
            .ok()
            .and_then(|fd| tokio::net::unix::pipe::Receiver::from_owned_fd(fd).ok());
        let output = match shares_stderr() {
            true => None,
            false => std::io::stdout()
                .as_fd()
                .try_clone_to_owned()
                .ok()
                .and_then(|fd| tokio::net::unix::pipe::Sender::from_owned_fd(fd).ok()),
        };
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

/// Whether stdout and stderr are the same pipe (then stdout must stay blocking).
#[cfg(unix)]
fn shares_stderr() -> bool {
    use std::os::unix::fs::MetadataExt;
    let meta = |fd: std::os::fd::BorrowedFd<'_>| {
        fd.try_clone_to_owned()
            .map(std::fs::File::from)
            .and_then(|f| f.metadata())
            .map(|m| (m.dev(), m.ino()))
    };
    use std::os::fd::AsFd;
    match (
        meta(std::io::stdout().as_fd()),
        meta(std::io::stderr().as_fd()),
    ) {
        (Ok(out), Ok(err)) => out == err,
        _ => true,
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
