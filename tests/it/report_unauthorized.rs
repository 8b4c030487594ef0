//! `account/reportUnauthorized` (PROTOCOL.md §6.2, AUTH.md §7.4e): at most one token request per
//! rejected token, however many reports; none for a stale token, an API key or dead credentials;
//! external tokens are renewed by asking the client. Token requests are counted at the fake issuer.

use std::collections::BTreeSet;
use std::time::Duration;

use auth_core::fake_issuer::{Endpoint, FakeIssuer, ScriptedResponse};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::support::creds::{access_token, fresh_access_token, seed_fresh, seed_stale, write_auth};
use crate::support::{Session, TIMEOUT};

const REPORT: &str = "account/reportUnauthorized";
const REFRESH_REQUEST: &str = "account/chatgptAuthTokens/refresh";

/// A successful refresh answer carrying `token`, sent after `delay`.
fn rotated(token: &str, delay: Duration) -> ScriptedResponse {
    ScriptedResponse::new(
        200,
        json!({"access_token": token, "refresh_token": "rt-rotated"}),
    )
    .with_delay(delay)
}

fn reused() -> ScriptedResponse {
    ScriptedResponse::new(401, json!({"error": {"code": "refresh_token_reused"}}))
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

/// Whether `answer` carries `token` as `authToken` (without printing either on failure).
fn carries(answer: &Value, token: &str) -> bool {
    answer["authToken"].as_str() == Some(token)
}

fn stored_token(session: &Session) -> String {
    let text = std::fs::read_to_string(session.home.path().join("auth.json")).unwrap();
    access_token(&serde_json::from_str(&text).unwrap())
}

#[tokio::test]
async fn a_stale_token_gets_the_current_one_without_a_request() {
    let issuer = FakeIssuer::start().await.unwrap();
    let mut session = Session::with_issuer(&issuer, |o| {
        seed_fresh(&o.codex_home, &issuer);
    })
    .await;
    let current = stored_token(&session);
    let stale = fresh_access_token("replaced-long-ago");
    let answer = session.result(REPORT, json!({"accessToken": stale})).await;
    assert!(
        carries(&answer, &current),
        "the current token is handed out"
    );
    assert_eq!(answer["refreshed"], json!(false));
    assert_eq!(answer["authMethod"], "chatgpt");
    assert_eq!(answer["requiresOpenaiAuth"], json!(true));
    // Exactly the getAuthStatus keys plus `refreshed`; `refreshFailure` only when asked.
    assert_eq!(
        keys(&answer),
        ["authMethod", "authToken", "refreshed", "requiresOpenaiAuth"]
            .map(String::from)
            .into()
    );
    let detailed = session
        .result(
            REPORT,
            json!({"accessToken": stale, "includeRefreshFailure": true}),
        )
        .await;
    assert_eq!(detailed["refreshFailure"], Value::Null);
    assert!(keys(&detailed).contains("refreshFailure"));
    assert_eq!(issuer.count(Endpoint::Refresh), 0);
    assert_eq!(stored_token(&session), current, "nothing was written");
}

#[tokio::test]
async fn include_token_defaults_to_true_and_can_be_turned_off() {
    let issuer = FakeIssuer::start().await.unwrap();
    let mut session = Session::with_issuer(&issuer, |o| {
        seed_fresh(&o.codex_home, &issuer);
    })
    .await;
    let current = stored_token(&session);
    let stale = fresh_access_token("old");
    let default = session.result(REPORT, json!({"accessToken": stale})).await;
    assert!(carries(&default, &current));
    let null = session
        .result(REPORT, json!({"accessToken": stale, "includeToken": null}))
        .await;
    assert!(carries(&null, &current), "null means the default (true)");
    let off = session
        .result(REPORT, json!({"accessToken": stale, "includeToken": false}))
        .await;
    assert_eq!(off["authToken"], Value::Null);
    assert_eq!(off["authMethod"], "chatgpt");
    assert_eq!(issuer.count(Endpoint::Refresh), 0);
}

#[tokio::test]
async fn the_current_token_is_refreshed_once_then_reads_as_stale() {
    let issuer = FakeIssuer::start().await.unwrap();
    let mut session = Session::with_issuer(&issuer, |o| {
        seed_fresh(&o.codex_home, &issuer);
    })
    .await;
    let rejected = stored_token(&session);
    let answer = session
        .result(REPORT, json!({"accessToken": rejected}))
        .await;
    assert_eq!(answer["refreshed"], json!(true));
    let new = answer["authToken"].as_str().expect("a token").to_owned();
    assert_ne!(new, rejected, "a forced refresh ignores the token's expiry");
    assert_eq!(issuer.count(Endpoint::Refresh), 1);
    assert_eq!(stored_token(&session), new, "the new token is saved");
    // The rejected token again: it is stale now, so no second request.
    let again = session
        .result(REPORT, json!({"accessToken": rejected}))
        .await;
    assert_eq!(again["refreshed"], json!(false));
    assert!(carries(&again, &new));
    // Without `accessToken` the current token is the rejected one: one more request.
    let implicit = session.result(REPORT, json!({})).await;
    assert_eq!(implicit["refreshed"], json!(true));
    assert!(!carries(&implicit, &new) && !carries(&implicit, &rejected));
    assert_eq!(issuer.count(Endpoint::Refresh), 2);
}

#[tokio::test]
async fn credentials_stored_by_another_process_are_adopted_without_a_request() {
    let issuer = FakeIssuer::start().await.unwrap();
    let mut session = Session::with_issuer(&issuer, |o| {
        seed_fresh(&o.codex_home, &issuer);
    })
    .await;
    let rejected = stored_token(&session);
    let other = access_token(&seed_fresh(session.home.path(), &issuer));
    let answer = session
        .result(REPORT, json!({"accessToken": rejected}))
        .await;
    assert!(carries(&answer, &other));
    assert_eq!(answer["refreshed"], json!(false));
    assert_eq!(issuer.count(Endpoint::Refresh), 0);
}

/// Sends 20 reports of `rejected` split over `sessions` without waiting, then collects the
/// answers.
async fn twenty_reports(sessions: &mut [Session], rejected: &str) -> Vec<Value> {
    let mut ids = Vec::new();
    for n in 0..20 {
        let which = n % sessions.len();
        let id = sessions[which]
            .send(REPORT, json!({"accessToken": rejected}))
            .await;
        ids.push((which, id));
    }
    let mut answers = Vec::new();
    for (which, id) in ids {
        let (answer, _) = sessions[which].answer_to(&id).await;
        answers.push(answer["result"].clone());
    }
    answers
}

fn assert_all_got(answers: &[Value], new: &str) {
    assert_eq!(answers.len(), 20);
    for answer in answers {
        assert!(carries(answer, new), "every report gets the new token");
        assert_eq!(answer["refreshed"], json!(true), "{}", answer["refreshed"]);
    }
}

#[tokio::test]
async fn twenty_pipelined_reports_of_one_token_make_one_request() {
    let issuer = FakeIssuer::start().await.unwrap();
    let session = Session::with_issuer(&issuer, |o| {
        seed_fresh(&o.codex_home, &issuer);
    })
    .await;
    let rejected = stored_token(&session);
    let new = fresh_access_token("after-401");
    issuer.script_refresh(vec![rotated(&new, Duration::from_millis(500))]);
    let mut sessions = [session];
    let answers = twenty_reports(&mut sessions, &rejected).await;
    assert_all_got(&answers, &new);
    assert_eq!(issuer.count(Endpoint::Refresh), 1);
}

#[tokio::test]
async fn twenty_reports_over_two_connections_make_one_request() {
    let issuer = FakeIssuer::start().await.unwrap();
    let first = Session::with_issuer(&issuer, |o| {
        seed_fresh(&o.codex_home, &issuer);
    })
    .await;
    let mut second = Session::connect(first.state.clone(), first.home.clone());
    second.initialize().await;
    let rejected = stored_token(&first);
    let new = fresh_access_token("after-401");
    issuer.script_refresh(vec![rotated(&new, Duration::from_millis(500))]);
    let mut sessions = [first, second];
    let answers = twenty_reports(&mut sessions, &rejected).await;
    assert_all_got(&answers, &new);
    assert_eq!(issuer.count(Endpoint::Refresh), 1);
}

#[tokio::test]
async fn after_a_permanent_failure_reports_make_no_request_and_write_nothing() {
    let issuer = FakeIssuer::start().await.unwrap();
    let mut session = Session::with_issuer(&issuer, |o| {
        seed_fresh(&o.codex_home, &issuer);
    })
    .await;
    let auth_json = session.home.path().join("auth.json");
    let before = std::fs::read(&auth_json).unwrap();
    let rejected = stored_token(&session);
    issuer.script_refresh(vec![reused()]);
    let first = session
        .result(
            REPORT,
            json!({"accessToken": rejected, "includeRefreshFailure": true}),
        )
        .await;
    assert_eq!(first["authToken"], Value::Null);
    assert_eq!(first["authMethod"], "chatgpt");
    assert_eq!(first["refreshed"], json!(false));
    assert_eq!(first["refreshFailure"]["reason"], "exhausted");
    assert_eq!(first["refreshFailure"]["transient"], json!(false));
    assert_eq!(issuer.count(Endpoint::Refresh), 1);
    for params in [
        json!({"accessToken": rejected}),
        json!({}),
        json!({"accessToken": rejected, "includeToken": true}),
    ] {
        for _ in 0..5 {
            let answer = session.result(REPORT, params.clone()).await;
            assert_eq!(answer["authToken"], Value::Null);
            assert_eq!(answer["refreshed"], json!(false));
        }
    }
    assert_eq!(issuer.count(Endpoint::Refresh), 1);
    assert_eq!(
        std::fs::read(&auth_json).unwrap(),
        before,
        "no sentinel is written to auth.json"
    );
}

#[tokio::test]
async fn a_failure_found_by_polling_also_stops_reports() {
    let issuer = FakeIssuer::start().await.unwrap();
    let mut session = Session::with_issuer(&issuer, |o| {
        seed_stale(&o.codex_home, &issuer);
    })
    .await;
    let rejected = stored_token(&session);
    issuer.script_refresh(vec![reused()]);
    let status = session
        .result("getAuthStatus", json!({"includeToken": true}))
        .await;
    assert_eq!(status["authToken"], Value::Null);
    assert_eq!(issuer.count(Endpoint::Refresh), 1);
    for _ in 0..10 {
        let answer = session
            .result(REPORT, json!({"accessToken": rejected}))
            .await;
        assert_eq!(answer["authToken"], Value::Null);
    }
    assert_eq!(issuer.count(Endpoint::Refresh), 1);
}

#[tokio::test]
async fn an_api_key_needs_no_action() {
    let issuer = FakeIssuer::start().await.unwrap();
    let mut session = Session::with_issuer(&issuer, |_| {}).await;
    session
        .result(
            "account/login/start",
            json!({"type": "apiKey", "apiKey": "sk-report"}),
        )
        .await;
    for params in [json!({"accessToken": "sk-report"}), json!({})] {
        let answer = session.result(REPORT, params).await;
        assert_eq!(answer["authMethod"], "apikey");
        assert!(carries(&answer, "sk-report"));
        assert_eq!(answer["refreshed"], json!(false));
    }
    assert_eq!(issuer.count(Endpoint::Refresh), 0);
}

#[tokio::test]
async fn signed_out_or_without_openai_auth_needs_no_action() {
    let issuer = FakeIssuer::start().await.unwrap();
    let mut session = Session::with_issuer(&issuer, |_| {}).await;
    let answer = session
        .result(REPORT, json!({"accessToken": "whatever"}))
        .await;
    assert_eq!(
        answer,
        json!({"authMethod": null, "authToken": null, "requiresOpenaiAuth": true, "refreshed": false})
    );
    let mut other = Session::with_issuer(&issuer, |o| {
        seed_fresh(&o.codex_home, &issuer);
        o.config.requires_openai_auth = false;
    })
    .await;
    let answer = other.result(REPORT, json!({})).await;
    assert_eq!(
        answer,
        json!({"authMethod": null, "authToken": null, "requiresOpenaiAuth": false, "refreshed": false})
    );
    assert_eq!(issuer.count(Endpoint::Refresh), 0);
}

// External tokens (`chatgptAuthTokens`): the client that supplied them is asked for new ones.

/// Supplies external tokens for account `acct-ext` on `session`; returns the access token.
async fn supply_external_tokens(session: &mut Session, tag: &str) -> String {
    let token = fresh_access_token(tag);
    let result = session
        .result(
            "account/login/start",
            json!({"type": "chatgptAuthTokens", "accessToken": token,
                   "chatgptAccountId": "acct-ext", "chatgptPlanType": "team"}),
        )
        .await;
    assert_eq!(result, json!({"type": "chatgptAuthTokens"}));
    token
}

/// Reads until the server request `method`, skipping notifications.
async fn server_request(session: &mut Session, method: &str) -> Value {
    loop {
        let message = tokio::time::timeout(TIMEOUT, session.read_message())
            .await
            .expect("server request");
        if message["method"] == method && message.get("id").is_some() {
            return message;
        }
        assert!(
            message.get("id").is_none(),
            "expected {method}, got {}",
            message["method"]
        );
    }
}

#[tokio::test]
async fn external_tokens_are_renewed_by_the_client_without_a_token_request() {
    let issuer = FakeIssuer::start().await.unwrap();
    let mut session = Session::with_issuer(&issuer, |_| {}).await;
    let rejected = supply_external_tokens(&mut session, "ext-1").await;
    let report = session.send(REPORT, json!({"accessToken": rejected})).await;
    let request = server_request(&mut session, REFRESH_REQUEST).await;
    assert_eq!(request["id"], json!(0), "server request ids start at 0");
    assert_eq!(
        request["params"],
        json!({"reason": "unauthorized", "previousAccountId": "acct-ext"})
    );
    let new = fresh_access_token("ext-2");
    session
        .send_json(json!({"id": request["id"], "result": {
            "accessToken": new, "chatgptAccountId": "acct-ext", "chatgptPlanType": "team"}}))
        .await;
    let (answer, _) = session.answer_to(&report).await;
    let answer = &answer["result"];
    assert_eq!(answer["refreshed"], json!(true));
    assert_eq!(answer["authMethod"], "chatgptAuthTokens");
    assert!(
        carries(answer, &new),
        "the client's new token is handed out"
    );
    // No notification follows, and the new token is current.
    let status = session
        .request("getAuthStatus", json!({"includeToken": true}))
        .await;
    assert!(carries(&status["result"], &new));
    // The old token is stale now: answered directly, no second server request.
    let again = session
        .request(REPORT, json!({"accessToken": rejected}))
        .await;
    assert_eq!(again["result"]["refreshed"], json!(false));
    assert!(carries(&again["result"], &new));
    assert_eq!(issuer.count(Endpoint::Refresh), 0);
}

#[tokio::test]
async fn the_server_request_goes_to_the_connection_that_supplied_the_tokens() {
    let issuer = FakeIssuer::start().await.unwrap();
    let mut supplier = Session::with_issuer(&issuer, |_| {}).await;
    let mut reporter = Session::connect(supplier.state.clone(), supplier.home.clone());
    reporter.initialize().await;
    let rejected = supply_external_tokens(&mut supplier, "ext-a").await;
    let report = reporter
        .send(REPORT, json!({"accessToken": rejected}))
        .await;
    let request = server_request(&mut supplier, REFRESH_REQUEST).await;
    let new = fresh_access_token("ext-b");
    supplier
        .send_json(json!({"id": request["id"], "result": {
            "accessToken": new, "chatgptAccountId": "acct-ext"}}))
        .await;
    let (answer, _) = reporter.answer_to(&report).await;
    assert_eq!(answer["result"]["refreshed"], json!(true));
    assert!(carries(&answer["result"], &new));
    assert_eq!(issuer.count(Endpoint::Refresh), 0);
}

#[tokio::test]
async fn an_external_refresh_answered_with_an_error_is_not_retried_for_that_token() {
    let issuer = FakeIssuer::start().await.unwrap();
    let mut session = Session::with_issuer(&issuer, |_| {}).await;
    let rejected = supply_external_tokens(&mut session, "ext-err").await;
    let report = session.send(REPORT, json!({"accessToken": rejected})).await;
    let request = server_request(&mut session, REFRESH_REQUEST).await;
    session
        .send_json(
            json!({"id": request["id"], "error": {"code": -32000, "message": "cannot refresh"}}),
        )
        .await;
    let (answer, _) = session.answer_to(&report).await;
    assert_eq!(answer["result"]["refreshed"], json!(false));
    assert_eq!(answer["result"]["authMethod"], "chatgptAuthTokens");
    assert!(
        carries(&answer["result"], &rejected),
        "nothing replaced the external token"
    );
    // Reported again: answered at once, without another server request.
    for _ in 0..3 {
        let again = session
            .request(REPORT, json!({"accessToken": rejected}))
            .await;
        assert_eq!(again["result"]["refreshed"], json!(false));
    }
    // New tokens from the client get their own attempt.
    let fresh = supply_external_tokens(&mut session, "ext-new").await;
    let report = session.send(REPORT, json!({"accessToken": fresh})).await;
    let request = server_request(&mut session, REFRESH_REQUEST).await;
    assert_eq!(request["id"], json!(1));
    session
        .send_json(json!({"id": request["id"], "error": {"code": -32000, "message": "no"}}))
        .await;
    session.answer_to(&report).await;
    assert_eq!(issuer.count(Endpoint::Refresh), 0);
}

#[tokio::test]
async fn reports_never_write_a_rejected_marker_into_auth_json() {
    let issuer = FakeIssuer::start().await.unwrap();
    let mut session = Session::with_issuer(&issuer, |o| {
        seed_fresh(&o.codex_home, &issuer);
    })
    .await;
    let auth_json = session.home.path().join("auth.json");
    let doc = std::fs::read_to_string(&auth_json).unwrap();
    // A transient failure: the old credentials stay byte-identical, the token is still served.
    issuer.script_refresh(vec![ScriptedResponse::new(500, json!({"error": "boom"}))]);
    let rejected = stored_token(&session);
    let answer = session
        .result(REPORT, json!({"accessToken": rejected}))
        .await;
    assert_eq!(answer["refreshed"], json!(false));
    assert!(
        carries(&answer, &rejected),
        "a transient failure keeps the token"
    );
    assert_eq!(std::fs::read_to_string(&auth_json).unwrap(), doc);
    // The attempt is spent: the same token reported again sends nothing.
    session
        .result(REPORT, json!({"accessToken": rejected}))
        .await;
    assert_eq!(issuer.count(Endpoint::Refresh), 1);
    // Rewritten by another process with the same document: still nothing new to try.
    write_auth(session.home.path(), &doc);
    session
        .result(REPORT, json!({"accessToken": rejected}))
        .await;
    assert_eq!(issuer.count(Endpoint::Refresh), 1);
}

/// A full window of reports (128 in flight) waiting on the client's answer: the answer is still
/// read, so every report ends refreshed instead of failing at the 10 s server-request timeout.
#[tokio::test]
async fn a_full_window_of_waiting_reports_still_reads_the_clients_answer() {
    let issuer = FakeIssuer::start().await.unwrap();
    let mut session = Session::with_issuer(&issuer, |_| {}).await;
    let rejected = supply_external_tokens(&mut session, "ext-window").await;
    let mut reports = Vec::new();
    for _ in 0..app_server::MAX_IN_FLIGHT {
        reports.push(session.send(REPORT, json!({"accessToken": rejected})).await);
    }
    let request = server_request(&mut session, REFRESH_REQUEST).await;
    let new = fresh_access_token("ext-window-2");
    session
        .send_json(json!({"id": request["id"], "result": {
            "accessToken": new, "chatgptAccountId": "acct-ext"}}))
        .await;
    for _ in &reports {
        let answer = session.read_message().await;
        assert_eq!(
            answer["result"]["refreshed"],
            json!(true),
            "{}",
            answer["id"]
        );
    }
}
