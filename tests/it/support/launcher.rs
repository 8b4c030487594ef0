//! The one launcher of the real binary (the `app-server-smoke` shim): every suite that spawns it
//! starts here. The child's environment is cleared and gets only [`ALLOWED`] from the test
//! process, plus what each test sets explicitly (`CODEX_HOME`, `HOME`, URL overrides, ...), so
//! nothing of the developer's or CI's environment (`CODEX_API_KEY`, `RUST_LOG`, `BROWSER`, a
//! real `CODEX_HOME`) can leak into a test. A real component's address that a suite needs (the
//! D-Bus session bus of the Secret Service) is passed on by name with [`inherit`].

use std::ffi::OsStr;

/// The real binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_app-server-smoke");

/// What every child inherits from the test process.
pub const ALLOWED: &[&str] = &["PATH"];

/// `program` with a cleared environment but [`ALLOWED`].
pub fn clean_command(program: impl AsRef<OsStr>) -> std::process::Command {
    let mut command = std::process::Command::new(program);
    command.env_clear();
    for key in ALLOWED {
        if let Some(value) = std::env::var_os(key) {
            command.env(key, value);
        }
    }
    command
}

/// The real binary with a cleared environment, as a `std` command.
pub fn app_server_std() -> std::process::Command {
    clean_command(BIN)
}

/// The real binary with a cleared environment, killed when the handle is dropped.
pub fn app_server() -> tokio::process::Command {
    let mut command = tokio::process::Command::from(app_server_std());
    command.kill_on_drop(true);
    command
}

/// Passes the test process's `key` (when set) to `command`.
pub fn inherit<'c>(
    command: &'c mut std::process::Command,
    key: &str,
) -> &'c mut std::process::Command {
    if let Some(value) = std::env::var_os(key) {
        command.env(key, value);
    }
    command
}
