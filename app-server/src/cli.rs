//! The command line: `app-server [--listen stdio://]` serves stdio; `generate-json-schema` and
//! `generate-ts` write the schema trees of `protocol::schema` to a directory.

use std::path::{Path, PathBuf};

use auth_core::config::{ForcedLoginMethod, StoreMode};

/// `app-server` command line.
#[derive(Debug, clap::Parser)]
#[command(
    name = "app-server",
    version,
    about = "Codex-compatible auth app-server (JSON-RPC over stdio)"
)]
pub struct Cli {
    /// Transport to serve: `stdio://` (default), or `ws://IP:PORT` / `http://IP:PORT` for the
    /// network transport (WebSocket and HTTP POST on one port; port 0 picks a free one).
    #[arg(long, default_value = "stdio://")]
    pub listen: String,
    /// Network transport: allow a non-loopback listen address.
    #[arg(long)]
    pub allow_remote: bool,
    /// Network transport: require `Authorization: Bearer <the file's trimmed contents>` on
    /// every connection and POST.
    #[arg(long, value_name = "PATH")]
    pub auth_token_file: Option<PathBuf>,
    /// Sign in against an embedded local issuer (no network needed); without `CODEX_HOME`, the
    /// credentials live in a temporary home deleted at exit.
    #[arg(long)]
    pub demo: bool,
    /// OAuth issuer of browser and device-code logins (else `CODEX_APP_SERVER_LOGIN_ISSUER`, else
    /// `https://auth.openai.com`).
    #[arg(long, value_name = "URL")]
    pub login_issuer: Option<String>,
    /// Port of the browser login's callback server (default 1455, falling back to 1457; 0 picks
    /// a free port).
    #[arg(long, value_name = "PORT")]
    pub login_port: Option<u16>,
    /// Overrides of `config.toml`.
    #[command(flatten)]
    pub config: ConfigFlags,
    /// Export a schema tree instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Command-line overrides of `$CODEX_HOME/config.toml` keys.
#[derive(Debug, Default, clap::Args)]
pub struct ConfigFlags {
    /// `cli_auth_credentials_store`: file, keyring, auto or ephemeral.
    #[arg(long, value_name = "STORE", value_parser = parse_store)]
    pub credentials_store: Option<StoreMode>,
    /// `forced_login_method`: chatgpt or api.
    #[arg(long, value_name = "METHOD", value_parser = parse_method)]
    pub forced_login_method: Option<ForcedLoginMethod>,
    /// `forced_chatgpt_workspace_id` (repeat for several workspaces).
    #[arg(long = "forced-chatgpt-workspace-id", value_name = "ID")]
    pub forced_workspace_ids: Vec<String>,
}

fn parse_store(value: &str) -> Result<StoreMode, String> {
    value
        .parse()
        .map_err(|_| format!("expected file, keyring, auto or ephemeral, got `{value}`"))
}

fn parse_method(value: &str) -> Result<ForcedLoginMethod, String> {
    value
        .parse()
        .map_err(|_| format!("expected chatgpt or api, got `{value}`"))
}

/// Subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
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

/// Writes the `json/` or `typescript/` part of the schema set under `out`.
pub fn export_schema(command: &Command) -> std::io::Result<()> {
    let (prefix, out) = match command {
        Command::GenerateJsonSchema { out } => ("json/", out),
        Command::GenerateTs { out } => ("typescript/", out),
    };
    for (relative, contents) in protocol::schema::generate() {
        if let Some(rest) = relative.strip_prefix(prefix) {
            let path = out.join(rest);
            std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
            std::fs::write(path, contents)?;
        }
    }
    Ok(())
}
