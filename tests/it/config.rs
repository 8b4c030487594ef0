//! `config.toml` through the real binary and the in-process server: a malformed file stops
//! startup without touching credentials, a provider without OpenAI auth answers all-null, and a
//! forbidden stored credential is logged out at startup (AUTH.md §2, §8.5).

use std::process::Stdio;
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::support::creds::write_auth;
use crate::support::{Session, hermetic_options, state_for};

const TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the real binary on `home` with `input` on stdin; returns (exit code, stdout, stderr).
async fn run(home: &std::path::Path, input: &str) -> (Option<i32>, String, String) {
    let mut child = crate::support::launcher::app_server()
        .env("CODEX_HOME", home)
        .env("HOME", home)
        .env("RUST_LOG", "warn")
        .env(
            "CODEX_REFRESH_TOKEN_URL_OVERRIDE",
            "http://127.0.0.1:9/oauth/token",
        )
        .env(
            "CODEX_REVOKE_TOKEN_URL_OVERRIDE",
            "http://127.0.0.1:9/oauth/revoke",
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // The server may exit before reading: a broken pipe here is expected then.
    let _ = stdin.write_all(input.as_bytes()).await;
    drop(stdin);
    let output = tokio::time::timeout(TIMEOUT, child.wait_with_output())
        .await
        .expect("exit")
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

const INIT: &str =
    r#"{"id":1,"method":"initialize","params":{"clientInfo":{"name":"cfg","version":"1"}}}"#;

#[tokio::test]
async fn a_malformed_config_stops_startup_naming_file_and_line_and_keeps_credentials() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    std::fs::write(
        &config,
        "model_provider = \"openai\"\n\nforced_login_method = [oops\n",
    )
    .unwrap();
    let auth = r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-keep"}"#;
    std::fs::write(home.path().join("auth.json"), auth).unwrap();
    let (code, stdout, stderr) = run(home.path(), &format!("{INIT}\n")).await;
    assert_ne!(code, Some(0));
    assert_eq!(stdout, "", "nothing on the protocol channel");
    let canonical = std::fs::canonicalize(&config).unwrap();
    assert!(
        stderr.contains(&format!("config error in {}", canonical.display()))
            || stderr.contains(&format!("config error in {}", config.display())),
        "{stderr}"
    );
    assert!(stderr.contains("at line 3"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(home.path().join("auth.json")).unwrap(),
        auth
    );
}

#[tokio::test]
async fn a_forbidden_stored_api_key_is_logged_out_at_startup() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("config.toml"),
        "forced_login_method = \"chatgpt\"\n",
    )
    .unwrap();
    std::fs::write(
        home.path().join("auth.json"),
        r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-forbidden"}"#,
    )
    .unwrap();
    let input = format!(
        "{INIT}\n{}\n",
        r#"{"id":2,"method":"getAuthStatus","params":{"includeToken":true}}"#
    );
    let (code, stdout, stderr) = run(home.path(), &input).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "ChatGPT login is required, but an API key is currently being used. Logging out."
        ),
        "{stderr}"
    );
    assert!(!home.path().join("auth.json").exists());
    let status = stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|m| m["id"] == 2)
        .unwrap();
    assert_eq!(
        status["result"],
        json!({"authMethod": null, "authToken": null, "requiresOpenaiAuth": true})
    );
}

#[tokio::test]
async fn a_provider_without_openai_auth_answers_all_null_even_with_a_key() {
    let home = std::sync::Arc::new(tempfile::tempdir().unwrap());
    write_auth(
        home.path(),
        r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-stored"}"#,
    );
    let mut opts = hermetic_options(home.path());
    opts.config = auth_core::parse_config(
        "model_provider = \"ollama\"\n",
        &home.path().join("config.toml"),
    )
    .unwrap();
    let mut session = Session::connect(state_for(home.path(), opts), home.clone());
    session.initialize().await;
    let status = session
        .result(
            "getAuthStatus",
            json!({"includeToken": true, "refreshToken": true}),
        )
        .await;
    assert_eq!(
        status,
        json!({"authMethod": null, "authToken": null, "requiresOpenaiAuth": false})
    );
    let account = session.result("account/read", json!({})).await;
    assert_eq!(
        account,
        json!({"account": null, "userId": null, "requiresOpenaiAuth": false,
               "workspaceRouting": null})
    );
}
