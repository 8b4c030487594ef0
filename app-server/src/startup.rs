//! Building the server's state from the environment, `config.toml` and the command line, in one
//! place: the only code besides [`crate::ServerConfig::from_env`] that reads the environment.

use std::path::PathBuf;

use auth_core::{AuthManager, ManagerOptions};
use auth_core::{
    Config, ConfigError, SYSTEM_REQUIREMENTS_PATH, apply_requirements, load_config,
    load_requirements,
};

use crate::cli::{Cli, ConfigFlags};
use crate::config::ServerConfig;
use crate::state::ServerState;

/// Why the server could not start. Messages name the offending file, variable or flag.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// `CODEX_HOME` or the home directory is unusable, or `config.toml` is malformed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The credential manager could not be built.
    #[error("{0}")]
    Manager(String),
    /// The demo issuer could not start.
    #[error("demo issuer failed to start: {0}")]
    Demo(std::io::Error),
    /// `--demo` in a build without the `demo` feature.
    #[error("--demo is not available: this build has no demo issuer (cargo feature `demo`)")]
    NoDemo,
}

/// What a started server holds on to besides its state.
pub struct Started {
    /// The shared state to serve.
    pub state: ServerState,
    /// The embedded issuer of `--demo`, kept alive for the process.
    #[cfg(feature = "demo")]
    pub demo: Option<crate::demo::Demo>,
}

/// Builds the state for `cli`: `CODEX_HOME`, `config.toml` with the flag overrides, the URL
/// overrides of the environment, and, with `--demo`, an embedded local issuer.
pub async fn start(cli: &Cli) -> Result<Started, StartupError> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    #[cfg(not(feature = "demo"))]
    if cli.demo {
        return Err(StartupError::NoDemo);
    }
    #[cfg(feature = "demo")]
    let demo_home = match (cli.demo, var("CODEX_HOME")) {
        (true, None) => Some(crate::demo::home()?),
        _ => None,
    };
    #[cfg(not(feature = "demo"))]
    let demo_home = None;
    let mut server = ServerConfig::from_env_with_home(demo_home)?;
    #[cfg(feature = "demo")]
    let demo = match cli.demo {
        true => Some(crate::demo::Demo::start(&server.codex_home).await?),
        false => None,
    };
    let mut config = load_config(&server.codex_home, &cli.overrides())?;
    apply_flags(&mut config, &cli.config);
    if config.redis.url.is_none() {
        config.redis.url = var("REDIS_URL").map(auth_core::Secret::new);
    }
    // Managed requirements come last: an administrator's rules beat the user's.
    if let Some(path) = var(REQUIREMENTS_ENV)
        .map(PathBuf::from)
        .or_else(system_requirements)
    {
        let requirements = load_requirements(&path)?;
        config = apply_requirements(config, &requirements)?;
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
    if let Some(client_id) = var("CODEX_APP_SERVER_LOGIN_CLIENT_ID") {
        opts.client_id = client_id.trim().to_owned();
    }
    if let Some(port) = cli.login_port() {
        opts.callback_port = port;
    }
    #[cfg(feature = "demo")]
    if let Some(demo) = &demo {
        demo.apply(&mut opts, cli.login_port());
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
        #[cfg(feature = "demo")]
        demo,
    })
}

/// Replaces the system `requirements.toml` path (tests, packaging); ours, not Codex's.
pub const REQUIREMENTS_ENV: &str = "CODEX_APP_SERVER_REQUIREMENTS_FILE";

/// Codex's managed requirements file on this platform (Unix only).
fn system_requirements() -> Option<PathBuf> {
    cfg!(unix).then(|| PathBuf::from(SYSTEM_REQUIREMENTS_PATH))
}

/// Whether `login` may open a browser: not in an SSH session or, on Linux and the BSDs, without a
/// display, unless `BROWSER` names one.
pub fn browser_available() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if set("BROWSER") {
        return true;
    }
    if set("SSH_CONNECTION") || set("SSH_TTY") {
        return false;
    }
    cfg!(any(target_os = "macos", target_os = "windows"))
        || set("DISPLAY")
        || set("WAYLAND_DISPLAY")
}

/// `login` signs in even where `CODEX_HOME` (or `~/.codex`) does not exist yet: creates it with
/// mode 0700. Other commands and the server leave a missing home alone.
pub fn create_codex_home_if_missing(cli: &Cli) -> std::io::Result<()> {
    if cli.demo {
        return Ok(());
    }
    let home = match std::env::var_os("CODEX_HOME").filter(|v| !v.is_empty()) {
        Some(home) => PathBuf::from(home),
        None => match std::env::home_dir() {
            Some(dir) => dir.join(".codex"),
            None => return Ok(()),
        },
    };
    create_private_dir(&home)
}

/// Creates `dir` (and missing parents) with mode 0700; an existing directory is left as it is.
pub(crate) fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
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
