//! WebSocket interop with a published client: `codex-app-server-sdk` (PyPI, pinned in
//! `tests/interop/requirements-ws.txt`) drives the real binary over `--listen ws://` through
//! `tests/interop/ws/account_flow.py`: connect, read the account, API-key login, the plain
//! `account/login/completed` and `account/updated` frames, logout. The virtualenv comes from
//! `tests/setup/python-clients.sh` (`APP_SERVER_PY_CLIENTS`).

use crate::support::TIMEOUT;

fn python() -> String {
    std::env::var("APP_SERVER_PY_CLIENTS").unwrap_or_else(|_| {
        panic!("APP_SERVER_PY_CLIENTS is not set: run through tests/run.sh (tests/setup/python-clients.sh makes the virtualenv)")
    })
}

#[tokio::test]
async fn codex_app_server_sdk_signs_in_and_out_over_websocket_and_sees_the_notifications() {
    let python = python();
    let home = tempfile::tempdir().unwrap();
    let crate::support::Listening {
        child: mut server,
        url,
        mut stderr,
    } = crate::support::spawn_listening("ws://127.0.0.1:0", home.path(), None).await;
    tokio::spawn(async move { while let Ok(Some(_)) = stderr.next_line().await {} });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/interop/ws/account_flow.py");
    let run = tokio::process::Command::new(&python)
        .arg(script)
        .arg(&url)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(TIMEOUT * 3, run)
        .await
        .expect("the client finishes in time")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "client failed:\n{stdout}\n{stderr}"
    );
    for step in [
        "account/read: signed out",
        "account/login/completed: success",
        "account/updated: apikey",
        "account/read: apiKey",
        "account/logout: signed out, account/updated: null",
    ] {
        assert!(
            stdout.lines().any(|l| l == step),
            "missing {step:?} in:\n{stdout}"
        );
    }
    assert_eq!(stdout.lines().last(), Some("OK"), "{stdout}");
    assert!(
        !home.path().join("auth.json").exists(),
        "logged out: no credentials left"
    );
    server.kill().await.unwrap();
}
