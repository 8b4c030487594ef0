#![allow(clippy::unwrap_used, clippy::expect_used)]

use pretty_assertions::assert_eq;
use serde_json::json;

use super::*;
use crate::http::TransportError;
use crate::http::recording::{answering, recording};
use crate::token_endpoint::CLIENT_ID;

const ISSUER: &str = "https://issuer.test";

#[tokio::test]
async fn code_exchange_posts_the_form_and_reads_three_tokens() {
    let (http, seen) = answering(HttpResponse::json(
        200,
        &json!({"id_token": "i.d.t", "access_token": "acc", "refresh_token": "ref"}),
    ));
    let tokens = exchange_code(
        &http,
        ISSUER,
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
    let requests = seen.all();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, crate::http::Method::POST);
    assert_eq!(requests[0].url, "https://issuer.test/oauth/token");
    assert_eq!(
        requests[0].headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(
        String::from_utf8(requests[0].body.clone()).unwrap(),
        "grant_type=authorization_code&code=c%2Fode&redirect_uri=http%3A%2F%2Flocalhost%3A1455%2Fauth%2Fcallback\
         &client_id=app_EMoamEEZ73f0CkXaXp7hrann&code_verifier=ver"
    );
}

#[tokio::test]
async fn code_exchange_failures_keep_status_and_message_only() {
    let (http, _) = recording(|_| {
        std::future::ready(Ok(HttpResponse::json(
            400,
            &json!({"error": "invalid_grant", "error_description": "code already used"}),
        )))
    });
    let (code, verifier) = (Secret::new("the-code"), Secret::new("the-verifier"));
    let err = exchange_code(&http, ISSUER, CLIENT_ID, "r", &code, &verifier)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "token endpoint returned status 400 Bad Request: code already used"
    );
    let (http, _) = answering(HttpResponse::json(
        200,
        &json!({"id_token": "x", "access_token": "y"}),
    ));
    let err = exchange_code(&http, ISSUER, CLIENT_ID, "r", &code, &verifier)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "token endpoint response is missing refresh_token"
    );
    assert!(!format!("{err:?}").contains("the-code"));
}

#[tokio::test]
async fn code_exchange_transport_and_body_failures_are_short_texts() {
    let (http, _) =
        recording(|_| std::future::ready(Err(HttpError::Transport(TransportError::timeout()))));
    let (code, verifier) = (Secret::new("the-code"), Secret::new("the-verifier"));
    let err = exchange_code(&http, ISSUER, CLIENT_ID, "r", &code, &verifier)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "operation timed out");
    let (http, _) = recording(|_| {
        std::future::ready(Err(HttpError::Body {
            status: crate::http::StatusCode::OK,
            cause: crate::http::BodyError::TooLarge,
        }))
    });
    let err = exchange_code(&http, ISSUER, CLIENT_ID, "r", &code, &verifier)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "response body over 262144 bytes");
}

#[tokio::test]
async fn api_key_exchange_sends_the_token_exchange_form() {
    let (http, seen) = answering(HttpResponse::json(200, &json!({"access_token": "sk-x"})));
    let key = exchange_api_key(&http, ISSUER, CLIENT_ID, &Secret::new("idt")).await;
    assert_eq!(key, Some(Secret::new("sk-x")));
    let requests = seen.all();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].url, "https://issuer.test/oauth/token");
    assert_eq!(
        String::from_utf8(requests[0].body.clone()).unwrap(),
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange\
         &client_id=app_EMoamEEZ73f0CkXaXp7hrann&requested_token=openai-api-key&subject_token=idt\
         &subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aid_token"
    );
}

#[tokio::test]
async fn api_key_exchange_failures_are_none() {
    let answers = [
        Ok(HttpResponse::status(500)),
        Ok(HttpResponse {
            body: b"not json".to_vec(),
            ..HttpResponse::status(200)
        }),
        Ok(HttpResponse::json(200, &json!({"access_token": ""}))),
        Err(HttpError::Transport(TransportError::network(
            "connection refused",
            Some("issuer.test"),
        ))),
    ];
    for answer in answers {
        let (http, seen) = recording(move |_| std::future::ready(answer.clone()));
        assert_eq!(
            exchange_api_key(&http, ISSUER, CLIENT_ID, &Secret::new("i")).await,
            None
        );
        assert_eq!(seen.count(), 1);
    }
}

/// The reqwest client of a login really reaches a loopback issuer (no proxy) with the form:
/// the fake issuer, over a real socket, decodes the code exchange's form (an unknown code is
/// its `invalid_grant`) and the API-key exchange's form (it answers a key).
#[tokio::test]
async fn the_reqwest_login_client_posts_the_form_over_http() {
    use crate::fake_issuer::{Endpoint, FakeIssuer};
    let issuer = FakeIssuer::start().await.unwrap();
    let http = http_client(&issuer.url(), std::time::Duration::from_secs(5)).unwrap();
    let err = exchange_code(
        &http,
        &issuer.url(),
        CLIENT_ID,
        "r",
        &Secret::new("c"),
        &Secret::new("v"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "token endpoint returned status 400 Bad Request: unknown or used authorization code"
    );
    assert_eq!(issuer.count(Endpoint::AuthorizationCode), 1);
    let key = exchange_api_key(&http, &issuer.url(), CLIENT_ID, &Secret::new("idt"))
        .await
        .unwrap();
    assert!(key.expose().starts_with("sk-demo-"));
    assert_eq!(issuer.count(Endpoint::TokenExchange), 1);
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
