//! The HTTP seam of every issuer call (the token endpoint, revoke, the code and API-key
//! exchanges, the device-code flow): a small request/response pair and [`HttpClient`], which a
//! closure `Fn(HttpRequest) -> impl Future<Output = Result<HttpResponse, HttpError>>` implements,
//! as oauth2-rs's `AsyncHttpClient` does. The default is reqwest ([`ReqwestHttp`], rustls, each
//! call site's timeouts and redirect policy, the [`MAX_RESPONSE_BYTES`] body cap); tests hand a
//! closure to `ManagerOptions::http` or `LoginOptions::http` and count what it saw.
//!
//! `Debug` of a request or response never shows a body or a query (they carry tokens and codes).

#[cfg(any(test, feature = "fake-issuer"))]
pub mod recording;
mod reqwest_client;

use std::fmt;
use std::future::Future;
use std::sync::Arc;

pub use crate::http_body::MAX_RESPONSE_BYTES;
pub use reqwest::header::{self, HeaderMap, HeaderValue};
pub use reqwest::{Method, StatusCode};
pub use reqwest_client::ReqwestHttp;
pub(crate) use reqwest_client::transport as reqwest_transport;

/// One request to the issuer.
#[derive(Clone)]
pub struct HttpRequest {
    /// The method (every issuer call is a `POST`).
    pub method: Method,
    /// The absolute URL.
    pub url: String,
    /// Request headers (`content-type` is set by the body constructors).
    pub headers: HeaderMap,
    /// The encoded body.
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// A `POST` of `body` as JSON (`content-type: application/json`).
    pub fn post_json(url: impl Into<String>, body: &serde_json::Value) -> HttpRequest {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        HttpRequest {
            method: Method::POST,
            url: url.into(),
            headers,
            body: body.to_string().into_bytes(),
        }
    }

    /// A `POST` of `pairs` form-encoded (`content-type: application/x-www-form-urlencoded`).
    pub fn post_form(url: impl Into<String>, pairs: &[(&str, &str)]) -> HttpRequest {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        HttpRequest {
            method: Method::POST,
            url: url.into(),
            headers,
            body: body.into_bytes(),
        }
    }

    /// Adds (or replaces) a header.
    pub fn header(mut self, name: header::HeaderName, value: HeaderValue) -> HttpRequest {
        self.headers.insert(name, value);
        self
    }

    /// The URL's path (`/oauth/token`), for test doubles that route by it; `""` if unparsable.
    pub fn path(&self) -> String {
        url::Url::parse(&self.url)
            .map(|u| u.path().to_owned())
            .unwrap_or_default()
    }

    /// The body as JSON, for test doubles; `Null` if it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("path", &self.path())
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// The issuer's answer: status, headers and the whole body (at most
/// [`MAX_RESPONSE_BYTES`] from the reqwest client).
#[derive(Clone)]
pub struct HttpResponse {
    /// The status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// An answer with `status` and no body (test doubles).
    pub fn status(status: u16) -> HttpResponse {
        HttpResponse {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers: HeaderMap::new(),
            body: Vec::new(),
        }
    }

    /// An answer with `status` and `body` as JSON (test doubles).
    pub fn json(status: u16, body: &serde_json::Value) -> HttpResponse {
        let mut response = HttpResponse::status(status);
        response.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response.body = body.to_string().into_bytes();
        response
    }

    /// Adds (or replaces) a header; an invalid value is left out.
    pub fn with_header(mut self, name: header::HeaderName, value: &str) -> HttpResponse {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.insert(name, value);
        }
        self
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// A request that failed in transport. Never holds a URL, a body or reqwest's `Display` with its
/// URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError {
    /// `None`: timed out; else a short kind (`connection refused`, `reset`, `dns`, `tls`,
    /// `connect`, `network`).
    pub kind: Option<&'static str>,
    /// The host that could not be reached, if known.
    pub host: Option<String>,
    /// A one-line description without the URL (what login errors show).
    pub detail: String,
}

impl TransportError {
    /// The request timed out.
    pub fn timeout() -> TransportError {
        TransportError {
            kind: None,
            host: None,
            detail: "operation timed out".to_owned(),
        }
    }

    /// The request failed with `kind` (see [`TransportError::kind`]) reaching `host`.
    pub fn network(kind: &'static str, host: Option<&str>) -> TransportError {
        TransportError {
            kind: Some(kind),
            host: host.map(str::to_owned),
            detail: kind.to_owned(),
        }
    }
}

/// Why a response's body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// The body passed [`MAX_RESPONSE_BYTES`]; reading stopped there.
    TooLarge,
    /// The transport failed while reading.
    Transport(TransportError),
}

impl BodyError {
    /// A short text for errors (never the URL).
    pub fn describe(&self) -> String {
        match self {
            BodyError::TooLarge => format!("response body over {MAX_RESPONSE_BYTES} bytes"),
            BodyError::Transport(err) => err.detail.clone(),
        }
    }
}

/// An HTTP call that produced no usable [`HttpResponse`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// No answer arrived (connect, send or headers failed or timed out).
    #[error("{}", .0.detail)]
    Transport(TransportError),
    /// The status line arrived, the body did not (too large, or the transport failed).
    #[error("{}", .cause.describe())]
    Body {
        /// The status that arrived.
        status: StatusCode,
        /// Why the body was not read.
        cause: BodyError,
    },
}

/// The status of an answer, also of one whose body could not be read; `None` when none arrived.
pub fn answered_status(result: &Result<HttpResponse, HttpError>) -> Option<StatusCode> {
    match result {
        Ok(HttpResponse { status, .. }) | Err(HttpError::Body { status, .. }) => Some(*status),
        Err(HttpError::Transport(_)) => None,
    }
}

/// The future an [`HttpClient`] returns.
pub type HttpFuture<'a> = futures::future::BoxFuture<'a, Result<HttpResponse, HttpError>>;

/// Sends one request; no retries (retrying is the caller's business).
pub trait HttpClient: Send + Sync {
    /// Sends `request` and reads the whole answer.
    fn send(&self, request: HttpRequest) -> HttpFuture<'_>;
}

impl<F, Fut> HttpClient for F
where
    F: Fn(HttpRequest) -> Fut + Send + Sync,
    Fut: Future<Output = Result<HttpResponse, HttpError>> + Send + 'static,
{
    fn send(&self, request: HttpRequest) -> HttpFuture<'_> {
        Box::pin(self(request))
    }
}

/// A cheap-clone handle on an [`HttpClient`], as options carry it.
#[derive(Clone)]
pub struct SharedHttpClient(Arc<dyn HttpClient>);

impl SharedHttpClient {
    /// Wraps `client` (a closure or [`ReqwestHttp`]).
    pub fn new(client: impl HttpClient + 'static) -> SharedHttpClient {
        SharedHttpClient(Arc::new(client))
    }

    /// Sends `request` through the wrapped client.
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        self.0.send(request).await
    }
}

impl fmt::Debug for SharedHttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedHttpClient")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `Debug` of requests, responses and the client never shows a body, a query or headers'
    /// values (tokens and codes travel there).
    #[test]
    fn debug_never_shows_bodies_queries_or_header_values() {
        let request = HttpRequest::post_form(
            "https://issuer.test/oauth/token?key=url-secret",
            &[("code", "code-secret")],
        )
        .header(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer header-secret"),
        );
        let response = HttpResponse::json(200, &json!({"access_token": "token-secret"}));
        let text = format!(
            "{request:?} {response:?} {:?}",
            SharedHttpClient::new(|_| std::future::ready(Ok(HttpResponse::status(200))))
        );
        for secret in ["url-secret", "code-secret", "header-secret", "token-secret"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.contains("/oauth/token"), "{text}");
    }

    #[test]
    fn bodies_are_encoded_with_their_content_type() {
        let form = HttpRequest::post_form("https://h/t", &[("a", "b c"), ("d", "e/f")]);
        assert_eq!(form.body, b"a=b+c&d=e%2Ff");
        assert_eq!(
            form.headers[header::CONTENT_TYPE],
            "application/x-www-form-urlencoded"
        );
        let json = HttpRequest::post_json("https://h/t", &json!({"a": 1}));
        assert_eq!(json.json(), json!({"a": 1}));
        assert_eq!(json.headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(json.method, Method::POST);
        assert_eq!(json.path(), "/t");
    }

    #[test]
    fn the_status_of_an_answer_is_known_also_when_its_body_failed() {
        let ok: Result<HttpResponse, HttpError> = Ok(HttpResponse::status(204));
        assert_eq!(answered_status(&ok), Some(StatusCode::NO_CONTENT));
        let body = Err(HttpError::Body {
            status: StatusCode::NOT_FOUND,
            cause: BodyError::TooLarge,
        });
        assert_eq!(answered_status(&body), Some(StatusCode::NOT_FOUND));
        let none = Err(HttpError::Transport(TransportError::timeout()));
        assert_eq!(answered_status(&none), None);
    }
}
