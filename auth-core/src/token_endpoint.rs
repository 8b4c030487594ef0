//! The refresh-token request (AUTH.md §5): one POST through the HTTP seam ([`crate::http`]), no
//! retries (retrying is the manager's job).
//!
//! Errors never carry reqwest's `Display` (it can contain the URL) or a response body.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{ACCEPT, HeaderName, HeaderValue, RETRY_AFTER, USER_AGENT};
use serde::Deserialize;

use crate::classify::{AttemptError, TransientKind, classify_response};
use crate::http::{
    BodyError, HttpError, HttpRequest, ReqwestHttp, SharedHttpClient, TransportError,
};
use crate::secret::Secret;

/// The Codex CLI OAuth client id.
pub const CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";
/// The default refresh endpoint.
pub const DEFAULT_REFRESH_URL: &str = "https://auth.openai.com/oauth/token";
/// The default `originator` header value.
pub const DEFAULT_ORIGINATOR: &str = "codex_cli_rs";
/// Default connect timeout: short enough for an interactive client (issue 12 item 9).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Default total request timeout (connect, send and the whole answer).
pub const DEFAULT_TOTAL_TIMEOUT: Duration = Duration::from_secs(10);

/// A successful token-endpoint answer; every field is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct TokenResponse {
    /// A new id_token, if the server sent one.
    #[serde(default)]
    pub id_token: Option<Secret>,
    /// A new access token, if the server sent one.
    #[serde(default)]
    pub access_token: Option<Secret>,
    /// A rotated refresh token, if the server sent one.
    #[serde(default)]
    pub refresh_token: Option<Secret>,
}

/// The endpoint could not be set up. Never includes the URL (it may carry credentials).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// The URL is not an absolute `http(s)` URL.
    #[error("invalid token endpoint URL")]
    InvalidUrl,
    /// The originator cannot be sent as a header value.
    #[error("invalid originator header value")]
    InvalidOriginator,
}

/// A configured token endpoint.
#[derive(Debug, Clone)]
pub struct TokenEndpoint {
    http: SharedHttpClient,
    url: String,
    client_id: String,
    originator: HeaderValue,
    user_agent: HeaderValue,
}

impl TokenEndpoint {
    /// An endpoint at `url`, sending `originator` and `User-Agent: <originator>/<version>`, over
    /// reqwest with `connect_timeout`, `total_timeout` and no redirects.
    pub fn new(
        url: String,
        originator: String,
        connect_timeout: Duration,
        total_timeout: Duration,
    ) -> Result<Self, EndpointError> {
        check_http_url(&url)?;
        let user_agent = format!("{originator}/{}", env!("CARGO_PKG_VERSION"));
        let http = ReqwestHttp::no_redirects(Some(connect_timeout), total_timeout).shared();
        Ok(TokenEndpoint {
            http,
            url,
            client_id: CLIENT_ID.to_owned(),
            originator: HeaderValue::from_str(&originator)
                .map_err(|_| EndpointError::InvalidOriginator)?,
            user_agent: HeaderValue::from_str(&user_agent)
                .map_err(|_| EndpointError::InvalidOriginator)?,
        })
    }

    /// Sends `client_id` instead of the Codex CLI's (`CODEX_APP_SERVER_LOGIN_CLIENT_ID`).
    pub fn with_client_id(mut self, client_id: String) -> Self {
        self.client_id = client_id;
        self
    }

    /// Sends through `http` instead of reqwest (`None` keeps reqwest).
    pub fn with_http(mut self, http: Option<SharedHttpClient>) -> Self {
        if let Some(http) = http {
            self.http = http;
        }
        self
    }

    /// The endpoint URL.
    #[cfg(test)]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Spends `refresh_token` once. `now` anchors an HTTP-date `Retry-After`.
    pub async fn refresh(
        &self,
        refresh_token: &Secret,
        now: DateTime<Utc>,
    ) -> Result<TokenResponse, AttemptError> {
        let body = serde_json::json!({
            "client_id": self.client_id,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token.expose(),
        });
        let request = HttpRequest::post_json(self.url.clone(), &body)
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(
                HeaderName::from_static("originator"),
                self.originator.clone(),
            )
            .header(USER_AGENT, self.user_agent.clone());
        let response = match self.http.send(request).await {
            Ok(response) => response,
            Err(HttpError::Transport(err)) => return Err(transport_error(err)),
            Err(HttpError::Body {
                cause: BodyError::Transport(err),
                ..
            }) => return Err(transport_error(err)),
            Err(HttpError::Body {
                cause: BodyError::TooLarge,
                ..
            }) => return Err(AttemptError::Transient(TransientKind::BadResponse)),
        };
        let status = response.status;
        if !status.is_success() {
            let retry_after = response
                .headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok());
            return Err(classify_response(
                status.as_u16(),
                retry_after,
                &response.body,
                now,
            ));
        }
        match serde_json::from_slice::<TokenResponse>(&response.body) {
            Ok(tokens)
                if tokens.id_token.is_some()
                    || tokens.access_token.is_some()
                    || tokens.refresh_token.is_some() =>
            {
                Ok(tokens)
            }
            _ => Err(AttemptError::Transient(TransientKind::BadResponse)),
        }
    }
}

/// Accepts absolute `http`/`https` URLs only.
pub(crate) fn check_http_url(url: &str) -> Result<url::Url, EndpointError> {
    match url::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => {
            Ok(parsed)
        }
        _ => Err(EndpointError::InvalidUrl),
    }
}

/// A transport failure as a transient attempt error: a short kind and the host it could not
/// reach (never a URL).
pub(crate) fn transport_error(err: TransportError) -> AttemptError {
    AttemptError::Transient(match err.kind {
        Some(kind) => TransientKind::Network(match err.host {
            Some(host) => format!("could not reach {host} ({kind})"),
            None => kind.to_owned(),
        }),
        None => TransientKind::Timeout,
    })
}

#[cfg(test)]
#[path = "token_endpoint_tests.rs"]
mod tests;
