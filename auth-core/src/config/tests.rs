#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::path::{Path, PathBuf};

use pretty_assertions::assert_eq;

use super::raw::{line_column, parse_with_warnings};
use super::*;

fn path() -> PathBuf {
    PathBuf::from("/tmp/home/config.toml")
}

fn ok(text: &str) -> Config {
    parse(text, &path()).unwrap()
}

fn err(text: &str) -> ConfigError {
    parse(text, &path()).unwrap_err()
}

#[test]
fn empty_text_gives_defaults() {
    let expected = Config {
        store_mode: StoreMode::File,
        keyring_backend: KeyringBackendKind::default(),
        forced_login_method: None,
        forced_workspace_ids: vec![],
        model_provider: "openai".to_owned(),
        requires_openai_auth: true,
        redis: crate::config::RedisConfig::default(),
    };
    assert_eq!(ok(""), expected);
    assert_eq!(Config::default(), expected);
}

#[test]
fn missing_file_gives_defaults_and_present_file_is_read() {
    let home = tempfile::tempdir().unwrap();
    assert_eq!(load(home.path()).unwrap(), Config::default());
    std::fs::write(
        home.path().join("config.toml"),
        "cli_auth_credentials_store = \"ephemeral\"\n",
    )
    .unwrap();
    assert_eq!(load(home.path()).unwrap().store_mode, StoreMode::Ephemeral);
}

#[test]
fn syntax_error_on_line_three_names_path_and_line() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("config.toml");
    std::fs::write(&file, "model = \"o3\"\n\nthis is not toml\n").unwrap();
    let error = load(home.path()).unwrap_err();
    match &error {
        ConfigError::Invalid { path, line, .. } => {
            assert_eq!(path, &file);
            assert_eq!(*line, 3);
        }
        other => panic!("unexpected error {other:?}"),
    }
    let text = error.to_string();
    let prefix = format!("config error in {} at line 3, column ", file.display());
    assert!(text.starts_with(&prefix), "{text}");
}

#[test]
fn unreadable_config_is_a_read_error() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join("config.toml")).unwrap();
    assert!(matches!(
        load(home.path()).unwrap_err(),
        ConfigError::Read { .. }
    ));
}

#[test]
fn unknown_keys_tables_and_profiles_are_ignored() {
    let text = "model = \"gpt-5\"\nprofile = \"work\"\napproval_policy = 3\n\
                [profiles.work]\ncli_auth_credentials_store = 42\nmodel_provider = \"nope\"\n\
                [tui]\nnotifications = true\n";
    assert_eq!(ok(text), Config::default());
}

#[test]
fn every_store_mode_is_accepted() {
    for (value, mode) in [
        ("file", StoreMode::File),
        ("keyring", StoreMode::Keyring),
        ("auto", StoreMode::Auto),
        ("ephemeral", StoreMode::Ephemeral),
        ("redis", StoreMode::Redis),
    ] {
        let config = ok(&format!("cli_auth_credentials_store = \"{value}\""));
        assert_eq!(config.store_mode, mode);
        assert_eq!(mode.as_str(), value);
    }
}

#[test]
fn wrong_store_value_points_at_the_value() {
    let error = err("# comment\ncli_auth_credentials_store = \"vault\"\n");
    assert_eq!(
        error.to_string(),
        "config error in /tmp/home/config.toml at line 2, column 30: cli_auth_credentials_store: \
         unknown value \"vault\", expected \"file\", \"keyring\", \"auto\", \"ephemeral\" or \"redis\""
    );
}

#[test]
fn wrong_store_type_is_located() {
    let error = err("cli_auth_credentials_store = 1\n");
    match error {
        ConfigError::Invalid {
            line,
            column,
            message,
            ..
        } => {
            assert_eq!((line, column), (1, 30));
            assert!(message.contains("string"), "{message}");
        }
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn forced_login_method_values() {
    assert_eq!(
        ok("forced_login_method = \"chatgpt\"").forced_login_method,
        Some(ForcedLoginMethod::Chatgpt)
    );
    assert_eq!(
        ok("forced_login_method = \"api\"").forced_login_method,
        Some(ForcedLoginMethod::Api)
    );
    assert_eq!(
        err("forced_login_method = \"sso\"").to_string(),
        "config error in /tmp/home/config.toml at line 1, column 23: forced_login_method: \
         unknown value \"sso\", expected \"chatgpt\" or \"api\""
    );
    assert!(matches!(
        err("forced_login_method = true"),
        ConfigError::Invalid { line: 1, .. }
    ));
}

#[test]
fn comma_separated_workspace_string_fails_with_exact_message() {
    let error = err("forced_chatgpt_workspace_id = \"a,b\"");
    assert!(matches!(
        error,
        ConfigError::CommaSeparatedWorkspaceIds { .. }
    ));
    assert_eq!(
        error.to_string(),
        "forced_chatgpt_workspace_id must be a single workspace ID string or a TOML list of \
         strings; comma-separated strings are not supported. Use `forced_chatgpt_workspace_id = \
         [\"123e4567-e89b-42d3-a456-426614174000\", \"123e4567-e89b-42d3-a456-426614174001\"]` \
         instead."
    );
}

#[test]
fn workspace_ids_are_trimmed_and_blanks_dropped() {
    let ids = |text: &str| ok(text).forced_workspace_ids;
    assert_eq!(
        ids("forced_chatgpt_workspace_id = [\"\", \" ws1 \", \"ws2\"]"),
        vec!["ws1".to_owned(), "ws2".to_owned()]
    );
    assert_eq!(
        ids("forced_chatgpt_workspace_id = \" ws9 \""),
        vec!["ws9".to_owned()]
    );
    assert!(ids("forced_chatgpt_workspace_id = []").is_empty());
    assert!(ids("forced_chatgpt_workspace_id = \"  \"").is_empty());
}

#[test]
fn workspace_ids_of_the_wrong_type_are_located() {
    for text in [
        "forced_chatgpt_workspace_id = 7",
        "forced_chatgpt_workspace_id = [\"ws1\", 2]",
    ] {
        let error = err(text);
        assert_eq!(
            error.to_string(),
            "config error in /tmp/home/config.toml at line 1, column 31: \
             forced_chatgpt_workspace_id must be a string or a list of strings",
            "{text}"
        );
    }
}

#[test]
fn custom_provider_without_flag_does_not_require_openai_auth() {
    let config = ok(
        "model_provider = \"custom\"\n[model_providers.custom]\nname = \"Custom\"\n\
         base_url = \"http://127.0.0.1:1/v1\"\n",
    );
    assert_eq!(config.model_provider, "custom");
    assert!(!config.requires_openai_auth);
    let config =
        ok("model_provider = \"azure\"\n[model_providers.azure]\nrequires_openai_auth = true\n");
    assert!(config.requires_openai_auth);
}

#[test]
fn built_in_providers() {
    assert!(ok("model_provider = \"openai\"").requires_openai_auth);
    assert!(!ok("model_provider = \"ollama\"").requires_openai_auth);
    assert!(!ok("model_provider = \"lmstudio\"").requires_openai_auth);
}

#[test]
fn user_table_for_a_built_in_is_ignored_with_a_warning() {
    let text = "[model_providers.openai]\nrequires_openai_auth = false\n\
                [model_providers.ollama]\nrequires_openai_auth = true\n";
    let (config, warnings) = parse_with_warnings(text, &path()).unwrap();
    assert!(config.requires_openai_auth);
    assert_eq!(
        warnings,
        vec![
            "ignoring [model_providers.ollama]: built-in providers cannot be overridden",
            "ignoring [model_providers.openai]: built-in providers cannot be overridden",
        ]
    );
    assert!(!ok(&format!("model_provider = \"ollama\"\n{text}")).requires_openai_auth);
}

#[test]
fn undefined_provider_names_the_id_and_the_file() {
    let text = err("model_provider = \"custom\"\n[model_providers.other]\n").to_string();
    assert_eq!(
        text,
        "config error in /tmp/home/config.toml at line 1, column 18: model_provider \"custom\" \
         is not a built-in provider and has no [model_providers.custom] table"
    );
}

#[test]
fn wrong_requires_openai_auth_type_is_located() {
    let error = err("[model_providers.x]\nrequires_openai_auth = \"yes\"\n");
    assert!(
        matches!(error, ConfigError::Invalid { line: 2, .. }),
        "{error:?}"
    );
}

#[test]
fn line_column_counts_characters_from_one() {
    let text = "a = 1\néé = x\n";
    assert_eq!(line_column(text, 0), (1, 1));
    assert_eq!(line_column(text, 6), (2, 1));
    assert_eq!(line_column(text, 10), (2, 3));
    assert_eq!(line_column(text, 7), (2, 1)); // inside a character: its start
    assert_eq!(line_column(text, 999), (3, 1));
}

#[test]
fn codex_home_set_must_exist_and_is_canonicalized() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a");
    std::fs::create_dir(&nested).unwrap();
    let dotted = format!("{}/a/../a", dir.path().display());
    let resolved = resolve_codex_home(Some(&dotted), None).unwrap();
    assert_eq!(resolved, std::fs::canonicalize(&nested).unwrap());

    let missing = dir.path().join("missing");
    let error = resolve_codex_home(Some(missing.to_str().unwrap()), Some(dir.path())).unwrap_err();
    assert!(
        error.to_string().contains(missing.to_str().unwrap()),
        "{error}"
    );

    let file = dir.path().join("file");
    std::fs::write(&file, "").unwrap();
    let error = resolve_codex_home(Some(file.to_str().unwrap()), None).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "CODEX_HOME points to {}, which is not an existing directory: not a directory",
            file.display()
        )
    );
}

#[test]
fn codex_home_unset_or_empty_uses_dot_codex_which_need_not_exist() {
    let home = Path::new("/nonexistent/user");
    for env in [None, Some("")] {
        assert_eq!(
            resolve_codex_home(env, Some(home)).unwrap(),
            PathBuf::from("/nonexistent/user/.codex")
        );
    }
    assert!(matches!(
        resolve_codex_home(None, None).unwrap_err(),
        ConfigError::NoHomeDir
    ));
}

fn overrides(profile: Option<&str>, values: &[&str]) -> Overrides {
    Overrides {
        profile: profile.map(str::to_owned),
        values: values.iter().map(|raw| raw.parse().unwrap()).collect(),
    }
}

fn home_with(config: &str) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("config.toml"), config).unwrap();
    home
}

#[test]
fn command_line_overrides_set_honoured_keys_over_the_file() {
    let home =
        home_with("cli_auth_credentials_store = \"keyring\"\nforced_login_method = \"api\"\n");
    let layered = load_with(
        home.path(),
        &overrides(
            None,
            &[
                "cli_auth_credentials_store=ephemeral",
                r#"forced_chatgpt_workspace_id=["ws-1", " ws-2 "]"#,
                "model_provider=local",
                "model_providers.local.requires_openai_auth=false",
                "forced_login_method=chatgpt",
                "sandbox_mode=\"read-only\"",
                "features.web_search=true",
            ],
        ),
    )
    .unwrap();
    assert_eq!(
        layered,
        Config {
            store_mode: StoreMode::Ephemeral,
            forced_login_method: Some(ForcedLoginMethod::Chatgpt),
            forced_workspace_ids: vec!["ws-1".to_owned(), "ws-2".to_owned()],
            model_provider: "local".to_owned(),
            requires_openai_auth: false,
            ..Config::default()
        }
    );
    // Without overrides the file alone applies.
    assert_eq!(
        load_with(home.path(), &Overrides::default())
            .unwrap()
            .store_mode,
        StoreMode::Keyring
    );
}

#[test]
fn a_bad_override_value_is_an_error_naming_the_key() {
    let home = home_with("");
    let err = load_with(
        home.path(),
        &overrides(None, &["forced_login_method=magic"]),
    )
    .unwrap_err();
    assert!(matches!(err, ConfigError::Layered { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("with the command-line overrides"), "{text}");
    assert!(text.contains("forced_login_method"), "{text}");
    // An error in the file itself keeps its line and column even with overrides.
    let home = home_with("\nforced_login_method = 7\n");
    let err = load_with(home.path(), &overrides(None, &["model_provider=openai"])).unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Invalid {
                line: 2,
                column: 23,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_profile_file_layers_between_the_file_and_the_overrides() {
    let home = home_with("model_provider = \"openai\"\nforced_login_method = \"api\"\n");
    std::fs::write(
        profile_path(home.path(), "work"),
        "model_provider = \"ollama\"\nforced_login_method = \"chatgpt\"\n",
    )
    .unwrap();
    let profiled = load_with(home.path(), &overrides(Some("work"), &[])).unwrap();
    assert_eq!(profiled.model_provider, "ollama");
    assert!(!profiled.requires_openai_auth);
    assert_eq!(
        profiled.forced_login_method,
        Some(ForcedLoginMethod::Chatgpt)
    );
    let overridden = load_with(
        home.path(),
        &overrides(Some("work"), &["forced_login_method=api"]),
    )
    .unwrap();
    assert_eq!(overridden.model_provider, "ollama");
    assert_eq!(overridden.forced_login_method, Some(ForcedLoginMethod::Api));
}

#[test]
fn a_legacy_profile_table_applies_when_there_is_no_profile_file() {
    let home =
        home_with("model_provider = \"openai\"\n[profiles.local]\nmodel_provider = \"lmstudio\"\n");
    let profiled = load_with(home.path(), &overrides(Some("local"), &[])).unwrap();
    assert_eq!(profiled.model_provider, "lmstudio");
    assert!(!profiled.requires_openai_auth);
    // Without --profile the legacy tables are ignored.
    assert_eq!(load(home.path()).unwrap().model_provider, "openai");
    let err = load_with(home.path(), &overrides(Some("nope"), &[])).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("config profile `nope` not found"),
        "{err}"
    );
}

#[test]
fn auth_redis_table_is_read_with_defaults_and_validated() {
    let config = ok("cli_auth_credentials_store = \"redis\"\n");
    assert_eq!(config.redis, crate::config::RedisConfig::default());
    assert_eq!(config.redis.namespace, "codex-auth");
    assert_eq!(config.redis.url, None);

    let config = ok(
        "[auth_redis]\nurl = \"rediss://fleet:pw-secret@cache:6380/2\"\nnamespace = \" team \"\nlease_ms = 1500\nother = 1\n",
    );
    assert_eq!(
        config.redis.url.as_ref().map(|u| u.expose()),
        Some("rediss://fleet:pw-secret@cache:6380/2")
    );
    assert_eq!(config.redis.namespace, "team");
    assert_eq!(config.redis.lease, std::time::Duration::from_millis(1500));
    assert!(!format!("{config:?}").contains("pw-secret"));

    let error = err("[auth_redis]\nurl = \"http://u:pw-secret@host\"\n");
    assert_eq!(
        error.to_string(),
        "config error in /tmp/home/config.toml at line 2, column 7: auth_redis.url must start \
         with redis:// or rediss://"
    );
    assert!(!error.to_string().contains("pw-secret"));
    let error = err("[auth_redis]\nnamespace = \"  \"\n");
    assert!(
        error
            .to_string()
            .ends_with("auth_redis.namespace must not be empty"),
        "{error}"
    );
    let error = err("[auth_redis]\nlease_ms = 5\n");
    assert!(
        error
            .to_string()
            .ends_with("auth_redis.lease_ms must be between 100 and 600000, got 5"),
        "{error}"
    );
}

#[test]
fn secret_auth_storage_selects_the_keyring_backend_like_codex() {
    let default = if cfg!(windows) {
        KeyringBackendKind::Secrets
    } else {
        KeyringBackendKind::Direct
    };
    assert_eq!(ok("").keyring_backend, default);
    assert_eq!(
        ok("[features]\nsecret_auth_storage = true\n").keyring_backend,
        KeyringBackendKind::Secrets
    );
    assert_eq!(
        ok("[features]\nsecret_auth_storage = false\nunified_exec = true\n").keyring_backend,
        KeyringBackendKind::Direct
    );
    let error = err("[features]\nsecret_auth_storage = \"yes\"\n").to_string();
    assert!(
        error.starts_with("config error in /tmp/home/config.toml at line 2, column 23:"),
        "{error}"
    );
}
