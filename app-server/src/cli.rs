//! The command line: `app-server [--listen stdio://]` serves stdio (the default); the subcommands
//! sign in and out, report and refresh the stored credentials, and export the schema trees of
//! `protocol::schema`. Their logic lives in `commands`, which reads these types; this module
//! depends on nothing of the crate but the listener flags.
//!
//! Codex's launch line works too: `app-server app-server [FLAGS]` serves exactly as
//! `app-server [FLAGS]`, `app-server app-server generate-json-schema|generate-ts --out DIR`
//! export the schema, and Codex's `-c/--config`, `--profile`, `--enable`/`--disable` are
//! accepted before or after the `app-server` subcommand ([`CodexFlags`]).

use std::path::PathBuf;

use auth_core::{ConfigOverride, ForcedLoginMethod, Overrides, StoreMode};

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
    /// Codex's configuration flags.
    #[command(flatten)]
    pub codex: CodexFlags,
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

/// Codex's flags (`codex-rs/utils/cli`, `codex-rs/cli`), accepted before any subcommand and
/// after `app-server` (both sets apply, those before the subcommand first, as Codex's
/// `prepend_root_overrides`). `-c` and the profile are honoured for the keys we use
/// (`auth_core::load_with`); `--enable X` and `--disable X` are Codex's
/// `-c features.X=true|false`, which we carry along and ignore.
#[derive(Debug, Default, clap::Args)]
pub struct CodexFlags {
    /// Override a `config.toml` value: `key=value`, a dotted key for nested values, the value
    /// parsed as TOML (else taken as a string). Repeatable; a later one wins.
    #[arg(
        short = 'c',
        long = "config",
        value_name = "key=value",
        value_parser = parse_override,
        action = clap::ArgAction::Append
    )]
    pub overrides: Vec<ConfigOverride>,
    /// Layer `$CODEX_HOME/<NAME>.config.toml` (else the legacy `[profiles.<NAME>]` table of
    /// `config.toml`) over `config.toml`, below the `-c` overrides.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Enable a Codex feature (repeatable): accepted and ignored.
    #[arg(long, value_name = "FEATURE", action = clap::ArgAction::Append)]
    pub enable: Vec<String>,
    /// Disable a Codex feature (repeatable): accepted and ignored.
    #[arg(long, value_name = "FEATURE", action = clap::ArgAction::Append)]
    pub disable: Vec<String>,
}

impl CodexFlags {
    /// Adds these flags to `layers`: the profile (a later one wins), the features (as
    /// `-c features.X`), then the `-c` overrides.
    fn add_to(&self, layers: &mut Overrides) {
        if self.profile.is_some() {
            layers.profile.clone_from(&self.profile);
        }
        let enabled = self
            .enable
            .iter()
            .map(|name| ConfigOverride::feature(name, true));
        let disabled = self.disable.iter();
        let features = enabled.chain(disabled.map(|name| ConfigOverride::feature(name, false)));
        layers
            .values
            .extend(features.chain(self.overrides.iter().cloned()));
    }
}

fn parse_override(value: &str) -> Result<ConfigOverride, String> {
    value.parse().map_err(|err| format!("{err}"))
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
    /// Codex's launch line: serve exactly as without this word, or export the schema.
    AppServer(Box<AppServerArgs>),
}

impl Command {
    /// What to run instead of serving; `None` for `app-server` without a subcommand of its own.
    pub fn instead_of_serving(&self) -> Option<&Command> {
        match self {
            Command::AppServer(args) if args.command.is_none() => None,
            other => Some(other),
        }
    }
}

/// The default `--listen`.
const DEFAULT_LISTEN: &str = "stdio://";

/// `app-server app-server [FLAGS] [generate-json-schema|generate-ts]`, as Codex's.
#[derive(Debug, Default, clap::Args)]
pub struct AppServerArgs {
    /// `--listen` and the WebSocket auth flags, in Codex's position.
    #[command(flatten)]
    pub transport: crate::network::ListenArgs,
    /// Codex's configuration flags given after `app-server`.
    #[command(flatten)]
    pub codex: CodexFlags,
    /// Serve stdio (the same as `--listen stdio://`).
    #[arg(long)]
    pub stdio: bool,
    /// Codex's analytics default (passed by IDE extensions): accepted and ignored.
    #[arg(long)]
    pub analytics_default_enabled: bool,
    /// Export the schema instead of serving.
    #[command(subcommand)]
    pub command: Option<AppServerCommand>,
}

/// The schema exports under `app-server app-server`, with Codex's flags.
#[derive(Debug, clap::Subcommand)]
pub enum AppServerCommand {
    /// Write the JSON Schema tree (`<Type>.json`, `v2/<Type>.json`) to `--out`.
    GenerateJsonSchema {
        /// Output directory (created if missing).
        #[arg(short = 'o', long)]
        out: PathBuf,
        /// Include experimental methods and fields (we have none: the same tree).
        #[arg(long)]
        experimental: bool,
    },
    /// Write the TypeScript tree (`<Type>.ts`, `v2/<Type>.ts`, `index.ts`) to `--out`.
    GenerateTs {
        /// Output directory (created if missing).
        #[arg(short = 'o', long)]
        out: PathBuf,
        /// Prettier executable to format the written files with (`<PRETTIER> --write FILE…`).
        #[arg(short = 'p', long, value_name = "PRETTIER_BIN")]
        prettier: Option<PathBuf>,
        /// Include experimental methods and fields (we have none: the same tree).
        #[arg(long)]
        experimental: bool,
    },
}

impl Cli {
    /// The transport flags in effect: those given after `app-server` (Codex's position), over
    /// those given before any subcommand.
    pub fn listen_args(&self) -> crate::network::ListenArgs {
        let root = &self.transport;
        let Some(Command::AppServer(args)) = &self.command else {
            return root.clone();
        };
        let sub = &args.transport;
        crate::network::ListenArgs {
            listen: if sub.listen == DEFAULT_LISTEN {
                root.listen.clone()
            } else {
                sub.listen.clone()
            },
            ws_auth: sub.ws_auth.or(root.ws_auth),
            ws_token_file: sub.ws_token_file.clone().or(root.ws_token_file.clone()),
            ws_shared_secret_file: sub
                .ws_shared_secret_file
                .clone()
                .or(root.ws_shared_secret_file.clone()),
            ws_issuer: sub.ws_issuer.clone().or(root.ws_issuer.clone()),
            ws_audience: sub.ws_audience.clone().or(root.ws_audience.clone()),
            ws_max_clock_skew_seconds: sub
                .ws_max_clock_skew_seconds
                .or(root.ws_max_clock_skew_seconds),
            allow_remote: sub.allow_remote || root.allow_remote,
            auth_token_file: sub.auth_token_file.clone().or(root.auth_token_file.clone()),
        }
    }

    /// The command-line layers over `config.toml`: Codex's flags before the subcommand, then
    /// those after `app-server`.
    pub fn overrides(&self) -> Overrides {
        let mut layers = Overrides::default();
        self.codex.add_to(&mut layers);
        if let Some(Command::AppServer(args)) = &self.command {
            args.codex.add_to(&mut layers);
        }
        layers
    }

    /// The process's command line. The two plain launch lines, no arguments and Codex's
    /// `app-server` alone, are answered without clap: building its command tree (every
    /// subcommand, the global flags copied into each) was a quarter of the time from spawn to
    /// the `initialize` answer. Every other line goes through clap. A test checks that both
    /// plain lines equal clap's parse.
    pub fn from_env() -> Cli {
        use clap::Parser;
        let mut args = std::env::args_os().skip(1);
        match (args.next(), args.next()) {
            (None, _) => Cli::plain(false),
            (Some(word), None) if word == "app-server" => Cli::plain(true),
            _ => Cli::parse(),
        }
    }

    /// What clap makes of no arguments (`app_server` false) or of `app-server` alone.
    fn plain(app_server: bool) -> Cli {
        let transport = crate::network::ListenArgs {
            listen: DEFAULT_LISTEN.to_owned(),
            ..Default::default()
        };
        let command = app_server.then(|| {
            Command::AppServer(Box::new(AppServerArgs {
                transport: transport.clone(),
                ..Default::default()
            }))
        });
        Cli {
            transport,
            demo: false,
            login_issuer: None,
            login_port: None,
            config: ConfigFlags::default(),
            codex: CodexFlags::default(),
            command,
        }
    }

    /// Whether to serve stdio: `--listen stdio://` (the default) or `app-server --stdio`.
    pub fn serves_stdio(&self) -> bool {
        let stdio_flag = matches!(&self.command, Some(Command::AppServer(args)) if args.stdio);
        stdio_flag || self.listen_args().listen == DEFAULT_LISTEN
    }
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

impl Cli {
    /// The browser login's callback port: `--login-port` of the server or of `login`.
    pub fn login_port(&self) -> Option<u16> {
        match &self.command {
            Some(Command::Login(args)) => args.login_port.or(self.login_port),
            _ => self.login_port,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Cli;

    #[test]
    fn the_plain_launch_lines_equal_clap_s_parse() {
        let parsed = |argv: &[&str]| format!("{:?}", Cli::try_parse_from(argv).ok());
        assert_eq!(
            format!("{:?}", Some(Cli::plain(false))),
            parsed(&["app-server"])
        );
        assert_eq!(
            format!("{:?}", Some(Cli::plain(true))),
            parsed(&["app-server", "app-server"])
        );
        assert_ne!(
            format!("{:?}", Some(Cli::plain(true))),
            parsed(&["app-server", "app-server", "--stdio"]),
            "the comparison sees a flag"
        );
    }
}
