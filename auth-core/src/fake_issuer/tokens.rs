//! Token minting for the fake issuer: unsigned JWTs (`alg: none`, a dummy signature segment)
//! with the claims `auth-core` reads, and random opaque values.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use rand::Rng;
use serde_json::{Map, Value, json};

use super::Settings;
use crate::token_endpoint::CLIENT_ID;

/// Encodes `payload` as an unsigned JWT (`alg: none`) with a placeholder signature: the one
/// builder of the fake issuer and of every test.
pub fn unsigned_jwt(payload: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(payload.to_string());
    format!("{header}.{body}.fake-signature")
}

fn auth_claim(settings: &Settings) -> Value {
    let mut auth = Map::new();
    auth.insert("chatgpt_plan_type".into(), json!(settings.plan));
    auth.insert("chatgpt_user_id".into(), json!(settings.user_id));
    if let Some(account) = &settings.account_id {
        auth.insert("chatgpt_account_id".into(), json!(account));
    }
    Value::Object(auth)
}

/// An id_token: `email`, and the auth claim with plan, user id and account id.
pub(super) fn id_token(issuer: &str, settings: &Settings) -> String {
    let now = Utc::now().timestamp();
    unsigned_jwt(&json!({
        "iss": issuer,
        "aud": CLIENT_ID,
        "sub": settings.user_id,
        "email": settings.email,
        "iat": now,
        "exp": now + 3600,
        "https://api.openai.com/auth": auth_claim(settings),
    }))
}

/// An access token expiring after the configured lifetime; unique per call (`jti`).
pub(super) fn access_token(issuer: &str, settings: &Settings) -> String {
    let now = Utc::now().timestamp();
    unsigned_jwt(&json!({
        "iss": issuer,
        "aud": ["https://api.openai.com/v1"],
        "sub": settings.user_id,
        "iat": now,
        "exp": now + settings.access_lifetime.num_seconds(),
        "jti": random(16),
        "https://api.openai.com/auth": auth_claim(settings),
    }))
}

/// A new opaque refresh token.
pub(super) fn refresh_token() -> String {
    format!("rt-demo-{}", random(24))
}

/// `n` random bytes as unpadded base64url.
pub(super) fn random(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}
