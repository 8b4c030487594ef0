//! Spawning the servers of the network bench: ours or Codex, listening on a WebSocket port or a
//! unix socket, in a temporary `CODEX_HOME` holding API-key credentials.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::client::Transport;
use crate::pin::{self, Pinning};

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ours,
    Codex,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ours => "ours",
            Kind::Codex => "codex",
        }
    }
}

/// `program --version`, for the header.
pub fn version(program: &Path) -> String {
    Command::new(program)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "version unknown".to_owned())
}

/// A running server and where to reach it.
pub struct Spawned {
    child: Child,
    /// `ws://127.0.0.1:PORT` or the socket path.
    pub endpoint: String,
    _home: tempfile::TempDir,
}

/// API-key credentials as Codex writes them.
const AUTH_JSON: &str = r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-test-network-bench"}"#;

impl Spawned {
    pub fn start(
        kind: Kind,
        program: &Path,
        transport: Transport,
        pinning: Option<Pinning>,
    ) -> Spawned {
        let home = tempfile::tempdir().expect("home");
        let auth = home.path().join("auth.json");
        std::fs::write(&auth, AUTH_JSON).expect("write auth.json");
        set_private(&auth);
        let socket: PathBuf = home.path().join("bench.sock");
        let listen = match transport {
            Transport::WebSocket => "ws://127.0.0.1:0".to_owned(),
            Transport::Unix => format!("unix://{}", socket.display()),
        };
        let mut command = Command::new(program);
        command.arg("app-server").args(["--listen", &listen]);
        if kind == Kind::Codex {
            // Nothing that would reach out: no update check (analytics are off by default for
            // app-server); the machine may have no network at all, and Codex copes.
            command.args(["-c", "check_for_update_on_startup=false"]);
        }
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("CODEX_HOME", home.path())
            .env("HOME", home.path())
            .env("RUST_LOG", "off")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = pin::spawning_on(pinning, || command.spawn()).expect("spawn server");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        // Reads stderr to its end (so the server never blocks on it), reporting the WebSocket URL.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = listening_url(&line) {
                    let _ = tx.send(url);
                }
            }
        });
        let endpoint = match transport {
            Transport::WebSocket => rx
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("{} never said where it listens", kind.name())),
            Transport::Unix => socket.display().to_string(),
        };
        Spawned {
            child,
            endpoint,
            _home: home,
        }
    }

    /// The server's peak resident set size (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read /proc/<pid>/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM")
    }

    /// Ends the server.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `listening on ws://…` (ours) or `  listening on: ws://…` (Codex).
fn listening_url(line: &str) -> Option<String> {
    let rest = line.trim().strip_prefix("listening on")?;
    let url = rest.trim_start_matches(':').trim();
    url.starts_with("ws://").then(|| url.to_owned())
}

fn set_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
}
