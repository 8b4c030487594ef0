//! The network transport (PROTOCOL.md §7) in process on port 0: WebSocket clients sharing one
//! server, subscriptions, one refresh for many clients, the per-connection and per-POST
//! handshake, Origin and bearer checks, health endpoints, the loopback rule, and the real binary
//! shutting down on SIGTERM.

use std::net::SocketAddr;
use std::time::Duration;

use app_server::ServerState;
use app_server::cli::Cli;
use app_server::network::{self, NetworkError, NetworkOptions};
use auth_core::fake_issuer::{Endpoint, FakeIssuer, ScriptedResponse};
use clap::Parser;
use futures::{SinkExt, StreamExt};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::support::creds::{fresh_access_token, seed_fresh};
use crate::support::{TIMEOUT, client, error_of, issuer_options, state_for, test_state};

/// A server started in process on a free loopback port; stops when dropped.
struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    async fn start(state: ServerState, options: NetworkOptions) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let (addr, task) = network::serve("ws://127.0.0.1:0", options, state, shutdown)
            .await
            .expect("serve");
        assert_ne!(addr.port(), 0, "port 0 picks a free port");
        Self {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Stops the server and waits until it has shut down.
    async fn shutdown(mut self) {
        let _ = self.stop.take().expect("running").send(());
        let task = self.task.take().expect("running");
        tokio::time::timeout(TIMEOUT, task)
            .await
            .expect("shutdown in time")
            .expect("server task");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A WebSocket JSON-RPC 2.0 client that keeps subscription pushes aside while it waits for
/// answers.
struct Ws {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: i64,
    pushes: Vec<Value>,
}

impl Ws {
    async fn connect(server: &Server) -> Self {
        Self::connect_with(server, &[]).await.expect("connect")
    }

    async fn connect_with(
        server: &Server,
        headers: &[(&'static str, &str)],
    ) -> Result<Self, tungstenite::Error> {
        let mut request = server.url().into_client_request()?;
        for (name, value) in headers {
            request
                .headers_mut()
                .insert(*name, value.parse().expect("header value"));
        }
        let (stream, _) = tokio::time::timeout(TIMEOUT, tokio_tungstenite::connect_async(request))
            .await
            .expect("handshake in time")?;
        Ok(Self {
            stream,
            next_id: 1,
            pushes: Vec::new(),
        })
    }

    async fn send(&mut self, message: Value) {
        self.stream
            .send(Message::text(message.to_string()))
            .await
            .expect("send");
    }

    /// Sends a request and returns its id.
    async fn send_request(&mut self, method: &str, params: Value) -> Value {
        let id = json!(self.next_id);
        self.next_id += 1;
        let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.send(request).await;
        id
    }

    async fn read(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(TIMEOUT, self.stream.next())
                .await
                .expect("timed out waiting for the server")
                .expect("connection open")
                .expect("read");
            match message {
                Message::Text(text) => {
                    return serde_json::from_str(text.as_str()).expect("JSON message");
                }
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected message {other:?}"),
            }
        }
    }

    /// Reads until the answer to `id`, keeping pushes aside; returns the whole answer.
    async fn answer_to(&mut self, id: &Value) -> Value {
        loop {
            let message = self.read().await;
            assert_eq!(message["jsonrpc"], "2.0", "standard JSON-RPC: {message}");
            if message.get("method").is_some() {
                self.pushes.push(message);
            } else {
                assert_eq!(&message["id"], id, "unexpected answer {message}");
                return message;
            }
        }
    }

    async fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_request(method, params).await;
        self.answer_to(&id).await
    }

    async fn result(&mut self, method: &str, params: Value) -> Value {
        let answer = self.call(method, params).await;
        answer
            .get("result")
            .cloned()
            .unwrap_or_else(|| panic!("{method} failed: {answer}"))
    }

    async fn initialize(&mut self, name: &str) -> Value {
        self.result("initialize", client(name)).await
    }

    /// Waits until the server closes the connection.
    async fn closed(&mut self) {
        let next = tokio::time::timeout(TIMEOUT, self.stream.next())
            .await
            .expect("timed out waiting for the close");
        match next {
            None | Some(Ok(Message::Close(_))) | Some(Err(_)) => {}
            Some(Ok(message)) => panic!("unexpected message before the close: {message:?}"),
        }
    }

    /// The next subscription push (kept or read), as its `params`.
    async fn next_push(&mut self) -> Value {
        let message = if self.pushes.is_empty() {
            let message = self.read().await;
            assert!(message.get("id").is_none(), "expected a push: {message}");
            message
        } else {
            self.pushes.remove(0)
        };
        assert_eq!(message["jsonrpc"], "2.0");
        assert_eq!(message["method"], "account/subscription", "{message}");
        message["params"].clone()
    }
}

/// One raw HTTP/1.1 exchange (`Connection: close`); returns the status and the body.
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        request.push_str("Content-Type: application/json\r\n");
    }
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    request.push_str(body);
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

async fn post(addr: SocketAddr, headers: &[&str], body: Value) -> (u16, Value) {
    let (status, body) = http(addr, "POST", "/", headers, &body.to_string()).await;
    let body = serde_json::from_str(&body).unwrap_or(Value::String(body));
    (status, body)
}

fn http_status(result: Result<Ws, tungstenite::Error>) -> u16 {
    match result {
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("expected an HTTP refusal, the connection was accepted"),
    }
}

fn updated_push(push: &Value, subscription: &Value) -> Value {
    assert_eq!(&push["subscription"], subscription, "{push}");
    push["result"].clone()
}

#[tokio::test]
async fn two_ws_clients_both_see_account_updated_after_one_signs_in() {
    let (state, _home) = test_state();
    let server = Server::start(state, NetworkOptions::default()).await;
    let mut alice = Ws::connect(&server).await;
    let mut bob = Ws::connect(&server).await;
    alice.initialize("alice").await;
    bob.initialize("bob").await;
    let alice_sub = alice.result("account/subscribe", json!(null)).await;
    let bob_sub = bob.result("account/subscribe", json!({})).await;
    assert!(alice_sub.is_string(), "subscription id: {alice_sub}");
    assert_ne!(alice_sub, bob_sub);

    let login = json!({"type": "apiKey", "apiKey": "sk-network"});
    let started = alice.call("account/login/start", login).await;
    assert_eq!(started["result"], json!({"type": "apiKey"}));
    assert!(
        alice.pushes.is_empty(),
        "the response comes before its notifications"
    );

    let completed = json!({"method": "account/login/completed",
        "params": {"loginId": null, "success": true, "error": null, "onboardingEntrypoint": null}});
    let updated = json!({"method": "account/updated",
        "params": {"authMode": "apikey", "planType": null, "reason": null, "reason": null}});
    for (client, subscription) in [(&mut alice, &alice_sub), (&mut bob, &bob_sub)] {
        let first = client.next_push().await;
        assert_eq!(updated_push(&first, subscription), completed);
        let second = client.next_push().await;
        assert_eq!(updated_push(&second, subscription), updated);
    }
    // Both see the one shared manager.
    let status = bob
        .result("getAuthStatus", json!({"includeToken": true}))
        .await;
    assert_eq!(status["authMethod"], "apikey");
    assert_eq!(status["authToken"], "sk-network");

    // Unsubscribing ends the subscription once.
    let ended = bob.result("account/unsubscribe", json!([bob_sub])).await;
    assert_eq!(ended, json!(true));
    let again = bob.result("account/unsubscribe", json!([bob_sub])).await;
    assert_eq!(again, json!(false));
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
    let server = Server::start(state, NetworkOptions::default()).await;
    let mut clients = Vec::new();
    for name in ["first", "second"] {
        let mut ws = Ws::connect(&server).await;
        ws.initialize(name).await;
        clients.push(ws);
    }
    let polls = clients.iter_mut().map(|ws| async move {
        let params = json!({"refreshToken": true, "includeToken": true});
        let mut ids = Vec::new();
        for _ in 0..25 {
            ids.push(ws.send_request("getAuthStatus", params.clone()).await);
        }
        let mut tokens = Vec::new();
        for id in &ids {
            let answer = ws.answer_to(id).await;
            tokens.push(answer["result"]["authToken"].clone());
        }
        tokens
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
    let server = Server::start(state, NetworkOptions::default()).await;
    let mut first = Ws::connect(&server).await;
    let early = first.call("getAuthStatus", json!({})).await;
    assert_eq!(error_of(&early), (-32600, "Not initialized".to_string()));
    let subscribe = first.call("account/subscribe", json!(null)).await;
    assert_eq!(
        error_of(&subscribe),
        (-32600, "Not initialized".to_string())
    );
    let unknown = first.call("no/such/method", json!({})).await;
    assert_eq!(error_of(&unknown).0, -32601);
    let bad = first.call("initialize", json!({})).await;
    assert_eq!(
        error_of(&bad).0,
        -32602,
        "bad params before the gate: {bad}"
    );

    first.initialize("first").await;
    // `initialized` may be a notification (never answered) or a request (ignored).
    first
        .send(json!({"jsonrpc": "2.0", "method": "initialized"}))
        .await;
    assert_eq!(first.result("initialized", json!(null)).await, json!(null));
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
    let agent = first.result("getUserAgent", json!(null)).await;
    assert!(agent["userAgent"].as_str().unwrap().starts_with("first/"));

    // The gate is per connection.
    let mut second = Ws::connect(&server).await;
    let early = second.call("account/read", json!({})).await;
    assert_eq!(error_of(&early), (-32600, "Not initialized".to_string()));

    // HTTP POST is connection-less: each POST carries its own handshake in a batch.
    let (code, alone) = post(
        server.addr,
        &[],
        json!({"jsonrpc": "2.0", "id": 1, "method": "getAuthStatus", "params": {}}),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(error_of(&alone), (-32600, "Not initialized".to_string()));
    let batch = json!([
        {"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": client("curl")},
        {"jsonrpc": "2.0", "id": "status", "method": "getAuthStatus", "params": {}},
        {"jsonrpc": "2.0", "id": "agent", "method": "getUserAgent"},
    ]);
    let (code, answers) = post(server.addr, &[], batch).await;
    assert_eq!(code, 200);
    let answers = answers.as_array().expect("batch answer");
    assert_eq!(answers.len(), 3, "{answers:?}");
    for answer in answers {
        assert!(answer.get("result").is_some(), "{answer}");
        assert_eq!(answer["jsonrpc"], "2.0");
    }
    let agent = answers.iter().find(|a| a["id"] == "agent").unwrap();
    assert!(
        agent["result"]["userAgent"]
            .as_str()
            .unwrap()
            .starts_with("curl/")
    );
    let (_, later) = post(
        server.addr,
        &[],
        json!({"jsonrpc": "2.0", "id": 2, "method": "userInfo"}),
    )
    .await;
    assert_eq!(error_of(&later), (-32600, "Not initialized".to_string()));
    server.shutdown().await;
}

#[tokio::test]
async fn an_origin_header_is_refused_with_403() {
    let (state, _home) = test_state();
    let server = Server::start(state, NetworkOptions::default()).await;
    let refused = Ws::connect_with(&server, &[("origin", "https://evil.example")]).await;
    assert_eq!(http_status(refused), 403);
    let (code, _) = post(
        server.addr,
        &["Origin: http://localhost"],
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": client("page")}),
    )
    .await;
    assert_eq!(code, 403);
    let (code, _) = http(server.addr, "GET", "/healthz", &["Origin: null"], "").await;
    assert_eq!(code, 403);
    // Without the header the same requests are served.
    let mut ws = Ws::connect(&server).await;
    ws.initialize("native").await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_missing_or_wrong_bearer_is_refused_with_401_when_a_token_file_is_set() {
    let (state, home) = test_state();
    let token_file = home.path().join("token");
    std::fs::write(&token_file, "  s3cret-token\n").unwrap();
    let cli = Cli::try_parse_from([
        "app-server",
        "--listen",
        "ws://127.0.0.1:0",
        "--auth-token-file",
        token_file.to_str().unwrap(),
    ])
    .unwrap();
    let options = NetworkOptions::from_cli(&cli).unwrap();
    assert_eq!(
        options.auth_token.as_deref(),
        Some("s3cret-token"),
        "trimmed"
    );
    let server = Server::start(state, options).await;

    assert_eq!(http_status(Ws::connect_with(&server, &[]).await), 401);
    let wrong = [("authorization", "Bearer s3cret-toke")];
    assert_eq!(http_status(Ws::connect_with(&server, &wrong).await), 401);
    let basic = [("authorization", "Basic s3cret-token")];
    assert_eq!(http_status(Ws::connect_with(&server, &basic).await), 401);
    let right = [("authorization", "Bearer s3cret-token")];
    let mut ws = Ws::connect_with(&server, &right).await.expect("accepted");
    ws.initialize("holder").await;

    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "getAuthStatus"});
    let (code, _) = post(server.addr, &[], call.clone()).await;
    assert_eq!(code, 401);
    let (code, _) = post(server.addr, &["Authorization: Bearer nope"], call.clone()).await;
    assert_eq!(code, 401);
    let (code, answer) = post(server.addr, &["Authorization: Bearer s3cret-token"], call).await;
    assert_eq!(code, 200);
    assert_eq!(error_of(&answer), (-32600, "Not initialized".to_string()));
    // Health checks need no token.
    let (code, body) = http(server.addr, "GET", "/readyz", &[], "").await;
    assert_eq!((code, body.as_str()), (200, ""));
    server.shutdown().await;
}

#[tokio::test]
async fn health_endpoints_answer_200_with_an_empty_body() {
    let (state, _home) = test_state();
    let server = Server::start(state, NetworkOptions::default()).await;
    for path in ["/healthz", "/readyz"] {
        let (code, body) = http(server.addr, "GET", path, &[], "").await;
        assert_eq!((code, body.as_str()), (200, ""), "{path}");
    }
    let (code, _) = http(server.addr, "GET", "/", &[], "").await;
    assert_ne!(code, 200, "only the health paths answer GET");
    server.shutdown().await;
}

#[tokio::test]
async fn a_non_loopback_bind_without_allow_remote_is_a_startup_error() {
    let (state, _home) = test_state();
    let refused = network::serve(
        "ws://0.0.0.0:0",
        NetworkOptions::default(),
        state.clone(),
        std::future::pending(),
    )
    .await;
    match refused {
        Err(NetworkError::NotLoopback(addr)) => assert_eq!(addr.port(), 0),
        Err(other) => panic!("expected NotLoopback, got {other}"),
        Ok(_) => panic!("a non-loopback bind was accepted"),
    }
    let bad = network::serve(
        "tcp://127.0.0.1:0",
        NetworkOptions::default(),
        state,
        async {},
    )
    .await;
    assert!(matches!(bad, Err(NetworkError::Listen(_))));
}

#[cfg(unix)]
#[tokio::test]
async fn the_real_binary_serves_ws_and_exits_zero_on_sigterm() {
    use std::process::Stdio;

    let home = tempfile::tempdir().unwrap();
    // Refused before anything starts.
    let refused = tokio::process::Command::new(env!("CARGO_BIN_EXE_app-server-smoke"))
        .args(["--listen", "ws://0.0.0.0:0"])
        .env("CODEX_HOME", home.path())
        .output()
        .await
        .unwrap();
    assert_ne!(refused.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("--allow-remote"), "{stderr}");

    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_app-server-smoke"))
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
    let addr: SocketAddr = loop {
        let line = tokio::time::timeout(TIMEOUT, stderr.next_line())
            .await
            .expect("listening line in time")
            .unwrap()
            .expect("stderr open");
        if let Some(addr) = line.strip_prefix("listening on ws://") {
            break addr.parse().unwrap();
        }
    };
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");
    // Keep draining the logs so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = stderr.next_line().await {} });
    let server = Server {
        addr,
        stop: None,
        task: None,
    };
    let mut ws = Ws::connect(&server).await;
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

/// The callback port of a browser login's `authUrl` (`redirect_uri=http://localhost:PORT/…`).
fn callback_port(auth_url: &str) -> u16 {
    let (_, rest) = auth_url
        .split_once("localhost%3A")
        .unwrap_or_else(|| panic!("no callback port in {auth_url}"));
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap()
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
    let server = Server::start(state, NetworkOptions::default()).await;
    let mut browser = Ws::connect(&server).await;
    browser.initialize("browser").await;
    let login = browser
        .result("account/login/start", json!({"type": "chatgpt"}))
        .await;
    let port = callback_port(login["authUrl"].as_str().unwrap());
    TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("the login's callback server listens");

    let mut poller = Ws::connect(&server).await;
    poller.initialize("poller").await;
    let id = poller
        .send_request(
            "getAuthStatus",
            json!({"refreshToken": true, "includeToken": true}),
        )
        .await;
    // Let the refresh start, then stop the server while it is in flight.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let addr = server.addr;
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
