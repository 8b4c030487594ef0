//! Codex's `--ws-auth` rules: flag combinations, secret length, bearer parsing and the JWT
//! claim checks with their 401 texts.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::{AuthConfigError, AuthPolicy, Unauthorized};
use crate::network::{ListenArgs, WsAuthMode};

const SECRET: &str = "0123456789abcdef0123456789abcdef";

fn sign(claims: Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap_or_default()
}

fn file(dir: &tempfile::TempDir, name: &str, contents: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, contents).ok();
    path
}

fn signed_policy(
    dir: &tempfile::TempDir,
    issuer: Option<&str>,
    audience: Option<&str>,
) -> AuthPolicy {
    let args = ListenArgs {
        ws_auth: Some(WsAuthMode::SignedBearerToken),
        ws_shared_secret_file: Some(file(dir, "secret", &format!("{SECRET}\n"))),
        ws_issuer: issuer.map(str::to_owned),
        ws_audience: audience.map(str::to_owned),
        ..ListenArgs::default()
    };
    AuthPolicy::from_args(&args).unwrap_or_default()
}

fn bearer(token: &str) -> Vec<u8> {
    format!("Bearer {token}").into_bytes()
}

fn now() -> i64 {
    super::now()
}

#[test]
fn flag_combinations_follow_codex() {
    let dir = tempfile::tempdir().unwrap_or_else(|_| std::process::abort());
    let err = |args: ListenArgs| match AuthPolicy::from_args(&args) {
        Err(err) => err.to_string(),
        Ok(_) => "accepted".to_owned(),
    };
    assert!(
        err(ListenArgs {
            ws_auth: Some(WsAuthMode::CapabilityToken),
            ..ListenArgs::default()
        })
        .contains("`--ws-token-file` is required")
    );
    assert!(
        err(ListenArgs {
            ws_shared_secret_file: Some(PathBuf::from("/tmp/x")),
            ..ListenArgs::default()
        })
        .starts_with("websocket auth flags require")
    );
    assert!(
        err(ListenArgs {
            ws_auth: Some(WsAuthMode::CapabilityToken),
            ws_token_file: Some(PathBuf::from("/tmp/x")),
            ws_issuer: Some("me".into()),
            ..ListenArgs::default()
        })
        .contains("require `--ws-auth signed-bearer-token`")
    );
    assert!(
        err(ListenArgs {
            ws_auth: Some(WsAuthMode::SignedBearerToken),
            ws_token_file: Some(PathBuf::from("/tmp/x")),
            ..ListenArgs::default()
        })
        .contains("`--ws-token-file` requires `--ws-auth capability-token`")
    );
    assert_eq!(
        err(ListenArgs {
            ws_auth: Some(WsAuthMode::CapabilityToken),
            ws_token_file: Some(PathBuf::from("relative/token")),
            ..ListenArgs::default()
        }),
        "--ws-token-file must be an absolute path"
    );
    let short = file(&dir, "short", "too-short-secret");
    let short_err = AuthPolicy::from_args(&ListenArgs {
        ws_auth: Some(WsAuthMode::SignedBearerToken),
        ws_shared_secret_file: Some(short),
        ..ListenArgs::default()
    });
    assert!(matches!(short_err, Err(AuthConfigError::ShortSecret(_))));
    let empty = file(&dir, "empty", " \n");
    let empty_err = AuthPolicy::from_args(&ListenArgs {
        ws_auth: Some(WsAuthMode::CapabilityToken),
        ws_token_file: Some(empty),
        ..ListenArgs::default()
    });
    assert!(matches!(empty_err, Err(AuthConfigError::Empty(_))));
    assert!(!AuthPolicy::from_args(&ListenArgs::default()).is_ok_and(|p| p.is_enabled()));
}

#[test]
fn capability_tokens_and_the_bearer_header() {
    let dir = tempfile::tempdir().unwrap_or_else(|_| std::process::abort());
    let args = ListenArgs {
        ws_auth: Some(WsAuthMode::CapabilityToken),
        ws_token_file: Some(file(&dir, "token", "  s3cret-token\n")),
        ..ListenArgs::default()
    };
    let policy = AuthPolicy::from_args(&args).unwrap_or_default();
    assert!(policy.is_enabled());
    assert_eq!(policy.authorize(Some(b"Bearer s3cret-token")), Ok(()));
    assert_eq!(policy.authorize(Some(b"bearer  s3cret-token ")), Ok(()));
    let refused = |header: Option<&[u8]>| policy.authorize(header).err().map(|Unauthorized(m)| m);
    assert_eq!(refused(None), Some("missing websocket bearer token"));
    assert_eq!(
        refused(Some(b"Bearer s3cret-toke")),
        Some("invalid websocket bearer token")
    );
    assert_eq!(
        refused(Some(b"Basic s3cret-token")),
        Some("invalid authorization header")
    );
    assert_eq!(
        refused(Some(b"Bearer")),
        Some("invalid authorization header")
    );
    assert_eq!(
        refused(Some(b"Bearer   ")),
        Some("invalid authorization header")
    );
    assert_eq!(
        refused(Some(b"Bearer \xff")),
        Some("invalid authorization header")
    );
    // Our --auth-token-file is the same check, relative path allowed.
    let ours = AuthPolicy::from_args(&ListenArgs {
        auth_token_file: Some(file(&dir, "ours", "s3cret-token")),
        ..ListenArgs::default()
    })
    .unwrap_or_default();
    assert_eq!(ours.authorize(Some(b"Bearer s3cret-token")), Ok(()));
    assert!(ours.authorize(Some(b"Bearer other")).is_err());
    assert!(!format!("{ours:?}").contains("s3cret"), "{ours:?}");
}

#[test]
fn signed_bearer_tokens_check_signature_and_claims() {
    let dir = tempfile::tempdir().unwrap_or_else(|_| std::process::abort());
    let policy = signed_policy(&dir, Some("issuer-1"), Some("aud-1"));
    assert!(!format!("{policy:?}").contains(SECRET));
    let check = |claims: Value, secret: &str| {
        policy
            .authorize(Some(&bearer(&sign(claims, secret))))
            .err()
            .map(|Unauthorized(m)| m)
    };
    let now = now();
    let good = json!({"exp": now + 60, "iss": "issuer-1", "aud": "aud-1"});
    assert_eq!(check(good.clone(), SECRET), None);
    assert_eq!(
        check(
            json!({"exp": now + 60, "iss": "issuer-1", "aud": ["x", "aud-1"]}),
            SECRET
        ),
        None
    );
    assert_eq!(
        check(good, "another-secret-of-at-least-32-bytes!"),
        Some("invalid websocket jwt")
    );
    assert_eq!(
        check(json!({"iss": "issuer-1", "aud": "aud-1"}), SECRET),
        Some("invalid websocket jwt"),
        "exp is required"
    );
    assert_eq!(
        check(
            json!({"exp": now - 31, "iss": "issuer-1", "aud": "aud-1"}),
            SECRET
        ),
        Some("expired websocket jwt")
    );
    assert_eq!(
        check(
            json!({"exp": now - 20, "iss": "issuer-1", "aud": "aud-1"}),
            SECRET
        ),
        None,
        "within the 30 s skew"
    );
    assert_eq!(
        check(
            json!({"exp": now + 600, "nbf": now + 60, "iss": "issuer-1", "aud": "aud-1"}),
            SECRET
        ),
        Some("websocket jwt is not valid yet")
    );
    assert_eq!(
        check(
            json!({"exp": now + 60, "iss": "other", "aud": "aud-1"}),
            SECRET
        ),
        Some("websocket jwt issuer mismatch")
    );
    assert_eq!(
        check(json!({"exp": now + 60, "iss": "issuer-1"}), SECRET),
        Some("websocket jwt audience mismatch")
    );
    assert_eq!(
        policy.authorize(Some(b"Bearer not.a.jwt")).err(),
        Some(Unauthorized("invalid websocket jwt"))
    );
    // HS384 with the right secret is still refused: only HS256.
    let hs384 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS384),
        &json!({"exp": now + 60, "iss": "issuer-1", "aud": "aud-1"}),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap_or_default();
    assert_eq!(
        policy.authorize(Some(&bearer(&hs384))).err(),
        Some(Unauthorized("invalid websocket jwt"))
    );
}
