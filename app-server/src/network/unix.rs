//! The unix-socket listener (`unix://`, `unix://PATH`; PROTOCOL.md §7): many connections, each
//! one connection of [`crate::connection`] in the stdio dialect, newline-delimited. A client
//! that opens with a WebSocket frame instead (Codex's own control-socket framing: WebSocket
//! frames over the raw socket, no HTTP) is served as a WebSocket.
//!
//! The default path is `$CODEX_HOME/app-server-control/app-server-control.sock`. The directory
//! is created 0700 (the default one is also set to 0700 if it exists), the socket is 0600; a
//! socket left by a dead server is replaced, a live one is refused, and the socket file is
//! removed at shutdown.

use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::{NetworkError, Shared};
use crate::connection;
use crate::input_hint::Hinted;
use crate::transport::{LineReader, write_loop};

const SOCKET_DIR: &str = "app-server-control";
const SOCKET_FILE: &str = "app-server-control.sock";
const DIR_MODE: u32 = 0o700;
const SOCKET_MODE: u32 = 0o600;

/// The default control socket of `codex_home`.
pub fn default_path(codex_home: &Path) -> PathBuf {
    codex_home.join(SOCKET_DIR).join(SOCKET_FILE)
}

/// Removes the socket file when the listener is done.
pub(super) struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        match std::fs::remove_file(&self.0) {
            Ok(()) => {}
            Err(err) if err.kind() == ErrorKind::NotFound => {}
            Err(err) => {
                tracing::warn!(path = %self.0.display(), cause = %err, "cannot remove the socket")
            }
        }
    }
}

/// Prepares the directory, replaces a stale socket, binds and sets the mode 0600.
pub(super) async fn bind(
    path: &Path,
    is_default: bool,
) -> Result<(UnixListener, SocketFile), NetworkError> {
    let failed = |source: std::io::Error| NetworkError::Unix {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        private_directory(parent, is_default).map_err(failed)?;
    }
    match UnixStream::connect(path).await {
        Ok(_live) => return Err(NetworkError::UnixInUse(path.to_path_buf())),
        Err(err) if err.kind() == ErrorKind::NotFound => {}
        Err(err) => match std::fs::symlink_metadata(path) {
            Err(missing) if missing.kind() == ErrorKind::NotFound => {}
            Err(other) => return Err(failed(other)),
            Ok(meta) if meta.file_type().is_socket() => {
                tracing::info!(path = %path.display(), cause = %err, "replacing a stale socket");
                std::fs::remove_file(path).map_err(failed)?;
            }
            Ok(_) => return Err(NetworkError::UnixNotSocket(path.to_path_buf())),
        },
    }
    let listener = UnixListener::bind(path).map_err(failed)?;
    let file = SocketFile(path.to_path_buf());
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(SOCKET_MODE)).map_err(failed)?;
    Ok((listener, file))
}

fn private_directory(dir: &Path, is_default: bool) -> std::io::Result<()> {
    match std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
    {
        Ok(()) => {}
        Err(err) if err.kind() == ErrorKind::AlreadyExists => {}
        Err(err) => return Err(err),
    }
    let meta = std::fs::symlink_metadata(dir)?;
    if !meta.is_dir() {
        return Err(std::io::Error::new(
            ErrorKind::AlreadyExists,
            format!("socket directory {} is not a directory", dir.display()),
        ));
    }
    // The default directory is ours: make it private whatever it was. A directory the user
    // named (say /tmp) is left as it is; the socket itself is 0600.
    if is_default && meta.permissions().mode() & 0o777 != DIR_MODE {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE))?;
    }
    Ok(())
}

/// Accepts connections until shutdown.
pub(super) async fn accept(listener: UnixListener, file: SocketFile, shared: Arc<Shared>) {
    let _file = file;
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    tracing::warn!(cause = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = shared.shutdown.cancelled() => break,
        };
        let Ok(slot) = Arc::clone(&shared.slots).try_acquire_owned() else {
            tracing::warn!(
                limit = super::MAX_CONNECTIONS,
                "connection refused: too many open"
            );
            continue;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let _slot = slot;
            serve(stream, &shared).await;
        });
    }
    tracing::info!("unix socket listener closed");
}

/// Whether the first byte read opens a WebSocket frame: FIN set, no reserved bits (JSON text
/// starts with ASCII, a UTF-8 byte-order mark with 0xEF).
fn opens_websocket_frame(first: u8) -> bool {
    first & 0xF0 == 0x80
}

async fn serve(stream: UnixStream, shared: &Shared) {
    let mut stream = Hinted(stream);
    let mut first = vec![0u8; 4096];
    let read = tokio::select! {
        read = stream.read(&mut first) => read,
        () = shared.shutdown.cancelled() => return,
    };
    let read = match read {
        Ok(0) => return,
        Ok(read) => read,
        Err(err) => {
            tracing::debug!(cause = %err, "unix socket read failed");
            return;
        }
    };
    first.truncate(read);
    if first.first().copied().is_some_and(opens_websocket_frame) {
        let stream = WebSocketStream::from_partially_read(
            stream,
            first,
            Role::Server,
            Some(super::websocket::config()),
        )
        .await;
        super::websocket::serve(stream, shared).await;
        return;
    }
    let (reader, writer) = stream.0.into_split();
    let reader =
        BufReader::with_capacity(8 * 1024, std::io::Cursor::new(first).chain(Hinted(reader)));
    let served = connection::serve(
        shared.state.clone(),
        LineReader::new(reader),
        |outbox| write_loop(writer, outbox),
        shared.options(),
    )
    .await;
    match served {
        Ok(()) => tracing::info!("unix socket client disconnected"),
        Err(err) => tracing::info!(cause = %err, "unix socket connection ended"),
    }
}

#[cfg(test)]
mod tests {
    use super::opens_websocket_frame;

    #[test]
    fn json_text_never_looks_like_a_websocket_frame() {
        for first in [b'{', b' ', b'\n', b'[', 0xEF] {
            assert!(!opens_websocket_frame(first), "{first:#x}");
        }
        for first in [0x81, 0x82, 0x88, 0x89] {
            assert!(opens_websocket_frame(first), "{first:#x}");
        }
    }
}
