//! Running keyring calls off the caller's thread, with a timeout.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use super::backend::{KeyringBackend, KeyringError};

/// How long one keyring call may take before it counts as a keyring error.
pub const KEYRING_TIMEOUT: Duration = Duration::from_secs(3);

/// A keyring backend and the timeout of its calls.
#[derive(Debug, Clone)]
pub struct KeyringCaller {
    backend: Arc<dyn KeyringBackend>,
    timeout: Duration,
}

impl KeyringCaller {
    /// Calls on `backend` with the default timeout.
    pub fn new(backend: Arc<dyn KeyringBackend>) -> Self {
        KeyringCaller {
            backend,
            timeout: KEYRING_TIMEOUT,
        }
    }

    /// The same caller with another timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The backend, for calls that must not wait (background reads).
    pub fn backend(&self) -> &Arc<dyn KeyringBackend> {
        &self.backend
    }

    /// Runs one backend call on a thread of its own and waits at most the timeout for it (a
    /// call still running then is left to finish on its own: a hung Secret Service cannot wedge
    /// the caller for longer).
    pub fn call<T, F>(&self, f: F) -> Result<T, KeyringError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn KeyringBackend) -> Result<T, KeyringError> + Send + 'static,
    {
        let backend = Arc::clone(&self.backend);
        let (sender, receiver) = mpsc::channel();
        std::thread::Builder::new()
            .name("keyring-call".to_owned())
            .spawn(move || {
                // The receiver may be gone after a timeout; nothing is left to tell.
                let _ = sender.send(f(backend.as_ref()));
            })
            .map_err(|err| {
                KeyringError::Failure(format!("cannot start a keyring thread: {err}"))
            })?;
        match receiver.recv_timeout(self.timeout) {
            Ok(result) => result,
            Err(mpsc::RecvTimeoutError::Timeout) => Err(KeyringError::Failure(format!(
                "the OS keyring did not answer within {} ms",
                self.timeout.as_millis()
            ))),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(KeyringError::Failure(
                "the keyring thread ended without an answer".to_owned(),
            )),
        }
    }
}
