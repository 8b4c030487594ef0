//! `$CODEX_HOME/config.toml`: the few keys `auth-core` honours (AUTH.md §2).
//!
//! The file is read once, by [`load`] (or [`load_with`], which layers a `--profile` file and
//! `-c key=value` overrides over it first, as Codex does: `overrides.rs`). A missing file means
//! [`Config::default`]. Unknown keys and tables, including Codex's `profile` and `[profiles.*]`,
//! are ignored. A syntax error, or a wrong type or value for a key we honour, is a
//! [`ConfigError`] naming the file, line and column.
//!
//! Config files hold no secrets, so errors may quote keys and values.

mod home;
mod overrides;
mod raw;
mod requirements;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::str::FromStr;

pub use home::resolve_codex_home;
#[cfg(test)]
pub use overrides::profile_path;
pub use overrides::{ConfigOverride, Overrides};
pub use requirements::{SYSTEM_REQUIREMENTS_PATH, apply_requirements, load_requirements};

/// File name of the configuration inside `$CODEX_HOME`.
pub const CONFIG_FILE_NAME: &str = "config.toml";

/// The exact message for a comma-separated `forced_chatgpt_workspace_id` string (AUTH.md §2).
pub const COMMA_SEPARATED_WORKSPACE_IDS_MESSAGE: &str = "forced_chatgpt_workspace_id must be a single \
workspace ID string or a TOML list of strings; comma-separated strings are not supported. Use \
`forced_chatgpt_workspace_id = [\"123e4567-e89b-42d3-a456-426614174000\", \
\"123e4567-e89b-42d3-a456-426614174001\"]` instead.";

/// Where credentials are kept (`cli_auth_credentials_store`, AUTH.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StoreMode {
    /// `$CODEX_HOME/auth.json` (the default).
    #[default]
    File,
    /// The OS keyring (cargo feature `keyring`).
    Keyring,
    /// The keyring, falling back to `auth.json` on any keyring error.
    Auto,
    /// Process memory only; nothing is written to disk.
    Ephemeral,
    /// A Redis server shared by many machines (`[auth_redis]`, AUTH.md §7.6).
    Redis,
}

impl StoreMode {
    /// The spelling used in `config.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreMode::File => "file",
            StoreMode::Keyring => "keyring",
            StoreMode::Auto => "auto",
            StoreMode::Ephemeral => "ephemeral",
            StoreMode::Redis => "redis",
        }
    }
}

impl FromStr for StoreMode {
    type Err = UnknownValue;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "file" => Ok(StoreMode::File),
            "keyring" => Ok(StoreMode::Keyring),
            "auto" => Ok(StoreMode::Auto),
            "ephemeral" => Ok(StoreMode::Ephemeral),
            "redis" => Ok(StoreMode::Redis),
            other => Err(UnknownValue {
                value: other.to_owned(),
                expected: "\"file\", \"keyring\", \"auto\", \"ephemeral\" or \"redis\"",
            }),
        }
    }
}

/// Where the `keyring` and `auto` stores keep credentials: `[features] secret_auth_storage`, as
/// in Codex (AUTH.md §3). The default follows Codex: the secrets file on Windows, where a ChatGPT
/// credential exceeds the Credential Manager's value limit, the keyring entry elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyringBackendKind {
    /// The credentials JSON in the keyring entry itself (`secret_auth_storage = false`).
    Direct,
    /// `$CODEX_HOME/secrets/cli_auth.age`, its key in the keyring (`secret_auth_storage = true`).
    Secrets,
}

impl Default for KeyringBackendKind {
    fn default() -> Self {
        if cfg!(windows) {
            KeyringBackendKind::Secrets
        } else {
            KeyringBackendKind::Direct
        }
    }
}

impl KeyringBackendKind {
    /// The kind `secret_auth_storage = enabled` selects.
    pub fn from_secret_auth_storage(enabled: bool) -> Self {
        if enabled {
            KeyringBackendKind::Secrets
        } else {
            KeyringBackendKind::Direct
        }
    }
}

/// The login method a deployment insists on (`forced_login_method`, AUTH.md §8.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForcedLoginMethod {
    /// Only ChatGPT logins (`"chatgpt"`).
    Chatgpt,
    /// Only API keys (`"api"`).
    Api,
}

impl ForcedLoginMethod {
    /// The spelling used in `config.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            ForcedLoginMethod::Chatgpt => "chatgpt",
            ForcedLoginMethod::Api => "api",
        }
    }
}

impl FromStr for ForcedLoginMethod {
    type Err = UnknownValue;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "chatgpt" => Ok(ForcedLoginMethod::Chatgpt),
            "api" => Ok(ForcedLoginMethod::Api),
            other => Err(UnknownValue {
                value: other.to_owned(),
                expected: "\"chatgpt\" or \"api\"",
            }),
        }
    }
}

/// A string that is not one of the accepted spellings of a setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value {value:?}, expected {expected}")]
pub struct UnknownValue {
    /// The rejected value.
    pub value: String,
    /// The accepted values, for the message.
    pub expected: &'static str,
}

/// The settings `auth-core` takes from `config.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `cli_auth_credentials_store`.
    pub store_mode: StoreMode,
    /// `[features] secret_auth_storage`: the keyring entry or the secrets file.
    pub keyring_backend: KeyringBackendKind,
    /// `forced_login_method`; `None` allows both methods.
    pub forced_login_method: Option<ForcedLoginMethod>,
    /// `forced_chatgpt_workspace_id`, trimmed, blanks dropped; empty means no restriction.
    pub forced_workspace_ids: Vec<String>,
    /// `model_provider`, the selected provider id.
    pub model_provider: String,
    /// Whether the selected provider needs OpenAI auth.
    pub requires_openai_auth: bool,
    /// `[auth_redis]`, used when `store_mode` is [`StoreMode::Redis`].
    pub redis: RedisConfig,
}

/// The `[auth_redis]` table: where the shared store lives (AUTH.md §7.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisConfig {
    /// `url`: `redis://` or `rediss://` (TLS), user and password included; `REDIS_URL` is the
    /// caller's fallback. A secret: it may carry the password.
    pub url: Option<crate::secret::Secret>,
    /// `namespace`: the key prefix shared by every machine of one login.
    pub namespace: String,
    /// `lease_ms`: how long the refresh lease lives unless renewed by its holder.
    pub lease: std::time::Duration,
}

/// The namespace when `[auth_redis] namespace` is absent.
pub const DEFAULT_REDIS_NAMESPACE: &str = "codex-auth";
/// The refresh lease when `[auth_redis] lease_ms` is absent.
pub const DEFAULT_REDIS_LEASE: std::time::Duration = std::time::Duration::from_secs(10);

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            url: None,
            namespace: DEFAULT_REDIS_NAMESPACE.to_owned(),
            lease: DEFAULT_REDIS_LEASE,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            store_mode: StoreMode::File,
            keyring_backend: KeyringBackendKind::default(),
            forced_login_method: None,
            forced_workspace_ids: Vec::new(),
            model_provider: DEFAULT_MODEL_PROVIDER.to_owned(),
            requires_openai_auth: true,
            redis: RedisConfig::default(),
        }
    }
}

/// The provider selected when `model_provider` is absent.
pub const DEFAULT_MODEL_PROVIDER: &str = "openai";

/// Built-in providers and whether each needs OpenAI auth. User tables cannot override them.
pub const BUILT_IN_PROVIDERS: [(&str, bool); 3] =
    [("openai", true), ("ollama", false), ("lmstudio", false)];

/// Why the configuration (or the home directory) cannot be used. Fails startup.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `config.toml` exists but could not be read.
    #[error("failed to read config file {path}: {source}")]
    Read {
        /// The config file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A syntax error, or a wrong type or value for a key we honour.
    #[error("config error in {path} at line {line}, column {column}: {message}")]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// 1-based line of the offending text.
        line: usize,
        /// 1-based column (in characters) of the offending text.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// An error the parser could not place in the file.
    #[error("config error in {path}: {message}")]
    Unplaced {
        /// The config file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// `forced_chatgpt_workspace_id` is one string holding a comma.
    #[error("{}", COMMA_SEPARATED_WORKSPACE_IDS_MESSAGE)]
    CommaSeparatedWorkspaceIds {
        /// The config file (not part of the exact message).
        path: PathBuf,
    },
    /// The value an override (or the profile) gives a key we honour is wrong.
    #[error("config error in {path} with the command-line overrides: {message}")]
    Layered {
        /// The config file the overrides apply to.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The configuration cannot run under the managed requirements.
    #[error("{message} (managed requirements {path})")]
    Requirements {
        /// The requirements file.
        path: PathBuf,
        /// What conflicts.
        message: String,
    },
    /// `--profile NAME` names no profile.
    #[error(
        "config profile `{name}` not found: no {} and no [profiles.{name}] in {}",
        file.display(),
        config.display()
    )]
    UnknownProfile {
        /// The profile name.
        name: String,
        /// The profile file looked for (`$CODEX_HOME/<name>.config.toml`).
        file: PathBuf,
        /// The config file whose legacy `[profiles.*]` tables were looked in.
        config: PathBuf,
    },
    /// `CODEX_HOME` is set but does not name an existing directory.
    #[error("CODEX_HOME points to {path}, which is not an existing directory: {reason}")]
    CodexHome {
        /// The value of `CODEX_HOME`.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// `CODEX_HOME` is unset and there is no home directory to put `.codex` in.
    #[error("cannot locate the home directory; set CODEX_HOME")]
    NoHomeDir,
}

/// Reads `codex_home/config.toml` once. A missing file gives [`Config::default`].
#[cfg(test)]
pub fn load(codex_home: &Path) -> Result<Config, ConfigError> {
    load_with(codex_home, &Overrides::default())
}

/// Reads `codex_home/config.toml` once and applies `overrides` (Codex's precedence:
/// `config.toml` < the profile < `-c`). The profile is `$CODEX_HOME/<name>.config.toml` (Codex
/// 0.171), else the legacy `[profiles.<name>]` table of `config.toml`; neither is an error.
pub fn load_with(codex_home: &Path, overrides: &Overrides) -> Result<Config, ConfigError> {
    let path = codex_home.join(CONFIG_FILE_NAME);
    let text = read_text(&path)?.unwrap_or_default();
    if overrides.is_empty() {
        return parse(&text, &path);
    }
    // The file on its own first, so its errors keep their line and column (its warnings are
    // logged once, by the layered parse below).
    raw::parse_with_warnings(&text, &path)?;
    let mut table = raw::parse_table(&text, &path)?;
    if let Some(name) = &overrides.profile {
        let file = overrides::profile_path(codex_home, name);
        let layer = match read_text(&file)? {
            Some(profile) => raw::parse_table(&profile, &file)?,
            None => legacy_profile(&table, name).ok_or_else(|| ConfigError::UnknownProfile {
                name: name.clone(),
                file: file.clone(),
                config: path.clone(),
            })?,
        };
        overrides::merge(&mut table, layer);
    }
    for ConfigOverride { key, value } in &overrides.values {
        overrides::note_ignored(key);
        overrides::apply(&mut table, key, value.clone());
    }
    let layered = toml::to_string(&table).map_err(|err| ConfigError::Layered {
        path: path.clone(),
        message: err.to_string(),
    })?;
    parse(&layered, &path).map_err(|err| match err {
        ConfigError::Invalid { message, .. } | ConfigError::Unplaced { message, .. } => {
            ConfigError::Layered { path, message }
        }
        other => other,
    })
}

/// The text of the config file at `path` (read with the checks of `safe_file`); `None` when it
/// does not exist.
fn read_text(path: &Path) -> Result<Option<String>, ConfigError> {
    match crate::safe_file::read_checked(path) {
        Ok(Some(bytes)) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| ConfigError::Read {
                path: path.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not valid UTF-8"),
            }),
        Ok(None) => Ok(None),
        Err(source) => Err(ConfigError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The legacy `[profiles.<name>]` table of `config.toml`, if there is one.
fn legacy_profile(table: &toml::Table, name: &str) -> Option<toml::Table> {
    table.get("profiles")?.get(name)?.as_table().cloned()
}

/// Parses config text; `path` is only used in errors and warnings.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let (config, warnings) = raw::parse_with_warnings(text, path)?;
    for warning in &warnings {
        tracing::warn!(target: "auth_core", path = %path.display(), "{warning}");
    }
    Ok(config)
}
