//! Published Python clients of the Codex app-server (PyPI, pinned in
//! `tests/interop/requirements.txt`) drive the real binary over stdio, each spawning it with the
//! argv it builds itself (our binary as its "codex binary", `--demo` through the client's own
//! extra-arguments option so sign-in stays on loopback): connect, read the account signed out,
//! API-key login, read, logout, start and cancel a ChatGPT login, and the notifications of each.
//! The scenario is `tests/interop/scenario.py`; each client has a driver script next to it.
//! Needs the virtualenv of `tests/setup/python-clients.sh` (`APP_SERVER_PY_CLIENTS`).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tokio::process::Command;

const TIMEOUT: Duration = Duration::from_secs(90);

/// Runs `tests/interop/<driver>.py` against the binary with a fresh home; returns its report.
async fn drive(driver: &str) -> Value {
    let python = std::env::var("APP_SERVER_PY_CLIENTS").unwrap_or_else(|_| {
        panic!("APP_SERVER_PY_CLIENTS is not set: run through tests/run.sh (tests/setup/python-clients.sh)")
    });
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("interop")
        .join(format!("{driver}.py"));
    let home = tempfile::tempdir().unwrap();
    // The client spawns the binary with its own environment: cleared here, as the launcher does.
    let child = Command::from(crate::support::launcher::clean_command(python))
        .arg(&script)
        .arg(crate::support::launcher::BIN)
        .env("CODEX_HOME", home.path())
        .env("HOME", home.path())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the client's python");
    let output = tokio::time::timeout(TIMEOUT, child.wait_with_output())
        .await
        .expect("the interop scenario finishes")
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{driver} failed:\n{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(report).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"))
}

fn methods(notifications: &Value) -> Vec<&str> {
    notifications
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["method"].as_str().unwrap())
        .collect()
}

/// What every client sees, whatever its decoding: the answers and the order of notifications.
fn assert_scenario(report: &Value, argv: &[&str]) {
    assert_eq!(report["argv"], json!(argv), "the argv the client built");
    assert_eq!(report["read_signed_out"]["account"], Value::Null);
    assert_eq!(report["read_signed_out"]["requiresOpenaiAuth"], true);
    assert_eq!(report["api_key_login"], json!({"type": "apiKey"}));
    assert_eq!(
        methods(&report["api_key_notifications"]),
        ["account/login/completed", "account/updated"]
    );
    let completed = &report["api_key_notifications"][0]["params"];
    assert_eq!(completed["success"], true);
    assert_eq!(completed["loginId"], Value::Null);
    assert_eq!(
        report["api_key_notifications"][1]["params"]["authMode"],
        "apikey"
    );
    assert_eq!(report["read_api_key"]["account"]["type"], "apiKey");
    assert_eq!(report["logout"], json!({}));
    assert_eq!(
        methods(&report["logout_notifications"]),
        ["account/updated"]
    );
    assert_eq!(
        report["logout_notifications"][0]["params"]["authMode"],
        Value::Null
    );
    let login = &report["chatgpt_login"];
    assert_eq!(login["type"], "chatgpt");
    let login_id = login["loginId"].as_str().unwrap();
    assert!(!login_id.is_empty());
    let url = login["authUrl"].as_str().unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "loopback issuer: {url}"
    );
    assert_eq!(report["cancel"], json!({"status": "canceled"}));
    assert_eq!(
        methods(&report["cancel_notifications"]),
        ["account/login/completed"]
    );
    let cancelled = &report["cancel_notifications"][0]["params"];
    assert_eq!(cancelled["loginId"], login_id);
    assert_eq!(cancelled["success"], false);
    assert_eq!(report["read_after"]["account"], Value::Null);
    assert_eq!(report["extra_notifications"], json!([]));
}

/// For clients that hand over the raw messages: the Codex 0.171 shapes exactly.
fn assert_raw_shapes(report: &Value) {
    let read = &report["read_signed_out"];
    assert_eq!(
        read,
        &json!({"account": null, "userId": null, "requiresOpenaiAuth": true,
                "workspaceRouting": null})
    );
    let all = [
        "api_key_notifications",
        "logout_notifications",
        "cancel_notifications",
    ];
    for key in all {
        for note in report[key].as_array().unwrap() {
            assert!(note["emittedAtMs"].is_u64(), "{note}");
        }
    }
    assert_eq!(
        report["api_key_notifications"][0]["params"],
        json!({"loginId": null, "success": true, "error": null, "onboardingEntrypoint": null})
    );
    assert_eq!(
        report["logout_notifications"][0]["params"],
        json!({"authMode": null, "planType": null, "reason": null})
    );
}

/// codex-app-server-client 0.1.0 launches `<bin> <extra_args> app-server --listen stdio://`.
#[tokio::test]
async fn codex_app_server_client_over_stdio() {
    let report = drive("codex_app_server_client_driver").await;
    assert_scenario(&report, &["--demo", "app-server", "--listen", "stdio://"]);
    let agent = report["initialize"]["userAgent"].as_str().unwrap();
    assert!(agent.starts_with("codex_python_sdk/"), "{agent}");
}

/// codex-python-sdk 0.2.1 launches `<bin> <app_server_args> --enable guardian_approval -c
/// web_search="live"` and sends `"jsonrpc": "2.0"` on every message.
#[tokio::test]
async fn codex_python_sdk_over_stdio() {
    let report = drive("codex_python_sdk_driver").await;
    assert_scenario(
        &report,
        &[
            "app-server",
            "--demo",
            "--enable",
            "guardian_approval",
            "-c",
            "web_search=\"live\"",
        ],
    );
    assert_raw_shapes(&report);
}

/// codex-agent-sdk 0.0.2 launches `<bin> app-server <args>`.
#[tokio::test]
async fn codex_agent_sdk_over_stdio() {
    let report = drive("codex_agent_sdk_driver").await;
    assert_scenario(&report, &["app-server", "--demo"]);
    assert_raw_shapes(&report);
}
