//! Issue 14: store I/O never stalls the runtime's thread. On a current-thread runtime (the stdio
//! server's), status calls answer from the cache while a login, logout or refresh is blocked in
//! the store, or while a poll's re-read waits for a hung keyring.
//!
//! A blocked call waits at a [`Gate`] until the test opens it. Nothing here is timed: the gate's
//! own deadline ([`REGRESSION_GUARD`]) only turns a regression (the runtime's thread blocked in
//! the store, so the test cannot open the gate) into a failure instead of a hang.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use tokio::sync::Notify;

use super::support::*;
use crate::auth_json::StoredAuth;
use crate::manager::{AuthManager, RefreshOutcome, StatusRefresh, Trigger};
use crate::secret::Secret;
use crate::store::file::FileStore;
use crate::store::keyring::{
    KEYRING_SERVICE, KeyringBackend, KeyringError, KeyringStore, MemoryKeyring, keyring_account,
};
use crate::store::{CredentialStore, Stamp, StoreError};

/// How long a gated call waits before giving up on the test: never reached when the call runs
/// off the runtime's thread.
const REGRESSION_GUARD: Duration = Duration::from_secs(20);

/// Calls that pass a closed gate wait until the test opens it.
#[derive(Debug, Default)]
struct Gate {
    state: Mutex<GateState>,
    opened: Condvar,
    entered: Notify,
}

#[derive(Debug, Default)]
struct GateState {
    closed: bool,
    /// A call gave up waiting: the test could not open the gate in time.
    overrun: bool,
}

impl Gate {
    fn close(&self) {
        self.state.lock().closed = true;
    }

    fn open(&self) {
        self.state.lock().closed = false;
        self.opened.notify_all();
    }

    /// Called by the gated operation: waits while the gate is closed.
    fn pass(&self) {
        let mut state = self.state.lock();
        if !state.closed {
            return;
        }
        self.entered.notify_one();
        let deadline = Instant::now() + REGRESSION_GUARD;
        while state.closed {
            if self.opened.wait_until(&mut state, deadline).timed_out() {
                state.overrun = true;
                return;
            }
        }
    }

    /// Waits until a call is blocked at the gate.
    async fn reached(&self) {
        tokio::time::timeout(REGRESSION_GUARD * 2, self.entered.notified())
            .await
            .expect("the gated call was reached");
    }

    fn overran(&self) -> bool {
        self.state.lock().overrun
    }
}

/// `auth.json` whose saves and deletes can be held at a gate.
#[derive(Debug)]
struct GatedStore {
    file: FileStore,
    saves: Gate,
    deletes: Gate,
}

impl GatedStore {
    fn new(fx: &Fixture) -> Arc<GatedStore> {
        Arc::new(GatedStore {
            file: FileStore::new(fx.home()),
            saves: Gate::default(),
            deletes: Gate::default(),
        })
    }

    fn manager(self: &Arc<Self>, fx: &Fixture) -> AuthManager {
        let mut opts = fx.options();
        opts.store = Some(Arc::clone(self) as Arc<dyn CredentialStore>);
        // The production default: a status call with a valid token never waits for a refresh.
        opts.valid_proactive_wait = Duration::ZERO;
        AuthManager::new(opts).unwrap()
    }
}

impl CredentialStore for GatedStore {
    fn load(&self) -> Result<Option<StoredAuth>, StoreError> {
        self.file.load()
    }
    fn save(&self, auth: &StoredAuth) -> Result<(), StoreError> {
        self.saves.pass();
        self.file.save(auth)
    }
    fn delete(&self) -> Result<bool, StoreError> {
        self.deletes.pass();
        self.file.delete()
    }
    fn stamp(&self) -> Option<Stamp> {
        self.file.stamp()
    }
    fn kind(&self) -> &'static str {
        "file"
    }
    fn saves_auth_json(&self) -> bool {
        true
    }
}

/// A status call answers, from the cache, while the manager waits for the store.
async fn assert_status_answers(m: &AuthManager, bearer: &str) {
    assert_eq!(m.current_view().usable_bearer(), Some(bearer));
    let view = tokio::time::timeout(REGRESSION_GUARD, m.status(StatusRefresh::WhenStale))
        .await
        .expect("the status call answered");
    assert_eq!(view.usable_bearer(), Some(bearer));
}

#[tokio::test(flavor = "current_thread")]
async fn status_calls_answer_while_a_login_is_blocked_in_the_store() {
    let fx = Fixture::new().await;
    let before = fx.write_fresh("a", "rt-a");
    let store = GatedStore::new(&fx);
    let m = store.manager(&fx);
    store.saves.close();
    let login = tokio::spawn({
        let m = m.clone();
        async move { m.login_with_api_key("sk-new").await }
    });
    store.saves.reached().await;
    assert_status_answers(&m, &before).await;
    store.saves.open();
    login.await.unwrap().unwrap();
    assert!(
        !store.saves.overran(),
        "the save was blocked until the test released it"
    );
    assert_eq!(m.current_view().usable_bearer(), Some("sk-new"));
}

#[tokio::test(flavor = "current_thread")]
async fn status_calls_answer_while_a_logout_is_blocked_in_the_store() {
    let fx = Fixture::new().await;
    let before = fx.write_fresh("a", "rt-a");
    let store = GatedStore::new(&fx);
    let m = store.manager(&fx);
    store.deletes.close();
    let logout = tokio::spawn({
        let m = m.clone();
        async move { m.logout().await }
    });
    store.deletes.reached().await;
    assert_status_answers(&m, &before).await;
    store.deletes.open();
    assert!(
        logout.await.unwrap().unwrap(),
        "the credentials were removed"
    );
    assert!(
        !store.deletes.overran(),
        "the delete was blocked until the test released it"
    );
    assert_eq!(m.current_view().usable_bearer(), None);
    assert!(!fx.auth_path().exists());
}

#[tokio::test(flavor = "current_thread")]
async fn status_calls_answer_while_refreshed_tokens_are_blocked_in_the_store() {
    let fx = Fixture::new().await;
    // Valid for another minute: inside the refresh window, so status calls start a refresh but
    // do not wait for it.
    let before = access("a", T0 + 60);
    fx.write_auth(&chatgpt_json(&before, "rt-a"));
    let after = fx.token_ok("b", "rt-b");
    let store = GatedStore::new(&fx);
    let m = store.manager(&fx);
    store.saves.close();
    let refresh = tokio::spawn({
        let m = m.clone();
        async move { m.refresh(Trigger::Proactive).await }
    });
    store.saves.reached().await;
    assert_status_answers(&m, &before).await;
    store.saves.open();
    assert_eq!(refresh.await.unwrap(), Ok(RefreshOutcome::Refreshed));
    assert!(
        !store.saves.overran(),
        "the save was blocked until the test released it"
    );
    assert_eq!(m.current_view().usable_bearer(), Some(after.as_str()));
    assert_eq!(fx.token_requests(), 1);
}

/// A keyring whose reads can be held at a gate.
#[derive(Debug, Default)]
struct GatedKeyring {
    keyring: MemoryKeyring,
    reads: Gate,
}

impl KeyringBackend for GatedKeyring {
    fn get(&self, service: &str, account: &str) -> Result<String, KeyringError> {
        self.reads.pass();
        self.keyring.get(service, account)
    }
    fn set(&self, service: &str, account: &str, value: &str) -> Result<(), KeyringError> {
        self.keyring.set(service, account, value)
    }
    fn delete(&self, service: &str, account: &str) -> Result<(), KeyringError> {
        self.keyring.delete(service, account)
    }
}

/// Another process rewrote the keyring entry and a background read saw it, so a poll must
/// re-read the entry; with the keyring hung at that moment the poll still answers at once, from
/// the cache, and the re-read's result shows once the keyring answers.
#[tokio::test(flavor = "current_thread")]
async fn a_poll_that_must_reread_a_hung_keyring_answers_from_the_cache() {
    let fx = Fixture::new().await;
    let keyring = Arc::new(GatedKeyring::default());
    // The per-call timeout is longer than the gate's guard: only the gate ends a blocked read.
    let store = Arc::new(
        KeyringStore::new(fx.home(), keyring.clone())
            .with_reread(Duration::ZERO)
            .with_timeout(REGRESSION_GUARD * 3),
    );
    let mut opts = fx.options();
    opts.store = Some(Arc::clone(&store) as Arc<dyn CredentialStore>);
    let m = AuthManager::new(opts).unwrap();
    m.login_with_api_key("sk-mine").await.unwrap();

    let other = StoredAuth::api_key(Secret::new("sk-other-process")).to_compact_json();
    keyring
        .set(KEYRING_SERVICE, &keyring_account(fx.home()), &other)
        .unwrap();
    let changed = Stamp::of_content(other.as_bytes());
    let deadline = Instant::now() + REGRESSION_GUARD;
    while store.stamp() != Some(changed) {
        assert!(
            Instant::now() < deadline,
            "no background read saw the change"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    keyring.reads.close();
    assert_eq!(m.current_view().usable_bearer(), Some("sk-mine"));
    keyring.reads.reached().await;
    assert_eq!(m.current_view().usable_bearer(), Some("sk-mine"));
    keyring.reads.open();
    let deadline = Instant::now() + REGRESSION_GUARD;
    while m.current_view().usable_bearer() != Some("sk-other-process") {
        assert!(Instant::now() < deadline, "the re-read was never adopted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        !keyring.reads.overran(),
        "the read was blocked until the test released it"
    );
}
