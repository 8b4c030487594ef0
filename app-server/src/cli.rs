//! The command line: `app-server [--listen stdio://]` serves stdio (the default); the subcommands
//! sign in and out, report and refresh the stored credentials, and export the schema trees of
//! `protocol::schema`. Their logic lives in [`crate::commands`].

use std::path::PathBuf;

use auth_core::config::{ForcedLoginMethod, StoreMode};

/// `app-server` command line.
#[derive(Debug, clap::Parser)]
#[command(
    name = "app-server",
    version,
    about = "Codex-compatible auth app-server (JSON-RPC over stdio) and its command line"
)]
pub struct Cli {
    /// `--listen` and the WebSocket auth flags (`network::args`).
    #[command(flatten)]
    pub transport: crate::network::ListenArgs,
    /// Sign in against an embedded local issuer (no network needed); without `CODEX_HOME`, the
    /// credentials live in `$XDG_STATE_HOME/app-server/demo` (else
    /// `~/.local/state/app-server/demo`), kept between commands.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub demo: bool,
    /// OAuth issuer of browser and device-code logins (else `CODEX_APP_SERVER_LOGIN_ISSUER`, else
    /// `https://auth.openai.com`).
    #[arg(long, value_name = "URL", global = true, help_heading = GLOBAL)]
    pub login_issuer: Option<String>,
    /// Port of the browser login's callback server (default 1455, falling back to 1457; 0 picks
    /// a free port).
    #[arg(long, value_name = "PORT")]
    pub login_port: Option<u16>,
    /// Overrides of `config.toml`.
    #[command(flatten)]
    pub config: ConfigFlags,
    /// What to do instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The help section of the flags that apply to every subcommand.
const GLOBAL: &str = "Global options";

/// Command-line overrides of `$CODEX_HOME/config.toml` keys.
#[derive(Debug, Default, clap::Args)]
pub struct ConfigFlags {
    /// `cli_auth_credentials_store`: file, keyring, auto, ephemeral or redis (`[auth_redis]` in config.toml).
    #[arg(long, value_name = "STORE", value_parser = parse_store, global = true, help_heading = GLOBAL)]
    pub credentials_store: Option<StoreMode>,
    /// `forced_login_method`: chatgpt or api.
    #[arg(long, value_name = "METHOD", value_parser = parse_method, global = true, help_heading = GLOBAL)]
    pub forced_login_method: Option<ForcedLoginMethod>,
    /// `forced_chatgpt_workspace_id` (repeat for several workspaces).
    #[arg(
        long = "forced-chatgpt-workspace-id",
        value_name = "ID",
        global = true,
        help_heading = GLOBAL
    )]
    pub forced_workspace_ids: Vec<String>,
}

fn parse_store(value: &str) -> Result<StoreMode, String> {
    value
        .parse()
        .map_err(|_| format!("expected file, keyring, auto, ephemeral or redis, got `{value}`"))
}

fn parse_method(value: &str) -> Result<ForcedLoginMethod, String> {
    value
        .parse()
        .map_err(|_| format!("expected chatgpt or api, got `{value}`"))
}

/// Subcommands. Their output (human text, or JSON with `--json`) goes to stdout; instructions,
/// progress and errors go to stderr.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Sign in and store the credentials: browser login by default (prints the URL to open).
    Login(LoginArgs),
    /// Sign out: revoke (best effort) and delete the stored credentials.
    Logout,
    /// Show the stored credentials. Exit code 0: signed in; 1: signed out; 3: re-login needed.
    Status {
        /// Print one JSON object (`authMethod`, `signedIn`, `reloginRequired`, `email`,
        /// `planType`, `accountId`, `refreshFailure`) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Refresh the access token once, now. Exit code 0: refreshed (or newer credentials found);
    /// 3: re-login needed; 1: any other failure.
    Refresh,
    #[cfg(feature = "demo")]
    /// Run the offline OAuth issuer of `--demo` on its own (loopback only) until Ctrl-C; prints
    /// its URL on stdout.
    FakeIssuer {
        /// Port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// Write the JSON Schema tree (`<Type>.json`, `v2/<Type>.json`) to `--out`.
    GenerateJsonSchema {
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the TypeScript tree (`<Type>.ts`, `v2/<Type>.ts`, `index.ts`) to `--out`.
    GenerateTs {
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
}

/// `app-server login` options; without either flag, the browser flow.
#[derive(Debug, Default, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LoginArgs {
    /// Sign in on another device: print a URL and a one-time code instead of using a browser
    /// callback on this machine.
    #[arg(long, visible_alias = "device-auth", conflicts_with = "with_api_key")]
    pub device_code: bool,
    /// Store an API key read from stdin (e.g. `printenv OPENAI_API_KEY | app-server login
    /// --with-api-key`).
    #[arg(long)]
    pub with_api_key: bool,
    /// Print the sign-in URL instead of opening a browser (also the default where no browser can
    /// be shown: no display, or an SSH session).
    #[arg(long, conflicts_with_all = ["with_api_key", "device_code"])]
    pub no_browser: bool,
    /// Port of the browser login's callback server (default 1455, falling back to 1457; 0 picks
    /// a free port).
    #[arg(long, value_name = "PORT", conflicts_with_all = ["with_api_key", "device_code"])]
    pub login_port: Option<u16>,
    /// `login status`: the same as `app-server status` (Codex's spelling).
    #[command(subcommand)]
    pub command: Option<LoginCommand>,
}

/// Subcommands of `login`.
#[derive(Debug, clap::Subcommand)]
pub enum LoginCommand {
    /// Show the stored credentials, as `app-server status`.
    Status {
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Writes the `json/` or `typescript/` part of the schema set under `out` for the two
/// `generate-*` commands; any other command is an `InvalidInput` error.
pub fn export_schema(command: &Command) -> std::io::Result<()> {
    match command {
        Command::GenerateJsonSchema { out } => crate::commands::schema::export("json/", out),
        Command::GenerateTs { out } => crate::commands::schema::export("typescript/", out),
        _ => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a schema export command",
        )),
    }
}

impl Cli {
    /// The browser login's callback port: `--login-port` of the server or of `login`.
    pub fn login_port(&self) -> Option<u16> {
        match &self.command {
            Some(Command::Login(args)) => args.login_port.or(self.login_port),
            _ => self.login_port,
        }
    }
}
