//! [`RedisStore`]: the credentials of one namespace, read and written with fenced scripts.

use std::sync::Arc;

use redis::AsyncCommands;

use super::keys::{DELETE, SAVE};
use super::{RedisCoordinator, Shared};
use crate::auth_json::{StoredAuth, parse};
use crate::coordination::Coordinator;
use crate::fingerprint::Fingerprint;
use crate::store::{CredentialStore, Stamp, StoreError};

/// Credentials in Redis under `{namespace}:auth`, shared by every machine of one login.
#[derive(Debug, Clone)]
pub struct RedisStore {
    shared: Arc<Shared>,
}

impl RedisStore {
    pub(crate) fn new(shared: Arc<Shared>) -> RedisStore {
        RedisStore { shared }
    }

    /// Runs [`SAVE`] with `expected` (`None`: unconditional); true if written.
    fn write(&self, expected: Option<Fingerprint>, auth: &StoredAuth) -> Result<bool, StoreError> {
        let keys = self.shared.keys.clone();
        let expected = expected.map(|fp| fp.to_hex()).unwrap_or_default();
        let fp = auth.fingerprint().to_hex();
        let json = auth.to_compact_json();
        let version: u64 = self
            .shared
            .block("save", move |mut conn| {
                Box::pin(async move {
                    SAVE.key(&keys.auth)
                        .key(&keys.seq)
                        .arg(expected)
                        .arg(fp)
                        .arg(json)
                        .invoke_async(&mut conn)
                        .await
                })
            })
            .map_err(shared_error)?;
        Ok(version != 0)
    }
}

impl CredentialStore for RedisStore {
    fn load(&self) -> Result<Option<StoredAuth>, StoreError> {
        let key = self.shared.keys.auth.clone();
        let json: Option<String> = self
            .shared
            .block("load", move |mut conn| {
                Box::pin(async move { conn.hget(key, "auth").await })
            })
            .map_err(shared_error)?;
        match json {
            Some(json) => Ok(Some(parse(json.as_bytes())?)),
            None => Ok(None),
        }
    }

    fn save(&self, auth: &StoredAuth) -> Result<(), StoreError> {
        self.write(None, auth).map(|_| ())
    }

    fn replace(&self, expected: Fingerprint, auth: &StoredAuth) -> Result<bool, StoreError> {
        self.write(Some(expected), auth)
    }

    fn delete(&self) -> Result<bool, StoreError> {
        self.shared
            .delete_with("delete", &DELETE)
            .map_err(shared_error)
    }

    /// The per-poll change check: one `HMGET` of the version and of the failure record's change
    /// number (kept for the record check that follows). `None` while Redis is unreachable.
    fn stamp(&self) -> Option<Stamp> {
        let key = self.shared.keys.auth.clone();
        let (version, fgen): (Option<u64>, Option<u64>) = self
            .shared
            .block("version check", move |mut conn| {
                Box::pin(async move {
                    redis::cmd("HMGET")
                        .arg(key)
                        .arg("v")
                        .arg("fgen")
                        .query_async(&mut conn)
                        .await
                })
            })
            .ok()?;
        self.shared.saw_fgen(fgen);
        Some(version.map_or(Stamp::Missing, Stamp::Version))
    }

    fn kind(&self) -> &'static str {
        "redis"
    }

    fn coordinator(&self) -> Option<Arc<dyn Coordinator>> {
        Some(Arc::new(RedisCoordinator::new(Arc::clone(&self.shared))))
    }
}

pub(crate) fn shared_error(failure: super::Failure) -> StoreError {
    StoreError::Shared(failure.0)
}
