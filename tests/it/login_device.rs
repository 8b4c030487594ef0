//! Device-code sign-in over the stdio server (PROTOCOL.md §4.9 `chatgptDeviceCode`, §4.10;
//! AUTH.md §8.3): success, the start errors, a failing poll, cancel, and the workspace check.

use auth_core::fake_issuer::{Endpoint, FakeIssuer};
use auth_core::http::HttpResponse;
use auth_core::http::recording::scripted;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::support::login::{assert_quiet, login_id, start_and_end};
use crate::support::{Session, error_of};

const DEVICE: &str = "chatgptDeviceCode";

fn completed(id: &str, success: bool, error: Option<&str>) -> Value {
    json!({"method": "account/login/completed",
           "params": {"loginId": id, "success": success, "error": error, "onboardingEntrypoint": null}})
}

/// The user code is handed out with the verification URL; after one pending poll the login
/// completes, then `account/updated`, and the credentials are served.
#[tokio::test]
async fn device_code_login_succeeds_after_a_pending_poll() {
    let issuer = FakeIssuer::start().await.unwrap();
    issuer.set_device_interval(Some("1"));
    issuer.set_device_pending_polls(1);
    issuer.set_plan("team");
    let mut session = Session::with_issuer(&issuer, |_| {}).await;
    let answer = session
        .request("account/login/start", json!({"type": DEVICE}))
        .await;
    let result = &answer["result"];
    let id = login_id(result);
    let user_code = result["userCode"].as_str().unwrap();
    assert!(user_code.starts_with("FAKE-"), "the issuer's user code");
    assert_eq!(
        result,
        &json!({"type": DEVICE, "loginId": id, "userCode": user_code,
                "verificationUrl": format!("{}/codex/device", issuer.url())})
    );
    assert_eq!(session.read_message().await, completed(&id, true, None));
    assert_eq!(
        session.read_message().await,
        json!({"method": "account/updated", "params": {"authMode": "chatgpt", "planType": "team", "reason": null}})
    );
    assert_eq!(
        issuer.count(Endpoint::DeviceToken),
        2,
        "one pending poll, one grant"
    );
    assert_eq!(issuer.count(Endpoint::AuthorizationCode), 1);
    assert_eq!(
        issuer.count(Endpoint::TokenExchange),
        0,
        "no API-key exchange"
    );
    let saved = crate::support::creds::read_auth(session.home.path()).unwrap();
    assert_eq!(saved["auth_mode"], "chatgpt");
    assert_eq!(saved["OPENAI_API_KEY"], Value::Null);
    let status = assert_quiet(&mut session).await;
    assert_eq!(status["authMethod"], "chatgpt");
    assert!(status["authToken"] == saved["tokens"]["access_token"]);
}

/// An issuer without device-code login answers 404: the exact `-32600` text; another status is
/// `-32603 failed to request device code: …`. Neither starts a login.
#[tokio::test]
async fn device_code_start_errors() {
    let issuer = FakeIssuer::start().await.unwrap();
    issuer.set_device_code_enabled(false);
    let mut session = Session::with_issuer(&issuer, |_| {}).await;
    let answer = session
        .request("account/login/start", json!({"type": DEVICE}))
        .await;
    assert_eq!(
        error_of(&answer),
        (
            -32600,
            "device code login is not enabled for this Codex server. Use the browser login or verify the server URL."
                .to_string()
        )
    );
    assert_eq!(issuer.count(Endpoint::UserCode), 1);

    let (http, seen) = scripted(&[(USER_CODE, vec![HttpResponse::status(500)])]);
    let mut session = Session::with_issuer(&issuer, |opts| opts.http = Some(http)).await;
    let answer = session
        .request("account/login/start", json!({"type": DEVICE}))
        .await;
    assert_eq!(
        error_of(&answer),
        (
            -32603,
            "failed to request device code: device code request failed with status 500 Internal Server Error"
                .to_string()
        )
    );
    assert_quiet(&mut session).await;
    assert_eq!(seen.count(), 1);
}

const USER_CODE: &str = "/api/accounts/deviceauth/usercode";
const DEVICE_TOKEN: &str = "/api/accounts/deviceauth/token";

/// A poll answered with a status other than 2xx/403/404 ends the login: `success:false` with
/// the AUTH.md text (no prefix) and no `account/updated`.
#[tokio::test]
async fn a_failing_poll_ends_the_device_login() {
    let (http, seen) = scripted(&[
        (
            USER_CODE,
            vec![HttpResponse::json(
                200,
                &json!({"device_auth_id": "dev-1", "usercode": "ABCD-1234", "interval": "1"}),
            )],
        ),
        // One pending poll first, so the failure comes an interval after the response.
        (
            DEVICE_TOKEN,
            vec![HttpResponse::status(403), HttpResponse::status(500)],
        ),
    ]);
    let issuer = FakeIssuer::start().await.unwrap();
    let mut session = Session::with_issuer(&issuer, |opts| opts.http = Some(http)).await;
    let answer = session
        .request("account/login/start", json!({"type": DEVICE}))
        .await;
    let id = login_id(&answer["result"]);
    assert_eq!(
        answer["result"]["userCode"], "ABCD-1234",
        "the `usercode` alias"
    );
    assert_eq!(
        answer["result"]["verificationUrl"],
        format!("{}/codex/device", issuer.url())
    );
    assert_eq!(
        session.read_message().await,
        completed(
            &id,
            false,
            Some("device auth failed with status 500 Internal Server Error")
        )
    );
    let status = assert_quiet(&mut session).await;
    assert_eq!(status["authMethod"], Value::Null);
    assert!(!session.home.path().join("auth.json").exists());
    assert_eq!(seen.count_path(DEVICE_TOKEN), 2);
}

/// Cancel (v2 and v1 methods) ends a pending device login with `Login was not completed`,
/// without the browser prefix, in the v2 family.
#[tokio::test]
async fn device_login_cancel() {
    let issuer = FakeIssuer::start().await.unwrap();
    issuer.set_device_interval(Some("600"));
    issuer.set_device_pending_polls(usize::MAX);
    let mut session = Session::with_issuer(&issuer, |_| {}).await;
    let result = session
        .result("account/login/start", json!({"type": DEVICE}))
        .await;
    let id = login_id(&result);
    let answer = session
        .request("account/login/cancel", json!({"loginId": id}))
        .await;
    assert_eq!(answer["result"], json!({"status": "canceled"}));
    assert_eq!(
        session.read_message().await,
        completed(&id, false, Some("Login was not completed"))
    );
    assert_quiet(&mut session).await;

    let result = session
        .result("account/login/start", json!({"type": DEVICE}))
        .await;
    let id = login_id(&result);
    let answer = session
        .request("cancelLoginChatGpt", json!({"loginId": id}))
        .await;
    assert_eq!(answer["result"], json!({}));
    assert_eq!(
        session.read_message().await,
        completed(&id, false, Some("Login was not completed"))
    );
    // A device login replaced by a browser login reports the same way.
    let result = session
        .result("account/login/start", json!({"type": DEVICE}))
        .await;
    let id = login_id(&result);
    let answer = session
        .request("account/login/start", json!({"type": "chatgpt"}))
        .await;
    assert_eq!(answer["result"]["type"], "chatgpt");
    assert_eq!(
        session.read_message().await,
        completed(&id, false, Some("Login was not completed"))
    );
    assert_eq!(assert_quiet(&mut session).await["authMethod"], Value::Null);
    assert_eq!(issuer.count(Endpoint::AuthorizationCode), 0);
}

/// Under a workspace restriction, an id_token of another workspace ends the device login with
/// the restriction text and saves nothing.
#[tokio::test]
async fn device_login_outside_the_workspace_saves_nothing() {
    let issuer = FakeIssuer::start().await.unwrap();
    issuer.set_device_interval(Some("1"));
    issuer.set_account_id(Some("other"));
    let mut session = Session::with_issuer(&issuer, |opts| {
        opts.config.forced_workspace_ids = vec!["ws-1".into()];
    })
    .await;
    let result = session
        .result("account/login/start", json!({"type": DEVICE}))
        .await;
    let id = login_id(&result);
    assert_eq!(
        session.read_message().await,
        completed(
            &id,
            false,
            Some("Login is restricted to workspace id(s) ws-1.")
        )
    );
    assert_eq!(assert_quiet(&mut session).await["authMethod"], Value::Null);
    assert!(!session.home.path().join("auth.json").exists());
    assert_eq!(issuer.count(Endpoint::AuthorizationCode), 1);
}

/// After the device timeout the login ends with the AUTH.md text.
#[tokio::test]
async fn device_login_times_out() {
    let issuer = FakeIssuer::start().await.unwrap();
    issuer.set_device_interval(Some("600"));
    issuer.set_device_pending_polls(usize::MAX);
    let mut session = Session::with_issuer(&issuer, |opts| {
        opts.device_timeout = std::time::Duration::from_millis(200);
    })
    .await;
    let (result, completion) =
        start_and_end(&mut session, "account/login/start", json!({"type": DEVICE})).await;
    let id = login_id(&result);
    assert_eq!(
        completion,
        completed(&id, false, Some("device auth timed out after 15 minutes"))
    );
    assert_eq!(assert_quiet(&mut session).await["authMethod"], Value::Null);
}
