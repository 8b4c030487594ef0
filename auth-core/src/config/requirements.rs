//! Codex's managed requirements (`requirements.toml`, AUTH.md §2): what an administrator allows,
//! applied over the user's configuration as Codex applies them. Only the auth keys are read:
//! `allowed_login_methods`, `allowed_chatgpt_workspaces` and `cli_auth_credentials_store`; every
//! other key is Codex's business and ignored. Codex reads `/etc/codex/requirements.toml` on Unix
//! (also MDM profiles on macOS and cloud requirements for ChatGPT business workspaces, which we
//! do not read).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Config, ConfigError, ForcedLoginMethod, StoreMode, raw};

/// Where Codex reads managed requirements on Unix.
pub const SYSTEM_REQUIREMENTS_PATH: &str = "/etc/codex/requirements.toml";

/// The auth keys of a `requirements.toml`; absent keys impose nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirements {
    /// `allowed_login_methods = ["chatgpt", "api"]`.
    pub allowed_login_methods: Option<Vec<ForcedLoginMethod>>,
    /// `allowed_chatgpt_workspaces = ["<workspace id>", …]`.
    pub allowed_chatgpt_workspaces: Option<Vec<String>>,
    /// `cli_auth_credentials_store`: the store, whatever the user configured.
    pub cli_auth_credentials_store: Option<StoreMode>,
    /// The file they came from, for messages.
    pub source: PathBuf,
}

#[derive(Deserialize)]
struct RawRequirements {
    allowed_login_methods: Option<Vec<String>>,
    allowed_chatgpt_workspaces: Option<Vec<String>>,
    cli_auth_credentials_store: Option<String>,
}

/// Reads the requirements at `path`; a missing file imposes nothing. A malformed file, or a wrong
/// value for one of the auth keys, is an error naming the file.
pub fn load_requirements(path: &Path) -> Result<Requirements, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Requirements {
                source: path.to_path_buf(),
                ..Requirements::default()
            });
        }
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let table = raw::parse_table(&text, path)?;
    let invalid = |message: String| ConfigError::Unplaced {
        path: path.to_path_buf(),
        message,
    };
    let parsed: RawRequirements = toml::Value::Table(table)
        .try_into()
        .map_err(|err: toml::de::Error| invalid(err.message().to_owned()))?;
    let allowed_login_methods = parsed
        .allowed_login_methods
        .map(|methods| {
            methods
                .iter()
                .map(|method| method.parse::<ForcedLoginMethod>())
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()
        .map_err(|err| invalid(format!("allowed_login_methods: {err}")))?;
    let cli_auth_credentials_store = parsed
        .cli_auth_credentials_store
        .map(|store| store.parse::<StoreMode>())
        .transpose()
        .map_err(|err| invalid(format!("cli_auth_credentials_store: {err}")))?;
    let allowed_chatgpt_workspaces = parsed.allowed_chatgpt_workspaces.map(|ids| {
        ids.into_iter()
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty())
            .collect()
    });
    Ok(Requirements {
        allowed_login_methods,
        allowed_chatgpt_workspaces,
        cli_auth_credentials_store,
        source: path.to_path_buf(),
    })
}

/// Why the configuration cannot run under the requirements.
fn conflict(requirements: &Requirements, message: String) -> ConfigError {
    ConfigError::Requirements {
        path: requirements.source.clone(),
        message,
    }
}

/// `config` restricted by `requirements`, as Codex resolves them:
/// - `cli_auth_credentials_store` replaces the configured store (logged when they differ);
/// - the allowed workspaces are the configured `forced_chatgpt_workspace_id` that the
///   requirements allow, else all the requirements allow; none left means no ChatGPT login;
/// - a configured `forced_login_method` the requirements do not allow is an error; without one,
///   a single allowed method becomes the forced one; nothing allowed is an error.
pub fn apply_requirements(
    mut config: Config,
    requirements: &Requirements,
) -> Result<Config, ConfigError> {
    let source = requirements.source.display();
    if let Some(store) = requirements.cli_auth_credentials_store {
        if store != config.store_mode {
            tracing::warn!(target: "auth_core", %source, required = store.as_str(),
                configured = config.store_mode.as_str(),
                "cli_auth_credentials_store is overridden by the managed requirements");
        }
        config.store_mode = store;
    }
    let mut chatgpt_possible = true;
    if let Some(allowed) = &requirements.allowed_chatgpt_workspaces {
        let effective: Vec<String> = if config.forced_workspace_ids.is_empty() {
            allowed.clone()
        } else {
            config
                .forced_workspace_ids
                .iter()
                .filter(|id| allowed.contains(id))
                .cloned()
                .collect()
        };
        chatgpt_possible = !effective.is_empty();
        config.forced_workspace_ids = effective;
    }
    let (chatgpt, api) = match &requirements.allowed_login_methods {
        Some(methods) => (
            methods.contains(&ForcedLoginMethod::Chatgpt),
            methods.contains(&ForcedLoginMethod::Api),
        ),
        None => (true, true),
    };
    let chatgpt = chatgpt && chatgpt_possible;
    config.forced_login_method = match (config.forced_login_method, chatgpt, api) {
        (Some(ForcedLoginMethod::Chatgpt), true, _) => Some(ForcedLoginMethod::Chatgpt),
        (Some(ForcedLoginMethod::Api), _, true) => Some(ForcedLoginMethod::Api),
        (Some(configured), _, _) => {
            return Err(conflict(
                requirements,
                format!(
                    "configured `forced_login_method = \"{}\"` conflicts with the managed requirements (allowed_login_methods, allowed_chatgpt_workspaces)",
                    configured.as_str()
                ),
            ));
        }
        (None, true, true) => None,
        (None, true, false) => Some(ForcedLoginMethod::Chatgpt),
        (None, false, true) => Some(ForcedLoginMethod::Api),
        (None, false, false) => {
            return Err(conflict(
                requirements,
                "the managed requirements do not permit any usable login method".to_owned(),
            ));
        }
    };
    Ok(config)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn requirements(text: &str) -> (tempfile::TempDir, Requirements) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("requirements.toml");
        std::fs::write(&path, text).unwrap();
        let loaded = load_requirements(&path).unwrap();
        (dir, loaded)
    }

    fn config(method: Option<ForcedLoginMethod>, workspaces: &[&str]) -> Config {
        Config {
            forced_login_method: method,
            forced_workspace_ids: workspaces.iter().map(|w| (*w).to_owned()).collect(),
            ..Config::default()
        }
    }

    #[test]
    fn a_missing_file_imposes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let none = load_requirements(&dir.path().join("absent.toml")).unwrap();
        assert_eq!(none.allowed_login_methods, None);
        let configured = config(Some(ForcedLoginMethod::Api), &["ws"]);
        assert_eq!(
            apply_requirements(configured.clone(), &none).unwrap(),
            configured
        );
    }

    #[test]
    fn a_single_allowed_method_is_forced_and_a_conflicting_one_is_an_error() {
        let (_dir, req) = requirements("allowed_login_methods = [\"chatgpt\"]\nother = 1\n");
        let applied = apply_requirements(config(None, &[]), &req).unwrap();
        assert_eq!(
            applied.forced_login_method,
            Some(ForcedLoginMethod::Chatgpt)
        );
        let err = apply_requirements(config(Some(ForcedLoginMethod::Api), &[]), &req).unwrap_err();
        assert!(
            err.to_string()
                .contains("`forced_login_method = \"api\"` conflicts"),
            "{err}"
        );
        let (_dir, both) = requirements("allowed_login_methods = [\"api\", \"chatgpt\"]\n");
        assert_eq!(
            apply_requirements(config(None, &[]), &both)
                .unwrap()
                .forced_login_method,
            None
        );
        let (_dir, none) = requirements("allowed_login_methods = []\n");
        let err = apply_requirements(config(None, &[]), &none).unwrap_err();
        assert!(
            err.to_string()
                .contains("do not permit any usable login method"),
            "{err}"
        );
    }

    #[test]
    fn workspaces_are_intersected_and_none_left_forbids_chatgpt() {
        let (_dir, req) = requirements("allowed_chatgpt_workspaces = [\"ws-a\", \" ws-b \"]\n");
        let applied = apply_requirements(config(None, &[]), &req).unwrap();
        assert_eq!(applied.forced_workspace_ids, ["ws-a", "ws-b"]);
        let applied = apply_requirements(config(None, &["ws-b", "ws-c"]), &req).unwrap();
        assert_eq!(applied.forced_workspace_ids, ["ws-b"]);
        // No allowed workspace left: only API keys.
        let applied = apply_requirements(config(None, &["ws-c"]), &req).unwrap();
        assert_eq!(applied.forced_login_method, Some(ForcedLoginMethod::Api));
        let err = apply_requirements(config(Some(ForcedLoginMethod::Chatgpt), &["ws-c"]), &req)
            .unwrap_err();
        assert!(matches!(err, ConfigError::Requirements { .. }), "{err:?}");
    }

    #[test]
    fn the_required_store_replaces_the_configured_one() {
        let (_dir, req) = requirements("cli_auth_credentials_store = \"ephemeral\"\n");
        let configured = Config {
            store_mode: StoreMode::Keyring,
            ..Config::default()
        };
        assert_eq!(
            apply_requirements(configured, &req).unwrap().store_mode,
            StoreMode::Ephemeral
        );
    }

    #[test]
    fn bad_values_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("requirements.toml");
        std::fs::write(&path, "allowed_login_methods = [\"password\"]\n").unwrap();
        let err = load_requirements(&path).unwrap_err().to_string();
        assert!(
            err.contains("requirements.toml") && err.contains("password"),
            "{err}"
        );
        std::fs::write(&path, "allowed_login_methods = \"api\"\n").unwrap();
        assert!(load_requirements(&path).is_err());
        std::fs::write(&path, "allowed_login_methods = [\n").unwrap();
        assert!(matches!(
            load_requirements(&path).unwrap_err(),
            ConfigError::Invalid { .. }
        ));
    }
}
