#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::time::{Duration, Instant};

use super::*;
use crate::secret::Secret;

fn key(value: &str) -> StoredAuth {
    StoredAuth::api_key(Secret::new(value))
}

struct Fixture {
    home: tempfile::TempDir,
    keyring: Arc<MemoryKeyring>,
    store: KeyringStore,
}

impl Fixture {
    fn new() -> Self {
        let home = tempfile::tempdir().unwrap();
        let keyring = Arc::new(MemoryKeyring::new());
        let store = KeyringStore::new(home.path(), keyring.clone());
        Fixture {
            home,
            keyring,
            store,
        }
    }
    fn account(&self) -> String {
        keyring_account(self.home.path())
    }
}

/// Waits (bounded) until the store's stamp differs from `old`.
fn stamp_after(store: &KeyringStore, old: Stamp) -> Stamp {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stamp = store.stamp().unwrap();
        if stamp != old || Instant::now() > deadline {
            return stamp;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn stamps_never_wait_for_a_hung_keyring() {
    let fx = Fixture::new();
    let store = fx.store.clone().with_reread(Duration::ZERO);
    store.save(&key("sk-one")).unwrap();
    let saved = store.stamp().unwrap();
    assert_eq!(
        saved,
        Stamp::of_content(key("sk-one").to_compact_json().as_bytes())
    );
    fx.keyring.delay(Some(Duration::from_secs(2)));
    let started = Instant::now();
    for _ in 0..100 {
        assert_eq!(store.stamp(), Some(saved), "the last known stamp");
    }
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "stamps waited {:?}",
        started.elapsed()
    );
}

#[test]
fn a_write_by_another_process_changes_the_stamp_after_a_background_read() {
    let fx = Fixture::new();
    let store = fx.store.clone().with_reread(Duration::ZERO);
    assert_eq!(store.load().unwrap(), None);
    assert_eq!(store.stamp(), Some(Stamp::Missing));
    let other = key("sk-other-process").to_compact_json();
    fx.keyring
        .set(KEYRING_SERVICE, &fx.account(), &other)
        .unwrap();
    assert_eq!(
        stamp_after(&store, Stamp::Missing),
        Stamp::of_content(other.as_bytes())
    );
    assert_eq!(store.load().unwrap(), Some(key("sk-other-process")));
    fx.keyring.delete(KEYRING_SERVICE, &fx.account()).unwrap();
    assert_eq!(
        stamp_after(&store, Stamp::of_content(other.as_bytes())),
        Stamp::Missing
    );
}

#[test]
fn background_reads_wait_for_the_reread_period() {
    let fx = Fixture::new();
    assert_eq!(fx.store.load().unwrap(), None);
    fx.keyring
        .set(
            KEYRING_SERVICE,
            &fx.account(),
            &key("sk-x").to_compact_json(),
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        fx.store.stamp(),
        Some(Stamp::Missing),
        "read less than 5 s ago"
    );
}

#[test]
fn a_failed_write_leaves_nothing_behind_and_says_what_to_do() {
    let fx = Fixture::new();
    FileStore::new(fx.home.path())
        .save(&key("sk-old-file"))
        .unwrap();
    // The container case: a keyutils copy of the value the failing write tried to store.
    fx.keyring.plant_local_copy(
        KEYRING_SERVICE,
        &fx.account(),
        "{\"OPENAI_API_KEY\":\"sk-new\"}",
    );
    fx.keyring
        .fail(KeyringOp::Set, Some("the OS keyring is not reachable"));
    let error = fx.store.save(&key("sk-new")).unwrap_err().to_string();
    assert!(
        error.starts_with("keyring error: could not save the credentials to the OS keyring: the OS keyring is not reachable. Nothing was stored"),
        "{error}"
    );
    assert!(
        error.contains("cli_auth_credentials_store = \"file\""),
        "{error}"
    );
    assert!(!error.contains("sk-new"), "{error}");
    assert!(!fx.keyring.has_local_copy(KEYRING_SERVICE, &fx.account()));
    assert_eq!(fx.keyring.value(KEYRING_SERVICE, &fx.account()), None);
    assert_eq!(
        FileStore::new(fx.home.path()).load().unwrap(),
        Some(key("sk-old-file")),
        "auth.json is kept when the keyring did not take the credentials"
    );
}

#[test]
fn delete_removes_the_entry_its_keyutils_copy_and_auth_json() {
    let fx = Fixture::new();
    fx.store.save(&key("sk-entry")).unwrap();
    fx.keyring.plant_local_copy(
        KEYRING_SERVICE,
        &fx.account(),
        "{\"OPENAI_API_KEY\":\"sk-entry\"}",
    );
    FileStore::new(fx.home.path())
        .save(&key("sk-file"))
        .unwrap();
    assert!(fx.store.delete().unwrap());
    assert_eq!(fx.keyring.value(KEYRING_SERVICE, &fx.account()), None);
    assert!(!fx.keyring.has_local_copy(KEYRING_SERVICE, &fx.account()));
    assert!(!fx.home.path().join("auth.json").exists());
    assert_eq!(fx.store.stamp(), Some(Stamp::Missing));
    assert!(!fx.store.delete().unwrap());

    // A keyutils copy alone still counts as removed credentials.
    fx.keyring.plant_local_copy(
        KEYRING_SERVICE,
        &fx.account(),
        "{\"OPENAI_API_KEY\":\"sk-left\"}",
    );
    assert!(fx.store.delete().unwrap());
}

#[test]
fn a_hung_backend_times_out_as_a_keyring_error() {
    let fx = Fixture::new();
    fx.keyring.delay(Some(Duration::from_secs(2)));
    let store = fx.store.clone().with_timeout(Duration::from_millis(50));
    let started = Instant::now();
    let error = store.load().unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(
        error.to_string(),
        "keyring error: could not read the credentials from the OS keyring: the OS keyring did \
         not answer within 50 ms"
    );
    assert_eq!(store.stamp(), Some(Stamp::Unreadable));
}

#[test]
fn failures_never_replace_the_known_stamp() {
    let fx = Fixture::new();
    let store = fx.store.clone().with_reread(Duration::ZERO);
    store.save(&key("sk-one")).unwrap();
    let one = store.stamp().unwrap();
    fx.keyring.fail(KeyringOp::Set, Some("locked"));
    assert!(store.save(&key("sk-two")).is_err());
    assert_eq!(
        store.stamp(),
        Some(one),
        "a failed save keeps what the entry holds"
    );
    fx.keyring.fail(KeyringOp::Get, Some("locked"));
    assert!(store.load().is_err());
    for _ in 0..20 {
        assert_eq!(store.stamp(), Some(one), "failed reads tell nothing");
        std::thread::sleep(Duration::from_millis(5));
    }
    fx.keyring.fail(KeyringOp::Delete, Some("locked"));
    assert!(store.delete().is_err());
    assert_eq!(store.stamp(), Some(one));
}
