//! Login restrictions from `config.toml` (AUTH.md §8.5): the forced login method and the allowed
//! workspaces. Pure functions; the manager decides what to do with a violation.

use crate::auth_json::AuthMode;
use crate::config::{Config, ForcedLoginMethod};

/// Codex's text for an API-key login under `forced_login_method = "chatgpt"`.
pub const API_KEY_LOGIN_DISABLED: &str = "API key login is disabled. Use ChatGPT login instead.";
/// Codex's text for a ChatGPT login under `forced_login_method = "api"`.
pub const CHATGPT_LOGIN_DISABLED: &str = "ChatGPT login is disabled. Use API key login instead.";
/// Codex's text for external tokens under `forced_login_method = "api"`.
pub const EXTERNAL_AUTH_DISABLED: &str =
    "External ChatGPT auth is disabled. Use API key login instead.";

/// Why loaded credentials break the configured restrictions, as Codex's logout message; `None`
/// when they comply. `account_id` is the credentials' workspace id.
pub fn violation(config: &Config, mode: AuthMode, account_id: Option<&str>) -> Option<String> {
    match (config.forced_login_method, mode) {
        (Some(ForcedLoginMethod::Chatgpt), AuthMode::ApiKey) => {
            return Some(
                "ChatGPT login is required, but an API key is currently being used. Logging out."
                    .to_owned(),
            );
        }
        (Some(ForcedLoginMethod::Api), AuthMode::Chatgpt | AuthMode::ChatgptAuthTokens) => {
            return Some(
                "API key login is required, but ChatGPT is currently being used. Logging out."
                    .to_owned(),
            );
        }
        _ => {}
    }
    if config.forced_workspace_ids.is_empty() || mode == AuthMode::ApiKey {
        return None;
    }
    let ids = config.forced_workspace_ids.join(", ");
    match account_id {
        Some(id) if config.forced_workspace_ids.iter().any(|w| w == id) => None,
        Some(id) => Some(format!(
            "Login is restricted to workspace(s) {ids}, but current credentials belong to {id}. Logging out."
        )),
        None => Some(format!(
            "Login is restricted to workspace(s) {ids}, but current credentials lack a workspace identifier. Logging out."
        )),
    }
}

/// The workspace check of a browser or device-code login (AUTH.md §8.5 last bullet).
pub fn check_login_workspace(config: &Config, workspace_id: Option<&str>) -> Result<(), String> {
    if config.forced_workspace_ids.is_empty() {
        return Ok(());
    }
    match workspace_id {
        None => Err("Login is restricted to a specific workspace, but the token did not include an chatgpt_account_id claim.".to_owned()),
        Some(id) if config.forced_workspace_ids.iter().any(|w| w == id) => Ok(()),
        Some(_) => Err(format!(
            "Login is restricted to workspace id(s) {}.",
            config.forced_workspace_ids.join(", ")
        )),
    }
}

/// The workspace check of external tokens (PROTOCOL.md §2 text).
pub fn check_external_workspace(config: &Config, account_id: &str) -> Result<(), String> {
    if config.forced_workspace_ids.is_empty()
        || config.forced_workspace_ids.iter().any(|w| w == account_id)
    {
        return Ok(());
    }
    let ids = config
        .forced_workspace_ids
        .iter()
        .map(|w| format!("\"{w}\""))
        .collect::<Vec<_>>()
        .join(", ");
    Err(format!(
        "External auth must use one of workspace(s) [{ids}], but received \"{account_id}\"."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(method: Option<ForcedLoginMethod>, ws: &[&str]) -> Config {
        Config {
            forced_login_method: method,
            forced_workspace_ids: ws.iter().map(|s| (*s).to_owned()).collect(),
            ..Config::default()
        }
    }

    #[test]
    fn forced_method_messages_are_codex_texts() {
        let c = config(Some(ForcedLoginMethod::Chatgpt), &[]);
        assert_eq!(
            violation(&c, AuthMode::ApiKey, None).as_deref(),
            Some("ChatGPT login is required, but an API key is currently being used. Logging out.")
        );
        assert_eq!(violation(&c, AuthMode::Chatgpt, None), None);
        let c = config(Some(ForcedLoginMethod::Api), &[]);
        assert_eq!(
            violation(&c, AuthMode::Chatgpt, None).as_deref(),
            Some("API key login is required, but ChatGPT is currently being used. Logging out.")
        );
    }

    #[test]
    fn workspace_restriction_messages() {
        let c = config(None, &["ws1", "ws2"]);
        assert_eq!(violation(&c, AuthMode::Chatgpt, Some("ws2")), None);
        assert_eq!(violation(&c, AuthMode::ApiKey, None), None);
        assert_eq!(
            violation(&c, AuthMode::Chatgpt, Some("ws9")).as_deref(),
            Some(
                "Login is restricted to workspace(s) ws1, ws2, but current credentials belong to ws9. Logging out."
            )
        );
        assert_eq!(
            check_login_workspace(&c, Some("ws9")),
            Err("Login is restricted to workspace id(s) ws1, ws2.".to_owned())
        );
        assert_eq!(
            check_external_workspace(&c, "ws9"),
            Err("External auth must use one of workspace(s) [\"ws1\", \"ws2\"], but received \"ws9\".".to_owned())
        );
    }
}
