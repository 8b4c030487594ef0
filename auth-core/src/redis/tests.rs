//! The Redis store and coordinator against a real `redis-server` (one per test).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use pretty_assertions::assert_eq;

use super::test_server::RedisServer;
use super::{OpenRedisError, RedisStore, open};
use crate::auth_json::StoredAuth;
use crate::classify::FailureReason;
use crate::config::RedisConfig;
use crate::coordination::{Coordinator, LeaseError, LeaseOutcome};
use crate::failure_record::FailureRecord;
use crate::secret::Secret;
use crate::store::{CredentialStore, Stamp, StoreError};

fn server() -> RedisServer {
    RedisServer::start().unwrap_or_else(|e| panic!("{e}"))
}

fn config(url: &str, lease: Duration) -> RedisConfig {
    RedisConfig {
        url: Some(Secret::new(url)),
        namespace: "t".to_owned(),
        lease,
    }
}

fn store_at(url: &str) -> Arc<RedisStore> {
    open(&config(url, Duration::from_millis(600))).unwrap()
}

fn key(value: &str) -> StoredAuth {
    StoredAuth::api_key(Secret::new(value))
}

fn record(auth: &StoredAuth) -> FailureRecord {
    FailureRecord {
        fingerprint: auth.fingerprint(),
        reason: FailureReason::Exhausted,
        http_status: Some(401),
        backend_code: Some("refresh_token_reused".into()),
        recorded_at: Utc::now(),
        recorded_by_pid: 7,
    }
}

async fn held(coord: &dyn Coordinator, wait: Duration) -> crate::coordination::Lease {
    match coord.acquire(wait).await.unwrap() {
        LeaseOutcome::Held(lease) => lease,
        LeaseOutcome::Degraded(err) => panic!("degraded: {err}"),
    }
}

#[test]
fn round_trip_versions_and_fenced_replace() {
    let redis = server();
    let store = store_at(&redis.url());
    assert_eq!(store.kind(), "redis");
    assert_eq!(store.load().unwrap(), None);
    assert_eq!(store.stamp(), Some(Stamp::Missing));
    assert!(!store.delete().unwrap());

    let a = key("sk-a");
    store.save(&a).unwrap();
    assert_eq!(store.load().unwrap(), Some(a.clone()));
    let first = store.stamp().unwrap();
    assert!(matches!(first, Stamp::Version(_)));
    assert!(first.is_trusted(std::time::SystemTime::now()));
    assert_eq!(store.stamp(), Some(first), "no write, same version");

    // a fenced write over the wrong snapshot is refused and changes nothing
    let b = key("sk-b");
    assert!(!store.replace(b.fingerprint(), &b).unwrap());
    assert_eq!(store.load().unwrap(), Some(a.clone()));
    assert_eq!(store.stamp(), Some(first));
    // over the stored one it succeeds and moves the version
    assert!(store.replace(a.fingerprint(), &b).unwrap());
    assert_eq!(store.load().unwrap(), Some(b.clone()));
    let second = store.stamp().unwrap();
    assert_ne!(second, first);

    // another machine (another store on the same namespace) sees it; other namespaces do not
    let other = store_at(&redis.url());
    assert_eq!(other.load().unwrap(), Some(b.clone()));
    let elsewhere = open(&RedisConfig {
        namespace: "other".to_owned(),
        ..config(&redis.url(), Duration::from_secs(1))
    })
    .unwrap();
    assert_eq!(elsewhere.load().unwrap(), None);

    assert!(other.delete().unwrap());
    assert_eq!(store.load().unwrap(), None);
    assert_eq!(store.stamp(), Some(Stamp::Missing));
    // a write after a delete never reuses an old version
    store.save(&a).unwrap();
    let third = store.stamp().unwrap();
    assert!(third != first && third != second);
    // what is stored is the compact JSON under the braced namespace key, nothing else
    let keys = redis.command("KEYS *").unwrap();
    assert!(
        keys.contains("{t}:auth") && keys.contains("{t}:seq"),
        "{keys}"
    );
}

#[test]
fn the_failure_record_is_shared_and_cleared_by_a_write() {
    let redis = server();
    let store = store_at(&redis.url());
    let coord = store.coordinator().unwrap();
    let a = key("sk-a");
    assert_eq!(coord.failure_stamp(), Some(Stamp::Missing));
    store.save(&a).unwrap();
    let before = coord.failure_stamp().unwrap();
    assert_eq!(coord.load_failure(), None);

    // a record naming other credentials is not stored
    coord.save_failure(&record(&key("sk-other"))).unwrap();
    assert_eq!(coord.load_failure(), None);
    assert_eq!(coord.failure_stamp(), Some(before));

    let rec = record(&a);
    coord.save_failure(&rec).unwrap();
    let recorded = coord.failure_stamp().unwrap();
    assert_ne!(recorded, before);
    let sibling = store_at(&redis.url()).coordinator().unwrap();
    assert_eq!(sibling.load_failure(), Some(rec.clone()));

    // new credentials clear it, and the stamp moves so every machine notices
    store.save(&key("sk-new")).unwrap();
    assert_eq!(sibling.load_failure(), None);
    assert_ne!(coord.failure_stamp(), Some(recorded));

    store.save(&a).unwrap();
    coord.save_failure(&rec).unwrap();
    assert!(coord.delete_failure().unwrap());
    assert!(!coord.delete_failure().unwrap());
    assert_eq!(coord.load_failure(), None);
    // the record holds no token
    coord.save_failure(&rec).unwrap();
    let raw = redis.command("HGET {t}:auth failure").unwrap();
    assert!(
        raw.contains("\"reason\":\"exhausted\"") && !raw.contains("sk-a"),
        "{raw}"
    );
}

#[tokio::test]
async fn the_lease_excludes_is_renewed_and_released_only_by_its_holder() {
    let redis = server();
    // 600 ms leases: renewal every 200 ms
    let a = store_at(&redis.url()).coordinator().unwrap();
    let b = store_at(&redis.url()).coordinator().unwrap();
    let lease = held(a.as_ref(), Duration::from_secs(1)).await;
    let started = Instant::now();
    assert_eq!(
        b.acquire(Duration::from_millis(1500)).await.unwrap_err(),
        LeaseError::Timeout(Duration::from_millis(1500)),
        "renewed past two lifetimes"
    );
    assert!(started.elapsed() >= Duration::from_millis(1500));
    drop(lease);
    let started = Instant::now();
    let lease_b = held(b.as_ref(), Duration::from_secs(2)).await;
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "released at drop"
    );
    drop(lease_b);

    // a lease taken over after expiry is not released by the old holder's token
    redis.command("SET {t}:lease stale-holder PX 100").unwrap();
    let mut lease_c = None;
    for _ in 0..50 {
        if let Ok(LeaseOutcome::Held(l)) = a.acquire(Duration::from_millis(50)).await {
            lease_c = Some(l);
            break;
        }
    }
    let lease_c = lease_c.expect("lease after the stale one expired");
    let holder = redis.command("GET {t}:lease").unwrap();
    assert!(!holder.contains("stale-holder"), "{holder}");
    let release = redis
        .command("EVAL \"if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0\" 1 {t}:lease stale-holder")
        .unwrap();
    assert_eq!(release.trim(), ":0");
    assert!(!redis.command("GET {t}:lease").unwrap().starts_with("$-1"));
    drop(lease_c);
}

#[tokio::test]
async fn an_unreachable_server_fails_fast_and_leaks_no_password() {
    let mut redis = server();
    let url = format!("redis://fleet:pw-secret@127.0.0.1:{}/0", redis.port());
    redis.kill();
    let store = store_at(&url);
    let started = Instant::now();
    let err = store.load().unwrap_err();
    assert!(matches!(err, StoreError::Shared(_)), "{err:?}");
    assert!(!err.to_string().contains("pw-secret"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    // the breaker answers at once meanwhile
    let started = Instant::now();
    assert_eq!(store.stamp(), None);
    assert!(store.save(&key("sk-x")).is_err());
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "{:?}",
        started.elapsed()
    );
    let coord = store.coordinator().unwrap();
    match coord.acquire(Duration::from_secs(5)).await {
        Err(LeaseError::Unavailable(why)) => {
            assert!(
                why.starts_with("cannot take the refresh lease: redis"),
                "{why}"
            );
            assert!(!why.contains("pw-secret"), "{why}");
        }
        other => panic!("expected unavailable, got {other:?}"),
    }
    assert!(!format!("{store:?}").contains("pw-secret"));
}

#[test]
fn a_missing_or_bad_url_fails_to_open_without_echoing_it() {
    assert_eq!(
        open(&RedisConfig::default()).unwrap_err(),
        OpenRedisError::MissingUrl
    );
    let err = open(&config("redis://u:pw-secret@[bad", Duration::from_secs(1))).unwrap_err();
    assert!(matches!(err, OpenRedisError::BadUrl(_)), "{err:?}");
    assert!(!err.to_string().contains("pw-secret"), "{err}");
}

/// The ACL line README recommends: enough for every operation, nothing outside the namespace.
#[tokio::test]
async fn the_readme_acl_user_is_enough_and_confined_to_its_namespace() {
    let redis = server();
    let acl = "ACL SETUSER fleet on >pw-fleet resetkeys ~{t}:* -@all +hget +hmget +set +evalsha \
               +script|load +get +del +hset +hdel +hexists +incr +pexpire";
    assert_eq!(redis.command(acl).unwrap().trim(), "+OK");
    let url = format!("redis://fleet:pw-fleet@127.0.0.1:{}/0", redis.port());
    let store = store_at(&url);
    let a = key("sk-a");
    store.save(&a).unwrap();
    assert!(store.replace(a.fingerprint(), &key("sk-b")).unwrap());
    assert_eq!(store.load().unwrap(), Some(key("sk-b")));
    assert!(matches!(store.stamp(), Some(Stamp::Version(_))));
    let coord = store.coordinator().unwrap();
    coord.save_failure(&record(&key("sk-b"))).unwrap();
    assert!(coord.load_failure().is_some());
    assert!(coord.delete_failure().unwrap());
    drop(held(coord.as_ref(), Duration::from_secs(1)).await);
    assert!(store.delete().unwrap());
    // another namespace is out of reach for this user
    let other = open(&RedisConfig {
        namespace: "other".to_owned(),
        ..config(&url, Duration::from_secs(1))
    })
    .unwrap();
    let err = other.load().unwrap_err();
    assert!(err.to_string().to_lowercase().contains("noperm"), "{err}");
}
