//! Secret hygiene (AUTH.md §10, §11): the real binary at `RUST_LOG=trace` through an API-key
//! sign-in, a browser sign-in against the fake issuer, a refresh and a logout never writes a
//! token, key, authorization code or refresh token to stderr.

use std::process::Stdio;

use auth_core::fake_issuer::{Endpoint, FakeIssuer};
use chrono::TimeDelta;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

use crate::support::real_server::{RealServer, command};

const API_KEY: &str = "sk-hygiene-0123456789abcdefABCDEF";

fn auth_json(home: &std::path::Path) -> Value {
    crate::support::creds::read_auth(home).expect("auth.json")
}

/// The value itself, plus the distinctive parts of a JWT (payload and signature segments).
fn secret_forms(value: &str) -> Vec<String> {
    let mut forms = vec![value.to_owned()];
    let parts: Vec<&str> = value.split('.').collect();
    if parts.len() == 3 {
        forms.push(parts[1].to_owned());
    }
    forms
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_logs_of_sign_in_refresh_and_logout_hold_no_secret() {
    let issuer = FakeIssuer::start().await.unwrap();
    // Issued access tokens are already expired, so `refreshToken:true` always refreshes.
    issuer.set_access_token_lifetime(TimeDelta::seconds(-60));
    let home = tempfile::tempdir().unwrap();
    let mut cmd = command(home.path(), "trace");
    cmd.args(["--login-issuer", &issuer.url(), "--login-port", "0"])
        .env("CODEX_REFRESH_TOKEN_URL_OVERRIDE", issuer.token_url())
        .env("CODEX_REVOKE_TOKEN_URL_OVERRIDE", issuer.revoke_url())
        .stderr(Stdio::piped());
    let mut server = RealServer::start(cmd).await;
    let mut stderr = server.child.stderr.take().unwrap();
    let logs = tokio::spawn(async move {
        let mut text = String::new();
        stderr.read_to_string(&mut text).await.unwrap();
        text
    });
    let mut secrets: Vec<String> = vec![API_KEY.to_owned()];

    // API key sign-in.
    server
        .result(
            "account/login/start",
            json!({"type": "apiKey", "apiKey": API_KEY}),
        )
        .await;
    let status = server
        .result("getAuthStatus", json!({"includeToken": true}))
        .await;
    assert_eq!(status["authToken"], API_KEY);

    // Browser sign-in, the test playing the browser without following redirects.
    let login = server
        .result("account/login/start", json!({"type": "chatgpt"}))
        .await;
    let browser = crate::support::login::Browser::new().client;
    let page = browser
        .get(login["authUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let callback = page.headers()["location"].to_str().unwrap().to_owned();
    let callback_url = url::Url::parse(&callback).unwrap();
    let code = callback_url
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("authorization code in the redirect");
    secrets.push(code);
    browser.get(&callback).send().await.unwrap();
    let completed = server.notification("account/login/completed").await;
    assert_eq!(completed["params"]["success"], true, "{completed}");
    let signed_in = auth_json(home.path());
    let status = server
        .result("getAuthStatus", json!({"includeToken": true}))
        .await;
    assert_eq!(status["authMethod"], "chatgpt", "{status}");

    // A refresh (the poll above may already have refreshed the expired token proactively).
    let refreshes = issuer.count(Endpoint::Refresh);
    let refreshed = server
        .result(
            "getAuthStatus",
            json!({"includeToken": true, "refreshToken": true}),
        )
        .await;
    assert_eq!(
        issuer.count(Endpoint::Refresh),
        refreshes + 1,
        "a refresh happened"
    );
    let after_refresh = auth_json(home.path());
    assert_ne!(
        after_refresh["tokens"]["refresh_token"], signed_in["tokens"]["refresh_token"],
        "the refresh rotated the tokens"
    );
    for doc in [&signed_in, &after_refresh] {
        for key in ["access_token", "refresh_token", "id_token"] {
            secrets.extend(secret_forms(doc["tokens"][key].as_str().unwrap()));
        }
        if let Some(key) = doc["OPENAI_API_KEY"].as_str() {
            secrets.push(key.to_owned());
        }
    }
    for token in [&status["authToken"], &refreshed["authToken"]] {
        secrets.extend(secret_forms(token.as_str().unwrap()));
    }

    // Logout (revokes the refresh token).
    server.result("account/logout", json!({})).await;
    assert!(!home.path().join("auth.json").exists());
    server.finish().await;

    let logs = logs.await.unwrap();
    assert!(logs.contains("TRACE"), "trace logging was on");
    assert!(logs.lines().count() > 20, "the run logged something");
    for secret in &secrets {
        assert!(
            secret.len() >= 8,
            "secret too short to search for: {secret}"
        );
        if let Some(line) = logs.lines().find(|l| l.contains(secret.as_str())) {
            panic!("a secret appears in the trace log: {line}");
        }
    }
}

/// Issue 12 item 14: a core dump would hold the key; the real server disables them at start
/// (core-file limit 0, soft and hard).
#[tokio::test]
async fn the_server_runs_with_core_dumps_disabled() {
    let home = tempfile::tempdir().unwrap();
    let server = RealServer::start(command(home.path(), "warn")).await;
    let pid = server.child.id().expect("running");
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap_or_else(|| panic!("no core limit in {limits}"));
    let fields: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(&fields[4..6], ["0", "0"], "{core}");
}

/// Issue 12 item 18: client-supplied strings reach debug logs escaped and cut: a method name or
/// client name carrying a newline cannot forge a log line, and a huge one does not flood it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_strings_in_debug_logs_are_escaped_and_cut() {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = command(home.path(), "debug");
    cmd.stderr(Stdio::piped());
    let mut server = RealServer::start(cmd).await;
    let mut stderr = server.child.stderr.take().unwrap();
    let logs = tokio::spawn(async move {
        let mut text = String::new();
        stderr.read_to_string(&mut text).await.unwrap();
        text
    });
    let forged = "x\n2026-12-02T00:00:00.000000Z ERROR FORGED-LINE";
    let id = server.send(forged, json!({})).await;
    server.answer(id).await;
    let huge = "m".repeat(10_000);
    let id = server.send(&huge, json!({})).await;
    server.answer(id).await;
    server.finish().await;
    let logs = logs.await.unwrap();
    assert!(
        logs.contains("x\\n2026-12-02T00:00:00.000000Z ERROR FORGED-LINE"),
        "{logs}"
    );
    assert!(
        !logs
            .lines()
            .any(|l| l.starts_with("2026-12-02T00:00:00.000000Z ERROR FORGED")),
        "{logs}"
    );
    assert!(
        !logs.contains(&"m".repeat(65)),
        "a 10,000-character method name was logged whole"
    );
}
