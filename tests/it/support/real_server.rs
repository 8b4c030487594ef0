//! A real server process (the binary through the one launcher) driven over its stdio: the
//! reliability suites and the Redis fleet start their servers here.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// `small` by default, `full` when `RELIABILITY_FULL=1`.
pub fn scale(small: usize, full: usize) -> usize {
    match std::env::var("RELIABILITY_FULL") {
        Ok(v) if v == "1" => full,
        _ => small,
    }
}

/// How long one answer of a real server may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The real binary (the smoke shim) on `home`, its environment cleared but for what is set here.
pub fn command(home: &Path, rust_log: &str) -> Command {
    let mut command = crate::support::launcher::app_server();
    command
        .env("CODEX_HOME", home)
        .env("HOME", home)
        .env("RUST_LOG", rust_log)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    command
}

/// A real server process with an initialized connection; answers are matched by id.
pub struct RealServer {
    pub child: Child,
    stdin: Option<ChildStdin>,
    lines: Lines<BufReader<ChildStdout>>,
    next_id: i64,
    early: HashMap<i64, Value>,
    /// Server notifications and requests read so far.
    pub notifications: Vec<Value>,
}

impl RealServer {
    /// Spawns `command` (stdio piped) and completes `initialize`.
    pub async fn start(mut command: Command) -> Self {
        let mut child = command.spawn().expect("spawn app-server");
        let stdin = child.stdin.take();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut server = RealServer {
            child,
            stdin,
            lines,
            next_id: 1,
            early: HashMap::new(),
            notifications: Vec::new(),
        };
        server
            .result(
                "initialize",
                json!({"clientInfo": {"name": "reliability", "version": "1.0"}}),
            )
            .await;
        server
    }

    /// Writes one request; returns its id.
    pub async fn send(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        let line = json!({"id": id, "method": method, "params": params}).to_string() + "\n";
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(line.as_bytes()).await.expect("write");
        stdin.flush().await.expect("flush");
        id
    }

    /// Writes `count` requests in one write; returns their ids.
    pub async fn send_burst(&mut self, method: &str, params: Value, count: usize) -> Vec<i64> {
        let mut bytes = Vec::new();
        let mut ids = Vec::with_capacity(count);
        for _ in 0..count {
            let id = self.next_id;
            self.next_id += 1;
            bytes.extend_from_slice(
                (json!({"id": id, "method": method, "params": params}).to_string() + "\n")
                    .as_bytes(),
            );
            ids.push(id);
        }
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(&bytes).await.expect("write");
        stdin.flush().await.expect("flush");
        ids
    }

    /// The answer to `id`; other answers are kept for later, notifications collected.
    pub async fn answer(&mut self, id: i64) -> Value {
        if let Some(answer) = self.early.remove(&id) {
            return answer;
        }
        loop {
            let line = tokio::time::timeout(TIMEOUT, self.lines.next_line())
                .await
                .expect("timed out waiting for the server")
                .expect("read")
                .expect("server closed its output");
            let message: Value = serde_json::from_str(&line).expect("JSON");
            if message.get("method").is_some() {
                self.notifications.push(message);
                continue;
            }
            match message["id"].as_i64() {
                Some(got) if got == id => return message,
                Some(got) => {
                    self.early.insert(got, message);
                }
                None => panic!("unexpected answer: {message}"),
            }
        }
    }

    /// Sends a request and returns its `result`.
    pub async fn result(&mut self, method: &str, params: Value) -> Value {
        let id = self.send(method, params).await;
        let answer = self.answer(id).await;
        answer
            .get("result")
            .cloned()
            .unwrap_or_else(|| panic!("{method} failed: {answer}"))
    }

    /// Reads until a server notification named `method` arrives; returns it.
    pub async fn notification(&mut self, method: &str) -> Value {
        loop {
            if let Some(i) = self
                .notifications
                .iter()
                .position(|n| n["method"] == method)
            {
                return self.notifications.remove(i);
            }
            let line = tokio::time::timeout(TIMEOUT, self.lines.next_line())
                .await
                .expect("timed out waiting for a notification")
                .expect("read")
                .expect("server closed its output");
            let message: Value = serde_json::from_str(&line).expect("JSON");
            if message.get("method").is_some() {
                self.notifications.push(message);
            } else if let Some(id) = message["id"].as_i64() {
                self.early.insert(id, message);
            }
        }
    }

    /// Closes stdin and expects exit status 0.
    pub async fn finish(mut self) {
        drop(self.stdin.take());
        let status = tokio::time::timeout(TIMEOUT, self.child.wait())
            .await
            .expect("exit")
            .expect("wait");
        assert_eq!(status.code(), Some(0));
    }
}
