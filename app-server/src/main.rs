//! `app-server`: serves the Codex app-server protocol on stdin/stdout; logs go to stderr.
#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use app_server::cli::Cli;
use clap::Parser;
use tracing_subscriber::EnvFilter;

pub fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(EnvFilter::from_default_env())
        .init();
    match serve(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(cause = format!("{err:#}"), "app-server failed");
            ExitCode::FAILURE
        }
    }
}

fn serve(cli: Cli) -> anyhow::Result<()> {
    if let Some(command) = &cli.command {
        return Ok(app_server::cli::export_schema(command)?);
    }
    if cli.listen != "stdio://" {
        return app_server::network::run(&cli);
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let started = runtime.block_on(app_server::startup::start(&cli))?;
    let (stdin, stdout) = (tokio::io::stdin(), tokio::io::stdout());
    let served = runtime.block_on(app_server::run(stdin, stdout, started.state.clone()));
    drop(started);
    // A blocking stdin read may still be pending after a write error; do not wait for it.
    runtime.shutdown_background();
    Ok(served?)
}
