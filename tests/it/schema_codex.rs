//! Every message the server sends validates against Codex 0.171's JSON Schema (vendored in
//! `tests/codex-schema/`): the `Session` harness checks each one it reads
//! (`support::codex_schema`), so all suites double as schema tests; this suite shows the check
//! rejects what it must and drives one representative session through it.

use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use crate::support::Session;
use crate::support::codex_schema::{VALIDATED, check, errors};
use crate::support::creds::jwt;

#[test]
fn the_check_rejects_a_missing_field_or_a_wrong_type() {
    let read = json!({"account": null, "userId": null, "requiresOpenaiAuth": true,
                      "workspaceRouting": null});
    assert_eq!(errors("v2/GetAccountResponse", &read), Vec::<String>::new());
    let missing = json!({"account": null});
    assert!(!errors("v2/GetAccountResponse", &missing).is_empty());
    let wrong = json!({"account": null, "requiresOpenaiAuth": "yes"});
    assert!(!errors("v2/GetAccountResponse", &wrong).is_empty());
    let unknown_plan = json!({"account": {"type": "chatgpt", "email": null, "planType": "gold"},
                              "requiresOpenaiAuth": true});
    assert!(!errors("v2/GetAccountResponse", &unknown_plan).is_empty());

    let completed = json!({"method": "account/login/completed",
                           "params": {"loginId": null, "success": true, "error": null},
                           "emittedAtMs": 1});
    check(&completed, None);
    let without_success = json!({"method": "account/login/completed",
                                 "params": {"loginId": null, "error": null}});
    assert!(std::panic::catch_unwind(|| check(&without_success, None)).is_err());
    let bad_mode = json!({"method": "account/updated", "params": {"authMode": "password"}});
    assert!(std::panic::catch_unwind(|| check(&bad_mode, None)).is_err());
    let bad_result = json!({"id": 3, "result": {"type": "chatgpt", "loginId": "x"}});
    assert!(std::panic::catch_unwind(|| check(&bad_result, Some("account/login/start"))).is_err());
    let bad_error = json!({"id": 3, "error": {"code": "x", "message": "m"}});
    assert!(std::panic::catch_unwind(|| check(&bad_error, None)).is_err());
}

/// An account/read answer for a ChatGPT account with every 0.171 plan the claim can carry.
#[tokio::test]
async fn a_representative_session_validates_against_codex_0_171() {
    let before = VALIDATED.load(Ordering::Relaxed);
    let mut session = Session::start();
    session.initialize().await;
    session.notify("initialized", json!({})).await;
    let read = session.result("account/read", json!({})).await;
    assert_eq!(read["account"], Value::Null);
    let id = session
        .send(
            "account/login/start",
            json!({"type": "apiKey", "apiKey": "sk-schema"}),
        )
        .await;
    let (answer, _) = session.answer_to(&id).await;
    assert_eq!(answer["result"], json!({"type": "apiKey"}));
    for _ in 0..2 {
        let note = session.read_message().await;
        assert!(note["method"].is_string(), "{note}");
    }
    session.result("account/read", json!({})).await;
    for plan in [
        "promax",
        "ent26",
        "edu_plus",
        "sci_plus",
        "self_serve_business_prolite",
    ] {
        let token = jwt(json!({
            "exp": chrono::Utc::now().timestamp() + 3600,
            "https://api.openai.com/profile": {"email": "schema@example.com"},
            "https://api.openai.com/auth": {"chatgpt_plan_type": plan, "chatgpt_user_id": "user-7"},
        }));
        let id = session
            .send(
                "account/login/start",
                json!({"type": "chatgptAuthTokens", "accessToken": token,
                       "chatgptAccountId": "ws-1"}),
            )
            .await;
        let (answer, _) = session.answer_to(&id).await;
        assert_eq!(answer["result"], json!({"type": "chatgptAuthTokens"}));
        let read = session.result("account/read", json!({})).await;
        assert_eq!(read["account"]["planType"], plan, "{read}");
    }
    let id = session.send("account/logout", json!(null)).await;
    session.answer_to(&id).await;
    let login = session
        .result("account/login/start", json!({"type": "chatgpt"}))
        .await;
    let login_id = login["loginId"].as_str().unwrap().to_owned();
    let cancel = session
        .result("account/login/cancel", json!({"loginId": login_id}))
        .await;
    assert_eq!(cancel, json!({"status": "canceled"}));
    let ended = session.read_message().await;
    assert_eq!(ended["params"]["success"], false, "{ended}");
    let missing = session
        .request("account/login/start", json!({"type": "apiKey"}))
        .await;
    assert!(missing["error"]["code"].is_i64(), "{missing}");
    // Everything read above went through the check (other tests may add to the count).
    assert!(VALIDATED.load(Ordering::Relaxed) - before >= 20);
}
