//! The `tokens` object of `auth.json` and its id_token.

use std::fmt;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{append_extra, secret_value};
use crate::claims::{TokenClaims, claims_from_payload, jwt_payload};
use crate::secret::Secret;

/// The stored id_token: a raw string (normally a JWT) or, from very old Codex builds, an object.
#[derive(Clone, PartialEq)]
pub enum IdToken {
    /// The raw token string, kept unchanged (it need not decode).
    Jwt(Secret),
    /// A legacy JSON object; claims are read from it and it is written back verbatim.
    Object(Map<String, Value>),
}

impl IdToken {
    /// The claims (empty when the token does not decode).
    pub fn claims(&self) -> TokenClaims {
        match self {
            IdToken::Jwt(raw) => jwt_payload(raw.expose())
                .map(|p| claims_from_payload(&p))
                .unwrap_or_default(),
            IdToken::Object(map) => claims_from_payload(map),
        }
    }

    /// The raw string, or `None` for the legacy object form.
    pub fn raw(&self) -> Option<&str> {
        match self {
            IdToken::Jwt(raw) => Some(raw.expose()),
            IdToken::Object(_) => None,
        }
    }

    pub(super) fn to_value(&self) -> Value {
        match self {
            IdToken::Jwt(raw) => Value::String(raw.expose().to_owned()),
            IdToken::Object(map) => Value::Object(map.clone()),
        }
    }

    /// The fingerprint element: the raw string, or the object's compact JSON text.
    pub(super) fn canonical(&self) -> String {
        match self {
            IdToken::Jwt(raw) => raw.expose().to_owned(),
            IdToken::Object(map) => Value::Object(map.clone()).to_string(),
        }
    }
}

impl fmt::Debug for IdToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdToken::Jwt(_) => f.write_str("IdToken::Jwt([REDACTED])"),
            IdToken::Object(_) => f.write_str("IdToken::Object([REDACTED])"),
        }
    }
}

impl<'de> Deserialize<'de> for IdToken {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = IdToken;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an object")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<IdToken, E> {
                Ok(IdToken::Jwt(Secret::new(v)))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<IdToken, A::Error> {
                let de = serde::de::value::MapAccessDeserializer::new(map);
                Map::deserialize(de).map(IdToken::Object)
            }
        }
        de.deserialize_any(V)
    }
}

/// The `tokens` object.
#[derive(Clone, PartialEq)]
pub struct TokenData {
    /// The id_token (claims source).
    pub id_token: IdToken,
    /// The ChatGPT access token (the bearer).
    pub access_token: Secret,
    /// The refresh token; `""` for external tokens.
    pub refresh_token: Secret,
    /// The account (workspace) id set at login.
    pub account_id: Option<String>,
    /// Unknown keys inside `tokens`, preserved in order.
    pub(super) extra: Map<String, Value>,
}

impl TokenData {
    /// Token data without unknown keys.
    pub fn new(
        id_token: IdToken,
        access_token: Secret,
        refresh_token: Secret,
        account_id: Option<String>,
    ) -> Self {
        TokenData {
            id_token,
            access_token,
            refresh_token,
            account_id,
            extra: Map::new(),
        }
    }

    pub(super) fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("id_token".into(), self.id_token.to_value());
        map.insert("access_token".into(), secret_value(&self.access_token));
        map.insert("refresh_token".into(), secret_value(&self.refresh_token));
        map.insert(
            "account_id".into(),
            self.account_id.clone().map_or(Value::Null, Value::String),
        );
        append_extra(&mut map, &self.extra);
        Value::Object(map)
    }
}

impl fmt::Debug for TokenData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenData")
            .field("id_token", &self.id_token)
            .field("access_token", &self.access_token)
            .field("refresh_token", &self.refresh_token)
            .field("account_id", &self.account_id)
            .field("unknown_keys", &self.extra.len())
            .finish()
    }
}
