//! The token-endpoint calls of a login (AUTH.md §8.2): the authorization-code exchange and the
//! API-key token exchange. Bodies are never logged; errors keep the status and the extracted
//! server message only.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::LoginOptions;
use crate::http::{
    HttpError, HttpRequest, HttpResponse, ReqwestHttp, SharedHttpClient, answered_status,
};
use crate::secret::Secret;

/// The longest server message kept in an error.
const MAX_DETAIL_CHARS: usize = 200;

/// The three tokens an authorization code buys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeTokens {
    /// The id_token (a JWT carrying the account claims).
    pub id_token: Secret,
    /// The access token.
    pub access_token: Secret,
    /// The refresh token.
    pub refresh_token: Secret,
}

/// A failed code exchange, e.g. "token endpoint returned status 400 Bad Request: bad code".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ExchangeError(String);

/// The reqwest client of one login: `timeout` per call (connect and total), reqwest's default
/// redirect policy, and no proxy for a loopback issuer (the fake issuer and tests), which a proxy
/// could not reach.
pub fn http_client(issuer: &str, timeout: Duration) -> Result<SharedHttpClient, String> {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout);
    if is_loopback_url(issuer) {
        builder = builder.no_proxy();
    }
    builder
        .build()
        .map(|client| ReqwestHttp::from_client(client).shared())
        .map_err(|e| e.without_url().to_string())
}

/// The HTTP client of a login with `opts`: the injected one, else [`http_client`].
pub(crate) fn login_http(opts: &LoginOptions) -> Result<SharedHttpClient, String> {
    match &opts.http {
        Some(http) => Ok(http.clone()),
        None => http_client(opts.issuer(), opts.http_timeout),
    }
}

fn is_loopback_url(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    match parsed.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// `<issuer>/oauth/token`.
pub fn token_url(issuer: &str) -> String {
    format!("{}/oauth/token", issuer.trim_end_matches('/'))
}

/// Exchanges an authorization code: a form POST of `grant_type=authorization_code`, `code`,
/// `redirect_uri`, `client_id` and `code_verifier`. All three tokens are required.
pub async fn exchange_code(
    client: &SharedHttpClient,
    issuer: &str,
    client_id: &str,
    redirect_uri: &str,
    code: &Secret,
    verifier: &Secret,
) -> Result<CodeTokens, ExchangeError> {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.expose()),
        ("redirect_uri", redirect_uri),
        ("client_id", client_id),
        ("code_verifier", verifier.expose()),
    ];
    let resp = client
        .send(HttpRequest::post_form(token_url(issuer), &form))
        .await;
    if let Some(status) = answered_status(&resp) {
        tracing::info!(target: "auth_core", http_status = status.as_u16(), "login code exchange answered");
    }
    let HttpResponse { status, body, .. } = resp.map_err(|e| ExchangeError(e.to_string()))?;
    if !status.is_success() {
        return Err(ExchangeError(format!(
            "token endpoint returned status {status}: {}",
            error_detail(&body)
        )));
    }
    #[derive(Deserialize)]
    struct Raw {
        id_token: Option<Secret>,
        access_token: Option<Secret>,
        refresh_token: Option<Secret>,
    }
    let raw: Raw = serde_json::from_slice(&body)
        .map_err(|_| ExchangeError("token endpoint returned an invalid JSON response".into()))?;
    let missing = |name: &str| ExchangeError(format!("token endpoint response is missing {name}"));
    Ok(CodeTokens {
        id_token: raw.id_token.ok_or_else(|| missing("id_token"))?,
        access_token: raw.access_token.ok_or_else(|| missing("access_token"))?,
        refresh_token: raw.refresh_token.ok_or_else(|| missing("refresh_token"))?,
    })
}

/// Trades an id_token for an API key (`requested_token=openai-api-key`). Any failure is `None`.
pub async fn exchange_api_key(
    client: &SharedHttpClient,
    issuer: &str,
    client_id: &str,
    id_token: &Secret,
) -> Option<Secret> {
    let form = [
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ),
        ("client_id", client_id),
        ("requested_token", "openai-api-key"),
        ("subject_token", id_token.expose()),
        (
            "subject_token_type",
            "urn:ietf:params:oauth:token-type:id_token",
        ),
    ];
    let result = client
        .send(HttpRequest::post_form(token_url(issuer), &form))
        .await;
    if let Some(status) = answered_status(&result).filter(|s| !s.is_success()) {
        tracing::warn!(target: "auth_core", http_status = status.as_u16(), "API-key exchange refused");
        return None;
    }
    let body = match result {
        Ok(resp) => Ok(resp.body),
        Err(HttpError::Transport(err)) => {
            tracing::warn!(target: "auth_core", cause = %err.detail, "API-key exchange failed");
            return None;
        }
        Err(err) => Err(err),
    };
    #[derive(Deserialize)]
    struct Raw {
        access_token: Option<Secret>,
    }
    match body.map(|b| serde_json::from_slice::<Raw>(&b)) {
        Ok(Ok(Raw {
            access_token: Some(key),
        })) if !key.is_empty() => Some(key),
        _ => {
            tracing::warn!(target: "auth_core", "API-key exchange answer had no access_token");
            None
        }
    }
}

/// The server's message from an error body: `error_description`, else `error.message`, else a
/// string `error` or `error.code`, else `message`; truncated. Raw bodies are never echoed.
pub(crate) fn error_detail(body: &[u8]) -> String {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return "unknown error".to_owned();
    };
    let error = map.get("error");
    let candidates = [
        map.get("error_description"),
        error.and_then(|e| e.get("message")),
        error.filter(|e| e.is_string()),
        error.and_then(|e| e.get("code")),
        map.get("message"),
    ];
    let found = candidates
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::trim)
        .find(|s| !s.is_empty());
    match found {
        Some(s) => s.chars().take(MAX_DETAIL_CHARS).collect(),
        None => "unknown error".to_owned(),
    }
}

#[cfg(test)]
#[path = "exchange_tests.rs"]
mod tests;
