//! Transient backoff and coalescing on a manual clock (AUTH.md §12 37-41).

use std::time::Duration;

use super::support::*;
use crate::error::{RefreshError, TransientError};
use crate::http::{HttpResponse, header};
use crate::manager::{RefreshOutcome, StatusRefresh, Trigger};

fn backed_off(r: &Result<RefreshOutcome, RefreshError>) -> bool {
    matches!(
        r,
        Err(RefreshError::Transient {
            kind: TransientError::BackedOff,
            ..
        })
    )
}

#[tokio::test]
async fn backoff_doubles_from_one_second() {
    let fx = Fixture::new().await;
    fx.write_fresh("a", "rt-a");
    fx.token_endpoint(HttpResponse::status(500));
    let m = fx.manager();
    assert!(m.refresh(Trigger::Requested).await.is_err());
    assert_eq!(fx.token_requests(), 1);
    fx.clock.advance(Duration::from_millis(500));
    assert!(backed_off(&m.refresh(Trigger::Requested).await));
    assert_eq!(fx.token_requests(), 1);
    fx.clock.advance(Duration::from_millis(500));
    assert!(!backed_off(&m.refresh(Trigger::Requested).await));
    assert_eq!(fx.token_requests(), 2);
    fx.clock.advance(Duration::from_millis(1999));
    assert!(backed_off(&m.refresh(Trigger::Requested).await));
    fx.clock.advance(Duration::from_millis(1));
    assert!(!backed_off(&m.refresh(Trigger::Requested).await));
    assert_eq!(fx.token_requests(), 3);
}

#[tokio::test]
async fn ten_seconds_of_polling_an_outage_sends_four_requests_and_serves_the_old_token() {
    let fx = Fixture::new().await;
    let old = fx.write_fresh("a", "rt-a");
    fx.token_endpoint(HttpResponse::status(500));
    let m = fx.manager();
    for _ in 0..100 {
        let view = m.status(StatusRefresh::Requested).await;
        assert_eq!(view.usable_bearer(), Some(old.as_str()));
        fx.clock.advance(Duration::from_millis(100));
    }
    // t = 0, 1, 3, 7 s.
    assert_eq!(fx.token_requests(), 4);
    let failure = m.current_view().refresh_failure().cloned().unwrap();
    assert!(failure.transient);
    assert!(
        failure.message.starts_with("Failed to refresh token: 500"),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let fx = Fixture::new().await;
    fx.write_fresh("a", "rt-a");
    fx.token_endpoint(HttpResponse::status(429).with_header(header::RETRY_AFTER, "120"));
    let m = fx.manager();
    assert!(m.refresh(Trigger::Requested).await.is_err());
    fx.clock.advance(Duration::from_secs(119));
    assert!(backed_off(&m.refresh(Trigger::Requested).await));
    assert_eq!(fx.token_requests(), 1);
    fx.clock.advance(Duration::from_secs(1));
    let _ = m.refresh(Trigger::Requested).await;
    assert_eq!(fx.token_requests(), 2);
}

#[tokio::test]
async fn new_credentials_are_not_held_back_by_an_old_backoff() {
    let fx = Fixture::new().await;
    fx.write_stale("a", "rt-a");
    fx.token_endpoint(HttpResponse::status(500));
    let m = fx.manager();
    assert!(m.refresh(Trigger::Proactive).await.is_err());
    fx.write_stale("b", "rt-b");
    assert!(!backed_off(&m.refresh(Trigger::Proactive).await));
    assert_eq!(fx.token_requests(), 2);
}

#[tokio::test]
async fn requested_refreshes_coalesce_for_thirty_seconds() {
    let fx = Fixture::new().await;
    fx.write_fresh("a", "rt-a");
    fx.token_ok("b", "rt-b");
    let m = fx.manager();
    assert_eq!(
        m.refresh(Trigger::Requested).await,
        Ok(RefreshOutcome::Refreshed)
    );
    fx.clock.advance(Duration::from_secs(5));
    assert_eq!(
        m.refresh(Trigger::Requested).await,
        Ok(RefreshOutcome::NotNeeded)
    );
    assert_eq!(fx.token_requests(), 1);
    fx.clock.advance(Duration::from_secs(26));
    assert_eq!(
        m.refresh(Trigger::Requested).await,
        Ok(RefreshOutcome::Refreshed)
    );
    assert_eq!(fx.token_requests(), 2);
}

#[tokio::test]
async fn proactive_rule_follows_exp_then_last_refresh() {
    for (exp_offset, expected) in [(4 * 60, 1), (6 * 60, 0)] {
        let fx = Fixture::new().await;
        fx.write_auth(&chatgpt_json(&access("a", T0 + exp_offset), "rt-a"));
        fx.token_ok("b", "rt-b");
        let _ = fx.manager().view_refreshed_if_stale().await;
        assert_eq!(fx.token_requests(), expected, "exp in {exp_offset} s");
    }
    // A non-JWT access token falls back to last_refresh: 9 days old refreshes, 7 does not.
    for (days, expected) in [(9, 1), (7, 0)] {
        let fx = Fixture::new().await;
        let last = t0() - chrono::Duration::days(days);
        let mut doc: serde_json::Value =
            serde_json::from_str(&chatgpt_json("opaque-token", "rt-a")).unwrap();
        doc["last_refresh"] = serde_json::json!(last.to_rfc3339());
        fx.write_auth(&doc.to_string());
        fx.token_ok("b", "rt-b");
        let _ = fx.manager().view_refreshed_if_stale().await;
        assert_eq!(
            fx.token_requests(),
            expected,
            "last_refresh {days} days ago"
        );
    }
}
