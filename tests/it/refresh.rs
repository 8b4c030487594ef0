//! The refresh guarantees of issue 3 over the real stdio server, counted at the fake issuer's
//! token endpoint: no storm after a permanent failure, clearing on credential change, single
//! flight in process and across processes, the shared failure record, transient backoff.

use std::time::Duration;

use auth_core::fake_issuer::{Endpoint, FakeIssuer, ScriptedResponse};
use futures::future::join_all;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::support::creds::{access_token, fresh_access_token, seed_fresh, seed_stale};
use crate::support::{Session, issuer_options, state_for};

fn reused() -> ScriptedResponse {
    ScriptedResponse::new(401, json!({"error": {"code": "refresh_token_reused"}}))
}

const POLL: &str = "getAuthStatus";

fn with_token(refresh: bool) -> Value {
    json!({"includeToken": true, "refreshToken": refresh})
}

#[tokio::test]
async fn permanent_failure_then_fifty_polls_make_one_token_request() {
    let issuer = FakeIssuer::start().await.unwrap();
    let mut session = Session::with_issuer(&issuer, |o| {
        seed_stale(&o.codex_home, &issuer);
    })
    .await;
    issuer.script_refresh(vec![reused()]);
    for _ in 0..50 {
        let status = session.result(POLL, with_token(true)).await;
        assert_eq!(
            status,
            json!({"authMethod": "chatgpt", "authToken": null, "requiresOpenaiAuth": true})
        );
    }
    let account = session
        .result("account/read", json!({"refreshToken": true}))
        .await;
    assert_eq!(
        account,
        json!({"account": null, "userId": null, "requiresOpenaiAuth": true,
               "workspaceRouting": null})
    );
    assert_eq!(issuer.count(Endpoint::Refresh), 1);
}

/// Issue 16: answers of unchanged credentials are reused, but never across a recorded failure:
/// the token answered a moment ago is withheld from the very next poll.
#[tokio::test]
async fn a_poll_after_a_permanent_failure_withholds_the_token_answered_before_it() {
    let issuer = FakeIssuer::start().await.unwrap();
    let mut session = Session::with_issuer(&issuer, |o| {
        seed_fresh(&o.codex_home, &issuer);
    })
    .await;
    let before = session.result(POLL, with_token(false)).await;
    assert!(before["authToken"].is_string(), "{before}");
    assert_eq!(session.result(POLL, with_token(false)).await, before);
    issuer.script_refresh(vec![reused()]);
    let refreshed = session.result(POLL, with_token(true)).await;
    assert_eq!(refreshed["authToken"], Value::Null, "{refreshed}");
    let after = session.result(POLL, with_token(false)).await;
    assert_eq!(
        after,
        json!({"authMethod": "chatgpt", "authToken": null, "requiresOpenaiAuth": true})
    );
    assert_eq!(issuer.count(Endpoint::Refresh), 1);
}

#[tokio::test]
async fn credentials_rewritten_by_another_process_are_served_next() {
    let issuer = FakeIssuer::start().await.unwrap();
    let mut session = Session::with_issuer(&issuer, |o| {
        seed_stale(&o.codex_home, &issuer);
    })
    .await;
    issuer.script_refresh(vec![reused()]);
    let dead = session.result(POLL, with_token(false)).await;
    assert_eq!(dead["authToken"], Value::Null);
    let new = seed_fresh(session.home.path(), &issuer);
    let status = session.result(POLL, with_token(false)).await;
    assert_eq!(status["authToken"], json!(access_token(&new)));
    assert_eq!(issuer.count(Endpoint::Refresh), 1);
    // A login clears it too.
    session
        .result("loginApiKey", json!({"apiKey": "sk-new"}))
        .await;
    let status = session.result(POLL, with_token(false)).await;
    assert_eq!(status["authMethod"], "apikey");
    assert_eq!(status["authToken"], "sk-new");
}

#[tokio::test]
async fn fifty_pipelined_refresh_requests_share_one_token_request() {
    let issuer = FakeIssuer::start().await.unwrap();
    let mut session = Session::with_issuer(&issuer, |o| {
        seed_fresh(&o.codex_home, &issuer);
    })
    .await;
    let new = fresh_access_token("rotated");
    issuer.script_refresh(vec![
        ScriptedResponse::new(200, json!({"access_token": new, "refresh_token": "rt-2"}))
            .with_delay(Duration::from_millis(300)),
    ]);
    let mut ids = Vec::new();
    for _ in 0..50 {
        ids.push(session.send(POLL, with_token(true)).await);
    }
    let mut tokens = Vec::new();
    for _ in 0..50 {
        let answer = session.read_message().await;
        assert!(ids.contains(&answer["id"]), "{answer}");
        tokens.push(answer["result"]["authToken"].clone());
    }
    let distinct: std::collections::HashSet<String> =
        tokens.iter().map(|t| t.to_string()).collect();
    assert_eq!(distinct.len(), 1, "all 50 answers carry one token");
    assert_eq!(tokens[0], json!(new));
    assert_eq!(issuer.count(Endpoint::Refresh), 1);
    // A later requested refresh of the same, just-refreshed snapshot sends nothing.
    session.result(POLL, with_token(true)).await;
    assert_eq!(issuer.count(Endpoint::Refresh), 1);
}

#[tokio::test]
async fn six_servers_on_one_home_rotate_once_and_all_get_the_new_token() {
    let issuer = FakeIssuer::start().await.unwrap();
    let home = std::sync::Arc::new(tempfile::tempdir().unwrap());
    seed_stale(home.path(), &issuer);
    let mut sessions = Vec::new();
    for _ in 0..6 {
        let state = state_for(home.path(), issuer_options(home.path(), &issuer));
        let mut session = Session::connect(state, home.clone());
        session.initialize().await;
        sessions.push(session);
    }
    let polls = sessions
        .iter_mut()
        .map(|s| async move { s.result(POLL, with_token(false)).await["authToken"].clone() });
    let tokens = join_all(polls).await;
    assert!(tokens[0].is_string(), "a token is served");
    assert!(
        tokens.iter().all(|t| *t == tokens[0]),
        "every server has the same token"
    );
    assert_eq!(issuer.count(Endpoint::Refresh), 1);
}

#[tokio::test]
async fn a_restarted_server_does_not_spend_a_dead_refresh_token_again() {
    let issuer = FakeIssuer::start().await.unwrap();
    let home = std::sync::Arc::new(tempfile::tempdir().unwrap());
    seed_stale(home.path(), &issuer);
    issuer.script_refresh(vec![reused()]);
    let mut first = Session::connect(
        state_for(home.path(), issuer_options(home.path(), &issuer)),
        home.clone(),
    );
    first.initialize().await;
    assert_eq!(
        first.result(POLL, with_token(true)).await["authToken"],
        Value::Null
    );
    drop(first);
    let mut restarted = Session::connect(
        state_for(home.path(), issuer_options(home.path(), &issuer)),
        home.clone(),
    );
    restarted.initialize().await;
    for _ in 0..5 {
        let status = restarted.result(POLL, with_token(true)).await;
        assert_eq!(status["authMethod"], "chatgpt");
        assert_eq!(status["authToken"], Value::Null);
    }
    assert_eq!(issuer.count(Endpoint::Refresh), 1);
}

#[tokio::test]
async fn a_two_second_outage_polled_at_twenty_hertz_costs_at_most_three_requests() {
    let issuer = FakeIssuer::start().await.unwrap();
    let mut doc = Value::Null;
    let mut session = Session::with_issuer(&issuer, |o| {
        doc = seed_fresh(&o.codex_home, &issuer);
    })
    .await;
    issuer.script_refresh(
        (0..100)
            .map(|_| ScriptedResponse::new(500, json!({})))
            .collect(),
    );
    let started = std::time::Instant::now();
    let mut polls = 0;
    while started.elapsed() < Duration::from_secs(2) {
        let status = session.result(POLL, with_token(true)).await;
        assert_eq!(
            status["authToken"],
            json!(access_token(&doc)),
            "the cached token is served"
        );
        polls += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(polls >= 20, "polled {polls} times");
    let requests = issuer.count(Endpoint::Refresh);
    assert!((1..=3).contains(&requests), "{requests} token requests");
}

#[tokio::test]
async fn refresh_failure_is_opt_in_and_names_the_reason() {
    let issuer = FakeIssuer::start().await.unwrap();
    let mut session = Session::with_issuer(&issuer, |o| {
        seed_stale(&o.codex_home, &issuer);
    })
    .await;
    issuer.script_refresh(vec![reused()]);
    let plain = session.result(POLL, with_token(true)).await;
    let keys: Vec<&String> = plain.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["authMethod", "authToken", "requiresOpenaiAuth"]);
    let account = session.result("account/read", json!({})).await;
    let keys: Vec<&String> = account.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "account",
            "userId",
            "requiresOpenaiAuth",
            "workspaceRouting"
        ]
    );
    let detailed = session
        .result(
            POLL,
            json!({"includeToken": true, "includeRefreshFailure": true}),
        )
        .await;
    assert_eq!(
        detailed["refreshFailure"],
        json!({
            "reason": "exhausted",
            "message": "Your access token could not be refreshed because your refresh token was already used. Please log out and sign in again.",
            "transient": false,
            "retryAfterMs": null
        })
    );
    let account = session
        .result("account/read", json!({"includeRefreshFailure": true}))
        .await;
    assert_eq!(account["refreshFailure"]["reason"], "exhausted");
    // Signed out: the key is there and null.
    session.result("account/logout", json!({})).await;
    let signed_out = session
        .result(POLL, json!({"includeRefreshFailure": true}))
        .await;
    assert_eq!(signed_out["refreshFailure"], Value::Null);
}
