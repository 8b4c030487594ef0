//! The remembered permanent failure: fail fast, shared record, no sentinels (AUTH.md §12 23-27,
//! 34, 46).

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use crate::http::HttpResponse;

use super::support::*;
use crate::classify::FailureReason;
use crate::error::RefreshError;
use crate::manager::{StatusRefresh, Trigger};

fn reason_of(err: &RefreshError) -> Option<FailureReason> {
    match err {
        RefreshError::Permanent(p) => Some(p.reason),
        _ => None,
    }
}

#[tokio::test]
async fn permanent_failure_fails_fast_and_leaves_auth_json_untouched() {
    let fx = Fixture::new().await;
    fx.write_stale("a", "rt-a");
    fx.token_reused();
    let before = fx.auth_bytes();
    let m = fx.manager();
    let first = m.refresh(Trigger::Proactive).await.unwrap_err();
    let second = m.refresh(Trigger::Requested).await.unwrap_err();
    assert_eq!(reason_of(&first), Some(FailureReason::Exhausted));
    assert_eq!(first, second);
    assert_eq!(
        first.to_string(),
        "Your access token could not be refreshed because your refresh token was already used. Please log out and sign in again."
    );
    assert_eq!(
        fx.auth_bytes(),
        before,
        "a failed refresh must not touch auth.json"
    );
    assert_eq!(fx.token_requests(), 1);
}

#[tokio::test]
async fn status_after_permanent_failure_keeps_mode_withholds_bearer() {
    let fx = Fixture::new().await;
    fx.write_stale("a", "rt-a");
    fx.token_reused();
    let m = fx.manager();
    for _ in 0..10 {
        let view = m.status(StatusRefresh::Requested).await;
        assert_eq!(view.mode(), Some(crate::AuthMode::Chatgpt));
        assert_eq!(view.usable_bearer(), None);
        assert_eq!(
            view.refresh_failure().map(|f| f.reason),
            Some(FailureReason::Exhausted)
        );
    }
    for _ in 0..50 {
        assert_eq!(
            m.status(StatusRefresh::WhenStale).await.usable_bearer(),
            None
        );
    }
    assert_eq!(fx.token_requests(), 1);
}

#[tokio::test]
async fn failure_during_which_new_tokens_were_adopted_is_not_recorded() {
    let fx = Fixture::new().await;
    fx.write_stale("a", "rt-a");
    fx.token_reused_after(Duration::from_millis(500));
    let m = fx.manager();
    let refreshing = tokio::spawn({
        let m = m.clone();
        async move { m.refresh(Trigger::Proactive).await }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let new_token = fx.write_fresh("b", "rt-b");
    assert_eq!(m.current_view().usable_bearer(), Some(new_token.as_str()));
    let outcome = refreshing.await.unwrap();
    assert!(outcome.is_ok(), "expected Adopted, got {outcome:?}");
    let view = m.current_view();
    assert_eq!(view.usable_bearer(), Some(new_token.as_str()));
    assert!(view.refresh_failure().is_none());
    assert!(!fx.home().join("auth.json.refresh-failure").exists());
    assert_eq!(fx.token_requests(), 1);
}

#[tokio::test]
async fn failure_record_is_private_and_holds_no_token() {
    let fx = Fixture::new().await;
    let token = fx.write_stale("a", "rt-secret-a");
    fx.token_reused();
    let m = fx.manager();
    let _ = m.refresh(Trigger::Proactive).await;
    let path = fx.home().join("auth.json.refresh-failure");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    let fp = fx.stored().fingerprint().to_hex();
    assert!(
        text.contains(&fp),
        "record must name the fingerprint: {text}"
    );
    assert!(text.contains("exhausted"));
    assert!(!text.contains("rt-secret-a") && !text.contains(&token));
}

#[tokio::test]
async fn a_record_for_other_credentials_is_ignored() {
    let fx = Fixture::new().await;
    fx.write_stale("a", "rt-a");
    fx.token_reused();
    let _ = fx.manager().refresh(Trigger::Proactive).await;
    assert_eq!(fx.token_requests(), 1);
    // New credentials arrive; the record names the old fingerprint and is void.
    fx.write_stale("b", "rt-b");
    let m = fx.manager();
    let err = m.refresh(Trigger::Proactive).await.unwrap_err();
    assert_eq!(reason_of(&err), Some(FailureReason::Exhausted));
    assert_eq!(fx.token_requests(), 2);
}

#[tokio::test]
async fn sibling_and_restarted_processes_fail_fast_from_the_record() {
    let fx = Fixture::new().await;
    fx.write_stale("a", "rt-a");
    fx.token_reused();
    let a = fx.manager();
    let b = fx.manager();
    assert!(a.refresh(Trigger::Proactive).await.is_err());
    let from_b = b.refresh(Trigger::Requested).await.unwrap_err();
    assert_eq!(reason_of(&from_b), Some(FailureReason::Exhausted));
    drop(a);
    let restarted = fx.manager();
    let view = restarted.status(StatusRefresh::Requested).await;
    assert_eq!(view.mode(), Some(crate::AuthMode::Chatgpt));
    assert_eq!(view.usable_bearer(), None);
    assert_eq!(fx.token_requests(), 1);
}

#[tokio::test]
async fn every_failure_kind_leaves_auth_json_byte_identical() {
    let not_json = HttpResponse {
        body: b"not json".to_vec(),
        ..HttpResponse::status(200)
    };
    for answer in [
        HttpResponse::json(401, &serde_json::json!({"error": "invalid_grant"})),
        HttpResponse::status(500),
        not_json,
    ] {
        let fx = Fixture::new().await;
        fx.write_auth(&format!(
            "{}\n",
            chatgpt_json(&access("a", T0 - 60), "rt-a").replace(",", ", ")
        ));
        fx.token_endpoint(answer);
        let before = fx.auth_bytes();
        let m = fx.manager();
        assert!(m.refresh(Trigger::Proactive).await.is_err());
        assert_eq!(fx.auth_bytes(), before);
    }
}
