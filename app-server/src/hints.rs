//! The `hint:` line under a fatal error: what the user can do about it, where we know.

use crate::commands::CommandError;
use auth_core::ConfigError;

use crate::startup::StartupError;

/// A hint for `err`, if one of ours is in its chain.
pub fn for_error(err: &anyhow::Error) -> Option<String> {
    err.chain().find_map(|cause| {
        if let Some(startup) = cause.downcast_ref::<StartupError>() {
            return for_startup(startup);
        }
        match cause.downcast_ref::<CommandError>() {
            Some(CommandError::Startup(startup)) => for_startup(startup),
            _ => None,
        }
    })
}

fn for_startup(err: &StartupError) -> Option<String> {
    Some(match err {
        StartupError::Config(ConfigError::CodexHome { path, .. }) => format!(
            "create it (`mkdir -m 700 {}`), or unset CODEX_HOME to use ~/.codex; `app-server \
             login` creates it",
            path.display()
        ),
        StartupError::Config(ConfigError::NoHomeDir) => {
            "set CODEX_HOME to the directory that holds auth.json".to_owned()
        }
        StartupError::Config(_) => {
            "fix config.toml at the place shown, or move it aside to use the defaults".to_owned()
        }
        StartupError::Manager(_) | StartupError::Demo(_) | StartupError::NoDemo => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_codex_home_gets_a_hint_naming_it() {
        let err = anyhow::Error::from(CommandError::Startup(StartupError::Config(
            ConfigError::CodexHome {
                path: "/nowhere/home".into(),
                reason: "No such file or directory (os error 2)".to_owned(),
            },
        )));
        let hint = for_error(&err);
        assert!(
            hint.as_deref()
                .is_some_and(|h| h.contains("mkdir -m 700 /nowhere/home")),
            "{hint:?}"
        );
    }

    #[test]
    fn errors_of_other_kinds_get_no_hint() {
        assert_eq!(for_error(&anyhow::anyhow!("something else")), None);
    }
}
