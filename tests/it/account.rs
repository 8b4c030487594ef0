//! Sign-in without a browser and sign-out over the stdio server (PROTOCOL.md §4.2, §4.5, §4.6,
//! §4.9 `apiKey`/`chatgptAuthTokens`, §4.11-§4.14; AUTH.md §8.1, §8.4, §8.5, §9): API keys,
//! external tokens, logout with a failing revoke, forced-login and workspace texts, and delivery
//! to every initialized connection.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use auth_core::ForcedLoginMethod;
use auth_core::fake_issuer::{Endpoint, FakeIssuer};
use auth_core::http::HttpResponse;
use auth_core::http::recording::answering;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::support::creds::{jwt, read_auth as auth_json, seed_fresh};
use crate::support::login::{Browser, assert_quiet, login_id};
use crate::support::{Session, client, error_of};

const API_KEY_DISABLED: &str = "API key login is disabled. Use ChatGPT login instead.";
const CHATGPT_DISABLED: &str = "ChatGPT login is disabled. Use API key login instead.";
const EXTERNAL_DISABLED: &str = "External ChatGPT auth is disabled. Use API key login instead.";
const EXTERNAL_ACTIVE: &str = "External auth is active. Use account/login/start (chatgptAuthTokens) to update it or account/logout to clear it.";

fn file_mode(home: &Path) -> u32 {
    let meta = std::fs::metadata(home.join("auth.json")).unwrap();
    meta.permissions().mode() & 0o777
}

fn updated(mode: Value, plan: Value) -> Value {
    json!({"method": "account/updated", "params": {"authMode": mode, "planType": plan, "reason": null}})
}

fn completed_without_id() -> Value {
    json!({"method": "account/login/completed",
           "params": {"loginId": null, "success": true, "error": null, "onboardingEntrypoint": null}})
}

/// External access token carrying an email and a plan claim.
fn external_token(email: &str, plan: Option<&str>) -> String {
    let exp = chrono::Utc::now().timestamp() + 3600;
    let mut auth = json!({"chatgpt_account_id": "ws-ext"});
    if let Some(plan) = plan {
        auth["chatgpt_plan_type"] = json!(plan);
    }
    jwt(json!({"exp": exp, "email": email, "https://api.openai.com/auth": auth}))
}

fn tokens_login(token: &str, account: &str, plan: Option<&str>) -> Value {
    json!({"type": "chatgptAuthTokens", "accessToken": token,
           "chatgptAccountId": account, "chatgptPlanType": plan})
}

/// v1 `loginApiKey`: `{}`, then `authStatusChange`; the trimmed key in a 0600 `auth.json`.
#[tokio::test]
async fn v1_api_key_login_writes_a_private_file() {
    let mut session = Session::initialized().await;
    let answer = session
        .request("loginApiKey", json!({"apiKey": "  sk-test-key\n"}))
        .await;
    assert_eq!(answer["result"], json!({}));
    assert_eq!(
        session.read_message().await,
        json!({"method": "authStatusChange", "params": {"authMethod": "apikey"}})
    );
    let home = session.home.path().to_path_buf();
    assert_eq!(
        auth_json(&home),
        Some(json!({"auth_mode": "apikey", "OPENAI_API_KEY": "sk-test-key"}))
    );
    assert_eq!(file_mode(&home), 0o600);
    let status = assert_quiet(&mut session).await;
    assert_eq!(
        status,
        json!({"authMethod": "apikey", "authToken": "sk-test-key", "requiresOpenaiAuth": true})
    );
    let info = session.request("userInfo", json!(null)).await;
    assert_eq!(info["result"], json!({"allegedUserEmail": null}));
    let account = session.result("account/read", json!({})).await;
    assert_eq!(
        account,
        json!({"account": {"type": "apiKey"}, "userId": null, "requiresOpenaiAuth": true,
               "workspaceRouting": null})
    );
}

/// v2 `apiKey`: response, `account/login/completed {loginId:null}`, `account/updated` with a
/// null plan, and only v2 notifications.
#[tokio::test]
async fn v2_api_key_login_order() {
    let mut session = Session::initialized().await;
    let answer = session
        .request(
            "account/login/start",
            json!({"type": "apiKey", "apiKey": "sk-v2"}),
        )
        .await;
    assert_eq!(answer["result"], json!({"type": "apiKey"}));
    assert_eq!(session.read_message().await, completed_without_id());
    assert_eq!(
        session.read_message().await,
        updated(json!("apikey"), Value::Null)
    );
    assert_eq!(assert_quiet(&mut session).await["authToken"], "sk-v2");
    let home = session.home.path().to_path_buf();
    assert_eq!(
        auth_json(&home),
        Some(json!({"auth_mode": "apikey", "OPENAI_API_KEY": "sk-v2"}))
    );
    assert_eq!(file_mode(&home), 0o600);
}

/// An empty or blank key is `-32602` and writes nothing (v1 and v2).
#[tokio::test]
async fn empty_api_key_is_invalid_params() {
    let mut session = Session::initialized().await;
    let expected = (
        -32602,
        "Invalid params: apiKey must not be empty".to_string(),
    );
    let answer = session.request("loginApiKey", json!({"apiKey": ""})).await;
    assert_eq!(error_of(&answer), expected);
    let answer = session
        .request(
            "account/login/start",
            json!({"type": "apiKey", "apiKey": "  \t"}),
        )
        .await;
    assert_eq!(error_of(&answer), expected);
    assert_eq!(assert_quiet(&mut session).await["authMethod"], Value::Null);
    assert!(auth_json(session.home.path()).is_none());
}

/// A revoke endpoint answering 500 does not fail the logout: `{}`, `account/updated` with
/// nulls, the file gone, exactly one revoke request with the refresh token.
#[tokio::test]
async fn v2_logout_with_a_failing_revoke_still_signs_out() {
    let issuer = FakeIssuer::start().await.unwrap();
    let (http, revoke) = answering(HttpResponse::json(500, &json!({"error": "boom"})));
    let mut seeded = Value::Null;
    let mut session = Session::with_issuer(&issuer, |opts| {
        seeded = seed_fresh(&opts.codex_home, &issuer);
        opts.http = Some(http);
    })
    .await;
    assert_eq!(assert_quiet(&mut session).await["authMethod"], "chatgpt");
    let answer = session.request("account/logout", json!({})).await;
    assert_eq!(answer["result"], json!({}));
    assert_eq!(
        session.read_message().await,
        updated(Value::Null, Value::Null)
    );
    assert!(
        auth_json(session.home.path()).is_none(),
        "auth.json deleted"
    );
    let requests = revoke.all();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].url, issuer.revoke_url());
    let body = requests[0].json();
    assert!(
        body["token"] == seeded["tokens"]["refresh_token"],
        "the refresh token is revoked"
    );
    assert_eq!(body["token_type_hint"], "refresh_token");
    assert_eq!(body["client_id"], "app_EMoamEEZ73f0CkXaXp7hrann");
    assert_eq!(
        assert_quiet(&mut session).await,
        json!({"authMethod": null, "authToken": null, "requiresOpenaiAuth": true})
    );
    assert_eq!(issuer.count(Endpoint::Revoke), 0);
    assert_eq!(issuer.count(Endpoint::Refresh), 0);
}

/// v1 `logoutChatGpt` with an unreachable revoke endpoint: `{}` then `authStatusChange` null.
/// A logout with nothing stored still answers and notifies.
#[tokio::test]
async fn v1_logout_with_an_unreachable_revoke_still_signs_out() {
    let issuer = FakeIssuer::start().await.unwrap();
    let mut session = Session::with_issuer(&issuer, |opts| {
        seed_fresh(&opts.codex_home, &issuer);
        // The discard port: connection refused.
        opts.revoke_url = Some("http://127.0.0.1:9/oauth/revoke".into());
    })
    .await;
    let answer = session.request("logoutChatGpt", json!(null)).await;
    assert_eq!(answer["result"], json!({}));
    assert_eq!(
        session.read_message().await,
        json!({"method": "authStatusChange", "params": {"authMethod": null}})
    );
    assert!(auth_json(session.home.path()).is_none());
    assert_eq!(assert_quiet(&mut session).await["authMethod"], Value::Null);

    let answer = session.request("account/logout", json!(null)).await;
    assert_eq!(answer["result"], json!({}));
    assert_eq!(
        session.read_message().await,
        updated(Value::Null, Value::Null)
    );
    assert_quiet(&mut session).await;
}

/// `forced_login_method = "chatgpt"`: API-key logins are refused with Codex's text (v1, v2).
#[tokio::test]
async fn forced_chatgpt_refuses_api_keys() {
    let issuer = FakeIssuer::start().await.unwrap();
    let mut session = Session::with_issuer(&issuer, |opts| {
        opts.config.forced_login_method = Some(ForcedLoginMethod::Chatgpt);
    })
    .await;
    let expected = (-32600, API_KEY_DISABLED.to_string());
    let answer = session
        .request("loginApiKey", json!({"apiKey": "sk-x"}))
        .await;
    assert_eq!(error_of(&answer), expected);
    let answer = session
        .request(
            "account/login/start",
            json!({"type": "apiKey", "apiKey": "sk-x"}),
        )
        .await;
    assert_eq!(error_of(&answer), expected);
    assert!(auth_json(session.home.path()).is_none());
    assert_quiet(&mut session).await;
}

/// `forced_login_method = "api"`: browser, device-code and external-token logins are refused.
#[tokio::test]
async fn forced_api_refuses_chatgpt_logins() {
    let issuer = FakeIssuer::start().await.unwrap();
    let mut session = Session::with_issuer(&issuer, |opts| {
        opts.config.forced_login_method = Some(ForcedLoginMethod::Api);
    })
    .await;
    let disabled = (-32600, CHATGPT_DISABLED.to_string());
    let answer = session.request("loginChatGpt", json!({})).await;
    assert_eq!(error_of(&answer), disabled);
    for kind in ["chatgpt", "chatgptDeviceCode"] {
        let answer = session
            .request("account/login/start", json!({"type": kind}))
            .await;
        assert_eq!(error_of(&answer), disabled, "{kind}");
    }
    let token = external_token("ext@example.com", None);
    let answer = session
        .request("account/login/start", tokens_login(&token, "ws-ext", None))
        .await;
    assert_eq!(error_of(&answer), (-32600, EXTERNAL_DISABLED.to_string()));
    assert_eq!(issuer.count(Endpoint::UserCode), 0);
    assert_eq!(assert_quiet(&mut session).await["authMethod"], Value::Null);
}

/// External tokens outside `forced_chatgpt_workspace_id`: Codex's text with the quoted ids.
#[tokio::test]
async fn external_tokens_outside_the_workspace_are_refused() {
    let issuer = FakeIssuer::start().await.unwrap();
    let mut session = Session::with_issuer(&issuer, |opts| {
        opts.config.forced_workspace_ids = vec!["ws-1".into(), "ws-2".into()];
    })
    .await;
    let token = external_token("ext@example.com", None);
    let answer = session
        .request("account/login/start", tokens_login(&token, "other", None))
        .await;
    assert_eq!(
        error_of(&answer),
        (
            -32600,
            r#"External auth must use one of workspace(s) ["ws-1", "ws-2"], but received "other"."#
                .to_string()
        )
    );
    assert_eq!(assert_quiet(&mut session).await["authMethod"], Value::Null);
    let answer = session
        .request("account/login/start", tokens_login(&token, "ws-2", None))
        .await;
    assert_eq!(answer["result"], json!({"type": "chatgptAuthTokens"}));
}

/// While external tokens are active, API-key, browser and device-code logins (v1 and v2) are
/// refused; a new token login and a logout are not.
#[tokio::test]
async fn external_auth_active_refuses_other_logins() {
    let issuer = FakeIssuer::start().await.unwrap();
    let mut session = Session::with_issuer(&issuer, |_| {}).await;
    let token = external_token("ext@example.com", Some("plus"));
    session
        .result("account/login/start", tokens_login(&token, "ws-ext", None))
        .await;
    assert_eq!(session.read_message().await, completed_without_id());
    assert_eq!(
        session.read_message().await,
        updated(json!("chatgptAuthTokens"), json!("plus"))
    );
    let active = (-32600, EXTERNAL_ACTIVE.to_string());
    let refused = [
        ("loginApiKey", json!({"apiKey": "sk-x"})),
        ("loginChatGpt", json!({})),
        (
            "account/login/start",
            json!({"type": "apiKey", "apiKey": "sk-x"}),
        ),
        ("account/login/start", json!({"type": "chatgpt"})),
        ("account/login/start", json!({"type": "chatgptDeviceCode"})),
    ];
    for (method, params) in refused {
        let answer = session.request(method, params.clone()).await;
        assert_eq!(error_of(&answer), active, "{method} {params}");
    }
    assert_eq!(issuer.count(Endpoint::UserCode), 0);
    assert_eq!(
        assert_quiet(&mut session).await["authMethod"],
        "chatgptAuthTokens"
    );
    let newer = external_token("ext@example.com", None);
    let answer = session
        .request(
            "account/login/start",
            tokens_login(&newer, "ws-ext", Some("pro")),
        )
        .await;
    assert_eq!(answer["result"], json!({"type": "chatgptAuthTokens"}));
    assert_eq!(session.read_message().await, completed_without_id());
    assert_eq!(
        session.read_message().await,
        updated(json!("chatgptAuthTokens"), json!("pro"))
    );
    let status = assert_quiet(&mut session).await;
    assert!(
        status["authToken"] == json!(newer),
        "the newer token is served"
    );
    let answer = session.request("account/logout", json!({})).await;
    assert_eq!(answer["result"], json!({}));
    assert_eq!(
        session.read_message().await,
        updated(Value::Null, Value::Null)
    );
    let answer = session
        .request("loginApiKey", json!({"apiKey": "sk-after"}))
        .await;
    assert_eq!(answer["result"], json!({}));
}

/// A browser login whose id_token is outside the workspace: the authorize URL carries
/// `allowed_workspace_id`, the completion fails with the restriction text, nothing is saved and
/// the previous credentials stay.
#[tokio::test]
async fn browser_login_outside_the_workspace_saves_nothing() {
    let issuer = FakeIssuer::start().await.unwrap();
    issuer.set_account_id(Some("other"));
    let mut session = Session::with_issuer(&issuer, |opts| {
        opts.config.forced_workspace_ids = vec!["ws-1".into()];
    })
    .await;
    let result = session
        .result("account/login/start", json!({"type": "chatgpt"}))
        .await;
    let id = login_id(&result);
    let auth_url = result["authUrl"].as_str().unwrap();
    assert!(
        auth_url.ends_with("&allowed_workspace_id=ws-1"),
        "restricted authorize URL"
    );
    let browser = Browser::new();
    let callback = browser.authorize(auth_url).await;
    let page = browser.get(callback.as_str()).await;
    assert_eq!(page.status, reqwest::StatusCode::BAD_REQUEST);
    assert!(
        page.body
            .contains("Login is restricted to workspace id(s) ws-1.")
    );
    assert_eq!(
        session.read_message().await,
        json!({"method": "account/login/completed",
               "params": {"loginId": id, "success": false,
                          "error": "Login server error: Login is restricted to workspace id(s) ws-1.", "onboardingEntrypoint": null}})
    );
    assert_eq!(assert_quiet(&mut session).await["authMethod"], Value::Null);
    assert!(auth_json(session.home.path()).is_none());
    assert_eq!(issuer.count(Endpoint::AuthorizationCode), 1);
    assert_eq!(issuer.count(Endpoint::TokenExchange), 0);
}

/// `chatgptAuthTokens`: a non-JWT is `-32602`; a valid login answers, then completed, then
/// `account/updated` with the supplied plan (else the claim, else `unknown`); nothing is
/// written, and `refreshToken:true` makes no token request.
#[tokio::test]
async fn external_tokens_login_is_memory_only() {
    let issuer = FakeIssuer::start().await.unwrap();
    let mut session = Session::with_issuer(&issuer, |_| {}).await;
    let answer = session
        .request(
            "account/login/start",
            tokens_login("not-a-jwt", "ws-ext", None),
        )
        .await;
    assert_eq!(
        error_of(&answer),
        (
            -32602,
            "Invalid params: accessToken is not a JWT".to_string()
        )
    );

    let cases = [
        (Some("enterprise"), Some("plus"), "enterprise"),
        (None, Some("plus"), "plus"),
        (None, None, "unknown"),
    ];
    for (supplied, claim, expected) in cases {
        let token = external_token("ext@example.com", claim);
        let answer = session
            .request(
                "account/login/start",
                tokens_login(&token, "ws-ext", supplied),
            )
            .await;
        assert_eq!(answer["result"], json!({"type": "chatgptAuthTokens"}));
        assert_eq!(session.read_message().await, completed_without_id());
        assert_eq!(
            session.read_message().await,
            updated(json!("chatgptAuthTokens"), json!(expected))
        );
        let status = session
            .request(
                "getAuthStatus",
                json!({"includeToken": true, "refreshToken": true}),
            )
            .await;
        assert_eq!(status["result"]["authMethod"], "chatgptAuthTokens");
        assert!(
            status["result"]["authToken"] == json!(token),
            "the supplied token is served"
        );
    }
    assert_eq!(issuer.count(Endpoint::Refresh), 0);
    assert!(auth_json(session.home.path()).is_none(), "nothing on disk");
    let info = session.request("userInfo", json!({})).await;
    assert_eq!(
        info["result"],
        json!({"allegedUserEmail": "ext@example.com"})
    );
    let account = session
        .result("account/read", json!({"refreshToken": true}))
        .await;
    assert_eq!(
        account["account"],
        json!({"type": "chatgpt", "email": "ext@example.com", "planType": "unknown",
               "workspaceName": null})
    );
    assert_eq!(issuer.count(Endpoint::Refresh), 0);
}

/// Notifications reach every initialized connection, not the uninitialized one, and not one
/// that opted out of that method.
#[tokio::test]
async fn notifications_reach_every_initialized_connection() {
    let mut first = Session::initialized().await;
    let mut second = Session::connect(first.state.clone(), first.home.clone());
    second.initialize().await;
    let mut opted_out = Session::connect(first.state.clone(), first.home.clone());
    let mut params = client("quiet_client");
    params["capabilities"] = json!({"optOutNotificationMethods": ["account/updated"]});
    let answer = opted_out.request("initialize", params).await;
    assert!(answer.get("result").is_some(), "{answer}");
    let mut uninitialized = Session::connect(first.state.clone(), first.home.clone());

    let answer = first
        .request(
            "account/login/start",
            json!({"type": "apiKey", "apiKey": "sk-shared"}),
        )
        .await;
    assert_eq!(answer["result"], json!({"type": "apiKey"}));
    let expected = [
        completed_without_id(),
        updated(json!("apikey"), Value::Null),
    ];
    for message in &expected {
        assert_eq!(&first.read_message().await, message);
        assert_eq!(&second.read_message().await, message);
    }
    assert_eq!(opted_out.read_message().await, expected[0]);
    for session in [&mut first, &mut second, &mut opted_out] {
        assert_eq!(assert_quiet(session).await["authMethod"], "apikey");
    }
    // The uninitialized connection got nothing: its next message answers its own request.
    let answer = uninitialized.request("getAuthStatus", json!({})).await;
    assert_eq!(error_of(&answer), (-32600, "Not initialized".to_string()));

    // v1 notifications are broadcast too.
    let answer = second.request("logoutChatGpt", json!({})).await;
    assert_eq!(answer["result"], json!({}));
    let change = json!({"method": "authStatusChange", "params": {"authMethod": null}});
    for session in [&mut first, &mut second, &mut opted_out] {
        assert_eq!(session.read_message().await, change);
        assert_quiet(session).await;
    }
}
