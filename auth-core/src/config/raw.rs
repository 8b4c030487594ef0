//! The serde view of `config.toml` and its validation into [`Config`].

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::{
    BUILT_IN_PROVIDERS, Config, ConfigError, DEFAULT_MODEL_PROVIDER, ForcedLoginMethod,
    KeyringBackendKind, StoreMode,
};

/// Only the keys we honour; serde ignores every other key and table.
#[derive(Debug, Default, Deserialize)]
struct RawConfig {
    cli_auth_credentials_store: Option<Spanned<String>>,
    forced_login_method: Option<Spanned<String>>,
    forced_chatgpt_workspace_id: Option<Spanned<toml::Value>>,
    model_provider: Option<Spanned<String>>,
    #[serde(default)]
    model_providers: BTreeMap<String, RawProvider>,
    #[serde(default)]
    features: RawFeatures,
    auth_redis: Option<RawRedis>,
}

/// The `[features]` table; features other than `secret_auth_storage` are ignored.
#[derive(Debug, Default, Deserialize)]
struct RawFeatures {
    secret_auth_storage: Option<bool>,
}

/// The `[auth_redis]` table; other keys in it are ignored.
#[derive(Debug, Default, Deserialize)]
struct RawRedis {
    url: Option<Spanned<String>>,
    namespace: Option<Spanned<String>>,
    lease_ms: Option<Spanned<i64>>,
}

/// A `[model_providers.<id>]` table; keys other than `requires_openai_auth` are ignored.
#[derive(Debug, Default, Deserialize)]
struct RawProvider {
    requires_openai_auth: Option<bool>,
}

/// Parses `text` as a TOML table (syntax only); errors name the line and column.
pub(super) fn parse_table(text: &str, path: &Path) -> Result<toml::Table, ConfigError> {
    toml::from_str(text).map_err(|err| match err.span() {
        Some(span) => located_error(text, path, span, err.message().to_owned()),
        None => ConfigError::Unplaced {
            path: path.to_path_buf(),
            message: err.message().to_owned(),
        },
    })
}

/// Parses and validates `text`, returning the config and the warnings to log.
pub(super) fn parse_with_warnings(
    text: &str,
    path: &Path,
) -> Result<(Config, Vec<String>), ConfigError> {
    let located = |span: Range<usize>, message: String| located_error(text, path, span, message);
    let raw: RawConfig = toml::from_str(text).map_err(|err| match err.span() {
        Some(span) => located(span, err.message().to_owned()),
        None => ConfigError::Unplaced {
            path: path.to_path_buf(),
            message: err.message().to_owned(),
        },
    })?;

    let mut config = Config::default();
    if let Some(value) = raw.cli_auth_credentials_store {
        config.store_mode = value
            .get_ref()
            .parse::<StoreMode>()
            .map_err(|err| located(value.span(), format!("cli_auth_credentials_store: {err}")))?;
    }
    if let Some(enabled) = raw.features.secret_auth_storage {
        config.keyring_backend = KeyringBackendKind::from_secret_auth_storage(enabled);
    }
    if let Some(value) = raw.forced_login_method {
        let method = value
            .get_ref()
            .parse::<ForcedLoginMethod>()
            .map_err(|err| located(value.span(), format!("forced_login_method: {err}")))?;
        config.forced_login_method = Some(method);
    }
    if let Some(value) = raw.forced_chatgpt_workspace_id {
        config.forced_workspace_ids = workspace_ids(value.get_ref()).map_err(|err| match err {
            WorkspaceIdsError::Comma => ConfigError::CommaSeparatedWorkspaceIds {
                path: path.to_path_buf(),
            },
            WorkspaceIdsError::Type => located(
                value.span(),
                "forced_chatgpt_workspace_id must be a string or a list of strings".to_owned(),
            ),
        })?;
    }

    if let Some(redis) = raw.auth_redis {
        if let Some(url) = redis.url {
            let scheme_ok = ["redis://", "rediss://", "redis+unix://", "unix://"]
                .iter()
                .any(|scheme| url.get_ref().starts_with(scheme));
            if !scheme_ok {
                // The value may hold a password: the message names the key only.
                return Err(located(
                    url.span(),
                    "auth_redis.url must start with redis:// or rediss://".to_owned(),
                ));
            }
            config.redis.url = Some(crate::secret::Secret::new(url.into_inner()));
        }
        if let Some(namespace) = redis.namespace {
            let trimmed = namespace.get_ref().trim();
            if trimmed.is_empty() {
                return Err(located(
                    namespace.span(),
                    "auth_redis.namespace must not be empty".to_owned(),
                ));
            }
            config.redis.namespace = trimmed.to_owned();
        }
        if let Some(lease) = redis.lease_ms {
            let ms = *lease.get_ref();
            if !(100..=600_000).contains(&ms) {
                return Err(located(
                    lease.span(),
                    format!("auth_redis.lease_ms must be between 100 and 600000, got {ms}"),
                ));
            }
            config.redis.lease = std::time::Duration::from_millis(ms as u64);
        }
    }

    let mut warnings = Vec::new();
    let mut providers: BTreeMap<String, bool> = BTreeMap::new();
    for (id, table) in raw.model_providers {
        if BUILT_IN_PROVIDERS
            .iter()
            .any(|(built_in, _)| *built_in == id)
        {
            warnings.push(format!(
                "ignoring [model_providers.{id}]: built-in providers cannot be overridden"
            ));
            continue;
        }
        let requires = table.requires_openai_auth.unwrap_or(false);
        providers.insert(id, requires);
    }
    for (id, requires) in BUILT_IN_PROVIDERS {
        providers.insert(id.to_owned(), requires);
    }

    let (provider, span) = match raw.model_provider {
        Some(value) => {
            let span = value.span();
            (value.into_inner(), Some(span))
        }
        None => (DEFAULT_MODEL_PROVIDER.to_owned(), None),
    };
    config.requires_openai_auth = match (providers.get(&provider), span) {
        (Some(requires), _) => *requires,
        (None, Some(span)) => {
            return Err(located(
                span,
                format!(
                    "model_provider {provider:?} is not a built-in provider and has no [model_providers.{provider}] table"
                ),
            ));
        }
        (None, None) => true,
    };
    config.model_provider = provider;
    Ok((config, warnings))
}

enum WorkspaceIdsError {
    Comma,
    Type,
}

/// Trims entries and drops blanks; a single string holding a comma is rejected.
fn workspace_ids(value: &toml::Value) -> Result<Vec<String>, WorkspaceIdsError> {
    let entries: Vec<&str> = match value {
        toml::Value::String(single) if single.contains(',') => {
            return Err(WorkspaceIdsError::Comma);
        }
        toml::Value::String(single) => vec![single.as_str()],
        toml::Value::Array(list) => list
            .iter()
            .map(|item| item.as_str().ok_or(WorkspaceIdsError::Type))
            .collect::<Result<_, _>>()?,
        _ => return Err(WorkspaceIdsError::Type),
    };
    Ok(entries
        .into_iter()
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect())
}

/// Builds [`ConfigError::Invalid`] with the 1-based line and column of `span.start`.
fn located_error(text: &str, path: &Path, span: Range<usize>, message: String) -> ConfigError {
    let (line, column) = line_column(text, span.start);
    ConfigError::Invalid {
        path: path.to_path_buf(),
        line,
        column,
        message,
    }
}

/// 1-based line and character column of a byte offset (clamped to the text).
pub(super) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}
