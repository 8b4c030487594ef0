//! Single flight in the process and across processes (AUTH.md §12 28-33).

use std::time::Duration;

use super::support::*;
use crate::error::{RefreshError, TransientError};
use crate::http::HttpResponse;
use crate::manager::{RefreshOutcome, Trigger};

#[tokio::test(start_paused = true)]
async fn twenty_concurrent_refreshes_share_one_request() {
    let fx = Fixture::new().await;
    fx.write_stale("a", "rt-a");
    let token = access("new", T0 + 7200);
    fx.answer(
        TOKEN_PATH,
        HttpResponse::json(
            200,
            &serde_json::json!({"access_token": token, "refresh_token": "rt-b"}),
        ),
        Duration::from_millis(200),
    );
    let m = fx.manager();
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let m = m.clone();
            tokio::spawn(async move { m.refresh(Trigger::Proactive).await })
        })
        .collect();
    for call in calls {
        let outcome = call.await.unwrap().unwrap();
        assert!(matches!(
            outcome,
            RefreshOutcome::Refreshed | RefreshOutcome::Adopted { .. }
        ));
    }
    assert_eq!(m.current_view().usable_bearer(), Some(token.as_str()));
    assert_eq!(fx.token_requests(), 1);
    assert_eq!(fx.stored().tokens.unwrap().refresh_token.expose(), "rt-b");
}

#[tokio::test(start_paused = true)]
async fn twenty_concurrent_refreshes_of_a_dead_token_share_one_request() {
    let fx = Fixture::new().await;
    fx.write_stale("a", "rt-a");
    fx.token_reused_after(Duration::from_millis(200));
    let m = fx.manager();
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let m = m.clone();
            tokio::spawn(async move { m.refresh(Trigger::Proactive).await })
        })
        .collect();
    for call in calls {
        assert!(matches!(
            call.await.unwrap(),
            Err(RefreshError::Permanent(p)) if p.reason == crate::classify::FailureReason::Exhausted
        ));
    }
    assert_eq!(fx.token_requests(), 1);
}

#[tokio::test(start_paused = true)]
async fn two_managers_on_one_home_spend_the_refresh_token_once() {
    let fx = Fixture::new().await;
    fx.write_stale("a", "rt-a");
    let token = access("new", T0 + 7200);
    fx.answer(
        TOKEN_PATH,
        HttpResponse::json(
            200,
            &serde_json::json!({"access_token": token, "refresh_token": "rt-b"}),
        ),
        Duration::from_millis(200),
    );
    let a = fx.manager();
    let b = fx.manager();
    let (ra, rb) = tokio::join!(a.refresh(Trigger::Proactive), b.refresh(Trigger::Proactive));
    let outcomes = [ra.unwrap(), rb.unwrap()];
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == RefreshOutcome::Refreshed)
            .count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(a.current_view().usable_bearer(), Some(token.as_str()));
    assert_eq!(b.current_view().usable_bearer(), Some(token.as_str()));
    assert_eq!(fx.token_requests(), 1);
}

#[tokio::test(start_paused = true)]
async fn lock_held_elsewhere_times_out_without_request_or_backoff() {
    let fx = Fixture::new().await;
    let old = fx.write_stale("a", "rt-a");
    fx.token_ok("b", "rt-b");
    let held = fx.hold_lock().await;
    let m = fx.manager();
    let err = m.refresh(Trigger::Proactive).await.unwrap_err();
    assert!(matches!(
        err,
        RefreshError::Transient {
            kind: TransientError::LockTimeout,
            ..
        }
    ));
    assert_eq!(m.current_view().usable_bearer(), Some(old.as_str()));
    assert!(
        m.current_view().refresh_failure().is_none(),
        "no backoff after a lock timeout"
    );
    assert_eq!(fx.token_requests(), 0);
    drop(held);
    assert_eq!(
        m.refresh(Trigger::Proactive).await,
        Ok(RefreshOutcome::Refreshed)
    );
    assert_eq!(fx.token_requests(), 1);
}

#[tokio::test(start_paused = true)]
async fn lock_unaware_rotation_during_a_reused_failure_is_adopted() {
    let fx = Fixture::new().await;
    fx.write_stale("a", "rt-a");
    fx.token_reused_after(Duration::from_millis(400));
    let m = fx.manager();
    let refreshing = tokio::spawn({
        let m = m.clone();
        async move { m.refresh(Trigger::Proactive).await }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let rotated = fx.write_fresh("rotated", "rt-rotated");
    let outcome = refreshing.await.unwrap();
    assert!(
        matches!(outcome, Ok(RefreshOutcome::Adopted { .. })),
        "{outcome:?}"
    );
    assert_eq!(m.current_view().usable_bearer(), Some(rotated.as_str()));
    assert!(!fx.home().join("auth.json.refresh-failure").exists());
    assert_eq!(fx.token_requests(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_forced_refresh_never_spends_a_token_replaced_while_it_waited_for_the_lock() {
    let fx = Fixture::new().await;
    let rejected = fx.write_fresh("a", "rt-a");
    fx.token_ok("never", "rt-never");
    let m = fx.manager();
    let held = fx.hold_lock().await;
    let recovering = tokio::spawn({
        let m = m.clone();
        let rejected = rejected.clone();
        async move { m.recover_unauthorized(Some(&rejected), None).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Another process rotates the tokens while holding the lock; a status poll here adopts them
    // before the waiting recovery gets the lock.
    let rotated = fx.write_fresh("b", "rt-b");
    assert_eq!(m.current_view().usable_bearer(), Some(rotated.as_str()));
    drop(held);
    let outcome = recovering.await.unwrap();
    assert!(
        matches!(
            outcome,
            crate::manager::RecoverOutcome::Adopted
                | crate::manager::RecoverOutcome::AlreadyCurrent
        ),
        "{outcome:?}"
    );
    assert_eq!(fx.token_requests(), 0, "rt-a must not be spent again");
}
