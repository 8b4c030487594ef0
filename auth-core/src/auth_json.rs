//! The `auth.json` data model (AUTH.md §1.1, §1.2) and the refresh merge (§5).
//!
//! [`StoredAuth`] is the modelled data plus the unknown keys we preserve (in order) when we
//! rewrite the same credentials. Parse errors keep only a category and a position: serde's
//! message text can quote secret values.

use std::fmt;

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::fingerprint::Fingerprint;
use crate::secret::Secret;
use crate::token_endpoint::TokenResponse;

mod tokens;
pub use tokens::{IdToken, TokenData};

/// The resolved authentication mode (AUTH.md §1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// The bearer is the API key.
    ApiKey,
    /// Managed ChatGPT login; refreshable when the refresh token is non-empty.
    Chatgpt,
    /// Tokens pushed by a host application; never refreshed through the token endpoint.
    ChatgptAuthTokens,
}

impl AuthMode {
    /// The stored spelling: `apikey`, `chatgpt` or `chatgptAuthTokens`.
    pub fn as_str(&self) -> &'static str {
        match self {
            AuthMode::ApiKey => "apikey",
            AuthMode::Chatgpt => "chatgpt",
            AuthMode::ChatgptAuthTokens => "chatgptAuthTokens",
        }
    }
}

/// Why a parsed snapshot cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// `apikey` mode with a null key.
    MissingApiKey,
    /// A ChatGPT mode without `tokens`.
    MissingTokens,
    /// An `auth_mode` we do not know (for example a newer Codex's `agentIdentity`).
    Unsupported(String),
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unusable::MissingApiKey => f.write_str("API key auth is missing a key."),
            Unusable::MissingTokens => f.write_str("ChatGPT auth is missing tokens."),
            Unusable::Unsupported(mode) => write!(f, "unsupported auth_mode `{mode}`"),
        }
    }
}

impl std::error::Error for Unusable {}

/// The kind of a parse failure, mirroring `serde_json::error::Category`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseErrorCategory {
    /// Not valid JSON.
    Syntax,
    /// Valid JSON that breaks the schema.
    Data,
    /// The input ended early (empty or cut-off file).
    Eof,
    /// Reading failed.
    Io,
}

impl ParseErrorCategory {
    /// `syntax`, `data`, `eof` or `io`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ParseErrorCategory::Syntax => "syntax",
            ParseErrorCategory::Data => "data",
            ParseErrorCategory::Eof => "eof",
            ParseErrorCategory::Io => "io",
        }
    }
}

impl fmt::Display for ParseErrorCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An `auth.json` that could not be read. Carries no text from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid auth.json: {category} error at line {line}, column {column}")]
pub struct ParseError {
    /// What went wrong.
    pub category: ParseErrorCategory,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// 1-based column (0 when unknown).
    pub column: usize,
}

impl ParseError {
    /// Keeps only the category and position of a serde error, dropping its message.
    pub fn from_serde(err: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        let category = match err.classify() {
            Category::Syntax => ParseErrorCategory::Syntax,
            Category::Data => ParseErrorCategory::Data,
            Category::Eof => ParseErrorCategory::Eof,
            Category::Io => ParseErrorCategory::Io,
        };
        ParseError {
            category,
            line: err.line(),
            column: err.column(),
        }
    }
}

/// The full stored auth data: the modelled fields plus preserved unknown keys.
#[derive(Clone, PartialEq)]
pub struct StoredAuth {
    /// `auth_mode` exactly as stored (may be a value we do not support).
    pub auth_mode: Option<String>,
    /// `OPENAI_API_KEY`.
    pub openai_api_key: Option<Secret>,
    /// `tokens`.
    pub tokens: Option<TokenData>,
    /// `last_refresh`, normalized to UTC.
    pub last_refresh: Option<DateTime<Utc>>,
    /// Unknown top-level keys, preserved in order.
    extra: Map<String, Value>,
}

#[derive(Deserialize)]
struct RawAuth {
    #[serde(default)]
    auth_mode: Option<String>,
    #[serde(rename = "OPENAI_API_KEY", default)]
    openai_api_key: Option<Secret>,
    #[serde(default)]
    tokens: Option<RawTokens>,
    #[serde(default)]
    last_refresh: Option<DateTime<FixedOffset>>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

#[derive(Deserialize)]
struct RawTokens {
    id_token: IdToken,
    access_token: Secret,
    refresh_token: Secret,
    #[serde(default)]
    account_id: Option<String>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

/// Parses `auth.json` bytes (see AUTH.md §1.1 for the schema).
pub fn parse(bytes: &[u8]) -> Result<StoredAuth, ParseError> {
    let raw: RawAuth = serde_json::from_slice(bytes).map_err(|e| ParseError::from_serde(&e))?;
    Ok(StoredAuth {
        auth_mode: raw.auth_mode,
        openai_api_key: raw.openai_api_key,
        tokens: raw.tokens.map(|t| TokenData {
            id_token: t.id_token,
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            account_id: t.account_id,
            extra: t.extra,
        }),
        last_refresh: raw.last_refresh.map(|t| t.with_timezone(&Utc)),
        extra: raw.extra,
    })
}

impl StoredAuth {
    /// `{"auth_mode":"apikey","OPENAI_API_KEY":key}`.
    pub fn api_key(key: Secret) -> Self {
        StoredAuth {
            auth_mode: Some(AuthMode::ApiKey.as_str().to_owned()),
            openai_api_key: Some(key),
            tokens: None,
            last_refresh: None,
            extra: Map::new(),
        }
    }

    /// A fresh managed ChatGPT login.
    pub fn chatgpt(tokens: TokenData, api_key: Option<Secret>, now: DateTime<Utc>) -> Self {
        StoredAuth {
            auth_mode: Some(AuthMode::Chatgpt.as_str().to_owned()),
            openai_api_key: api_key,
            tokens: Some(tokens),
            last_refresh: Some(now),
            extra: Map::new(),
        }
    }

    /// Host-supplied external tokens (`chatgptAuthTokens`).
    pub fn external(tokens: TokenData, now: DateTime<Utc>) -> Self {
        StoredAuth {
            auth_mode: Some(AuthMode::ChatgptAuthTokens.as_str().to_owned()),
            openai_api_key: None,
            tokens: Some(tokens),
            last_refresh: Some(now),
            extra: Map::new(),
        }
    }

    /// Resolves the mode: an explicit `auth_mode` wins, else a non-null key means `apikey`, else
    /// `chatgpt`.
    pub fn resolve_mode(&self) -> Result<AuthMode, Unusable> {
        let mode = match self.auth_mode.as_deref() {
            Some("apikey") => AuthMode::ApiKey,
            Some("chatgpt") => AuthMode::Chatgpt,
            Some("chatgptAuthTokens") => AuthMode::ChatgptAuthTokens,
            Some(other) => return Err(Unusable::Unsupported(other.to_owned())),
            None if self.openai_api_key.is_some() => AuthMode::ApiKey,
            None => AuthMode::Chatgpt,
        };
        match mode {
            AuthMode::ApiKey if self.openai_api_key.is_none() => Err(Unusable::MissingApiKey),
            AuthMode::Chatgpt | AuthMode::ChatgptAuthTokens if self.tokens.is_none() => {
                Err(Unusable::MissingTokens)
            }
            mode => Ok(mode),
        }
    }

    /// The bearer: the (non-empty) API key in `apikey` mode, the non-empty access token in the
    /// ChatGPT modes; `None` when unusable.
    pub fn bearer(&self) -> Option<&Secret> {
        let bearer = match self.resolve_mode().ok()? {
            AuthMode::ApiKey => self.openai_api_key.as_ref()?,
            AuthMode::Chatgpt | AuthMode::ChatgptAuthTokens => &self.tokens.as_ref()?.access_token,
        };
        (!bearer.is_empty()).then_some(bearer)
    }

    /// True for `chatgpt` mode with a non-empty refresh token.
    pub fn is_refreshable(&self) -> bool {
        matches!(self.resolve_mode(), Ok(AuthMode::Chatgpt))
            && self
                .tokens
                .as_ref()
                .is_some_and(|t| !t.refresh_token.is_empty())
    }

    /// SHA-256 of the canonical encoding of the modelled fields (AUTH.md §4.1).
    pub fn fingerprint(&self) -> Fingerprint {
        let tokens = self.tokens.as_ref();
        let canonical = Value::Array(vec![
            opt_string(self.auth_mode.clone()),
            opt_string(self.openai_api_key.as_ref().map(|k| k.expose().to_owned())),
            opt_string(tokens.map(|t| t.id_token.canonical())),
            opt_string(tokens.map(|t| t.access_token.expose().to_owned())),
            opt_string(tokens.map(|t| t.refresh_token.expose().to_owned())),
            opt_string(tokens.and_then(|t| t.account_id.clone())),
            opt_string(self.last_refresh.map(format_time)),
        ]);
        Fingerprint::digest(canonical.to_string().as_bytes())
    }

    /// Merges a refresh answer: replaces only the fields present, keeps `account_id` and unknown
    /// keys, and sets `last_refresh` to `now`.
    pub fn merge_refresh(&mut self, resp: &TokenResponse, now: DateTime<Utc>) {
        match &mut self.tokens {
            Some(tokens) => {
                if let Some(id) = &resp.id_token {
                    tokens.id_token = IdToken::Jwt(id.clone());
                }
                if let Some(access) = &resp.access_token {
                    tokens.access_token = access.clone();
                }
                if let Some(refresh) = &resp.refresh_token {
                    tokens.refresh_token = refresh.clone();
                }
            }
            None => {
                if let (Some(id), Some(access), Some(refresh)) =
                    (&resp.id_token, &resp.access_token, &resp.refresh_token)
                {
                    self.tokens = Some(TokenData::new(
                        IdToken::Jwt(id.clone()),
                        access.clone(),
                        refresh.clone(),
                        None,
                    ));
                }
            }
        }
        self.last_refresh = Some(now);
    }

    /// The same credentials with every unknown key dropped (login writes a fresh document).
    pub fn without_unknown_keys(mut self) -> Self {
        self.extra.clear();
        if let Some(tokens) = &mut self.tokens {
            tokens.extra.clear();
        }
        self
    }

    /// True if any unknown key is preserved (top level or inside `tokens`).
    pub fn has_unknown_keys(&self) -> bool {
        !self.extra.is_empty() || self.tokens.as_ref().is_some_and(|t| !t.extra.is_empty())
    }

    /// Pretty-printed file form (2-space indent, AUTH.md §1.1 key order, trailing newline).
    pub fn to_file_json(&self) -> Vec<u8> {
        let mut out = format!("{:#}", self.to_value()).into_bytes();
        out.push(b'\n');
        out
    }

    /// Compact form of the same document (keyring value).
    pub fn to_compact_json(&self) -> String {
        self.to_value().to_string()
    }

    fn to_value(&self) -> Value {
        let mut map = Map::new();
        if let Some(mode) = &self.auth_mode {
            map.insert("auth_mode".into(), Value::String(mode.clone()));
        }
        map.insert(
            "OPENAI_API_KEY".into(),
            self.openai_api_key
                .as_ref()
                .map_or(Value::Null, secret_value),
        );
        if let Some(tokens) = &self.tokens {
            map.insert("tokens".into(), tokens.to_value());
        }
        if let Some(at) = self.last_refresh {
            map.insert("last_refresh".into(), Value::String(format_time(at)));
        }
        append_extra(&mut map, &self.extra);
        Value::Object(map)
    }
}

impl fmt::Debug for StoredAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tokens = self.tokens.as_ref();
        f.debug_struct("StoredAuth")
            .field("auth_mode", &self.auth_mode)
            .field("has_api_key", &self.openai_api_key.is_some())
            .field("has_tokens", &tokens.is_some())
            .field(
                "has_refresh_token",
                &tokens.is_some_and(|t| !t.refresh_token.is_empty()),
            )
            .field("account_id", &tokens.and_then(|t| t.account_id.as_deref()))
            .field("last_refresh", &self.last_refresh)
            .field("fingerprint", &self.fingerprint())
            .finish()
    }
}

/// UTC, `Z`, nanoseconds: round-trips exactly and is the canonical fingerprint form.
fn format_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn secret_value(secret: &Secret) -> Value {
    Value::String(secret.expose().to_owned())
}

fn opt_string(value: Option<String>) -> Value {
    value.map_or(Value::Null, Value::String)
}

fn append_extra(map: &mut Map<String, Value>, extra: &Map<String, Value>) {
    for (key, value) in extra {
        if !map.contains_key(key) {
            map.insert(key.clone(), value.clone());
        }
    }
}

#[cfg(test)]
mod tests;
