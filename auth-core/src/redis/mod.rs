//! The `redis` credential store (AUTH.md §7.6): one login shared by many machines through a Redis
//! server, with a refresh lease, fenced writes and a fleet-wide failure record.
//!
//! Layout: this file opens the connection and runs every command on a small runtime of its own,
//! with a short deadline and a circuit breaker after a connection failure (0.5 s, 2 s after a
//! timeout), so the
//! synchronous store calls of the polling path never wait on Redis for long; `keys.rs` names the
//! keys and holds the Lua scripts; `store.rs` is the [`CredentialStore`](crate::store::CredentialStore);
//! `lease.rs` the [`Coordinator`](crate::coordination::Coordinator) and its lease.

mod keys;
mod lease;
mod store;
#[cfg(any(test, feature = "fake-issuer"))]
pub mod test_server;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use redis::RedisResult;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

pub use lease::{RedisCoordinator, RedisLease};
pub use store::RedisStore;

use crate::config::RedisConfig;
use keys::Keys;

/// Deadline of one command, and of opening a connection.
pub const COMMAND_TIMEOUT: Duration = Duration::from_millis(300);
/// After a connection failure, commands fail at once for this long instead of trying again.
pub const BREAKER: Duration = Duration::from_millis(500);
/// After a command timed out (a stalled or partitioned server), commands fail at once for this
/// long, so a poll pays the deadline at most once per window.
pub const BREAKER_AFTER_TIMEOUT: Duration = Duration::from_secs(2);

/// Why the Redis store cannot be opened. Fails startup; never carries the URL (it may hold a
/// password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenRedisError {
    /// No `[auth_redis] url` and no `REDIS_URL`.
    #[error(
        "cli_auth_credentials_store = \"redis\" needs [auth_redis] url (or the REDIS_URL environment variable)"
    )]
    MissingUrl,
    /// The URL does not parse or names an unsupported scheme.
    #[error("auth_redis.url is not a usable Redis URL: {0}")]
    BadUrl(String),
    /// The I/O runtime could not start.
    #[error("could not start the Redis I/O thread: {0}")]
    Runtime(String),
}

/// Opens the store `config` describes. No command is sent yet: an unreachable server is found
/// (and logged) by the first load, and never stops the server from starting.
pub fn open(config: &RedisConfig) -> Result<Arc<RedisStore>, OpenRedisError> {
    let url = config.url.as_ref().ok_or(OpenRedisError::MissingUrl)?;
    let shared = Shared::connect(url.expose(), &config.namespace, config.lease)?;
    Ok(Arc::new(RedisStore::new(Arc::new(shared))))
}

/// The connection, the runtime that drives it, and the circuit breaker; shared by the store, the
/// coordinator and held leases.
pub(crate) struct Shared {
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
    conn: ConnectionManager,
    keys: Keys,
    lease_ttl: Duration,
    down_until: Mutex<Option<Instant>>,
    /// The failure record's change number fetched with the last version check, for the record
    /// check that follows it in the same poll (one round trip per poll instead of two).
    fgen_seen: Mutex<Option<(Instant, Option<u64>)>>,
}

/// How long a change number fetched with the version check may stand in for a fetch of its own.
/// Every record check follows a version check within microseconds (`poll`, the re-read under the
/// lease); this bound only guards against a caller that did not.
const FGEN_REUSE: Duration = Duration::from_millis(20);

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisShared")
            .field("namespace", &self.keys.namespace)
            .field("lease_ttl", &self.lease_ttl)
            .finish_non_exhaustive()
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // May run inside another runtime: never block here.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A failed command, already phrased for logs (no secret: commands carry credentials, errors do
/// not quote them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure(pub(crate) String);

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Shared {
    fn connect(url: &str, namespace: &str, lease_ttl: Duration) -> Result<Shared, OpenRedisError> {
        let client = redis::Client::open(url).map_err(|e| OpenRedisError::BadUrl(describe(&e)))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("redis-io")
            .enable_all()
            .build()
            .map_err(|e| OpenRedisError::Runtime(e.to_string()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let conn = {
            let _entered = runtime.enter();
            ConnectionManager::new_lazy_with_config(client, config)
                .map_err(|e| OpenRedisError::BadUrl(describe(&e)))?
        };
        Ok(Shared {
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
            conn,
            keys: Keys::new(namespace),
            lease_ttl,
            down_until: Mutex::new(None),
            fgen_seen: Mutex::new(None),
        })
    }

    /// Runs `op` on the Redis runtime and waits (blocking this thread) at most
    /// [`COMMAND_TIMEOUT`] for it.
    pub(crate) fn block<T, F>(&self, what: &'static str, op: F) -> Result<T, Failure>
    where
        T: Send + 'static,
        F: FnOnce(ConnectionManager) -> Fut<T> + Send + 'static,
    {
        self.breaker(what)?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let conn = self.conn.clone();
        self.handle.spawn(async move {
            let _ = tx.send(tokio::time::timeout(COMMAND_TIMEOUT, op(conn)).await);
        });
        let result = rx
            .recv_timeout(COMMAND_TIMEOUT + Duration::from_millis(50))
            .unwrap_or_else(|_| Ok(Err(timed_out())));
        self.settle(what, result.unwrap_or_else(|_| Err(timed_out())))
    }

    /// Runs a delete `script` over the credential hash and its change counter (blocking, as
    /// [`Shared::block`]); whether it removed anything.
    pub(crate) fn delete_with(
        &self,
        what: &'static str,
        script: &'static redis::Script,
    ) -> Result<bool, Failure> {
        let keys = self.keys.clone();
        let removed: u64 = self.block(what, move |mut conn| {
            Box::pin(async move {
                script
                    .key(&keys.auth)
                    .key(&keys.seq)
                    .invoke_async(&mut conn)
                    .await
            })
        })?;
        Ok(removed != 0)
    }

    /// Runs `op` on the Redis runtime and awaits it for at most [`COMMAND_TIMEOUT`].
    pub(crate) async fn run<T, F>(&self, what: &'static str, op: F) -> Result<T, Failure>
    where
        T: Send + 'static,
        F: FnOnce(ConnectionManager) -> Fut<T> + Send + 'static,
    {
        self.breaker(what)?;
        let conn = self.conn.clone();
        let task = self
            .handle
            .spawn(async move { tokio::time::timeout(COMMAND_TIMEOUT, op(conn)).await });
        let result = match task.await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) | Err(_) => Err(timed_out()),
        };
        self.settle(what, result)
    }

    /// Remembers the record's change number fetched together with the version.
    pub(crate) fn saw_fgen(&self, fgen: Option<u64>) {
        *self.fgen_seen.lock() = Some((Instant::now(), fgen));
    }

    /// The change number of the last version check, once, if it was fetched just now.
    pub(crate) fn take_fgen(&self) -> Option<Option<u64>> {
        match self.fgen_seen.lock().take() {
            Some((at, fgen)) if at.elapsed() < FGEN_REUSE => Some(fgen),
            _ => None,
        }
    }

    /// Spawns `op` on the Redis runtime without waiting (lease release).
    pub(crate) fn detach<F>(&self, op: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.handle.spawn(op);
    }

    fn breaker(&self, what: &'static str) -> Result<(), Failure> {
        match *self.down_until.lock() {
            Some(until) if Instant::now() < until => Err(Failure(format!(
                "redis {what}: server unreachable (retrying within {} ms)",
                until.saturating_duration_since(Instant::now()).as_millis()
            ))),
            _ => Ok(()),
        }
    }

    fn settle<T>(&self, what: &'static str, result: RedisResult<T>) -> Result<T, Failure> {
        match result {
            Ok(value) => {
                *self.down_until.lock() = None;
                Ok(value)
            }
            Err(err) => {
                let unreachable = err.is_io_error()
                    || err.is_timeout()
                    || err.is_connection_dropped()
                    || err.is_connection_refusal();
                if unreachable {
                    let window = if err.is_timeout() {
                        BREAKER_AFTER_TIMEOUT
                    } else {
                        BREAKER
                    };
                    *self.down_until.lock() = Some(Instant::now() + window);
                }
                Err(Failure(format!("redis {what}: {}", describe(&err))))
            }
        }
    }
}

/// The boxed future of one command sequence.
pub(crate) type Fut<T> = futures::future::BoxFuture<'static, RedisResult<T>>;

fn timed_out() -> redis::RedisError {
    redis::RedisError::from(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("no answer within {} ms", COMMAND_TIMEOUT.as_millis()),
    ))
}

/// An error's text: the crate's messages name the failure, never the URL or a value sent.
fn describe(err: &redis::RedisError) -> String {
    err.to_string()
}

#[cfg(test)]
mod tests;
