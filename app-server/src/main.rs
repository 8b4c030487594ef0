//! `app-server`: serves the Codex app-server protocol on stdin/stdout (logs on stderr), or runs a
//! subcommand (`login`, `logout`, `status`, `refresh`, `generate-*`) whose output goes to stdout.
#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::process::ExitCode;

use app_server::cli::{Cli, Command};
use app_server::commands;
use tracing_subscriber::EnvFilter;

pub fn main() -> ExitCode {
    let no_core_dumps = app_server::process_guard::disable_core_dumps();
    let cli = Cli::from_env();
    // `app-server app-server [FLAGS]` (Codex's launch line) serves as `app-server [FLAGS]`.
    let subcommand = cli.command.as_ref().and_then(Command::instead_of_serving);
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into());
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(filter);
    match subcommand {
        // A person reads a subcommand's stderr: warnings without timestamps or module paths.
        Some(_) => logs.without_time().with_target(false).init(),
        None => logs.init(),
    }
    if let Err(err) = no_core_dumps {
        tracing::warn!(error = %err, "could not disable core dumps");
    }
    let result = match subcommand {
        None if cli.serves_stdio() => serve(&cli).map(|()| ExitCode::SUCCESS),
        None => app_server::network::run(&cli).map(|()| ExitCode::SUCCESS),
        Some(command) => commands::run_with_std_streams(&cli, command).map_err(Into::into),
    };
    result.unwrap_or_else(|err: anyhow::Error| {
        // One style for every failure a user sees: `error: …` and, where one helps, a hint;
        // never a log line.
        let mut stderr = std::io::stderr();
        let _ = writeln!(stderr, "error: {err:#}");
        if let Some(hint) = app_server::hints::for_error(&err) {
            let _ = writeln!(stderr, "hint: {hint}");
        }
        ExitCode::FAILURE
    })
}

/// Serves stdio until the client is gone.
fn serve(cli: &Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let started = runtime.block_on(app_server::startup::start(cli))?;
    let (stdin, stdout) = runtime.block_on(async { app_server::stdio::stdio() });
    let served = runtime.block_on(app_server::run(stdin, stdout, started.state.clone()));
    drop(started);
    // A blocking stdin read may still be pending after a write error; do not wait for it.
    runtime.shutdown_background();
    Ok(served?)
}
