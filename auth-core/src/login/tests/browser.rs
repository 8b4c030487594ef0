use std::sync::Arc;
use std::time::Duration;

use pretty_assertions::assert_eq;
use tokio::sync::oneshot;

use super::support::*;
use crate::auth_json::AuthMode;
use crate::fake_issuer::{Endpoint, FakeIssuer};
use crate::login::{LoginError, LoginSuccess, Persist, start_browser_login};

#[tokio::test]
async fn right_state_signs_in_after_a_rejected_wrong_state() {
    let issuer = FakeIssuer::start().await.unwrap();
    let (persist, saved) = recording();
    let (handle, auth_url) = start_browser_login(&options(&issuer), persist)
        .await
        .unwrap();
    let base = callback_base(&auth_url);
    let browser = browser();

    // `/success` before any save is a 404.
    let early = browser.get(format!("{base}/success")).send().await.unwrap();
    assert_eq!(early.status(), 404);

    let callback = approve(&auth_url).await;
    let state = param(&auth_url, "state");
    assert_eq!(param(&callback, "state"), state);

    // A wrong state: 400 and the login keeps waiting.
    let forged = callback.replace(&format!("state={state}"), "state=forged");
    let resp = browser.get(&forged).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.text().await.unwrap(), "State mismatch");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!handle.is_finished());
    assert_eq!(issuer.count(Endpoint::AuthorizationCode), 0);

    // The right state: one exchange, one API-key exchange, a save, 302 to /success.
    let resp = browser.get(&callback).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    assert_eq!(resp.headers()["location"], "/success");
    assert_eq!(issuer.count(Endpoint::AuthorizationCode), 1);
    assert_eq!(issuer.count(Endpoint::TokenExchange), 1);
    assert_eq!(issuer.count(Endpoint::Refresh), 0);
    {
        let saved = saved.lock();
        assert_eq!(saved.len(), 1);
        let doc = &saved[0];
        assert_eq!(doc.resolve_mode(), Ok(AuthMode::Chatgpt));
        let tokens = doc.tokens.as_ref().unwrap();
        assert_eq!(tokens.account_id.as_deref(), Some("ws-demo"));
        assert_eq!(
            tokens.id_token.claims().email.as_deref(),
            Some("user@example.com")
        );
        assert!(!tokens.refresh_token.is_empty());
        let key = doc.openai_api_key.as_ref().unwrap();
        assert!(key.expose().starts_with("sk-demo-"));
        assert!(doc.last_refresh.is_some());
    }
    assert!(!handle.is_finished(), "the login ends on /success");

    let success = browser.get(format!("{base}/success")).send().await.unwrap();
    assert_eq!(success.status(), 200);
    assert_eq!(success.headers()["connection"], "close");
    assert!(success.text().await.unwrap().contains("Signed in"));
    assert_eq!(handle.wait().await, Ok(LoginSuccess::default()));
    let port = url::Url::parse(&base).unwrap().port().unwrap();
    assert!(port_is_free(port));
    assert_eq!(issuer.count(Endpoint::Refresh), 0);
}

#[tokio::test]
async fn a_workspace_outside_the_restriction_saves_nothing() {
    let issuer = FakeIssuer::start().await.unwrap();
    issuer.set_account_id(Some("ws-other"));
    let mut opts = options(&issuer);
    opts.allowed_workspaces = vec!["ws1".into(), "ws2".into()];
    opts.config.forced_workspace_ids = opts.allowed_workspaces.clone();
    let (persist, saved) = recording();
    let (handle, auth_url) = start_browser_login(&opts, persist).await.unwrap();
    assert!(auth_url.ends_with("&allowed_workspace_id=ws1%2Cws2"));
    let resp = browser()
        .get(approve(&auth_url).await)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("Login is restricted to workspace id(s) ws1, ws2.")
    );
    let err = handle.wait().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Login is restricted to workspace id(s) ws1, ws2."
    );
    assert!(saved.lock().is_empty());
    assert_eq!(issuer.count(Endpoint::TokenExchange), 0);
}

/// Sends `query` (with the right state appended) to the callback and returns the outcome.
async fn callback_outcome(
    issuer: &FakeIssuer,
    persist: Persist,
    query: &str,
) -> (u16, String, LoginError) {
    let (handle, auth_url) = start_browser_login(&options(issuer), persist)
        .await
        .unwrap();
    let state = param(&auth_url, "state");
    let url = format!(
        "{}/auth/callback?{query}&state={state}",
        callback_base(&auth_url)
    );
    let resp = browser().get(url).send().await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap();
    (status, body, handle.wait().await.unwrap_err())
}

#[tokio::test]
async fn issuer_errors_end_the_login_with_escaped_pages() {
    let issuer = FakeIssuer::start().await.unwrap();
    let (persist, saved) = recording();

    let q = "error=server_error&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E";
    let (status, body, err) = callback_outcome(&issuer, Arc::clone(&persist), q).await;
    assert_eq!(status, 400);
    assert_eq!(
        err,
        LoginError::SignInFailed("<script>alert(1)</script>".into())
    );
    assert_eq!(err.to_string(), "Sign-in failed: <script>alert(1)</script>");
    assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!body.contains("<script>"));

    let (_, _, err) = callback_outcome(
        &issuer,
        Arc::clone(&persist),
        "error=temporarily_unavailable",
    )
    .await;
    assert_eq!(err.to_string(), "Sign-in failed: temporarily_unavailable");

    let q = "error=access_denied&error_description=missing_codex_entitlement";
    let (_, _, err) = callback_outcome(&issuer, Arc::clone(&persist), q).await;
    assert_eq!(
        err.to_string(),
        "Codex is not enabled for your workspace. Contact your workspace administrator to request access to Codex."
    );

    let (_, _, err) = callback_outcome(&issuer, Arc::clone(&persist), "x=1").await;
    assert_eq!(
        err.to_string(),
        "Missing authorization code. Sign-in could not be completed."
    );
    assert!(saved.lock().is_empty());
    assert_eq!(issuer.count(Endpoint::AuthorizationCode), 0);
}

#[tokio::test]
async fn a_refused_code_or_a_failed_save_ends_the_login() {
    let issuer = FakeIssuer::start().await.unwrap();
    let (persist, saved) = recording();
    let (status, body, err) = callback_outcome(&issuer, persist, "code=never-issued").await;
    assert_eq!(status, 400);
    assert_eq!(
        err.to_string(),
        "Token exchange failed: token endpoint returned status 400 Bad Request: unknown or used authorization code"
    );
    assert!(!body.contains("never-issued"));
    assert!(!format!("{err:?}").contains("never-issued"));
    assert!(saved.lock().is_empty());

    let (handle, auth_url) = start_browser_login(&options(&issuer), failing())
        .await
        .unwrap();
    let resp = browser()
        .get(approve(&auth_url).await)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let err = handle.wait().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Sign-in completed but credentials could not be saved locally."
    );
}

#[tokio::test]
async fn cancel_ends_with_not_completed_and_frees_the_port() {
    let issuer = FakeIssuer::start().await.unwrap();
    let (persist, saved) = recording();
    let (handle, auth_url) = start_browser_login(&options(&issuer), persist)
        .await
        .unwrap();
    let port = url::Url::parse(&callback_base(&auth_url))
        .unwrap()
        .port()
        .unwrap();
    assert!(!port_is_free(port));
    let waiter = tokio::spawn({
        let handle = handle.clone();
        async move { handle.wait().await }
    });
    handle.cancel().await;
    assert!(port_is_free(port), "cancel returns after the port is free");
    assert_eq!(
        waiter.await.unwrap().unwrap_err().to_string(),
        "Login was not completed"
    );
    assert!(saved.lock().is_empty());
}

#[tokio::test]
async fn an_idle_login_times_out() {
    let issuer = FakeIssuer::start().await.unwrap();
    let mut opts = options(&issuer);
    opts.login_timeout = Duration::from_secs(1);
    let (persist, _) = recording();
    let (handle, _) = start_browser_login(&opts, persist).await.unwrap();
    let err = tokio::time::timeout(Duration::from_secs(10), handle.wait())
        .await
        .unwrap();
    assert_eq!(err.unwrap_err().to_string(), "Login timed out");
}

#[tokio::test]
async fn a_cancel_during_the_save_waits_for_it_and_the_login_succeeds() {
    let issuer = FakeIssuer::start().await.unwrap();
    let (started_tx, started_rx) = oneshot::channel::<()>();
    let (release_tx, release_rx) = oneshot::channel::<()>();
    let slots = Arc::new(parking_lot::Mutex::new(Some((started_tx, release_rx))));
    let persist: Persist = Arc::new(move |_| {
        let slot = slots.lock().take();
        Box::pin(async move {
            let (started, release) = slot.ok_or("saved twice")?;
            let _ = started.send(());
            release.await.map_err(|e| e.to_string())
        })
    });
    let (handle, auth_url) = start_browser_login(&options(&issuer), persist)
        .await
        .unwrap();
    let callback = approve(&auth_url).await;
    let request =
        tokio::spawn(async move { browser().get(callback).send().await.unwrap().status() });
    started_rx.await.unwrap();
    let cancel = tokio::spawn({
        let handle = handle.clone();
        async move { handle.cancel().await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !handle.is_finished(),
        "the cancel waits for the save in progress"
    );
    release_tx.send(()).unwrap();
    cancel.await.unwrap();
    assert_eq!(handle.wait().await, Ok(LoginSuccess::default()));
    assert_eq!(request.await.unwrap(), 302);
}

#[tokio::test]
async fn a_repeated_callback_never_spends_the_code_twice_nor_fails_the_login() {
    let issuer = FakeIssuer::start().await.unwrap();
    let (persist, saved) = recording();
    let (handle, auth_url) = start_browser_login(&options(&issuer), persist)
        .await
        .unwrap();
    let callback = approve(&auth_url).await;
    let browser = browser();
    // The same callback twice at once (a reload, a prefetch).
    let (first, second) =
        tokio::join!(browser.get(&callback).send(), browser.get(&callback).send());
    for resp in [first.unwrap(), second.unwrap()] {
        assert_eq!(resp.status(), 302);
        assert_eq!(resp.headers()["location"], "/success");
    }
    assert_eq!(issuer.count(Endpoint::AuthorizationCode), 1);
    assert_eq!(saved.lock().len(), 1);
    let base = callback_base(&auth_url);
    browser.get(format!("{base}/success")).send().await.unwrap();
    assert_eq!(handle.wait().await, Ok(LoginSuccess::default()));
}
