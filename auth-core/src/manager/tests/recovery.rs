//! 401 recovery (AUTH.md §12 42-45).

use std::time::Duration;

use super::support::*;
use crate::http::HttpResponse;
use crate::manager::{RecoverOutcome, StatusRefresh};

#[tokio::test]
async fn a_stale_report_is_already_current_and_a_changed_store_is_adopted() {
    let fx = Fixture::new().await;
    let current = fx.write_fresh("b", "rt-b");
    fx.token_ok("c", "rt-c");
    let m = fx.manager();
    let old = access("a", T0 + 3600);
    assert_eq!(
        m.recover_unauthorized(Some(&old), None).await,
        RecoverOutcome::AlreadyCurrent
    );
    // The current token is rejected, but the store already holds another one.
    let newer = fx.write_fresh("d", "rt-d");
    let outcome = m.recover_unauthorized(Some(&current), None).await;
    assert_eq!(outcome, RecoverOutcome::AlreadyCurrent);
    assert_eq!(m.current_view().usable_bearer(), Some(newer.as_str()));
    assert_eq!(fx.token_requests(), 0);
}

#[tokio::test]
async fn a_rejected_current_token_forces_exactly_one_refresh() {
    let fx = Fixture::new().await;
    let current = fx.write_fresh("a", "rt-a");
    let new = fx.token_ok("b", "rt-b");
    let m = fx.manager();
    assert_eq!(
        m.recover_unauthorized(Some(&current), None).await,
        RecoverOutcome::Refreshed
    );
    assert_eq!(m.current_view().usable_bearer(), Some(new.as_str()));
    assert_eq!(
        m.recover_unauthorized(Some(&current), None).await,
        RecoverOutcome::AlreadyCurrent
    );
    assert_eq!(fx.token_requests(), 1);
}

#[tokio::test(start_paused = true)]
async fn concurrent_reports_during_an_outage_cost_one_request() {
    let fx = Fixture::new().await;
    let current = fx.write_fresh("a", "rt-a");
    fx.answer(
        TOKEN_PATH,
        HttpResponse::status(500),
        Duration::from_millis(100),
    );
    let m = fx.manager();
    let reports: Vec<_> = (0..10)
        .map(|_| {
            let m = m.clone();
            let t = current.clone();
            tokio::spawn(async move { m.recover_unauthorized(Some(&t), None).await })
        })
        .collect();
    for r in reports {
        assert!(matches!(r.await.unwrap(), RecoverOutcome::Failed(_)));
    }
    fx.clock.advance(Duration::from_secs(600));
    for _ in 0..10 {
        assert!(matches!(
            m.recover_unauthorized(Some(&current), None).await,
            RecoverOutcome::Failed(_)
        ));
    }
    assert_eq!(fx.token_requests(), 1);
}

#[tokio::test(start_paused = true)]
async fn twenty_concurrent_reports_all_see_the_refresh() {
    let fx = Fixture::new().await;
    let current = fx.write_fresh("a", "rt-a");
    let new = access("b", T0 + 7200);
    fx.answer(
        TOKEN_PATH,
        HttpResponse::json(
            200,
            &serde_json::json!({"access_token": new, "refresh_token": "rt-b"}),
        ),
        Duration::from_millis(100),
    );
    let m = fx.manager();
    let reports: Vec<_> = (0..20)
        .map(|_| {
            let m = m.clone();
            let t = current.clone();
            tokio::spawn(async move { m.recover_unauthorized(Some(&t), None).await })
        })
        .collect();
    for r in reports {
        assert_eq!(r.await.unwrap(), RecoverOutcome::Refreshed);
    }
    assert_eq!(fx.token_requests(), 1);
}

#[tokio::test]
async fn api_keys_are_not_refreshable_and_dead_tokens_send_nothing() {
    let fx = Fixture::new().await;
    fx.write_auth(r#"{"OPENAI_API_KEY":"sk-a","tokens":null,"last_refresh":null}"#);
    let m = fx.manager();
    assert_eq!(
        m.recover_unauthorized(Some("sk-a"), None).await,
        RecoverOutcome::NotRefreshable
    );

    let fx = Fixture::new().await;
    let current = fx.write_stale("a", "rt-a");
    fx.token_reused();
    let m = fx.manager();
    assert!(m.status(StatusRefresh::Requested).await.is_dead());
    assert!(matches!(
        m.recover_unauthorized(Some(&current), None).await,
        RecoverOutcome::Failed(crate::error::RefreshError::Permanent(_))
    ));
    assert_eq!(fx.token_requests(), 1);
}
