//! `Session`: one in-process server connection over `tokio::io::duplex`, with a tempdir home.
//! Generic helpers only: `send`/`request`/`notify` take a method name and params as JSON.

pub mod codex_schema;
pub mod creds;
pub mod launcher;
pub mod login;
pub mod real_server;
pub mod wire;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use app_server::{ServeError, ServerConfig, ServerState};
use auth_core::fake_issuer::FakeIssuer;
use auth_core::http::{HttpError, HttpRequest, HttpResponse, SharedHttpClient, TransportError};
use auth_core::{AuthManager, ManagerOptions};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{
    AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, ReadHalf, WriteHalf, duplex,
};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

/// How long any single read may take before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// The client end of a running server.
pub struct Session {
    writer: Arc<Mutex<WriteHalf<DuplexStream>>>,
    reader: BufReader<ReadHalf<DuplexStream>>,
    server: Option<JoinHandle<Result<(), ServeError>>>,
    next_id: i64,
    /// The method of each request sent through this session, by id (as JSON text), to check
    /// its answer against the schema of that method's result.
    methods: parking_lot::Mutex<HashMap<String, String>>,
    /// Set once a test writes through [`Session::writer`]: the ids are no longer known, so
    /// answers are checked against the response envelope only.
    untracked: std::sync::atomic::AtomicBool,
    /// The state the server runs with (shared with other sessions started from it).
    pub state: ServerState,
    /// The Codex home (a tempdir), kept alive for the session.
    pub home: Arc<TempDir>,
}

/// A fresh tempdir home and the neutral test configuration for it: every issuer call is refused
/// without a socket, so nothing can reach the network.
pub fn test_state() -> (ServerState, Arc<TempDir>) {
    let home = Arc::new(tempfile::tempdir().expect("tempdir"));
    let state = state_for(home.path(), hermetic_options(home.path()));
    (state, home)
}

/// Manager options for `home` that never reach an issuer: every issuer call (refresh, revoke,
/// a login's exchanges) goes to a closure on the HTTP seam that refuses it as a closed port would
/// (`connection refused`, the URL's host named), no socket opened; the URLs still name the
/// discard port so texts read as before.
pub fn hermetic_options(home: &std::path::Path) -> ManagerOptions {
    let mut opts = ManagerOptions::new(home.to_path_buf());
    opts.http = Some(SharedHttpClient::new(|request: HttpRequest| {
        let host = url::Url::parse(&request.url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned));
        std::future::ready(Err::<HttpResponse, _>(HttpError::Transport(
            TransportError::network("connection refused", host.as_deref()),
        )))
    }));
    opts.refresh_url = Some("http://127.0.0.1:9/oauth/token".to_string());
    opts.revoke_url = Some("http://127.0.0.1:9/oauth/revoke".to_string());
    opts.issuer = "http://127.0.0.1:9".to_string();
    opts.callback_port = 0;
    opts.lock_wait = Duration::from_secs(5);
    opts
}

/// Manager options for `home` against `issuer`.
pub fn issuer_options(home: &std::path::Path, issuer: &FakeIssuer) -> ManagerOptions {
    let mut opts = hermetic_options(home);
    opts.http = None;
    opts.refresh_url = Some(issuer.token_url());
    opts.revoke_url = Some(issuer.revoke_url());
    opts.issuer = issuer.url();
    opts
}

/// Server state for `home` with a manager built from `opts`.
pub fn state_for(home: &std::path::Path, opts: ManagerOptions) -> ServerState {
    let auth = AuthManager::new(opts).expect("manager");
    ServerState::new(ServerConfig::new(home.to_path_buf()), auth)
}

/// `initialize` params for a client called `name`.
pub fn client(name: &str) -> Value {
    json!({"clientInfo": {"name": name, "title": "Test Client", "version": "0.1.0"}})
}

impl Session {
    /// A new server (own state and home) with an uninitialized connection.
    pub fn start() -> Self {
        let (state, home) = test_state();
        Self::connect(state, home)
    }

    /// A new initialized server on a fresh home whose manager talks to `issuer`; `configure`
    /// may adjust the options (config, timeouts) first.
    pub async fn with_issuer(
        issuer: &FakeIssuer,
        configure: impl FnOnce(&mut ManagerOptions),
    ) -> Self {
        let home = Arc::new(tempfile::tempdir().expect("tempdir"));
        let mut opts = issuer_options(home.path(), issuer);
        configure(&mut opts);
        let mut session = Self::connect(state_for(home.path(), opts), home);
        session.initialize().await;
        session
    }

    /// A new server whose connection completed `initialize` (the answer is consumed).
    pub async fn initialized() -> Self {
        let mut session = Self::start();
        session.initialize().await;
        session
    }

    /// Another connection to a running server (`state` shared), e.g. to test per-connection rules.
    pub fn connect(state: ServerState, home: Arc<TempDir>) -> Self {
        let (client, server) = duplex(64 * 1024);
        let (server_read, server_write) = tokio::io::split(server);
        let server = tokio::spawn(app_server::run(server_read, server_write, state.clone()));
        let (client_read, client_write) = tokio::io::split(client);
        Self {
            writer: Arc::new(Mutex::new(client_write)),
            reader: BufReader::new(client_read),
            server: Some(server),
            next_id: 1,
            methods: Default::default(),
            untracked: Default::default(),
            state,
            home,
        }
    }

    /// Sends `initialize` for client `test_client` and returns its result.
    pub async fn initialize(&mut self) -> Value {
        let answer = self.request("initialize", client("test_client")).await;
        answer
            .get("result")
            .cloned()
            .unwrap_or_else(|| panic!("initialize failed: {answer}"))
    }

    /// Writes raw bytes (no newline added) and flushes.
    pub async fn send_raw(&self, bytes: &[u8]) {
        self.note_requests(bytes);
        let mut writer = self.writer.lock().await;
        writer.write_all(bytes).await.expect("write to server");
        writer.flush().await.expect("flush to server");
    }

    /// Remembers the method of every request line in `bytes` by its id (a line with an id but
    /// no method forgets the id).
    fn note_requests(&self, bytes: &[u8]) {
        let mut methods = self.methods.lock();
        for line in bytes.split(|b| *b == b'\n') {
            let Ok(Value::Object(message)) = serde_json::from_slice::<Value>(line) else {
                continue;
            };
            let Some(id) = message.get("id") else {
                continue;
            };
            match message.get("method").and_then(Value::as_str) {
                Some(method) => methods.insert(id.to_string(), method.to_owned()),
                None => methods.remove(&id.to_string()),
            };
        }
    }

    /// Writes one JSON message plus `\n`.
    pub async fn send_json(&self, message: Value) {
        let mut line = message.to_string().into_bytes();
        line.push(b'\n');
        self.send_raw(&line).await;
    }

    /// Sends a request with the next integer id and returns that id (as JSON).
    pub async fn send(&mut self, method: &str, params: Value) -> Value {
        let id = json!(self.next_id);
        self.next_id += 1;
        self.send_json(json!({"id": id, "method": method, "params": params}))
            .await;
        id
    }

    /// Sends a request and returns the whole answer (`{"id", "result"|"error"}`). Fails on any
    /// other message in between.
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send(method, params).await;
        let answer = self.read_message().await;
        assert_eq!(
            answer["id"], id,
            "expected the answer to {method}, got {answer}"
        );
        answer
    }

    /// Reads until the answer to `id`; returns it and the notifications read before it.
    pub async fn answer_to(&mut self, id: &Value) -> (Value, Vec<Value>) {
        let mut notifications = Vec::new();
        loop {
            let message = self.read_message().await;
            if message.get("id") == Some(id) && message.get("method").is_none() {
                return (message, notifications);
            }
            notifications.push(message);
        }
    }

    /// Sends a request and returns its `result`, skipping notifications; fails on an error.
    pub async fn result(&mut self, method: &str, params: Value) -> Value {
        let id = self.send(method, params).await;
        let (answer, _) = self.answer_to(&id).await;
        answer
            .get("result")
            .cloned()
            .unwrap_or_else(|| panic!("{method} failed: {answer}"))
    }

    /// Sends a notification (no id).
    pub async fn notify(&self, method: &str, params: Value) {
        self.send_json(json!({"method": method, "params": params}))
            .await;
    }

    /// The next output line, parsed; fails after [`TIMEOUT`] or at end of output. Every
    /// message must conform to Codex 0.171's schema ([`codex_schema::check`]) and a
    /// notification must carry an integer `emittedAtMs` (checked here for every test), which
    /// is then removed so that tests compare the notification itself.
    pub async fn read_message(&mut self) -> Value {
        let line = self.read_line().await.expect("server closed its output");
        let mut message: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        let tracked = !self.untracked.load(std::sync::atomic::Ordering::Relaxed);
        let request = message
            .get("id")
            .filter(|_| tracked && message.get("method").is_none())
            .and_then(|id| self.methods.lock().get(&id.to_string()).cloned());
        codex_schema::check(&message, request.as_deref());
        if let Some(object) = message.as_object_mut()
            && object.contains_key("method")
            && !object.contains_key("id")
        {
            let emitted = object.remove("emittedAtMs");
            assert!(
                emitted.as_ref().is_some_and(Value::is_u64),
                "a notification without an integer emittedAtMs: {line}"
            );
        }
        message
    }

    /// The next raw output line without `\n`, or `None` at end of output.
    pub async fn read_line(&mut self) -> Option<String> {
        let mut line = String::new();
        let read = tokio::time::timeout(TIMEOUT, self.reader.read_line(&mut line))
            .await
            .expect("timed out waiting for the server")
            .expect("read from server");
        if read == 0 {
            return None;
        }
        assert!(
            line.ends_with('\n'),
            "every message ends with a newline: {line:?}"
        );
        line.pop();
        Some(line)
    }

    /// A clone of the writing side, for tests that write while they read.
    pub fn writer(&self) -> Arc<Mutex<WriteHalf<DuplexStream>>> {
        self.untracked
            .store(true, std::sync::atomic::Ordering::Relaxed);
        Arc::clone(&self.writer)
    }

    /// Closes the input (EOF for the server).
    pub async fn close_input(&self) {
        self.writer
            .lock()
            .await
            .shutdown()
            .await
            .expect("close input");
    }

    /// Closes the input, expects no further output, and returns how `run` ended.
    pub async fn finish(mut self) -> Result<(), ServeError> {
        self.close_input().await;
        if let Some(line) = self.read_line().await {
            panic!("unexpected output after EOF: {line}");
        }
        self.wait().await
    }

    /// Drops `run`'s future (aborts the task that polls it) with the input still open.
    pub async fn drop_server(&mut self) {
        let server = self.server.take().expect("server already awaited");
        server.abort();
        let ended = tokio::time::timeout(TIMEOUT, server)
            .await
            .expect("the aborted task did not end");
        assert!(
            ended.as_ref().is_err_and(|err| err.is_cancelled()),
            "{ended:?}"
        );
    }

    /// Waits for `run` to return (after the input was closed and the output drained).
    pub async fn wait(&mut self) -> Result<(), ServeError> {
        let server = self.server.take().expect("server already awaited");
        tokio::time::timeout(TIMEOUT, server)
            .await
            .expect("server did not exit")
            .expect("server task panicked")
    }
}

/// The `error` object of an answer; fails if the answer is a result.
/// A real server process listening on a network transport, read up to its `listening on <url>`
/// line; `stderr` is the rest of its log.
pub struct Listening {
    pub child: tokio::process::Child,
    pub url: String,
    pub stderr: tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
}

/// Spawns the real binary (through the one launcher) with `--listen listen` on `home`
/// (`CODEX_HOME` and `HOME`), `RUST_LOG` = `rust_log` when given, stdin and stdout closed.
pub async fn spawn_listening(
    listen: &str,
    home: &std::path::Path,
    rust_log: Option<&str>,
) -> Listening {
    let mut command = launcher::app_server();
    command
        .args(["--listen", listen])
        .env("CODEX_HOME", home)
        .env("HOME", home)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    if let Some(level) = rust_log {
        command.env("RUST_LOG", level);
    }
    let mut child = command.spawn().expect("spawn app-server");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr piped")).lines();
    let url = listening_url(&mut stderr).await;
    Listening { child, url, stderr }
}

/// Reads a real server's stderr up to its `listening on <url>` line; returns `<url>`.
async fn listening_url(
    stderr: &mut tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
) -> String {
    loop {
        let line = tokio::time::timeout(TIMEOUT, stderr.next_line())
            .await
            .expect("listening line in time")
            .unwrap()
            .expect("stderr open");
        if let Some(url) = line.strip_prefix("listening on ") {
            return url.to_string();
        }
    }
}

pub fn error_of(answer: &Value) -> (i64, String) {
    let error = answer
        .get("error")
        .unwrap_or_else(|| panic!("expected an error: {answer}"));
    assert!(
        error.get("data").is_none(),
        "no error carries data: {answer}"
    );
    let code = error["code"].as_i64().expect("integer code");
    (
        code,
        error["message"]
            .as_str()
            .expect("string message")
            .to_string(),
    )
}
