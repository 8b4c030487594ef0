//! Credentials for tests: seeding `auth.json` from the fake issuer, and hand-made JWTs.

use std::path::Path;

use auth_core::fake_issuer::FakeIssuer;
use chrono::TimeDelta;
use serde_json::{Value, json};

/// An unsigned JWT with `claims` as payload (the fake issuer's builder).
pub fn jwt(claims: Value) -> String {
    auth_core::fake_issuer::unsigned_jwt(&claims)
}

/// An access token valid for two hours, distinguishable by `tag`.
pub fn fresh_access_token(tag: &str) -> String {
    let exp = chrono::Utc::now().timestamp() + 7200;
    jwt(json!({"exp": exp, "tag": tag}))
}

/// Writes credentials the issuer accepts, whose access token expired a minute ago.
pub fn seed_stale(home: &Path, issuer: &FakeIssuer) -> Value {
    issuer.set_access_token_lifetime(TimeDelta::seconds(-60));
    let doc = issuer.auth_json();
    issuer.set_access_token_lifetime(TimeDelta::hours(1));
    write_auth(home, &doc)
}

/// Writes credentials the issuer accepts, valid for an hour.
pub fn seed_fresh(home: &Path, issuer: &FakeIssuer) -> Value {
    write_auth(home, &issuer.auth_json())
}

/// Writes `auth.json` atomically (as another process would) and returns it parsed.
pub fn write_auth(home: &Path, doc: &str) -> Value {
    auth_core::write_atomic(&home.join("auth.json"), doc.as_bytes()).unwrap();
    serde_json::from_str(doc).unwrap()
}

/// `auth.json` in `home`, parsed; `None` when there is none.
pub fn read_auth(home: &Path) -> Option<Value> {
    let bytes = std::fs::read(home.join("auth.json")).ok()?;
    Some(serde_json::from_slice(&bytes).expect("auth.json is JSON"))
}

/// The access token of an `auth.json` document.
pub fn access_token(doc: &Value) -> String {
    doc["tokens"]["access_token"].as_str().unwrap().to_string()
}
