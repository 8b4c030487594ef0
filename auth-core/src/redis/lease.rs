//! [`RedisCoordinator`]: the refresh lease (`SET NX PX`, renewed by its holder while the token
//! request runs, released only by its holder) and the fleet-wide failure record.

use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;

use super::keys::{DELETE_FAILURE, RELEASE, RENEW, SAVE_FAILURE};
use super::store::shared_error;
use super::{Failure, Shared};
use crate::coordination::{CoordFuture, Coordinator, Lease, LeaseError, LeaseOutcome};
use crate::failure_record::{self, FailureRecord};
use crate::store::{Stamp, StoreError};

/// First pause between lease attempts.
const FIRST_DELAY: Duration = Duration::from_millis(25);
/// Longest pause between lease attempts.
const MAX_DELAY: Duration = Duration::from_millis(250);

/// Lease and failure record of one Redis namespace.
#[derive(Debug, Clone)]
pub struct RedisCoordinator {
    shared: Arc<Shared>,
}

/// A held refresh lease: renewed every third of its lifetime until dropped, then released with
/// a compare-and-delete (a lease that expired and was taken by another holder is left alone).
#[derive(Debug)]
pub struct RedisLease {
    shared: Arc<Shared>,
    token: String,
    renewer: tokio::task::JoinHandle<()>,
}

impl Drop for RedisLease {
    fn drop(&mut self) {
        self.renewer.abort();
        let mut conn = self.shared.conn.clone();
        let key = self.shared.keys.lease.clone();
        let token = std::mem::take(&mut self.token);
        self.shared.detach(async move {
            let released: redis::RedisResult<u64> =
                RELEASE.key(key).arg(token).invoke_async(&mut conn).await;
            if let Err(err) = released {
                tracing::debug!(target: "auth_core", error = %err, "redis lease release failed; it expires by itself");
            }
        });
    }
}

impl RedisCoordinator {
    pub(crate) fn new(shared: Arc<Shared>) -> RedisCoordinator {
        RedisCoordinator { shared }
    }

    /// One `SET lease token NX PX ttl`; true if taken.
    async fn try_take(&self, token: &str) -> Result<bool, Failure> {
        let key = self.shared.keys.lease.clone();
        let token = token.to_owned();
        let ttl = self.shared.lease_ttl.as_millis() as u64;
        let answer: Option<String> = self
            .shared
            .run("lease", move |mut conn| {
                Box::pin(async move {
                    redis::cmd("SET")
                        .arg(key)
                        .arg(token)
                        .arg("NX")
                        .arg("PX")
                        .arg(ttl)
                        .query_async(&mut conn)
                        .await
                })
            })
            .await?;
        Ok(answer.is_some())
    }

    fn renewer(&self, token: String) -> tokio::task::JoinHandle<()> {
        let mut conn = self.shared.conn.clone();
        let key = self.shared.keys.lease.clone();
        let ttl = self.shared.lease_ttl;
        self.shared.handle.spawn(async move {
            loop {
                tokio::time::sleep(ttl / 3).await;
                let renewed: redis::RedisResult<u64> = RENEW
                    .key(&key)
                    .arg(&token)
                    .arg(ttl.as_millis() as u64)
                    .invoke_async(&mut conn)
                    .await;
                match renewed {
                    Ok(1) => {}
                    Ok(_) => {
                        tracing::warn!(target: "auth_core", decision = "lease_lost",
                            "the redis refresh lease expired while held; the save will be fenced");
                        return;
                    }
                    Err(err) => {
                        tracing::warn!(target: "auth_core", error = %err, "could not renew the redis refresh lease");
                    }
                }
            }
        })
    }
}

impl Coordinator for RedisCoordinator {
    fn acquire(&self, wait: Duration) -> CoordFuture<'_, Result<LeaseOutcome, LeaseError>> {
        Box::pin(async move {
            let token = format!("{}:{}", std::process::id(), uuid::Uuid::new_v4());
            let deadline = tokio::time::Instant::now() + wait;
            let mut delay = FIRST_DELAY;
            loop {
                match self.try_take(&token).await {
                    Ok(true) => {
                        let renewer = self.renewer(token.clone());
                        return Ok(LeaseOutcome::Held(Lease::redis(RedisLease {
                            shared: Arc::clone(&self.shared),
                            token,
                            renewer,
                        })));
                    }
                    Ok(false) => {}
                    Err(failure) => {
                        return Err(LeaseError::Unavailable(format!(
                            "cannot take the refresh lease: {failure}"
                        )));
                    }
                }
                let now = tokio::time::Instant::now();
                if now >= deadline {
                    return Err(LeaseError::Timeout(wait));
                }
                tokio::time::sleep(delay.min(deadline - now)).await;
                delay = (delay * 2).min(MAX_DELAY);
            }
        })
    }

    fn load_failure(&self) -> Option<FailureRecord> {
        let key = self.shared.keys.auth.clone();
        let text: Option<String> = self
            .shared
            .block("failure record", move |mut conn| {
                Box::pin(async move { conn.hget(key, "failure").await })
            })
            .ok()?;
        failure_record::decode(text?.as_bytes())
    }

    fn save_failure(&self, record: &FailureRecord) -> Result<(), StoreError> {
        let keys = self.shared.keys.clone();
        let fp = record.fingerprint.to_hex();
        let bytes = failure_record::encode(record);
        let _: u64 = self
            .shared
            .block("failure record", move |mut conn| {
                Box::pin(async move {
                    SAVE_FAILURE
                        .key(&keys.auth)
                        .key(&keys.seq)
                        .arg(fp)
                        .arg(bytes)
                        .invoke_async(&mut conn)
                        .await
                })
            })
            .map_err(shared_error)?;
        Ok(())
    }

    fn delete_failure(&self) -> Result<bool, StoreError> {
        self.shared
            .delete_with("failure record", &DELETE_FAILURE)
            .map_err(shared_error)
    }

    fn failure_stamp(&self) -> Option<Stamp> {
        if let Some(fgen) = self.shared.take_fgen() {
            return Some(fgen.map_or(Stamp::Missing, Stamp::Version));
        }
        let key = self.shared.keys.auth.clone();
        let generation: Option<u64> = self
            .shared
            .block("failure check", move |mut conn| {
                Box::pin(async move { conn.hget(key, "fgen").await })
            })
            .ok()?;
        Some(generation.map_or(Stamp::Missing, Stamp::Version))
    }
}
