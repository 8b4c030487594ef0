//! The subcommands of the binary (`login`, `logout`, `status`, `refresh`, `generate-*`), for people
//! and scripts. Each writes its result to `Console::out` (stdout in the binary) and instructions,
//! progress and failures to `Console::err` (stderr); nothing here touches the process's streams
//! directly, so tests can capture both. The serve path never comes through here.
//!
//! Layout: `login.rs` (login, logout), `progress.rs` (waiting on a login, with a spinner on a
//! terminal), `status.rs` (status, refresh), `schema.rs` (schema export).

#[cfg(feature = "demo")]
mod fake_issuer;
mod login;
mod progress;
pub mod schema;
mod status;

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use auth_core::AuthManager;

use crate::cli::{Cli, Command, LoginArgs, LoginCommand};
use crate::startup::{self, StartupError};

pub use login::{login, logout};
pub use status::{refresh, status};

/// The streams a subcommand uses.
pub struct Console<'a> {
    /// Input (`login --with-api-key` reads the key from it).
    pub stdin: &'a mut dyn Read,
    /// The result: human text, or JSON for scripts.
    pub out: &'a mut dyn Write,
    /// Instructions, progress and failures.
    pub err: &'a mut dyn Write,
    /// Whether `err` is a terminal: only then long waits draw a spinner and the elapsed time.
    pub progress: bool,
    /// Whether `stdin` is a terminal: `login --with-api-key` then refuses to read (the key would
    /// be echoed; issue 12 item 13) and says how to pipe it.
    pub stdin_is_terminal: bool,
    /// Whether a browser can be shown here: only then `login` opens the sign-in URL itself.
    pub browser: bool,
}

/// How a subcommand ended; the process exit code is the discriminant. 2 is left to usage errors
/// (clap exits 2 on a mistyped flag), so no outcome of a command that ran reads as one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done; for `status`: signed in.
    Success = 0,
    /// Failed; for `status`: signed out.
    Failure = 1,
    /// The credentials are permanently unusable; sign in again.
    ReloginRequired = 3,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// Why a subcommand could not run at all (its expected failures are an [`Exit`] instead).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Building the credential manager failed (home, `config.toml`, store).
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// Reading input, writing output or starting the runtime failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// [`run`] with the process's stdin, stdout and stderr (progress is drawn when stderr is a
/// terminal), as the process exit code.
pub fn run_with_std_streams(cli: &Cli, command: &Command) -> Result<ExitCode, CommandError> {
    let (mut stdin, mut out, mut err) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
    let progress = err.is_terminal();
    let stdin_is_terminal = stdin.is_terminal();
    let console = &mut Console {
        stdin: &mut stdin,
        out: &mut out,
        err: &mut err,
        progress,
        stdin_is_terminal,
        browser: startup::browser_available(),
    };
    run(cli, command, console).map(ExitCode::from)
}

/// Runs `command` with the manager built by [`startup::start`] from `cli`, so the global flags
/// (`--login-issuer`, `--login-port`, `--demo`, config overrides) and environment apply.
pub fn run(cli: &Cli, command: &Command, console: &mut Console<'_>) -> Result<Exit, CommandError> {
    if let Command::GenerateJsonSchema { .. } | Command::GenerateTs { .. } | Command::AppServer(_) =
        command
    {
        schema::export_schema(command)?;
        return Ok(Exit::Success);
    }
    if let Command::Login(args) = command
        && args.command.is_none()
    {
        startup::create_codex_home_if_missing(cli)?;
    }
    let runtime = tokio::runtime::Runtime::new()?;
    #[cfg(feature = "demo")]
    if let Command::FakeIssuer { port } = command {
        return runtime.block_on(fake_issuer::serve(*port, console));
    }
    let exit = runtime.block_on(async {
        let started = startup::start(cli).await?;
        let exit = execute(started.state.auth(), command, console).await;
        drop(started);
        exit
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    exit
}

/// Runs `command` against `auth`.
pub async fn execute(
    auth: &AuthManager,
    command: &Command,
    console: &mut Console<'_>,
) -> Result<Exit, CommandError> {
    let exit = match command {
        Command::Login(LoginArgs {
            command: Some(LoginCommand::Status { json }),
            ..
        })
        | Command::Status { json } => status(auth, *json, console).await?,
        Command::Login(args) => login(auth, args, console).await?,
        Command::Logout => logout(auth, console).await?,
        Command::Refresh => refresh(auth, console).await?,
        Command::GenerateJsonSchema { .. } | Command::GenerateTs { .. } | Command::AppServer(_) => {
            schema::export_schema(command)?;
            Exit::Success
        }
        #[cfg(feature = "demo")]
        Command::FakeIssuer { port } => fake_issuer::serve(*port, console).await?,
    };
    console.out.flush()?;
    console.err.flush()?;
    Ok(exit)
}
