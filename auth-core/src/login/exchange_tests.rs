#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use pretty_assertions::assert_eq;
use wiremock::matchers::{body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::token_endpoint::CLIENT_ID;

fn client(server: &MockServer) -> reqwest::Client {
    http_client(&server.uri(), Duration::from_secs(5)).unwrap()
}

#[tokio::test]
async fn code_exchange_posts_the_form_and_reads_three_tokens() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(
            "grant_type=authorization_code&code=c%2Fode&redirect_uri=http%3A%2F%2Flocalhost%3A1455%2Fauth%2Fcallback\
             &client_id=app_EMoamEEZ73f0CkXaXp7hrann&code_verifier=ver",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id_token": "i.d.t", "access_token": "acc", "refresh_token": "ref"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let tokens = exchange_code(
        &client(&server),
        &server.uri(),
        CLIENT_ID,
        "http://localhost:1455/auth/callback",
        &Secret::new("c/ode"),
        &Secret::new("ver"),
    )
    .await
    .unwrap();
    assert_eq!(tokens.id_token.expose(), "i.d.t");
    assert_eq!(tokens.access_token.expose(), "acc");
    assert_eq!(tokens.refresh_token.expose(), "ref");
}

#[tokio::test]
async fn code_exchange_failures_keep_status_and_message_only() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error": "invalid_grant", "error_description": "code already used"
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"id_token": "x", "access_token": "y"})),
        )
        .mount(&server)
        .await;
    let (code, verifier) = (Secret::new("the-code"), Secret::new("the-verifier"));
    let err = exchange_code(
        &client(&server),
        &server.uri(),
        CLIENT_ID,
        "r",
        &code,
        &verifier,
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "token endpoint returned status 400 Bad Request: code already used"
    );
    let err = exchange_code(
        &client(&server),
        &server.uri(),
        CLIENT_ID,
        "r",
        &code,
        &verifier,
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "token endpoint response is missing refresh_token"
    );
    assert!(!format!("{err:?}").contains("the-code"));
}

#[tokio::test]
async fn api_key_exchange_sends_the_token_exchange_form() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange\
             &client_id=app_EMoamEEZ73f0CkXaXp7hrann&requested_token=openai-api-key&subject_token=idt\
             &subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aid_token",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"access_token": "sk-x"})))
        .expect(1)
        .mount(&server)
        .await;
    let key = exchange_api_key(
        &client(&server),
        &server.uri(),
        CLIENT_ID,
        &Secret::new("idt"),
    )
    .await;
    assert_eq!(key, Some(Secret::new("sk-x")));
}

#[tokio::test]
async fn api_key_exchange_failures_are_none() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("not json"))
        .mount(&server)
        .await;
    let c = client(&server);
    assert_eq!(
        exchange_api_key(&c, &server.uri(), CLIENT_ID, &Secret::new("i")).await,
        None
    );
    assert_eq!(
        exchange_api_key(&c, &server.uri(), CLIENT_ID, &Secret::new("i")).await,
        None
    );
    // Nothing listens on port 9 of loopback in the test environment: a transport error.
    assert_eq!(
        exchange_api_key(&c, "http://127.0.0.1:9", CLIENT_ID, &Secret::new("i")).await,
        None
    );
}

#[test]
fn error_detail_extracts_and_truncates() {
    assert_eq!(
        error_detail(br#"{"error":{"message":"m","code":"c"}}"#),
        "m"
    );
    assert_eq!(error_detail(br#"{"error":{"code":"c"}}"#), "c");
    assert_eq!(
        error_detail(br#"{"error":"invalid_grant"}"#),
        "invalid_grant"
    );
    assert_eq!(error_detail(br#"{"message":"  hi "}"#), "hi");
    assert_eq!(error_detail(b"<html>secret echo</html>"), "unknown error");
    assert_eq!(error_detail(b"{}"), "unknown error");
    let long = format!(r#"{{"error_description":"{}"}}"#, "x".repeat(500));
    assert_eq!(error_detail(long.as_bytes()).len(), MAX_DETAIL_CHARS);
}

#[test]
fn loopback_issuers_are_recognized() {
    assert!(is_loopback_url("http://127.0.0.1:5/"));
    assert!(is_loopback_url("http://localhost:5"));
    assert!(is_loopback_url("http://[::1]:5"));
    assert!(!is_loopback_url("https://auth.openai.com"));
    assert!(!is_loopback_url("not a url"));
}
