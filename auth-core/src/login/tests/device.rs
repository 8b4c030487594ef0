use std::time::Duration;

use pretty_assertions::assert_eq;

use super::support::*;
use crate::fake_issuer::{Endpoint, FakeIssuer};
use crate::http::recording::scripted;
use crate::http::{HttpResponse, SharedHttpClient};
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

/// Options whose issuer calls go to `http` (the issuer URL is never contacted).
fn seam_options(http: SharedHttpClient) -> LoginOptions {
    LoginOptions {
        issuer: "https://issuer.test".to_owned(),
        http: Some(http),
        ..LoginOptions::default()
    }
}

const USER_CODE: &str = "/api/accounts/deviceauth/usercode";
const DEVICE_TOKEN: &str = "/api/accounts/deviceauth/token";

#[tokio::test(start_paused = true)]
async fn other_statuses_fail_with_their_texts() {
    let (http, seen) = scripted(&[
        (
            USER_CODE,
            vec![
                HttpResponse::status(500),
                HttpResponse::json(
                    200,
                    &serde_json::json!({"device_auth_id": "d", "usercode": "U-1", "interval": "1"}),
                ),
            ],
        ),
        (
            DEVICE_TOKEN,
            vec![HttpResponse::status(404), HttpResponse::status(500)],
        ),
    ]);
    let (persist, _) = recording();
    let err = start_device_login(&seam_options(http.clone()), persist.clone())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "device code request failed with status 500 Internal Server Error"
    );

    let (handle, code) = start_device_login(&seam_options(http), persist)
        .await
        .unwrap();
    assert_eq!(code.user_code, "U-1");
    assert_eq!(
        handle.wait().await.unwrap_err().to_string(),
        "device auth failed with status 500 Internal Server Error"
    );
    // One pending poll (404), then the failing one.
    assert_eq!(seen.count_path(USER_CODE), 2);
    assert_eq!(seen.count_path(DEVICE_TOKEN), 2);
}

/// The poll schedule on the paused clock: at once, then every `interval` (here 7 s) while the
/// issuer answers "pending" (403), until the grant; then one code exchange at the token
/// endpoint with the device redirect URI.
#[tokio::test(start_paused = true)]
async fn polls_follow_the_interval_until_the_grant() {
    let id_token = crate::fake_issuer::unsigned_jwt(&serde_json::json!({
        "email": "u@example.com",
        "https://api.openai.com/auth": {"chatgpt_account_id": "ws1"}
    }));
    let (http, seen) = scripted(&[
        (
            USER_CODE,
            vec![HttpResponse::json(
                200,
                &serde_json::json!({"device_auth_id": "d", "user_code": "U-2", "interval": "7"}),
            )],
        ),
        (
            DEVICE_TOKEN,
            vec![
                HttpResponse::status(403),
                HttpResponse::status(403),
                HttpResponse::json(
                    200,
                    &serde_json::json!({"authorization_code": "ac", "code_verifier": "cv"}),
                ),
            ],
        ),
        (
            "/oauth/token",
            vec![HttpResponse::json(
                200,
                &serde_json::json!({"id_token": id_token, "access_token": "a", "refresh_token": "r"}),
            )],
        ),
    ]);
    let (persist, saved) = recording();
    let started = tokio::time::Instant::now();
    let (handle, _) = start_device_login(&seam_options(http), persist)
        .await
        .unwrap();
    assert!(handle.wait().await.is_ok());
    assert_eq!(started.elapsed(), Duration::from_secs(14));
    assert_eq!(seen.count_path(DEVICE_TOKEN), 3);
    let exchanges: Vec<_> = seen
        .all()
        .into_iter()
        .filter(|r| r.path() == "/oauth/token")
        .collect();
    assert_eq!(exchanges.len(), 1);
    let form = String::from_utf8(exchanges[0].body.clone()).unwrap();
    assert!(
        form.contains("redirect_uri=https%3A%2F%2Fissuer.test%2Fdeviceauth%2Fcallback"),
        "{form}"
    );
    assert_eq!(saved.lock().len(), 1);
}
