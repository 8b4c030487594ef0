//! Locating `$CODEX_HOME` (AUTH.md §2, first bullet).

use std::path::{Path, PathBuf};

use super::ConfigError;

/// Resolves the Codex home from the value of `CODEX_HOME` and the user's home directory.
///
/// A set, non-empty `env_codex_home` must name an existing directory and is canonicalized;
/// otherwise the error names the path. Unset or empty gives `<home_dir>/.codex`, canonical when
/// it exists (it need not). Pure apart from the file-system lookups, so tests pass the values in.
pub fn resolve_codex_home(
    env_codex_home: Option<&str>,
    home_dir: Option<&Path>,
) -> Result<PathBuf, ConfigError> {
    match env_codex_home {
        Some(value) if !value.is_empty() => {
            let path = PathBuf::from(value);
            let canonical = std::fs::canonicalize(&path).map_err(|err| ConfigError::CodexHome {
                path: path.clone(),
                reason: err.to_string(),
            })?;
            if canonical.is_dir() {
                Ok(canonical)
            } else {
                Err(ConfigError::CodexHome {
                    path,
                    reason: "not a directory".to_owned(),
                })
            }
        }
        _ => {
            let default = home_dir.ok_or(ConfigError::NoHomeDir)?.join(".codex");
            Ok(std::fs::canonicalize(&default).unwrap_or(default))
        }
    }
}
