//! The manager over every store, degraded locking and the startup restriction check (AUTH.md §3,
//! §7.4b, §8.5; §12 items 13, 35, 53).

use std::sync::Arc;

use tracing::Level;

use super::support::*;
use crate::config::{ForcedLoginMethod, StoreMode};
use crate::lock::CredentialLock;
use crate::manager::{AuthManager, RefreshOutcome, Trigger};
use crate::store::keyring::MemoryKeyring;
use crate::store::open::open_store_with_keyring;
use crate::test_log::events;

#[tokio::test]
async fn keyring_store_keeps_the_failure_record_and_lock_in_the_home() {
    let fx = Fixture::new().await;
    let keyring = Arc::new(MemoryKeyring::new());
    let store = open_store_with_keyring(StoreMode::Keyring, fx.home(), keyring);
    let stale =
        crate::auth_json::parse(chatgpt_json(&access("a", T0 - 60), "rt-a").as_bytes()).unwrap();
    store.save(&stale).unwrap();
    fx.token_reused();
    let mut opts = fx.options();
    opts.store = Some(Arc::clone(&store));
    let a = AuthManager::new(opts.clone()).unwrap();
    assert!(a.refresh(Trigger::Proactive).await.is_err());
    assert!(fx.home().join("auth.json.refresh-failure").exists());
    assert!(fx.home().join("auth.json.lock").exists());
    assert!(
        !fx.auth_path().exists(),
        "the keyring store writes no auth.json"
    );
    let b = AuthManager::new(opts).unwrap();
    assert!(b.refresh(Trigger::Requested).await.is_err());
    assert!(b.current_view().is_dead());
    assert_eq!(fx.token_requests(), 1);
}

#[tokio::test]
async fn ephemeral_api_key_login_writes_nothing_and_is_shared_in_process() {
    let fx = Fixture::new().await;
    let mut opts = fx.options();
    opts.config.store_mode = StoreMode::Ephemeral;
    let a = AuthManager::new(opts.clone()).unwrap();
    a.login_with_api_key("sk-ephemeral").await.unwrap();
    let files: Vec<_> = std::fs::read_dir(fx.home()).unwrap().collect();
    assert!(files.is_empty(), "nothing on disk: {files:?}");
    let b = AuthManager::new(opts).unwrap();
    assert_eq!(b.current_view().usable_bearer(), Some("sk-ephemeral"));
}

#[test]
fn degraded_locking_still_refreshes_and_warns_once() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (requests, seen) = events(|| {
        runtime.block_on(async {
            let fx = Fixture::new().await;
            fx.write_stale("a", "rt-a");
            fx.token_ok("b", "rt-b");
            let mut opts = fx.options();
            opts.lock = Some(
                CredentialLock::new(fx.home()).with_injected_error(std::io::ErrorKind::Unsupported),
            );
            let m = AuthManager::new(opts).unwrap();
            assert_eq!(
                m.refresh(Trigger::Proactive).await,
                Ok(RefreshOutcome::Refreshed)
            );
            fx.clock.advance(std::time::Duration::from_secs(3 * 3600));
            assert_eq!(
                m.refresh(Trigger::Proactive).await,
                Ok(RefreshOutcome::Refreshed)
            );
            fx.token_requests()
        })
    });
    assert_eq!(requests, 2);
    let degraded = seen
        .iter()
        .filter(|(level, message)| *level == Level::WARN && message.contains("lock unsupported"))
        .count();
    assert_eq!(degraded, 1, "lock_degraded is logged once");
}

#[tokio::test]
async fn startup_enforcement_logs_out_a_forbidden_api_key() {
    let fx = Fixture::new().await;
    fx.write_auth(r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-a"}"#);
    let mut opts = fx.options();
    opts.config.forced_login_method = Some(ForcedLoginMethod::Chatgpt);
    let m = AuthManager::new(opts).unwrap();
    assert_eq!(m.current_view().usable_bearer(), None, "treated as absent");
    assert_eq!(
        m.enforce_login_restrictions().await.unwrap().as_deref(),
        Some("ChatGPT login is required, but an API key is currently being used. Logging out.")
    );
    assert!(!fx.auth_path().exists());
    assert_eq!(m.enforce_login_restrictions().await.unwrap(), None);
    let err = m.login_with_api_key("sk-b").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "API key login is disabled. Use ChatGPT login instead."
    );
    assert_eq!(fx.token_requests(), 0);
}

#[tokio::test]
async fn a_chatgpt_login_outside_the_workspace_is_logged_out_at_startup() {
    let fx = Fixture::new().await;
    fx.write_fresh("a", "rt-a");
    let mut opts = fx.options();
    opts.config.forced_workspace_ids = vec!["ws-other".to_owned()];
    let m = AuthManager::new(opts).unwrap();
    assert_eq!(
        m.enforce_login_restrictions().await.unwrap().as_deref(),
        Some(
            "Login is restricted to workspace(s) ws-other, but current credentials belong to ws1. Logging out."
        )
    );
    assert!(!fx.auth_path().exists());
}

#[tokio::test(start_paused = true)]
async fn a_new_chatgpt_login_revokes_the_replaced_refresh_token() {
    let fx = Fixture::new().await;
    fx.write_fresh("a", "rt-old");
    fx.answer(
        REVOKE_PATH,
        crate::http::HttpResponse::status(200),
        std::time::Duration::ZERO,
    );
    let m = fx.manager();
    let new = crate::auth_json::parse(chatgpt_json(&access("b", T0 + 3600), "rt-new").as_bytes())
        .unwrap();
    m.save_login(new).await.unwrap();
    let revoked = async {
        loop {
            if let Some(r) = fx.requests_to(REVOKE_PATH).first() {
                return String::from_utf8_lossy(&r.body).into_owned();
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    let body = tokio::time::timeout(std::time::Duration::from_secs(5), revoked)
        .await
        .expect("the old refresh token is revoked");
    assert!(body.contains("rt-old") && !body.contains("rt-new"));
    assert_eq!(fx.stored().tokens.unwrap().refresh_token.expose(), "rt-new");
}

/// Status polls over the keyring store never wait for the keyring, even when a re-read is due
/// and the keyring hangs; a change written by another process is adopted once a background read
/// has seen it.
#[tokio::test]
async fn status_polls_never_wait_for_a_hung_keyring_and_adopt_other_writers() {
    use std::time::{Duration, Instant};

    use crate::auth_json::StoredAuth;
    use crate::secret::Secret;
    use crate::store::keyring::{KEYRING_SERVICE, KeyringBackend, KeyringStore, keyring_account};

    let fx = Fixture::new().await;
    let keyring = Arc::new(MemoryKeyring::new());
    let store = KeyringStore::new(fx.home(), keyring.clone()).with_reread(Duration::ZERO);
    let mut opts = fx.options();
    opts.store = Some(Arc::new(store));
    let manager = AuthManager::new(opts).unwrap();
    manager.login_with_api_key("sk-mine").await.unwrap();
    assert_eq!(manager.current_view().usable_bearer(), Some("sk-mine"));

    // Past the manager's 5 s re-read period for stores it cannot stamp, so a store without
    // stamps would be re-read (and waited for) by these polls.
    tokio::time::sleep(Duration::from_millis(5_100)).await;
    keyring.delay(Some(Duration::from_secs(3)));
    let started = Instant::now();
    for _ in 0..50 {
        assert_eq!(manager.current_view().usable_bearer(), Some("sk-mine"));
    }
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "50 polls took {:?}",
        started.elapsed()
    );
    keyring.delay(None);

    let other = StoredAuth::api_key(Secret::new("sk-other-process")).to_compact_json();
    keyring
        .set(KEYRING_SERVICE, &keyring_account(fx.home()), &other)
        .unwrap();
    // The hung background read may still be running: allow it and one more read to finish.
    let deadline = Instant::now() + Duration::from_secs(10);
    while manager.current_view().usable_bearer() != Some("sk-other-process") {
        assert!(
            Instant::now() < deadline,
            "the other writer's key was never adopted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A refresh whose keyring save fails keeps the new tokens in memory; background reads of the
/// old entry while the keyring is back do not look like another writer, and the next refresh
/// call saves the kept tokens (one token request in all).
#[tokio::test]
async fn a_failed_keyring_save_is_retried_not_replaced_by_the_old_entry() {
    use std::time::Duration;

    use crate::store::keyring::{
        KEYRING_SERVICE, KeyringBackend, KeyringOp, KeyringStore, keyring_account,
    };

    let fx = Fixture::new().await;
    let token = fx.token_ok("b", "rt-b");
    let keyring = Arc::new(MemoryKeyring::new());
    let account = keyring_account(fx.home());
    let stale = chatgpt_json(&access("a", T0 - 60), "rt-a");
    keyring.set(KEYRING_SERVICE, &account, &stale).unwrap();
    let store = KeyringStore::new(fx.home(), keyring.clone()).with_reread(Duration::ZERO);
    let mut opts = fx.options();
    opts.store = Some(Arc::new(store));
    let m = AuthManager::new(opts).unwrap();

    keyring.fail(KeyringOp::Set, Some("locked"));
    assert_eq!(
        m.refresh(Trigger::Proactive).await,
        Ok(RefreshOutcome::Refreshed)
    );
    assert_eq!(m.current_view().usable_bearer(), Some(token.as_str()));
    assert_eq!(keyring.value(KEYRING_SERVICE, &account), Some(stale));
    keyring.fail(KeyringOp::Set, None);
    for _ in 0..10 {
        assert_eq!(m.current_view().usable_bearer(), Some(token.as_str()));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = m.refresh(Trigger::Proactive).await;
    let entry = keyring.value(KEYRING_SERVICE, &account).unwrap();
    let saved = crate::auth_json::parse(entry.as_bytes()).unwrap();
    assert_eq!(saved.tokens.unwrap().refresh_token.expose(), "rt-b");
    assert_eq!(m.current_view().usable_bearer(), Some(token.as_str()));
    assert_eq!(fx.token_requests(), 1);
}
