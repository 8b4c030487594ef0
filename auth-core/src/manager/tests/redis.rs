//! The manager over the Redis store (AUTH.md §7.6) against a real `redis-server`: the fenced
//! save in the window between the post-request re-read and the write, changes seen on the next
//! poll, and a refresh that cannot take the lease.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::support::*;
use crate::auth_json::StoredAuth;
use crate::config::{RedisConfig, StoreMode};
use crate::coordination::Coordinator;
use crate::error::{RefreshError, TransientError};
use crate::fingerprint::Fingerprint;
use crate::manager::{AuthManager, RefreshOutcome, Trigger};
use crate::redis::RedisStore;
use crate::redis::test_server::RedisServer;
use crate::secret::Secret;
use crate::store::{CredentialStore, Stamp, StoreError};

fn server() -> RedisServer {
    RedisServer::start().unwrap_or_else(|e| panic!("{e}"))
}

fn store(redis: &RedisServer) -> Arc<RedisStore> {
    crate::redis::open(&RedisConfig {
        url: Some(Secret::new(redis.url())),
        namespace: "m".to_owned(),
        lease: Duration::from_secs(2),
    })
    .unwrap()
}

fn chatgpt(tag: &str, exp: i64, rt: &str) -> StoredAuth {
    crate::auth_json::parse(chatgpt_json(&access(tag, exp), rt).as_bytes()).unwrap()
}

fn options(fx: &Fixture, store: Arc<dyn CredentialStore>) -> crate::manager::ManagerOptions {
    let mut opts = fx.options();
    opts.config.store_mode = StoreMode::Redis;
    opts.store = Some(store);
    opts
}

/// Another machine stores `newer` right before this machine's first fenced write: the write
/// lands after the manager's post-request re-read, the window only the fence closes.
#[derive(Debug)]
struct Racing {
    inner: Arc<RedisStore>,
    other: Arc<RedisStore>,
    newer: StoredAuth,
    fired: AtomicBool,
}

impl CredentialStore for Racing {
    fn load(&self) -> Result<Option<StoredAuth>, StoreError> {
        self.inner.load()
    }
    fn save(&self, auth: &StoredAuth) -> Result<(), StoreError> {
        self.inner.save(auth)
    }
    fn replace(&self, expected: Fingerprint, auth: &StoredAuth) -> Result<bool, StoreError> {
        if !self.fired.swap(true, Ordering::SeqCst) {
            self.other.save(&self.newer)?;
        }
        self.inner.replace(expected, auth)
    }
    fn delete(&self) -> Result<bool, StoreError> {
        self.inner.delete()
    }
    fn stamp(&self) -> Option<Stamp> {
        self.inner.stamp()
    }
    fn kind(&self) -> &'static str {
        "redis"
    }
    fn coordinator(&self) -> Option<Arc<dyn Coordinator>> {
        self.inner.coordinator()
    }
}

#[tokio::test]
async fn a_save_over_credentials_replaced_meanwhile_is_refused_and_theirs_adopted() {
    let redis = server();
    let fx = Fixture::new().await;
    let other = store(&redis);
    other.save(&chatgpt("old", T0 - 60, "rt-old")).unwrap();
    let ours = fx.token_ok("ours", "rt-ours");
    let newer = chatgpt("theirs", T0 + 3600, "rt-theirs");
    let racing = Arc::new(Racing {
        inner: store(&redis),
        other: Arc::clone(&other),
        newer: newer.clone(),
        fired: AtomicBool::new(false),
    });
    let manager = AuthManager::new(options(&fx, racing)).unwrap();
    let outcome = manager.refresh(Trigger::Proactive).await.unwrap();
    assert!(
        matches!(outcome, RefreshOutcome::Adopted { .. }),
        "{outcome:?}"
    );
    assert_eq!(other.load().unwrap(), Some(newer.clone()), "theirs kept");
    let view = manager.current_view();
    assert_eq!(
        view.usable_bearer(),
        Some(access("theirs", T0 + 3600).as_str())
    );
    assert_ne!(view.usable_bearer(), Some(ours.as_str()));
    assert_eq!(fx.token_requests(), 1);
}

#[tokio::test]
async fn a_refresh_on_one_machine_is_served_by_another_on_its_next_poll() {
    let redis = server();
    let fx = Fixture::new().await;
    store(&redis)
        .save(&chatgpt("old", T0 - 60, "rt-old"))
        .unwrap();
    let new = fx.token_ok("new", "rt-new");
    let a = AuthManager::new(options(&fx, store(&redis))).unwrap();
    let b = AuthManager::new(options(&fx, store(&redis))).unwrap();
    assert_eq!(
        a.refresh(Trigger::Proactive).await.unwrap(),
        RefreshOutcome::Refreshed
    );
    assert_eq!(b.current_view().usable_bearer(), Some(new.as_str()));
    // B's own proactive check finds nothing left to do
    assert_eq!(
        b.view_refreshed_if_stale().await.usable_bearer(),
        Some(new.as_str())
    );
    assert_eq!(fx.token_requests(), 1);
}

#[tokio::test]
async fn without_redis_the_cached_token_is_served_and_a_refresh_fails_as_transient() {
    let mut redis = server();
    let fx = Fixture::new().await;
    let fresh = chatgpt("cached", T0 + 3600, "rt-cached");
    store(&redis).save(&fresh).unwrap();
    let manager = AuthManager::new(options(&fx, store(&redis))).unwrap();
    let token = access("cached", T0 + 3600);
    assert_eq!(manager.current_view().usable_bearer(), Some(token.as_str()));
    redis.kill();
    let started = std::time::Instant::now();
    for _ in 0..20 {
        assert_eq!(manager.current_view().usable_bearer(), Some(token.as_str()));
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    match manager.refresh(Trigger::Forced).await {
        Err(RefreshError::Transient {
            kind: TransientError::Coordination(why),
            retry_at: None,
        }) => assert!(
            why.starts_with("cannot take the refresh lease: redis"),
            "{why}"
        ),
        other => panic!("expected a transient lease failure, got {other:?}"),
    }
    let err = RefreshError::Transient {
        kind: TransientError::Coordination("x".into()),
        retry_at: None,
    };
    assert_eq!(err.to_string(), "shared credential store unavailable: x");
    assert_eq!(manager.current_view().usable_bearer(), Some(token.as_str()));
    assert_eq!(fx.token_requests(), 0);
}

#[tokio::test]
async fn a_stalled_redis_costs_the_polling_path_one_short_deadline_per_breaker_window() {
    let redis = server();
    let fx = Fixture::new().await;
    store(&redis)
        .save(&chatgpt("cached", T0 + 3600, "rt-cached"))
        .unwrap();
    let manager = AuthManager::new(options(&fx, store(&redis))).unwrap();
    let token = access("cached", T0 + 3600);
    assert_eq!(manager.current_view().usable_bearer(), Some(token.as_str()));
    // SIGSTOP: the server accepts nothing and answers nothing, like a partition
    let pid = redis.pid().unwrap().to_string();
    let stop = |sig: &str| {
        assert!(
            std::process::Command::new("kill")
                .args([sig, &pid])
                .status()
                .unwrap()
                .success()
        )
    };
    stop("-STOP");
    let started = std::time::Instant::now();
    for _ in 0..50 {
        assert_eq!(manager.current_view().usable_bearer(), Some(token.as_str()));
    }
    let elapsed = started.elapsed();
    stop("-CONT");
    assert!(
        elapsed < crate::redis::COMMAND_TIMEOUT * 3,
        "50 polls took {elapsed:?}"
    );
    assert!(
        elapsed >= crate::redis::COMMAND_TIMEOUT,
        "the first poll waited for the deadline: {elapsed:?}"
    );
}

/// Commands the server counted for `name` (`INFO commandstats`).
fn calls(redis: &RedisServer, name: &str) -> u64 {
    let info = redis.command("INFO commandstats").unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("cmdstat_{name}:calls=")))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

#[tokio::test]
async fn an_unchanged_poll_costs_one_round_trip() {
    let redis = server();
    let fx = Fixture::new().await;
    store(&redis)
        .save(&chatgpt("cached", T0 + 3600, "rt-cached"))
        .unwrap();
    let manager = AuthManager::new(options(&fx, store(&redis))).unwrap();
    assert_eq!(redis.command("CONFIG RESETSTAT").unwrap().trim(), "+OK");
    for _ in 0..100 {
        assert!(manager.current_view().usable_bearer().is_some());
    }
    assert_eq!(calls(&redis, "hmget"), 100, "one version check per poll");
    assert_eq!(
        calls(&redis, "hget"),
        0,
        "no load, no separate record check"
    );
    assert_eq!(calls(&redis, "evalsha"), 0);
}
