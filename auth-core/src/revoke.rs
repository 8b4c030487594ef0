//! Best-effort token revocation at logout (AUTH.md §9 step 1).
//!
//! Errors carry the token kind, the status and the server's short message, never a token or
//! the URL.

use std::fmt;
use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderValue};

use crate::classify::extract_message;
use crate::http::{HttpError, HttpRequest, ReqwestHttp, SharedHttpClient, TransportError};
use crate::secret::Secret;
use crate::token_endpoint::{CLIENT_ID, check_http_url};

/// The default revoke endpoint.
pub const DEFAULT_REVOKE_URL: &str = "https://auth.openai.com/oauth/revoke";

/// Which token is being revoked (the `token_type_hint`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeTokenKind {
    /// A refresh token (sent with the `client_id`).
    RefreshToken,
    /// An access token (sent without a `client_id`).
    AccessToken,
}

impl RevokeTokenKind {
    /// `refresh_token` or `access_token`.
    pub fn as_str(&self) -> &'static str {
        match self {
            RevokeTokenKind::RefreshToken => "refresh_token",
            RevokeTokenKind::AccessToken => "access_token",
        }
    }
}

impl fmt::Display for RevokeTokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A revocation failed. Logged only; logout proceeds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevokeError {
    /// The server answered with a non-2xx status.
    #[error("failed to revoke {kind}: {status}: {message}")]
    Http {
        /// The token kind.
        kind: RevokeTokenKind,
        /// The HTTP status.
        status: u16,
        /// The server's message (cut to 200 characters) or the status reason.
        message: String,
    },
    /// The request failed in transport (`what` is a short kind such as `connection refused`).
    #[error("failed to revoke {kind}: {what}")]
    Network {
        /// The token kind.
        kind: RevokeTokenKind,
        /// A short error kind, never a URL.
        what: String,
    },
    /// The revoke URL is not an absolute `http(s)` URL.
    #[error("failed to revoke {0}: invalid revoke URL")]
    InvalidUrl(RevokeTokenKind),
}

/// The revoke endpoint: the revoke override; else the refresh override with its path set to
/// `/oauth/revoke` and its query and fragment dropped; else [`DEFAULT_REVOKE_URL`].
pub fn revoke_url(revoke_override: Option<&str>, refresh_override: Option<&str>) -> String {
    if let Some(url) = revoke_override.map(str::trim).filter(|u| !u.is_empty()) {
        return url.to_owned();
    }
    let derived = refresh_override
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .and_then(|u| url::Url::parse(u).ok())
        .map(|mut url| {
            url.set_path("/oauth/revoke");
            url.set_query(None);
            url.set_fragment(None);
            url.to_string()
        });
    derived.unwrap_or_else(|| DEFAULT_REVOKE_URL.to_owned())
}

/// Revokes `token` at `client_url` with one JSON POST: through `http` when given, else reqwest
/// bounded by `timeout` (no redirects).
pub async fn revoke(
    http: Option<&SharedHttpClient>,
    client_url: &str,
    token: &Secret,
    kind: RevokeTokenKind,
    timeout: Duration,
) -> Result<(), RevokeError> {
    check_http_url(client_url).map_err(|_| RevokeError::InvalidUrl(kind))?;
    let body = match kind {
        RevokeTokenKind::RefreshToken => serde_json::json!({
            "token": token.expose(),
            "token_type_hint": kind.as_str(),
            "client_id": CLIENT_ID,
        }),
        RevokeTokenKind::AccessToken => serde_json::json!({
            "token": token.expose(),
            "token_type_hint": kind.as_str(),
        }),
    };
    let network = |err: TransportError| RevokeError::Network {
        kind,
        what: err.kind.unwrap_or("timeout").to_owned(),
    };
    let http = match http {
        Some(http) => http.clone(),
        None => ReqwestHttp::no_redirects(None, timeout).shared(),
    };
    let request = HttpRequest::post_json(client_url, &body)
        .header(ACCEPT, HeaderValue::from_static("application/json"));
    // An answer whose body could not be read still counts by its status.
    let (status, body) = match http.send(request).await {
        Ok(response) => (response.status, response.body),
        Err(HttpError::Body { status, .. }) => (status, Vec::new()),
        Err(HttpError::Transport(err)) => return Err(network(err)),
    };
    if status.is_success() {
        return Ok(());
    }
    let message = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.as_object().and_then(extract_message))
        .or_else(|| status.canonical_reason().map(str::to_owned))
        .unwrap_or_else(|| "unexpected status".to_owned());
    Err(RevokeError::Http {
        kind,
        status: status.as_u16(),
        message,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use crate::http::HttpResponse;
    use crate::http::recording::{Requests, answering};

    const TIMEOUT: Duration = Duration::from_secs(5);

    /// Revokes `token` at `url` through the seam, the issuer answering `response`.
    async fn revoke_answered(
        response: HttpResponse,
        url: &str,
        token: &str,
        kind: RevokeTokenKind,
    ) -> (Result<(), RevokeError>, Requests) {
        let (http, seen) = answering(response);
        let result = revoke(Some(&http), url, &Secret::new(token), kind, TIMEOUT).await;
        (result, seen)
    }

    #[test]
    fn url_derivation() {
        assert_eq!(revoke_url(None, None), DEFAULT_REVOKE_URL);
        assert_eq!(
            revoke_url(Some("http://r/x"), Some("http://t/oauth/token")),
            "http://r/x"
        );
        assert_eq!(
            revoke_url(None, Some("https://h:8443/a/b/token?x=1#frag")),
            "https://h:8443/oauth/revoke"
        );
        assert_eq!(revoke_url(Some(""), Some("nonsense")), DEFAULT_REVOKE_URL);
    }

    /// §12 item 55's URL derivation and body, against a 500 answer.
    #[tokio::test]
    async fn refresh_token_revocation_at_the_derived_url() {
        let url = revoke_url(None, Some("http://127.0.0.1:4444/oauth/token?x=1"));
        assert_eq!(url, "http://127.0.0.1:4444/oauth/revoke");
        let (result, seen) = revoke_answered(
            HttpResponse::status(500),
            &url,
            "rt-secret",
            RevokeTokenKind::RefreshToken,
        )
        .await;
        assert_eq!(
            result.unwrap_err().to_string(),
            "failed to revoke refresh_token: 500: Internal Server Error"
        );
        let requests = seen.all();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].method, crate::http::Method::POST);
        assert_eq!(requests[0].url, "http://127.0.0.1:4444/oauth/revoke");
        assert_eq!(
            requests[0].json(),
            json!({"token": "rt-secret", "token_type_hint": "refresh_token", "client_id": CLIENT_ID})
        );
        assert_eq!(requests[0].headers["content-type"], "application/json");
    }

    #[tokio::test]
    async fn access_token_revocation_has_no_client_id() {
        let (result, seen) = revoke_answered(
            HttpResponse::status(200),
            "https://issuer.test/oauth/revoke",
            "at-secret",
            RevokeTokenKind::AccessToken,
        )
        .await;
        result.unwrap();
        assert_eq!(
            seen.all()[0].json(),
            json!({"token": "at-secret", "token_type_hint": "access_token"})
        );
    }

    #[tokio::test]
    async fn server_message_is_reported_without_the_token() {
        let (result, _) = revoke_answered(
            HttpResponse::json(
                400,
                &json!({"error": "bad", "error_description": "unknown token"}),
            ),
            "https://issuer.test/oauth/revoke",
            "at-secret",
            RevokeTokenKind::AccessToken,
        )
        .await;
        let err = result.unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to revoke access_token: 400: unknown token"
        );
        assert!(!format!("{err:?}").contains("at-secret"));
    }

    /// The reqwest transport itself (a real, refusing loopback port).
    #[tokio::test]
    async fn connection_refused() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let err = revoke(
            None,
            &format!("http://127.0.0.1:{port}/oauth/revoke"),
            &Secret::new("rt"),
            RevokeTokenKind::RefreshToken,
            TIMEOUT,
        )
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to revoke refresh_token: connection refused"
        );
        let invalid = revoke(
            None,
            "nope",
            &Secret::new("rt"),
            RevokeTokenKind::AccessToken,
            TIMEOUT,
        )
        .await
        .unwrap_err();
        assert_eq!(
            invalid,
            RevokeError::InvalidUrl(RevokeTokenKind::AccessToken)
        );
    }

    /// Through the seam: an answer whose body could not be read counts by its status (a 200 is
    /// a revocation, a 500 an HTTP error with the status reason); no answer is a network error.
    #[tokio::test]
    async fn through_the_seam_the_status_decides() {
        use crate::http::recording::recording;
        use crate::http::{BodyError, StatusCode};
        let body_failed = |status| HttpError::Body {
            status,
            cause: BodyError::TooLarge,
        };
        let rows = [
            (Err(body_failed(StatusCode::OK)), Ok(())),
            (
                Err(body_failed(StatusCode::INTERNAL_SERVER_ERROR)),
                Err(RevokeError::Http {
                    kind: RevokeTokenKind::AccessToken,
                    status: 500,
                    message: "Internal Server Error".into(),
                }),
            ),
            (
                Err(HttpError::Transport(TransportError::timeout())),
                Err(RevokeError::Network {
                    kind: RevokeTokenKind::AccessToken,
                    what: "timeout".into(),
                }),
            ),
        ];
        for (answer, expected) in rows {
            let (http, seen) = recording(move |_| std::future::ready(answer.clone()));
            let result = revoke(
                Some(&http),
                "https://issuer.test/oauth/revoke",
                &Secret::new("at"),
                RevokeTokenKind::AccessToken,
                TIMEOUT,
            )
            .await;
            assert_eq!(result, expected);
            assert_eq!(seen.count(), 1);
            assert_eq!(seen.all()[0].json()["token"], "at");
        }
    }
}
