//! `app-server-smoke`: the real `app-server` main, compiled from its source file inside this
//! package because `CARGO_BIN_EXE_<name>` only exists for binaries of the test's own package.

#[path = "../../app-server/src/main.rs"]
mod app_server_main;

fn main() -> std::process::ExitCode {
    app_server_main::main()
}
