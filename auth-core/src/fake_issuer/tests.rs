#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::*;
use crate::claims::{PlanType, access_token_exp};
use crate::login::{Pkce, exchange_code};
use crate::test_browser::browser;
use crate::token_endpoint::CLIENT_ID;

async fn refresh(issuer: &FakeIssuer, token: &str) -> (u16, Value) {
    let resp = browser()
        .post(issuer.token_url())
        .json(
            &json!({"client_id": CLIENT_ID, "grant_type": "refresh_token", "refresh_token": token}),
        )
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn refresh_tokens_rotate_and_work_exactly_once() {
    let issuer = FakeIssuer::start().await.unwrap();
    let first = issuer.issue_refresh_token();
    let (status, body) = refresh(&issuer, &first).await;
    assert_eq!(status, 200);
    let second = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert!(body["access_token"].as_str().is_some() && body["id_token"].as_str().is_some());

    let (status, body) = refresh(&issuer, &first).await;
    assert_eq!(
        (status, body),
        (
            401,
            json!({"error": {"code": "refresh_token_reused", "message": "refresh token rejected"}})
        )
    );
    let (status, body) = refresh(&issuer, "never-issued").await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (401, &json!("refresh_token_invalidated"))
    );
    assert_eq!(refresh(&issuer, &second).await.0, 200);
    assert_eq!(issuer.count(Endpoint::Refresh), 4);
}

#[tokio::test]
async fn scripted_answers_come_first_in_order_with_delay_and_retry_after() {
    let issuer = FakeIssuer::start().await.unwrap();
    let token = issuer.issue_refresh_token();
    issuer.script_refresh(vec![
        ScriptedResponse::new(429, json!({})).with_retry_after(120),
        ScriptedResponse::new(500, json!({"error": "boom"})).with_delay(Duration::from_millis(200)),
    ]);
    let send = || {
        browser()
            .post(issuer.token_url())
            .json(&json!({"client_id": CLIENT_ID, "grant_type": "refresh_token", "refresh_token": token}))
            .send()
    };
    let resp = send().await.unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "120");
    let started = std::time::Instant::now();
    let resp = send().await.unwrap();
    assert_eq!(resp.status(), 500);
    assert!(started.elapsed() >= Duration::from_millis(200));
    // The script is used up and the token was never spent: rotation resumes.
    assert_eq!(send().await.unwrap().status(), 200);
    assert_eq!(issuer.count(Endpoint::Refresh), 3);
}

#[tokio::test]
async fn seeded_credentials_parse_and_their_refresh_token_is_live() {
    let issuer = FakeIssuer::start().await.unwrap();
    issuer.set_plan("team");
    issuer.set_access_token_lifetime(TimeDelta::seconds(-60));
    let doc = crate::auth_json::parse(issuer.auth_json().as_bytes()).unwrap();
    let tokens = doc.tokens.as_ref().unwrap();
    let claims = tokens.id_token.claims();
    assert_eq!(claims.email.as_deref(), Some("user@example.com"));
    assert_eq!(claims.plan, Some(PlanType::from_claim("team")));
    assert_eq!(claims.workspace_id.as_deref(), Some("ws-demo"));
    assert_eq!(tokens.account_id.as_deref(), Some("ws-demo"));
    let exp = access_token_exp(tokens.access_token.expose()).unwrap();
    assert!(exp < Utc::now().timestamp());
    assert_eq!(refresh(&issuer, tokens.refresh_token.expose()).await.0, 200);
    assert_eq!(refresh(&issuer, tokens.refresh_token.expose()).await.0, 401);
}

#[tokio::test]
async fn authorize_redirects_with_a_code_that_needs_the_right_verifier() {
    let issuer = FakeIssuer::start().await.unwrap();
    let pkce = Pkce::generate();
    let redirect = "http://localhost:1455/auth/callback";
    let url = crate::login::authorize_url(
        &issuer.url(),
        CLIENT_ID,
        redirect,
        &pkce.challenge,
        &Secret::new("st"),
        "o",
        &[],
    );
    let resp = browser().get(url).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(redirect));
    let params: HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(params["state"], "st");
    let code = Secret::new(params["code"].clone());

    let http = crate::login::http_client(&issuer.url(), Duration::from_secs(5)).unwrap();
    let wrong = exchange_code(
        &http,
        &issuer.url(),
        CLIENT_ID,
        redirect,
        &code,
        &Secret::new("wrong"),
    )
    .await;
    assert!(
        wrong
            .unwrap_err()
            .to_string()
            .contains("code_verifier does not match")
    );
    // Codes are single use: after a refused attempt even the right verifier fails.
    let again = exchange_code(
        &http,
        &issuer.url(),
        CLIENT_ID,
        redirect,
        &code,
        &pkce.verifier,
    )
    .await;
    assert!(
        again
            .unwrap_err()
            .to_string()
            .contains("unknown or used authorization code")
    );
    assert_eq!(issuer.count(Endpoint::Authorize), 1);
    assert_eq!(issuer.count(Endpoint::AuthorizationCode), 2);
}

#[tokio::test]
async fn device_codes_are_pending_until_the_configured_polls_and_revoke_kills_tokens() {
    let issuer = FakeIssuer::start().await.unwrap();
    let http = browser();
    let base = issuer.url();
    let code: Value = http
        .post(format!("{base}/api/accounts/deviceauth/usercode"))
        .json(&json!({"client_id": CLIENT_ID}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(code["interval"], "0");
    let poll = json!({"device_auth_id": code["device_auth_id"], "user_code": code["user_code"]});
    let url = format!("{base}/api/accounts/deviceauth/token");
    assert_eq!(
        http.post(&url).json(&poll).send().await.unwrap().status(),
        403
    );
    let grant: Value = http
        .post(&url)
        .json(&poll)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let verifier = grant["code_verifier"].as_str().unwrap();
    assert_eq!(
        grant["code_challenge"],
        crate::login::s256_challenge(verifier)
    );
    assert_eq!(issuer.count(Endpoint::DeviceToken), 2);

    let page = http
        .get(format!("{base}/codex/device"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);

    let token = issuer.issue_refresh_token();
    let revoked = http
        .post(issuer.revoke_url())
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert_eq!(issuer.count(Endpoint::Revoke), 1);
    assert_eq!(refresh(&issuer, &token).await.0, 401);
    assert_eq!(
        http.get(format!("{base}/nope"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn binds_loopback_only() {
    let err = FakeIssuer::bind("0.0.0.0:0".parse().unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let issuer = FakeIssuer::start().await.unwrap();
    assert!(issuer.url().starts_with("http://127.0.0.1:"));
    assert_eq!(issuer.token_url(), format!("{}/oauth/token", issuer.url()));
    assert!(!format!("{issuer:?}").contains("rt-demo"));
}
