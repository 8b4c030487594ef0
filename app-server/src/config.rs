//! `ServerConfig`: everything the server reads from its environment, gathered once at startup so
//! handlers never read environment variables and tests inject every value.

use std::path::PathBuf;

use auth_core::{ConfigError, resolve_codex_home};

/// Startup configuration. Build it with [`ServerConfig::from_env`] in the binary, or with
/// [`ServerConfig::new`] (no environment access) in tests.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The Codex home directory, absolute and canonical when it exists (PROTOCOL.md §3).
    pub codex_home: PathBuf,
    /// `CODEX_INTERNAL_ORIGINATOR_OVERRIDE` when set and non-empty: replaces `clientInfo.name`
    /// as the user-agent originator.
    pub originator_override: Option<String>,
    /// `TERM_PROGRAM[/TERM_PROGRAM_VERSION]`, else `TERM`, else `unknown`.
    pub terminal: String,
    /// Operating system as shown in the user agent, e.g. `Mac OS 14.5.0` or `Ubuntu 24.04`.
    pub os: String,
    /// CPU architecture as shown in the user agent, e.g. `arm64` or `x86_64`.
    pub arch: String,
    /// The version in the user agent: the `app-server` package version.
    pub version: String,
}

impl ServerConfig {
    /// A configuration with the given home and neutral values: no originator override, terminal
    /// `unknown`, the real OS and architecture. Reads no environment variables.
    pub fn new(codex_home: PathBuf) -> Self {
        let (os, arch) = os_and_arch();
        Self {
            codex_home,
            originator_override: None,
            terminal: "unknown".to_string(),
            os,
            arch,
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    /// The configuration of the real process: `CODEX_HOME` located by auth-core's rule (set:
    /// must exist; else `<home>/.codex`), and the user-agent inputs of PROTOCOL.md §3.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_with_home(None)
    }

    /// Like [`ServerConfig::from_env`], with `home` (when given) in place of `CODEX_HOME`.
    pub fn from_env_with_home(home: Option<PathBuf>) -> Result<Self, ConfigError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let env_home = home
            .map(|h| h.to_string_lossy().into_owned())
            .or_else(|| var("CODEX_HOME"));
        let codex_home = resolve_codex_home(env_home.as_deref(), std::env::home_dir().as_deref())?;
        let terminal = match (
            var("TERM_PROGRAM"),
            var("TERM_PROGRAM_VERSION"),
            var("TERM"),
        ) {
            (Some(program), Some(version), _) => format!("{program}/{version}"),
            (Some(program), None, _) => program,
            (None, _, Some(term)) => term,
            (None, _, None) => "unknown".to_string(),
        };
        Ok(Self {
            originator_override: var("CODEX_INTERNAL_ORIGINATOR_OVERRIDE"),
            terminal,
            ..Self::new(codex_home)
        })
    }
}

/// The user agent's OS and architecture. On Linux they come from `/etc/os-release` and the
/// target: `os_info` runs `lsb_release`, `getconf` and `uname` (about 24 processes, 20 ms of
/// start-up); clients rely only on the user agent's `<originator>/` prefix.
#[cfg(target_os = "linux")]
fn os_and_arch() -> (String, String) {
    let release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let field = |key: &str| {
        release.lines().find_map(|line| {
            let value = line.strip_prefix(key)?.strip_prefix('=')?;
            Some(value.trim().trim_matches('"').to_string())
        })
    };
    let name = field("NAME").map(|n| n.trim_end_matches(" GNU/Linux").to_string());
    let os = match (name, field("VERSION_ID")) {
        (Some(name), Some(version)) => format!("{name} {version}"),
        (Some(name), None) => name,
        (None, _) => "Linux".to_string(),
    };
    (os, std::env::consts::ARCH.to_string())
}

/// The user agent's OS and architecture, as Codex reports them.
#[cfg(not(target_os = "linux"))]
fn os_and_arch() -> (String, String) {
    let info = os_info::get();
    (
        format!("{} {}", info.os_type(), info.version()),
        info.architecture()
            .unwrap_or(std::env::consts::ARCH)
            .to_string(),
    )
}
