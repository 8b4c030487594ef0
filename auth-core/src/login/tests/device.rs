use std::time::Duration;

use pretty_assertions::assert_eq;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::support::*;
use crate::fake_issuer::{Endpoint, FakeIssuer};
use crate::login::{LoginError, LoginOptions, start_device_login};

#[tokio::test]
async fn approval_after_pending_polls_saves_without_an_api_key() {
    let issuer = FakeIssuer::start().await.unwrap();
    issuer.set_device_interval(Some("1"));
    issuer.set_device_pending_polls(2);
    let (persist, saved) = recording();
    let started = tokio::time::Instant::now();
    let (handle, code) = start_device_login(&options(&issuer), persist)
        .await
        .unwrap();
    assert_eq!(
        code.verification_url,
        format!("{}/codex/device", issuer.url())
    );
    assert!(code.user_code.starts_with("FAKE-"));
    assert_eq!(
        handle.wait().await,
        Ok(crate::login::LoginSuccess::default())
    );
    // Polls at 0, 1 and 2 s: two pending answers, then the grant.
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert_eq!(issuer.count(Endpoint::UserCode), 1);
    assert_eq!(issuer.count(Endpoint::DeviceToken), 3);
    // The fake issuer only accepts redirect_uri = <issuer>/deviceauth/callback and the
    // verifier it returned: one accepted exchange proves both.
    assert_eq!(issuer.count(Endpoint::AuthorizationCode), 1);
    assert_eq!(issuer.count(Endpoint::TokenExchange), 0);
    let saved = saved.lock();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].openai_api_key, None);
    let tokens = saved[0].tokens.as_ref().unwrap();
    assert_eq!(tokens.account_id.as_deref(), Some("ws-demo"));
}

#[tokio::test]
async fn a_disabled_issuer_gives_the_exact_not_enabled_error() {
    let issuer = FakeIssuer::start().await.unwrap();
    issuer.set_device_code_enabled(false);
    let (persist, _) = recording();
    let err = start_device_login(&options(&issuer), persist)
        .await
        .unwrap_err();
    assert_eq!(err, LoginError::DeviceCodeNotEnabled);
    assert_eq!(
        err.to_string(),
        "device code login is not enabled for this Codex server. Use the browser login or verify the server URL."
    );
}

#[tokio::test]
async fn cancel_and_timeout_end_the_polling() {
    let issuer = FakeIssuer::start().await.unwrap();
    issuer.set_device_interval(Some("1"));
    issuer.set_device_pending_polls(usize::MAX);
    let (persist, saved) = recording();
    let (handle, _) = start_device_login(&options(&issuer), persist.clone())
        .await
        .unwrap();
    handle.cancel().await;
    assert_eq!(
        handle.wait().await.unwrap_err().to_string(),
        "Login was not completed"
    );

    let mut opts = options(&issuer);
    opts.device_timeout = Duration::from_millis(1500);
    let (handle, _) = start_device_login(&opts, persist).await.unwrap();
    let err = handle.wait().await.unwrap_err();
    assert_eq!(err.to_string(), "device auth timed out after 15 minutes");
    assert!(saved.lock().is_empty());
}

#[tokio::test]
async fn a_restricted_workspace_saves_nothing() {
    let issuer = FakeIssuer::start().await.unwrap();
    issuer.set_device_interval(Some("1"));
    issuer.set_device_pending_polls(0);
    issuer.set_account_id(None);
    let mut opts = options(&issuer);
    opts.config.forced_workspace_ids = vec!["ws1".into()];
    let (persist, saved) = recording();
    let (handle, _) = start_device_login(&opts, persist).await.unwrap();
    assert_eq!(
        handle.wait().await.unwrap_err().to_string(),
        "Login is restricted to a specific workspace, but the token did not include an chatgpt_account_id claim."
    );
    assert!(saved.lock().is_empty());
}

fn mock_options(server: &MockServer) -> LoginOptions {
    LoginOptions {
        issuer: server.uri(),
        http_timeout: Duration::from_secs(5),
        ..LoginOptions::default()
    }
}

#[tokio::test]
async fn other_statuses_fail_with_their_texts() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/accounts/deviceauth/usercode"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/accounts/deviceauth/usercode"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "device_auth_id": "d", "usercode": "U-1", "interval": "1"
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/accounts/deviceauth/token"))
        .respond_with(ResponseTemplate::new(404))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/accounts/deviceauth/token"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let (persist, _) = recording();
    let err = start_device_login(&mock_options(&server), persist.clone())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "device code request failed with status 500 Internal Server Error"
    );

    let (handle, code) = start_device_login(&mock_options(&server), persist)
        .await
        .unwrap();
    assert_eq!(code.user_code, "U-1");
    assert_eq!(
        handle.wait().await.unwrap_err().to_string(),
        "device auth failed with status 500 Internal Server Error"
    );
}
