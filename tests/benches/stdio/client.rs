//! A blocking client for one spawned stdio server: spawn, requests, a windowed load driver, and
//! the process's peak RSS.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The `initialize` line every spawn sends first.
pub const INITIALIZE: &str =
    r#"{"id":0,"method":"initialize","params":{"clientInfo":{"name":"bench","version":"1.0"}}}"#;

/// How to start a server: the executable and the environment of its child process only.
#[derive(Clone)]
pub struct Launcher {
    pub program: std::path::PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// The cores of the client and of the spawned server, when pinned.
    pub pinning: Option<crate::pin::Pinning>,
}

impl Launcher {
    /// A launcher for `program` with `home` as both `HOME` and `CODEX_HOME`, logs off.
    pub fn new(program: &Path, home: &Path) -> Self {
        let home = home.to_string_lossy().into_owned();
        Launcher {
            program: program.to_path_buf(),
            args: Vec::new(),
            env: vec![
                ("CODEX_HOME".into(), home.clone()),
                ("HOME".into(), home),
                ("RUST_LOG".into(), "off".into()),
            ],
            pinning: None,
        }
    }

    /// The same launcher spawning its servers on the server core of `pinning`.
    pub fn pinned(mut self, pinning: Option<crate::pin::Pinning>) -> Self {
        self.pinning = pinning;
        self
    }

    /// The same launcher with one more environment variable for the child.
    pub fn with_env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .env_remove("RUST_LOG")
            .env_remove("CODEX_API_KEY")
            .env_remove("OPENAI_API_KEY")
            .env_remove("CODEX_INTERNAL_ORIGINATOR_OVERRIDE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (name, value) in &self.env {
            command.env(name, value);
        }
        // Debugging aid: `BENCH_SERVER_LOG=<dir>` keeps each server's debug log there.
        if let Some(dir) = std::env::var_os("BENCH_SERVER_LOG") {
            let path = Path::new(&dir).join(format!("server-{}.log", uuid_like()));
            let log = std::fs::File::create(path).expect("create server log");
            command.env("RUST_LOG", "debug").stderr(log);
        }
        command
    }

    /// Spawns the server and completes `initialize`; returns it and the time from spawn to the
    /// `initialize` answer.
    pub fn start(&self) -> (Server, Duration) {
        let started = Instant::now();
        let mut command = self.command();
        let mut child =
            crate::pin::spawning_on(self.pinning, || command.spawn()).expect("spawn server");
        let mut stdin = child.stdin.take().expect("stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        stdin
            .write_all(format!("{INITIALIZE}\n").as_bytes())
            .expect("write initialize");
        stdin.flush().expect("flush");
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read initialize answer");
        let elapsed = started.elapsed();
        let answer: Value = serde_json::from_str(&line).expect("initialize answer is JSON");
        assert!(answer.get("result").is_some(), "initialize failed: {line}");
        let server = Server {
            child,
            stdin: Some(stdin),
            stdout,
            next_id: 1,
        };
        (server, elapsed)
    }
}

fn uuid_like() -> String {
    use std::sync::atomic::AtomicUsize;
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A running server with an initialized connection.
pub struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    next_id: i64,
}

impl Server {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Writes one request and returns its id.
    pub fn send(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        let line = json!({"id": id, "method": method, "params": params}).to_string() + "\n";
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(line.as_bytes()).expect("write request");
        stdin.flush().expect("flush request");
        id
    }

    /// Reads messages until the answer to `id` (notifications are skipped).
    pub fn answer(&mut self, id: i64) -> Value {
        loop {
            let message = self.read();
            if message.get("method").is_none() && message["id"] == json!(id) {
                return message;
            }
        }
    }

    /// The next message.
    pub fn read(&mut self) -> Value {
        let mut line = String::new();
        let read = self.stdout.read_line(&mut line).expect("read answer");
        assert!(read > 0, "server closed its output");
        serde_json::from_str(&line).expect("answer is JSON")
    }

    /// Sends a request and returns its `result`.
    pub fn result(&mut self, method: &str, params: Value) -> Value {
        let id = self.send(method, params);
        let answer = self.answer(id);
        answer
            .get("result")
            .cloned()
            .unwrap_or_else(|| panic!("{method} failed: {answer}"))
    }

    /// Peak resident set size so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc/<pid>/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/<pid>/status")
    }

    /// Closes stdin and waits for the exit (status 0 expected).
    pub fn finish(mut self) {
        drop(self.stdin.take());
        let status = self.child.wait().expect("wait for server");
        assert!(status.success(), "server exited with {status}");
    }

    /// Keeps `window` `getAuthStatus` requests in flight until `total` were answered; returns
    /// every round trip and the wall time from the first send to the last answer.
    pub fn drive(&mut self, window: usize, total: usize) -> Load {
        let mut stdin = self.stdin.take().expect("stdin open");
        let first_id = self.next_id;
        self.next_id += total as i64;
        let sent: Arc<Vec<AtomicU64>> = Arc::new((0..total).map(|_| AtomicU64::new(0)).collect());
        let (credit, credits) = sync_channel::<()>(window);
        for _ in 0..window {
            credit.send(()).expect("credit");
        }
        let start = Instant::now();
        let writer = {
            let sent = Arc::clone(&sent);
            std::thread::spawn(move || {
                let mut line = Vec::with_capacity(128);
                for i in 0..total {
                    credits.recv().expect("credit");
                    line.clear();
                    write!(
                        line,
                        r#"{{"id":{},"method":"getAuthStatus","params":{{"includeToken":true}}}}"#,
                        first_id + i as i64
                    )
                    .expect("format");
                    line.push(b'\n');
                    sent[i].store(start.elapsed().as_nanos() as u64, Ordering::Release);
                    stdin.write_all(&line).expect("write request");
                }
                stdin
            })
        };
        let mut rtts = Vec::with_capacity(total);
        let mut line = Vec::with_capacity(1024);
        for n in 0..total {
            line.clear();
            let read = self.stdout.read_until(b'\n', &mut line).expect("read");
            assert!(read > 0, "server closed its output");
            let at = start.elapsed().as_nanos() as u64;
            let id = answer_id(&line);
            let index = usize::try_from(id - first_id).expect("known id");
            rtts.push(at - sent[index].load(Ordering::Acquire));
            if n % 1000 == 0 {
                check_status_answer(&line);
            } else {
                assert!(contains(&line, br#""result":{"#), "not a result");
            }
            // The writer may already be done; a closed channel is fine.
            let _ = credit.send(());
        }
        let wall = start.elapsed();
        self.stdin = Some(writer.join().expect("writer thread"));
        Load { rtts, wall }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The outcome of [`Server::drive`].
pub struct Load {
    /// Round trips in nanoseconds, in answer order.
    pub rtts: Vec<u64>,
    /// From the first send to the last answer.
    pub wall: Duration,
}

impl Load {
    /// Answers per second.
    pub fn throughput(&self) -> f64 {
        self.rtts.len() as f64 / self.wall.as_secs_f64()
    }

    /// The `q` quantile (0..=1) of the round trips, in microseconds.
    pub fn quantile_us(&self, q: f64) -> f64 {
        let mut sorted = self.rtts.clone();
        sorted.sort_unstable();
        let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
        sorted[index] as f64 / 1000.0
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The integer id of an answer line, without a full parse (the client must stay cheap).
fn answer_id(line: &[u8]) -> i64 {
    let key = br#""id":"#;
    let at = line
        .windows(key.len())
        .position(|w| w == key)
        .unwrap_or_else(|| panic!("no id: {}", String::from_utf8_lossy(line)));
    let digits: Vec<u8> = line[at + key.len()..]
        .iter()
        .copied()
        .take_while(u8::is_ascii_digit)
        .collect();
    std::str::from_utf8(&digits)
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("bad id: {}", String::from_utf8_lossy(line)))
}

/// A full parse of a sampled answer: a result carrying a token.
fn check_status_answer(line: &[u8]) {
    let answer: Value = serde_json::from_slice(line).expect("answer is JSON");
    assert!(
        answer["result"]["authToken"].is_string(),
        "expected a served token: {answer}"
    );
}
