//! The serve-mode transport flags, flattened into [`crate::cli::Cli`]: Codex's `--listen` and
//! `--ws-auth …` flags with Codex's meaning, plus our `--allow-remote` and `--auth-token-file`.

use std::path::PathBuf;

/// `--listen` and the WebSocket auth flags.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ListenArgs {
    /// Transport to serve: `stdio://` (default), `ws://IP:PORT` (WebSocket; port 0 picks a free
    /// one), `unix://` (the control socket `$CODEX_HOME/app-server-control/app-server-control.sock`)
    /// or `unix://PATH`.
    #[arg(long, value_name = "URL", default_value = "stdio://")]
    pub listen: String,
    /// WebSocket auth: `capability-token` (with `--ws-token-file`) or `signed-bearer-token`
    /// (with `--ws-shared-secret-file`, HS256).
    #[arg(long = "ws-auth", value_name = "MODE", value_enum)]
    pub ws_auth: Option<WsAuthMode>,
    /// Absolute path of the capability-token file (its trimmed contents are the bearer token).
    #[arg(long = "ws-token-file", value_name = "PATH")]
    pub ws_token_file: Option<PathBuf>,
    /// Absolute path of the shared secret (at least 32 bytes) that signs the JWT bearer tokens.
    #[arg(long = "ws-shared-secret-file", value_name = "PATH")]
    pub ws_shared_secret_file: Option<PathBuf>,
    /// Expected `iss` of signed bearer tokens.
    #[arg(long = "ws-issuer", value_name = "ISSUER")]
    pub ws_issuer: Option<String>,
    /// Expected `aud` of signed bearer tokens.
    #[arg(long = "ws-audience", value_name = "AUDIENCE")]
    pub ws_audience: Option<String>,
    /// Clock skew allowed on `exp` and `nbf` of signed bearer tokens (default 30).
    #[arg(long = "ws-max-clock-skew-seconds", value_name = "SECONDS")]
    pub ws_max_clock_skew_seconds: Option<u64>,
    /// Ours: allow a non-loopback WebSocket address without `--ws-auth` (a warning is printed).
    #[arg(long)]
    pub allow_remote: bool,
    /// Ours, kept for existing scripts: the same as `--ws-auth capability-token --ws-token-file
    /// PATH` (a relative path is allowed).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["ws_auth", "ws_token_file"])]
    pub auth_token_file: Option<PathBuf>,
}

/// The `--ws-auth` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WsAuthMode {
    /// A static bearer token read from `--ws-token-file`.
    CapabilityToken,
    /// HS256 JWTs signed with the secret of `--ws-shared-secret-file`.
    SignedBearerToken,
}
