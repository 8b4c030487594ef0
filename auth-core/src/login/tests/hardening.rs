use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::support::*;
use crate::fake_issuer::FakeIssuer;
use crate::http::recording::{recording as recording_http, scripted};
use crate::http::{HttpError, HttpResponse, SharedHttpClient};
use crate::login::{AppBrand, LoginError, LoginOptions, SuccessPage, start_browser_login};

fn jwt(claims: serde_json::Value) -> String {
    crate::fake_issuer::unsigned_jwt(&claims)
}

/// Tokens as the token endpoint answers a code.
fn code_tokens() -> HttpResponse {
    let id_token = jwt(json!({"email": "u@example.com",
        "https://api.openai.com/auth": {"chatgpt_account_id": "ws1"}}));
    HttpResponse::json(
        200,
        &json!({"id_token": id_token, "access_token": "acc", "refresh_token": "ref"}),
    )
}

/// An issuer (the HTTP seam) whose token endpoint answers every grant with tokens after `delay`.
fn slow_issuer(delay: Duration) -> SharedHttpClient {
    recording_http(move |_| async move {
        tokio::time::sleep(delay).await;
        Ok::<_, HttpError>(code_tokens())
    })
    .0
}

/// Options whose issuer calls go to `http`; the callback server is real (the browser side).
fn mock_options(http: SharedHttpClient) -> LoginOptions {
    LoginOptions {
        issuer: "https://issuer.test".to_owned(),
        http: Some(http),
        callback_port: 0,
        login_timeout: Duration::from_secs(30),
        http_timeout: Duration::from_secs(10),
        ..LoginOptions::default()
    }
}

/// Item 2: the browser drops the connection during the code exchange. The tokens are saved
/// anyway and the login succeeds (it stayed claimed, every retry waited 30 s and got 409).
#[tokio::test]
async fn an_aborted_callback_still_saves_and_ends_the_login() {
    let (persist, saved) = recording();
    let (handle, auth_url) = start_browser_login(
        &mock_options(slow_issuer(Duration::from_millis(600))),
        persist,
    )
    .await
    .unwrap();
    let state = param(&auth_url, "state");
    let url = format!(
        "{}/auth/callback?code=c1&state={state}",
        callback_base(&auth_url)
    );
    let impatient = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    assert!(
        impatient.get(&url).send().await.is_err(),
        "the browser gave up"
    );
    let outcome = tokio::time::timeout(Duration::from_secs(5), handle.wait())
        .await
        .expect("the login ended");
    assert!(outcome.is_ok(), "{outcome:?}");
    assert_eq!(saved.lock().len(), 1);
}

/// Item 2: after a failed (transient) exchange, the user can sign in again with the same login.
#[tokio::test]
async fn a_retry_after_a_failed_exchange_succeeds() {
    let (http, seen) = scripted(&[(
        "/oauth/token",
        vec![HttpResponse::status(503), code_tokens()],
    )]);
    let (persist, saved) = recording();
    let (handle, auth_url) = start_browser_login(&mock_options(http), persist)
        .await
        .unwrap();
    let state = param(&auth_url, "state");
    let base = callback_base(&auth_url);
    let first = browser()
        .get(format!("{base}/auth/callback?code=c1&state={state}"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 502);
    assert!(first.text().await.unwrap().contains("try signing in again"));
    assert!(!handle.is_finished());
    let started = std::time::Instant::now();
    let second = browser()
        .get(format!("{base}/auth/callback?code=c2&state={state}"))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 302);
    assert!(started.elapsed() < Duration::from_secs(5), "no 30 s wait");
    browser()
        .get(format!("{base}/success"))
        .send()
        .await
        .unwrap();
    assert!(handle.wait().await.is_ok());
    assert_eq!(saved.lock().len(), 1);
    // The failed exchange, the successful one, and its API-key exchange.
    assert_eq!(seen.count_path("/oauth/token"), 3);
}

/// Item 17: a cross-site `/cancel` (no state, or a wrong one) does not end the login; the
/// login's own state does.
#[tokio::test]
async fn cancel_requires_the_logins_state() {
    let issuer = FakeIssuer::start().await.unwrap();
    let (persist, _) = recording();
    let (handle, auth_url) = start_browser_login(&options(&issuer), persist)
        .await
        .unwrap();
    let base = callback_base(&auth_url);
    for query in ["", "?state=forged"] {
        let resp = browser()
            .get(format!("{base}/cancel{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{query}");
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!handle.is_finished());
    let state = param(&auth_url, "state");
    let resp = browser()
        .get(format!("{base}/cancel?state={state}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(handle.wait().await.unwrap_err(), LoginError::Cancelled);
}

/// Item 16: a client that sends no request head is disconnected after the header timeout, and
/// connections past the cap are closed at once (slowloris exhausted our descriptors).
#[tokio::test]
async fn idle_connections_are_timed_out_and_capped() {
    let issuer = FakeIssuer::start().await.unwrap();
    let (persist, _) = recording();
    let mut opts = options(&issuer);
    opts.header_timeout = Duration::from_millis(300);
    let (handle, auth_url) = start_browser_login(&opts, persist).await.unwrap();
    let addr = callback_base(&auth_url).replace("http://", "");
    let mut idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /auth/callback HTTP/1.1\r\n")
        .await
        .unwrap(); // never finished
    let mut buf = [0u8; 64];
    let closed = tokio::time::timeout(Duration::from_secs(3), idle.read(&mut buf)).await;
    assert!(
        matches!(closed, Ok(Ok(_)) | Ok(Err(_))),
        "still open after the header timeout"
    );
    handle.cancel().await;

    let (persist, _) = recording();
    let mut opts = options(&issuer);
    opts.header_timeout = Duration::from_secs(20);
    let (handle, auth_url) = start_browser_login(&opts, persist).await.unwrap();
    let addr = callback_base(&auth_url).replace("http://", "");
    let mut conns = Vec::new();
    for _ in 0..48 {
        conns.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    let mut closed_at_once = 0;
    for conn in &mut conns {
        let mut buf = [0u8; 8];
        if let Ok(Ok(0)) =
            tokio::time::timeout(Duration::from_millis(100), conn.read(&mut buf)).await
        {
            closed_at_once += 1;
        }
    }
    assert!(
        closed_at_once >= 48 - 32,
        "only {closed_at_once} of 48 closed"
    );
    drop(conns);
    handle.cancel().await;
}

/// Codex 0.171: the state may carry `.onboarding_entrypoint=life_sciences`, which the login's
/// outcome reports; another suffix is a mismatch.
#[tokio::test]
async fn the_onboarding_suffix_is_accepted_and_reported() {
    let issuer = FakeIssuer::start().await.unwrap();
    let (persist, saved) = recording();
    let (handle, auth_url) = start_browser_login(&options(&issuer), persist)
        .await
        .unwrap();
    let redirect = param(&auth_url, "redirect_uri");
    assert!(redirect.starts_with("http://127.0.0.1:"), "{redirect}");
    let callback = approve(&auth_url).await;
    let state = param(&callback, "state");
    let forged = callback.replace(
        &format!("state={state}"),
        &format!("state={state}.onboarding_entrypoint%3Dsomething_else"),
    );
    assert_eq!(browser().get(&forged).send().await.unwrap().status(), 400);
    let hinted = callback.replace(
        &format!("state={state}"),
        &format!("state={state}.onboarding_entrypoint%3Dlife_sciences"),
    );
    let resp = browser().get(&hinted).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    assert_eq!(resp.headers()["location"], "/success");
    browser()
        .get(format!("{}/success", callback_base(&auth_url)))
        .send()
        .await
        .unwrap();
    let success = handle.wait().await.unwrap();
    assert_eq!(
        success.onboarding_entrypoint.as_deref(),
        Some("life_sciences")
    );
    assert_eq!(saved.lock().len(), 1);
}

/// Codex 0.171 `useHostedLoginSuccessPage` + `appBrand`: the callback redirects to the hosted
/// page and the login completes without a `/success` fetch.
#[tokio::test]
async fn the_hosted_success_page_ends_the_login_at_the_callback() {
    let issuer = FakeIssuer::start().await.unwrap();
    let (persist, saved) = recording();
    let mut opts = options(&issuer);
    opts.success_page = SuccessPage::Hosted(AppBrand::Chatgpt);
    let (handle, auth_url) = start_browser_login(&opts, persist).await.unwrap();
    let resp = browser()
        .get(approve(&auth_url).await)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    assert_eq!(
        resp.headers()["location"],
        "https://chatgpt.com/codex/open-app?source=login&app_brand=chatgpt"
    );
    let success = tokio::time::timeout(Duration::from_secs(5), handle.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(success.onboarding_entrypoint, None);
    assert_eq!(saved.lock().len(), 1);
}
