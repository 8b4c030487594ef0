//! A minimal HTTP/1.1 server seam over hyper, shared by the callback server and the fake issuer:
//! one request per connection (no keep-alive, so a closed listener ends every conversation soon),
//! bodies read whole up to a limit, handlers as plain async functions.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The largest request body read.
const MAX_BODY_BYTES: usize = 1 << 20;

/// A request, read whole. `Debug` shows the method and path only: the query and body carry
/// authorization codes, `state` values and tokens.
pub(crate) struct Request {
    /// `GET`, `POST`, ...
    pub method: hyper::Method,
    /// The path, without the query.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// The request headers (read by the fake issuer only).
    #[cfg_attr(not(feature = "fake-issuer"), allow(dead_code))]
    pub headers: hyper::HeaderMap,
    /// The body bytes (read by the fake issuer only).
    #[cfg_attr(not(feature = "fake-issuer"), allow(dead_code))]
    pub body: Bytes,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Request {
    /// The query parameters, decoded; the first occurrence of a name wins.
    pub fn query_params(&self) -> HashMap<String, String> {
        let mut map = HashMap::new();
        let query = self.query.as_deref().unwrap_or("");
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
        map
    }
}

/// A response to send.
#[derive(Debug)]
pub(crate) struct Response {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Bytes,
}

impl Response {
    /// A `text/plain` response.
    pub fn text(status: u16, body: impl Into<String>) -> Response {
        Response::with_type(status, "text/plain; charset=utf-8", body.into())
    }

    /// A `text/html` response.
    pub fn html(status: u16, body: impl Into<String>) -> Response {
        Response::with_type(status, "text/html; charset=utf-8", body.into())
    }

    /// An `application/json` response (used by the fake issuer only).
    #[cfg_attr(not(feature = "fake-issuer"), allow(dead_code))]
    pub fn json(status: u16, body: &serde_json::Value) -> Response {
        Response::with_type(status, "application/json", body.to_string())
    }

    /// A `302 Found` to `location`.
    pub fn redirect(location: impl Into<String>) -> Response {
        Response::text(302, "").header("location", location)
    }

    /// Adds a header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }

    fn with_type(status: u16, content_type: &str, body: String) -> Response {
        Response {
            status,
            headers: vec![("content-type", content_type.to_owned())],
            body: Bytes::from(body),
        }
    }

    fn into_hyper(self) -> hyper::Response<Full<Bytes>> {
        let mut resp = hyper::Response::new(Full::new(self.body));
        *resp.status_mut() = hyper::StatusCode::from_u16(self.status)
            .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                resp.headers_mut()
                    .append(HeaderName::from_static(name), value);
            }
        }
        resp
    }
}

/// Serves one connection with `handler` until the client or the server closes it; a client that
/// does not send its request head within `header_timeout` is disconnected (slowloris).
pub(crate) async fn serve_connection<H, F>(
    stream: TcpStream,
    header_timeout: std::time::Duration,
    handler: H,
) where
    H: Fn(Request) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let service = service_fn(move |req: hyper::Request<Incoming>| {
        let handler = handler.clone();
        async move {
            let response = match read_request(req).await {
                Some(req) => handler(req).await,
                None => Response::text(400, "Bad Request"),
            };
            Ok::<_, Infallible>(response.into_hyper())
        }
    });
    let served = http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service)
        .await;
    if let Err(err) = served {
        tracing::debug!(target: "auth_core", cause = %err, "loopback HTTP connection ended with an error");
    }
}

async fn read_request(req: hyper::Request<Incoming>) -> Option<Request> {
    let (parts, body) = req.into_parts();
    let body = Limited::new(body, MAX_BODY_BYTES).collect().await.ok()?;
    Some(Request {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers,
        body: body.to_bytes(),
    })
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn html_escape_neutralizes_markup() {
        assert_eq!(
            html_escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
    }
}
