//! A real `redis-server` for tests: its own free loopback port and temporary directory, killed
//! on drop. The binary comes from `APP_SERVER_REDIS_SERVER`, which `tests/setup/redis.sh`
//! exports; without it the test fails and says to run through `tests/run.sh`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The variable naming the `redis-server` binary.
pub const SERVER_VAR: &str = "APP_SERVER_REDIS_SERVER";

/// One running (or stopped, between [`kill`](Self::kill) and [`restart`](Self::restart))
/// `redis-server`.
#[derive(Debug)]
pub struct RedisServer {
    binary: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    durable: bool,
    child: Option<Child>,
}

/// Why a test Redis could not be started (tests unwrap this and fail with its text).
#[derive(Debug, thiserror::Error)]
pub enum TestRedisError {
    /// The setup script was not sourced.
    #[error(
        "{SERVER_VAR} is not set: run through tests/run.sh (tests/setup/redis.sh installs redis-server)"
    )]
    NotSetUp,
    /// Spawning, or waiting for the server to answer, failed.
    #[error("redis-server did not start: {0}")]
    Start(String),
}

impl RedisServer {
    /// Starts a server without persistence (`--save ''`).
    pub fn start() -> Result<RedisServer, TestRedisError> {
        Self::start_with(false)
    }

    /// Starts a server that fsyncs every write to an append-only file in its directory, so it
    /// survives [`kill`](Self::kill) and [`restart`](Self::restart) with its data.
    pub fn start_durable() -> Result<RedisServer, TestRedisError> {
        Self::start_with(true)
    }

    fn start_with(durable: bool) -> Result<RedisServer, TestRedisError> {
        let binary = std::env::var_os(SERVER_VAR)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .ok_or(TestRedisError::NotSetUp)?;
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port().map_err(|e| TestRedisError::Start(e.to_string()))?;
            let mut server = RedisServer {
                binary: binary.clone(),
                dir: tempfile::tempdir().map_err(|e| TestRedisError::Start(e.to_string()))?,
                port,
                durable,
                child: None,
            };
            match server.spawn() {
                Ok(()) => return Ok(server),
                Err(err) => last = err,
            }
        }
        Err(TestRedisError::Start(last))
    }

    /// `redis://127.0.0.1:<port>/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// The server's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// SIGKILLs the server (no shutdown save) and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and directory.
    pub fn restart(&mut self) -> Result<(), TestRedisError> {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.spawn() {
                Ok(()) => return Ok(()),
                Err(err) if Instant::now() >= deadline => return Err(TestRedisError::Start(err)),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Sends one command (inline protocol, as `redis-cli` would) and returns the raw reply.
    pub fn command(&self, line: &str) -> std::io::Result<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        stream.write_all(format!("{line}\r\n").as_bytes())?;
        let mut buf = [0u8; 65536];
        let n = stream.read(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    fn spawn(&mut self) -> Result<(), String> {
        let mut cmd = Command::new(&self.binary);
        cmd.arg("--port")
            .arg(self.port.to_string())
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--save")
            .arg("")
            .arg("--dir")
            .arg(self.dir.path());
        if self.durable {
            cmd.args(["--appendonly", "yes", "--appendfsync", "always"]);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", self.binary.display()))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("exited with {status} (port {} taken?)", self.port));
            }
            if self.command("PING").is_ok_and(|r| r.starts_with("+PONG")) {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err("no PONG within 10 s".to_owned());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
