//! The manager on the HTTP seam with tokio's paused clock: the token endpoint is a closure, every
//! test counts the requests it saw, and issuer delays cost no real time (`start_paused`).

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use super::support::*;
use crate::backoff::FixedJitter;
use crate::clock::ManualClock;
use crate::error::{RefreshError, TransientError};
use crate::http::recording::{Requests, recording};
use crate::http::{HttpError, HttpRequest, HttpResponse, SharedHttpClient, header};
use crate::manager::{AuthManager, ManagerOptions, RecoverOutcome, StatusRefresh, Trigger};

const TOKEN_URL: &str = "https://issuer.test/oauth/token";
const REVOKE_URL: &str = "https://issuer.test/oauth/revoke";

/// A home, a manual wall clock and options whose issuer calls go to `http`.
struct SeamFixture {
    home: tempfile::TempDir,
    clock: Arc<ManualClock>,
}

impl SeamFixture {
    fn new() -> SeamFixture {
        SeamFixture {
            home: tempfile::tempdir().unwrap(),
            clock: Arc::new(ManualClock::new(t0())),
        }
    }

    fn write_auth(&self, text: &str) {
        crate::atomic_write::write_atomic(&self.home.path().join("auth.json"), text.as_bytes())
            .unwrap();
    }

    fn options(&self, http: SharedHttpClient) -> ManagerOptions {
        let mut opts = ManagerOptions::new(self.home.path().to_path_buf());
        opts.http = Some(http);
        opts.refresh_url = Some(TOKEN_URL.to_owned());
        opts.revoke_url = Some(REVOKE_URL.to_owned());
        opts.clock = self.clock.clone();
        opts.jitter = Arc::new(FixedJitter(1.0));
        opts.valid_proactive_wait = Duration::from_secs(10);
        opts.valid_requested_wait = Duration::from_secs(10);
        opts
    }

    fn manager(&self, http: &SharedHttpClient) -> AuthManager {
        AuthManager::new(self.options(http.clone())).unwrap()
    }
}

/// An issuer that takes `delay` (tokio time) and then answers `response` to every request.
fn issuer(delay: Duration, response: HttpResponse) -> (SharedHttpClient, Requests) {
    recording(move |_: HttpRequest| {
        let response = response.clone();
        async move {
            tokio::time::sleep(delay).await;
            Ok::<_, HttpError>(response)
        }
    })
}

fn new_tokens(tag: &str, rt: &str) -> (String, HttpResponse) {
    let token = access(tag, T0 + 7200);
    let answer = HttpResponse::json(
        200,
        &json!({"access_token": token, "refresh_token": rt, "id_token": id_token("ws1")}),
    );
    (token, answer)
}

fn reused() -> HttpResponse {
    HttpResponse::json(401, &json!({"error": {"code": "refresh_token_reused"}}))
}

/// The documented request goes through the injected client: POST, JSON body, originator.
#[tokio::test(start_paused = true)]
async fn a_refresh_sends_the_documented_request_through_the_seam() {
    let fx = SeamFixture::new();
    fx.write_auth(&chatgpt_json(&access("a", T0 - 60), "rt-a"));
    let (token, answer) = new_tokens("b", "rt-b");
    let (http, seen) = issuer(Duration::ZERO, answer);
    let m = fx.manager(&http);
    assert_eq!(
        m.status(StatusRefresh::Requested).await.usable_bearer(),
        Some(token.as_str())
    );
    let requests = seen.all();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, crate::http::Method::POST);
    assert_eq!(request.url, TOKEN_URL);
    assert_eq!(
        request.json(),
        json!({"client_id": crate::token_endpoint::CLIENT_ID, "grant_type": "refresh_token", "refresh_token": "rt-a"})
    );
    assert_eq!(request.headers["content-type"], "application/json");
    assert_eq!(request.headers["originator"], "codex_cli_rs");
    assert_eq!(
        request.headers[header::USER_AGENT],
        format!("codex_cli_rs/{}", env!("CARGO_PKG_VERSION"))
    );
}

/// Fifty concurrent `refreshToken: true` polls of stale credentials, issuer taking 300 ms: one
/// token request, and every poll gets the new token.
#[tokio::test(start_paused = true)]
async fn fifty_concurrent_requested_refreshes_share_one_token_request() {
    let fx = SeamFixture::new();
    fx.write_auth(&chatgpt_json(&access("a", T0 - 60), "rt-a"));
    let (token, answer) = new_tokens("b", "rt-b");
    let (http, seen) = issuer(Duration::from_millis(300), answer);
    let m = fx.manager(&http);
    let polls: Vec<_> = (0..50)
        .map(|_| {
            let m = m.clone();
            tokio::spawn(async move { m.status(StatusRefresh::Requested).await })
        })
        .collect();
    for poll in polls {
        assert_eq!(poll.await.unwrap().usable_bearer(), Some(token.as_str()));
    }
    assert_eq!(seen.count(), 1);
}

/// A permanent failure (`refresh_token_reused`), then fifty polls: one token request in all, and
/// a manager started later on the same home sends none.
#[tokio::test(start_paused = true)]
async fn a_permanent_failure_then_fifty_polls_make_one_token_request() {
    let fx = SeamFixture::new();
    fx.write_auth(&chatgpt_json(&access("a", T0 - 60), "rt-a"));
    let (http, seen) = issuer(Duration::ZERO, reused());
    let m = fx.manager(&http);
    for _ in 0..50 {
        let view = m.status(StatusRefresh::Requested).await;
        assert!(view.is_dead());
        assert_eq!(view.usable_bearer(), None);
    }
    assert_eq!(seen.count(), 1);
    drop(m);
    let restarted = fx.manager(&http);
    assert!(restarted.status(StatusRefresh::Requested).await.is_dead());
    assert!(matches!(
        restarted.refresh(Trigger::Requested).await,
        Err(RefreshError::Permanent(_))
    ));
    assert_eq!(seen.count(), 1);
}

/// Transient failures back off 1 s, 2 s, 4 s (jitter 1) on the manager's clock, and a
/// `Retry-After` longer than the step holds requests back until it passed.
#[tokio::test(start_paused = true)]
async fn transient_failures_back_off_and_retry_after_is_a_lower_bound() {
    let backed_off = |r: &Result<_, RefreshError>| {
        matches!(
            r,
            Err(RefreshError::Transient {
                kind: TransientError::BackedOff,
                ..
            })
        )
    };
    let fx = SeamFixture::new();
    fx.write_auth(&chatgpt_json(&access("a", T0 + 3600), "rt-a"));
    let (http, seen) = issuer(Duration::ZERO, HttpResponse::status(500));
    let m = fx.manager(&http);
    let mut sent_at = Vec::new();
    for tenth in 0..80 {
        let before = seen.count();
        let result = m.refresh(Trigger::Requested).await;
        if seen.count() > before {
            assert!(!backed_off(&result));
            sent_at.push(tenth);
        } else {
            assert!(backed_off(&result), "{result:?}");
        }
        fx.clock.advance(Duration::from_millis(100));
    }
    // t = 0, 1, 3, 7 s.
    assert_eq!(sent_at, [0, 10, 30, 70]);

    let fx = SeamFixture::new();
    fx.write_auth(&chatgpt_json(&access("a", T0 + 3600), "rt-a"));
    let (http, seen) = issuer(
        Duration::ZERO,
        HttpResponse::status(429).with_header(header::RETRY_AFTER, "120"),
    );
    let m = fx.manager(&http);
    assert!(m.refresh(Trigger::Requested).await.is_err());
    fx.clock.advance(Duration::from_secs(119));
    assert!(backed_off(&m.refresh(Trigger::Requested).await));
    assert_eq!(seen.count(), 1);
    fx.clock.advance(Duration::from_secs(1));
    assert!(!backed_off(&m.refresh(Trigger::Requested).await));
    assert_eq!(seen.count(), 2);
}

/// A hung issuer: a requested refresh of a still-valid token answers with the cached token once
/// `valid_requested_wait` (2 s) passed on the paused clock, and a plain poll does not wait at all.
#[tokio::test(start_paused = true)]
async fn a_hung_issuer_costs_a_requested_refresh_only_its_wait() {
    let fx = SeamFixture::new();
    let token = access("a", T0 + 240); // valid, but within the 5-minute refresh window
    fx.write_auth(&chatgpt_json(&token, "rt-a"));
    let (http, seen) = recording(|_| std::future::pending::<Result<HttpResponse, HttpError>>());
    let mut opts = fx.options(http);
    opts.valid_proactive_wait = Duration::ZERO;
    opts.valid_requested_wait = Duration::from_secs(2);
    let m = AuthManager::new(opts).unwrap();

    let started = Instant::now();
    assert_eq!(
        m.status(StatusRefresh::WhenStale).await.usable_bearer(),
        Some(token.as_str())
    );
    assert_eq!(started.elapsed(), Duration::ZERO);
    // Bounded, so a wait that never ends fails (at 60 s of paused time) instead of hanging.
    let requested =
        tokio::time::timeout(Duration::from_secs(60), m.status(StatusRefresh::Requested))
            .await
            .expect("the requested refresh answers within its wait");
    assert_eq!(requested.usable_bearer(), Some(token.as_str()));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(2) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    assert_eq!(seen.count(), 1);
}

/// Twenty concurrent 401 reports of one token: one forced refresh, all see it; reporting the
/// replaced token again sends nothing.
#[tokio::test(start_paused = true)]
async fn twenty_concurrent_reports_of_one_token_make_one_request() {
    let fx = SeamFixture::new();
    let rejected = access("a", T0 + 3600);
    fx.write_auth(&chatgpt_json(&rejected, "rt-a"));
    let (token, answer) = new_tokens("b", "rt-b");
    let (http, seen) = issuer(Duration::from_millis(100), answer);
    let m = fx.manager(&http);
    let reports: Vec<_> = (0..20)
        .map(|_| {
            let m = m.clone();
            let rejected = rejected.clone();
            tokio::spawn(async move { m.recover_unauthorized(Some(&rejected), None).await })
        })
        .collect();
    for report in reports {
        assert_eq!(report.await.unwrap(), RecoverOutcome::Refreshed);
    }
    assert_eq!(seen.count(), 1);
    assert_eq!(m.current_view().usable_bearer(), Some(token.as_str()));
    assert_eq!(
        m.recover_unauthorized(Some(&rejected), None).await,
        RecoverOutcome::AlreadyCurrent
    );
    assert_eq!(seen.count(), 1);
}

/// Logout revokes the refresh token through the injected client, then signs out.
#[tokio::test(start_paused = true)]
async fn logout_revokes_the_refresh_token_through_the_seam() {
    let fx = SeamFixture::new();
    fx.write_auth(&chatgpt_json(&access("a", T0 + 3600), "rt-a"));
    let (http, seen) = issuer(Duration::ZERO, HttpResponse::status(200));
    let m = fx.manager(&http);
    assert!(m.logout().await.unwrap());
    let requests = seen.all();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].url, REVOKE_URL);
    assert_eq!(
        requests[0].json(),
        json!({"token": "rt-a", "token_type_hint": "refresh_token", "client_id": crate::token_endpoint::CLIENT_ID})
    );
    assert_eq!(m.current_view().mode(), None);
}
