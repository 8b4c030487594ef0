//! WebSocket auth (Codex's `--ws-auth`): which bearer a connection must present, checked on the
//! HTTP upgrade request. The rules and the 401 texts are Codex's
//! (`codex-rs/app-server/src/transport/auth.rs`): a capability token compared by SHA-256 digest
//! in constant time, or an HS256 JWT signed with a shared secret of at least 32 bytes whose
//! `exp` (required), `nbf`, `iss` and `aud` are checked with a clock skew (default 30 s).

use std::path::{Path, PathBuf};

use auth_core::Secret;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::args::{ListenArgs, WsAuthMode};

const DEFAULT_MAX_CLOCK_SKEW_SECONDS: u64 = 30;
const MIN_SIGNED_BEARER_SECRET_BYTES: usize = 32;

/// Why the auth flags cannot be used. Messages are Codex's.
#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    /// A flag of the other mode, or of no mode.
    #[error("{0}")]
    Flags(&'static str),
    /// A path flag that must be absolute.
    #[error("{0} must be an absolute path")]
    NotAbsolute(&'static str),
    /// The secret or token file cannot be read.
    #[error("failed to read websocket auth secret {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file holds only whitespace.
    #[error("websocket auth secret {} must not be empty", .0.display())]
    Empty(PathBuf),
    /// The shared secret is shorter than 32 bytes.
    #[error("signed websocket bearer secret {} must be at least {MIN_SIGNED_BEARER_SECRET_BYTES} bytes", .0.display())]
    ShortSecret(PathBuf),
    /// The clock skew does not fit an i64.
    #[error("websocket auth clock skew must fit in a signed 64-bit integer")]
    Skew,
}

/// What a WebSocket upgrade must carry.
#[derive(Debug, Clone, Default)]
pub struct AuthPolicy {
    mode: Option<Mode>,
}

#[derive(Clone)]
enum Mode {
    CapabilityToken {
        token_sha256: [u8; 32],
    },
    SignedBearerToken {
        shared_secret: Secret,
        issuer: Option<String>,
        audience: Option<String>,
        max_clock_skew_seconds: i64,
    },
}

impl std::fmt::Debug for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mode::CapabilityToken { .. } => f.write_str("CapabilityToken"),
            Mode::SignedBearerToken {
                issuer, audience, ..
            } => f
                .debug_struct("SignedBearerToken")
                .field("issuer", issuer)
                .field("audience", audience)
                .finish_non_exhaustive(),
        }
    }
}

/// Why an upgrade was refused: always 401, with one of Codex's texts as the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unauthorized(pub &'static str);

#[derive(Deserialize)]
struct Claims {
    exp: i64,
    nbf: Option<i64>,
    iss: Option<String>,
    aud: Option<Audience>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    Single(String),
    Multiple(Vec<String>),
}

impl AuthPolicy {
    /// The policy of the command line; reads the token or secret file. `--auth-token-file`
    /// (ours) is a capability token whose path may be relative.
    pub fn from_args(args: &ListenArgs) -> Result<Self, AuthConfigError> {
        let signed_only = args.ws_shared_secret_file.is_some()
            || args.ws_issuer.is_some()
            || args.ws_audience.is_some()
            || args.ws_max_clock_skew_seconds.is_some();
        let mode = match (args.ws_auth, &args.auth_token_file) {
            (None, Some(path)) if !signed_only => Some(capability(path)?),
            (None, _) => {
                if signed_only || args.ws_token_file.is_some() {
                    return Err(AuthConfigError::Flags(
                        "websocket auth flags require `--ws-auth capability-token` or `--ws-auth signed-bearer-token`",
                    ));
                }
                None
            }
            (Some(WsAuthMode::CapabilityToken), _) => {
                if signed_only {
                    return Err(AuthConfigError::Flags(
                        "`--ws-shared-secret-file`, `--ws-issuer`, `--ws-audience`, and `--ws-max-clock-skew-seconds` require `--ws-auth signed-bearer-token`",
                    ));
                }
                let path = args.ws_token_file.as_deref().ok_or(AuthConfigError::Flags(
                    "`--ws-token-file` is required when `--ws-auth capability-token` is set",
                ))?;
                Some(capability(absolute("--ws-token-file", path)?)?)
            }
            (Some(WsAuthMode::SignedBearerToken), _) => {
                if args.ws_token_file.is_some() {
                    return Err(AuthConfigError::Flags(
                        "`--ws-token-file` requires `--ws-auth capability-token`, not `signed-bearer-token`",
                    ));
                }
                let path = args.ws_shared_secret_file.as_deref().ok_or(AuthConfigError::Flags(
                    "`--ws-shared-secret-file` is required when `--ws-auth signed-bearer-token` is set",
                ))?;
                let path = absolute("--ws-shared-secret-file", path)?;
                let shared_secret = read_trimmed(path)?;
                if shared_secret.expose().len() < MIN_SIGNED_BEARER_SECRET_BYTES {
                    return Err(AuthConfigError::ShortSecret(path.to_path_buf()));
                }
                let skew = args
                    .ws_max_clock_skew_seconds
                    .unwrap_or(DEFAULT_MAX_CLOCK_SKEW_SECONDS);
                Some(Mode::SignedBearerToken {
                    shared_secret,
                    issuer: normalize(args.ws_issuer.as_deref()),
                    audience: normalize(args.ws_audience.as_deref()),
                    max_clock_skew_seconds: i64::try_from(skew)
                        .map_err(|_| AuthConfigError::Skew)?,
                })
            }
        };
        Ok(Self { mode })
    }

    /// Whether connections must present a bearer at all.
    pub fn is_enabled(&self) -> bool {
        self.mode.is_some()
    }

    /// Checks the `Authorization` header of an upgrade request (`None`: absent).
    pub fn authorize(&self, authorization: Option<&[u8]>) -> Result<(), Unauthorized> {
        let Some(mode) = &self.mode else {
            return Ok(());
        };
        let token = bearer(authorization)?;
        match mode {
            Mode::CapabilityToken { token_sha256 } => {
                let presented = sha256(token.as_bytes());
                match bool::from(presented.ct_eq(token_sha256)) {
                    true => Ok(()),
                    false => Err(Unauthorized("invalid websocket bearer token")),
                }
            }
            Mode::SignedBearerToken {
                shared_secret,
                issuer,
                audience,
                max_clock_skew_seconds,
            } => {
                let claims = decode(token, shared_secret.expose().as_bytes())?;
                validate(
                    &claims,
                    now(),
                    issuer.as_deref(),
                    audience.as_deref(),
                    *max_clock_skew_seconds,
                )
            }
        }
    }
}

fn capability(path: &Path) -> Result<Mode, AuthConfigError> {
    let token = read_trimmed(path)?;
    Ok(Mode::CapabilityToken {
        token_sha256: sha256(token.expose().as_bytes()),
    })
}

fn absolute<'a>(flag: &'static str, path: &'a Path) -> Result<&'a Path, AuthConfigError> {
    match path.is_absolute() {
        true => Ok(path),
        false => Err(AuthConfigError::NotAbsolute(flag)),
    }
}

fn normalize(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

fn read_trimmed(path: &Path) -> Result<Secret, AuthConfigError> {
    let raw = std::fs::read_to_string(path).map_err(|source| AuthConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(AuthConfigError::Empty(path.to_path_buf()));
    }
    Ok(Secret::new(trimmed))
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// `Authorization: Bearer <token>` (scheme case-insensitive, token trimmed, non-empty).
fn bearer(header: Option<&[u8]>) -> Result<&str, Unauthorized> {
    const INVALID: Unauthorized = Unauthorized("invalid authorization header");
    let header = header.ok_or(Unauthorized("missing websocket bearer token"))?;
    let header = std::str::from_utf8(header).map_err(|_| INVALID)?;
    let (scheme, token) = header.split_once(' ').ok_or(INVALID)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(INVALID);
    }
    match token.trim() {
        "" => Err(INVALID),
        token => Ok(token),
    }
}

/// The claims of an HS256 JWT whose signature verifies; `exp` must be present.
fn decode(token: &str, secret: &[u8]) -> Result<Claims, Unauthorized> {
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    jsonwebtoken::decode::<Claims>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(secret),
        &validation,
    )
    .map(|data| data.claims)
    .map_err(|_| Unauthorized("invalid websocket jwt"))
}

fn validate(
    claims: &Claims,
    now: i64,
    issuer: Option<&str>,
    audience: Option<&str>,
    skew: i64,
) -> Result<(), Unauthorized> {
    if now > claims.exp.saturating_add(skew) {
        return Err(Unauthorized("expired websocket jwt"));
    }
    if let Some(nbf) = claims.nbf
        && now < nbf.saturating_sub(skew)
    {
        return Err(Unauthorized("websocket jwt is not valid yet"));
    }
    if let Some(expected) = issuer
        && claims.iss.as_deref() != Some(expected)
    {
        return Err(Unauthorized("websocket jwt issuer mismatch"));
    }
    if let Some(expected) = audience {
        let matches = match &claims.aud {
            Some(Audience::Single(actual)) => actual == expected,
            Some(Audience::Multiple(actual)) => actual.iter().any(|a| a == expected),
            None => false,
        };
        if !matches {
            return Err(Unauthorized("websocket jwt audience mismatch"));
        }
    }
    Ok(())
}

fn now() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX)
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
