//! The WebSocket listener (PROTOCOL.md §7) in process on port 0: the stdio dialect in text
//! frames, plain notifications to every initialized connection, server requests, one refresh
//! for many clients, the per-connection handshake, Origin and `--ws-auth` refusals with Codex's
//! texts, health endpoints, the loopback rule, and the real binary's warning and SIGTERM exit.

use std::net::SocketAddr;
use std::time::Duration;

use app_server::cli::Cli;
use app_server::network::{Listen, NetworkError, NetworkOptions};
use auth_core::fake_issuer::{Endpoint, FakeIssuer, ScriptedResponse};
use clap::Parser;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite;

use crate::support::creds::{fresh_access_token, seed_fresh};
use crate::support::wire::{Client, Listener, server_request_round_trip};
use crate::support::{TIMEOUT, client, error_of, issuer_options, state_for, test_state};

/// One raw HTTP/1.1 exchange (`Connection: close`); returns the status and the body.
async fn http(addr: SocketAddr, method: &str, path: &str, headers: &[&str]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n"
    );
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    tokio::time::timeout(TIMEOUT, stream.read_to_string(&mut response))
        .await
        .expect("response in time")
        .expect("read");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {response}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    (status, body)
}

/// The status and body of a refused upgrade with these extra headers.
async fn refused_upgrade(addr: SocketAddr, headers: &[&str]) -> (u16, String) {
    let mut all = vec![
        "Connection: Upgrade",
        "Upgrade: websocket",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    ];
    all.extend_from_slice(headers);
    http(addr, "GET", "/", &all).await
}

fn http_status(result: Result<Client, tungstenite::Error>) -> u16 {
    match result {
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("expected an HTTP refusal, the connection was accepted"),
    }
}

#[tokio::test]
async fn two_ws_clients_both_receive_plain_notifications_after_one_signs_in() {
    let (state, _home) = test_state();
    let server = Listener::ws(state, NetworkOptions::default()).await;
    let mut alice = Client::ws(&server.url()).await;
    let mut bob = Client::ws(&server.url()).await;
    // A `"jsonrpc"` member is tolerated; bare messages are the dialect.
    alice
        .send(json!({"jsonrpc": "2.0", "id": "a0", "method": "initialize", "params": client("alice")}))
        .await;
    let answer = alice.answer_to(&json!("a0")).await;
    assert!(
        answer["result"]["userAgent"]
            .as_str()
            .unwrap()
            .starts_with("alice/")
    );
    alice
        .send(json!({"jsonrpc": "2.0", "method": "initialized"}))
        .await;
    bob.initialize("bob").await;
    bob.send(json!({"method": "initialized"})).await;

    let login = json!({"type": "apiKey", "apiKey": "sk-network"});
    let started = alice.call("account/login/start", login).await;
    assert_eq!(started["result"], json!({"type": "apiKey"}));
    assert!(
        alice.kept.is_empty(),
        "the response comes before its notifications"
    );

    for client in [&mut alice, &mut bob] {
        let completed = client.next_message().await;
        assert_eq!(
            completed["method"], "account/login/completed",
            "{completed}"
        );
        assert_eq!(completed["params"]["success"], json!(true));
        assert!(
            completed.get("id").is_none(),
            "a plain notification: {completed}"
        );
        let updated = client.next_message().await;
        assert_eq!(updated["method"], "account/updated", "{updated}");
        assert_eq!(updated["params"]["authMode"], "apikey");
    }
    // Both see the one shared manager.
    let status = bob
        .result("getAuthStatus", json!({"includeToken": true}))
        .await;
    assert_eq!(status["authMethod"], "apikey");
    assert_eq!(status["authToken"], "sk-network");
    // The retired subscription methods are unknown now.
    let subscribe = bob.call("account/subscribe", json!(null)).await;
    assert_eq!(error_of(&subscribe).0, -32601, "{subscribe}");
    server.shutdown().await;
}

#[tokio::test]
async fn opted_out_notifications_are_not_sent_over_websocket() {
    let (state, _home) = test_state();
    let server = Listener::ws(state, NetworkOptions::default()).await;
    let mut quiet = Client::ws(&server.url()).await;
    let mut params = client("quiet");
    params["capabilities"] = json!({"optOutNotificationMethods": ["account/updated"]});
    quiet.result("initialize", params).await;
    let mut other = Client::ws(&server.url()).await;
    other.initialize("other").await;
    other
        .result(
            "account/login/start",
            json!({"type": "apiKey", "apiKey": "sk-1"}),
        )
        .await;
    let completed = quiet.next_message().await;
    assert_eq!(completed["method"], "account/login/completed");
    // Whatever comes next before this answer would be the opted-out notification.
    let id = quiet.send_request("getAuthStatus", json!({})).await;
    let answer = quiet.read().await;
    assert_eq!(
        answer["id"], id,
        "no account/updated for the opted-out client: {answer}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn fifty_concurrent_refresh_polls_over_two_clients_make_one_token_request() {
    let issuer = FakeIssuer::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    seed_fresh(home.path(), &issuer);
    let state = state_for(home.path(), issuer_options(home.path(), &issuer));
    let new = fresh_access_token("network-rotated");
    issuer.script_refresh(vec![
        ScriptedResponse::new(200, json!({"access_token": new, "refresh_token": "rt2"}))
            .with_delay(Duration::from_millis(300)),
    ]);
    let server = Listener::ws(state, NetworkOptions::default()).await;
    let mut clients = Vec::new();
    for name in ["first", "second"] {
        let mut ws = Client::ws(&server.url()).await;
        ws.initialize(name).await;
        clients.push(ws);
    }
    let polls = clients.iter_mut().map(|ws| async move {
        let params = json!({"refreshToken": true, "includeToken": true});
        let mut ids = Vec::new();
        for _ in 0..25 {
            ids.push(ws.send_request("getAuthStatus", params.clone()).await);
        }
        let mut answers = Vec::new();
        while answers.len() < ids.len() {
            let answer = ws.read().await;
            assert!(ids.contains(&answer["id"]), "{answer}");
            answers.push(answer["result"]["authToken"].clone());
        }
        answers
    });
    let tokens: Vec<Value> = futures::future::join_all(polls)
        .await
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(tokens.len(), 50);
    assert!(
        tokens.iter().all(|token| *token == json!(new)),
        "every poll gets the one new token: {tokens:?}"
    );
    assert_eq!(issuer.count(Endpoint::Refresh), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn requests_before_initialize_are_refused_per_connection() {
    let (state, _home) = test_state();
    let server = Listener::ws(state, NetworkOptions::default()).await;
    let mut first = Client::ws(&server.url()).await;
    let early = first.call("getAuthStatus", json!({})).await;
    assert_eq!(error_of(&early), (-32600, "Not initialized".to_string()));
    let unknown = first.call("no/such/method", json!({})).await;
    assert_eq!(error_of(&unknown).0, -32601);
    let bad = first.call("initialize", json!({})).await;
    assert_eq!(
        error_of(&bad).0,
        -32602,
        "bad params before the gate: {bad}"
    );

    first.initialize("first").await;
    let status = first.result("getAuthStatus", json!({})).await;
    assert_eq!(
        status,
        json!({"authMethod": null, "authToken": null, "requiresOpenaiAuth": true})
    );
    let again = first.call("initialize", client("first")).await;
    assert_eq!(
        error_of(&again),
        (-32600, "Already initialized".to_string())
    );

    // The gate is per connection.
    let mut second = Client::ws(&server.url()).await;
    let early = second.call("account/read", json!({})).await;
    assert_eq!(error_of(&early), (-32600, "Not initialized".to_string()));
    server.shutdown().await;
}

#[tokio::test]
async fn bad_frames_get_the_stdio_errors_and_the_connection_keeps_serving() {
    let (state, _home) = test_state();
    let server = Listener::ws(state, NetworkOptions::default()).await;
    let mut ws = Client::ws(&server.url()).await;
    ws.send_text("not json").await;
    let parse = ws.read().await;
    assert_eq!(parse["id"], Value::Null);
    assert_eq!(error_of(&parse).0, -32700);
    ws.send_text("[1,2]").await;
    assert_eq!(error_of(&ws.read().await).0, -32600);
    ws.send_text(&" ".repeat(1_048_577)).await;
    let long = ws.read().await;
    assert_eq!(
        error_of(&long),
        (
            -32600,
            "Invalid request: message exceeds 1048576 bytes".to_string()
        )
    );
    // A request sent as a notification (float id) is not executed, nor answered.
    ws.send(json!({"id": 1.5, "method": "initialize", "params": client("x")}))
        .await;
    let agent = ws.initialize("after").await;
    assert!(agent["userAgent"].as_str().unwrap().starts_with("after/"));
    server.shutdown().await;
}

#[tokio::test]
async fn server_requests_work_over_websocket() {
    let (state, _home) = test_state();
    let server = Listener::ws(state, NetworkOptions::default()).await;
    let mut ws = Client::ws(&server.url()).await;
    server_request_round_trip(&mut ws).await;
    server.shutdown().await;
}

#[tokio::test]
async fn an_origin_header_is_refused_with_403_and_any_path_upgrades() {
    let (state, _home) = test_state();
    let server = Listener::ws(state, NetworkOptions::default()).await;
    let refused = Client::ws_with(&server.url(), &[("origin", "https://evil.example")]).await;
    assert_eq!(http_status(refused), 403);
    let (code, _) = http(server.addr(), "GET", "/healthz", &["Origin: null"]).await;
    assert_eq!(code, 403);
    let mut ws = Client::ws(&format!("{}/any/path?x=1", server.url())).await;
    ws.initialize("native").await;
    server.shutdown().await;
}

fn options(args: &[&str]) -> NetworkOptions {
    let mut argv = vec!["app-server", "--listen", "ws://127.0.0.1:0"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(argv).unwrap();
    NetworkOptions::from_args(&cli.transport).unwrap()
}

#[tokio::test]
async fn ws_auth_capability_token_refuses_with_codex_texts() {
    let (state, home) = test_state();
    let token_file = home.path().join("token");
    std::fs::write(&token_file, "  s3cret-token\n").unwrap();
    let path = token_file.to_str().unwrap();
    let server = Listener::ws(
        state.clone(),
        options(&["--ws-auth", "capability-token", "--ws-token-file", path]),
    )
    .await;
    let addr = server.addr();
    assert_eq!(
        refused_upgrade(addr, &[]).await,
        (401, "missing websocket bearer token".to_string())
    );
    assert_eq!(
        refused_upgrade(addr, &["Authorization: Bearer s3cret-toke"]).await,
        (401, "invalid websocket bearer token".to_string())
    );
    assert_eq!(
        refused_upgrade(addr, &["Authorization: Basic s3cret-token"]).await,
        (401, "invalid authorization header".to_string())
    );
    let right = [("authorization", "Bearer s3cret-token")];
    let mut ws = Client::ws_with(&server.url(), &right)
        .await
        .expect("accepted");
    ws.initialize("holder").await;
    // Health checks need no token.
    assert_eq!(
        http(addr, "GET", "/readyz", &[]).await,
        (200, String::new())
    );
    server.shutdown().await;

    // Ours: --auth-token-file is the same check.
    let server = Listener::ws(state, options(&["--auth-token-file", path])).await;
    let refused = Client::ws_with(&server.url(), &[("authorization", "Bearer nope")]).await;
    assert_eq!(http_status(refused), 401);
    let mut ws = Client::ws_with(&server.url(), &right)
        .await
        .expect("accepted");
    ws.initialize("holder").await;
    server.shutdown().await;
}

/// An HS256 JWT over `claims` signed with `secret`.
fn signed(claims: Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn ws_auth_signed_bearer_token_checks_signature_issuer_and_expiry() {
    let (state, home) = test_state();
    let secret = "a-shared-secret-of-at-least-32-bytes";
    let secret_file = home.path().join("secret");
    std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
    let server = Listener::ws(
        state,
        options(&[
            "--ws-auth",
            "signed-bearer-token",
            "--ws-shared-secret-file",
            secret_file.to_str().unwrap(),
            "--ws-issuer",
            "editor",
        ]),
    )
    .await;
    let now = chrono::Utc::now().timestamp();
    let bearer = |token: String| format!("Authorization: Bearer {token}");
    let cases = [
        (
            json!({"exp": now + 60, "iss": "other"}),
            secret,
            "websocket jwt issuer mismatch",
        ),
        (
            json!({"exp": now - 120, "iss": "editor"}),
            secret,
            "expired websocket jwt",
        ),
        (
            json!({"exp": now + 60, "iss": "editor"}),
            "not-the-secret-but-just-as-long-as-it",
            "invalid websocket jwt",
        ),
    ];
    for (claims, key, text) in cases {
        let header = bearer(signed(claims, key));
        assert_eq!(
            refused_upgrade(server.addr(), &[&header]).await,
            (401, text.to_string())
        );
    }
    let token = signed(json!({"exp": now + 60, "iss": "editor"}), secret);
    let value = format!("Bearer {token}");
    let mut ws = Client::ws_with(&server.url(), &[("authorization", &value)])
        .await
        .expect("a valid JWT is accepted");
    ws.initialize("signed").await;
    server.shutdown().await;
}

#[tokio::test]
async fn health_endpoints_answer_200_and_other_requests_are_not_served() {
    let (state, _home) = test_state();
    let server = Listener::ws(state, NetworkOptions::default()).await;
    for path in ["/healthz", "/readyz"] {
        let answer = http(server.addr(), "GET", path, &[]).await;
        assert_eq!(answer, (200, String::new()), "{path}");
    }
    let (code, _) = http(server.addr(), "GET", "/", &[]).await;
    assert_eq!(code, 400, "a plain GET is not an upgrade");
    let (code, _) = http(server.addr(), "POST", "/", &[]).await;
    assert_eq!(code, 405, "no HTTP POST endpoint");
    server.shutdown().await;
}

#[tokio::test]
async fn a_non_loopback_bind_without_ws_auth_is_a_startup_error() {
    let (state, _home) = test_state();
    let listen = Listen::parse("ws://0.0.0.0:0").unwrap();
    let refused = app_server::network::serve(
        &listen,
        NetworkOptions::default(),
        state,
        std::future::pending(),
    )
    .await;
    match refused {
        Err(err @ NetworkError::NotLoopback(_)) => {
            let text = err.to_string();
            assert!(text.contains("--ws-auth capability-token"), "{text}");
        }
        Err(other) => panic!("expected NotLoopback, got {other}"),
        Ok(_) => panic!("a non-loopback bind was accepted"),
    }
}

#[cfg(unix)]
#[tokio::test]
async fn the_real_binary_warns_once_serves_ws_and_exits_zero_on_sigterm() {
    use std::process::Stdio;

    let home = tempfile::tempdir().unwrap();
    for (args, expected) in [
        (vec!["--listen", "ws://0.0.0.0:0"], "--ws-auth"),
        (vec!["--listen", "off"], "--listen off"),
        (vec!["--listen", "tcp://x"], "unsupported --listen URL"),
    ] {
        let refused = crate::support::launcher::app_server()
            .args(&args)
            .env("CODEX_HOME", home.path())
            .output()
            .await
            .unwrap();
        assert_ne!(refused.status.code(), Some(0), "{args:?}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }

    let mut child = crate::support::launcher::app_server()
        .args(["--listen", "ws://127.0.0.1:0"])
        .env("CODEX_HOME", home.path())
        .env("HOME", home.path())
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut warnings = 0;
    let addr: SocketAddr = loop {
        let line = tokio::time::timeout(TIMEOUT, stderr.next_line())
            .await
            .expect("listening line in time")
            .unwrap()
            .expect("stderr open");
        if line.starts_with("warning: the WebSocket listener") {
            assert!(
                line.contains("unix://"),
                "recommends the unix socket: {line}"
            );
            warnings += 1;
        }
        if let Some(addr) = line.strip_prefix("listening on ws://") {
            break addr.parse().unwrap();
        }
    };
    assert_eq!(warnings, 1, "one warning for a listener without --ws-auth");
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");
    let rest = tokio::spawn(async move {
        let mut later = Vec::new();
        while let Ok(Some(line)) = stderr.next_line().await {
            later.push(line);
        }
        later
    });
    let mut ws = Client::ws(&format!("ws://{addr}")).await;
    ws.initialize("binary").await;
    let status = ws.result("getAuthStatus", json!({})).await;
    assert_eq!(status["authMethod"], Value::Null);

    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(TIMEOUT, child.wait())
        .await
        .expect("exit in time")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let later = rest.await.unwrap();
    assert!(
        !later
            .iter()
            .any(|l| l.starts_with("warning: the WebSocket listener")),
        "warned once only: {later:?}"
    );
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .await
        .unwrap();
    assert_eq!(stdout, "", "the network transport writes nothing to stdout");
}

/// The callback port of a browser login's `authUrl` (`redirect_uri=http://HOST:PORT/…`).
fn callback_port(auth_url: &str) -> u16 {
    let url = url::Url::parse(auth_url).unwrap();
    let redirect = url
        .query_pairs()
        .find(|(key, _)| key == "redirect_uri")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_else(|| panic!("no redirect_uri in {auth_url}"));
    url::Url::parse(&redirect).unwrap().port().unwrap()
}

#[tokio::test]
async fn shutdown_answers_in_flight_requests_and_cancels_the_active_login() {
    let issuer = FakeIssuer::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    seed_fresh(home.path(), &issuer);
    let state = state_for(home.path(), issuer_options(home.path(), &issuer));
    let new = fresh_access_token("during-shutdown");
    issuer.script_refresh(vec![
        ScriptedResponse::new(200, json!({"access_token": new, "refresh_token": "rt2"}))
            .with_delay(Duration::from_millis(800)),
    ]);
    let server = Listener::ws(state, NetworkOptions::default()).await;
    let mut browser = Client::ws(&server.url()).await;
    browser.initialize("browser").await;
    let login = browser
        .result("account/login/start", json!({"type": "chatgpt"}))
        .await;
    let port = callback_port(login["authUrl"].as_str().unwrap());
    TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("the login's callback server listens");

    let mut poller = Client::ws(&server.url()).await;
    poller.initialize("poller").await;
    let id = poller
        .send_request(
            "getAuthStatus",
            json!({"refreshToken": true, "includeToken": true}),
        )
        .await;
    // Let the refresh start, then stop the server while it is in flight.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let addr = server.addr();
    let stopping = tokio::spawn(server.shutdown());
    let answer = poller.answer_to(&id).await;
    assert_eq!(answer["result"]["authToken"], json!(new), "{answer}");
    poller.closed().await;
    browser.closed().await;
    tokio::time::timeout(TIMEOUT, stopping)
        .await
        .expect("shutdown in time")
        .unwrap();
    assert!(
        TcpStream::connect(("127.0.0.1", port)).await.is_err(),
        "the active login was cancelled: its callback port is closed"
    );
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no new connections after shutdown"
    );
    assert_eq!(issuer.count(Endpoint::Refresh), 1);
}
