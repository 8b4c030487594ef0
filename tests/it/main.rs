//! The workspace's integration tests: one binary, one module per feature.
// Tests panic on purpose: a failed unwrap/expect is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// `Session`: an in-process server over `tokio::io::duplex` with a tempdir home.
mod support;

/// API-key and token logins, logout with a failing revoke, forced-login texts, broadcast.
mod account;
/// Change detection of the real binary: no read per poll, a rewrite served next.
mod change_watch;
/// The command line against the real binary: login, logout, status, refresh, exit codes.
mod cli;
/// `config.toml`: malformed file, provider without OpenAI auth, startup logout of forbidden credentials.
mod config;
/// Error codes and texts (-32601, -32602, -32600) and the §2 check order.
mod errors;
/// Line framing, envelope classification and id echoing (PROTOCOL.md §1).
mod framing;
/// `initialize`, the per-connection gate, `getUserAgent`, broadcast and server requests.
mod handshake;
/// The parent's pipes keep their flags: no `O_NONBLOCK` left on inherited stdin/stdout.
mod inherited_stdio;
/// Published Python clients (PyPI) drive the real binary over stdio (needs tests/run.sh).
mod interop;
/// WebSocket interop: the published `codex-app-server-sdk` client against the real binary.
mod interop_ws;
/// Codex's launch line: `app-server app-server [FLAGS]`, `-c`, `--profile`, schema exports.
mod launch;
/// Browser sign-in driven by an HTTP client playing the browser: state check, cancel, replacement.
mod login_browser;
/// Device-code sign-in: user code, polling outcomes, cancel, workspace check.
mod login_device;
/// The WebSocket listener (§7): the stdio dialect in frames, plain notifications, server requests,
/// Origin/`--ws-auth` refusals, health endpoints, loopback rule, SIGTERM shutdown of the real binary.
mod network;
/// Pipelined bursts, backpressure without drops, answers after EOF, barrier ordering.
mod pipelining;
/// The shared Redis store with real server processes: fleet-wide single refresh, the shared
/// failure record, fenced saves after a lost lease, a Redis restart, login/logout everywhere.
mod redis_fleet;
/// Refresh guarantees counted at the fake issuer: no storm, single flight, failure record, backoff.
mod refresh;
/// Reliability: decoder/dispatcher properties, SIGKILL crash consistency, 8-process rotation
/// soak, no secrets in trace logs (`RELIABILITY_FULL=1` for the heavy sizes).
mod reliability;
/// `account/reportUnauthorized`: one token request per rejected token, none when stale or dead.
mod report_unauthorized;
/// Messages validate against Codex 0.171's vendored JSON Schema (the check runs in `Session`).
mod schema_codex;
/// The checked-in `schema/` tree equals what `protocol::schema::generate()` produces.
mod schema_fresh;
/// The keyring stores against a real Secret Service (tests/setup/secret-service.sh): Codex's
/// entry, the reboot case, logout of every copy, the container case, the secrets-file key.
mod secret_service;
/// A WebSocket client that sends 200,000 requests and never reads: disconnected, server RSS bounded.
mod slow_client;
/// The real binary over real pipes: protocol-only stdout, exit codes.
mod smoke;
/// Dependency direction, no printing in app-server, one launcher, helpers only through support.
mod tidy;
/// The unix-socket listener: default control socket, modes, stale/live sockets, many connections.
mod unix_socket;
