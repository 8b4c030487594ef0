//! Change detection and the clearing rule (AUTH.md §12 15-18, 26, 36).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::support::*;
use crate::manager::{AuthManager, RefreshOutcome, Trigger};
use crate::store::file::FileStore;

#[tokio::test]
async fn untouched_file_with_trusted_stamp_is_not_reread() {
    let fx = Fixture::new().await;
    fx.write_fresh("a", "rt-a");
    age_file(&fx.auth_path());
    let store = ProbeStore::new(fx.home());
    let mut opts = fx.options();
    opts.store = Some(store.clone());
    let m = AuthManager::new(opts).unwrap();
    let loads_after_construction = store.loads.load(Ordering::SeqCst);
    for _ in 0..100 {
        assert!(m.current_view().usable_bearer().is_some());
    }
    assert_eq!(store.loads.load(Ordering::SeqCst), loads_after_construction);
    assert_eq!(fx.token_requests(), 0);
}

#[tokio::test]
async fn another_writer_clears_the_failure_and_is_served_next() {
    let fx = Fixture::new().await;
    fx.write_stale("a", "rt-a");
    fx.token_reused();
    let m = fx.manager();
    assert!(m.refresh(Trigger::Proactive).await.is_err());
    let new_token = fx.write_fresh("b", "rt-b");
    let view = m.current_view();
    assert_eq!(view.usable_bearer(), Some(new_token.as_str()));
    assert!(view.refresh_failure().is_none());
    assert_eq!(fx.token_requests(), 1);
}

#[tokio::test]
async fn in_place_rewrite_within_one_tick_is_detected_and_truncation_is_not_a_logout() {
    let fx = Fixture::new().await;
    let a = access("aaaa", T0 + 3600);
    let b = access("bbbb", T0 + 3600);
    std::fs::write(fx.auth_path(), chatgpt_json(&a, "rt-a")).unwrap();
    let m = fx.manager();
    assert_eq!(m.current_view().usable_bearer(), Some(a.as_str()));
    // Same length, same second: only the untrusted stamp makes this visible.
    std::fs::write(fx.auth_path(), chatgpt_json(&b, "rt-a")).unwrap();
    assert_eq!(m.current_view().usable_bearer(), Some(b.as_str()));
    std::fs::write(fx.auth_path(), &chatgpt_json(&a, "rt-a")[..40]).unwrap();
    assert_eq!(m.current_view().usable_bearer(), Some(b.as_str()));
    std::fs::write(fx.auth_path(), chatgpt_json(&a, "rt-a")).unwrap();
    assert_eq!(m.current_view().usable_bearer(), Some(a.as_str()));
    assert_eq!(fx.token_requests(), 0);
}

/// Issue 16: a file younger than the trust window is read once, not on every poll, while the
/// home's watch counts no change; the stat path (no watch: a network file system, ...) reads it
/// on every poll.
#[tokio::test]
async fn a_young_watched_file_is_read_once_not_on_every_poll() {
    let fx = Fixture::new().await;
    fx.write_fresh("a", "rt-a");
    for (store, reads_per_poll) in [
        (ProbeStore::new(fx.home()), 0),
        (ProbeStore::with(FileStore::unwatched(fx.home())), 1),
    ] {
        let mut opts = fx.options();
        opts.store = Some(store.clone());
        let m = AuthManager::new(opts).unwrap();
        let loads_after_construction = store.loads.load(Ordering::SeqCst);
        for _ in 0..100 {
            assert!(m.current_view().usable_bearer().is_some());
        }
        assert_eq!(
            store.loads.load(Ordering::SeqCst),
            loads_after_construction + 100 * reads_per_poll
        );
    }
    assert_eq!(fx.token_requests(), 0);
}

/// The same in-place rewrites on the stat path: the young file's untrusted stamp makes them
/// visible there.
#[tokio::test]
async fn without_a_watch_in_place_rewrites_are_served_at_once() {
    let fx = Fixture::new().await;
    let a = access("aaaa", T0 + 3600);
    let b = access("bbbb", T0 + 3600);
    std::fs::write(fx.auth_path(), chatgpt_json(&a, "rt-a")).unwrap();
    let store = ProbeStore::with(FileStore::unwatched(fx.home()));
    let mut opts = fx.options();
    opts.store = Some(store.clone());
    let m = AuthManager::new(opts).unwrap();
    assert_eq!(m.current_view().usable_bearer(), Some(a.as_str()));
    std::fs::write(fx.auth_path(), chatgpt_json(&b, "rt-a")).unwrap();
    assert_eq!(m.current_view().usable_bearer(), Some(b.as_str()));
    std::fs::write(fx.auth_path(), &chatgpt_json(&a, "rt-a")[..40]).unwrap();
    assert_eq!(m.current_view().usable_bearer(), Some(b.as_str()));
    std::fs::write(fx.auth_path(), chatgpt_json(&a, "rt-a")).unwrap();
    assert_eq!(m.current_view().usable_bearer(), Some(a.as_str()));
    assert_eq!(fx.token_requests(), 0);
}

#[tokio::test]
async fn same_data_in_another_format_keeps_the_failure() {
    let fx = Fixture::new().await;
    fx.write_stale("a", "rt-a");
    fx.token_reused();
    let m = fx.manager();
    assert!(m.refresh(Trigger::Proactive).await.is_err());
    let pretty = String::from_utf8(fx.stored().to_file_json()).unwrap();
    fx.write_auth(&pretty);
    assert!(m.current_view().is_dead());
    assert!(m.refresh(Trigger::Proactive).await.is_err());
    assert_eq!(fx.token_requests(), 1);
}

#[tokio::test]
async fn api_key_login_and_logout_clear_the_failure() {
    let fx = Fixture::new().await;
    fx.write_stale("a", "rt-a");
    fx.token_reused();
    let m = fx.manager();
    assert!(m.refresh(Trigger::Proactive).await.is_err());
    m.login_with_api_key("sk-new").await.unwrap();
    let view = m.current_view();
    assert_eq!(view.usable_bearer(), Some("sk-new"));
    assert!(!fx.home().join("auth.json.refresh-failure").exists());

    // Logout, then the same dead credentials come back: they get one new request.
    assert!(m.logout().await.unwrap());
    assert!(!fx.auth_path().exists());
    assert!(
        fx.home().join("auth.json.lock").exists(),
        "the lock file stays"
    );
    assert!(!m.logout().await.unwrap(), "second logout removes nothing");
    fx.write_stale("a", "rt-a");
    assert!(m.refresh(Trigger::Proactive).await.is_err());
    assert_eq!(fx.token_requests(), 2);
}

#[tokio::test]
async fn save_failure_keeps_new_tokens_in_memory_and_saves_later() {
    let fx = Fixture::new().await;
    fx.write_stale("a", "rt-a");
    let token = fx.token_ok("b", "rt-b");
    let store = ProbeStore::new(fx.home());
    store.fail_saves.store(true, Ordering::SeqCst);
    let mut opts = fx.options();
    opts.store = Some(Arc::clone(&store) as _);
    let m = AuthManager::new(opts).unwrap();
    assert_eq!(
        m.refresh(Trigger::Proactive).await,
        Ok(RefreshOutcome::Refreshed)
    );
    assert_eq!(m.current_view().usable_bearer(), Some(token.as_str()));
    assert_eq!(fx.stored().tokens.unwrap().refresh_token.expose(), "rt-a");
    store.fail_saves.store(false, Ordering::SeqCst);
    let _ = m.refresh(Trigger::Proactive).await;
    assert_eq!(fx.stored().tokens.unwrap().refresh_token.expose(), "rt-b");
    assert_eq!(m.current_view().usable_bearer(), Some(token.as_str()));
    assert_eq!(fx.token_requests(), 1);
}

#[tokio::test]
async fn refresh_keeps_unknown_keys_and_sets_last_refresh() {
    let fx = Fixture::new().await;
    let old = access("a", T0 - 60);
    let mut doc: serde_json::Value = serde_json::from_str(&chatgpt_json(&old, "rt-a")).unwrap();
    doc["agent_identity"] = serde_json::json!({"id": "x"});
    doc["tokens"]["future_field"] = serde_json::json!(7);
    fx.write_auth(&doc.to_string());
    let new = access("b", T0 + 7200);
    fx.token_endpoint(crate::http::HttpResponse::json(
        200,
        &serde_json::json!({"access_token": new}),
    ));
    let m = fx.manager();
    assert_eq!(
        m.refresh(Trigger::Proactive).await,
        Ok(RefreshOutcome::Refreshed)
    );
    let after: serde_json::Value = serde_json::from_slice(&fx.auth_bytes()).unwrap();
    assert_eq!(after["agent_identity"], doc["agent_identity"]);
    assert_eq!(after["tokens"]["future_field"], 7);
    assert_eq!(after["tokens"]["access_token"], new.as_str());
    assert_eq!(after["tokens"]["refresh_token"], "rt-a");
    assert_eq!(after["tokens"]["id_token"], doc["tokens"]["id_token"]);
    assert_eq!(fx.stored().last_refresh, Some(t0()));
    assert_eq!(fx.token_requests(), 1);
}

#[tokio::test]
async fn a_delayed_save_never_overwrites_credentials_written_meanwhile() {
    let fx = Fixture::new().await;
    fx.write_stale("a", "rt-a");
    fx.token_ok("b", "rt-b");
    let store = ProbeStore::new(fx.home());
    store.fail_saves.store(true, Ordering::SeqCst);
    let mut opts = fx.options();
    opts.store = Some(Arc::clone(&store) as _);
    let m = AuthManager::new(opts).unwrap();
    assert_eq!(
        m.refresh(Trigger::Proactive).await,
        Ok(RefreshOutcome::Refreshed)
    );
    // Someone else signs in while our tokens wait in memory.
    let theirs = fx.write_fresh("theirs", "rt-theirs");
    store.fail_saves.store(false, Ordering::SeqCst);
    let _ = m.refresh(Trigger::Proactive).await;
    assert_eq!(
        fx.stored().tokens.unwrap().refresh_token.expose(),
        "rt-theirs"
    );
    assert_eq!(m.current_view().usable_bearer(), Some(theirs.as_str()));
    assert_eq!(fx.token_requests(), 1);
}

#[tokio::test]
async fn a_settled_invalid_file_is_not_reread_on_every_poll() {
    let fx = Fixture::new().await;
    let token = fx.write_fresh("a", "rt-a");
    let store = ProbeStore::new(fx.home());
    let mut opts = fx.options();
    opts.store = Some(store.clone());
    let m = AuthManager::new(opts).unwrap();
    assert_eq!(m.current_view().usable_bearer(), Some(token.as_str()));
    std::fs::write(fx.auth_path(), "{ not json").unwrap();
    age_file(&fx.auth_path());
    assert_eq!(
        m.current_view().usable_bearer(),
        Some(token.as_str()),
        "cache kept"
    );
    let loads = store.loads.load(Ordering::SeqCst);
    for _ in 0..20 {
        assert_eq!(m.current_view().usable_bearer(), Some(token.as_str()));
    }
    assert_eq!(
        store.loads.load(Ordering::SeqCst),
        loads,
        "no re-read of an unchanged file"
    );
    let fixed = fx.write_fresh("b", "rt-b");
    assert_eq!(m.current_view().usable_bearer(), Some(fixed.as_str()));
}

/// Issue 16: a status answer may be reused while the view stays the same; it must stop being
/// the same when the credentials change or their state does (a recorded permanent failure).
#[tokio::test]
async fn views_are_the_same_until_the_credentials_or_their_state_change() {
    let fx = Fixture::new().await;
    fx.write_stale("a", "rt-a");
    age_file(&fx.auth_path());
    let m = fx.manager();
    let first = m.current_view();
    assert!(first.is_same(&m.current_view()));
    fx.token_reused();
    assert!(m.refresh(Trigger::Proactive).await.is_err());
    let dead = m.current_view();
    assert!(dead.is_dead());
    assert!(!first.is_same(&dead), "a recorded failure changes the view");
    assert!(dead.is_same(&m.current_view()));
    fx.write_fresh("b", "rt-b");
    let rewritten = m.current_view();
    assert!(!dead.is_same(&rewritten), "new credentials are a new view");
    assert!(!first.is_same(&rewritten));
}
