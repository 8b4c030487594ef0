//! Building the server's state from the environment, `config.toml` and the command line, in one
//! place: the only code besides [`crate::ServerConfig::from_env`] that reads the environment.

use std::path::PathBuf;

use auth_core::fake_issuer::FakeIssuer;
use auth_core::manager::{AuthManager, ManagerOptions};
use auth_core::{config as core_config, config::Config};

use crate::cli::{Cli, ConfigFlags};
use crate::config::ServerConfig;
use crate::state::ServerState;

/// Why the server could not start. Messages name the offending file, variable or flag.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// `CODEX_HOME` or the home directory is unusable.
    #[error(transparent)]
    Home(#[from] crate::config::ConfigError),
    /// `config.toml` is malformed.
    #[error(transparent)]
    Config(#[from] core_config::ConfigError),
    /// The credential manager could not be built.
    #[error("{0}")]
    Manager(String),
    /// The demo issuer could not start.
    #[error("demo issuer failed to start: {0}")]
    Demo(std::io::Error),
}

/// What a started server holds on to besides its state.
pub struct Started {
    /// The shared state to serve.
    pub state: ServerState,
    /// The embedded issuer of `--demo`, kept alive for the process.
    pub demo_issuer: Option<FakeIssuer>,
    /// The temporary home of `--demo` without `CODEX_HOME`, deleted at exit.
    pub demo_home: Option<tempfile::TempDir>,
}

/// Builds the state for `cli`: `CODEX_HOME`, `config.toml` with the flag overrides, the URL
/// overrides of the environment, and, with `--demo`, an embedded local issuer.
pub async fn start(cli: &Cli) -> Result<Started, StartupError> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let (demo_issuer, demo_home) = if cli.demo {
        let issuer = FakeIssuer::start().await.map_err(StartupError::Demo)?;
        let home = match var("CODEX_HOME") {
            Some(_) => None,
            None => Some(tempfile::tempdir().map_err(StartupError::Demo)?),
        };
        (Some(issuer), home)
    } else {
        (None, None)
    };
    let mut server =
        ServerConfig::from_env_with_home(demo_home.as_ref().map(|d| d.path().to_path_buf()))?;
    let mut config = core_config::load_with(&server.codex_home, &cli.overrides())?;
    apply_flags(&mut config, &cli.config);
    // Managed requirements come last: an administrator's rules beat the user's.
    if let Some(path) = var(REQUIREMENTS_ENV)
        .map(PathBuf::from)
        .or_else(system_requirements)
    {
        let requirements = core_config::load_requirements(&path)?;
        config = core_config::apply_requirements(config, &requirements)?;
    }
    let mut opts = ManagerOptions::new(server.codex_home.clone());
    opts.config = config;
    opts.refresh_url = var("CODEX_REFRESH_TOKEN_URL_OVERRIDE");
    opts.revoke_url = var("CODEX_REVOKE_TOKEN_URL_OVERRIDE");
    if let Some(issuer) = cli
        .login_issuer
        .clone()
        .or_else(|| var("CODEX_APP_SERVER_LOGIN_ISSUER"))
    {
        opts.issuer = issuer;
    }
    if let Some(port) = cli.login_port {
        opts.callback_port = port;
    }
    if let Some(issuer) = &demo_issuer {
        opts.issuer = issuer.url();
        opts.refresh_url = Some(issuer.token_url());
        opts.revoke_url = Some(issuer.revoke_url());
        opts.callback_port = cli.login_port.unwrap_or(0);
        tracing::warn!(issuer = %issuer.url(), codex_home = %server.codex_home.display(),
            "demo mode: signing in against an embedded local issuer");
    }
    let auth = AuthManager::new(opts).map_err(|e| StartupError::Manager(e.to_string()))?;
    match auth.enforce_login_restrictions().await {
        Ok(Some(message)) => tracing::warn!("{message}"),
        Ok(None) => {}
        Err(err) => tracing::error!(error = %err, "could not enforce the login restriction"),
    }
    server.codex_home = canonical(server.codex_home);
    Ok(Started {
        state: ServerState::new(server, auth),
        demo_issuer,
        demo_home,
    })
}

/// Replaces the system `requirements.toml` path (tests, packaging); ours, not Codex's.
pub const REQUIREMENTS_ENV: &str = "CODEX_APP_SERVER_REQUIREMENTS_FILE";

/// Codex's managed requirements file on this platform (Unix only).
fn system_requirements() -> Option<PathBuf> {
    cfg!(unix).then(|| PathBuf::from(core_config::SYSTEM_REQUIREMENTS_PATH))
}

fn canonical(path: PathBuf) -> PathBuf {
    std::fs::canonicalize(&path).unwrap_or(path)
}

/// Command-line flags override `config.toml`.
fn apply_flags(config: &mut Config, flags: &ConfigFlags) {
    if let Some(store) = flags.credentials_store {
        config.store_mode = store;
    }
    if let Some(method) = flags.forced_login_method {
        config.forced_login_method = Some(method);
    }
    if !flags.forced_workspace_ids.is_empty() {
        config.forced_workspace_ids = flags
            .forced_workspace_ids
            .iter()
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty())
            .collect();
    }
}
